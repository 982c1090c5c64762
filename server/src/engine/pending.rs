//! [MS-SMB2 3.3.4.2] Operations that wait: the interim STATUS_PENDING response with an
//! AsyncId, the table of requests still waiting, and [3.3.5.16] CANCEL.
//!
//! A share handler that cannot finish yet (a READ on an empty named pipe; later CHANGE_NOTIFY
//! and blocking locks) answers `STATUS_PENDING`. The engine then sends the interim response,
//! keeps the request here, and runs it again after every frame and on the connection's timer
//! tick until it completes or is cancelled. The table is bounded (`limits.max_async_requests`):
//! past the limit the request fails with `STATUS_INSUFFICIENT_RESOURCES` instead of waiting.

use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::messages::Response;
use rsmbd_protocol::messages::lock::LockResponse;
use rsmbd_protocol::{Command, Header, NtStatus};

/// Most requests one connection may have waiting at once, unless configured
/// (`limits.max_async_requests`).
pub const DEFAULT_MAX_PENDING: usize = 64;

/// One request waiting to complete.
#[derive(Debug)]
pub struct PendingOp {
    /// Its AsyncId, sent in the interim response.
    pub async_id: u64,
    /// The request header, with SessionId and TreeId already resolved for related members.
    pub header: Header,
    /// The whole request message as received, to decode again on retry.
    pub request: Vec<u8>,
    /// The FileId a related member inherited, if any.
    pub inherited_file: Option<FileId>,
    /// Whether the request was signed (the final response is signed alike).
    pub signed: bool,
}

/// The waiting requests of one connection.
#[derive(Debug)]
pub struct PendingTable {
    ops: Vec<PendingOp>,
    next_async_id: u64,
    limit: usize,
}

impl Default for PendingTable {
    fn default() -> Self {
        Self::with_limit(DEFAULT_MAX_PENDING)
    }
}

impl PendingTable {
    /// An empty table that holds at most `limit` requests.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            ops: Vec::new(),
            next_async_id: 0,
            limit,
        }
    }

    /// Registers a waiting request; `None` if the table is full.
    pub fn insert(
        &mut self,
        header: Header,
        request: Vec<u8>,
        inherited_file: Option<FileId>,
        signed: bool,
    ) -> Option<u64> {
        if self.ops.len() >= self.limit {
            return None;
        }
        self.next_async_id += 1;
        let async_id = self.next_async_id;
        self.ops.push(PendingOp {
            async_id,
            header,
            request,
            inherited_file,
            signed,
        });
        Some(async_id)
    }

    /// True if nothing waits.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Removes the request a CANCEL names: by AsyncId for an async CANCEL, else by MessageId.
    pub fn take_for_cancel(
        &mut self,
        async_id: Option<u64>,
        message_id: u64,
        session_id: u64,
    ) -> Option<PendingOp> {
        let at = self.ops.iter().position(|op| match async_id {
            Some(id) => op.async_id == id,
            None => op.header.message_id == message_id && op.header.session_id == session_id,
        })?;
        Some(self.ops.remove(at))
    }

    /// Takes every waiting request (to retry them); put back the ones still waiting.
    pub fn take_all(&mut self) -> Vec<PendingOp> {
        std::mem::take(&mut self.ops)
    }

    /// Returns a still-waiting request to the table.
    pub fn put_back(&mut self, op: PendingOp) {
        self.ops.push(op);
    }

    /// Forgets the requests of a session that is gone.
    pub fn forget_session(&mut self, session_id: u64) {
        self.ops.retain(|op| op.header.session_id != session_id);
    }

    /// Takes the requests of a session that is ending (LOGOFF).
    pub fn take_session(&mut self, session_id: u64) -> Vec<PendingOp> {
        let (gone, kept) = std::mem::take(&mut self.ops)
            .into_iter()
            .partition(|op| op.header.session_id == session_id);
        self.ops = kept;
        gone
    }
}

/// The final answer of a waiting request whose handle, tree or session went away meanwhile
/// (`status`: what running it again said), as Windows answers:
/// - CHANGE_NOTIFY: STATUS_NOTIFY_CLEANUP ([MS-SMB2 3.3.5.10], 3.3.5.8, 3.3.5.6).
/// - LOCK whose own handle was closed: STATUS_RANGE_NOT_LOCKED (smb2.lock.cancel).
/// - LOCK whose tree or session ended: success. TREE_DISCONNECT and LOGOFF close the
///   conflicting handle too, which grants the wait; the lock then goes with its own handle
///   (smb2.lock.cancel-tdis, cancel-logoff).
/// - anything else: `status` itself.
pub fn ended_wait(command: Command, status: NtStatus) -> (NtStatus, Response<'static>) {
    const GONE: [NtStatus; 2] = [NtStatus::NETWORK_NAME_DELETED, NtStatus::USER_SESSION_DELETED];
    let error = || Response::Error(Default::default());
    match command {
        Command::CHANGE_NOTIFY if status == NtStatus::FILE_CLOSED || GONE.contains(&status) => {
            (NtStatus::NOTIFY_CLEANUP, error())
        }
        Command::LOCK if status == NtStatus::FILE_CLOSED => (NtStatus::RANGE_NOT_LOCKED, error()),
        Command::LOCK if GONE.contains(&status) => {
            (NtStatus::SUCCESS, Response::Lock(LockResponse))
        }
        _ => (status, error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsmbd_protocol::Command;

    #[test]
    fn bounded_and_cancellable_by_either_id() {
        let mut t = PendingTable::default();
        let mut h = Header::response(Command::READ);
        h.session_id = 9;
        for i in 0..DEFAULT_MAX_PENDING as u64 {
            h.message_id = i;
            assert!(t.insert(h, vec![], None, false).is_some());
        }
        assert!(
            t.insert(h, vec![], None, false).is_none(),
            "the table is bounded"
        );
        assert_eq!(
            t.take_for_cancel(Some(1), 0, 0)
                .map(|o| o.header.message_id),
            Some(0)
        );
        assert_eq!(t.take_for_cancel(None, 5, 9).map(|o| o.async_id), Some(6));
        assert!(t.take_for_cancel(None, 5, 9).is_none());
        assert_eq!(t.take_session(9).len(), DEFAULT_MAX_PENDING - 2);
        assert!(t.is_empty());
    }
}
