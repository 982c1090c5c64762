//! [MS-SMB2 3.3.5.5] Receiving an SMB2 SESSION_SETUP request: drive the GSS acceptor, keep the
//! session's own preauth hash (3.1.1), derive the keys, and write the one audit line that says
//! who logged on, how, and through which SPN.
//!
//! ```text
//!            SESSION_SETUP (SessionId 0)           token accepted
//!  (none) ─────────────────────────────► InProgress ─────────────────► Valid ◄──┐ re-auth
//!                                          │  ▲  more legs                 │    │ (reauth.rs)
//!                                          │  └──┘                         ├────┘
//!                                          └── refused ──────────────► (removed) ◄ LOGOFF
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use rsmbd_auth::{Acceptor, Authenticated, Mechanism, Step, TargetNames, enctype_name};
use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::negotiate::{Dialect, SecurityMode};
use rsmbd_protocol::messages::session_setup::SessionFlags;
use rsmbd_protocol::messages::session_setup::{SessionSetupRequest, SessionSetupResponse};
use rsmbd_share::crypto::encryption::CipherKey;
use rsmbd_share::crypto::keys::KeyDialect;
use rsmbd_share::crypto::{PreauthHash, SessionKeys, SigningAlgorithm};
use rsmbd_share::session::{Identity, Session};

use super::context::ServerContext;
use super::key_log::LoggedKeys;
use super::negotiate::Negotiated;
use crate::config::{EncryptPolicy, ListenerSection};

/// [MS-SMB2 2.2.5] SMB2_SESSION_FLAG_BINDING.
pub const FLAG_BINDING: u8 = 0x01;

pub use super::session_table::SessionCrypto;
use super::session_table::{FirstChannel, SharedSession};

/// One session of this connection.
#[derive(Debug)]
pub enum SessionState {
    /// Authentication under way.
    InProgress {
        /// The GSS exchange.
        acceptor: Box<Acceptor>,
        /// Session.PreauthIntegrityHashValue (3.1.1), forked from the connection's hash
        /// (for a binding: Connection.PreauthSessionTable's entry, [MS-SMB2 3.3.5.5]).
        preauth: PreauthHash,
        /// The session this exchange binds a new channel to ([MS-SMB2 3.3.5.5], `binding`).
        binding: Option<Arc<SharedSession>>,
    },
    /// Authenticated.
    Valid(Box<ValidSession>),
}

/// An authenticated session.
#[derive(Debug)]
pub struct ValidSession {
    /// The share layer's session: identity, tree connects, opens.
    pub share: Arc<Session>,
    /// What every channel of the session shares (GlobalSessionTable entry).
    pub global: Arc<SharedSession>,
    /// True on a channel bound by SESSION_SETUP with SMB2_SESSION_FLAG_BINDING (not the
    /// connection that created the session).
    pub bound: bool,
    /// This channel's keys: Channel.SigningKey and its algorithm (3.x channels each derive
    /// their own, [MS-SMB2 3.3.5.5.3]).
    pub keys: SessionKeys,
    /// Session.SigningRequired: every request must be signed and every response is.
    pub signing_required: bool,
    /// The session's cipher keys (shared by its channels), when a cipher was negotiated.
    pub crypto: Option<Arc<SessionCrypto>>,
    /// Session.EncryptData: every request must arrive encrypted and every response is.
    pub encrypt_data: bool,
    /// The client has sent an encrypted request: from then on every response (including
    /// late async ones) is encrypted, as clients that encrypt reject plaintext replies.
    pub client_encrypts: bool,
    /// Who and how, for logs and the audit line.
    pub audit: String,
    /// Session.ExpirationTime: the ticket's endtime; past it the session is Expired
    /// ([MS-SMB2 3.3.5.2.9], see `reauth`).
    pub expires_at: SystemTime,
    /// The session's expiry has been logged (once per endtime, see `reauth::note_expired`).
    pub expiry_logged: bool,
    /// A re-authentication under way on this session ([MS-SMB2 3.3.5.5.2]).
    pub reauth: Option<Box<Acceptor>>,
}

