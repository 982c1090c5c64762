//! The connection engine: everything between "a frame arrived" and "these bytes go back",
//! with no socket in sight, so tests drive it with bytes ([`Connection::handle_message`]).
//!
//! The pipeline for one transport frame ([MS-SMB2 3.3.5.2]):
//! ```text
//! frame ─► SMB1 negotiate? ─► split compound ─► for each member:
//!            header ─► credits (3.3.5.2.3) ─► connection state ─► session lookup
//!            ─► signature check (3.3.5.2.4) ─► decode body ─► credit charge (3.3.5.2.5)
//!            ─► dispatch (NEGOTIATE/SESSION_SETUP/LOGOFF/ECHO/CANCEL here, the rest in share)
//!       ─► assemble responses (pad, NextCommand) ─► sign each ─► preauth hash (3.1.1)
//! ```
//! Signing happens in exactly one place ([`compound::assemble`]); handlers never see a key.

pub mod binding;
pub mod breaks;
pub mod clock;
pub mod compound;
pub mod context;
pub mod credits;
pub mod dispatch;
pub mod framing;
pub mod key_log;
pub mod negotiate;
pub mod pending;
pub mod reauth;
pub mod session_setup;
pub mod session_table;
pub mod validate_negotiate;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::header::HEADER_SIZE;
use rsmbd_protocol::messages::Request;
use rsmbd_protocol::messages::negotiate::Dialect;
use rsmbd_protocol::transform::{TRANSFORM_HEADER_SIZE, TransformHeader};
use rsmbd_protocol::{Command, Header, HeaderFlags, HeaderKind, Message, NtStatus};
use rsmbd_share::crypto::encryption;
use rsmbd_share::crypto::{PreauthHash, signing};
use rsmbd_share::oplock::BreakChannel;

use compound::ResponsePart;
use context::ServerContext;

use crate::config::ListenerSection;
use credits::CreditWindow;
use framing::{OutFrame, TRANSPORT_HEADER_SIZE};
use negotiate::Negotiated;
use pending::PendingTable;
use session_setup::{SessionState, Sessions};

/// Why the connection must be closed. The reason is logged once by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect(pub String);

impl std::fmt::Display for Disconnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn disconnect(reason: impl Into<String>) -> Disconnect {
    Disconnect(reason.into())
}

/// One client connection's protocol state ([MS-SMB2 3.3.1.7] Connection).
#[derive(Debug)]
pub struct Connection {
    ctx: Arc<ServerContext>,
    /// The listener the client connected to: its NTLM policy and names.
    listener: Arc<ListenerSection>,
    peer: SocketAddr,
    negotiated: Option<Negotiated>,
    /// Connection.PreauthIntegrityHashValue (3.1.1).
    preauth: PreauthHash,
    sessions: Sessions,
    credits: CreditWindow,
    /// Requests that answered STATUS_PENDING and wait to complete (3.3.4.2).
    pending: PendingTable,
    /// Whole messages to send after the current reply (final async responses).
    outbox: Vec<OutFrame>,
    /// The SessionId of the transform header the frame being processed arrived in
    /// ([MS-SMB2 3.3.5.2.1.1]); `None` for a plaintext frame.
    encrypted_session: Option<u64>,
    /// Encrypt the reply to the frame being processed with this session's key
    /// ([MS-SMB2 3.3.4.1.4]): the whole compound becomes one transform message.
    encrypt_reply: Option<u64>,
    /// The cipher keys of a session LOGOFF just removed: its response is sealed with them.
    logged_off: Option<(u64, Arc<session_setup::SessionCrypto>)>,
    /// Signing keys of this connection's channels whose session ended (a LOGOFF or failed
    /// re-authentication on another channel): STATUS_USER_SESSION_DELETED for them is signed,
    /// as clients holding the session require. The most recent few only.
    ended_channels: Vec<(u64, binding::ChannelKey)>,
    /// Oplock and lease break notifications for this connection's opens, queued by requests
    /// on any connection ([MS-SMB2 3.3.4.6], 3.3.4.7).
    breaks: Arc<BreakChannel>,
    /// A CREATE that went async before the end of its compound: the AsyncId that takes the
    /// rest of the compound ([`PendingTable::set_rest`]).
    defer_to: Option<u64>,
}

