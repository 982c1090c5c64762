//! [MS-SMB2 3.3.5.2.9] Dispatch: the checks every request passes before its handler (session,
//! signature, structure, credit charge), and the one `match` that sends each command to its
//! handler. Connection-level commands are handled here; tree-scoped ones in `rsmbd_share`.

use std::time::SystemTime;

use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::messages::error::ErrorResponse;
use rsmbd_protocol::messages::ioctl::{FsctlCode, IoctlFlags};
use rsmbd_protocol::messages::negotiate::Dialect;
use rsmbd_protocol::messages::oplock_break::{OplockBreakRequest, OplockBreakResponse};
use rsmbd_protocol::messages::read::ReadResponse;
use rsmbd_protocol::messages::tree_connect::ShareFlags;
use rsmbd_protocol::messages::{Request, Response};
use rsmbd_protocol::transform::TRANSFORM_HEADER_SIZE;
use rsmbd_protocol::{Command, Header, HeaderFlags, Message, NtStatus};
use rsmbd_share::crypto::SigningAlgorithm;
use rsmbd_share::handlers::read::{ReadOutput, ReadPayload};
use rsmbd_share::handlers::{self, HandlerResult, Reply, TreeCx};
use rsmbd_share::oplock::ClientLink;
use zeroize::Zeroizing;

use super::compound::READ_HEADERS;
use super::framing::TRANSPORT_HEADER_SIZE;

use super::negotiate::{self, NegotiateOutcome};
use super::reauth;
use super::session_setup::{self, SessionState, SetupInput};
use super::{Connection, Disconnect, disconnect, filetime, validate_negotiate};

/// What a request produced.
#[derive(Debug)]
pub struct Outcome {
    /// Header status.
    pub status: NtStatus,
    /// Response body (an ERROR body for errors).
    pub body: Response<'static>,
    /// Signing key, if the response is signed.
    pub sign: Option<(SigningAlgorithm, Zeroizing<[u8; 16]>)>,
    /// SessionId for the response header.
    pub session_id: u64,
    /// TreeId for the response header, when the command set one (TREE_CONNECT).
    pub tree_id: Option<u32>,
    /// FileId the next related member inherits (CREATE's new handle, or the one used).
    pub file_id: Option<FileId>,
    /// 3.1.1 SESSION_SETUP leg whose response goes into the session's preauth hash.
    pub hash_session_response: bool,
    /// A READ's data, to be sent from the buffer it was read into.
    pub payload: Option<ReadPayload>,
}

/// The 9-byte ERROR body with no context data (MS-SMB2 2.2.2).
pub fn error_body() -> Response<'static> {
    Response::Error(ErrorResponse::default())
}

