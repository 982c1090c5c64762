//! Acceptor configuration.

use std::sync::Arc;
use std::time::Duration;

use crate::keytab::Keytab;
use crate::ntlm::NtUsers;

/// What the acceptor accepts. Shared by all sessions (`Arc<AcceptorConfig>`).
#[derive(Debug, Clone)]
pub struct AcceptorConfig {
    /// Service keys; every principal in it is accepted (R1).
    pub keytab: Arc<Keytab>,
    /// Allowed clock difference (RFC 4120 §1.6; default 300 s).
    pub max_skew: Duration,
    /// Accept rc4-hmac (23) tickets and session keys (off by default: R5).
    pub allow_rc4: bool,
    /// NTLMv2 users (the password file); `None` keeps NTLM off everywhere. Each exchange also
    /// needs [`crate::Acceptor::allow_ntlm`] (the listener's `ntlm = true`).
    pub ntlm_users: Option<Arc<NtUsers>>,
}

impl AcceptorConfig {
    /// Defaults: 300 s skew, RC4 refused.
    pub fn new(keytab: Arc<Keytab>) -> Self {
        Self {
            keytab,
            max_skew: Duration::from_secs(300),
            allow_rc4: false,
            ntlm_users: None,
        }
    }
}
