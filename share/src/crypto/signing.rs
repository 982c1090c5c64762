//! [MS-SMB2 3.1.4.1] Signing an SMB2 message, and [3.1.5.1] verifying one.
//!
//! The signature covers the whole message (header and body, and for a compound member the
//! padding up to the next member) with the 16-byte Signature field zeroed. For AES-GMAC the
//! 12-byte nonce is the MessageId followed by a 32-bit value whose bit 0 is set for a response
//! (SMB2_FLAGS_SERVER_TO_REDIR) and bit 1 for a CANCEL request.

use aes::Aes128;
use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Nonce};
use cmac::Cmac;
use hmac::{Hmac, KeyInit, Mac};
use rsmbd_protocol::Command;
use rsmbd_protocol::header::{FLAGS_OFFSET, HEADER_SIZE, HeaderFlags, SIGNATURE_OFFSET};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::keys::SigningAlgorithm;

/// Computes and writes the signature of `msg` (a whole SMB2 message, Flags already final).
/// Messages shorter than a header are left untouched.
pub fn sign(algorithm: SigningAlgorithm, key: &[u8; 16], msg: &mut [u8]) {
    if let Some(tag) = compute(algorithm, key, msg)
        && let Some(sig) = msg.get_mut(SIGNATURE_OFFSET..SIGNATURE_OFFSET + 16)
    {
        sig.copy_from_slice(&tag);
    }
}

/// Checks the signature of `msg` in constant time. The buffer is restored before returning.
pub fn verify(algorithm: SigningAlgorithm, key: &[u8; 16], msg: &mut [u8]) -> bool {
    let Some(received) = msg
        .get(SIGNATURE_OFFSET..SIGNATURE_OFFSET + 16)
        .map(<[u8]>::to_vec)
    else {
        return false;
    };
    let Some(expected) = compute(algorithm, key, msg) else {
        return false;
    };
    if let Some(sig) = msg.get_mut(SIGNATURE_OFFSET..SIGNATURE_OFFSET + 16) {
        sig.copy_from_slice(&received);
    }
    bool::from(expected.ct_eq(&received[..]))
}

/// The MAC over `msg` with its signature field zeroed (left zeroed: callers overwrite it).
fn compute(algorithm: SigningAlgorithm, key: &[u8; 16], msg: &mut [u8]) -> Option<[u8; 16]> {
    if msg.len() < HEADER_SIZE {
        return None;
    }
    msg.get_mut(SIGNATURE_OFFSET..SIGNATURE_OFFSET + 16)?
        .fill(0);
    let nonce = match algorithm {
        SigningAlgorithm::AesGmac => gmac_nonce(msg)?,
        _ => [0; 12],
    };
    mac(algorithm, key, &nonce, msg)
}

/// The bare MAC primitive: HMAC-SHA256 truncated to 16 bytes, AES-128-CMAC (RFC 4493), or
/// AES-128-GMAC (GCM with no plaintext and `data` as the additional data; `nonce` is used by
/// GMAC only). Separate from message handling so the RFC and NIST vectors test this code.
pub fn mac(
    algorithm: SigningAlgorithm,
    key: &[u8; 16],
    nonce: &[u8; 12],
    data: &[u8],
) -> Option<[u8; 16]> {
    let mut tag = [0u8; 16];
    match algorithm {
        SigningAlgorithm::HmacSha256 => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
            mac.update(data);
            tag.copy_from_slice(mac.finalize().into_bytes().get(..16)?);
        }
        SigningAlgorithm::AesCmac => {
            let mut mac = <Cmac<Aes128> as KeyInit>::new_from_slice(key).ok()?;
            mac.update(data);
            tag.copy_from_slice(&mac.finalize().into_bytes());
        }
        SigningAlgorithm::AesGmac => {
            let cipher = Aes128Gcm::new_from_slice(key).ok()?;
            let t = cipher
                .encrypt_inout_detached(&Nonce::from(*nonce), data, (&mut [][..]).into())
                .ok()?;
            tag.copy_from_slice(&t);
        }
    }
    Some(tag)
}

/// [MS-SMB2 3.1.4.1] The AES-GMAC nonce: MessageId, then role and cancel bits.
fn gmac_nonce(msg: &[u8]) -> Option<[u8; 12]> {
    let message_id: [u8; 8] = msg.get(24..32)?.try_into().ok()?;
    let flags = u32::from_le_bytes(msg.get(FLAGS_OFFSET..FLAGS_OFFSET + 4)?.try_into().ok()?);
    let command = u16::from_le_bytes(msg.get(12..14)?.try_into().ok()?);
    let mut bits = 0u32;
    if flags & HeaderFlags::SERVER_TO_REDIR != 0 {
        bits |= 1;
    }
    if Command(command) == Command::CANCEL {
        bits |= 2;
    }
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&message_id);
    nonce[8..].copy_from_slice(&bits.to_le_bytes());
    Some(nonce)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn message() -> Vec<u8> {
        let mut m = vec![0u8; 120];
        m[..4].copy_from_slice(&[0xFE, b'S', b'M', b'B']);
        m[4] = 64;
        m[24] = 7; // MessageId
        for (i, b) in m.iter_mut().enumerate().skip(64) {
            *b = i as u8;
        }
        m
    }

    #[test]
    fn sign_then_verify_each_algorithm_and_detect_tampering() {
        let key = [0x42u8; 16];
        for alg in [
            SigningAlgorithm::HmacSha256,
            SigningAlgorithm::AesCmac,
            SigningAlgorithm::AesGmac,
        ] {
            let mut m = message();
            sign(alg, &key, &mut m);
            assert_ne!(&m[48..64], &[0u8; 16], "{alg:?} wrote a signature");
            let snapshot = m.clone();
            assert!(verify(alg, &key, &mut m), "{alg:?} verifies");
            assert_eq!(m, snapshot, "verify restores the buffer");
            m[100] ^= 1;
            assert!(
                !verify(alg, &key, &mut m),
                "{alg:?} detects a flipped body byte"
            );
            m[100] ^= 1;
            assert!(
                !verify(alg, &[0x43; 16], &mut m),
                "{alg:?} detects the wrong key"
            );
        }
    }

    #[test]
    fn gmac_nonce_binds_the_role_bit() {
        // The same bytes signed as a request and as a response must not share a signature, so a
        // response signature cannot be replayed as a request (MS-SMB2 3.1.4.1 nonce role bit).
        let key = [1u8; 16];
        let mut rsp = message();
        rsp[16] |= 1; // SERVER_TO_REDIR
        sign(SigningAlgorithm::AesGmac, &key, &mut rsp);
        let mut as_request = rsp.clone();
        as_request[16] &= !1;
        assert!(!verify(SigningAlgorithm::AesGmac, &key, &mut as_request));
        assert!(verify(SigningAlgorithm::AesGmac, &key, &mut rsp));
    }

    #[test]
    fn short_message_is_never_valid() {
        let mut m = vec![0u8; 10];
        assert!(!verify(SigningAlgorithm::AesCmac, &[0; 16], &mut m));
    }
}