/// What the engine must do with the response.
#[derive(Debug)]
pub struct SetupReply {
    /// Status for the header.
    pub status: NtStatus,
    /// SessionId for the header (a new one for the first leg).
    pub session_id: u64,
    /// Body (None: an SMB2 ERROR response).
    pub body: Option<SessionSetupResponse<'static>>,
    /// Sign the response with this session's key (the final 3.1.1 response must be signed).
    pub sign: bool,
    /// Add the encoded response to the session's preauth hash (3.1.1, non-final legs).
    pub hash_response: bool,
    /// A re-authentication failed: the engine removes the session and closes its opens.
    pub end_session: bool,
}

impl SetupReply {
    fn error(status: NtStatus, session_id: u64) -> Self {
        Self {
            status,
            session_id,
            body: None,
            sign: false,
            hash_response: false,
            end_session: false,
        }
    }
}

/// The sessions of one connection.
pub type Sessions = std::collections::HashMap<u64, SessionState>;

/// Everything the handler needs from the connection.
#[derive(Debug)]
pub struct SetupInput<'a> {
    /// Server-wide state.
    pub ctx: &'a ServerContext,
    /// What NEGOTIATE settled.
    pub negotiated: &'a Negotiated,
    /// Connection.PreauthIntegrityHashValue after NEGOTIATE.
    pub connection_preauth: &'a PreauthHash,
    /// The client.
    pub peer: SocketAddr,
    /// The listener it connected to (NTLM policy, names).
    pub listener: &'a ListenerSection,
    /// The request's header SessionId.
    pub session_id: u64,
    /// The whole request message as received (for the preauth hash).
    pub raw: &'a [u8],
    /// Now.
    pub now: SystemTime,
}

