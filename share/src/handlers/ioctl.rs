//! IOCTL ([MS-SMB2 3.3.5.15] Receiving an SMB2 IOCTL Request). The engine answers
//! FSCTL_VALIDATE_NEGOTIATE_INFO itself; everything else comes here.

use std::borrow::Cow;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::ioctl::{FsctlCode, IoctlFlags, IoctlRequest, IoctlResponse};

use super::{HandlerResult, Reply, TreeCx};

/// Largest pipe transceive output we allocate for (the engine checks MaxTransactSize first).
pub const MAX_TRANSCEIVE_OUTPUT: u32 = 16 * 1024 * 1024;

/// Handles the FSCTLs this server supports:
/// - FSCTL_PIPE_TRANSCEIVE on an IPC$ pipe (3.3.5.15.1): one DCE/RPC request in, the reply
///   out; a reply longer than MaxOutputResponse comes back with `BUFFER_OVERFLOW` and the rest
///   is read with READ;
/// - FSCTL_DFS_GET_REFERRALS(_EX): this is not a DFS server, so `FS_DRIVER_REQUIRED`, as Samba
///   and ksmbd answer without DFS (3.3.5.15.2);
/// - FSCTL_QUERY_NETWORK_INTERFACE_INFO: no multichannel, `NOT_SUPPORTED` (field research R19);
/// - FSCTL_CREATE_OR_GET_OBJECT_ID: see [`super::object_id`];
/// - FSCTL_PIPE_WAIT on IPC$ (3.3.5.15.10): our pipes are always available, so SUCCESS for a
///   pipe we serve and `OBJECT_NAME_NOT_FOUND` for any other name;
/// - IOCTLs that are not FSCTLs: `NOT_SUPPORTED` (3.3.5.15); any other FSCTL on a file or
///   directory: `INVALID_DEVICE_REQUEST`, on a pipe `NOT_SUPPORTED`.
pub fn handle(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    if req.flags & IoctlFlags::IS_FSCTL == 0 {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    match FsctlCode(req.ctl_code) {
        FsctlCode::DFS_GET_REFERRALS | FsctlCode::DFS_GET_REFERRALS_EX => {
            Err(NtStatus::FS_DRIVER_REQUIRED)
        }
        FsctlCode::QUERY_NETWORK_INTERFACE_INFO => Err(NtStatus::NOT_SUPPORTED),
        FsctlCode::PIPE_WAIT => pipe_wait(cx, req),
        FsctlCode::PIPE_TRANSCEIVE => {
            let open = cx.open(req.file_id)?;
            let Some(pipe) = open.pipe() else {
                return Err(NtStatus::INVALID_DEVICE_REQUEST);
            };
            let max = req.max_output_response.min(MAX_TRANSCEIVE_OUTPUT) as usize;
            let r = pipe.pipe().transceive(&req.input, max)?;
            let status = if r.more {
                NtStatus::BUFFER_OVERFLOW
            } else {
                NtStatus::SUCCESS
            };
            Ok(Reply::with_status(
                status,
                IoctlResponse {
                    ctl_code: req.ctl_code,
                    file_id: req.file_id,
                    input: Cow::Borrowed(&[]),
                    output: Cow::Owned(r.data),
                    flags: 0,
                },
            ))
        }
        FsctlCode::CREATE_OR_GET_OBJECT_ID => super::object_id::create_or_get(cx, req),
        FsctlCode::GET_REPARSE_POINT => {
            cx.open(req.file_id)?;
            Err(NtStatus::NOT_A_REPARSE_POINT)
        }
        _ => {
            let open = cx.open(req.file_id)?;
            if open.pipe().is_some() {
                Err(NtStatus::NOT_SUPPORTED)
            } else {
                Err(NtStatus::INVALID_DEVICE_REQUEST)
            }
        }
    }
}

/// FSCTL_PIPE_WAIT ([MS-FSCC 2.3.49] FSCTL_PIPE_WAIT_REQUEST: Timeout (8), NameLength (4),
/// TimeoutSpecified (1), Padding (1), Name). No pipe instance is ever busy here.
fn pipe_wait(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let Some(info) = cx.tree.share.pipe_info() else {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    };
    let input: &[u8] = &req.input;
    let len = input
        .get(8..12)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(NtStatus::INVALID_PARAMETER)? as usize;
    let raw = 14usize
        .checked_add(len)
        .and_then(|end| input.get(14..end))
        .ok_or(NtStatus::INVALID_PARAMETER)?;
    let name = rsmbd_protocol::codec::utf16le_to_string(raw).ok_or(NtStatus::INVALID_PARAMETER)?;
    if crate::ipc::open_pipe(&name, std::sync::Arc::clone(info)).is_none() {
        return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
    }
    Ok(Reply::ok(IoctlResponse {
        ctl_code: req.ctl_code,
        file_id: req.file_id,
        input: Cow::Borrowed(&[]),
        output: Cow::Borrowed(&[]),
        flags: 0,
    }))
}
