//! What one acceptor step returns to the SMB engine, and the authenticated session.

use std::fmt;
use std::time::SystemTime;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::AuthError;

/// The result of feeding one security buffer to [`crate::Acceptor::step`].
#[derive(Debug)]
pub enum Step {
    /// Send `output` with STATUS_MORE_PROCESSING_REQUIRED and wait for the next token.
    Continue {
        /// Token for the SESSION_SETUP response.
        output: Vec<u8>,
    },
    /// Authenticated: send `output` with STATUS_SUCCESS.
    Done {
        /// NegTokenResp accept-completed with the GSS AP-REP (or the raw GSS AP-REP for raw krb5).
        output: Vec<u8>,
        /// Who logged in, and the session key.
        session: Authenticated,
    },
    /// Refused: log `error`. `output` is present exactly when there is a KRB-ERROR to return
    /// (send it with STATUS_MORE_PROCESSING_REQUIRED, as Samba does); otherwise send
    /// STATUS_LOGON_FAILURE. [`Step::more_processing_required`] says the same.
    /// Normally the exchange is over; after a first KRB_AP_ERR_SKEW it stays open for one
    /// corrected AP-REQ ([`crate::Acceptor::awaits_retry`], MS-KILE 3.4.5).
    Refused {
        /// NegTokenResp reject (accept-incomplete for skew recovery) carrying a KRB-ERROR, or a
        /// raw GSS KRB-ERROR for raw krb5.
        output: Option<Vec<u8>>,
        /// The cause; its Display is one log line with the fix.
        error: AuthError,
    },
}

impl Step {
    /// True when the SMB status must be STATUS_MORE_PROCESSING_REQUIRED: always for
    /// [`Step::Continue`], and for [`Step::Refused`] when the output carries a KRB-ERROR (as
    /// Samba does, so Windows can react to e.g. KRB_AP_ERR_SKEW). Otherwise a refusal is
    /// STATUS_LOGON_FAILURE and [`Step::Done`] is STATUS_SUCCESS.
    pub fn more_processing_required(&self) -> bool {
        match self {
            Self::Continue { .. } => true,
            Self::Done { .. } => false,
            Self::Refused { output, error } => output.is_some() && error.krb_error_code().is_some(),
        }
    }
}

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// Kerberos V5, via SPNEGO or raw GSS krb5.
    Kerberos {
        /// The mechanism OID the client listed ("1.2.840.48018.1.2.2" or "1.2.840.113554.1.2.2").
        oid: &'static str,
    },
    /// NTLMv2 via NTLMSSP (MS-NLMP), on listeners with `ntlm = true`.
    Ntlm,
}

/// The GSS session key, wiped on drop. MS-SMB2 uses its first 16 bytes for SMB 3.x signing keys
/// and the whole key for the AES-256 cipher KDF (as Samba does).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SessionKey(Vec<u8>);

impl SessionKey {
    /// Wrap key bytes.
    pub fn new(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
    /// The key bytes (16 or 32 for AES).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({} bytes)", self.0.len())
    }
}

/// A successful logon.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Client `name@REALM` (UTF-8 as sent; invalid bytes replaced).
    pub principal: String,
    /// Mechanism and the OID the client used.
    pub mechanism: Mechanism,
    /// The ticket's `sname@realm` that matched a keytab entry.
    pub spn: String,
    /// kvno of the key that decrypted the ticket.
    pub kvno: u32,
    /// True when that kvno was not the ticket's (logged: R4).
    pub kvno_fallback: bool,
    /// Enctype of the ticket encryption.
    pub ticket_enctype: i32,
    /// Enctype of the session key (subkey or ticket key).
    pub session_enctype: i32,
    /// The session key.
    pub session_key: SessionKey,
    /// Raw PAC bytes, if the ticket had one whose server signature did not fail (never required).
    pub pac: Option<Vec<u8>>,
    /// The PAC's logon information (MS-PAC 2.5): user and group SIDs. `None` without a PAC,
    /// with a minimal PAC (MIT ≥ 1.20) or when it did not decode (see `pac_error`).
    pub logon_info: Option<Box<crate::kerberos::pac_logon::LogonInfo>>,
    /// Why the PAC's logon information could not be read: log it; the logon still succeeds (R8).
    pub pac_error: Option<String>,
    /// MS-PAC §2.8.1 server signature: `Some(true)` verified with the service key, `Some(false)`
    /// failed (the PAC was then dropped: log it), `None` no PAC or no checkable signature.
    pub pac_server_signature: Option<bool>,
    /// Ticket end time: sessions should expire then.
    pub ticket_end: SystemTime,
}