/// The state a related compound member inherits from the one before it
/// ([MS-SMB2 3.3.5.2.7.2]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Related {
    session_id: u64,
    tree_id: u32,
    file_id: Option<FileId>,
    /// The error every following related member fails with: a failed CREATE's status, or
    /// INVALID_PARAMETER when there is no valid session to inherit.
    fail: Option<NtStatus>,
}

impl Connection {
    /// A new connection from `peer` on a listener with the default policy (Kerberos only).
    pub fn new(ctx: Arc<ServerContext>, peer: SocketAddr) -> Self {
        let any = SocketAddr::from(([0, 0, 0, 0], 0));
        Self::on_listener(ctx, Arc::new(ListenerSection::plain(any)), peer)
    }

    /// A new connection from `peer` that arrived on `listener`.
    pub fn on_listener(
        ctx: Arc<ServerContext>,
        listener: Arc<ListenerSection>,
        peer: SocketAddr,
    ) -> Self {
        let credits = CreditWindow::new(ctx.config.max_credits);
        Self {
            pending: PendingTable::with_limit(ctx.config.limits.max_async_requests),
            ctx,
            listener,
            peer,
            negotiated: None,
            preauth: PreauthHash::default(),
            sessions: Sessions::new(),
            credits,
            outbox: Vec::new(),
            encrypted_session: None,
            encrypt_reply: None,
            logged_off: None,
            ended_channels: Vec::new(),
            breaks: Arc::new(BreakChannel::new()),
            defer_to: None,
        }
    }

    /// The largest frame this connection accepts: the biggest READ/WRITE payload plus room for
    /// headers, a compound and a transform header around it.
    pub fn frame_limit(&self) -> usize {
        (self.ctx.config.max_io_size as usize).saturating_add(crate::limits::FRAME_HEADROOM)
    }

    /// The largest frame accepted now: until a session is authenticated, a SESSION_SETUP
    /// with the largest SPNEGO token allowed (`limits.max_spnego_token`) plus headroom;
    /// afterwards [`Self::frame_limit`].
    pub fn current_frame_limit(&self) -> usize {
        if self.is_authenticated() {
            self.frame_limit()
        } else {
            self.frame_limit()
                .min(self.ctx.config.limits.unauthenticated_frame_limit())
        }
    }

    /// True while the connection has at least one authenticated session.
    pub fn is_authenticated(&self) -> bool {
        self.sessions
            .values()
            .any(|s| matches!(s, SessionState::Valid(_)))
    }

    /// True while any session of the connection holds an open (the connection is then never
    /// idle: closing it would lose the client's handles).
    pub fn has_open_files(&self) -> bool {
        self.sessions.values().any(|s| match s {
            SessionState::Valid(v) => v.share.open_count() > 0,
            SessionState::InProgress { .. } => false,
        })
    }

    /// The server-wide state this connection serves with.
    pub fn context(&self) -> &Arc<ServerContext> {
        &self.ctx
    }

    /// The client address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The SPNEGO hint for this connection's NEGOTIATE response: NTLMSSP is listed only where
    /// the listener accepts NTLM.
    pub(crate) fn negotiate_hint(&self) -> &[u8] {
        if self.listener.ntlm {
            &self.ctx.negotiate_hint_ntlm
        } else {
            &self.ctx.negotiate_hint
        }
    }

    /// The dialect, once negotiated.
    pub fn dialect(&self) -> Option<Dialect> {
        self.negotiated.as_ref().map(|n| n.dialect)
    }

