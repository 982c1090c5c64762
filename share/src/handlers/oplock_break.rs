//! OPLOCK_BREAK acknowledgments: [MS-SMB2 3.3.5.22.1] Processing an Oplock Acknowledgment and
//! [3.3.5.22.2] Processing a Lease Acknowledgment. The state they act on lives in
//! `crate::oplock`; a CREATE waiting for the break sees the result on its next retry.

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::oplock_break::{LeaseBreakAcknowledgment, OplockBreakAcknowledgment};

use super::{HandlerResult, Reply, TreeCx};

/// [MS-SMB2 3.3.5.22.1] An oplock break acknowledgment: an unknown open is `FILE_CLOSED`; an
/// open with no break in progress `INVALID_OPLOCK_PROTOCOL` (what Windows answers; the section
/// says INVALID_DEVICE_STATE); a level above the one the
/// notification offered `INVALID_OPLOCK_PROTOCOL` (and SMB2_OPLOCK_LEVEL_LEASE
/// `INVALID_PARAMETER`), both leaving the open with no oplock. The response (2.2.25.1) carries
/// the level now held.
pub fn handle(
    cx: &TreeCx,
    req: &OplockBreakAcknowledgment,
) -> HandlerResult<OplockBreakAcknowledgment> {
    let open = cx.open(req.file_id)?;
    let disk = open.disk().ok_or(NtStatus::INVALID_OPLOCK_PROTOCOL)?;
    let level = open
        .share
        .oplocks()
        .ack_oplock(disk.key(), open.lock_owner(), req.oplock_level)?;
    Ok(Reply::ok(OplockBreakAcknowledgment {
        oplock_level: level,
        file_id: open.file_id,
    }))
}

/// [MS-SMB2 3.3.5.22.2] A lease break acknowledgment, looked up by (ClientGuid, LeaseKey): an
/// unknown lease is `OBJECT_NAME_NOT_FOUND`, one not breaking `UNSUCCESSFUL`, a state outside
/// the one offered `REQUEST_NOT_ACCEPTED`. The response (2.2.25.2) echoes key and state.
pub fn handle_lease(
    cx: &TreeCx,
    req: &LeaseBreakAcknowledgment,
) -> HandlerResult<LeaseBreakAcknowledgment> {
    if !cx.client.leasing {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    let state = cx
        .tree
        .share
        .oplocks()
        .ack_lease((cx.client.client_guid, req.lease_key), req.lease_state)?;
    Ok(Reply::ok(LeaseBreakAcknowledgment {
        flags: 0,
        lease_key: req.lease_key,
        lease_state: state,
        lease_duration: 0,
    }))
}
