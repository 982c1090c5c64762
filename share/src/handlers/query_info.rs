//! QUERY_INFO ([MS-SMB2 3.3.5.20] Receiving an SMB2 QUERY_INFO Request; the structures are
//! [MS-FSCC 2.4] file and [MS-FSCC 2.5] file system information classes, and the
//! [MS-DTYP 2.4.6] security descriptor).

use std::borrow::Cow;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::dtyp::{Ace, Acl, SecurityDescriptor, Sid};
use rsmbd_protocol::fscc::{
    FileAccessInformation, FileAlignmentInformation, FileAllInformation,
    FileAttributeTagInformation, FileBasicInformation, FileCompressionInformation,
    FileEaInformation, FileFsAttributeInformation, FileFsDeviceInformation,
    FileFsFullSizeInformation, FileFsObjectIdInformation, FileFsSectorSizeInformation,
    FileFsSizeInformation, FileFsVolumeInformation, FileIdInformation, FileInformationClass,
    FileInternalInformation, FileModeInformation, FileNameInformation, FileNetworkOpenInformation,
    FilePositionInformation, FileStandardInformation, FileStreamEntry, FileStreamInformation,
    FsInformationClass, FsccStruct,
};
use rsmbd_protocol::messages::query_info::{InfoType, QueryInfoRequest, QueryInfoResponse};

use super::{HandlerResult, Reply, TreeCx, io_status};
use crate::disk::access::{
    FILE_ALL_ACCESS, FILE_GENERIC_EXECUTE, FILE_GENERIC_READ, FILE_GENERIC_WRITE,
    FILE_READ_ATTRIBUTES, FILE_READ_EA, READ_CONTROL,
};
use crate::disk::meta::FileMeta;
use crate::open::{DiskOpen, Open};

/// Largest output buffer we fill (the engine has checked MaxTransactSize first).
pub const MAX_OUTPUT: u32 = 16 * 1024 * 1024;

/// [MS-FSCC 2.5.1] FILE_CASE_PRESERVED_NAMES (names are looked up case-insensitively, so
/// FILE_CASE_SENSITIVE_SEARCH is not claimed).
const FILE_CASE_PRESERVED_NAMES: u32 = 0x0000_0002;
/// FILE_UNICODE_ON_DISK.
const FILE_UNICODE_ON_DISK: u32 = 0x0000_0004;
/// [MS-FSCC 2.5.1] FILE_SUPPORTS_SPARSE_FILES (FSCTL_SET_SPARSE and friends, `disk::sparse`).
const FILE_SUPPORTS_SPARSE_FILES: u32 = 0x0000_0040;
/// [MS-FSCC 2.5.10] FILE_DEVICE_DISK.
const FILE_DEVICE_DISK: u32 = 0x0000_0007;
/// [MS-FSCC 2.5.10] FILE_DEVICE_IS_MOUNTED.
const FILE_DEVICE_IS_MOUNTED: u32 = 0x0000_0020;
/// [MS-FSCC 2.5.7] SSINFO_FLAGS_ALIGNED_DEVICE | SSINFO_FLAGS_PARTITION_ALIGNED_ON_DEVICE.
const SSINFO_ALIGNED: u32 = 0x0000_0003;

/// Smallest OutputBufferLength for the variable-size classes: `sizeof` of the Windows structure
/// with a one-character name, padded to its alignment ([MS-FSA 2.1.5.12]: a buffer below
/// `sizeof(FILE_..._INFORMATION)` is `INFO_LENGTH_MISMATCH`; smbtorture's
/// smb2.getinfo.q{file,fs}_buffercheck measure Windows' values).
/// FILE_NAME_INFORMATION (FileName, FileAlternateName, FileNormalizedName): 4 + 2, to 8.
const MIN_NAME_INFO: usize = 8;
/// FILE_ALL_INFORMATION: 96 bytes of fixed parts + FILE_NAME_INFORMATION.
const MIN_ALL_INFO: usize = 104;
/// FILE_STREAM_INFORMATION: 24 + 2, to 32.
const MIN_STREAM_INFO: usize = 32;
/// FILE_FS_VOLUME_INFORMATION: 18 + 2, to 24.
const MIN_FS_VOLUME_INFO: usize = 24;
/// FILE_FS_ATTRIBUTE_INFORMATION: 12 + 2, to 16.
const MIN_FS_ATTRIBUTE_INFO: usize = 16;

