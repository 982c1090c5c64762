//! CHANGE_NOTIFY ([MS-SMB2 3.3.5.19] Receiving an SMB2 CHANGE_NOTIFY Request).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::change_notify::{ChangeNotifyRequest, ChangeNotifyResponse};

use super::{HandlerResult, TreeCx};

/// Directory change notification is **not implemented yet**: after checking the handle (an
/// unknown FileId is `FILE_CLOSED`, a file rather than a directory is `INVALID_PARAMETER`, as
/// 3.3.5.19 prescribes) the request fails with `STATUS_NOT_SUPPORTED`, which Windows Explorer
/// and smbclient accept (they fall back to polling). A real implementation needs the engine's
/// async (STATUS_PENDING) path and inotify.
pub fn handle(
    cx: &TreeCx,
    req: &ChangeNotifyRequest,
) -> HandlerResult<ChangeNotifyResponse<'static>> {
    let open = cx.open(req.file_id)?;
    match open.disk() {
        Some(d) if !d.is_dir() => Err(NtStatus::INVALID_PARAMETER),
        _ => Err(NtStatus::NOT_SUPPORTED),
    }
}