    /// Handles one transport frame's payload; returns the messages to send back, each in its
    /// own transport frame: the reply to this frame (if any), then final responses of waiting
    /// requests that completed meanwhile.
    pub fn handle_message(&mut self, msg: &mut [u8]) -> Result<Vec<OutFrame>, Disconnect> {
        let mut out = Vec::new();
        if let Some(reply) = self.reply_to(msg)? {
            out.push(reply);
        }
        out.append(&mut self.outbox);
        out.extend(self.poll_pending());
        Ok(out)
    }

    /// True while requests wait to complete: the caller should call [`Self::poll_pending`]
    /// periodically.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Runs waiting requests again; returns the final responses of those that completed, then
    /// any break notifications queued for this connection ([`Self::poll_breaks`]).
    pub fn poll_pending(&mut self) -> Vec<OutFrame> {
        self.prune_ended_sessions();
        let mut done = self.poll_breaks();
        for op in self.pending.take_all() {
            match self.retry(&op) {
                Some((part, file_id)) => {
                    self.encrypt_reply = None;
                    let mut parts = vec![part];
                    if !op.rest.is_empty() {
                        let status = parts.first().map_or(NtStatus::SUCCESS, |p| p.header.status);
                        parts.extend(self.finish_chain(&op, file_id, status));
                    }
                    let encrypt = self
                        .encrypt_reply
                        .or(self.session_encrypts(op.header.session_id));
                    if let Some(out) = self.emit(parts, encrypt) {
                        done.push(out);
                    }
                }
                None => self.pending.put_back(op),
            }
        }
        done
    }

    /// The session whose responses are all encrypted: Session.EncryptData, or a client that
    /// has been encrypting its requests.
    fn session_encrypts(&self, session_id: u64) -> Option<u64> {
        match self.sessions.get(&session_id) {
            Some(SessionState::Valid(v))
                if v.crypto.is_some() && (v.encrypt_data || v.client_encrypts) =>
            {
                Some(session_id)
            }
            _ => None,
        }
    }

    /// Assembles `parts` as one message, encrypted under `encrypt`'s key when given: then the
    /// members are not signed (MS-SMB2 3.3.4.1.1) and the compound is sealed whole, in place
    /// behind a reserved transform header. `None` if sealing failed (the reply is dropped).
    fn emit(&mut self, mut parts: Vec<ResponsePart>, encrypt: Option<u64>) -> Option<OutFrame> {
        let Some(session_id) = encrypt else {
            return Some(OutFrame::seal(
                compound::assemble_with_prefix(parts, TRANSPORT_HEADER_SIZE).0,
            ));
        };
        for p in &mut parts {
            p.sign = None;
        }
        let (mut out, _) =
            compound::assemble_with_prefix(parts, TRANSPORT_HEADER_SIZE + TRANSFORM_HEADER_SIZE);
        self.seal(session_id, &mut out).then(|| OutFrame::seal(out))
    }

