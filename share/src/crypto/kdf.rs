//! [SP800-108] KDF in counter mode with HMAC-SHA256, as MS-SMB2 3.1.4.2 uses it.
//!
//! `K = HMAC-SHA256(Ki, [i]₃₂ ‖ Label ‖ 0x00 ‖ Context ‖ [L]₃₂)` with i = 1 and L = 128 or 256: a
//! single PRF block is enough for either length. MS-SMB2 labels already carry their own
//! terminating NUL (`"SMB2AESCMAC\0"`), and the KDF adds the 0x00 separator on top.
//!
//! [SP800-108]: https://csrc.nist.gov/pubs/sp/800/108/r1/final

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Derives `L` = `out_len * 8` bits (16 or 32 bytes) from `key`.
pub fn derive(key: &[u8], label: &[u8], context: &[u8], out_len: usize) -> Zeroizing<Vec<u8>> {
    debug_assert!(out_len == 16 || out_len == 32);
    // HMAC takes keys of any length (longer ones are hashed), so `new_from_slice` cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return Zeroizing::new(vec![0; out_len]);
    };
    mac.update(&1u32.to_be_bytes());
    mac.update(label);
    mac.update(&[0]);
    mac.update(context);
    mac.update(&((out_len as u32) * 8).to_be_bytes());
    let full = mac.finalize().into_bytes();
    Zeroizing::new(full.iter().copied().take(out_len).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn smb30_signing_key_vector() {
        // "Encryption in SMB 3.0: a protocol perspective": SessionKey -> SigningKey.
        let session_key = hex::decode("B4546771B515F766A86735532DD6C4F0").unwrap();
        let k = derive(&session_key, b"SMB2AESCMAC\0", b"SmbSign\0", 16);
        assert_eq!(hex::encode_upper(&*k), "F773CD23C18FD1E08EE510CADA7CF852");
    }
}
