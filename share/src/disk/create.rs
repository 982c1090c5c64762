//! Opening and creating files and directories by CreateDisposition ([MS-SMB2 2.2.13],
//! processing per [MS-SMB2 3.3.5.9] and the object store rules of [MS-FSA 2.1.5.1]).
//!
//! | disposition  | exists                       | does not exist |
//! |--------------|------------------------------|----------------|
//! | SUPERSEDE    | truncate → SUPERSEDED        | create → CREATED |
//! | OPEN         | open → OPENED                | OBJECT_NAME_NOT_FOUND |
//! | CREATE       | OBJECT_NAME_COLLISION        | create → CREATED |
//! | OPEN_IF      | open → OPENED                | create → CREATED |
//! | OVERWRITE    | truncate → OVERWRITTEN       | OBJECT_NAME_NOT_FOUND |
//! | OVERWRITE_IF | truncate → OVERWRITTEN       | create → CREATED |

use std::fs::File;
use std::io;

use rsmbd_protocol::NtStatus;
use rustix::fs::{Mode, OFlags};

use super::DiskRoot;
use super::access::{FILE_APPEND_DATA, FILE_WRITE_DATA};
use super::case::resolve_case;
use super::errors::io_to_status;
use super::meta::{FILE_ATTRIBUTE_READONLY, FileMeta};
use super::path::{RelPath, open_beneath, open_parent};
use super::share_modes::{ShareModeGuard, ShareModeTable};

/// [MS-SMB2 2.2.13] CreateDisposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// FILE_SUPERSEDE (0).
    Supersede,
    /// FILE_OPEN (1).
    Open,
    /// FILE_CREATE (2).
    Create,
    /// FILE_OPEN_IF (3).
    OpenIf,
    /// FILE_OVERWRITE (4).
    Overwrite,
    /// FILE_OVERWRITE_IF (5).
    OverwriteIf,
}

impl Disposition {
    /// From the wire value; anything above 5 is `STATUS_INVALID_PARAMETER` (3.3.5.9).
    pub fn from_wire(v: u32) -> Result<Self, NtStatus> {
        Ok(match v {
            0 => Self::Supersede,
            1 => Self::Open,
            2 => Self::Create,
            3 => Self::OpenIf,
            4 => Self::Overwrite,
            5 => Self::OverwriteIf,
            _ => return Err(NtStatus::INVALID_PARAMETER),
        })
    }

    fn creates(self) -> bool {
        !matches!(self, Self::Open | Self::Overwrite)
    }

    fn truncates(self) -> bool {
        matches!(self, Self::Supersede | Self::Overwrite | Self::OverwriteIf)
    }
}

/// [MS-SMB2 2.2.14] CreateAction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum CreateAction {
    /// FILE_SUPERSEDED.
    Superseded = 0,
    /// FILE_OPENED.
    Opened = 1,
    /// FILE_CREATED.
    Created = 2,
    /// FILE_OVERWRITTEN.
    Overwritten = 3,
}

/// What kind of object the client insists on (CreateOptions FILE_DIRECTORY_FILE /
/// FILE_NON_DIRECTORY_FILE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Either.
    Any,
    /// FILE_DIRECTORY_FILE.
    Directory,
    /// FILE_NON_DIRECTORY_FILE.
    File,
}

/// A create request as the disk backend sees it.
#[derive(Debug, Clone, Copy)]
pub struct CreateSpec<'a> {
    /// CreateDisposition.
    pub disposition: Disposition,
    /// Directory / non-directory constraint.
    pub want: Want,
    /// The access granted to the open (already checked against the share).
    pub granted_access: u32,
    /// The client asked for MAXIMUM_ALLOWED: if the host refuses write access, open read-only
    /// and drop the write rights instead of failing.
    pub maximum_allowed: bool,
    /// The share refuses all modification.
    pub read_only_share: bool,
    /// FileAttributes for a new file (READONLY is honoured, the rest is ignored).
    pub file_attributes: u32,
    /// ShareAccess of the request.
    pub share_access: u32,
    /// The share's share-mode table (checked after the file is identified, before any
    /// truncation); `None` skips the check.
    pub share_modes: Option<&'a ShareModeTable>,
    /// Runs once an existing file is identified, before the share-mode check and any
    /// truncation (the oplock breaks of [MS-SMB2 3.3.5.9] happen there); may refuse.
    pub gate: Option<OpenGate<'a>>,
}

/// A check on an existing file before it is opened for real: called with its metadata and the
/// access the share-mode check will use.
#[derive(Clone, Copy)]
pub struct OpenGate<'a>(pub &'a dyn Fn(&FileMeta, u32) -> Result<(), NtStatus>);

