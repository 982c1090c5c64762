//! Session expiry and re-authentication ([MS-SMB2 3.3.5.2.9], [MS-SMB2 3.3.5.5.2]).
//!
//! A Kerberos session is valid until its ticket's endtime (Session.ExpirationTime). Past it,
//! only LOGOFF, CLOSE, unlocking LOCK and ECHO are served (3.3.5.2.9: LOGOFF, CLOSE and LOCK;
//! Samba also answers ECHO and refuses LOCK that takes a lock, which smbtorture checks); every
//! other request gets STATUS_NETWORK_SESSION_EXPIRED and the client re-authenticates with a
//! SESSION_SETUP on the same SessionId. It may also do so before expiry (Windows renews early).
//!
//! ```text
//!            ticket endtime passes              SESSION_SETUP on the SessionId, same principal
//!  Valid ──────────────────────────► Expired ─────────────────────────────────────► Valid
//!    │  ▲   re-auth before expiry        │      new endtime; keys, trees, opens kept
//!    └──┘                                └── refused / another principal ──► (removed)
//! ```
//!
//! The keys are not derived again: "the existing Session.SessionKey will be retained"
//! (3.3.5.5.2), so signing and encryption go on with the keys of the first logon, and the final
//! response is signed with them (3.3.5.5.3). A failed re-authentication ends the session, with
//! its opens (3.3.5.5.3: the session is removed on an authentication error).

use std::net::SocketAddr;
use std::time::SystemTime;

use rsmbd_auth::{Acceptor, Step};
use rsmbd_protocol::messages::Request;
use rsmbd_protocol::messages::lock::LockFlags;
use rsmbd_protocol::messages::session_setup::{
    SessionFlags, SessionSetupRequest, SessionSetupResponse,
};
use rsmbd_protocol::{Command, NtStatus};

use super::context::ServerContext;
use super::session_setup::{SetupReply, ValidSession};

/// Is the session past Session.ExpirationTime at `now`?
pub fn is_expired(session: &ValidSession, now: SystemTime) -> bool {
    expires_at(session) <= now
}

/// Session.ExpirationTime as this channel sees it: its own ticket's endtime, or a later one a
/// re-authentication on another channel of the session set.
pub fn expires_at(session: &ValidSession) -> SystemTime {
    session.expires_at.max(session.global.expires_at())
}

/// Logs a refusal with STATUS_NETWORK_SESSION_EXPIRED: the first one per ticket at INFO (so an
/// operator sees when and why a client was sent back to its KDC), the rest at DEBUG.
pub fn note_expired(
    session: &mut ValidSession,
    peer: SocketAddr,
    session_id: u64,
    command: Command,
    now: SystemTime,
) {
    if session.expiry_logged {
        tracing::debug!(target: "rsmbd::session", "session expired client={peer} session_id={session_id:#x} command={command:?}");
        return;
    }
    session.expiry_logged = true;
    let ago = now
        .duration_since(expires_at(session))
        .map_or(0, |d| d.as_secs());
    tracing::info!(target: "rsmbd::session", "session expired session_id={session_id:#x} client={peer} principal={} ticket_end={} ({ago}s ago) first_refused={command:?}: answering NETWORK_SESSION_EXPIRED until the client re-authenticates", session.share.identity().principal, crate::status::fmt_utc(crate::status::unix(expires_at(session))));
}

/// [MS-SMB2 3.3.5.2.9] Requests an expired session still serves: LOGOFF, CLOSE, LOCK that only
/// unlocks, and ECHO.
pub fn allowed_when_expired(request: &Request<'_>) -> bool {
    match request {
        Request::Logoff(_) | Request::Close(_) | Request::Echo(_) => true,
        Request::Lock(l) => l.locks.iter().all(|e| e.flags & LockFlags::UNLOCK != 0),
        _ => false,
    }
}

