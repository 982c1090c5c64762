//! SET_INFO ([MS-SMB2 3.3.5.21] Receiving an SMB2 SET_INFO Request; object store rules of
//! [MS-FSA 2.1.5.15] Server Requests Setting of File Information).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::fscc::{
    FileAllocationInformation, FileBasicInformation, FileDispositionInformation,
    FileEndOfFileInformation, FileInformationClass, FileRenameInformation, FsccStruct,
};
use rsmbd_protocol::messages::query_info::InfoType;
use rsmbd_protocol::messages::set_info::{SetInfoRequest, SetInfoResponse};

use super::{HandlerResult, Reply, TreeCx, io_status};
use crate::disk::access::{DELETE, FILE_WRITE_ATTRIBUTES, FILE_WRITE_DATA};
use crate::disk::case::resolve_case;
use crate::disk::file;
use crate::disk::meta::{
    FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_TEMPORARY, FileMeta,
};
use crate::disk::path::{RelPath, open_parent};
use crate::open::{DiskOpen, Open};

/// [MS-FSCC 2.4.12] FileDispositionInformationEx Flags: FILE_DISPOSITION_DELETE.
const FILE_DISPOSITION_DELETE: u32 = 0x0000_0001;
/// FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE.
const FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE: u32 = 0x0000_0010;