impl std::fmt::Debug for OpenGate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpenGate")
    }
}

/// A successful open.
#[derive(Debug)]
pub struct Opened<'a> {
    /// The open file (a regular file or a directory).
    pub file: File,
    /// Its metadata right after the open (and truncation).
    pub meta: FileMeta,
    /// What happened.
    pub action: CreateAction,
    /// The access actually granted (less than asked under MAXIMUM_ALLOWED on a file the host
    /// lets us only read).
    pub granted_access: u32,
    /// The share-mode registration of this open (released on drop unless kept).
    pub share_mode: Option<ShareModeGuard<'a>>,
    /// The path as it exists on disk (respelled by the case-insensitive lookup).
    pub path: RelPath,
}

/// Opens or creates `path` beneath `root` as `spec` says.
pub fn create<'a>(
    root: &DiskRoot,
    path: &RelPath,
    spec: &CreateSpec<'a>,
) -> Result<Opened<'a>, NtStatus> {
    // 3.3.5.9 / MS-FSA: a directory can only be opened or created.
    if spec.want == Want::Directory
        && !matches!(
            spec.disposition,
            Disposition::Open | Disposition::Create | Disposition::OpenIf
        )
    {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let writes = spec.granted_access & (FILE_WRITE_DATA | FILE_APPEND_DATA) != 0;
    if spec.read_only_share && (writes || spec.disposition.truncates()) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if path.is_root() {
        // The share root always exists and is a directory.
        return match spec.disposition {
            Disposition::Create => Err(NtStatus::OBJECT_NAME_COLLISION),
            _ if spec.want == Want::File => Err(NtStatus::FILE_IS_A_DIRECTORY),
            Disposition::Open | Disposition::OpenIf => open_existing(root, path, spec),
            _ => Err(NtStatus::FILE_IS_A_DIRECTORY),
        };
    }
    // Names compare case-insensitively, as on Windows: respell what exists in another case.
    let path = &resolve_case(root, path);
    // Resolve the parent first so a missing intermediate directory reports PATH_NOT_FOUND.
    let parent = open_parent(root.fd(), path)?;
    match open_existing(root, path, spec) {
        Err(NtStatus::OBJECT_NAME_NOT_FOUND) if spec.disposition.creates() => {
            if spec.read_only_share {
                return Err(NtStatus::ACCESS_DENIED);
            }
            match create_new(&parent, path, spec) {
                // Lost a race with another creator: OPEN_IF opens what is there now.
                Err(NtStatus::OBJECT_NAME_COLLISION) if spec.disposition != Disposition::Create => {
                    open_existing(root, path, spec)
                }
                other => other,
            }
        }
        other => other,
    }
}

/// The open(2) flags for an open with this access on this kind of object.
fn open_flags(is_dir: bool, granted: u32) -> OFlags {
    if is_dir {
        OFlags::RDONLY | OFlags::DIRECTORY
    } else if granted & (FILE_WRITE_DATA | FILE_APPEND_DATA) != 0 {
        OFlags::RDWR
    } else {
        OFlags::RDONLY
    }
}

