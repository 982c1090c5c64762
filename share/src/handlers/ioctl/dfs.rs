//! FSCTL_DFS_GET_REFERRALS(_EX) ([MS-SMB2 3.3.5.15.2], [MS-DFSC 3.2.5]).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::ioctl::{IoctlRequest, IoctlResponse};

use super::super::{HandlerResult, TreeCx};

/// rsmbd is not a DFS server: like a Windows server without the DFS role (and Samba without
/// `host msdfs`) it answers `FS_DRIVER_REQUIRED`, which tells the client to use the path as
/// it is. A request without even a MaxReferralLevel (2 bytes) is `INVALID_PARAMETER`.
pub fn handle(_cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    if req.input.len() < 2 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    Err(NtStatus::FS_DRIVER_REQUIRED)
}