/// Applies a SET_INFO.
///
/// InfoType FILE: FileBasicInformation (times, 0 and -1 leave a time alone; READONLY maps to
/// the owner write bit), FileEndOfFileInformation (truncate/extend), FileAllocationInformation
/// (accepted; a size below end of file truncates, as NTFS does), FileRenameInformation (target
/// relative to the share root, same confinement as CREATE, `OBJECT_NAME_COLLISION` unless
/// ReplaceIfExists; a directory with open files below it is `ACCESS_DENIED`, as on Windows),
/// FileDispositionInformation(Ex) (delete pending; a non-empty directory is
/// `DIRECTORY_NOT_EMPTY`, a read-only file `CANNOT_DELETE`), FilePosition/FileMode (accepted,
/// no state). Full EAs are `EAS_NOT_SUPPORTED`; other classes `INVALID_INFO_CLASS`.
/// Security descriptors and file system information cannot be set: `NOT_SUPPORTED`.
/// Each class checks the access MS-FSA requires (`ACCESS_DENIED` otherwise); a read-only share
/// never granted those rights.
pub fn handle(cx: &TreeCx, req: &SetInfoRequest<'_>) -> HandlerResult<SetInfoResponse> {
    let open = cx.open(req.file_id)?;
    let disk = super::disk_of(&open)?;
    match req.info_type {
        InfoType::FILE => {}
        InfoType::SECURITY | InfoType::FILESYSTEM | InfoType::QUOTA => {
            return Err(NtStatus::NOT_SUPPORTED);
        }
        _ => return Err(NtStatus::INVALID_PARAMETER),
    }
    let buf: &[u8] = &req.buffer;
    let decode_err = |_| NtStatus::INFO_LENGTH_MISMATCH;
    match FileInformationClass(req.file_info_class) {
        FileInformationClass::FileBasicInformation => {
            let info = FileBasicInformation::decode(buf).map_err(decode_err)?;
            need(&open, FILE_WRITE_ATTRIBUTES)?;
            set_basic(disk, &info)?;
        }
        FileInformationClass::FileEndOfFileInformation => {
            let info = FileEndOfFileInformation::decode(buf).map_err(decode_err)?;
            need(&open, FILE_WRITE_DATA)?;
            if let Some(stream) = disk.stream() {
                crate::disk::streams::set_len(disk.file(), &stream, info.end_of_file)?;
                return Ok(Reply::ok(SetInfoResponse));
            }
            if disk.is_dir() {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            // A size change breaks other opens' level II oplocks and read leases, as a write.
            open.share
                .oplocks()
                .break_on_write(disk.key(), open.lock_owner());
            file::set_end_of_file(disk.file(), info.end_of_file).map_err(io_status)?;
            disk.write_time()
                .after_resize(disk.file())
                .map_err(io_status)?;
        }
        FileInformationClass::FileAllocationInformation => {
            let info = FileAllocationInformation::decode(buf).map_err(decode_err)?;
            need(&open, FILE_WRITE_DATA)?;
            if disk.is_dir() {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            // Any allocation change breaks level II oplocks, as a write (smb2.oplock.batch12).
            open.share
                .oplocks()
                .break_on_write(disk.key(), open.lock_owner());
            let eof = disk.file().metadata().map_err(io_status)?.len();
            if info.allocation_size < eof {
                file::set_end_of_file(disk.file(), info.allocation_size).map_err(io_status)?;
                disk.write_time()
                    .after_resize(disk.file())
                    .map_err(io_status)?;
            } else {
                disk.write_time().flush(disk.file()).map_err(io_status)?;
            }
        }
        FileInformationClass::FileRenameInformation => {
            let info = FileRenameInformation::decode(buf).map_err(decode_err)?;
            need(&open, DELETE)?;
            if disk.is_dir()
                && cx
                    .session
                    .has_open_within(cx.tree.id, &disk.path(), open.file_id)
            {
                return Err(NtStatus::ACCESS_DENIED);
            }
            if !info.file_name.starts_with(':') {
                rename_gate(cx, &open, disk)?;
            }
            rename(cx, disk, &info)?;
        }
        FileInformationClass::FileDispositionInformation => {
            let info = FileDispositionInformation::decode(buf).map_err(decode_err)?;
            need(&open, DELETE)?;
            set_disposition(&open, disk, info.delete_pending, false)?;
        }
        FileInformationClass::FileDispositionInformationEx => {
            let flags = read_u32(buf)?;
            need(&open, DELETE)?;
            set_disposition(
                &open,
                disk,
                flags & FILE_DISPOSITION_DELETE != 0,
                flags & FILE_DISPOSITION_IGNORE_READONLY_ATTRIBUTE != 0,
            )?;
        }
        FileInformationClass::FilePositionInformation => {
            if buf.len() < 8 {
                return Err(NtStatus::INFO_LENGTH_MISMATCH);
            }
        }
        FileInformationClass::FileModeInformation => {
            read_u32(buf)?;
        }
        FileInformationClass::FileFullEaInformation => return Err(NtStatus::EAS_NOT_SUPPORTED),
        FileInformationClass::FileLinkInformation
        | FileInformationClass::FileShortNameInformation
        | FileInformationClass::FileValidDataLengthInformation
        | FileInformationClass::FileRenameInformationEx => return Err(NtStatus::NOT_SUPPORTED),
        _ => return Err(NtStatus::INVALID_INFO_CLASS),
    }
    Ok(Reply::ok(SetInfoResponse))
}

fn need(open: &Open, access: u32) -> Result<(), NtStatus> {
    if open.has_access(access) {
        Ok(())
    } else {
        Err(NtStatus::ACCESS_DENIED)
    }
}

fn read_u32(buf: &[u8]) -> Result<u32, NtStatus> {
    let b: [u8; 4] = buf
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or(NtStatus::INFO_LENGTH_MISMATCH)?;
    Ok(u32::from_le_bytes(b))
}

fn current_meta(disk: &DiskOpen) -> Result<FileMeta, NtStatus> {
    let path = disk.path();
    FileMeta::of(disk.file(), path.leaf().unwrap_or("")).map_err(io_status)
}

/// FileBasicInformation ([MS-FSA 2.1.5.14.2]): times, and the attributes, of which only
/// READONLY is kept on a file. A time of 0 means "do not change", -1 "stop updating it" and -2
/// "resume" (LastWriteTime: `disk::write_time`); CreationTime lives in `disk::dos_attrs` (Linux
/// cannot set a birth time), and so does a set ChangeTime (until the file changes again). Any
/// FileBasicInformation applies a pending write-time update first, as Windows does.
/// FileAttributes 0 means "do not change"; DIRECTORY on a file, or TEMPORARY on a directory,
/// is `INVALID_PARAMETER`.
fn set_basic(disk: &DiskOpen, info: &FileBasicInformation) -> Result<(), NtStatus> {
    disk.write_time().flush(disk.file()).map_err(io_status)?;
    if info.file_attributes != 0 {
        if info.file_attributes & FILE_ATTRIBUTE_DIRECTORY != 0 && !disk.is_dir() {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        // MS-FSA 2.1.5.14.2: a directory cannot be TEMPORARY.
        if info.file_attributes & FILE_ATTRIBUTE_TEMPORARY != 0 && disk.is_dir() {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let meta = current_meta(disk)?;
        let read_only = info.file_attributes & FILE_ATTRIBUTE_READONLY != 0;
        file::set_read_only(disk.file(), &meta, read_only).map_err(io_status)?;
        // MS-FSA 2.1.5.15.1: watchers see FILE_NOTIFY_CHANGE_ATTRIBUTES even for bits with
        // no Linux counterpart (HIDDEN, SYSTEM): the kernel reports it for us (IN_ATTRIB).
        let _ = file::report_attribute_change(disk.file());
    }
    if !matches!(info.creation_time, 0 | u64::MAX | 0xFFFF_FFFF_FFFF_FFFE) {
        crate::disk::dos_attrs::set_creation_time(disk.file(), info.creation_time)
            .map_err(crate::disk::errors::errno_status)?;
    }
    file::set_times(disk.file(), info.last_access_time, info.last_write_time).map_err(io_status)?;
    disk.write_time()
        .client_set(disk.file(), info.last_write_time)
        .map_err(io_status)?;
    if !matches!(info.change_time, 0 | u64::MAX | 0xFFFF_FFFF_FFFF_FFFE) {
        let now = current_meta(disk)?;
        crate::disk::dos_attrs::set_change_time(disk.file(), info.change_time, now.last_write_time)
            .map_err(crate::disk::errors::errno_status)?;
    }
    Ok(())
}

/// What must hold before a file is renamed: no open of its parent directory has DELETE
/// access (`SHARING_VIOLATION` otherwise, checked first so nothing is broken; Windows and
/// Samba, smbtorture smb2.rename.*delete_access, smb2.oplock.exclusive6/batch19), and no
/// other lease caches a handle of it: those break to drop H and the rename answers
/// `PENDING` until they are acknowledged or time out ([MS-SMB2 3.3.5.21.1]; smb2.lease.
/// rename_wait, v2_rename). The engine retries a pending rename.
fn rename_gate(cx: &TreeCx, open: &Open, disk: &DiskOpen) -> Result<(), NtStatus> {
    let root = cx.disk_root()?;
    let parent = open_parent(root.fd(), &disk.path())?;
    let pmeta = FileMeta::of(&parent, "").map_err(io_status)?;
    if open
        .share
        .share_modes()
        .any_open_with((pmeta.dev, pmeta.file_id), DELETE)
    {
        return Err(NtStatus::SHARING_VIOLATION);
    }
    if disk.is_dir() || disk.stream().is_some() {
        return Ok(());
    }
    open.share
        .oplocks()
        .before_rename(disk.key(), open.lock_owner(), std::time::Instant::now())
}

/// FileRenameInformation ([MS-FSA 2.1.5.15.12]): the SMB2 form carries a full path relative to
/// the share root and RootDirectory 0 ([MS-SMB2 3.3.5.21.1]). A leading `\` is tolerated.
fn rename(cx: &TreeCx, disk: &DiskOpen, info: &FileRenameInformation) -> Result<(), NtStatus> {
    if info.root_directory != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if let Some(target) = info.file_name.strip_prefix(':') {
        return rename_stream(disk, target, info.replace_if_exists);
    }
    let name = info.file_name.strip_prefix('\\').unwrap_or(&info.file_name);
    let target = RelPath::parse(name)?;
    if target.is_root() {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    let root = cx.disk_root()?;
    // Respell the target's directories as they exist on disk; the leaf keeps the client's
    // spelling, so a rename that only changes case works.
    let target = match (target.parent(), target.leaf()) {
        (Some(parent), Some(leaf)) => resolve_case(root, &parent).join(leaf)?,
        _ => target,
    };
    let from = disk.path();
    target_parent_free(cx, root, &target)?;
    file::rename(
        root,
        &from,
        &target,
        info.replace_if_exists,
        disk.identity(),
    )?;
    tracing::trace!(from = %from.to_smb(), to = %target.to_smb(), "rename");
    if !disk.is_dir() {
        // Windows sets ARCHIVE on a renamed file, which watchers see as an attribute change
        // of the new name (smb2.notify.mask tolerates it, mask-change expects it).
        let _ = file::report_attribute_change(disk.file());
    }
    disk.set_path(target);
    Ok(())
}

/// A rename adds a name to the target's directory, which Windows does through an open of that
/// directory for FILE_ADD_FILE sharing read and write ([MS-FSA 2.1.5.15.12]: the target
/// directory is opened first): another open of the directory that holds DELETE access, or that
/// does not share writing, makes the rename a `SHARING_VIOLATION` (smbtorture
/// smb2.rename.*delete_access*).
fn target_parent_free(
    cx: &TreeCx,
    root: &crate::disk::DiskRoot,
    target: &RelPath,
) -> Result<(), NtStatus> {
    use crate::disk::share_modes::{FILE_SHARE_READ, FILE_SHARE_WRITE};
    let parent = open_parent(root.fd(), target)?;
    let pmeta = FileMeta::of(&parent, "").map_err(io_status)?;
    if cx.tree.share.share_modes().would_conflict(
        (pmeta.dev, pmeta.file_id),
        FILE_WRITE_DATA,
        FILE_SHARE_READ | FILE_SHARE_WRITE,
    ) {
        return Err(NtStatus::SHARING_VIOLATION);
    }
    Ok(())
}

/// FileDispositionInformation ([MS-FSA 2.1.5.15.3]): marks the file for deletion when its last
/// open closes (or clears the mark); meanwhile new opens get DELETE_PENDING.
fn set_disposition(
    open: &Open,
    disk: &DiskOpen,
    delete: bool,
    ignore_read_only: bool,
) -> Result<(), NtStatus> {
    if delete {
        if disk.path().is_root() {
            return Err(NtStatus::ACCESS_DENIED);
        }
        let meta = current_meta(disk)?;
        if !meta.is_dir && !ignore_read_only && meta.attributes & FILE_ATTRIBUTE_READONLY != 0 {
            return Err(NtStatus::CANNOT_DELETE);
        }
        if meta.is_dir && !file::dir_is_empty(disk.file()).map_err(io_status)? {
            return Err(NtStatus::DIRECTORY_NOT_EMPTY);
        }
    }
    open.set_delete_pending(delete);
    Ok(())
}

/// A rename whose target is `:name[:$DATA]` renames a named stream within its file
/// ([MS-FSA 2.1.5.15.12.1]); renaming the unnamed stream is not supported.
fn rename_stream(disk: &DiskOpen, target: &str, replace: bool) -> Result<(), NtStatus> {
    let Some(from) = disk.stream() else {
        return Err(NtStatus::NOT_SUPPORTED);
    };
    let full = format!("x:{target}");
    let parsed = crate::disk::streams::split(&full)?;
    let to = parsed.stream.ok_or(NtStatus::NOT_SUPPORTED)?;
    crate::disk::streams::rename(disk.file(), &from, to, replace)?;
    disk.set_stream(to.to_owned());
    Ok(())
}
