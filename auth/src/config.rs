//! Acceptor configuration.

use std::sync::Arc;
use std::time::Duration;

use crate::crypto::Enctype;
use crate::keytab::Keytab;
use crate::ntlm::NtUsers;

/// What the acceptor accepts. Shared by all sessions (`Arc<AcceptorConfig>`).
#[derive(Debug, Clone)]
pub struct AcceptorConfig {
    /// Service keys; every principal in it is accepted (R1).
    pub keytab: Arc<Keytab>,
    /// Allowed clock difference (RFC 4120 §1.6; default 300 s).
    pub max_skew: Duration,
    /// Accept rc4-hmac (23) tickets and session keys (off by default: R5), even when
    /// `enctypes` does not list it.
    pub allow_rc4: bool,
    /// NTLMv2 users (the password file); `None` keeps NTLM off everywhere. Each exchange also
    /// needs [`crate::Acceptor::allow_ntlm`] (the listener's `ntlm = true`).
    pub ntlm_users: Option<Arc<NtUsers>>,
    /// Enctypes accepted for tickets and session keys (R5): by default the four AES ones
    /// (17, 18, 19, 20). DES is never implemented, so it can never be accepted.
    pub enctypes: Vec<Enctype>,
}

impl AcceptorConfig {
    /// Defaults: 300 s skew, RC4 refused.
    pub fn new(keytab: Arc<Keytab>) -> Self {
        Self {
            keytab,
            max_skew: Duration::from_secs(300),
            allow_rc4: false,
            ntlm_users: None,
            enctypes: Self::DEFAULT_ENCTYPES.to_vec(),
        }
    }

    /// The default accepted set: AES only (RFC 3962 and RFC 8009).
    pub const DEFAULT_ENCTYPES: [Enctype; 4] = [
        Enctype::Aes256CtsHmacSha384192,
        Enctype::Aes128CtsHmacSha256128,
        Enctype::Aes256CtsHmacSha196,
        Enctype::Aes128CtsHmacSha196,
    ];

    /// The enctype `n`, if implemented and accepted by this configuration.
    pub fn accepts(&self, n: i32) -> Option<Enctype> {
        Enctype::from_i32(n)
            .filter(|e| self.enctypes.contains(e) || (self.allow_rc4 && *e == Enctype::Rc4Hmac))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn aes_by_default_rc4_only_when_enabled() {
        let mut c = AcceptorConfig::new(Arc::new(Keytab::default()));
        for n in [17, 18, 19, 20] {
            assert!(c.accepts(n).is_some(), "{n}");
        }
        assert!(c.accepts(23).is_none());
        assert!(c.accepts(3).is_none(), "DES is never accepted");
        c.allow_rc4 = true;
        assert_eq!(c.accepts(23), Some(Enctype::Rc4Hmac));
        c.allow_rc4 = false;
        c.enctypes = vec![Enctype::Rc4Hmac, Enctype::Aes256CtsHmacSha196];
        assert!(c.accepts(23).is_some(), "listing 23 accepts it");
        assert!(
            c.accepts(17).is_none(),
            "an unlisted AES enctype is refused"
        );
    }
}
