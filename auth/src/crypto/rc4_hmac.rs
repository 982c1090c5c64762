//! RFC 4757 rc4-hmac (23): legacy, only used when the configuration allows it.

use hmac::{Hmac, KeyInit, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use rc4::{Rc4, StreamCipher};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{CryptoError, random_bytes};

const CONF_LEN: usize = 8;
const MAC_LEN: usize = 16;

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
    let mut m =
        <Hmac<Md5> as KeyInit>::new_from_slice(key).map_err(|_| CryptoError::BadKeyLength)?;
    for p in parts {
        m.update(p);
    }
    Ok(Zeroizing::new(m.finalize().into_bytes().into()))
}

/// RFC 4757 §3 key usage translation (Microsoft message types).
fn ms_usage(usage: u32) -> u32 {
    match usage {
        3 | 9 => 8,
        23 => 13,
        u => u,
    }
}

fn rc4(key: &[u8], data: &mut [u8]) -> Result<(), CryptoError> {
    let mut c = Rc4::new_from_slice(key).map_err(|_| CryptoError::BadKeyLength)?;
    c.apply_keystream(data);
    Ok(())
}

/// RFC 4757 §2 string-to-key: MD4 of the UTF-16LE password (the NT hash).
pub fn string_to_key(password: &str) -> Zeroizing<Vec<u8>> {
    let utf16: Zeroizing<Vec<u8>> =
        Zeroizing::new(password.encode_utf16().flat_map(u16::to_le_bytes).collect());
    Zeroizing::new(Md4::digest(&*utf16).to_vec())
}

/// Encrypt with a caller-chosen confounder.
pub fn encrypt_with_confounder(
    key: &[u8],
    usage: u32,
    confounder: &[u8; CONF_LEN],
    plain: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let k1 = hmac_md5(key, &[&ms_usage(usage).to_le_bytes()])?;
    let cksum = hmac_md5(&*k1, &[confounder, plain])?;
    let k3 = hmac_md5(&*k1, &[&*cksum])?;
    let mut body = confounder.to_vec();
    body.extend_from_slice(plain);
    rc4(&*k3, &mut body)?;
    let mut out = cksum.to_vec();
    out.extend_from_slice(&body);
    Ok(out)
}

/// RFC 4757 §3 encryption: checksum | RC4(K3, confounder | plaintext).
pub fn encrypt(key: &[u8], usage: u32, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut conf = [0u8; CONF_LEN];
    random_bytes(&mut conf)?;
    encrypt_with_confounder(key, usage, &conf, plain)
}

/// RFC 4757 §3 decryption and integrity check.
pub fn decrypt(key: &[u8], usage: u32, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if data.len() < MAC_LEN + CONF_LEN {
        return Err(CryptoError::TooShort);
    }
    let (cksum, body) = data.split_at(MAC_LEN);
    let k1 = hmac_md5(key, &[&ms_usage(usage).to_le_bytes()])?;
    let k3 = hmac_md5(&*k1, &[cksum])?;
    let mut plain = Zeroizing::new(body.to_vec());
    rc4(&*k3, &mut plain)?;
    let want = hmac_md5(&*k1, &[&plain])?;
    if !bool::from(want.ct_eq(cksum)) {
        return Err(CryptoError::Integrity);
    }
    Ok(Zeroizing::new(
        plain.get(CONF_LEN..).unwrap_or_default().to_vec(),
    ))
}

/// RFC 4757 §4 checksum hmac-md5 (type -138).
pub fn checksum(key: &[u8], usage: u32, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let ksign = hmac_md5(key, &[b"signaturekey\0"])?;
    let mut h = Md5::new();
    h.update(ms_usage(usage).to_le_bytes());
    h.update(data);
    let tmp = h.finalize();
    Ok(hmac_md5(&*ksign, &[&tmp])?.to_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn nt_hash_of_password() {
        assert_eq!(
            hex::encode(&*string_to_key("password")),
            "8846f7eaee8fb117ad06bdd830b7586c"
        );
    }

    #[test]
    fn roundtrip_and_tamper() {
        let key = string_to_key("secret");
        let ct = encrypt(&key, 2, b"hello ticket").unwrap();
        assert_eq!(&*decrypt(&key, 2, &ct).unwrap(), b"hello ticket");
        assert_eq!(decrypt(&key, 11, &ct), Err(CryptoError::Integrity));
        assert_eq!(decrypt(&key, 2, &ct[..20]), Err(CryptoError::TooShort));
    }
}