/// [MS-SMB2 3.3.5.5.2] One SESSION_SETUP leg on an established (valid or expired) session.
pub fn handle(
    ctx: &ServerContext,
    peer: SocketAddr,
    session_id: u64,
    valid: &mut ValidSession,
    req: &SessionSetupRequest<'_>,
    now: SystemTime,
) -> SetupReply {
    let acceptor = valid
        .reauth
        .get_or_insert_with(|| Box::new(Acceptor::new(ctx.acceptor(), ctx.replay.clone())));
    let principal = valid.share.identity().principal.clone();
    let end = |status, body| SetupReply {
        status,
        session_id,
        body,
        sign: false,
        hash_response: false,
        end_session: true,
    };
    match acceptor.step(&req.security_buffer, now) {
        Step::Continue { output } => SetupReply {
            status: NtStatus::MORE_PROCESSING_REQUIRED,
            session_id,
            body: Some(SessionSetupResponse {
                session_flags: 0,
                security_buffer: output.into(),
            }),
            sign: true,
            hash_response: false,
            end_session: false,
        },
        Step::Refused {
            output: Some(token),
            error,
        } if valid.reauth.as_ref().is_some_and(|a| a.awaits_retry()) => {
            // MS-KILE 3.4.5 clock skew recovery: one corrected AP-REQ may follow.
            tracing::warn!(target: "rsmbd::session", "re-authentication refused client={peer} session_id={session_id:#x} principal={principal} reason=\"{error}\" (the client may retry with our time)");
            SetupReply {
                status: NtStatus::MORE_PROCESSING_REQUIRED,
                session_id,
                body: Some(SessionSetupResponse {
                    session_flags: 0,
                    security_buffer: token.into(),
                }),
                sign: true,
                hash_response: false,
                end_session: false,
            }
        }
        Step::Refused { output, error } => {
            valid.reauth = None;
            tracing::warn!(target: "rsmbd::session", "re-authentication refused, session closed client={peer} session_id={session_id:#x} principal={principal} reason=\"{error}\"");
            match output {
                Some(token) => end(
                    NtStatus::MORE_PROCESSING_REQUIRED,
                    Some(SessionSetupResponse {
                        session_flags: 0,
                        security_buffer: token.into(),
                    }),
                ),
                None => end(NtStatus::LOGON_FAILURE, None),
            }
        }
        Step::Done { output, session } => {
            valid.reauth = None;
            if session.principal != principal {
                tracing::warn!(target: "rsmbd::session", "re-authentication refused, session closed client={peer} session_id={session_id:#x} principal={principal} reason=\"the new ticket is for {}, not the session's principal\"", session.principal);
                return end(NtStatus::ACCESS_DENIED, None);
            }
            let identity = match super::session_setup::resolve_identity(ctx, peer, &session) {
                Ok(i) => i,
                Err(status) => return end(status, None),
            };
            let renewed_early = !is_expired(valid, now);
            valid.share.set_identity(identity);
            valid.expires_at = session.ticket_end;
            valid.global.set_expires_at(session.ticket_end);
            valid.expiry_logged = false;
            tracing::info!(target: "rsmbd::session", "session re-authenticated session_id={session_id:#x} client={peer} principal={principal} expires_in={}s{}", lifetime_secs(session.ticket_end, now), if renewed_early { " (before expiry)" } else { "" });
            SetupReply {
                status: NtStatus::SUCCESS,
                session_id,
                body: Some(SessionSetupResponse {
                    session_flags: if valid.encrypt_data {
                        SessionFlags::ENCRYPT_DATA
                    } else {
                        0
                    },
                    security_buffer: output.into(),
                }),
                // Signed with the retained key (3.3.5.5.3); clients require it (smbtorture
                // expire1s asks for a signed re-auth response).
                sign: true,
                hash_response: false,
                end_session: false,
            }
        }
    }
}

/// Seconds from `now` to `end` (0 when already past).
pub fn lifetime_secs(end: SystemTime, now: SystemTime) -> u64 {
    end.duration_since(now).map_or(0, |d| d.as_secs())
}
