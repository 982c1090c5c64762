//! WRITE ([MS-SMB2 3.3.5.13] Receiving an SMB2 WRITE Request).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::codec::sat_u32;
use rsmbd_protocol::messages::write::{WriteFlags, WriteRequest, WriteResponse};

use super::{HandlerResult, Reply, TreeCx, io_status};
use crate::disk::access::{FILE_APPEND_DATA, FILE_WRITE_DATA};

/// Writes the data at `Offset` with positional I/O.
///
/// 3.3.5.13: needs FILE_WRITE_DATA or FILE_APPEND_DATA (never granted on a read-only share);
/// writing a directory is `INVALID_DEVICE_REQUEST`; a range locked by another open (or shared-
/// locked by this one) is `FILE_LOCK_CONFLICT`. Offset 0xFFFFFFFFFFFFFFFF means "at end of
/// file" (MS-FSA FILE_WRITE_TO_END_OF_FILE). SMB2_WRITEFLAG_WRITE_THROUGH, or an open created
/// with FILE_WRITE_THROUGH, is honoured with an `fdatasync` before the answer.
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
    if let Some(stream) = disk.stream() {
        // A named stream (an xattr): no byte-range locks apply to it here.
        let offset = if req.offset == u64::MAX {
            crate::disk::streams::read(disk.file(), &stream)?.len() as u64
        } else {
            req.offset
        };
        let n = crate::disk::streams::write_at(disk.file(), &stream, offset, &req.data)?;
        return Ok(Reply::ok(WriteResponse {
            count: sat_u32(n),
            remaining: 0,
        }));
    }
    let offset = if req.offset == u64::MAX {
        disk.file().metadata().map_err(io_status)?.len()
    } else {
        req.offset
    };
    let len = req.data.len() as u64;
    offset.checked_add(len).ok_or(NtStatus::INVALID_PARAMETER)?;
    open.share
        .locks()
        .check_io(disk.key(), open.lock_owner(), offset, len, true)?;
    // MS-FSA 2.1.4.12: a write breaks other opens' level II oplocks and read leases.
    open.share
        .oplocks()
        .break_on_write(disk.key(), open.lock_owner());
    let n = crate::disk::file::write_at(disk.file(), offset, &req.data).map_err(io_status)?;
    if req.flags & WriteFlags::WRITE_THROUGH != 0 || disk.write_through() {
        disk.file().sync_data().map_err(io_status)?;
    }
    Ok(Reply::ok(WriteResponse {
        count: sat_u32(n),
        remaining: 0,
    }))
}
