//! Named-pipe FSCTLs on IPC$: FSCTL_PIPE_TRANSCEIVE ([MS-SMB2 3.3.5.15.1]) and FSCTL_PIPE_WAIT
//! ([MS-SMB2 3.3.5.15.10], [MS-FSCC 2.3.49]).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::fsctl::FsctlPipeWaitRequest;
use rsmbd_protocol::messages::ioctl::{IoctlRequest, IoctlResponse};

use super::super::{HandlerResult, Reply, TreeCx};
use super::response;

/// Largest pipe transceive output we allocate for (the engine checks MaxTransactSize first).
pub const MAX_TRANSCEIVE_OUTPUT: u32 = 16 * 1024 * 1024;

/// One DCE/RPC request in, the reply out; a reply longer than MaxOutputResponse comes back
/// with `BUFFER_OVERFLOW` and the rest is read with READ. Not a pipe: `INVALID_DEVICE_REQUEST`.
pub fn transceive(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
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
    Ok(Reply::with_status(status, response(req, r.data)))
}

/// Our pipes are always available, so SUCCESS for a pipe we serve and
/// `OBJECT_NAME_NOT_FOUND` for any other name; only on IPC$.
pub fn wait(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let Some(info) = cx.tree.share.pipe_info() else {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    };
    let wait = FsctlPipeWaitRequest::decode(&req.input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    if crate::ipc::open_pipe(&wait.name, std::sync::Arc::clone(info)).is_none() {
        return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
    }
    Ok(Reply::ok(response(req, Vec::new())))
}