/// The response buffer cut to OutputBufferLength: below `fixed` bytes nothing useful fits
/// (`INFO_LENGTH_MISMATCH`); otherwise a longer answer is truncated with `BUFFER_OVERFLOW`
/// ([MS-SMB2 3.3.5.20.1], [MS-FSA 2.1.5.12]).
fn fit(mut bytes: Vec<u8>, fixed: usize, max: usize) -> HandlerResult<QueryInfoResponse<'static>> {
    if max < fixed.min(bytes.len()) {
        return Err(NtStatus::INFO_LENGTH_MISMATCH);
    }
    if bytes.len() > max {
        bytes.truncate(max);
        return Ok(Reply::with_status(
            NtStatus::BUFFER_OVERFLOW,
            QueryInfoResponse {
                buffer: Cow::Owned(bytes),
            },
        ));
    }
    Ok(Reply::ok(QueryInfoResponse {
        buffer: Cow::Owned(bytes),
    }))
}

/// A fixed-size structure: all of it or `INFO_LENGTH_MISMATCH`.
fn fixed(bytes: Vec<u8>, max: usize) -> HandlerResult<QueryInfoResponse<'static>> {
    let len = bytes.len();
    fit(bytes, len, max)
}

/// Answers QUERY_INFO for InfoType FILE, FILESYSTEM and SECURITY; QUOTA is `NOT_SUPPORTED`
/// and unknown classes are `INVALID_INFO_CLASS`. Classes that expose attributes need
/// FILE_READ_ATTRIBUTES, the security descriptor READ_CONTROL (`ACCESS_DENIED` otherwise).
pub fn handle(
    cx: &TreeCx,
    req: &QueryInfoRequest<'_>,
) -> HandlerResult<QueryInfoResponse<'static>> {
    let open = cx.open(req.file_id)?;
    let max = req.output_buffer_length.min(MAX_OUTPUT) as usize;
    let Some(disk) = open.disk() else {
        return pipe_info(req, max);
    };
    let path = disk.path();
    // A write-time update that fell due shows now (disk::write_time).
    disk.write_time().refresh(disk.file()).map_err(io_status)?;
    let mut meta = FileMeta::of(disk.file(), path.leaf().unwrap_or("")).map_err(io_status)?;
    if let Some(stream) = disk.stream() {
        // A stream open reports the stream's size; times and attributes are the file's.
        let size = crate::disk::streams::read(disk.file(), &stream)?.len() as u64;
        meta.end_of_file = size;
        meta.allocation_size = size;
    }
    match req.info_type {
        InfoType::FILE => file_info(&open, disk, &meta, req.file_info_class, max),
        InfoType::FILESYSTEM => fs_info(cx, disk, req.file_info_class, max),
        InfoType::SECURITY => {
            if !open.has_access(READ_CONTROL) {
                return Err(NtStatus::ACCESS_DENIED);
            }
            let sd = security_descriptor(&meta).filtered(req.additional_information);
            let bytes = sd.to_bytes();
            // 3.3.5.20.3: too small a buffer is BUFFER_TOO_SMALL (no partial descriptor).
            if bytes.len() > max {
                return Err(NtStatus::BUFFER_TOO_SMALL);
            }
            Ok(Reply::ok(QueryInfoResponse {
                buffer: Cow::Owned(bytes),
            }))
        }
        InfoType::QUOTA => Err(NtStatus::NOT_SUPPORTED),
        _ => Err(NtStatus::INVALID_PARAMETER),
    }
}

