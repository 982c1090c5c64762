//! [MS-SMB2 3.3.5.4, 3.3.5.5] SHA-512 preauth integrity hash for dialect 3.1.1.
//!
//! `H(n) = SHA-512(H(n-1) ‖ message)` starting from 64 zero bytes: the connection hash covers
//! the NEGOTIATE request and response; each session forks it at its first SESSION_SETUP request
//! and extends it with every SESSION_SETUP request and every non-final response of that session.

use sha2::{Digest, Sha512};

/// A preauth integrity hash value.
#[derive(Clone, PartialEq, Eq)]
pub struct PreauthHash([u8; 64]);

impl std::fmt::Debug for PreauthHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreauthHash(..)")
    }
}

impl Default for PreauthHash {
    fn default() -> Self {
        Self([0; 64])
    }
}

impl PreauthHash {
    /// Extends the hash with one whole SMB2 message (header included, no transport framing).
    pub fn update(&mut self, message: &[u8]) {
        let mut h = Sha512::new();
        h.update(self.0);
        h.update(message);
        self.0.copy_from_slice(&h.finalize());
    }

    /// The current value (the KDF context for 3.1.1 keys).
    pub fn value(&self) -> &[u8; 64] {
        &self.0
    }
}
