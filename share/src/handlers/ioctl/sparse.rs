//! Sparse-file FSCTLs ([MS-FSA 2.1.5.10.28] FSCTL_SET_SPARSE, [2.1.5.10.31]
//! FSCTL_SET_ZERO_DATA, [2.1.5.10.22] FSCTL_QUERY_ALLOCATED_RANGES; structures in MS-FSCC
//! 2.3.64, 2.3.67, 2.3.33/2.3.34). The file-system side is `disk::sparse`.

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::fsctl::{FileAllocatedRange, FileSetSparseBuffer, FileZeroDataInformation};
use rsmbd_protocol::messages::ioctl::{IoctlRequest, IoctlResponse};

use super::super::{HandlerResult, Reply, TreeCx, disk_of, io_status};
use super::response;
use crate::disk::access::{
    FILE_APPEND_DATA, FILE_READ_DATA, FILE_WRITE_ATTRIBUTES, FILE_WRITE_DATA,
};
use crate::disk::sparse;
use crate::open::{DiskOpen, Open};

/// Size of FILE_ZERO_DATA_INFORMATION and FILE_ALLOCATED_RANGE_BUFFER.
const RANGE_SIZE: usize = 16;

/// The regular file of a disk open: a directory is `INVALID_PARAMETER` (as Windows answers
/// FSCTL_SET_SPARSE on a directory), a pipe `INVALID_DEVICE_REQUEST`.
fn file_of(open: &Open) -> Result<&DiskOpen, NtStatus> {
    let disk = disk_of(open)?;
    if disk.is_dir() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    Ok(disk)
}

/// An offset or length the FSCC structures carry as a signed 64-bit value.
fn non_negative(v: u64) -> Result<u64, NtStatus> {
    i64::try_from(v)
        .map(|_| v)
        .map_err(|_| NtStatus::INVALID_PARAMETER)
}

/// FSCTL_SET_SPARSE: sets (no input, or a nonzero SetSparse byte) or clears the sparse flag.
/// Needs FILE_WRITE_DATA, FILE_APPEND_DATA or FILE_WRITE_ATTRIBUTES.
pub fn set_sparse(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let open = cx.open(req.file_id)?;
    let disk = file_of(&open)?;
    if !open.has_any_access(FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES)
        || cx.tree.read_only()
    {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let on = FileSetSparseBuffer::decode(&req.input).set_sparse;
    sparse::set_sparse(disk.file(), on).map_err(io_status)?;
    Ok(Reply::ok(response(req, Vec::new())))
}

/// FSCTL_SET_ZERO_DATA: zeroes `[FileOffset, BeyondFinalZero)` without growing the file (a
/// hole in a sparse file). FileOffset past BeyondFinalZero or a negative value is
/// `INVALID_PARAMETER`; needs FILE_WRITE_DATA; another open's byte-range lock in the range is
/// `FILE_LOCK_CONFLICT`, as for a WRITE.
pub fn set_zero_data(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let open = cx.open(req.file_id)?;
    let disk = file_of(&open)?;
    let z = FileZeroDataInformation::decode(&req.input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    let (from, to) = (
        non_negative(z.file_offset)?,
        non_negative(z.beyond_final_zero)?,
    );
    if from > to {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if !open.has_access(FILE_WRITE_DATA) || cx.tree.read_only() {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if from < to {
        open.share
            .locks()
            .check_io(disk.key(), open.lock_owner(), from, to - from, true)?;
        open.share
            .oplocks()
            .break_on_write(disk.key(), open.lock_owner());
        let is_sparse = sparse::is_sparse(disk.file());
        sparse::zero_range(disk.file(), from, to, is_sparse).map_err(io_status)?;
    }
    Ok(Reply::ok(response(req, Vec::new())))
}

/// FSCTL_QUERY_ALLOCATED_RANGES: the allocated ranges within the requested one (bytes after
/// the first FILE_ALLOCATED_RANGE_BUFFER are ignored; fewer than 16 bytes, a negative value or
/// an offset + length past 2^63 is `INVALID_PARAMETER`). Needs FILE_READ_DATA. As many
/// 16-byte entries as MaxOutputResponse holds: none fits but one exists is
/// `BUFFER_TOO_SMALL`, some left out is `BUFFER_OVERFLOW` with those that fit.
pub fn query_allocated_ranges(
    cx: &TreeCx,
    req: &IoctlRequest<'_>,
) -> HandlerResult<IoctlResponse<'static>> {
    let open = cx.open(req.file_id)?;
    let disk = file_of(&open)?;
    let q = FileAllocatedRange::decode(&req.input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    let (offset, length) = (non_negative(q.file_offset)?, non_negative(q.length)?);
    non_negative(
        offset
            .checked_add(length)
            .ok_or(NtStatus::INVALID_PARAMETER)?,
    )?;
    if !open.has_access(FILE_READ_DATA) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let max = req.max_output_response as usize / RANGE_SIZE;
    let is_sparse = sparse::is_sparse(disk.file());
    let (ranges, more) =
        sparse::allocated_ranges(disk.file(), offset, length, is_sparse, max).map_err(io_status)?;
    if more && ranges.is_empty() {
        return Err(NtStatus::BUFFER_TOO_SMALL);
    }
    let list: Vec<FileAllocatedRange> = ranges
        .into_iter()
        .map(|(file_offset, length)| FileAllocatedRange {
            file_offset,
            length,
        })
        .collect();
    let status = if more {
        NtStatus::BUFFER_OVERFLOW
    } else {
        NtStatus::SUCCESS
    };
    Ok(Reply::with_status(
        status,
        response(req, FileAllocatedRange::encode_list(&list)),
    ))
}