/// [MS-SMB2 3.3.5.5] Handles one SESSION_SETUP request.
pub fn handle(
    input: SetupInput<'_>,
    sessions: &mut Sessions,
    req: &SessionSetupRequest<'_>,
) -> SetupReply {
    let SetupInput {
        ctx,
        negotiated,
        connection_preauth,
        peer,
        raw,
        now,
        ..
    } = input;
    if req.flags & FLAG_BINDING != 0 {
        // Binding requests are routed to `binding` before they get here.
        return SetupReply::error(NtStatus::REQUEST_NOT_ACCEPTED, input.session_id);
    }
    let is_311 = negotiated.dialect == Dialect::SMB3_1_1;

    // Find or create the session (3.3.5.5.1 new, 3.3.5.5.2 existing).
    let session_id = if input.session_id == 0 {
        let id = ctx.allocate_session_id();
        let mut acceptor = Acceptor::new(ctx.acceptor(), ctx.replay.clone());
        if input.listener.ntlm {
            let dns = negotiated
                .netname
                .clone()
                .unwrap_or_else(|| input.listener.name());
            acceptor = acceptor.allow_ntlm(TargetNames::new(&ctx.config.server_name, &dns));
        }
        let acceptor = Box::new(acceptor);
        sessions.insert(
            id,
            SessionState::InProgress {
                acceptor,
                preauth: connection_preauth.clone(),
                binding: None,
            },
        );
        id
    } else {
        match sessions.get_mut(&input.session_id) {
            Some(SessionState::InProgress { binding: None, .. }) => input.session_id,
            // A binding exchange continues only with SMB2_SESSION_FLAG_BINDING set.
            Some(SessionState::InProgress { .. }) => {
                return SetupReply::error(NtStatus::REQUEST_NOT_ACCEPTED, input.session_id);
            }
            Some(SessionState::Valid(valid)) => {
                // Re-authentication of a live or expired session (3.3.5.5.2).
                return super::reauth::handle(ctx, peer, input.session_id, valid, req, now);
            }
            None => return SetupReply::error(NtStatus::USER_SESSION_DELETED, input.session_id),
        }
    };
    let Some(SessionState::InProgress {
        acceptor, preauth, ..
    }) = sessions.get_mut(&session_id)
    else {
        return SetupReply::error(NtStatus::USER_SESSION_DELETED, session_id);
    };
    if is_311 {
        preauth.update(raw);
    }

    match acceptor.step(&req.security_buffer, now) {
        Step::Continue { output } => SetupReply {
            status: NtStatus::MORE_PROCESSING_REQUIRED,
            session_id,
            body: Some(SessionSetupResponse {
                session_flags: 0,
                security_buffer: output.into(),
            }),
            sign: false,
            hash_response: is_311,
            end_session: false,
        },
        Step::Refused { output, error } => {
            // MS-KILE 3.4.5 clock skew recovery: the KRB_AP_ERR_SKEW carries our time and the
            // half-built session stays for one corrected AP-REQ (hashed like any
            // MORE_PROCESSING_REQUIRED leg).
            if acceptor.awaits_retry()
                && let Some(token) = output
            {
                tracing::warn!(target: "rsmbd::session", "session setup refused client={peer} reason=\"{error}\" (the client may retry with our time)");
                return SetupReply {
                    status: NtStatus::MORE_PROCESSING_REQUIRED,
                    session_id,
                    body: Some(SessionSetupResponse {
                        session_flags: 0,
                        security_buffer: token.into(),
                    }),
                    sign: false,
                    hash_response: is_311,
                    end_session: false,
                };
            }
            tracing::warn!(target: "rsmbd::session", "session setup refused client={peer} reason=\"{error}\"");
            sessions.remove(&session_id);
            match output {
                // As Samba does: a KRB-ERROR token goes back with MORE_PROCESSING_REQUIRED so
                // the client can react (e.g. clock skew); the session is gone either way.
                Some(token) => SetupReply {
                    status: NtStatus::MORE_PROCESSING_REQUIRED,
                    session_id,
                    body: Some(SessionSetupResponse {
                        session_flags: 0,
                        security_buffer: token.into(),
                    }),
                    sign: false,
                    hash_response: false,
                    end_session: false,
                },
                None => SetupReply::error(NtStatus::LOGON_FAILURE, session_id),
            }
        }
        Step::Done { output, session } => {
            if ctx.encrypt == EncryptPolicy::Required && negotiated.cipher.is_none() {
                // 3.3.5.5.3: EncryptData with RejectUnencryptedAccess and a client that cannot
                // encrypt: no session.
                tracing::warn!(target: "rsmbd::session", "session setup refused client={peer} principal={} reason=\"encrypt = required but the client negotiated no cipher\"", session.principal);
                sessions.remove(&session_id);
                return SetupReply::error(NtStatus::ACCESS_DENIED, session_id);
            }
            let preauth = preauth.clone();
            if session.mechanism == Mechanism::Ntlm {
                ntlm_warning(peer, negotiated, input.listener);
            }
            let identity = match resolve_identity(ctx, peer, &session) {
                Ok(identity) => identity,
                Err(status) => {
                    sessions.remove(&session_id);
                    return SetupReply::error(status, session_id);
                }
            };
            let valid = establish(
                ctx,
                negotiated,
                session_id,
                &session,
                identity,
                &preauth,
                req,
                (peer, Some(input.listener.address)),
                now,
            );
            let session_flags = if valid.encrypt_data {
                SessionFlags::ENCRYPT_DATA
            } else {
                0
            };
            sessions.insert(session_id, SessionState::Valid(Box::new(valid)));
            SetupReply {
                status: NtStatus::SUCCESS,
                session_id,
                body: Some(SessionSetupResponse {
                    session_flags,
                    security_buffer: output.into(),
                }),
                // 3.1.1 clients MUST reject an unsigned final response (MS-SMB2 3.2.5.3.1);
                // earlier dialects verify it when present, so sign it always.
                sign: true,
                hash_response: false,
                end_session: false,
            }
        }
    }
}

