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
use rsmbd_protocol::{Command, Header, HeaderKind, NtStatus};

use super::compound::ResponsePart;
use super::{Connection, Related, chain_failure, dispatch};

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
    /// The compound members that followed a CREATE that went async before the end of its
    /// compound (waiting for an oplock break): they run when it completes ([`Connection::finish_chain`]).
    pub rest: Vec<Vec<u8>>,
    /// The session whose transform header the compound came in, if it was encrypted.
    pub encrypted_session: Option<u64>,
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
            rest: Vec::new(),
            encrypted_session: None,
        });
        Some(async_id)
    }

    /// Gives the request `async_id` the compound members that follow it.
    pub fn set_rest(&mut self, async_id: u64, rest: Vec<Vec<u8>>, encrypted: Option<u64>) {
        if let Some(op) = self.ops.iter_mut().find(|op| op.async_id == async_id) {
            op.rest = rest;
            op.encrypted_session = encrypted;
        }
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

impl Connection {
    /// Runs a waiting request again: `None` while it still waits.
    /// With it, the FileId a CREATE opened (for the related members that follow it).
    pub(super) fn retry(&mut self, op: &PendingOp) -> Option<(ResponsePart, Option<FileId>)> {
        let (status, body) = match dispatch::rerun(self, op) {
            Err(NtStatus::PENDING) => return None,
            Ok((status, body)) => (status, body),
            Err(status) => ended_wait(op.header.command, status),
        };
        let file_id = match &body {
            Response::Create(c) if !status.is_error() => Some(c.file_id),
            _ => None,
        };
        Some((self.final_part(op, status, body), file_id))
    }

    /// [MS-SMB2 3.3.4.3/3.3.4.4] The final response of an async request: AsyncId set,
    /// CreditResponse 0 (the interim response granted the credits), signed like the request.
    pub(super) fn final_part(
        &self,
        op: &PendingOp,
        status: NtStatus,
        body: Response<'static>,
    ) -> ResponsePart {
        let mut h = Header::response(op.header.command);
        h.status = status;
        h.message_id = op.header.message_id;
        h.session_id = op.header.session_id;
        h.kind = HeaderKind::Async {
            async_id: op.async_id,
        };
        h.credit_charge = op.header.credit_charge;
        h.credits = 0;
        ResponsePart::new(h, body, self.signing_for(op.header.session_id, op.signed))
    }

    /// LOGOFF ([MS-SMB2 3.3.5.6]): the session's waiting requests get their final answers
    /// now (see [`ended_wait`]), signed and sealed while its keys are still here;
    /// they leave after the LOGOFF response.
    pub(super) fn end_session_waits(&mut self, session_id: u64) {
        for op in self.pending.take_session(session_id) {
            let (status, body) = ended_wait(op.header.command, NtStatus::USER_SESSION_DELETED);
            let part = self.final_part(&op, status, body);
            let encrypt = self.session_encrypts(session_id);
            if let Some(out) = self.emit(vec![part], encrypt) {
                self.outbox.push(out);
            }
        }
    }

    /// [MS-SMB2 3.3.5.2.7] The members that followed a CREATE that went async in the middle of
    /// a compound, run now that it completed, with the session, tree and FileId it leaves
    /// (or its failure); their responses go in one compound behind its final response, as
    /// Samba sends them. A member that would wait again defers the rest the same way.
    pub(super) fn finish_chain(
        &mut self,
        op: &PendingOp,
        file_id: Option<FileId>,
        status: NtStatus,
    ) -> Vec<ResponsePart> {
        let now = self.ctx.clock.now();
        let saved = self.encrypted_session;
        self.encrypted_session = op.encrypted_session;
        let mut related = Some(Related {
            session_id: op.header.session_id,
            tree_id: op.header.tree_id(),
            file_id,
            fail: chain_failure(Command::CREATE, status),
        });
        let mut parts = Vec::new();
        let count = op.rest.len();
        for (i, bytes) in op.rest.iter().enumerate() {
            let mut member = bytes.clone();
            match self.process_member(&mut member, related, now, i + 1 == count) {
                Ok(Some((part, _, next))) => {
                    related = Some(next);
                    parts.push(part);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(target: "rsmbd::wire", "rest of a compound dropped client={}: {e}", self.peer);
                    break;
                }
            }
            if let Some(id) = self.defer_to.take() {
                let rest = op.rest.iter().skip(i + 1).cloned().collect();
                self.pending.set_rest(id, rest, op.encrypted_session);
                break;
            }
        }
        self.encrypted_session = saved;
        parts
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
    const GONE: [NtStatus; 2] = [
        NtStatus::NETWORK_NAME_DELETED,
        NtStatus::USER_SESSION_DELETED,
    ];
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
