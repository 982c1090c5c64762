//! Why an authentication was refused. Each Display is one log line naming the cause and the fix
//! (field research R2, R9): operators read these, not the client.

use crate::crypto::enctype_name;

/// RFC 4120 §7.5.9 error codes we send in KRB-ERROR tokens.
pub mod code {
    /// KDC_ERR_ETYPE_NOSUPP: enctype not allowed by configuration.
    pub const KDC_ERR_ETYPE_NOSUPP: i32 = 14;
    /// KRB_AP_ERR_BAD_INTEGRITY: integrity check on decrypted field failed.
    pub const KRB_AP_ERR_BAD_INTEGRITY: i32 = 31;
    /// KRB_AP_ERR_TKT_EXPIRED: ticket expired.
    pub const KRB_AP_ERR_TKT_EXPIRED: i32 = 32;
    /// KRB_AP_ERR_TKT_NYV: ticket not yet valid.
    pub const KRB_AP_ERR_TKT_NYV: i32 = 33;
    /// KRB_AP_ERR_REPEAT: request is a replay.
    pub const KRB_AP_ERR_REPEAT: i32 = 34;
    /// KRB_AP_ERR_BADMATCH: ticket and authenticator don't match.
    pub const KRB_AP_ERR_BADMATCH: i32 = 36;
    /// KRB_AP_ERR_SKEW: clock skew too great.
    pub const KRB_AP_ERR_SKEW: i32 = 37;
    /// KRB_AP_ERR_BADVERSION: protocol version mismatch.
    pub const KRB_AP_ERR_BADVERSION: i32 = 39;
    /// KRB_AP_ERR_MSG_TYPE: invalid message type.
    pub const KRB_AP_ERR_MSG_TYPE: i32 = 40;
    /// KRB_AP_ERR_MODIFIED: message stream modified (wrong service key).
    pub const KRB_AP_ERR_MODIFIED: i32 = 41;
    /// KRB_AP_ERR_BADKEYVER: specified version of key is not available.
    pub const KRB_AP_ERR_BADKEYVER: i32 = 44;
    /// KRB_AP_ERR_NOKEY: service key not available.
    pub const KRB_AP_ERR_NOKEY: i32 = 45;
}

