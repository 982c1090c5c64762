//! FSCTL_SRV_REQUEST_RESUME_KEY ([MS-SMB2 3.3.5.15.5], [2.2.32.3]): names an open as the
//! source of a later server-side copy.

use std::sync::Arc;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::fsctl::SrvRequestResumeKeyResponse;
use rsmbd_protocol::messages::ioctl::{IoctlRequest, IoctlResponse};

use super::super::{HandlerResult, Reply, TreeCx, disk_of};
use super::response;
use crate::open::Open;

/// Size of the response: ResumeKey (24), ContextLength (4), Context (4).
const RESPONSE_SIZE: u32 = 32;

/// The open's resume key. The key is opaque to the client; ours is the open's FileId and its
/// session id, so [`lookup`] finds the open in one table probe and a key from another session
/// never matches (3.3.5.15.6: the source must belong to the same session).
pub fn key_of(open: &Open) -> [u8; 24] {
    let mut key = [0u8; 24];
    let parts = [
        open.file_id.persistent.to_le_bytes(),
        open.file_id.volatile.to_le_bytes(),
        open.session_id().to_le_bytes(),
    ];
    for (dst, src) in key.chunks_exact_mut(8).zip(parts) {
        dst.copy_from_slice(&src);
    }
    key
}

/// The open a resume key names, among this session's opens (on any tree connect, so copies
/// between two shares work); anything else is `OBJECT_NAME_NOT_FOUND` (3.3.5.15.6).
pub fn lookup(cx: &TreeCx, key: &[u8; 24]) -> Result<Arc<Open>, NtStatus> {
    let word = |i: usize| {
        key.get(i * 8..i * 8 + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .unwrap_or(0)
    };
    let file_id = FileId {
        persistent: word(0),
        volatile: word(1),
    };
    if word(2) != cx.session.id() {
        return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
    }
    cx.session
        .open(file_id)
        .filter(|o| !o.is_closed() && o.session_id() == cx.session.id())
        .ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)
}

/// Returns the resume key of a disk open (a pipe: `INVALID_DEVICE_REQUEST`); less room than
/// the 32-byte answer is `INVALID_PARAMETER`.
pub fn handle(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let open = cx.open(req.file_id)?;
    disk_of(&open)?;
    if req.max_output_response < RESPONSE_SIZE {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let out = SrvRequestResumeKeyResponse {
        resume_key: key_of(&open),
    };
    Ok(Reply::ok(response(req, out.to_bytes())))
}
