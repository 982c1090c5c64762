//! FLUSH ([MS-SMB2 3.3.5.11] Receiving an SMB2 FLUSH Request).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::flush::{FlushRequest, FlushResponse};

use super::{HandlerResult, Reply, TreeCx, io_status};
use crate::disk::access::{FILE_APPEND_DATA, FILE_WRITE_DATA};

/// Flushes the file to stable storage (`fsync`). 3.3.5.11: an open without FILE_WRITE_DATA or
/// FILE_APPEND_DATA is `ACCESS_DENIED`. A pipe has nothing buffered: success.
pub fn handle(cx: &TreeCx, req: &FlushRequest) -> HandlerResult<FlushResponse> {
    let open = cx.open(req.file_id)?;
    let Some(disk) = open.disk() else {
        return Ok(Reply::ok(FlushResponse));
    };
    if !open.has_any_access(FILE_WRITE_DATA | FILE_APPEND_DATA) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    // A pending write-time update happens now (disk::write_time).
    disk.write_time().flush(disk.file()).map_err(io_status)?;
    crate::disk::file::flush(disk.file()).map_err(io_status)?;
    Ok(Reply::ok(FlushResponse))
}
