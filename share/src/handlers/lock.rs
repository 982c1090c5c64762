//! LOCK ([MS-SMB2 3.3.5.14] Receiving an SMB2 LOCK Request): byte-range locks.

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::lock::{LockFlags, LockRequest, LockResponse};

use super::{HandlerResult, Reply, TreeCx};
use crate::disk::locks::LockRequest as Range;

/// Takes or releases byte-range locks in the share's in-process lock table.
///
/// 3.3.5.14: the first element decides. Unlocking elements (exactly SMB2_LOCKFLAG_UNLOCK) are
/// applied one by one, as Windows does: the first one that is not held stops the request with
/// `RANGE_NOT_LOCKED` (those before it stay released) and the first with other flags with
/// `INVALID_PARAMETER`. Locking elements must all be SHARED or EXCLUSIVE (optionally
/// FAIL_IMMEDIATELY), and every one after the first must carry FAIL_IMMEDIATELY, else
/// `INVALID_PARAMETER`; no element at all is `INVALID_PARAMETER`. A range whose last byte
/// lies past 2^64 is `INVALID_LOCK_RANGE` (MS-FSA 2.1.5.7). A set of locks is taken
/// all-or-nothing. A conflict is
/// `LOCK_NOT_GRANTED` when every element carries SMB2_LOCKFLAG_FAIL_IMMEDIATELY; otherwise the
/// request is a blocking lock (3.3.5.14.2): it answers `PENDING`, the engine sends the interim
/// response and retries it, so it completes once the conflicting range is unlocked or its
/// open closed (by any connection), or with `CANCELLED` on CANCEL, or `FILE_CLOSED` if its own
/// handle goes away meanwhile. Unlocking a range not held is `RANGE_NOT_LOCKED`.
///
/// Lock sequences: on a durable open, or on a connection that negotiated multichannel, a LOCK
/// whose LockSequenceIndex (1 to 64) last succeeded with the same LockSequenceNumber is a
/// replay (the client resent it after losing a channel or its connection) and succeeds without
/// being applied again; any other LOCK invalidates its entry and records it once it succeeds.
/// (Resilient handles are not granted, so they never apply.)
pub fn handle(cx: &TreeCx, req: &LockRequest) -> HandlerResult<LockResponse> {
    let open = cx.open(req.file_id)?;
    let disk = super::disk_of(&open)?;
    if disk.is_dir() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let sequenced = cx.client.multichannel
        || open
            .share
            .durables()
            .info(open.file_id.persistent)
            .is_some();
    let (index, number) = (req.lock_sequence_index(), req.lock_sequence_number());
    if sequenced && open.lock_sequence_replayed(index, number) {
        return Ok(Reply::ok(LockResponse));
    }
    let reply = apply(&open, disk, req)?;
    if sequenced {
        open.lock_sequence_done(index, number);
    }
    Ok(reply)
}

/// The locks or unlocks of `req`, as described on [`handle`].
fn apply(
    open: &crate::open::Open,
    disk: &crate::open::DiskOpen,
    req: &LockRequest,
) -> HandlerResult<LockResponse> {
    let Some(first) = req.locks.first() else {
        return Err(NtStatus::INVALID_PARAMETER);
    };
    let unlocking = first.flags & LockFlags::UNLOCK != 0;
    let table = open.share.locks();
    if unlocking {
        for el in &req.locks {
            if el.flags != LockFlags::UNLOCK {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            let range = Range {
                offset: el.offset,
                length: el.length,
                exclusive: false,
            };
            table.unlock(disk.key(), open.lock_owner(), &[range])?;
        }
        return Ok(Reply::ok(LockResponse));
    }
    let mut ranges = Vec::with_capacity(req.locks.len());
    for (i, el) in req.locks.iter().enumerate() {
        // Only the first element may block: a blocking element after it is invalid, as
        // Windows and Samba answer (smb2.lock.valid-request).
        if i > 0 && el.flags & LockFlags::FAIL_IMMEDIATELY == 0 {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let exclusive = match el.flags & !LockFlags::FAIL_IMMEDIATELY {
            LockFlags::SHARED_LOCK => false,
            LockFlags::EXCLUSIVE_LOCK => true,
            _ => return Err(NtStatus::INVALID_PARAMETER),
        };
        ranges.push(Range {
            offset: el.offset,
            length: el.length,
            exclusive,
        });
    }
    let blocking = req
        .locks
        .iter()
        .any(|el| el.flags & LockFlags::FAIL_IMMEDIATELY == 0);
    match table.lock(disk.key(), open.lock_owner(), &ranges) {
        // Nothing was taken (all-or-nothing), so the retry starts from scratch.
        Err(NtStatus::LOCK_NOT_GRANTED) if blocking => return Err(NtStatus::PENDING),
        r => r?,
    }
    // MS-FSA 2.1.5.7: a byte-range lock breaks level II oplocks, as a write does.
    open.share
        .oplocks()
        .break_on_write(disk.key(), open.lock_owner());
    Ok(Reply::ok(LockResponse))
}
