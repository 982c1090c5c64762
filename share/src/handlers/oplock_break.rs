//! OPLOCK_BREAK acknowledgment ([MS-SMB2 3.3.5.22.1] Processing an Oplock Acknowledgment).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::oplock_break::OplockBreakAcknowledgment;

use super::{HandlerResult, TreeCx};

/// This server grants no oplocks (every CREATE answers SMB2_OPLOCK_LEVEL_NONE), so no break is
/// ever in progress: 3.3.5.22.1 answers an acknowledgment for an unknown open with
/// `FILE_CLOSED` and one for an open with no break outstanding with
/// `INVALID_OPLOCK_PROTOCOL`.
pub fn handle(
    cx: &TreeCx,
    req: &OplockBreakAcknowledgment,
) -> HandlerResult<OplockBreakAcknowledgment> {
    cx.open(req.file_id)?;
    Err(NtStatus::INVALID_OPLOCK_PROTOCOL)
}