/// A named pipe answers FileStandardInformation as Windows does (one link, delete pending,
/// not a directory); everything else is `NOT_SUPPORTED`.
fn pipe_info(req: &QueryInfoRequest<'_>, max: usize) -> HandlerResult<QueryInfoResponse<'static>> {
    if req.info_type == InfoType::FILE
        && FileInformationClass(req.file_info_class)
            == FileInformationClass::FileStandardInformation
    {
        let s = FileStandardInformation {
            allocation_size: 4096,
            end_of_file: 0,
            number_of_links: 1,
            delete_pending: true,
            directory: false,
        };
        return fixed(s.to_bytes(), max);
    }
    Err(NtStatus::NOT_SUPPORTED)
}

fn basic(m: &FileMeta) -> FileBasicInformation {
    FileBasicInformation {
        creation_time: m.creation_time,
        last_access_time: m.last_access_time,
        last_write_time: m.last_write_time,
        change_time: m.change_time,
        file_attributes: m.attributes,
    }
}

fn standard(m: &FileMeta, open: &Open) -> FileStandardInformation {
    FileStandardInformation {
        allocation_size: m.allocation_size,
        end_of_file: m.end_of_file,
        number_of_links: m.nlink,
        delete_pending: open.delete_pending(),
        directory: m.is_dir,
    }
}

fn file_info(
    open: &Open,
    disk: &DiskOpen,
    m: &FileMeta,
    class: u8,
    max: usize,
) -> HandlerResult<QueryInfoResponse<'static>> {
    let class = FileInformationClass(class);
    let needs_attributes = matches!(
        class,
        FileInformationClass::FileBasicInformation
            | FileInformationClass::FileAllInformation
            | FileInformationClass::FileNetworkOpenInformation
            | FileInformationClass::FileAttributeTagInformation
    );
    if needs_attributes && !open.has_access(FILE_READ_ATTRIBUTES) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    // FileNameInformation carries the path from the share root with a leading backslash.
    let full_name = format!("\\{}", disk.path().to_smb());
    match class {
        FileInformationClass::FileBasicInformation => fixed(basic(m).to_bytes(), max),
        FileInformationClass::FileStandardInformation => fixed(standard(m, open).to_bytes(), max),
        FileInformationClass::FileInternalInformation => fixed(
            FileInternalInformation {
                index_number: m.file_id,
            }
            .to_bytes(),
            max,
        ),
        FileInformationClass::FileEaInformation => {
            fixed(FileEaInformation { ea_size: 0 }.to_bytes(), max)
        }
        FileInformationClass::FileAccessInformation => fixed(
            FileAccessInformation {
                access_flags: open.granted_access,
            }
            .to_bytes(),
            max,
        ),
        FileInformationClass::FilePositionInformation => fixed(
            FilePositionInformation {
                current_byte_offset: 0,
            }
            .to_bytes(),
            max,
        ),
        FileInformationClass::FileModeInformation => {
            fixed(FileModeInformation { mode: 0 }.to_bytes(), max)
        }
        FileInformationClass::FileAlignmentInformation => fixed(
            FileAlignmentInformation {
                alignment_requirement: 0,
            }
            .to_bytes(),
            max,
        ),
        FileInformationClass::FileNameInformation => fit(
            FileNameInformation {
                file_name: full_name,
            }
            .to_bytes(),
            MIN_NAME_INFO,
            max,
        ),
        FileInformationClass::FileNormalizedNameInformation => {
            // Relative to the share root, without the leading backslash (3.3.5.20.1); a
            // stream open names its stream too (`dir\file:stream`).
            let mut file_name = disk.path().to_smb();
            if let Some(stream) = disk.stream() {
                file_name = format!("{file_name}:{stream}");
            }
            fit(
                FileNameInformation { file_name }.to_bytes(),
                MIN_NAME_INFO,
                max,
            )
        }
        FileInformationClass::FileAllInformation => {
            let all = FileAllInformation {
                basic: basic(m),
                standard: standard(m, open),
                internal: FileInternalInformation {
                    index_number: m.file_id,
                },
                ea: FileEaInformation { ea_size: 0 },
                access: FileAccessInformation {
                    access_flags: open.granted_access,
                },
                position: FilePositionInformation {
                    current_byte_offset: 0,
                },
                mode: FileModeInformation { mode: 0 },
                alignment: FileAlignmentInformation {
                    alignment_requirement: 0,
                },
                name: FileNameInformation {
                    file_name: full_name,
                },
            };
            fit(all.to_bytes(), MIN_ALL_INFO, max)
        }
        FileInformationClass::FileNetworkOpenInformation => {
            let n = FileNetworkOpenInformation {
                creation_time: m.creation_time,
                last_access_time: m.last_access_time,
                last_write_time: m.last_write_time,
                change_time: m.change_time,
                allocation_size: m.allocation_size,
                end_of_file: m.end_of_file,
                file_attributes: m.attributes,
            };
            fixed(n.to_bytes(), max)
        }
        FileInformationClass::FileAttributeTagInformation => fixed(
            FileAttributeTagInformation {
                file_attributes: m.attributes,
                reparse_tag: 0,
            }
            .to_bytes(),
            max,
        ),
        FileInformationClass::FileStreamInformation => {
            // The unnamed data stream of a file (a directory has none), then the named
            // streams kept in xattrs (disk::streams), as `:name:$DATA`.
            let mut entries = Vec::new();
            if !m.is_dir {
                let main = FileMeta::of(disk.file(), "").map_err(io_status)?;
                entries.push(FileStreamEntry {
                    stream_size: main.end_of_file,
                    stream_allocation_size: main.allocation_size,
                    stream_name: "::$DATA".to_owned(),
                });
            }
            for (name, size) in crate::disk::streams::list(disk.file())? {
                entries.push(FileStreamEntry {
                    stream_size: size,
                    stream_allocation_size: size,
                    stream_name: format!(":{name}:$DATA"),
                });
            }
            fit(
                FileStreamInformation { entries }.to_bytes(),
                MIN_STREAM_INFO,
                max,
            )
        }
        FileInformationClass::FileCompressionInformation => {
            let c = FileCompressionInformation {
                compressed_file_size: m.end_of_file,
                compression_format: 0,
                compression_unit_shift: 0,
                chunk_shift: 0,
                cluster_shift: 0,
            };
            fixed(c.to_bytes(), max)
        }
        FileInformationClass::FileIdInformation => {
            let mut file_id = [0u8; 16];
            if let Some(low) = file_id.get_mut(..8) {
                low.copy_from_slice(&m.file_id.to_le_bytes());
            }
            fixed(
                FileIdInformation {
                    volume_serial_number: m.dev,
                    file_id,
                }
                .to_bytes(),
                max,
            )
        }
        // A derived 8.3 name (see disk::short_name); the root has none.
        FileInformationClass::FileAlternateNameInformation => match disk.path().leaf() {
            Some(leaf) => {
                let short = crate::disk::short_name::short_name(leaf);
                fit(
                    FileNameInformation { file_name: short }.to_bytes(),
                    MIN_NAME_INFO,
                    max,
                )
            }
            None => Err(NtStatus::OBJECT_NAME_NOT_FOUND),
        },
        // [MS-FSA 2.1.5.12.14]: the EA list needs FILE_READ_EA; rsmbd keeps no EAs.
        FileInformationClass::FileFullEaInformation => {
            if !open.has_access(FILE_READ_EA) {
                return Err(NtStatus::ACCESS_DENIED);
            }
            Err(NtStatus::NO_EAS_ON_FILE)
        }
        _ => Err(NtStatus::INVALID_INFO_CLASS),
    }
}