/// Dispatches one decoded-header request.
pub fn dispatch(
    conn: &mut Connection,
    header: &mut Header,
    member: &mut [u8],
    related: bool,
    inherited_file: Option<FileId>,
    now: SystemTime,
) -> Result<Outcome, Disconnect> {
    let signed = header.flags.has(HeaderFlags::SIGNED);
    let session_id = header.session_id;
    let fail = |conn: &Connection, status: NtStatus| Outcome {
        status,
        body: error_body(),
        sign: conn.signing_for(session_id, signed),
        session_id,
        tree_id: None,
        file_id: None,
        hash_session_response: false,
        payload: None,
    };

    match header.command {
        Command::NEGOTIATE => return Ok(handle_negotiate(conn, member, now)),
        Command::SESSION_SETUP => {
            return Ok(handle_session_setup(conn, header, member, signed, now));
        }
        Command::ECHO if session_id == 0 => {
            // ECHO needs no session (3.3.5.16).
            return Ok(ok(Response::Echo(Default::default()), session_id, None));
        }
        _ => {}
    }

    // Every other command runs inside a valid session (3.3.5.2.9).
    let (signing_required, valid, session_encrypt) = match conn.sessions.get(&session_id) {
        Some(SessionState::Valid(v)) => (v.signing_required, true, v.encrypt_data),
        _ => (false, false, false),
    };
    if !valid {
        return Ok(Outcome {
            sign: super::binding::foreign_session_key(conn, session_id),
            ..fail(conn, NtStatus::USER_SESSION_DELETED)
        });
    }
    let encrypted = conn.encrypted_session.is_some();
    let reject_unencrypted = conn.ctx.config.reject_unencrypted;
    // 3.3.5.2.9: Session.EncryptData with RejectUnencryptedAccess refuses plaintext requests.
    if session_encrypt && !encrypted && reject_unencrypted {
        tracing::warn!(target: "rsmbd::session", "unencrypted request on an encrypting session refused client={} session_id={session_id:#x} command={:?}", conn.peer, header.command);
        return Ok(fail(conn, NtStatus::ACCESS_DENIED));
    }
    if let Some(sid) = conn.session_encrypts(session_id) {
        conn.encrypt_reply = Some(sid);
    }
    // Signatures (3.3.5.2.4): a signed request must verify; a signing-required session
    // accepts nothing unsigned. An encrypted request is authenticated by its AEAD tag instead.
    if encrypted {
        // Authenticated by the AEAD tag (3.3.5.2.4 applies to unencrypted requests).
    } else if signed {
        if !conn.verify(session_id, member) {
            tracing::warn!(target: "rsmbd::session", "bad signature client={} session_id={session_id:#x} command={:?} message_id={}", conn.peer, header.command, header.message_id);
            return Ok(fail(conn, NtStatus::ACCESS_DENIED));
        }
    } else if signing_required {
        tracing::warn!(target: "rsmbd::session", "unsigned request on a signing-required session client={} command={:?}", conn.peer, header.command);
        return Ok(fail(conn, NtStatus::ACCESS_DENIED));
    } else if header.command == Command::TREE_CONNECT && conn.dialect() == Some(Dialect::SMB3_1_1) {
        // 3.3.5.7: in 3.1.1 an unsigned TREE_CONNECT from an authenticated user means the
        // final SESSION_SETUP response was not verified: a possible downgrade.
        return Err(disconnect(
            "unsigned TREE_CONNECT on an authenticated 3.1.1 session",
        ));
    }

    let mut request = match Request::decode(header.command, Message::new(member)) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(target: "rsmbd::wire", "malformed {:?} from {}: {e}", header.command, conn.peer);
            return Ok(fail(conn, NtStatus::INVALID_PARAMETER));
        }
    };
    // 3.3.5.2.9: past the ticket's endtime only LOGOFF, CLOSE, unlocking and ECHO go on.
    let peer = conn.peer;
    if let Some(SessionState::Valid(v)) = conn.sessions.get_mut(&session_id)
        && reauth::is_expired(v, now)
        && !reauth::allowed_when_expired(&request)
    {
        reauth::note_expired(v, peer, session_id, header.command, now);
        return Ok(fail(conn, NtStatus::NETWORK_SESSION_EXPIRED));
    }
    if let Err(status) = check_credit_charge(conn, header, &request) {
        return Ok(fail(conn, status));
    }
    if related {
        substitute_file_id(&mut request, inherited_file);
    }
    if let Request::QueryDirectory(r) = &mut request {
        // A server may return fewer entries than fit (MS-SMB2 3.3.5.18): bound the work and
        // the buffer one request can ask for.
        r.output_buffer_length = r
            .output_buffer_length
            .min(conn.ctx.config.limits.max_query_directory_output);
    }
    let file_id = request_file_id(&request);
    let sign = conn.signing_for(session_id, signed);
    let finish = |result: Result<(NtStatus, Response<'static>), NtStatus>,
                  tree_id,
                  new_file: Option<FileId>| match result {
        Ok((status, body)) => Outcome {
            status,
            body,
            sign: sign.clone(),
            session_id,
            tree_id,
            file_id: new_file.or(file_id),
            hash_session_response: false,
            payload: None,
        },
        Err(status) => Outcome {
            status,
            body: error_body(),
            sign: sign.clone(),
            session_id,
            tree_id: None,
            file_id: None,
            hash_session_response: false,
            payload: None,
        },
    };

    let Some(SessionState::Valid(valid)) = conn.sessions.get(&session_id) else {
        return Ok(fail(conn, NtStatus::USER_SESSION_DELETED));
    };
    let session = valid.share.clone();
    let tree_id = header.tree_id();

    // Connection-scoped commands.
    match &request {
        Request::Logoff(_) => {
            // 3.3.5.6: durable opens are kept for a reconnect (share::durable), everything
            // else is closed; then answer (signed with the key still in hand). On any channel
            // it ends the session everywhere (the others prune it).
            conn.ctx
                .registry
                .durables()
                .disconnect(session.take_all(), std::time::Instant::now());
            conn.end_session_waits(session_id);
            conn.ctx.session_table.remove(session_id);
            if let Some(SessionState::Valid(v)) = conn.sessions.remove(&session_id) {
                v.global.end();
                // The LOGOFF response is still encrypted with the session's key.
                conn.logged_off = v.crypto.map(|c| (session_id, c));
            }
            conn.ctx.status.ended(session_id);
            tracing::info!(target: "rsmbd::session", "logoff client={} session_id={session_id:#x} principal={}", conn.peer, session.identity().principal);
            return Ok(finish(
                Ok((NtStatus::SUCCESS, Response::Logoff(Default::default()))),
                None,
                None,
            ));
        }
        Request::Echo(_) => {
            return Ok(finish(
                Ok((NtStatus::SUCCESS, Response::Echo(Default::default()))),
                None,
                None,
            ));
        }
        Request::TreeConnect(req) => {
            let r =
                run_blocking(|| handlers::tree_connect::handle(&session, &conn.ctx.registry, req));
            return Ok(match r {
                Ok(Reply {
                    body: (id, body), ..
                }) if body.share_flags & ShareFlags::ENCRYPT_DATA != 0
                    && reject_unencrypted
                    && conn.negotiated.as_ref().and_then(|n| n.cipher).is_none() =>
                {
                    // 3.3.5.7: a client that cannot encrypt is refused an encrypting share.
                    let _ = handlers::tree_disconnect::handle(&session, id);
                    tracing::warn!(target: "rsmbd::session", "tree connect refused client={} path={} reason=\"share requires encryption and the connection negotiated no cipher\"", conn.peer, req.path);
                    finish(Err(NtStatus::ACCESS_DENIED), None, None)
                }
                Ok(Reply {
                    status,
                    body: (id, body),
                }) => {
                    if let Some((host, _)) = handlers::tree_connect::split_unc(&req.path) {
                        conn.ctx.status.tree_connected(session_id, host);
                    }
                    finish(Ok((status, Response::TreeConnect(body))), Some(id), None)
                }
                Err(status) => {
                    note_share_limit(conn, &request, status);
                    finish(Err(status), None, None)
                }
            });
        }
        Request::Ioctl(req)
            if req.ctl_code == validate_negotiate::FSCTL_VALIDATE_NEGOTIATE_INFO =>
        {
            let Some(negotiated) = conn.negotiated.as_ref() else {
                return Err(disconnect("VALIDATE_NEGOTIATE_INFO before NEGOTIATE"));
            };
            // An encrypted request is as authenticated as a signed one (MS-SMB2 3.3.5.15.12).
            let body = validate_negotiate::handle(&conn.ctx, negotiated, req, signed || encrypted)?;
            return Ok(finish(
                Ok((NtStatus::SUCCESS, Response::Ioctl(body))),
                None,
                None,
            ));
        }
        _ => {}
    }

    // Tree-scoped commands (3.3.5.2.11): the tree connect must exist in this session.
    let Some(tree) = session.tree(tree_id) else {
        return Ok(fail(conn, NtStatus::NETWORK_NAME_DELETED));
    };
    if tree.share.config.encrypt_data {
        // 3.3.5.2.11: TreeConnect.Share.EncryptData with RejectUnencryptedAccess.
        if !encrypted && reject_unencrypted {
            tracing::warn!(target: "rsmbd::session", "unencrypted request on an encrypting share refused client={} session_id={session_id:#x} share={} command={:?}", conn.peer, tree.share.config.name, header.command);
            return Ok(fail(conn, NtStatus::ACCESS_DENIED));
        }
        if conn
            .sessions
            .get(&session_id)
            .is_some_and(|s| matches!(s, SessionState::Valid(v) if v.crypto.is_some()))
        {
            conn.encrypt_reply = Some(session_id);
        }
    }
    let cx = TreeCx {
        session,
        tree,
        client: ClientLink {
            replay: header.flags.has(HeaderFlags::REPLAY_OPERATION),
            ..conn.client_link()
        },
        retry: false,
    };
    if let Request::Ioctl(r) = &request
        && r.ctl_code == FsctlCode::QUERY_NETWORK_INTERFACE_INFO.0
        && r.flags & IoctlFlags::IS_FSCTL != 0
    {
        // 3.3.5.15.11: the listener addresses; only this crate knows them (and procfs).
        let addrs: Vec<_> = conn
            .ctx
            .config
            .listeners()
            .iter()
            .map(|l| l.address)
            .collect();
        let list = run_blocking(|| crate::interfaces::for_listeners(&addrs));
        let result = handlers::ioctl::network_interface_info::handle(r, &list)
            .map(|body| (NtStatus::SUCCESS, Response::Ioctl(body)));
        return Ok(finish(result, None, None));
    }
    if let Request::Read(r) = &request {
        // The data is read into the buffer it is sent from, behind room for every header
        // (3.3.5.12); only a pipe's (small) data travels in the body.
        let room = TRANSPORT_HEADER_SIZE
            + conn.encrypt_reply.map_or(0, |_| TRANSFORM_HEADER_SIZE)
            + READ_HEADERS;
        return Ok(
            match run_blocking(|| handlers::read::handle_into(&cx, r, room)) {
                Ok(ReadOutput::Payload(payload)) => {
                    let body = Response::Read(ReadResponse {
                        data_remaining: 0,
                        data: Default::default(),
                    });
                    let mut outcome = finish(Ok((NtStatus::SUCCESS, body)), None, None);
                    outcome.payload = Some(payload);
                    outcome
                }
                Ok(ReadOutput::Response(Reply { status, body })) => {
                    finish(Ok((status, Response::Read(body))), None, None)
                }
                Err(status) => finish(Err(status), None, None),
            },
        );
    }
    let result = run_blocking(|| tree_command(&cx, &request));
    if let Err(status) = &result {
        note_share_limit(conn, &request, *status);
    }
    let new_file = match &result {
        Ok((_, Response::Create(c))) => Some(c.file_id),
        _ => None,
    };
    Ok(finish(result, None, new_file))
}

