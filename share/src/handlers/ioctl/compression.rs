//! FSCTL_GET_COMPRESSION / FSCTL_SET_COMPRESSION ([MS-FSCC 2.3.8 / 2.3.68],
//! [MS-FSA 2.1.5.10.7 / 2.1.5.10.24]).
//!
//! rsmbd stores no compressed files (FileFsAttributeInformation does not claim
//! FILE_FILE_COMPRESSION), so it answers as Windows Server 2016 does on such a volume: every
//! file reads as COMPRESSION_FORMAT_NONE, setting NONE succeeds, and asking for compression is
//! `NOT_SUPPORTED`.

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::fsctl::CompressionState;
use rsmbd_protocol::messages::ioctl::{IoctlRequest, IoctlResponse};

use super::super::{HandlerResult, Reply, TreeCx, disk_of};
use super::response;
use crate::disk::access::FILE_WRITE_DATA;

/// FSCTL_GET_COMPRESSION: COMPRESSION_FORMAT_NONE; no room for the 2-byte answer is
/// `INVALID_PARAMETER`.
pub fn get(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let open = cx.open(req.file_id)?;
    disk_of(&open)?;
    if (req.max_output_response as usize) < CompressionState::SIZE {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let state = CompressionState {
        format: CompressionState::NONE,
    };
    Ok(Reply::ok(response(req, state.to_bytes())))
}

/// FSCTL_SET_COMPRESSION: NONE is what every file already is (SUCCESS); DEFAULT or LZNT1 is
/// `NOT_SUPPORTED`; any other format is `INVALID_PARAMETER`. Needs FILE_WRITE_DATA
/// (MS-FSA 2.1.5.10.24).
pub fn set(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let open = cx.open(req.file_id)?;
    disk_of(&open)?;
    let state = CompressionState::decode(&req.input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    if !open.has_access(FILE_WRITE_DATA) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    match state.format {
        CompressionState::NONE => Ok(Reply::ok(response(req, Vec::new()))),
        CompressionState::DEFAULT | CompressionState::LZNT1 => Err(NtStatus::NOT_SUPPORTED),
        _ => Err(NtStatus::INVALID_PARAMETER),
    }
}
