//! WRITE ([MS-SMB2 3.3.5.13] Receiving an SMB2 WRITE Request).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::codec::sat_u32;
use rsmbd_protocol::messages::write::{WriteFlags, WriteRequest, WriteResponse};

use super::{HandlerResult, Reply, TreeCx, io_status};
use crate::disk::access::{FILE_APPEND_DATA, FILE_WRITE_DATA};

/// NTFS's largest file size (MS-FSA MAXFILESIZE, 16 TiB less 64 KiB): a write may not end
/// beyond it.
pub const MAX_FILE_SIZE: u64 = 0xFFF_FFFF_0000;

/// The range check of a WRITE (see [`handle`]).
fn check_range(offset: u64, len: u64) -> Result<(), NtStatus> {
    if offset > i64::MAX as u64 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    match offset.checked_add(len) {
        Some(end) if len == 0 || end <= MAX_FILE_SIZE => Ok(()),
        _ => Err(NtStatus::INVALID_PARAMETER),
    }
}

/// Writes the data at `Offset` with positional I/O.
///
/// 3.3.5.13: needs FILE_WRITE_DATA or FILE_APPEND_DATA (never granted on a read-only share);
/// writing a directory is `INVALID_DEVICE_REQUEST`; a range locked by another open (or shared-
/// locked by this one) is `FILE_LOCK_CONFLICT`. An offset above i64::MAX (SMB2 has no
/// "write at end of file" value, unlike SMB1), or a range ending past [`MAX_FILE_SIZE`], is
/// `INVALID_PARAMETER`, as Windows answers (smbtorture smb2.rw.invalid).
/// SMB2_WRITEFLAG_WRITE_THROUGH, or an open created with FILE_WRITE_THROUGH, is honoured with
/// an `fdatasync` before the answer.
pub fn handle(cx: &TreeCx, req: &WriteRequest<'_>) -> HandlerResult<WriteResponse> {
    let open = cx.open(req.file_id)?;
    if let Some(pipe) = open.pipe() {
        let n = pipe.pipe().write(&req.data)?;
        return Ok(Reply::ok(WriteResponse {
            count: sat_u32(n),
            remaining: 0,
        }));
    }
    let disk = super::disk_of(&open)?;
    if disk.is_dir() {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    if !open.has_any_access(FILE_WRITE_DATA | FILE_APPEND_DATA) || cx.tree.read_only() {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let len = req.data.len() as u64;
    check_range(req.offset, len)?;
    let offset = req.offset;
    if let Some(stream) = disk.stream() {
        // A named stream (an xattr): no byte-range locks apply to it here.
        let n = crate::disk::streams::write_at(disk.file(), &stream, offset, &req.data)?;
        return Ok(Reply::ok(WriteResponse {
            count: sat_u32(n),
            remaining: 0,
        }));
    }
    open.share
        .locks()
        .check_io(disk.key(), open.lock_owner(), offset, len, true)?;
    // MS-FSA 2.1.4.12: a write breaks other opens' level II oplocks and read leases.
    open.share
        .oplocks()
        .break_on_write(disk.key(), open.lock_owner());
    // Windows' write-time rules (disk::write_time); a failure there never fails the write.
    let wt = disk.write_time();
    if let Err(e) = wt.before_write(disk.file()) {
        tracing::debug!(error = %e, "write time: before write");
    }
    let n = crate::disk::file::write_at(disk.file(), offset, &req.data).map_err(io_status)?;
    if let Err(e) = wt.after_write(disk.file()) {
        tracing::debug!(error = %e, "write time: after write");
    }
    if req.flags & WriteFlags::WRITE_THROUGH != 0 || disk.write_through() {
        disk.file().sync_data().map_err(io_status)?;
    }
    Ok(Reply::ok(WriteResponse {
        count: sat_u32(n),
        remaining: 0,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn write_ranges_as_windows() {
        let max = i64::MAX as u64;
        assert_eq!(check_range(u64::MAX, 10), Err(NtStatus::INVALID_PARAMETER));
        assert_eq!(check_range(max + 1, 0), Err(NtStatus::INVALID_PARAMETER));
        assert_eq!(check_range(max, 0), Ok(()));
        assert_eq!(check_range(max, 1), Err(NtStatus::INVALID_PARAMETER));
        assert_eq!(
            check_range(MAX_FILE_SIZE, 1),
            Err(NtStatus::INVALID_PARAMETER)
        );
        assert_eq!(check_range(MAX_FILE_SIZE - 1, 1), Ok(()));
        assert_eq!(check_range(MAX_FILE_SIZE, 0), Ok(()));
        assert_eq!(check_range(0, 65536), Ok(()));
    }
}
