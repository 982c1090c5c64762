//! IOCTL ([MS-SMB2 3.3.5.15] Receiving an SMB2 IOCTL Request), one file per FSCTL family.
//! The engine answers FSCTL_VALIDATE_NEGOTIATE_INFO itself (`server::engine::validate_negotiate`)
//! and FSCTL_QUERY_NETWORK_INTERFACE_INFO with the listener addresses it knows
//! ([`network_interface_info`]); everything else comes through [`handle`].

use std::borrow::Cow;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::ioctl::{FsctlCode, IoctlFlags, IoctlRequest, IoctlResponse};

use super::{HandlerResult, TreeCx};

mod compression;
mod copychunk;
mod dfs;
pub mod network_interface_info;
mod pipe;
mod reparse;
mod resume_key;
mod sparse;

pub use pipe::MAX_TRANSCEIVE_OUTPUT;

/// Routes an IOCTL to its FSCTL family:
/// - pipes: FSCTL_PIPE_TRANSCEIVE (3.3.5.15.1), FSCTL_PIPE_WAIT (3.3.5.15.10) ([`pipe`]);
/// - server-side copy: FSCTL_SRV_REQUEST_RESUME_KEY (3.3.5.15.5), FSCTL_SRV_COPYCHUNK(_WRITE)
///   (3.3.5.15.6) ([`resume_key`], [`copychunk`]);
/// - sparse files: FSCTL_SET_SPARSE, FSCTL_SET_ZERO_DATA, FSCTL_QUERY_ALLOCATED_RANGES
///   ([`sparse`], MS-FSA 2.1.5.10);
/// - FSCTL_GET/SET_COMPRESSION: not supported, answered as Windows Server 2016 does on a
///   volume without compression ([`compression`]);
/// - reparse points and DFS referrals: refused as a server without them does ([`reparse`],
///   [`dfs`]);
/// - FSCTL_CREATE_OR_GET_OBJECT_ID: see [`super::object_id`];
/// - FSCTL_FILE_LEVEL_TRIM: a hint that the range is no longer needed, which a file server
///   may ignore (MS-FSA 2.1.5.10.40); answered with no range processed;
/// - IOCTLs that are not FSCTLs: `NOT_SUPPORTED` (3.3.5.15); any other FSCTL on a file or
///   directory: `INVALID_DEVICE_REQUEST`, on a pipe `NOT_SUPPORTED`, as Windows answers.
pub fn handle(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    if req.flags & IoctlFlags::IS_FSCTL == 0 {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    match FsctlCode(req.ctl_code) {
        FsctlCode::DFS_GET_REFERRALS | FsctlCode::DFS_GET_REFERRALS_EX => dfs::handle(cx, req),
        // Only reached if the engine did not answer it (a test context without listeners).
        FsctlCode::QUERY_NETWORK_INTERFACE_INFO => Err(NtStatus::NOT_SUPPORTED),
        FsctlCode::PIPE_WAIT => pipe::wait(cx, req),
        FsctlCode::PIPE_TRANSCEIVE => pipe::transceive(cx, req),
        FsctlCode::SRV_REQUEST_RESUME_KEY => resume_key::handle(cx, req),
        FsctlCode::SRV_COPYCHUNK | FsctlCode::SRV_COPYCHUNK_WRITE => copychunk::handle(cx, req),
        FsctlCode::SET_SPARSE => sparse::set_sparse(cx, req),
        FsctlCode::SET_ZERO_DATA => sparse::set_zero_data(cx, req),
        FsctlCode::QUERY_ALLOCATED_RANGES => sparse::query_allocated_ranges(cx, req),
        FsctlCode::GET_COMPRESSION => compression::get(cx, req),
        FsctlCode::SET_COMPRESSION => compression::set(cx, req),
        FsctlCode::GET_REPARSE_POINT
        | FsctlCode::SET_REPARSE_POINT
        | FsctlCode::DELETE_REPARSE_POINT => reparse::handle(cx, req),
        FsctlCode::FILE_LEVEL_TRIM => trim(cx, req),
        FsctlCode::CREATE_OR_GET_OBJECT_ID => super::object_id::create_or_get(cx, req),
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

/// FSCTL_FILE_LEVEL_TRIM ([MS-FSCC 2.3.73]): the client says the ranges hold nothing it
/// needs. Honouring it is optional and rsmbd keeps the data, so the output
/// (FILE_LEVEL_TRIM_OUTPUT, [MS-FSCC 2.3.74]) reports NumRangesProcessed = 0.
fn trim(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let open = cx.open(req.file_id)?;
    let disk = super::disk_of(&open)?;
    if disk.is_dir() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if req.max_output_response < 4 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    Ok(super::Reply::ok(response(req, 0u32.to_le_bytes().to_vec())))
}

/// An IOCTL response carrying `output` for the request's CtlCode and FileId.
pub(crate) fn response(req: &IoctlRequest<'_>, output: Vec<u8>) -> IoctlResponse<'static> {
    IoctlResponse {
        ctl_code: req.ctl_code,
        file_id: req.file_id,
        input: Cow::Borrowed(&[]),
        output: Cow::Owned(output),
        flags: 0,
    }
}
