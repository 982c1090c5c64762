//! NTLMv2 key computations (MS-NLMP 3.3.2, 3.4.5): NTOWFv2, NTProofStr, the session base key,
//! key exchange, the AUTHENTICATE MIC and the signing/sealing keys that SPNEGO's mechListMIC
//! uses (3.4.4.2). Every intermediate key is zeroized.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use rc4::{Rc4, StreamCipher};
use zeroize::Zeroizing;

/// A 16-byte key that wipes itself.
pub type Key16 = Zeroizing<[u8; 16]>;

/// HMAC-MD5 over the concatenation of `parts`.
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> Key16 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut m = match <Hmac<Md5> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Zeroizing::new([0u8; 16]),
    };
    for p in parts {
        m.update(p);
    }
    Zeroizing::new(m.finalize().into_bytes().into())
}

fn md5(parts: &[&[u8]]) -> Key16 {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    Zeroizing::new(h.finalize().into())
}

/// RC4 with a 16-byte key over `data`, in place (one fresh cipher state).
pub fn rc4(key: &[u8; 16], data: &mut [u8]) {
    // A 16-byte key is always a valid RC4 key length.
    if let Ok(mut c) = <Rc4 as KeyInit>::new_from_slice(key) {
        c.apply_keystream(data);
    }
}

/// NTOWFv2 (3.3.2): HMAC_MD5(NT hash, UNICODE(Uppercase(User) || UserDom)).
pub fn ntowf_v2(nt_hash: &[u8; 16], user: &str, domain: &str) -> Key16 {
    let text = Zeroizing::new(super::utf16le(&format!("{}{domain}", user.to_uppercase())));
    hmac_md5(nt_hash, &[&text])
}

/// NTProofStr (3.3.2): HMAC_MD5(ResponseKeyNT, ServerChallenge || temp).
pub fn nt_proof(response_key: &[u8; 16], server_challenge: &[u8; 8], blob: &[u8]) -> Key16 {
    hmac_md5(response_key, &[server_challenge, blob])
}

/// SessionBaseKey (3.3.2): HMAC_MD5(ResponseKeyNT, NTProofStr). For NTLMv2 it is also the
/// KeyExchangeKey (KXKEY, 3.4.5.1).
pub fn session_base_key(response_key: &[u8; 16], proof: &[u8; 16]) -> Key16 {
    hmac_md5(response_key, &[proof])
}

/// ExportedSessionKey (3.2.5.1.2 / 3.3.5.2): with KEY_EXCH the client's random key,
/// RC4-decrypted with the key-exchange key; otherwise the key-exchange key itself.
pub fn exported_session_key(kxkey: &[u8; 16], encrypted: Option<&[u8; 16]>) -> Key16 {
    match encrypted {
        Some(e) => {
            let mut k = Zeroizing::new(*e);
            rc4(kxkey, &mut *k);
            k
        }
        None => Zeroizing::new(*kxkey),
    }
}

/// The AUTHENTICATE MIC (3.1.5.1.2): HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE ||
/// AUTHENTICATE with its MIC field zeroed).
pub fn message_mic(
    exported: &[u8; 16],
    negotiate: &[u8],
    challenge: &[u8],
    auth_zeroed: &[u8],
) -> Key16 {
    hmac_md5(exported, &[negotiate, challenge, auth_zeroed])
}

const CLIENT_SIGN: &[u8] = b"session key to client-to-server signing key magic constant\0";
const SERVER_SIGN: &[u8] = b"session key to server-to-client signing key magic constant\0";
const CLIENT_SEAL: &[u8] = b"session key to client-to-server sealing key magic constant\0";
const SERVER_SEAL: &[u8] = b"session key to server-to-client sealing key magic constant\0";

/// Which side's keys (3.4.5.2 SIGNKEY, 3.4.5.3 SEALKEY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Client-to-server.
    Client,
    /// Server-to-client.
    Server,
}

/// SIGNKEY (3.4.5.2), extended session security.
pub fn sign_key(exported: &[u8; 16], side: Side) -> Key16 {
    md5(&[
        exported,
        if side == Side::Client {
            CLIENT_SIGN
        } else {
            SERVER_SIGN
        },
    ])
}

/// SEALKEY (3.4.5.3), extended session security: 128-bit takes the whole key, 56-bit the
/// first 7 bytes, otherwise the first 5.
pub fn seal_key(exported: &[u8; 16], side: Side, negotiate_flags: u32) -> Key16 {
    let n = if negotiate_flags & super::flags::NEG_128 != 0 {
        16
    } else if negotiate_flags & super::flags::NEG_56 != 0 {
        7
    } else {
        5
    };
    let base = exported.get(..n).unwrap_or(exported);
    md5(&[
        base,
        if side == Side::Client {
            CLIENT_SEAL
        } else {
            SERVER_SEAL
        },
    ])
}

/// The NTLMSSP_MESSAGE_SIGNATURE (2.2.2.9.1) of the first message each side signs (sequence
/// number 0, a fresh RC4 sealing state): what SPNEGO's mechListMIC is (MS-SPNG 3.3.5.1).
/// Extended session security only; with KEY_EXCH the checksum is RC4-sealed (3.4.4.2).
pub fn first_signature(
    exported: &[u8; 16],
    side: Side,
    negotiate_flags: u32,
    message: &[u8],
) -> [u8; 16] {
    let seq = 0u32.to_le_bytes();
    let mac = hmac_md5(&*sign_key(exported, side), &[&seq, message]);
    let mut checksum = [0u8; 8];
    checksum.copy_from_slice(mac.get(..8).unwrap_or(&[0u8; 8]));
    if negotiate_flags & super::flags::KEY_EXCH != 0 {
        let seal = seal_key(exported, side, negotiate_flags);
        rc4(&seal, &mut checksum);
    }
    let mut sig = [0u8; 16];
    let parts = 1u32.to_le_bytes().into_iter().chain(checksum).chain(seq);
    for (s, b) in sig.iter_mut().zip(parts) {
        *s = b;
    }
    sig
}
