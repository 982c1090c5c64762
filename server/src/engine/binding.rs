//! [MS-SMB2 3.3.5.5] SESSION_SETUP with SMB2_SESSION_FLAG_BINDING: multichannel. A client binds
//! a further connection to a session it holds elsewhere; the session (identity, trees, opens,
//! cipher keys) then answers on both, each connection (channel) signing with its own key.
//!
//! ```text
//!  bind request ─► session found in GlobalSessionTable? ─► signed with Session.SigningKey?
//!    ─► the refusals below (each answered signed with Session.SigningKey)
//!    ─► GSS exchange (same principal) ─► Channel.SigningKey from the new session key
//!       (3.1.1: and this connection's binding preauth hash) ─► channel added
//! ```
//!
//! The order of the refusals is the order Windows answers in (Samba's smbtorture
//! `smb2.session.bind_negative_*` records it, and Samba follows it): a session signed with
//! AES-GMAC cannot gain a channel that signs otherwise (STATUS_REQUEST_OUT_OF_SEQUENCE) nor
//! the reverse (STATUS_NOT_SUPPORTED), even before the dialect checks; HMAC-SHA256 and
//! AES-CMAC sessions may bind across those two algorithms. ClientGuid is not compared: Windows
//! binds a channel from another ClientGuid, and the new authentication of the same principal
//! plus a request signed with the session's key are what prove the client.

use std::sync::Arc;
use std::time::SystemTime;

use rsmbd_auth::{Acceptor, Step, TargetNames};
use rsmbd_protocol::messages::negotiate::{Dialect, SecurityMode};
use rsmbd_protocol::messages::session_setup::{SessionFlags, SessionSetupResponse};
use rsmbd_protocol::messages::{Request, Response};
use rsmbd_protocol::{Command, Header, Message, NtStatus};
use rsmbd_share::crypto::encryption::Cipher;
use rsmbd_share::crypto::keys::KeyDialect;
use rsmbd_share::crypto::{SessionKeys, SigningAlgorithm, signing};
use zeroize::Zeroizing;

use super::Connection;
use super::dispatch::{Outcome, error_body};
use super::negotiate::Negotiated;
use super::session_setup::{SessionState, ValidSession, dialect_name};
use super::session_table::SharedSession;

/// A signing algorithm and key (zeroized on drop).
pub type ChannelKey = (SigningAlgorithm, Zeroizing<[u8; 16]>);
type SigningKey = Option<ChannelKey>;

/// How many ended sessions' channel keys a connection keeps to sign
/// STATUS_USER_SESSION_DELETED with.
pub const ENDED_CHANNELS_KEPT: usize = 8;

/// What binding compares between the session's first connection and the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelParams {
    /// Connection.Dialect.
    pub dialect: Dialect,
    /// Connection.SigningAlgorithmId.
    pub signing: SigningAlgorithm,
    /// Connection.CipherId.
    pub cipher: Option<Cipher>,
}