/// Runs a waiting request again (3.3.4.2): the session, tree and open are looked up afresh,
/// since any of them may have gone while it waited.
pub(super) fn rerun(
    conn: &Connection,
    op: &super::pending::PendingOp,
) -> Result<(NtStatus, Response<'static>), NtStatus> {
    let Some(SessionState::Valid(valid)) = conn.sessions.get(&op.header.session_id) else {
        return Err(NtStatus::USER_SESSION_DELETED);
    };
    let tree = valid
        .share
        .tree(op.header.tree_id())
        .ok_or(NtStatus::NETWORK_NAME_DELETED)?;
    let mut request = Request::decode(op.header.command, Message::new(&op.request))
        .map_err(|_| NtStatus::INVALID_PARAMETER)?;
    substitute_file_id(&mut request, op.inherited_file);
    let cx = TreeCx {
        session: valid.share.clone(),
        tree,
        client: ClientLink {
            replay: op.header.flags.has(HeaderFlags::REPLAY_OPERATION),
            ..conn.client_link()
        },
        retry: true,
    };
    run_blocking(|| tree_command(&cx, &request))
}

/// Runs a tree-scoped command in the share layer.
fn tree_command(
    cx: &TreeCx,
    request: &Request<'_>,
) -> Result<(NtStatus, Response<'static>), NtStatus> {
    fn map<T>(
        r: HandlerResult<T>,
        wrap: impl FnOnce(T) -> Response<'static>,
    ) -> Result<(NtStatus, Response<'static>), NtStatus> {
        r.map(|Reply { status, body }| (status, wrap(body)))
    }
    match request {
        Request::TreeDisconnect(_) => map(
            handlers::tree_disconnect::handle(&cx.session, cx.tree.id),
            Response::TreeDisconnect,
        ),
        Request::Create(r) => map(handlers::create::handle(cx, r), Response::Create),
        Request::Close(r) => map(handlers::close::handle(cx, r), Response::Close),
        Request::Flush(r) => map(handlers::flush::handle(cx, r), Response::Flush),
        Request::Read(r) => map(handlers::read::handle(cx, r), Response::Read),
        Request::Write(r) => map(handlers::write::handle(cx, r), Response::Write),
        Request::Lock(r) => map(handlers::lock::handle(cx, r), Response::Lock),
        Request::Ioctl(r) => map(handlers::ioctl::handle(cx, r), Response::Ioctl),
        Request::QueryDirectory(r) => map(
            handlers::query_directory::handle(cx, r),
            Response::QueryDirectory,
        ),
        Request::ChangeNotify(r) => map(
            handlers::change_notify::handle(cx, r),
            Response::ChangeNotify,
        ),
        Request::QueryInfo(r) => map(handlers::query_info::handle(cx, r), Response::QueryInfo),
        Request::SetInfo(r) => map(handlers::set_info::handle(cx, r), Response::SetInfo),
        Request::OplockBreak(OplockBreakRequest::Oplock(r)) => {
            map(handlers::oplock_break::handle(cx, r), |b| {
                Response::OplockBreak(OplockBreakResponse::Oplock(b))
            })
        }
        Request::OplockBreak(OplockBreakRequest::Lease(r)) => {
            map(handlers::oplock_break::handle_lease(cx, r), |b| {
                Response::OplockBreak(OplockBreakResponse::Lease(b))
            })
        }
        // Connection-level commands never reach here.
        Request::Negotiate(_)
        | Request::SessionSetup(_)
        | Request::Logoff(_)
        | Request::TreeConnect(_)
        | Request::Cancel(_)
        | Request::Echo(_) => Err(NtStatus::INVALID_PARAMETER),
    }
}