fn fs_info(
    cx: &TreeCx,
    disk: &DiskOpen,
    class: u8,
    max: usize,
) -> HandlerResult<QueryInfoResponse<'static>> {
    let class = FsInformationClass(class);
    let vfs = || rustix::fs::fstatvfs(disk.file()).map_err(|e| io_status(e.into()));
    // Allocation units as the file system's fragment size in 512-byte sectors (or one sector
    // if the fragment is smaller).
    let units = |frsize: u64| {
        if frsize >= 512 {
            (u32::try_from(frsize / 512).unwrap_or(u32::MAX), 512u32)
        } else {
            (1, u32::try_from(frsize.max(1)).unwrap_or(512))
        }
    };
    match class {
        FsInformationClass::FileFsVolumeInformation => {
            let root = cx.disk_root()?;
            let root_meta = FileMeta::of(root.fd(), "").map_err(io_status)?;
            let v = FileFsVolumeInformation {
                volume_creation_time: root_meta.creation_time,
                // A stable serial per host device: fold the 64-bit device number.
                volume_serial_number: (root_meta.dev ^ (root_meta.dev >> 32)) as u32,
                supports_objects: false,
                volume_label: cx.tree.share.config.name.clone(),
            };
            fit(v.to_bytes(), MIN_FS_VOLUME_INFO, max)
        }
        FsInformationClass::FileFsSizeInformation => {
            let s = vfs()?;
            let (spu, bps) = units(s.f_frsize);
            let v = FileFsSizeInformation {
                total_allocation_units: s.f_blocks,
                available_allocation_units: s.f_bavail,
                sectors_per_allocation_unit: spu,
                bytes_per_sector: bps,
            };
            fixed(v.to_bytes(), max)
        }
        FsInformationClass::FileFsFullSizeInformation => {
            let s = vfs()?;
            let (spu, bps) = units(s.f_frsize);
            let v = FileFsFullSizeInformation {
                total_allocation_units: s.f_blocks,
                caller_available_allocation_units: s.f_bavail,
                actual_available_allocation_units: s.f_bfree,
                sectors_per_allocation_unit: spu,
                bytes_per_sector: bps,
            };
            fixed(v.to_bytes(), max)
        }
        FsInformationClass::FileFsDeviceInformation => {
            let v = FileFsDeviceInformation {
                device_type: FILE_DEVICE_DISK,
                characteristics: FILE_DEVICE_IS_MOUNTED,
            };
            fixed(v.to_bytes(), max)
        }
        FsInformationClass::FileFsAttributeInformation => {
            // "NTFS" is what Samba reports; clients key features off the name. No persistent
            // ACLs, streams, sparse files or object ids are claimed.
            let v = FileFsAttributeInformation {
                file_system_attributes: FILE_CASE_PRESERVED_NAMES
                    | FILE_UNICODE_ON_DISK
                    | FILE_SUPPORTS_SPARSE_FILES,
                maximum_component_name_length: 255,
                file_system_name: "NTFS".to_owned(),
            };
            fit(v.to_bytes(), MIN_FS_ATTRIBUTE_INFO, max)
        }
        FsInformationClass::FileFsSectorSizeInformation => {
            let v = FileFsSectorSizeInformation {
                logical_bytes_per_sector: 512,
                physical_bytes_per_sector_for_atomicity: 512,
                physical_bytes_per_sector_for_performance: 512,
                file_system_effective_physical_bytes_per_sector_for_atomicity: 512,
                flags: SSINFO_ALIGNED,
                byte_offset_for_sector_alignment: 0,
                byte_offset_for_partition_alignment: 0,
            };
            fixed(v.to_bytes(), max)
        }
        FsInformationClass::FileFsObjectIdInformation => {
            let root = cx.disk_root()?;
            let dev = FileMeta::of(root.fd(), "").map_err(io_status)?.dev;
            let mut object_id = [0u8; 16];
            if let Some(low) = object_id.get_mut(..8) {
                low.copy_from_slice(&dev.to_le_bytes());
            }
            fixed(
                FileFsObjectIdInformation {
                    object_id,
                    extended_info: [0; 48],
                }
                .to_bytes(),
                max,
            )
        }
        _ => Err(NtStatus::INVALID_INFO_CLASS),
    }
}