/// Why the acceptor refused a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The client offered no mechanism we implement (e.g. NTLMSSP only).
    #[error(
        "client offered no Kerberos mechanism (offered: {}); NTLM is not enabled, so the client must obtain a Kerberos ticket for this server's SPN (check the SPN is registered and the client uses the server's DNS name, not an IP)",
        offered.join(", ")
    )]
    UnsupportedMechanism {
        /// Dotted OIDs the client listed, in its order.
        offered: Vec<String>,
    },
    /// A token could not be decoded.
    #[error(
        "malformed {what} from client: {detail}; the client sent a token this acceptor cannot parse"
    )]
    Malformed {
        /// Which token.
        what: &'static str,
        /// Decoder detail.
        detail: String,
    },
    /// A token arrived that the negotiation state does not expect.
    #[error(
        "unexpected {what} at this point of the negotiation; the client must restart SESSION_SETUP"
    )]
    Unexpected {
        /// What arrived.
        what: &'static str,
    },
    /// pvno/msg-type not 5/14.
    #[error(
        "AP-REQ has protocol version {pvno} and message type {msg_type} (want 5 and 14); the client is not speaking Kerberos V5"
    )]
    BadVersion {
        /// pvno received.
        pvno: i32,
        /// msg-type received.
        msg_type: i32,
    },
    /// The ticket's enctype is disabled by configuration (RC4 without `allow_rc4`, an enctype
    /// left out of `enctypes`) or unknown.
    #[error("{}", enctype_refusal(spn, *enctype))]
    EnctypeNotAllowed {
        /// Ticket SPN.
        spn: String,
        /// Ticket enctype.
        enctype: i32,
    },
    /// No keytab key for (principal, enctype).
    #[error("no key in keytab for {spn} (ticket kvno {}, {}); keytab holds: {}; add the SPN's keys to the keytab (kadmin ktadd / ktpass) or use the SPN the keytab has", kvno.map_or("none".to_string(), |k| k.to_string()), enctype_name(*enctype), if keytab.is_empty() { "nothing".to_string() } else { keytab.join("; ") })]
    NoKey {
        /// Ticket sname@realm.
        spn: String,
        /// Ticket kvno, if sent.
        kvno: Option<u32>,
        /// Ticket enctype.
        enctype: i32,
        /// Keytab summary lines.
        keytab: Vec<String>,
    },
    /// Keys for the SPN exist but none decrypts the ticket, and the ticket's kvno is not in the keytab.
    #[error("ticket for {spn} has kvno {kvno} ({}) but the keytab holds kvnos {tried:?} and none decrypts it; the keytab is stale: re-export it after the last password/key change (kvno {kvno})", enctype_name(*enctype))]
    BadKeyVersion {
        /// Ticket sname@realm.
        spn: String,
        /// Ticket kvno.
        kvno: u32,
        /// Ticket enctype.
        enctype: i32,
        /// kvnos tried.
        tried: Vec<u32>,
    },
    /// The key with the right kvno did not decrypt the ticket.
    #[error("ticket for {spn} (kvno {}, {}) failed its integrity check with the keytab key (tried kvnos {tried:?}); the keytab key differs from the KDC's (wrong password, re-keyed account, or a CNAME alias mapped to another account's SPN)", kvno.map_or("none".to_string(), |k| k.to_string()), enctype_name(*enctype))]
    TicketModified {
        /// Ticket sname@realm.
        spn: String,
        /// Ticket kvno, if sent.
        kvno: Option<u32>,
        /// Ticket enctype.
        enctype: i32,
        /// kvnos tried.
        tried: Vec<u32>,
    },
    /// The authenticator did not decrypt with the ticket session key.
    #[error(
        "authenticator for {spn} failed its integrity check with the ticket session key; the AP-REQ was tampered with or corrupted"
    )]
    AuthenticatorIntegrity {
        /// Ticket sname@realm.
        spn: String,
    },
    /// Authenticator cname/crealm differ from the ticket's.
    #[error(
        "authenticator names {authenticator} but the ticket was issued to {ticket}; the AP-REQ is forged or mixed up"
    )]
    ClientMismatch {
        /// Ticket client.
        ticket: String,
        /// Authenticator client.
        authenticator: String,
    },
    /// The authenticator time is too far from ours.
    #[error(
        "clock skew too great: client {client} clock is {} {} this server (limit {}); synchronise both clocks with NTP",
        duration_text(offset_secs.unsigned_abs()),
        if *offset_secs >= 0 { "ahead of" } else { "behind" },
        duration_text(*max_skew_secs)
    )]
    Skew {
        /// Client principal.
        client: String,
        /// Client time minus server time, seconds.
        offset_secs: i64,
        /// Allowed skew.
        max_skew_secs: u64,
    },
    /// Ticket starttime in the future beyond the skew.
    #[error(
        "ticket for {client} is not valid for another {starts_in_secs} s; check the server and KDC clocks (NTP)"
    )]
    TicketNotYetValid {
        /// Client principal.
        client: String,
        /// Seconds until valid.
        starts_in_secs: i64,
    },
    /// Ticket endtime passed beyond the skew.
    #[error(
        "ticket for {client} expired {expired_secs_ago} s ago; the client must get a new service ticket (kinit / klist purge)"
    )]
    TicketExpired {
        /// Client principal.
        client: String,
        /// Seconds since expiry.
        expired_secs_ago: i64,
    },
    /// The same authenticator was seen before.
    #[error(
        "replayed authenticator from {client} for {spn}; someone resent a captured AP-REQ (or the client reused one)"
    )]
    Replay {
        /// Client principal.
        client: String,
        /// Service principal.
        spn: String,
    },
    /// The client's mechListMIC did not verify.
    #[error(
        "SPNEGO mechListMIC from {client} did not verify; the mechanism list was tampered with (downgrade attempt) or the client's MIC is broken"
    )]
    MicMismatch {
        /// Client principal.
        client: String,
    },
    /// A mechListMIC was needed but the client sent none.
    #[error(
        "client {client} did not send the SPNEGO mechListMIC RFC 4178 requires when a non-preferred mechanism is chosen"
    )]
    MicMissing {
        /// Client principal.
        client: String,
    },
    /// A mechListMIC is needed with an enctype whose MIC tokens we do not implement.
    #[error("SPNEGO mechListMIC with {} session keys is not supported; use AES enctypes or list Kerberos first on the client", enctype_name(*enctype))]
    MicUnsupported {
        /// Session key enctype.
        enctype: i32,
    },
    /// The client offered only NTLMSSP on a listener where NTLM is off.
    #[error(
        "client offered only NTLM (offered: {}) and NTLM is off on this listener; the client has no Kerberos ticket for the name it dialled: register cifs/<that name> and have the client use the DNS name (not an IP), or set ntlm = true on this listener",
        offered.join(", ")
    )]
    NtlmDisabled {
        /// Dotted OIDs the client listed, in its order.
        offered: Vec<String>,
    },
    /// An anonymous (empty user) NTLM logon.
    #[error(
        "anonymous NTLM logon from workstation {workstation:?} refused; this server has no guest or anonymous access"
    )]
    NtlmAnonymous {
        /// The client's workstation name.
        workstation: String,
    },
    /// An NTLMv1 or LM response.
    #[error(
        "NTLMv1/LM response from {client} ({nt_len}-byte NT response) refused: only NTLMv2 is accepted; set the client to NTLMv2 only (Windows LmCompatibilityLevel 3 or higher, Samba client ntlmv2 auth = yes)"
    )]
    NtlmV1 {
        /// `DOMAIN\user` as sent.
        client: String,
        /// Length of the NtChallengeResponse.
        nt_len: usize,
    },
    /// The NTLM user is not in the password file.
    #[error(
        "NTLM user {client} is not in ntlm_users; add a line made with `rsmbd ntlm-hash` or use Kerberos"
    )]
    NtlmUnknownUser {
        /// `DOMAIN\user` as sent.
        client: String,
    },
    /// The NTProofStr did not verify.
    #[error(
        "NTLMv2 response from {client} does not verify: wrong password, or ntlm_users holds an old hash for this user"
    )]
    NtlmBadResponse {
        /// `DOMAIN\user` as sent.
        client: String,
    },
    /// The NTLMv2 response's timestamp is outside the allowed window.
    #[error(
        "NTLMv2 response from {client} is stamped {offset_secs} s from this server's time (limit {max_skew_secs} s): a replayed or stale response, or a client clock off; synchronise the clocks with NTP"
    )]
    NtlmSkew {
        /// `DOMAIN\user` as sent.
        client: String,
        /// Response time minus server time, seconds.
        offset_secs: i64,
        /// Allowed skew.
        max_skew_secs: u64,
    },
    /// The AUTHENTICATE_MESSAGE MIC did not verify.
    #[error(
        "NTLM message MIC from {client} did not verify; the NTLM exchange was tampered with (e.g. flags stripped by a relay)"
    )]
    NtlmMicMismatch {
        /// `DOMAIN\user` as sent.
        client: String,
    },
    /// Local failure (random source, encoder).
    #[error("internal error: {0}; this is a server bug or an OS failure")]
    Internal(String),
}

