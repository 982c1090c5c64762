//! The SPNEGO negotiation state machine (RFC 4178, MS-SPNG) around the Kerberos acceptor.
//! Rules from field research R10-R12: accept an optimistic krb5 token in one leg; echo the
//! client's first-listed krb5 OID in supportedMech; send a mechListMIC only when the client sent
//! one or we chose a mechanism that was not the client's first.
//!
//! NTLMSSP (MS-NLMP) runs only when the listener allows it ([`Acceptor::allow_ntlm`]) and the
//! client lists it first (or lists no Kerberos at all): NegTokenInit(NEGOTIATE) →
//! accept-incomplete(CHALLENGE) → NegTokenResp(AUTHENTICATE, mechListMIC) → accept-completed
//! with our mechListMIC (RFC 4178 §5, MS-SPNG 3.3.5.1). Elsewhere NTLM-only offers are refused
//! with a line that says NTLM is off on this listener.

use std::sync::Arc;
use std::time::SystemTime;

use rasn::types::{ObjectIdentifier, OctetString};

use crate::asn1::kerberos::KerberosString;
use crate::asn1::spnego::{
    MechTypeList, NegHints, NegState, NegTokenInit, NegTokenInit2, NegTokenResp, NegotiationToken,
    NegotiationToken2,
};
use crate::config::AcceptorConfig;
use crate::crypto::random_bytes;
use crate::error::AuthError;
use crate::gss::{self, oid};
use crate::kerberos::verify::{Accepted, verify_ap_req};
use crate::kerberos::{ReplayCache, mic, reply};
use crate::ntlm::{NtlmAccepted, NtlmServer, TargetNames};
use crate::outcome::{Authenticated, Mechanism, SessionKey, Step};

/// MS-SPNG §2.2.1: the hint name Windows servers send.
const HINT_NAME: &str = "not_defined_in_RFC4178@please_ignore";

fn oid_of(arcs: &'static [u32]) -> ObjectIdentifier {
    ObjectIdentifier::new_unchecked(std::borrow::Cow::Borrowed(arcs))
}

/// The SPNEGO NegTokenInit2 for the SMB2 NEGOTIATE response: mechTypes [MS-KRB5, KRB5], the
/// MS-SPNG hint name, GSS-wrapped with the SPNEGO OID.
pub fn negotiate_hint() -> Vec<u8> {
    negotiate_hint_for(false)
}

/// [`negotiate_hint`], with NTLMSSP listed last when the listener accepts NTLM (MS-SPNG §2.2.1).
pub fn negotiate_hint_for(ntlm: bool) -> Vec<u8> {
    let mut mechs = vec![oid_of(oid::MS_KRB5_ARCS), oid_of(oid::KRB5_ARCS)];
    if ntlm {
        mechs.push(oid_of(oid::NTLMSSP_ARCS));
    }
    let tok = NegotiationToken2::NegTokenInit2(NegTokenInit2 {
        mech_types: Some(mechs),
        req_flags: None,
        mech_token: None,
        neg_hints: Some(NegHints {
            hint_name: Some(KerberosString::new(HINT_NAME)),
            hint_address: None,
        }),
        mech_list_mic: None,
    });
    // Encoding a fixed, valid value cannot fail; fall back to an empty token rather than panic.
    gss::wrap(oid::SPNEGO, &crate::asn1::encode(&tok).unwrap_or_default())
}

/// Dotted form of an OID.
fn dotted(o: &ObjectIdentifier) -> String {
    o.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

/// Which krb5 OID this is, if any.
fn krb5_oid_name(o: &[u32]) -> Option<&'static str> {
    if o == oid::KRB5_ARCS {
        Some(oid::KRB5_STR)
    } else if o == oid::MS_KRB5_ARCS {
        Some(oid::MS_KRB5_STR)
    } else {
        None
    }
}

/// What SPNEGO agreed on.
#[derive(Debug, Clone)]
struct Negotiation {
    /// The client's first-listed krb5 OID (echoed in supportedMech).
    supported: ObjectIdentifier,
    /// Its dotted form.
    oid: &'static str,
    /// DER of the client's mechTypes: what both mechListMICs cover.
    mech_types_der: Vec<u8>,
    /// RFC 4178 §5: a MIC exchange is required (we did not pick the client's first mech).
    mic_required: bool,
}