/// [MS-SMB2 3.3.5.4] NEGOTIATE.
fn handle_negotiate(conn: &mut Connection, member: &[u8], now: SystemTime) -> Outcome {
    let outcome = match Request::decode(Command::NEGOTIATE, Message::new(member)) {
        Ok(Request::Negotiate(req)) => negotiate::negotiate(&conn.ctx, &req, filetime(now)),
        _ => NegotiateOutcome::Refused(NtStatus::INVALID_PARAMETER),
    };
    match outcome {
        NegotiateOutcome::Negotiated(negotiated, mut response) => {
            response.security_buffer = conn.negotiate_hint().to_vec().into();
            tracing::debug!(target: "rsmbd::negotiate", "client={} dialect={:?} signing={:?} netname={:?}", conn.peer, negotiated.dialect, negotiated.signing_algorithm, negotiated.netname);
            conn.negotiated = Some(*negotiated);
            ok(Response::Negotiate(response), 0, None)
        }
        NegotiateOutcome::Refused(status) => {
            tracing::info!(target: "rsmbd::negotiate", "negotiate refused client={} status={status:?}", conn.peer);
            Outcome {
                status,
                body: error_body(),
                sign: None,
                session_id: 0,
                tree_id: None,
                file_id: None,
                hash_session_response: false,
                payload: None,
            }
        }
    }
}