/// "7m12s (432 s)": minutes for people, seconds for scripts.
fn duration_text(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else {
        format!("{}m{:02}s ({secs} s)", secs / 60, secs % 60)
    }
}

/// The log line for a refused enctype: RC4 says which switch turns it on, DES that it never is.
fn enctype_refusal(spn: &str, enctype: i32) -> String {
    let name = enctype_name(enctype);
    match enctype {
        23 | 24 => format!(
            "RC4 ticket refused: allow_rc4 is off (ticket for {spn} uses {name} ({enctype})); give the account AES keys (msDS-SupportedEncryptionTypes / kadmin -e aes256-cts-hmac-sha1-96) or set allow_rc4 = true"
        ),
        1..=3 => format!(
            "DES ticket refused: {name} ({enctype}) is never accepted (ticket for {spn}); give the account AES keys"
        ),
        _ => format!(
            "ticket for {spn} uses {name} ({enctype}), which this server does not accept; add it to `enctypes` in the config or give the account a key of an accepted enctype (kadmin -e aes256-cts-hmac-sha1-96)"
        ),
    }
}

impl AuthError {
    /// The RFC 4120 error code to put in a KRB-ERROR, if this failure warrants one.
    pub fn krb_error_code(&self) -> Option<i32> {
        use code::*;
        Some(match self {
            Self::BadVersion { msg_type, .. } if *msg_type != 14 => KRB_AP_ERR_MSG_TYPE,
            Self::BadVersion { .. } => KRB_AP_ERR_BADVERSION,
            Self::EnctypeNotAllowed { .. } => KDC_ERR_ETYPE_NOSUPP,
            Self::NoKey { .. } => KRB_AP_ERR_NOKEY,
            Self::BadKeyVersion { .. } => KRB_AP_ERR_BADKEYVER,
            Self::TicketModified { .. } => KRB_AP_ERR_MODIFIED,
            Self::AuthenticatorIntegrity { .. } => KRB_AP_ERR_BAD_INTEGRITY,
            Self::ClientMismatch { .. } => KRB_AP_ERR_BADMATCH,
            Self::Skew { .. } => KRB_AP_ERR_SKEW,
            Self::TicketNotYetValid { .. } => KRB_AP_ERR_TKT_NYV,
            Self::TicketExpired { .. } => KRB_AP_ERR_TKT_EXPIRED,
            Self::Replay { .. } => KRB_AP_ERR_REPEAT,
            Self::UnsupportedMechanism { .. }
            | Self::Malformed { .. }
            | Self::Unexpected { .. }
            | Self::MicMismatch { .. }
            | Self::MicMissing { .. }
            | Self::MicUnsupported { .. }
            | Self::NtlmDisabled { .. }
            | Self::NtlmAnonymous { .. }
            | Self::NtlmV1 { .. }
            | Self::NtlmUnknownUser { .. }
            | Self::NtlmBadResponse { .. }
            | Self::NtlmSkew { .. }
            | Self::NtlmMicMismatch { .. }
            | Self::Internal(_) => return None,
        })
    }
}