fn open_existing<'a>(
    root: &DiskRoot,
    path: &RelPath,
    spec: &CreateSpec<'a>,
) -> Result<Opened<'a>, NtStatus> {
    // Probe the type with O_PATH (no side effects, works without read permission), then open
    // for real with flags that match. A swap between the two opens is caught by comparing ids.
    let probe =
        open_beneath(root.fd(), path, OFlags::PATH, Mode::empty()).map_err(|e| io_to_status(&e))?;
    let leaf = path.leaf().unwrap_or("");
    let pmeta = FileMeta::of(&probe, leaf).map_err(|e| io_to_status(&e))?;
    if !pmeta.is_dir && !pmeta.is_file {
        // FIFOs, sockets and devices are not served.
        return Err(NtStatus::ACCESS_DENIED);
    }
    // MS-FSA 2.1.5.1.2.1: FILE_CREATE of an existing name collides before the type checks
    // (mkdir over a file is OBJECT_NAME_COLLISION, not NOT_A_DIRECTORY).
    if spec.disposition == Disposition::Create {
        return Err(NtStatus::OBJECT_NAME_COLLISION);
    }
    if pmeta.is_dir && spec.want == Want::File {
        return Err(NtStatus::FILE_IS_A_DIRECTORY);
    }
    if !pmeta.is_dir && spec.want == Want::Directory {
        return Err(NtStatus::NOT_A_DIRECTORY);
    }
    if pmeta.is_dir && spec.disposition.truncates() {
        return Err(NtStatus::FILE_IS_A_DIRECTORY);
    }
    let mut flags = open_flags(pmeta.is_dir, spec.granted_access);
    if spec.disposition.truncates() && !pmeta.is_dir {
        // Overwrite needs a writable descriptor even if the client asked only to read.
        flags = OFlags::RDWR;
    }
    let mut granted = spec.granted_access;
    let eacces = |e: &io::Error| e.raw_os_error() == Some(rustix::io::Errno::ACCESS.raw_os_error());
    let first = match open_beneath(root.fd(), path, flags, Mode::empty()) {
        Err(e)
            if eacces(&e)
                && spec.maximum_allowed
                && flags == OFlags::RDWR
                && !spec.disposition.truncates() =>
        {
            granted &= !super::access::WRITE_RIGHTS;
            flags = OFlags::RDONLY;
            open_beneath(root.fd(), path, flags, Mode::empty())
        }
        other => other,
    };
    let fd = match first {
        Ok(fd) => fd,
        // No read permission on the host but only attributes wanted: keep the O_PATH fd.
        Err(e)
            if eacces(&e)
                && flags == OFlags::RDONLY
                && granted & super::access::FILE_READ_DATA == 0 =>
        {
            probe
        }
        Err(e) => return Err(io_to_status(&e)),
    };
    let file = File::from(fd);
    let mut meta = FileMeta::of(&file, leaf).map_err(|e| io_to_status(&e))?;
    if (meta.dev, meta.file_id) != (pmeta.dev, pmeta.file_id) {
        // Replaced between the probe and the open; confinement held, the type check did not.
        return Err(NtStatus::ACCESS_DENIED);
    }
    let action = match spec.disposition {
        Disposition::Supersede => CreateAction::Superseded,
        Disposition::Overwrite | Disposition::OverwriteIf => CreateAction::Overwritten,
        _ => CreateAction::Opened,
    };
    // The share-mode check comes before any truncation: a conflicting overwrite changes nothing.
    let check_access = if spec.disposition.truncates() {
        granted | FILE_WRITE_DATA
    } else {
        granted
    };
    if let Some(gate) = spec.gate {
        (gate.0)(&meta, check_access)?;
    }
    let share_mode = share_check(spec, &meta, check_access)?;
    if spec.disposition.truncates() {
        file.set_len(0).map_err(|e| io_to_status(&e))?;
        meta = FileMeta::of(&file, leaf).map_err(|e| io_to_status(&e))?;
    }
    Ok(Opened {
        file,
        meta,
        action,
        granted_access: granted,
        share_mode,
        path: path.clone(),
    })
}

fn share_check<'a>(
    spec: &CreateSpec<'a>,
    meta: &FileMeta,
    access: u32,
) -> Result<Option<ShareModeGuard<'a>>, NtStatus> {
    spec.share_modes
        .map(|t| ShareModeGuard::acquire(t, (meta.dev, meta.file_id), access, spec.share_access))
        .transpose()
}

fn create_new<'a>(
    parent: &std::os::fd::OwnedFd,
    path: &RelPath,
    spec: &CreateSpec<'a>,
) -> Result<Opened<'a>, NtStatus> {
    let leaf = path.leaf().ok_or(NtStatus::OBJECT_NAME_INVALID)?;
    let read_only = spec.file_attributes & FILE_ATTRIBUTE_READONLY != 0;
    let file = if spec.want == Want::Directory {
        rustix::fs::mkdirat(parent, leaf, Mode::from_bits_truncate(0o777))
            .map_err(|e| io_to_status(&io::Error::from(e)))?;
        let fd = rustix::fs::openat(
            parent,
            leaf,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_to_status(&io::Error::from(e)))?;
        File::from(fd)
    } else {
        let mode = if read_only { 0o444 } else { 0o666 };
        // O_EXCL: never follows a symlink planted at the leaf, never reuses an existing file.
        let fd = rustix::fs::openat(
            parent,
            leaf,
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_bits_truncate(mode),
        )
        .map_err(|e| io_to_status(&io::Error::from(e)))?;
        File::from(fd)
    };
    let meta = FileMeta::of(&file, leaf).map_err(|e| io_to_status(&e))?;
    let share_mode = share_check(spec, &meta, spec.granted_access)?;
    Ok(Opened {
        file,
        meta,
        action: CreateAction::Created,
        granted_access: spec.granted_access,
        share_mode,
        path: path.clone(),
    })
}