/// Rights for one rwx triplet of the Unix mode.
fn mode_rights(bits: u32) -> u32 {
    let mut mask = 0;
    if bits & 0o4 != 0 {
        mask |= FILE_GENERIC_READ;
    }
    if bits & 0o2 != 0 {
        mask |= FILE_GENERIC_WRITE;
    }
    if bits & 0o1 != 0 {
        mask |= FILE_GENERIC_EXECUTE;
    }
    mask
}

/// A minimal self-relative descriptor from the Unix owner and mode, with Samba's Unix SIDs
/// (S-1-22-1-uid, S-1-22-2-gid): the owner has full control, the group and Everyone what the
/// group and other permission bits allow. Informational only: access is not enforced with it.
pub fn security_descriptor(m: &FileMeta) -> SecurityDescriptor {
    let mut aces = vec![Ace::allow(Sid::unix_user(m.uid), FILE_ALL_ACCESS)];
    let group = mode_rights((m.mode >> 3) & 0o7);
    if group != 0 {
        aces.push(Ace::allow(Sid::unix_group(m.gid), group));
    }
    let other = mode_rights(m.mode & 0o7);
    if other != 0 {
        aces.push(Ace::allow(Sid::everyone(), other));
    }
    SecurityDescriptor {
        control: 0,
        owner: Some(Sid::unix_user(m.uid)),
        group: Some(Sid::unix_group(m.gid)),
        dacl: Some(Acl { revision: 2, aces }),
    }
}