impl Negotiation {
    /// The negotiation state once we picked the client's mechanism number `idx`.
    fn chosen(
        mech_types: &MechTypeList,
        idx: usize,
        oid: &'static str,
    ) -> Result<Negotiation, AuthError> {
        let supported = mech_types
            .get(idx)
            .cloned()
            .ok_or_else(|| AuthError::Internal("mech index out of range".into()))?;
        let mech_types_der =
            crate::asn1::encode(mech_types).map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok(Negotiation {
            supported,
            oid,
            mech_types_der,
            mic_required: idx != 0,
        })
    }
}

#[derive(Debug)]
enum State {
    /// Waiting for the first token.
    Start,
    /// supportedMech sent; waiting for the krb5 token in a NegTokenResp.
    AwaitMechToken(Negotiation),
    /// AP-REP and our MIC sent; waiting for the client's MIC.
    AwaitMic(Negotiation, Box<Accepted>),
    /// NTLMSSP chosen, not the client's first: waiting for its NEGOTIATE_MESSAGE.
    NtlmAwaitNegotiate(Negotiation),
    /// CHALLENGE_MESSAGE sent; waiting for the AUTHENTICATE_MESSAGE (`None`: raw NTLMSSP
    /// without SPNEGO).
    NtlmAwaitAuthenticate(Option<Negotiation>, Box<NtlmServer>),
    /// Done or refused; any further token is unexpected.
    Finished,
}

/// One SESSION_SETUP exchange: feed each security buffer to [`Acceptor::step`].
#[derive(Debug)]
pub struct Acceptor {
    config: Arc<AcceptorConfig>,
    replay: Arc<ReplayCache>,
    state: State,
    /// NTLM allowed on this listener, with the names its CHALLENGE announces.
    ntlm: Option<TargetNames>,
    /// A KRB_AP_ERR_SKEW already left this exchange open for a corrected AP-REQ (one retry).
    skew_retried: bool,
}

fn resp(
    neg_state: NegState,
    supported: Option<ObjectIdentifier>,
    token: Option<Vec<u8>>,
    mic: Option<Vec<u8>>,
) -> Vec<u8> {
    let r = NegotiationToken::NegTokenResp(NegTokenResp {
        neg_state: Some(neg_state),
        supported_mech: supported,
        response_token: token.map(OctetString::from),
        mech_list_mic: mic.map(OctetString::from),
    });
    crate::asn1::encode(&r).unwrap_or_default()
}

fn refused(error: AuthError, output: Option<Vec<u8>>) -> Step {
    Step::Refused { output, error }
}

fn malformed(what: &'static str, e: impl ToString) -> AuthError {
    AuthError::Malformed {
        what,
        detail: e.to_string(),
    }
}

/// Strip the GSS krb5 framing (either krb5 OID, TOK_ID 01 00) from a mechanism token; a bare
/// AP-REQ (\[APPLICATION 14\] = 0x6e) is accepted too.
fn ap_req_bytes(token: &[u8]) -> Result<&[u8], AuthError> {
    if token.first() == Some(&0x6e) {
        return Ok(token);
    }
    let (mech, inner) = gss::unwrap(token).map_err(|e| malformed("krb5 token", e))?;
    if mech != oid::KRB5 && mech != oid::MS_KRB5 {
        return Err(malformed("krb5 token", "mechanism OID is not Kerberos"));
    }
    match gss::split_tok_id(inner) {
        Some((id, msg)) if id == gss::TOK_AP_REQ => Ok(msg),
        Some((id, _)) => Err(malformed(
            "krb5 token",
            format!("TOK_ID {:02x}{:02x} is not AP-REQ", id[0], id[1]),
        )),
        None => Err(malformed("krb5 token", "missing TOK_ID")),
    }
}

