//! RFC 4121 §4.2.6.1 MIC tokens (TOK_ID 04 04), used for the SPNEGO mechListMIC (RFC 4178 §5).
//! Only CFX enctypes (AES); RC4 uses RFC 4757's older token format, not implemented.

use subtle::ConstantTimeEq;

use crate::crypto::{Key, usage};

/// TOK_ID of a CFX MIC token.
const TOK_ID_MIC: [u8; 2] = [0x04, 0x04];
/// Flags bit: token sent by the acceptor.
pub const FLAG_SENT_BY_ACCEPTOR: u8 = 0x01;
/// Flags bit: acceptor subkey in use (never set by us: we send no acceptor subkey).
pub const FLAG_ACCEPTOR_SUBKEY: u8 = 0x04;
const HEADER_LEN: usize = 16;

/// The 16-byte header: TOK_ID, Flags, 5 x 0xFF filler, SND_SEQ (big-endian 64-bit).
fn header(flags: u8, seq: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    let (front, back) = h.split_at_mut(8);
    front.copy_from_slice(&[0x04, 0x04, flags, 0xff, 0xff, 0xff, 0xff, 0xff]);
    back.copy_from_slice(&seq.to_be_bytes());
    h
}

/// Our (acceptor) MIC over `data`: checksum(Kc usage 23, data | header) (RFC 4121 §4.2.6.1).
pub fn acceptor_mic(
    key: &Key,
    data: &[u8],
    seq: u64,
) -> Result<Vec<u8>, crate::crypto::CryptoError> {
    let h = header(FLAG_SENT_BY_ACCEPTOR, seq);
    let mut msg = data.to_vec();
    msg.extend_from_slice(&h);
    let mut out = h.to_vec();
    out.extend(key.checksum(usage::KG_ACCEPTOR_SIGN, &msg)?);
    Ok(out)
}

/// Verify an initiator MIC token over `data` with `key` (usage 25). Returns false on any
/// mismatch or malformed token.
pub fn verify_initiator_mic(key: &Key, token: &[u8], data: &[u8]) -> bool {
    let Some((h, cksum)) = token.split_at_checked(HEADER_LEN) else {
        return false;
    };
    let ok_header = h.get(..2) == Some(&TOK_ID_MIC[..])
        && h.get(2).is_some_and(|f| f & FLAG_SENT_BY_ACCEPTOR == 0)
        && h.get(3..8).is_some_and(|f| f.iter().all(|b| *b == 0xff));
    if !ok_header {
        return false;
    }
    let mut msg = data.to_vec();
    msg.extend_from_slice(h);
    match key.checksum(usage::KG_INITIATOR_SIGN, &msg) {
        Ok(want) => bool::from(want.ct_eq(cksum)),
        Err(_) => false,
    }
}

/// Build an initiator MIC (tests play the client with it).
pub fn initiator_mic(
    key: &Key,
    data: &[u8],
    seq: u64,
) -> Result<Vec<u8>, crate::crypto::CryptoError> {
    let h = header(0, seq);
    let mut msg = data.to_vec();
    msg.extend_from_slice(&h);
    let mut out = h.to_vec();
    out.extend(key.checksum(usage::KG_INITIATOR_SIGN, &msg)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::crypto::Enctype;

    #[test]
    fn initiator_mic_verifies_and_tamper_fails() {
        let key = Key::new(Enctype::Aes256CtsHmacSha196, &[9u8; 32]).unwrap();
        let mic = initiator_mic(&key, b"mechlist", 42).unwrap();
        assert_eq!(mic.len(), 16 + 12);
        assert_eq!(&mic[..8], &[4, 4, 0, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(&mic[8..16], &42u64.to_be_bytes());
        assert!(verify_initiator_mic(&key, &mic, b"mechlist"));
        assert!(!verify_initiator_mic(&key, &mic, b"mechlisT"));
        // Our own (acceptor) token must not pass as the initiator's.
        let ours = acceptor_mic(&key, b"mechlist", 42).unwrap();
        assert!(!verify_initiator_mic(&key, &ours, b"mechlist"));
        for cut in 0..mic.len() {
            assert!(!verify_initiator_mic(&key, &mic[..cut], b"mechlist"));
        }
    }
}