/// [MS-SMB2 3.3.5.5] May a connection with `conn` parameters become a channel of a session
/// made on a connection with `session` parameters? The refusal statuses, in the order Windows
/// checks them (see the module comment).
pub fn check(session: ChannelParams, conn: ChannelParams) -> Result<(), NtStatus> {
    use SigningAlgorithm::AesGmac;
    if session.signing == AesGmac && conn.signing != AesGmac {
        return Err(NtStatus::REQUEST_OUT_OF_SEQUENCE);
    }
    if conn.signing == AesGmac && session.signing != AesGmac {
        return Err(NtStatus::NOT_SUPPORTED);
    }
    // 2.0.2 and 2.1 have no multichannel.
    if !conn.dialect.is_smb3() {
        return Err(NtStatus::REQUEST_NOT_ACCEPTED);
    }
    if conn.dialect != session.dialect {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if conn.cipher != session.cipher {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    Ok(())
}

fn params(n: &Negotiated) -> ChannelParams {
    ChannelParams {
        dialect: n.dialect,
        signing: n.signing_algorithm,
        cipher: n.cipher,
    }
}

fn reply(status: NtStatus, session_id: u64, sign: SigningKey) -> Outcome {
    Outcome {
        status,
        body: error_body(),
        sign,
        session_id,
        tree_id: None,
        file_id: None,
        hash_session_response: false,
        payload: None,
    }
}

/// The key a binding's answers are signed with: Session.SigningKey, with the session's
/// algorithm (the client has no channel key yet and verifies with the session's).
fn session_key(global: &SharedSession) -> SigningKey {
    Some((global.signing_algorithm, global.signing_key.clone()))
}

/// The key to sign STATUS_USER_SESSION_DELETED with when a request names a session this
/// connection is not a channel of but the server has: Session.SigningKey. A client that holds
/// the session elsewhere signs such a request (a channel it has not bound yet) and rejects an
/// unsigned answer; found through GlobalSessionTable as for binding (3.3.5.2.9).
pub(super) fn foreign_session_key(conn: &Connection, session_id: u64) -> SigningKey {
    if session_id == 0 || conn.sessions.contains_key(&session_id) {
        return None;
    }
    // A session this connection was a channel of, ended elsewhere: its channel key.
    if let Some((_, key)) = conn.ended_channels.iter().find(|(id, _)| *id == session_id) {
        return Some(key.clone());
    }
    conn.ctx
        .session_table
        .get(session_id)
        .and_then(|g| session_key(&g))
}

/// [MS-SMB2 3.3.5.5] A SESSION_SETUP request with SMB2_SESSION_FLAG_BINDING.
pub(super) fn handle(
    conn: &mut Connection,
    header: &Header,
    member: &mut [u8],
    signed: bool,
    now: SystemTime,
) -> Outcome {
    let sid = header.session_id;
    match conn.sessions.get(&sid) {
        Some(SessionState::InProgress {
            binding: Some(global),
            ..
        }) => {
            let global = Arc::clone(global);
            return step(conn, global, header, member, signed, now);
        }
        Some(SessionState::InProgress { binding: None, .. }) => {
            return reply(NtStatus::REQUEST_NOT_ACCEPTED, sid, None);
        }
        Some(SessionState::Valid(_)) => {
            // Already a channel here: the request must verify with this channel's key, and
            // then there is nothing to bind.
            if !signed || !conn.verify(sid, member) {
                tracing::warn!(target: "rsmbd::session", "session binding refused client={} session_id={sid:#x} reason=\"the connection is already a channel of the session and the request is not signed with its key\"", conn.peer);
                return reply(NtStatus::ACCESS_DENIED, sid, None);
            }
            let sign = conn.signing_for(sid, true);
            return reply(NtStatus::REQUEST_NOT_ACCEPTED, sid, sign);
        }
        None => {}
    }
    let Some(negotiated) = conn.negotiated.as_ref() else {
        return reply(NtStatus::INVALID_PARAMETER, sid, None);
    };
    if !conn.ctx.config.multichannel {
        return reply(NtStatus::REQUEST_NOT_ACCEPTED, sid, None);
    }
    // 3.3.5.5: the session is looked up in GlobalSessionTable, not this connection's table.
    let Some(global) = conn.ctx.session_table.get(sid) else {
        return reply(NtStatus::USER_SESSION_DELETED, sid, None);
    };
    // 3.3.5.2.4: a binding request is signed with Session.SigningKey.
    if !signed {
        return reply(NtStatus::INVALID_PARAMETER, sid, None);
    }
    if !signing::verify(global.signing_algorithm, &global.signing_key, member) {
        tracing::warn!(target: "rsmbd::session", "session binding refused client={} session_id={sid:#x} reason=\"bad signature\"", conn.peer);
        return reply(NtStatus::ACCESS_DENIED, sid, None);
    }
    let sign = session_key(&global);
    let first = ChannelParams {
        dialect: global.dialect,
        signing: global.signing_algorithm,
        cipher: global.cipher,
    };
    if let Err(status) = check(first, params(negotiated)) {
        tracing::info!(target: "rsmbd::session", "session binding refused client={} session_id={sid:#x} status={status:?} session=({} {} {}) connection=({} {} {})", conn.peer,
            dialect_name(first.dialect), first.signing.name(), first.cipher.map_or("-", |c| c.name()),
            dialect_name(negotiated.dialect), negotiated.signing_algorithm.name(), negotiated.cipher.map_or("-", |c| c.name()));
        return reply(status, sid, sign);
    }
    if conn.sessions.len() >= conn.ctx.config.limits.max_sessions_per_connection {
        return reply(NtStatus::REQUEST_NOT_ACCEPTED, sid, sign);
    }
    let mut acceptor = Acceptor::new(conn.ctx.acceptor(), conn.ctx.replay.clone());
    if conn.listener.ntlm {
        let dns = negotiated
            .netname
            .clone()
            .unwrap_or_else(|| conn.listener.name());
        acceptor = acceptor.allow_ntlm(TargetNames::new(&conn.ctx.config.server_name, &dns));
    }
    // Connection.PreauthSessionTable: the binding's own hash, from this connection's.
    conn.sessions.insert(
        sid,
        SessionState::InProgress {
            acceptor: Box::new(acceptor),
            preauth: conn.preauth.clone(),
            binding: Some(Arc::clone(&global)),
        },
    );
    step(conn, global, header, member, false, now)
}

/// One GSS leg of a binding. `verify`: the request's signature still has to be checked (a
/// continuation leg; the first was checked by [`handle`]).
fn step(
    conn: &mut Connection,
    global: Arc<SharedSession>,
    header: &Header,
    member: &mut [u8],
    verify: bool,
    now: SystemTime,
) -> Outcome {
    let sid = header.session_id;
    let sign = session_key(&global);
    if verify && !signing::verify(global.signing_algorithm, &global.signing_key, member) {
        conn.sessions.remove(&sid);
        return reply(NtStatus::ACCESS_DENIED, sid, None);
    }
    let result = leg(conn, &global, member, now);
    match result {
        Ok(outcome) => outcome,
        Err(status) => {
            conn.sessions.remove(&sid);
            reply(status, sid, sign)
        }
    }
}

fn leg(
    conn: &mut Connection,
    global: &Arc<SharedSession>,
    member: &[u8],
    now: SystemTime,
) -> Result<Outcome, NtStatus> {
    let sid = global.id;
    let sign = session_key(global);
    let Some(negotiated) = conn.negotiated.clone() else {
        return Err(NtStatus::INVALID_PARAMETER);
    };
    let is_311 = negotiated.dialect == Dialect::SMB3_1_1;
    let req = match Request::decode(Command::SESSION_SETUP, Message::new(member)) {
        Ok(Request::SessionSetup(req)) => req,
        _ => return Err(NtStatus::INVALID_PARAMETER),
    };
    if req.security_buffer.len() > conn.ctx.config.limits.max_spnego_token {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let Some(SessionState::InProgress {
        acceptor, preauth, ..
    }) = conn.sessions.get_mut(&sid)
    else {
        return Err(NtStatus::USER_SESSION_DELETED);
    };
    if is_311 {
        preauth.update(member);
    }
    let (output, auth) = match acceptor.step(&req.security_buffer, now) {
        Step::Continue { output } => {
            return Ok(Outcome {
                body: Response::SessionSetup(SessionSetupResponse {
                    session_flags: 0,
                    security_buffer: output.into(),
                }),
                hash_session_response: is_311,
                ..reply(NtStatus::MORE_PROCESSING_REQUIRED, sid, sign)
            });
        }
        Step::Refused { error, .. } => {
            tracing::warn!(target: "rsmbd::session", "session binding refused client={} session_id={sid:#x} reason=\"{error}\"", conn.peer);
            return Err(NtStatus::LOGON_FAILURE);
        }
        Step::Done { output, session } => (output, session),
    };
    let preauth = preauth.clone();
    if global.is_ended() {
        return Err(NtStatus::USER_SESSION_DELETED);
    }
    if auth.principal != global.principal {
        // 3.3.5.5.3: the channel must authenticate the session's user.
        tracing::warn!(target: "rsmbd::session", "session binding refused client={} session_id={sid:#x} principal={} reason=\"the session belongs to {}\"", conn.peer, auth.principal, global.principal);
        return Err(NtStatus::ACCESS_DENIED);
    }
    // 3.3.5.5.3 Channel.SigningKey: from the new authentication's session key (3.1.1: with
    // this binding's preauth hash); the cipher and application keys stay the session's.
    let key_dialect = if is_311 {
        KeyDialect::Smb311
    } else {
        KeyDialect::Smb30
    };
    let mut keys = SessionKeys::derive(
        key_dialect,
        auth.session_key.as_bytes(),
        Some(&preauth),
        negotiated.signing_algorithm,
        16,
    );
    keys.dialect3 = global.dialect3.clone();
    if let Some(log) = &conn.ctx.key_log {
        log.write_channel(
            sid,
            &conn.peer.to_string(),
            &keys.session_key[..],
            &keys.signing_key[..],
        );
    }
    let signing_required = conn.ctx.config.require_signing
        || u16::from(req.security_mode) & SecurityMode::SIGNING_REQUIRED != 0;
    let channel_sign = Some((keys.signing_algorithm, keys.signing_key.clone()));
    global.add_channel();
    tracing::info!(target: "rsmbd::session", "session channel bound session_id={sid:#x} client={} listener={} principal={} dialect={} signing={} channels={}", conn.peer, conn.listener.address, auth.principal, dialect_name(negotiated.dialect), keys.signing_algorithm.name(), global.channel_count());
    let valid = ValidSession {
        share: Arc::clone(&global.share),
        global: Arc::clone(global),
        bound: true,
        keys,
        signing_required,
        crypto: global.crypto.clone(),
        encrypt_data: global.encrypt_data,
        client_encrypts: false,
        audit: format!("channel of session {sid:#x} client={}", conn.peer),
        expires_at: auth.ticket_end,
        expiry_logged: false,
        reauth: None,
    };
    conn.sessions
        .insert(sid, SessionState::Valid(Box::new(valid)));
    Ok(Outcome {
        body: Response::SessionSetup(SessionSetupResponse {
            session_flags: if global.encrypt_data {
                SessionFlags::ENCRYPT_DATA
            } else {
                0
            },
            security_buffer: output.into(),
        }),
        // Signed with the new channel's key (3.3.5.5.3).
        ..reply(NtStatus::SUCCESS, sid, channel_sign)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use SigningAlgorithm::{AesCmac as C, AesGmac as G, HmacSha256 as H};

    fn p(dialect: Dialect, signing: SigningAlgorithm, cipher: Option<Cipher>) -> ChannelParams {
        ChannelParams {
            dialect,
            signing,
            cipher,
        }
    }

    const GCM: Option<Cipher> = Some(Cipher::Aes128Gcm);
    const CCM: Option<Cipher> = Some(Cipher::Aes128Ccm);

    #[test]
    fn refusals_in_windows_order() {
        let d311 = Dialect::SMB3_1_1;
        // GMAC session to a non-GMAC connection, even a 2.x one (smb3signGtoH2X).
        assert_eq!(
            check(p(d311, G, GCM), p(d311, C, GCM)),
            Err(NtStatus::REQUEST_OUT_OF_SEQUENCE)
        );
        assert_eq!(
            check(p(d311, G, GCM), p(Dialect::SMB2_1, H, None)),
            Err(NtStatus::REQUEST_OUT_OF_SEQUENCE)
        );
        // Non-GMAC session to a GMAC connection, even from 3.0 (smb3signC30toG).
        assert_eq!(
            check(p(Dialect::SMB3_0, C, CCM), p(d311, G, GCM)),
            Err(NtStatus::NOT_SUPPORTED)
        );
        // 2.x connections cannot bind (smb202, smb3to2).
        assert_eq!(
            check(p(Dialect::SMB2_0_2, H, None), p(Dialect::SMB2_0_2, H, None)),
            Err(NtStatus::REQUEST_NOT_ACCEPTED)
        );
        assert_eq!(
            check(p(d311, C, GCM), p(Dialect::SMB2_1, H, None)),
            Err(NtStatus::REQUEST_NOT_ACCEPTED)
        );
        // Another dialect (smb2to3, smb3to3) or cipher (smb3encGtoC).
        assert_eq!(
            check(p(Dialect::SMB2_1, H, None), p(Dialect::SMB3_0, C, CCM)),
            Err(NtStatus::INVALID_PARAMETER)
        );
        assert_eq!(
            check(p(Dialect::SMB3_0_2, C, CCM), p(d311, C, CCM)),
            Err(NtStatus::INVALID_PARAMETER)
        );
        assert_eq!(
            check(p(d311, G, GCM), p(d311, G, CCM)),
            Err(NtStatus::INVALID_PARAMETER)
        );
    }

    #[test]
    fn cmac_and_hmac_bind_across_and_equal_parameters_bind() {
        let d311 = Dialect::SMB3_1_1;
        assert_eq!(check(p(d311, C, GCM), p(d311, H, GCM)), Ok(()));
        assert_eq!(check(p(d311, H, GCM), p(d311, C, GCM)), Ok(()));
        assert_eq!(check(p(d311, G, GCM), p(d311, G, GCM)), Ok(()));
        assert_eq!(
            check(p(Dialect::SMB3_0, C, CCM), p(Dialect::SMB3_0, C, CCM)),
            Ok(())
        );
    }
}