fn authenticated(acc: &Accepted, oid: &'static str) -> Authenticated {
    // The PAC informs, never decides (R8): an undecodable one is reported, not fatal.
    let (logon_info, pac_error) = match acc.pac.as_deref().map(crate::kerberos::pac::logon_info) {
        None | Some(Ok(None)) => (None, None),
        Some(Ok(Some(info))) => (Some(Box::new(info)), None),
        Some(Err(e)) => (None, Some(e.to_string())),
    };
    Authenticated {
        logon_info,
        pac_error,
        principal: acc.client.clone(),
        mechanism: Mechanism::Kerberos { oid },
        spn: acc.spn.clone(),
        kvno: acc.kvno,
        kvno_fallback: acc.kvno_fallback,
        ticket_enctype: acc.ticket_enctype,
        session_enctype: acc.session_key.enctype().number(),
        session_key: SessionKey::new(acc.session_key.as_bytes()),
        pac: acc.pac.clone(),
        pac_server_signature: acc.pac_server_signature,
        ticket_end: acc.ticket_end,
    }
}

/// The logon an NTLM exchange produced. NTLM has no ticket: `spn` is the client's
/// MsvAvTargetName (the SPN it would have asked a KDC for) or "-", and the session has no end
/// time of its own (`ticket_end` is set far ahead).
fn authenticated_ntlm(acc: &NtlmAccepted, now: SystemTime) -> Authenticated {
    const NO_END: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);
    Authenticated {
        principal: acc.principal.clone(),
        mechanism: Mechanism::Ntlm,
        spn: acc.target_spn.clone().unwrap_or_else(|| "-".into()),
        kvno: 0,
        kvno_fallback: false,
        ticket_enctype: 0,
        session_enctype: 0,
        session_key: SessionKey::new(&acc.session_key[..]),
        pac: None,
        logon_info: None,
        pac_error: None,
        pac_server_signature: None,
        ticket_end: now.checked_add(NO_END).unwrap_or(now),
    }
}

/// Our initial sequence number for the AP-REP (RFC 4121 §4.2.6: random, 30 bits as MIT does).
fn our_seq() -> Result<u32, AuthError> {
    let mut b = [0u8; 4];
    random_bytes(&mut b).map_err(|e| AuthError::Internal(e.to_string()))?;
    Ok(u32::from_be_bytes(b) & 0x3fff_ffff)
}

impl Acceptor {
    /// A fresh exchange.
    pub fn new(config: Arc<AcceptorConfig>, replay: Arc<ReplayCache>) -> Self {
        Self {
            config,
            replay,
            state: State::Start,
            ntlm: None,
            skew_retried: false,
        }
    }

    /// After a [`Step::Refused`]: the exchange is still open, so the engine keeps the
    /// half-built session for the client's next token. True only for clock skew recovery
    /// ([MS-KILE 3.4.5]): the KRB_AP_ERR_SKEW told the client our time, and it may send one
    /// AP-REQ stamped with it (Windows does; MIT's acceptor allows the same).
    pub fn awaits_retry(&self) -> bool {
        matches!(self.state, State::AwaitMechToken(_))
    }

    /// Accept NTLMv2 (MS-NLMP) in this exchange, announcing `names` in the CHALLENGE. Without a
    /// password file in the config ([`AcceptorConfig::ntlm_users`]) NTLM stays off.
    pub fn allow_ntlm(mut self, names: TargetNames) -> Self {
        if self.config.ntlm_users.is_some() {
            self.ntlm = Some(names);
        }
        self
    }

