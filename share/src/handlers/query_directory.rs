//! QUERY_DIRECTORY ([MS-SMB2 3.3.5.18] Receiving an SMB2 QUERY_DIRECTORY Request; object store
//! rules of [MS-FSA 2.1.5.6.3] Directory Information Queries).

use std::borrow::Cow;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::codec::{align8, utf16le_to_string};
use rsmbd_protocol::fscc::{DirEntry, FileInformationClass, encode_dir_entries};
use rsmbd_protocol::messages::query_directory::{
    QueryDirectoryFlags, QueryDirectoryRequest, QueryDirectoryResponse,
};

use super::{HandlerResult, Reply, TreeCx};
use crate::disk::access::FILE_READ_DATA;
use crate::disk::enumerate::{DirEntryInfo, Enumeration};
use crate::disk::pattern::Pattern;
use crate::disk::short_name::{fits_83, short_name};

/// Largest output buffer we fill (the engine has checked MaxTransactSize first).
pub const MAX_OUTPUT: u32 = 16 * 1024 * 1024;

/// The size of a class's entry without its file name: the least OutputBufferLength that can
/// hold anything ([MS-FSCC 2.4.8, 2.4.10, 2.4.14, 2.4.16-2.4.18, 2.4.28]).
pub fn fixed_entry_size(class: FileInformationClass) -> Option<usize> {
    Some(match class {
        FileInformationClass::FileDirectoryInformation => 64,
        FileInformationClass::FileFullDirectoryInformation => 68,
        FileInformationClass::FileBothDirectoryInformation => 94,
        FileInformationClass::FileIdBothDirectoryInformation => 104,
        FileInformationClass::FileIdFullDirectoryInformation => 80,
        FileInformationClass::FileIdExtdDirectoryInformation => 88,
        FileInformationClass::FileNamesInformation => 12,
        _ => return None,
    })
}

fn to_dir_entry(info: DirEntryInfo) -> DirEntry {
    let m = info.meta;
    DirEntry {
        file_index: 0,
        creation_time: m.creation_time,
        last_access_time: m.last_access_time,
        last_write_time: m.last_write_time,
        change_time: m.change_time,
        end_of_file: m.end_of_file,
        allocation_size: m.allocation_size,
        file_attributes: m.attributes,
        ea_size: 0,
        file_id: m.file_id,
        // Like NTFS: a short name only for names that are not already 8.3.
        short_name: if info.name == "." || info.name == ".." || fits_83(&info.name) {
            String::new()
        } else {
            short_name(&info.name)
        },
        name: info.name,
    }
}

/// Lists the directory open as FileId, continuing the enumeration kept on the open.
///
/// - the classes Directory, FullDirectory, BothDirectory, IdBothDirectory, IdFullDirectory,
///   IdExtdDirectory and Names are served; others are `INVALID_INFO_CLASS`;
/// - the open must be a directory (`INVALID_PARAMETER`) with FILE_LIST_DIRECTORY access;
/// - the pattern (FileName) is taken at the first query and at RESTART_SCANS/REOPEN, which also
///   rewind; `*`, `?` and the DOS wildcards `<`, `>`, `"` match case-insensitively;
/// - `.` and `..` come first, as on Windows; RETURN_SINGLE_ENTRY returns one entry;
/// - when nothing is left: `NO_SUCH_FILE` if the enumeration's first query found nothing,
///   else `NO_MORE_FILES`;
/// - OutputBufferLength below the class's fixed entry size is `INFO_LENGTH_MISMATCH`; an entry
///   that alone does not fit is `BUFFER_OVERFLOW` (and is returned by the next, larger query).
pub fn handle(
    cx: &TreeCx,
    req: &QueryDirectoryRequest<'_>,
) -> HandlerResult<QueryDirectoryResponse<'static>> {
    let open = cx.open(req.file_id)?;
    let disk = super::disk_of(&open)?;
    if !disk.is_dir() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let class = FileInformationClass(req.file_information_class);
    let fixed = fixed_entry_size(class).ok_or(NtStatus::INVALID_INFO_CLASS)?;
    if !open.has_access(FILE_READ_DATA) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if (req.output_buffer_length as usize) < fixed {
        return Err(NtStatus::INFO_LENGTH_MISMATCH);
    }
    let max = req.output_buffer_length.min(MAX_OUTPUT) as usize;
    let pattern_text = utf16le_to_string(&req.file_name).ok_or(NtStatus::OBJECT_NAME_INVALID)?;
    let restart =
        req.flags & (QueryDirectoryFlags::RESTART_SCANS | QueryDirectoryFlags::REOPEN) != 0;
    let single = req.flags & QueryDirectoryFlags::RETURN_SINGLE_ENTRY != 0;
    let root = cx.disk_root()?;
    let dir_path = disk.path();

    // Serializes queries on this handle only (see DiskOpen::enumeration).
    let mut guard = disk.enumeration();
    let fresh = restart || guard.is_none();
    if fresh {
        let pattern = match (&*guard, pattern_text.is_empty()) {
            // A restart without a pattern keeps the old one.
            (Some(old), true) => old.pattern().clone(),
            _ => Pattern::new(&pattern_text)?,
        };
        *guard = Some(Enumeration::start(disk.file(), pattern).map_err(super::io_status)?);
    }
    let Some(en) = guard.as_mut() else {
        return Err(NtStatus::INTERNAL_ERROR);
    };
    let first_query = fresh;

    let mut batch = Vec::new();
    let mut after = Vec::new();
    let mut first_pos = None;
    let mut budget = 0usize;
    while let Some(info) = en.peek(root, disk.file(), &dir_path) {
        first_pos.get_or_insert(en.pos());
        let name_len = info.name.encode_utf16().count().saturating_mul(2);
        let size = align8(fixed.saturating_add(name_len)).unwrap_or(usize::MAX);
        if !batch.is_empty() && budget.saturating_add(size) > max {
            break;
        }
        budget = budget.saturating_add(size);
        en.advance();
        after.push(en.pos());
        batch.push(to_dir_entry(info));
        if single {
            break;
        }
    }
    let (buffer, count) = encode_dir_entries(class, &batch, max);
    // Entries collected but not encoded are returned by the next query.
    match count.checked_sub(1).and_then(|i| after.get(i)) {
        Some(&pos) => en.set_pos(pos),
        None => en.set_pos(first_pos.unwrap_or(en.pos())),
    }
    if count == 0 {
        if !batch.is_empty() {
            return Err(NtStatus::BUFFER_OVERFLOW);
        }
        return Err(if first_query {
            NtStatus::NO_SUCH_FILE
        } else {
            NtStatus::NO_MORE_FILES
        });
    }
    Ok(Reply::ok(QueryDirectoryResponse {
        buffer: Cow::Owned(buffer),
    }))
}
