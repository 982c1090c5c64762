//! CLOSE ([MS-SMB2 3.3.5.10] Receiving an SMB2 CLOSE Request).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::close::{CloseFlags, CloseRequest, CloseResponse};

use super::{HandlerResult, Reply, TreeCx, io_status};
use crate::disk::meta::FileMeta;

/// Closes the open: its byte-range locks are released and a pending delete runs. With
/// SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB the response carries the file's times, sizes and attributes
/// as they were just before the close; otherwise those fields are zero (3.3.5.10).
pub fn handle(cx: &TreeCx, req: &CloseRequest) -> HandlerResult<CloseResponse> {
    // Check the tree before removing, so a wrong-tree CLOSE does not close anything.
    cx.open(req.file_id)?;
    let open = cx
        .session
        .remove_open(req.file_id)
        .ok_or(NtStatus::FILE_CLOSED)?;
    let post = req.flags & CloseFlags::POSTQUERY_ATTRIB != 0;
    // Write-time updates due at close happen before the attributes are read.
    if let Some(disk) = open.disk()
        && let Err(e) = disk.write_time().close(disk.file())
    {
        tracing::debug!(error = %e, "write time update at close failed");
    }
    let meta = match (post, open.disk()) {
        (true, Some(disk)) => {
            let name = disk.path().leaf().unwrap_or("").to_owned();
            Some(FileMeta::of(disk.file(), &name).map_err(io_status))
        }
        _ => None,
    };
    open.close();
    let body = match meta {
        Some(Ok(m)) => CloseResponse {
            flags: CloseFlags::POSTQUERY_ATTRIB,
            creation_time: m.creation_time,
            last_access_time: m.last_access_time,
            last_write_time: m.last_write_time,
            change_time: m.change_time,
            allocation_size: m.allocation_size,
            end_of_file: m.end_of_file,
            file_attributes: m.attributes,
        },
        // The close itself succeeded; a failed stat only costs the attributes.
        Some(Err(_)) | None => CloseResponse {
            flags: 0,
            creation_time: 0,
            last_access_time: 0,
            last_write_time: 0,
            change_time: 0,
            allocation_size: 0,
            end_of_file: 0,
            file_attributes: 0,
        },
    };
    Ok(Reply::ok(body))
}