/// [MS-SMB2 3.3.5.5] SESSION_SETUP.
fn handle_session_setup(
    conn: &mut Connection,
    header: &Header,
    member: &mut [u8],
    signed: bool,
    now: SystemTime,
) -> Outcome {
    let error = |status, session_id| Outcome {
        status,
        body: error_body(),
        sign: None,
        session_id,
        tree_id: None,
        file_id: None,
        hash_session_response: false,
        payload: None,
    };
    // SMB2_SESSION_FLAG_BINDING (byte 2 of the body): a new channel for a session of any
    // connection (3.3.5.5), verified against the global session table.
    let flags = member
        .get(rsmbd_protocol::header::HEADER_SIZE + 2)
        .copied()
        .unwrap_or(0);
    if flags & session_setup::FLAG_BINDING != 0 {
        return super::binding::handle(conn, header, member, signed, now);
    }
    // A re-authentication arrives on an established session: it is signed like any request
    // of that session (3.3.5.2.4), unless it came encrypted. On a bound channel an unsigned
    // one is authenticated first (a failure ends the session as anywhere, 3.3.5.5.3) and then
    // refused with STATUS_ACCESS_DENIED, as Windows and Samba answer (smbtorture
    // bind_negative_smb3signCtoH*, bind_invalid_auth).
    let mut unsigned_channel_reauth = false;
    if let Some(SessionState::Valid(v)) = conn.sessions.get(&header.session_id)
        && conn.encrypted_session.is_none()
    {
        unsigned_channel_reauth = !signed && v.bound;
        let refuse = if signed {
            !conn.verify(header.session_id, member)
        } else {
            v.signing_required && !v.bound
        };
        if refuse {
            tracing::warn!(target: "rsmbd::session", "re-authentication refused client={} session_id={:#x} reason=\"{} SESSION_SETUP on a signed session\"", conn.peer, header.session_id, if signed { "badly signed" } else { "unsigned" });
            return Outcome {
                sign: conn.signing_for(header.session_id, signed),
                ..error(NtStatus::ACCESS_DENIED, header.session_id)
            };
        }
    }
    let req = match Request::decode(Command::SESSION_SETUP, Message::new(member)) {
        Ok(Request::SessionSetup(req)) => req,
        _ => return error(NtStatus::INVALID_PARAMETER, header.session_id),
    };
    let Some(negotiated) = conn.negotiated.as_ref() else {
        return error(NtStatus::INVALID_PARAMETER, 0);
    };
    if let Err(status) = check_session_limits(conn, header, &req) {
        return error(status, header.session_id);
    }
    let input = SetupInput {
        ctx: &conn.ctx,
        negotiated,
        connection_preauth: &conn.preauth,
        peer: conn.peer,
        listener: &conn.listener,
        session_id: header.session_id,
        raw: member,
        now,
    };
    let reply = session_setup::handle(input, &mut conn.sessions, &req);
    if reply.end_session {
        end_session(conn, reply.session_id);
    }
    if unsigned_channel_reauth && reply.status == NtStatus::SUCCESS {
        tracing::warn!(target: "rsmbd::session", "re-authentication refused client={} session_id={:#x} reason=\"unsigned SESSION_SETUP on a bound channel\"", conn.peer, header.session_id);
        return error(NtStatus::ACCESS_DENIED, header.session_id);
    }
    if reply.status == NtStatus::SUCCESS
        && req.previous_session_id != 0
        && req.previous_session_id != reply.session_id
    {
        end_previous_session(conn, req.previous_session_id, reply.session_id);
    }
    let sign = if reply.sign {
        match conn.sessions.get(&reply.session_id) {
            Some(SessionState::Valid(v)) => {
                Some((v.keys.signing_algorithm, v.keys.signing_key.clone()))
            }
            _ => None,
        }
    } else if reply.status == NtStatus::USER_SESSION_DELETED {
        super::binding::foreign_session_key(conn, reply.session_id)
    } else {
        None
    };
    Outcome {
        status: reply.status,
        body: reply
            .body
            .map(Response::SessionSetup)
            .unwrap_or_else(error_body),
        sign,
        session_id: reply.session_id,
        tree_id: None,
        file_id: None,
        hash_session_response: reply.hash_response,
        payload: None,
    }
}