/// The identity a successful logon runs as (realm allow-list, `[[identity]]` mapping,
/// `[[group]]` membership, PAC SIDs), or the status that refuses it; one log line either way
/// when something is off.
pub fn resolve_identity(
    ctx: &ServerContext,
    peer: SocketAddr,
    auth: &Authenticated,
) -> Result<Identity, NtStatus> {
    if let Some(e) = &auth.pac_error {
        tracing::warn!(target: "rsmbd::session", "PAC not decoded client={peer} principal={} reason=\"{e}\": logon continues without PAC SIDs", auth.principal);
    }
    // /etc/passwd is read only when a rule names a local user.
    let passwd = ctx
        .config
        .identities
        .iter()
        .any(|r| r.user.is_some())
        .then(|| std::fs::read_to_string(crate::identity::PASSWD).ok())
        .flatten();
    crate::identity::resolve(&ctx.config, auth, passwd.as_deref()).map_err(|refusal| {
        tracing::warn!(target: "rsmbd::session", "session setup refused client={peer} principal={} reason=\"{refusal}\"", auth.principal);
        NtStatus::LOGON_FAILURE
    })
}

/// Derives the keys, creates the share session and logs the audit line.
#[allow(clippy::too_many_arguments)]
fn establish(
    ctx: &ServerContext,
    negotiated: &Negotiated,
    session_id: u64,
    auth: &Authenticated,
    identity: Identity,
    preauth: &PreauthHash,
    req: &SessionSetupRequest<'_>,
    (peer, listener): (SocketAddr, Option<SocketAddr>),
    now: SystemTime,
) -> ValidSession {
    let key_dialect = match negotiated.dialect {
        Dialect::SMB3_1_1 => KeyDialect::Smb311,
        d if d.is_smb3() => KeyDialect::Smb30,
        _ => KeyDialect::Smb2,
    };
    let signing_algorithm: SigningAlgorithm = negotiated.signing_algorithm;
    let cipher = negotiated.cipher;
    // AES-256 ciphers take the whole GSS key into the KDF (see SessionKeys::derive).
    let keys = SessionKeys::derive(
        key_dialect,
        auth.session_key.as_bytes(),
        Some(preauth),
        signing_algorithm,
        cipher.map_or(16, |c| c.key_len()),
    );
    let crypto = match (cipher, &keys.dialect3) {
        (Some(c), Some(d3)) => match (
            CipherKey::new(c, &d3.decryption),
            CipherKey::new(c, &d3.encryption),
        ) {
            (Some(decrypt), Some(encrypt)) => Some(Arc::new(SessionCrypto::new(decrypt, encrypt))),
            _ => None,
        },
        _ => None,
    };
    let encrypt_data = crypto.is_some()
        && matches!(
            ctx.encrypt,
            EncryptPolicy::Desired | EncryptPolicy::Required
        );
    if let (Some(log), Some(d3)) = (&ctx.key_log, &keys.dialect3) {
        log.write(&LoggedKeys {
            session_id,
            cipher: cipher.map_or("-", |c| c.name()),
            // Session.SessionKey (16 bytes: Wireshark 4.0 accepts no more); the AES-256
            // cipher keys, derived from the whole GSS key, are given explicitly.
            session_key: &keys.session_key[..],
            signing_key: &keys.signing_key[..],
            application_key: &d3.application,
            s2c: &d3.encryption,
            c2s: &d3.decryption,
        });
    }
    let signing_required = ctx.config.require_signing
        || u16::from(req.security_mode) & SecurityMode::SIGNING_REQUIRED != 0;
    let mech = match &auth.mechanism {
        Mechanism::Kerberos { oid } => format!("kerberos oid={oid}"),
        Mechanism::Ntlm => "NTLMv2".to_string(),
    };
    let mech_name = match &auth.mechanism {
        Mechanism::Kerberos { .. } => "kerberos",
        Mechanism::Ntlm => "ntlm",
    };
    // NTLM has no ticket: no enctypes, no kvno (its spn is the client's MsvAvTargetName).
    let (enctype, session_enctype, kvno) = match auth.mechanism {
        Mechanism::Ntlm => ("-", "-", "-".to_string()),
        Mechanism::Kerberos { .. } => (
            enctype_name(auth.ticket_enctype),
            enctype_name(auth.session_enctype),
            auth.kvno.to_string(),
        ),
    };
    let listener_text = listener.map_or_else(|| "-".to_string(), |l| l.to_string());
    let ticket_end = crate::status::unix(auth.ticket_end);
    let audit = format!(
        "client={peer} listener={listener_text} principal={} mech={mech} enctype={enctype} session_enctype={session_enctype} spn={} kvno={kvno}{} dialect={} signing={} signing_required={} cipher={} encrypt_data={encrypt_data} netname={} ticket_end={} pac={} expires_in={}s pac_sids={} owner={}",
        auth.principal,
        auth.spn,
        if auth.kvno_fallback {
            " (kvno fallback)"
        } else {
            ""
        },
        dialect_name(negotiated.dialect),
        keys.signing_algorithm.name(),
        signing_required,
        cipher.map_or("-", |c| c.name()),
        negotiated.netname.as_deref().unwrap_or("-"),
        crate::status::fmt_utc(ticket_end),
        if auth.pac.is_some() { "yes" } else { "no" },
        super::reauth::lifetime_secs(auth.ticket_end, now),
        identity.user_sid.iter().count() + identity.group_sids.len(),
        identity
            .owner
            .map_or("-".to_string(), |(u, g)| format!("{u}:{g}")),
    );
    ctx.status.started(
        session_id,
        crate::status::SessionRecord {
            session_id: format!("{session_id:#x}"),
            client: peer.to_string(),
            listener: listener_text,
            netname: negotiated.netname.clone().unwrap_or_else(|| "-".into()),
            tree_host: None,
            mechanism: mech_name.to_string(),
            enctype: enctype.to_string(),
            session_enctype: session_enctype.to_string(),
            spn: auth.spn.clone(),
            kvno: auth.kvno,
            principal: auth.principal.clone(),
            dialect: dialect_name(negotiated.dialect).to_string(),
            start: crate::status::unix_now(),
            ticket_end,
        },
    );
    tracing::info!(target: "rsmbd::session", "session established session_id={session_id:#x} {audit}");
    let principal = auth.principal.clone();
    let share = Arc::new(Session::with_limits(
        session_id,
        identity,
        ctx.config.limits.max_trees_per_session,
        ctx.config.limits.max_opens_per_session,
    ));
    let global = Arc::new(SharedSession::new(FirstChannel {
        id: session_id,
        share: Arc::clone(&share),
        dialect: negotiated.dialect,
        signing_algorithm: keys.signing_algorithm,
        cipher,
        signing_key: keys.signing_key.clone(),
        crypto: crypto.clone(),
        dialect3: keys.dialect3.clone(),
        encrypt_data,
        principal,
        expires_at: auth.ticket_end,
    }));
    ctx.session_table.insert(Arc::clone(&global));
    ValidSession {
        share,
        global,
        bound: false,
        keys,
        signing_required,
        crypto,
        encrypt_data,
        client_encrypts: false,
        audit,
        expires_at: auth.ticket_end,
        expiry_logged: false,
        reauth: None,
    }
}

/// The line every NTLM session leaves (field research R20): which name the client dialled
/// (its NETNAME context, else this listener's name) and the SPN that is probably missing.
fn ntlm_warning(peer: SocketAddr, negotiated: &Negotiated, listener: &ListenerSection) {
    let dialled = negotiated
        .netname
        .clone()
        .unwrap_or_else(|| listener.name());
    if dialled.parse::<std::net::IpAddr>().is_ok() {
        tracing::warn!(target: "rsmbd::session", "client {peer} dialled {dialled} and used NTLM: clients do not use Kerberos for an IP address; have it dial a DNS name with a cifs/<name> SPN");
    } else {
        tracing::warn!(target: "rsmbd::session", "client {peer} dialled {dialled} and used NTLM: register cifs/{dialled} (or the client lacks a ticket)");
    }
}

/// "3.1.1" etc.
pub fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::SMB2_0_2 => "2.0.2",
        Dialect::SMB2_1 => "2.1",
        Dialect::SMB3_0 => "3.0",
        Dialect::SMB3_0_2 => "3.0.2",
        Dialect::SMB3_1_1 => "3.1.1",
        _ => "2.???",
    }
}