    /// Seals an assembled message (transport and transform header room in front) with the
    /// session's encryption key.
    fn seal(&mut self, session_id: u64, out: &mut [u8]) -> bool {
        let Some(out) = out.get_mut(TRANSPORT_HEADER_SIZE..) else {
            return false;
        };
        let crypto = match self.sessions.get(&session_id) {
            Some(SessionState::Valid(v)) => v.crypto.as_ref(),
            _ => self
                .logged_off
                .as_ref()
                .filter(|(id, _)| *id == session_id)
                .map(|(_, c)| c),
        };
        let Some(crypto) = crypto else {
            return false;
        };
        // One nonce sequence per key, whichever channel seals (held for this message only).
        let mut nonces = crypto.nonces.lock().unwrap_or_else(|e| e.into_inner());
        match encryption::seal(&crypto.encrypt, &mut nonces, session_id, out) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(target: "rsmbd::session", "cannot encrypt a response client={} session_id={session_id:#x}: {e}", self.peer);
                false
            }
        }
    }

    /// [MS-SMB2 3.3.5.2.1.1] Decrypts a transform message in place with the DecryptionKey of
    /// the session its header names; anything that does not verify closes the connection.
    fn decrypt_in_place(&mut self, frame: &mut [u8]) -> Result<u64, Disconnect> {
        let header = encryption::peek(frame)
            .map_err(|e| disconnect(format!("encrypted message dropped: {e}")))?;
        let sid = header.session_id;
        let Some(SessionState::Valid(v)) = self.sessions.get_mut(&sid) else {
            return Err(disconnect(format!(
                "encrypted message dropped: no valid session {sid:#x}"
            )));
        };
        let Some(crypto) = v.crypto.as_ref() else {
            return Err(disconnect(format!(
                "encrypted message dropped: session {sid:#x} negotiated no cipher"
            )));
        };
        encryption::open(&crypto.decrypt, frame).map_err(|e| {
            disconnect(format!(
                "encrypted message dropped session_id={sid:#x}: {e}"
            ))
        })?;
        v.client_encrypts = true;
        Ok(sid)
    }

    fn reply_to(&mut self, frame: &mut [u8]) -> Result<Option<OutFrame>, Disconnect> {
        let now = self.ctx.clock.now();
        if rsmbd_protocol::smb1::is_smb1(frame) {
            return self.handle_smb1_negotiate(frame, now).map(Some);
        }
        self.encrypted_session = None;
        self.encrypt_reply = None;
        self.prune_ended_sessions();
        let msg: &mut [u8] = if TransformHeader::is_transform(frame) {
            let sid = self.decrypt_in_place(frame)?;
            self.encrypted_session = Some(sid);
            self.encrypt_reply = Some(sid);
            frame
                .get_mut(TRANSFORM_HEADER_SIZE..)
                .ok_or_else(|| disconnect("transform message without a body"))?
        } else {
            frame
        };
        let members = split_members(msg)?;
        let max_compound = self.ctx.config.limits.max_compound;
        if members.len() > max_compound {
            crate::limits::hit(
                crate::limits::Limit::Compound,
                self.peer,
                format_args!("a compound of {} commands", members.len()),
            );
            return Err(disconnect(format!(
                "compound of {} commands exceeds limits.max_compound = {max_compound}",
                members.len()
            )));
        }
        let mut parts: Vec<ResponsePart> = Vec::with_capacity(members.len());
        let mut after: Vec<AfterAssembly> = Vec::new();
        let mut related: Option<Related> = None;
        let count = members.len();
        for (i, range) in members.iter().enumerate() {
            let Some(member) = msg.get_mut(range.clone()) else {
                return Err(disconnect("compound member out of range"));
            };
            let last = i + 1 == count;
            if let Some((part, post, next_related)) =
                self.process_member(member, related, now, last)?
            {
                related = Some(next_related);
                if let Some(p) = post {
                    after.push(AfterAssembly {
                        index: parts.len(),
                        action: p,
                    });
                }
                parts.push(part);
            }
            if let Some(id) = self.defer_to.take() {
                // The rest waits for the CREATE that went async (3.3.5.2.7).
                let rest = members
                    .iter()
                    .skip(i + 1)
                    .filter_map(|r| msg.get(r.clone()).map(<[u8]>::to_vec))
                    .collect();
                self.pending.set_rest(id, rest, self.encrypted_session);
                break;
            }
        }
        if parts.is_empty() {
            return Ok(None);
        }
        let encrypt = self.encrypt_reply;
        if encrypt.is_some() {
            for p in &mut parts {
                p.sign = None;
            }
        }
        let prefix = TRANSPORT_HEADER_SIZE
            + if encrypt.is_some() {
                TRANSFORM_HEADER_SIZE
            } else {
                0
            };
        let (mut out, ranges) = compound::assemble_with_prefix(parts, prefix);
        for a in after {
            let Some(bytes) = ranges.get(a.index).and_then(|r| out.get(r.clone())) else {
                continue;
            };
            match a.action {
                PostAction::HashNegotiate(request) => {
                    self.preauth.update(&request);
                    self.preauth.update(bytes);
                }
                PostAction::HashSessionResponse(session_id) => {
                    if let Some(SessionState::InProgress { preauth, .. }) =
                        self.sessions.get_mut(&session_id)
                    {
                        preauth.update(bytes);
                    }
                }
            }
        }
        let sealed = encrypt.is_none_or(|sid| self.seal(sid, &mut out));
        self.logged_off = None;
        if !sealed {
            return Err(disconnect("cannot encrypt the response"));
        }
        Ok(Some(OutFrame::seal(out)))
    }

    /// Connection lost ([MS-SMB2 3.3.7.1]): a session whose last channel this was ends; its
    /// durable opens are preserved for a reconnect (`share::durable`, until their timeout),
    /// every other open is closed (delete-on-close runs). One still bound to another
    /// connection lives on there. LOGOFF keeps durable opens too (3.3.5.6); TREE_DISCONNECT and
    /// CLOSE close them.
    pub fn on_disconnect(&mut self) {
        drop(self.pending.take_all());
        let now = std::time::Instant::now();
        let durables = self.ctx.registry.durables();
        for (id, state) in self.sessions.drain() {
            if let SessionState::Valid(v) = state
                && v.global.drop_channel()
            {
                self.ctx.session_table.remove(id);
                if v.global.end() {
                    let kept = durables.disconnect(v.share.take_all(), now);
                    if kept > 0 {
                        tracing::debug!(target: "rsmbd::session", "client={} session_id={id:#x}: {kept} durable open(s) kept for reconnect", self.peer);
                    }
                    self.ctx.status.ended(id);
                }
            }
        }
    }

    /// Connection lost: see [`Self::on_disconnect`].
    pub fn close(&mut self) {
        self.on_disconnect();
    }

    /// Drops this connection's view of sessions that LOGOFF (or a failed re-authentication)
    /// ended on another channel: their requests now get STATUS_USER_SESSION_DELETED.
    fn prune_ended_sessions(&mut self) {
        let ended: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, s)| matches!(s, SessionState::Valid(v) if v.global.is_ended()))
            .map(|(id, _)| *id)
            .collect();
        for id in ended {
            if let Some(SessionState::Valid(v)) = self.sessions.remove(&id) {
                self.remember_ended(id, &v);
            }
            self.pending.forget_session(id);
        }
    }

    /// Keeps the channel key of an ended session for signing STATUS_USER_SESSION_DELETED.
    fn remember_ended(&mut self, id: u64, v: &session_setup::ValidSession) {
        if self.ended_channels.len() >= binding::ENDED_CHANNELS_KEPT {
            self.ended_channels.remove(0);
        }
        self.ended_channels
            .push((id, (v.keys.signing_algorithm, v.keys.signing_key.clone())));
    }

    /// [MS-SMB2 3.3.5.3] SMB1 NEGOTIATE: only as the first message.
    fn handle_smb1_negotiate(
        &mut self,
        msg: &[u8],
        now: SystemTime,
    ) -> Result<OutFrame, Disconnect> {
        if self.negotiated.is_some() {
            return Err(disconnect("SMB1 message after SMB2 negotiation"));
        }
        let smb1 = rsmbd_protocol::smb1::Smb1Negotiate::decode(msg)
            .map_err(|e| disconnect(format!("bad SMB1 negotiate: {e}")))?;
        self.credits
            .consume(0, 1)
            .map_err(|_| disconnect("SMB1 negotiate after other requests"))?;
        let outcome = negotiate::negotiate_smb1(
            &self.ctx,
            smb1.offers_smb2_wildcard(),
            smb1.offers_smb2_002(),
            filetime(now),
        );
        let Some(negotiate::NegotiateOutcome::Negotiated(negotiated, mut response)) = outcome
        else {
            return Err(disconnect(
                "SMB1 negotiate offers no SMB2 dialect we serve (SMB1 is not supported)",
            ));
        };
        if negotiated.dialect != Dialect::SMB2_WILDCARD {
            self.negotiated = Some(*negotiated);
        }
        response.security_buffer = self.negotiate_hint().to_vec().into();
        let mut header = Header::response(Command::NEGOTIATE);
        header.credits = self.credits.grant(1);
        let part = ResponsePart::new(
            header,
            rsmbd_protocol::messages::Response::Negotiate(response),
            None,
        );
        Ok(OutFrame::seal(
            compound::assemble_with_prefix(vec![part], TRANSPORT_HEADER_SIZE).0,
        ))
    }

    /// One compound member (`last`: the final one of its compound): `Ok(None)` when it gets
    /// no response (CANCEL).
    fn process_member(
        &mut self,
        member: &mut [u8],
        related: Option<Related>,
        now: SystemTime,
        last: bool,
    ) -> Result<Option<(ResponsePart, Option<PostAction>, Related)>, Disconnect> {
        let mut header =
            Header::decode(member).map_err(|e| disconnect(format!("bad SMB2 header: {e}")))?;
        if header.flags.has(HeaderFlags::SERVER_TO_REDIR) {
            return Err(disconnect("client sent a response"));
        }
        let is_related = header.flags.has(HeaderFlags::RELATED_OPERATIONS);
        if let Some(sid) = self.encrypted_session
            && !is_related
            && header.session_id != sid
        {
            // 3.3.5.2.1.1: a decrypted message belongs to the session that encrypted it.
            return Err(disconnect(format!(
                "encrypted message for session {sid:#x} carries SessionId {:#x}",
                header.session_id
            )));
        }
        let mut inherited_file = None;
        if is_related {
            let Some(prev) = related else {
                // 3.3.5.2.7.2: nothing to inherit from; as Windows, the member and every
                // related one after it fail with INVALID_PARAMETER (the connection stays).
                let part = self.error_part(&header, NtStatus::INVALID_PARAMETER, true);
                let next = Related {
                    session_id: header.session_id,
                    tree_id: header.tree_id(),
                    file_id: None,
                    fail: Some(NtStatus::INVALID_PARAMETER),
                };
                return Ok(Some((part, None, next)));
            };
            header.session_id = prev.session_id;
            if let HeaderKind::Sync { process_id, .. } = header.kind {
                header.kind = HeaderKind::Sync {
                    process_id,
                    tree_id: prev.tree_id,
                };
            }
            // 3.3.5.2.7.2: a failed CREATE fails the rest of the chain the same way (other
            // failures do not: the handle is still there, as on Windows).
            if let Some(status) = prev.fail {
                let part = self.error_part(&header, status, true);
                return Ok(Some((part, None, prev)));
            }
            inherited_file = prev.file_id;
        }

        // Credits (3.3.5.2.3). CANCEL consumes none and gets no answer of its own; the request
        // it names completes with STATUS_CANCELLED (3.3.5.16).
        if header.command == Command::CANCEL {
            if let Some(op) = self.pending.take_for_cancel(
                header.async_id(),
                header.message_id,
                header.session_id,
            ) {
                let part = self.final_part(&op, NtStatus::CANCELLED, dispatch::error_body());
                let encrypt = self.session_encrypts(op.header.session_id);
                if let Some(out) = self.emit(vec![part], encrypt) {
                    self.outbox.push(out);
                }
            }
            return Ok(None);
        }
        let large_mtu = self.negotiated.as_ref().is_some_and(|n| {
            n.server_capabilities & rsmbd_protocol::messages::negotiate::Capabilities::LARGE_MTU
                != 0
        });
        let charge = if large_mtu {
            header.credit_charge.max(1)
        } else {
            1
        };
        self.credits
            .consume(header.message_id, charge)
            .map_err(|e| {
                disconnect(format!(
                    "MessageId {} (charge {}) outside the credit window",
                    e.message_id, e.charge
                ))
            })?;

        // Connection state (3.3.5.2.1 / 3.3.5.3.1).
        match (&self.negotiated, header.command) {
            (None, Command::NEGOTIATE) => {}
            (None, c) => return Err(disconnect(format!("{c:?} before NEGOTIATE"))),
            (Some(_), Command::NEGOTIATE) => {
                return Err(disconnect("second NEGOTIATE on a negotiated connection"));
            }
            (Some(_), _) => {}
        }

        let raw_for_preauth = (header.command == Command::NEGOTIATE).then(|| member.to_vec());
        let mut outcome =
            dispatch::dispatch(self, &mut header, member, is_related, inherited_file, now)?;
        if outcome.status == NtStatus::PENDING && !last && header.command != Command::CREATE {
            // 3.3.5.2.7 (<206>/<207>, as Windows and Samba do): only the last member of a
            // compound may go async (and a CREATE waiting for an oplock break); any other
            // would leave the rest of the chain without its handle, so it fails at once.
            outcome.status = NtStatus::INTERNAL_ERROR;
            outcome.body = dispatch::error_body();
        }
        if outcome.status == NtStatus::PENDING {
            // 3.3.4.2: answer now with an interim response, finish later.
            let signed = header.flags.has(HeaderFlags::SIGNED);
            match self
                .pending
                .insert(header, member.to_vec(), inherited_file, signed)
            {
                Some(async_id) => {
                    if !last {
                        self.defer_to = Some(async_id);
                    }
                    let mut interim = self.response_header(&header, NtStatus::PENDING, is_related);
                    interim.kind = HeaderKind::Async { async_id };
                    let body = dispatch::error_body();
                    let part = ResponsePart::new(interim, body, None);
                    let next = Related {
                        session_id: header.session_id,
                        tree_id: header.tree_id(),
                        file_id: inherited_file,
                        fail: None,
                    };
                    return Ok(Some((part, None, next)));
                }
                None => {
                    crate::limits::hit(
                        crate::limits::Limit::AsyncRequests,
                        self.peer,
                        format_args!("{:?} would wait behind the full table", header.command),
                    );
                    outcome.status = NtStatus::INSUFFICIENT_RESOURCES;
                    outcome.body = dispatch::error_body();
                }
            }
        }
        let mut post = None;
        if let Some(req) = raw_for_preauth
            && self.dialect() == Some(Dialect::SMB3_1_1)
            && outcome.status == NtStatus::SUCCESS
        {
            post = Some(PostAction::HashNegotiate(req));
        }
        if outcome.hash_session_response {
            post = Some(PostAction::HashSessionResponse(outcome.session_id));
        }
        header.session_id = outcome.session_id;
        if let (Some(tree_id), HeaderKind::Sync { process_id, .. }) = (outcome.tree_id, header.kind)
        {
            header.kind = HeaderKind::Sync {
                process_id,
                tree_id,
            };
        }
        let next_related = Related {
            session_id: header.session_id,
            tree_id: header.tree_id(),
            file_id: outcome.file_id.or(inherited_file),
            fail: chain_failure(header.command, outcome.status),
        };
        let mut response_header = self.response_header(&header, outcome.status, is_related);
        response_header.session_id = outcome.session_id;
        let part = ResponsePart {
            header: response_header,
            body: outcome.body,
            sign: outcome.sign,
            payload: outcome.payload,
        };
        Ok(Some((part, post, next_related)))
    }

    /// The response header for a request: same command, MessageId, ids; credits granted now.
    fn response_header(&mut self, req: &Header, status: NtStatus, related: bool) -> Header {
        let mut h = Header::response(req.command);
        h.status = status;
        h.message_id = req.message_id;
        h.session_id = req.session_id;
        h.kind = req.kind;
        h.credit_charge = req.credit_charge;
        h.credits = self.credits.grant(req.credits);
        h.flags = h.flags.with(HeaderFlags::RELATED_OPERATIONS, related);
        h
    }

    /// An ERROR response for `req`, signed when the session is.
    fn error_part(&mut self, req: &Header, status: NtStatus, related: bool) -> ResponsePart {
        let header = self.response_header(req, status, related);
        let sign = self.signing_for(req.session_id, req.flags.has(HeaderFlags::SIGNED));
        ResponsePart::new(header, dispatch::error_body(), sign)
    }

    /// The key to sign a response with: the session's, when it is valid and either the request
    /// was signed or the session requires signing (MS-SMB2 3.3.4.1.1).
    fn signing_for(
        &self,
        session_id: u64,
        request_signed: bool,
    ) -> Option<(
        rsmbd_share::crypto::SigningAlgorithm,
        zeroize::Zeroizing<[u8; 16]>,
    )> {
        match self.sessions.get(&session_id) {
            Some(SessionState::Valid(v)) if request_signed || v.signing_required => {
                Some((v.keys.signing_algorithm, v.keys.signing_key.clone()))
            }
            _ => None,
        }
    }

    /// Verifies a request's signature against its session (3.3.5.2.4).
    fn verify(&self, session_id: u64, member: &mut [u8]) -> bool {
        match self.sessions.get(&session_id) {
            Some(SessionState::Valid(v)) => {
                signing::verify(v.keys.signing_algorithm, &v.keys.signing_key, member)
            }
            _ => false,
        }
    }
}

