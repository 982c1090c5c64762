//! CHANGE_NOTIFY ([MS-SMB2 3.3.5.19] Receiving an SMB2 CHANGE_NOTIFY Request).

use std::borrow::Cow;
use std::os::fd::AsFd;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::fscc::encode_notify_entries;
use rsmbd_protocol::messages::change_notify::{
    ChangeNotifyFlags, ChangeNotifyRequest, ChangeNotifyResponse,
};

use super::{HandlerResult, Reply, TreeCx, io_status};
use crate::disk::access::FILE_READ_DATA;
use crate::disk::notify::Taken;

/// Largest OutputBufferLength accepted (the engine has checked MaxTransactSize first): 512 KiB,
/// Windows' limit (smbtorture smb2.notify.valid-req: 0x80000 is accepted, one byte more is
/// INVALID_PARAMETER); it also bounds what one watch's answer can cost.
pub const MAX_OUTPUT: u32 = 0x0008_0000;

/// Reports changes in a directory ([MS-SMB2 3.3.5.19], [MS-FSA 2.1.5.10]).
///
/// The open must be a directory (else `INVALID_PARAMETER`) opened with FILE_LIST_DIRECTORY
/// (else `ACCESS_DENIED`). The first request starts the open's watch with its
/// CompletionFilter and SMB2_WATCH_TREE; changes are buffered from then on until CLOSE. With
/// buffered changes the request completes at once; otherwise it answers `PENDING` and the
/// engine retries it (an async request), so it completes when a change happens. Changes that
/// do not fit in OutputBufferLength, or more than the watch could buffer, complete it with
/// `STATUS_NOTIFY_ENUM_DIR` and no entries (the client re-reads the directory). When the
/// directory handle is closed while the request waits, the engine completes it with
/// `STATUS_NOTIFY_CLEANUP`; CANCEL completes it with `STATUS_CANCELLED`; the directory
/// being deleted (delete pending) with `STATUS_DELETE_PENDING`.
pub fn handle(
    cx: &TreeCx,
    req: &ChangeNotifyRequest,
) -> HandlerResult<ChangeNotifyResponse<'static>> {
    let open = cx.open(req.file_id)?;
    let disk = super::disk_of(&open)?;
    if !disk.is_dir() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if !open.has_access(FILE_READ_DATA) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if req.output_buffer_length > MAX_OUTPUT {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    // MS-FSA 2.1.5.10: a directory on its way out (deleted while this handle keeps it) ends
    // the request, also one already waiting (the engine runs it again).
    if open.delete_pending() {
        return Err(NtStatus::DELETE_PENDING);
    }
    let notifier = open.share.notifier();
    let watch = match disk.watch() {
        Some(w) => w,
        None => {
            let tree = req.flags & ChangeNotifyFlags::WATCH_TREE != 0;
            let w = notifier
                .watch(disk.file().as_fd(), req.completion_filter, tree)
                .map_err(io_status)?;
            // Two first requests racing: keep one watch, stop the other.
            let kept = disk.set_watch(std::sync::Arc::clone(&w));
            if !std::sync::Arc::ptr_eq(&kept, &w) {
                notifier.stop(&w);
            }
            kept
        }
    };
    // The first request fixes the watch's buffer bound even when it answers at once.
    watch.output_limit(req.output_buffer_length);
    notifier.drain();
    let changes = match watch.take() {
        Taken::Nothing => return Err(NtStatus::PENDING),
        Taken::Overflow => return Ok(enum_dir()),
        Taken::Changes(c) => c,
    };
    let limit = watch.output_limit(req.output_buffer_length);
    let (buffer, count) = encode_notify_entries(&changes, limit as usize);
    if count < changes.len() {
        return Ok(enum_dir());
    }
    Ok(Reply::ok(ChangeNotifyResponse {
        buffer: Cow::Owned(buffer),
    }))
}

/// STATUS_NOTIFY_ENUM_DIR: "too much changed, enumerate the directory" (3.3.5.19).
fn enum_dir() -> Reply<ChangeNotifyResponse<'static>> {
    Reply::with_status(
        NtStatus::NOTIFY_ENUM_DIR,
        ChangeNotifyResponse {
            buffer: Cow::Owned(Vec::new()),
        },
    )
}