/// The `[limits]` a SESSION_SETUP must pass before the acceptor sees its token: the token size
/// (`max_spnego_token`, STATUS_INVALID_PARAMETER) and, for a new session, the sessions on this
/// connection (`max_sessions_per_connection`, STATUS_REQUEST_NOT_ACCEPTED as Windows answers).
fn check_session_limits(
    conn: &Connection,
    header: &Header,
    req: &rsmbd_protocol::messages::session_setup::SessionSetupRequest<'_>,
) -> Result<(), NtStatus> {
    use crate::limits::{Limit, hit};
    let limits = &conn.ctx.config.limits;
    let token = req.security_buffer.len();
    if token > limits.max_spnego_token {
        hit(
            Limit::SpnegoToken,
            conn.peer,
            format_args!("a {token}-byte SESSION_SETUP token"),
        );
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if header.session_id == 0 && conn.sessions.len() >= limits.max_sessions_per_connection {
        hit(
            Limit::SessionsPerConnection,
            conn.peer,
            format_args!("{} sessions on one connection", conn.sessions.len()),
        );
        return Err(NtStatus::REQUEST_NOT_ACCEPTED);
    }
    Ok(())
}

/// Logs the share-layer limits a handler reported: `max_opens_per_session` (CREATE got
/// STATUS_TOO_MANY_OPENED_FILES) and `max_trees_per_session` (TREE_CONNECT got
/// STATUS_INSUFFICIENT_RESOURCES).
fn note_share_limit(conn: &Connection, request: &Request<'_>, status: NtStatus) {
    use crate::limits::{Limit, hit};
    let limits = &conn.ctx.config.limits;
    match (request, status) {
        (Request::Create(_), NtStatus::TOO_MANY_OPENED_FILES) => hit(
            Limit::OpensPerSession,
            conn.peer,
            format_args!("{} opens in one session", limits.max_opens_per_session),
        ),
        (Request::TreeConnect(_), NtStatus::INSUFFICIENT_RESOURCES) => hit(
            Limit::TreesPerSession,
            conn.peer,
            format_args!(
                "{} tree connects in one session",
                limits.max_trees_per_session
            ),
        ),
        _ => {}
    }
}

/// [MS-SMB2 3.3.5.5.3] A client that logs on again names its old session in
/// PreviousSessionId: when that session (on any connection, found in the server-wide session
/// table) belongs to the same user, it ends as LOGOFF ends it: its opens are closed except the
/// durable ones, which wait for this session to reconnect them (3.3.5.9.7/12); its waiting
/// requests here are answered (a CHANGE_NOTIFY with STATUS_NOTIFY_CLEANUP), and the
/// connections it still lives on answer STATUS_USER_SESSION_DELETED from now on.
fn end_previous_session(conn: &mut Connection, previous: u64, current: u64) {
    let Some(SessionState::Valid(new)) = conn.sessions.get(&current) else {
        return;
    };
    let new_principal = new.share.identity().principal.clone();
    let Some(old) = conn.ctx.session_table.get(previous) else {
        return;
    };
    if old.principal != new_principal {
        tracing::info!(target: "rsmbd::session", "previous session kept client={} session_id={previous:#x} reason=\"another user\"", conn.peer);
        return;
    }
    conn.end_session_waits(previous);
    if let Some(SessionState::Valid(v)) = conn.sessions.remove(&previous) {
        conn.remember_ended(previous, &v);
    }
    conn.pending.forget_session(previous);
    conn.ctx.session_table.remove(previous);
    let mut kept = 0;
    if old.end() {
        let durables = conn.ctx.registry.durables();
        kept = durables.disconnect(old.share.take_all(), std::time::Instant::now());
    }
    conn.ctx.status.ended(previous);
    tracing::info!(target: "rsmbd::session", "previous session ended client={} session_id={previous:#x} by session_id={current:#x} durable_kept={kept}", conn.peer);
}

/// A failed re-authentication ends the session (3.3.5.5.3): opens closed, waiting requests
/// answered; the response is still sealed with its key when the request was encrypted.
fn end_session(conn: &mut Connection, session_id: u64) {
    // Its waiting requests are answered (a CHANGE_NOTIFY with NOTIFY_CLEANUP) while its
    // keys still sign them (smb2.notify.invalid-reauth).
    conn.end_session_waits(session_id);
    if let Some(SessionState::Valid(v)) = conn.sessions.remove(&session_id) {
        v.global.end();
        conn.ctx.session_table.remove(session_id);
        conn.remember_ended(session_id, &v);
        v.share.close_all();
        conn.logged_off = v.crypto.map(|c| (session_id, c));
    }
    conn.pending.forget_session(session_id);
}

fn ok(
    body: Response<'static>,
    session_id: u64,
    sign: Option<(SigningAlgorithm, Zeroizing<[u8; 16]>)>,
) -> Outcome {
    Outcome {
        status: NtStatus::SUCCESS,
        body,
        sign,
        session_id,
        tree_id: None,
        file_id: None,
        hash_session_response: false,
        payload: None,
    }
}

/// [MS-SMB2 3.3.5.2.5] With multi-credit requests, CreditCharge must cover the payload
/// (one credit per 64 KiB); payloads are also bounded by what NEGOTIATE advertised.
fn check_credit_charge(
    conn: &Connection,
    header: &Header,
    request: &Request<'_>,
) -> Result<(), NtStatus> {
    let max = conn.ctx.config.max_io_size as usize;
    let (send, expect) = match request {
        Request::Read(r) => (r.read_channel_info.len(), r.length as usize),
        Request::Write(r) => (r.data.len() + r.write_channel_info.len(), 0),
        Request::Ioctl(r) => (
            r.input.len() + r.output.len(),
            r.max_output_response as usize,
        ),
        Request::QueryDirectory(r) => (r.file_name.len(), r.output_buffer_length as usize),
        Request::ChangeNotify(r) => (0, r.output_buffer_length as usize),
        Request::QueryInfo(r) => (r.input.len(), r.output_buffer_length as usize),
        Request::SetInfo(r) => (r.buffer.len(), 0),
        _ => return Ok(()),
    };
    let payload = send.max(expect);
    if payload > max {
        crate::limits::hit(
            crate::limits::Limit::IoSize,
            conn.peer,
            format_args!("a {:?} of {payload} bytes", header.command),
        );
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let large_mtu = conn.dialect().is_some_and(|d| d != Dialect::SMB2_0_2);
    // 3.3.5.2.5 sizes the charge of READ, WRITE, IOCTL and QUERY_DIRECTORY; a CHANGE_NOTIFY
    // only reserves room for an answer that may never come, and clients charge it 1.
    let charged = !matches!(request, Request::ChangeNotify(_));
    if large_mtu && charged && payload > 0 {
        let needed = (payload - 1) / 65536 + 1;
        if usize::from(header.credit_charge.max(1)) < needed {
            return Err(NtStatus::INVALID_PARAMETER);
        }
    }
    Ok(())
}

/// Replaces the "previous FileId" marker in a related member (3.3.5.2.7.2).
fn substitute_file_id(request: &mut Request<'_>, inherited: Option<FileId>) {
    let Some(prev) = inherited else { return };
    let slot = match request {
        Request::Close(r) => &mut r.file_id,
        Request::Flush(r) => &mut r.file_id,
        Request::Read(r) => &mut r.file_id,
        Request::Write(r) => &mut r.file_id,
        Request::Lock(r) => &mut r.file_id,
        Request::Ioctl(r) => &mut r.file_id,
        Request::QueryDirectory(r) => &mut r.file_id,
        Request::ChangeNotify(r) => &mut r.file_id,
        Request::QueryInfo(r) => &mut r.file_id,
        Request::SetInfo(r) => &mut r.file_id,
        Request::OplockBreak(OplockBreakRequest::Oplock(r)) => &mut r.file_id,
        _ => return,
    };
    if slot.is_compound_previous() {
        *slot = prev;
    }
}

fn request_file_id(request: &Request<'_>) -> Option<FileId> {
    Some(match request {
        Request::Close(r) => r.file_id,
        Request::Flush(r) => r.file_id,
        Request::Read(r) => r.file_id,
        Request::Write(r) => r.file_id,
        Request::Lock(r) => r.file_id,
        Request::Ioctl(r) => r.file_id,
        Request::QueryDirectory(r) => r.file_id,
        Request::ChangeNotify(r) => r.file_id,
        Request::QueryInfo(r) => r.file_id,
        Request::SetInfo(r) => r.file_id,
        Request::OplockBreak(OplockBreakRequest::Oplock(r)) => r.file_id,
        _ => return None,
    })
}

/// Runs blocking share work without stalling the async reactor: on tokio's multi-threaded
/// runtime the worker hands its other tasks away first; elsewhere (tests, current-thread
/// runtimes) it simply runs.
pub fn run_blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