    /// Feed one security buffer from a SESSION_SETUP request. `now` is the current time.
    pub fn step(&mut self, input: &[u8], now: SystemTime) -> Step {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Start => self.start(input, now),
            State::AwaitMechToken(neg) => self.await_mech_token(neg, input, now),
            State::AwaitMic(neg, acc) => Self::await_mic(&neg, &acc, input),
            State::NtlmAwaitNegotiate(neg) => self.ntlm_await_negotiate(neg, input, now),
            State::NtlmAwaitAuthenticate(neg, server) => {
                self.ntlm_authenticate(neg, &server, input, now)
            }
            State::Finished => refused(
                AuthError::Unexpected {
                    what: "token after the exchange ended",
                },
                None,
            ),
        }
    }

    fn start(&mut self, input: &[u8], now: SystemTime) -> Step {
        if input.is_empty() {
            // Some clients open with an empty buffer: offer our mechanisms again.
            self.state = State::Start;
            return Step::Continue {
                output: negotiate_hint_for(self.ntlm.is_some()),
            };
        }
        if input.starts_with(b"NTLMSSP\0") {
            // Raw NTLMSSP, no SPNEGO around it.
            return self.ntlm_negotiate(None, input, now);
        }
        let token = match gss::unwrap(input) {
            Ok((m, inner)) if m == oid::SPNEGO => crate::asn1::decode::<NegotiationToken>(inner)
                .map_err(|e| malformed("SPNEGO NegTokenInit", e)),
            Ok((m, _)) if m == oid::KRB5 || m == oid::MS_KRB5 => {
                return self.raw_krb5(m, input, now);
            }
            Ok((m, _)) => {
                return refused(
                    AuthError::UnsupportedMechanism {
                        offered: vec![gss::oid_to_dotted(m)],
                    },
                    None,
                );
            }
            // A bare NegotiationToken without the GSS header.
            Err(_) => crate::asn1::decode::<NegotiationToken>(input)
                .map_err(|e| malformed("SPNEGO token", e)),
        };
        match token {
            Ok(NegotiationToken::NegTokenInit(init)) => self.init(init, now),
            Ok(NegotiationToken::NegTokenResp(_)) => refused(
                AuthError::Unexpected {
                    what: "NegTokenResp before NegTokenInit",
                },
                None,
            ),
            Err(e) => refused(e, None),
        }
    }

    /// Raw GSS krb5 without SPNEGO: answer with the bare GSS AP-REP or KRB-ERROR.
    fn raw_krb5(&mut self, mech: &[u8], input: &[u8], now: SystemTime) -> Step {
        let oid_name = if mech == oid::MS_KRB5 {
            oid::MS_KRB5_STR
        } else {
            oid::KRB5_STR
        };
        let ap_req = match ap_req_bytes(input) {
            Ok(a) => a,
            Err(e) => return refused(e, None),
        };
        match verify_ap_req(&self.config, &self.replay, ap_req, now) {
            Err(rej) => {
                // Raw krb5 has no SPNEGO round to retry in: no skew recovery.
                let out = reply::krb_error(&rej, now, false);
                refused(rej.error, out)
            }
            Ok(acc) => {
                let seq = match acc.initiator_seq.map(|_| our_seq()).transpose() {
                    Ok(s) => s,
                    Err(e) => return refused(e, None),
                };
                let output = if acc.mutual {
                    match reply::ap_rep(&acc, seq) {
                        Ok(t) => t,
                        Err(e) => return refused(e, None),
                    }
                } else {
                    Vec::new()
                };
                Step::Done {
                    output,
                    session: authenticated(&acc, oid_name),
                }
            }
        }
    }

    fn init(&mut self, init: NegTokenInit, now: SystemTime) -> Step {
        let ntlm_idx = init
            .mech_types
            .iter()
            .position(|m| &m[..] == oid::NTLMSSP_ARCS);
        let has_krb5 = init.mech_types.iter().any(|m| krb5_oid_name(m).is_some());
        // NTLM when the client prefers it (or has nothing else) and this listener allows it;
        // an NTLM-first offer that also lists krb5 falls back to asking for krb5.
        match ntlm_idx {
            Some(ni) if (ni == 0 || !has_krb5) && self.ntlm.is_some() => {
                return self.ntlm_init(init, ni, now);
            }
            Some(_) if !has_krb5 => {
                let offered = init.mech_types.iter().map(dotted).collect();
                return refused(AuthError::NtlmDisabled { offered }, None);
            }
            _ => {}
        }
        let Some((idx, oid_name)) = init
            .mech_types
            .iter()
            .enumerate()
            .find_map(|(i, m)| krb5_oid_name(m).map(|n| (i, n)))
        else {
            let offered = init.mech_types.iter().map(dotted).collect();
            return refused(AuthError::UnsupportedMechanism { offered }, None);
        };
        let neg = match Negotiation::chosen(&init.mech_types, idx, oid_name) {
            Ok(n) => n,
            Err(e) => return refused(e, None),
        };
        match (idx, init.mech_token) {
            (0, Some(tok)) => self.mech_token(neg, &tok, true, init.mech_list_mic.as_deref(), now),
            // Not the client's first choice (or no optimistic token): name ours and wait.
            _ => self.name_mech_and_wait(neg, State::AwaitMechToken),
        }
    }

    /// Answers the NegTokenInit with our choice and no mechanism token yet; per RFC 4178 §5 a MIC
    /// is requested when the choice was not the client's first.
    fn name_mech_and_wait(&mut self, neg: Negotiation, next: fn(Negotiation) -> State) -> Step {
        let state = if neg.mic_required {
            NegState::RequestMic
        } else {
            NegState::AcceptIncomplete
        };
        let output = resp(state, Some(neg.supported.clone()), None, None);
        self.state = next(neg);
        Step::Continue { output }
    }

    fn await_mech_token(&mut self, neg: Negotiation, input: &[u8], now: SystemTime) -> Step {
        match crate::asn1::decode::<NegotiationToken>(input) {
            Ok(NegotiationToken::NegTokenResp(r)) => match r.response_token {
                Some(tok) => self.mech_token(neg, &tok, false, r.mech_list_mic.as_deref(), now),
                None => refused(
                    AuthError::Unexpected {
                        what: "NegTokenResp without a krb5 token",
                    },
                    None,
                ),
            },
            Ok(NegotiationToken::NegTokenInit(_)) => refused(
                AuthError::Unexpected {
                    what: "second NegTokenInit",
                },
                None,
            ),
            Err(e) => refused(malformed("SPNEGO NegTokenResp", e), None),
        }
    }

    /// Verify the AP-REQ and answer; `first_reply` decides whether supportedMech is included
    /// (RFC 4178 §4.2.2: only in the acceptor's first reply).
    fn mech_token(
        &mut self,
        neg: Negotiation,
        token: &[u8],
        first_reply: bool,
        client_mic: Option<&[u8]>,
        now: SystemTime,
    ) -> Step {
        let supported = first_reply.then(|| neg.supported.clone());
        let ap_req = match ap_req_bytes(token) {
            Ok(a) => a,
            Err(e) => return refused(e, None),
        };
        let acc = match verify_ap_req(&self.config, &self.replay, ap_req, now) {
            Ok(a) => a,
            Err(rej) => {
                // Only a KRB-ERROR is worth a token (the engine then answers
                // MORE_PROCESSING_REQUIRED); other refusals are a plain LOGON_FAILURE.
                // [MS-KILE 3.4.5] A first KRB_AP_ERR_SKEW attempts clock skew recovery: the
                // exchange stays open (accept-incomplete) for one AP-REQ with a corrected time.
                let recover = matches!(rej.error, AuthError::Skew { .. }) && !self.skew_retried;
                let state = if recover {
                    NegState::AcceptIncomplete
                } else {
                    NegState::Reject
                };
                let out = reply::krb_error(&rej, now, recover)
                    .map(|e| resp(state, supported, Some(e), None));
                if recover && out.is_some() {
                    self.skew_retried = true;
                    // The optimistic token was not the one accepted: RFC 4178 §5 then requires
                    // the mechListMIC exchange, and Samba's client insists on our MIC.
                    let mut neg = neg;
                    neg.mic_required = true;
                    self.state = State::AwaitMechToken(neg);
                }
                return refused(rej.error, out);
            }
        };
        let need_mic = neg.mic_required || client_mic.is_some();
        if need_mic && !acc.session_key.enctype().is_cfx() {
            let enctype = acc.session_key.enctype().number();
            return refused(AuthError::MicUnsupported { enctype }, None);
        }
        // Our sequence number goes in the AP-REP and in our MIC's SND_SEQ (0 when absent, as
        // the initiator then assumes).
        let seq = match acc.initiator_seq.map(|_| our_seq()).transpose() {
            Ok(s) => s,
            Err(e) => return refused(e, None),
        };
        let ap_rep = if acc.mutual {
            match reply::ap_rep(&acc, seq) {
                Ok(t) => Some(t),
                Err(e) => return refused(e, None),
            }
        } else {
            None
        };
        let our_mic = if need_mic {
            match mic::acceptor_mic(
                &acc.session_key,
                &neg.mech_types_der,
                u64::from(seq.unwrap_or(0)),
            ) {
                Ok(m) => Some(m),
                Err(e) => return refused(AuthError::Internal(e.to_string()), None),
            }
        } else {
            None
        };
        if let Some(m) = client_mic {
            if !mic::verify_initiator_mic(&acc.session_key, m, &neg.mech_types_der) {
                return refused(
                    AuthError::MicMismatch {
                        client: acc.client.clone(),
                    },
                    None,
                );
            }
            let output = resp(NegState::AcceptCompleted, supported, ap_rep, our_mic);
            return Step::Done {
                output,
                session: authenticated(&acc, neg.oid),
            };
        }
        if need_mic {
            // MIT's order: AP-REP and our MIC now, the client's MIC in the next leg.
            let output = resp(NegState::AcceptIncomplete, supported, ap_rep, our_mic);
            self.state = State::AwaitMic(neg, Box::new(acc));
            return Step::Continue { output };
        }
        let output = resp(NegState::AcceptCompleted, supported, ap_rep, None);
        Step::Done {
            output,
            session: authenticated(&acc, neg.oid),
        }
    }

    fn await_mic(neg: &Negotiation, acc: &Accepted, input: &[u8]) -> Step {
        let r = match crate::asn1::decode::<NegotiationToken>(input) {
            Ok(NegotiationToken::NegTokenResp(r)) => r,
            Ok(NegotiationToken::NegTokenInit(_)) => {
                return refused(
                    AuthError::Unexpected {
                        what: "NegTokenInit instead of the mechListMIC",
                    },
                    None,
                );
            }
            Err(e) => return refused(malformed("SPNEGO NegTokenResp", e), None),
        };
        let Some(m) = r.mech_list_mic else {
            return refused(
                AuthError::MicMissing {
                    client: acc.client.clone(),
                },
                None,
            );
        };
        if !mic::verify_initiator_mic(&acc.session_key, &m, &neg.mech_types_der) {
            return refused(
                AuthError::MicMismatch {
                    client: acc.client.clone(),
                },
                None,
            );
        }
        Step::Done {
            output: resp(NegState::AcceptCompleted, None, None, None),
            session: authenticated(acc, neg.oid),
        }
    }

    /// SPNEGO picked NTLMSSP (the client's mechanism `idx`).
    fn ntlm_init(&mut self, init: NegTokenInit, idx: usize, now: SystemTime) -> Step {
        let neg = match Negotiation::chosen(&init.mech_types, idx, oid::NTLMSSP_STR) {
            Ok(n) => n,
            Err(e) => return refused(e, None),
        };
        match (idx, init.mech_token) {
            (0, Some(tok)) => self.ntlm_negotiate(Some(neg), &tok, now),
            // No NEGOTIATE_MESSAGE yet (or the optimistic token was another mechanism's).
            _ => self.name_mech_and_wait(neg, State::NtlmAwaitNegotiate),
        }
    }

    fn ntlm_await_negotiate(&mut self, neg: Negotiation, input: &[u8], now: SystemTime) -> Step {
        match crate::asn1::decode::<NegotiationToken>(input) {
            Ok(NegotiationToken::NegTokenResp(NegTokenResp {
                response_token: Some(tok),
                ..
            })) => self.ntlm_negotiate_leg(neg, &tok, false, now),
            Ok(_) => refused(
                AuthError::Unexpected {
                    what: "SPNEGO token without the NTLM NEGOTIATE_MESSAGE",
                },
                None,
            ),
            Err(e) => refused(malformed("SPNEGO NegTokenResp", e), None),
        }
    }

    /// NEGOTIATE_MESSAGE in the first SPNEGO token (or raw): answer with the CHALLENGE.
    fn ntlm_negotiate(&mut self, neg: Option<Negotiation>, token: &[u8], now: SystemTime) -> Step {
        match neg {
            Some(n) => self.ntlm_negotiate_leg(n, token, true, now),
            None => {
                let Some(names) = &self.ntlm else {
                    return refused(
                        AuthError::NtlmDisabled {
                            offered: vec![oid::NTLMSSP_STR.into()],
                        },
                        None,
                    );
                };
                match NtlmServer::challenge(token, names, now) {
                    Ok((server, challenge)) => {
                        self.state = State::NtlmAwaitAuthenticate(None, Box::new(server));
                        Step::Continue { output: challenge }
                    }
                    Err(e) => refused(e, None),
                }
            }
        }
    }

    fn ntlm_negotiate_leg(
        &mut self,
        neg: Negotiation,
        token: &[u8],
        first_reply: bool,
        now: SystemTime,
    ) -> Step {
        let Some(names) = &self.ntlm else {
            return refused(
                AuthError::NtlmDisabled {
                    offered: vec![oid::NTLMSSP_STR.into()],
                },
                None,
            );
        };
        match NtlmServer::challenge(token, names, now) {
            Ok((server, challenge)) => {
                let supported = first_reply.then(|| neg.supported.clone());
                let output = resp(NegState::AcceptIncomplete, supported, Some(challenge), None);
                self.state = State::NtlmAwaitAuthenticate(Some(neg), Box::new(server));
                Step::Continue { output }
            }
            Err(e) => refused(e, None),
        }
    }

    /// AUTHENTICATE_MESSAGE: verify it, then the mechListMICs (RFC 4178 §5).
    fn ntlm_authenticate(
        &mut self,
        neg: Option<Negotiation>,
        server: &NtlmServer,
        input: &[u8],
        now: SystemTime,
    ) -> Step {
        let Some(users) = self.config.ntlm_users.clone() else {
            return refused(
                AuthError::NtlmDisabled {
                    offered: vec![oid::NTLMSSP_STR.into()],
                },
                None,
            );
        };
        let Some(neg) = neg else {
            // Raw NTLMSSP: the AUTHENTICATE_MESSAGE itself, nothing to send back.
            return match server.authenticate(input, &users, self.config.max_skew, now) {
                Ok(acc) => Step::Done {
                    output: Vec::new(),
                    session: authenticated_ntlm(&acc, now),
                },
                Err(e) => refused(e, None),
            };
        };
        let r = match crate::asn1::decode::<NegotiationToken>(input) {
            Ok(NegotiationToken::NegTokenResp(r)) => r,
            Ok(NegotiationToken::NegTokenInit(_)) => {
                return refused(
                    AuthError::Unexpected {
                        what: "second NegTokenInit",
                    },
                    None,
                );
            }
            Err(e) => return refused(malformed("SPNEGO NegTokenResp", e), None),
        };
        let Some(tok) = r.response_token else {
            return refused(
                AuthError::Unexpected {
                    what: "NegTokenResp without the NTLM AUTHENTICATE_MESSAGE",
                },
                None,
            );
        };
        let acc = match server.authenticate(&tok, &users, self.config.max_skew, now) {
            Ok(a) => a,
            Err(e) => return refused(e, None),
        };
        let our_mic = match r.mech_list_mic.as_deref() {
            Some(m) => {
                if !acc.verify_client_mic(&neg.mech_types_der, m) {
                    return refused(
                        AuthError::MicMismatch {
                            client: acc.client_name.clone(),
                        },
                        None,
                    );
                }
                Some(acc.server_mic(&neg.mech_types_der))
            }
            None if neg.mic_required => {
                return refused(
                    AuthError::MicMissing {
                        client: acc.client_name.clone(),
                    },
                    None,
                );
            }
            None => None,
        };
        Step::Done {
            output: resp(NegState::AcceptCompleted, None, None, our_mic),
            session: authenticated_ntlm(&acc, now),
        }
    }
}
