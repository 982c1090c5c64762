//! Reparse points: FSCTL_GET/SET/DELETE_REPARSE_POINT ([MS-FSCC 2.3.25 / 2.3.61 / 2.3.5]).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::ioctl::{FsctlCode, IoctlRequest, IoctlResponse};

use super::super::{HandlerResult, TreeCx};

/// rsmbd exposes no reparse points (symlinks are followed beneath the share root or hidden),
/// so every file answers GET and DELETE with `NOT_A_REPARSE_POINT` ([MS-FSA 2.1.5.10.17 /
/// 2.1.5.10.5]), and SET is refused with `NOT_SUPPORTED`: a tag stored here would mean nothing
/// to the host. Pipes are not files: `INVALID_DEVICE_REQUEST`.
pub fn handle(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let open = cx.open(req.file_id)?;
    super::super::disk_of(&open)?;
    match FsctlCode(req.ctl_code) {
        FsctlCode::SET_REPARSE_POINT => Err(NtStatus::NOT_SUPPORTED),
        _ => Err(NtStatus::NOT_A_REPARSE_POINT),
    }
}