/// What a member's failure means for the related members after it ([MS-SMB2 3.3.5.2.7.2]):
/// a failed CREATE leaves no handle, so they fail alike; a member whose session was not
/// found leaves no session to inherit, so they are invalid. Any other failure (a WRITE on a
/// read-only handle) leaves the chain intact.
pub(super) fn chain_failure(command: Command, status: NtStatus) -> Option<NtStatus> {
    match status {
        NtStatus::USER_SESSION_DELETED => Some(NtStatus::INVALID_PARAMETER),
        s if command == Command::CREATE && s.is_error() => Some(s),
        _ => None,
    }
}

/// Work that needs the assembled response bytes.
#[derive(Debug)]
enum PostAction {
    /// 3.1.1 NEGOTIATE: hash the request, then the response, into the connection's hash.
    HashNegotiate(Vec<u8>),
    /// 3.1.1 non-final SESSION_SETUP response: hash it into the session's hash.
    HashSessionResponse(u64),
}

#[derive(Debug)]
struct AfterAssembly {
    index: usize,
    action: PostAction,
}

/// Splits a frame into compound members ([MS-SMB2 3.3.5.2.7]), rejecting loops, misaligned or
/// out-of-range NextCommand values.
fn split_members(frame: &[u8]) -> Result<Vec<std::ops::Range<usize>>, Disconnect> {
    let base = frame.as_ptr() as usize;
    rsmbd_protocol::compound::split_compound(frame)
        .map(|m| {
            let m = m.map_err(|e| disconnect(format!("bad compound chain: {e}")))?;
            let start = m.as_ptr() as usize - base;
            Ok(start..start + m.len())
        })
        .collect()
}

/// The current time as a FILETIME (100 ns since 1601).
pub fn filetime(t: SystemTime) -> u64 {
    const EPOCH_DIFF_SECS: u64 = 11_644_473_600;
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => (d.as_secs() + EPOCH_DIFF_SECS) * 10_000_000 + u64::from(d.subsec_nanos() / 100),
        Err(_) => 0,
    }
}

/// Requests whose body must be decoded before anything else: used by tests.
pub fn decode_request<'a>(command: Command, member: &'a [u8]) -> Result<Request<'a>, NtStatus> {
    if member.len() < HEADER_SIZE {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    Request::decode(command, Message::new(member)).map_err(|_| NtStatus::INVALID_PARAMETER)
}
