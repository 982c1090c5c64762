//! RFC 3962: aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18), built on the
//! RFC 3961 §5.3 simplified profile (DK/DR key derivation, confounder, HMAC-SHA1-96).

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::aes_block::AesKey;
use super::{CryptoError, cts, nfold::nfold, random_bytes};

/// Truncated HMAC length (RFC 3962 §6: h = 96 bits).
const MAC_LEN: usize = 12;
/// Confounder length = AES block size.
const CONF_LEN: usize = 16;

/// RFC 3961 §5.1 DR(Key, Constant): iterate AES-ECB from n-fold(constant) until enough bytes;
/// DK = random-to-key(DR) is the identity for AES (RFC 3962 §6).
pub fn dk(base: &[u8], constant: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let aes = AesKey::new(base)?;
    let seed: [u8; 16] = nfold(constant, 16)
        .try_into()
        .map_err(|_| CryptoError::BadKeyLength)?;
    let mut block = seed;
    let mut out = Zeroizing::new(Vec::with_capacity(base.len()));
    while out.len() < base.len() {
        block = aes.encrypt(block);
        out.extend_from_slice(&block);
    }
    out.truncate(base.len());
    Ok(out)
}

/// Derived key for a key usage: Kc (0x99), Ke (0xAA) or Ki (0x55) (RFC 3961 §5.3).
fn usage_key(base: &[u8], usage: u32, kind: u8) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut c = usage.to_be_bytes().to_vec();
    c.push(kind);
    dk(base, &c)
}

fn hmac_sha1_96(key: &[u8], parts: &[&[u8]]) -> Result<[u8; MAC_LEN], CryptoError> {
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(key).map_err(|_| CryptoError::BadKeyLength)?;
    for p in parts {
        mac.update(p);
    }
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    for (o, b) in out.iter_mut().zip(full.iter()) {
        *o = *b;
    }
    Ok(out)
}

/// RFC 3962 §4 string-to-key: PBKDF2-HMAC-SHA1 then DK(tkey, "kerberos").
pub fn string_to_key(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    key_len: usize,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut tkey = Zeroizing::new(vec![0u8; key_len]);
    pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut tkey);
    dk(&tkey, b"kerberos")
}

/// Encrypt with a caller-chosen confounder (tests pin it; [`encrypt`] draws it at random).
pub fn encrypt_with_confounder(
    key: &[u8],
    usage: u32,
    confounder: &[u8; CONF_LEN],
    plain: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let ke = usage_key(key, usage, 0xAA)?;
    let ki = usage_key(key, usage, 0x55)?;
    let mut data = Zeroizing::new(Vec::with_capacity(CONF_LEN + plain.len()));
    data.extend_from_slice(confounder);
    data.extend_from_slice(plain);
    let mut out = cts::encrypt(&AesKey::new(&ke)?, &data)?;
    out.extend_from_slice(&hmac_sha1_96(&ki, &[&data])?);
    Ok(out)
}

/// RFC 3961 §5.3 encryption: E(Ke, confounder | plaintext) | HMAC-SHA1-96(Ki, confounder | plaintext).
pub fn encrypt(key: &[u8], usage: u32, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut conf = [0u8; CONF_LEN];
    random_bytes(&mut conf)?;
    encrypt_with_confounder(key, usage, &conf, plain)
}

/// RFC 3961 §5.3 decryption; the integrity check is constant time.
pub fn decrypt(key: &[u8], usage: u32, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let body_len = data
        .len()
        .checked_sub(MAC_LEN)
        .filter(|n| *n >= CONF_LEN)
        .ok_or(CryptoError::TooShort)?;
    let (body, mac) = data.split_at(body_len);
    let ke = usage_key(key, usage, 0xAA)?;
    let ki = usage_key(key, usage, 0x55)?;
    let plain = Zeroizing::new(cts::decrypt(&AesKey::new(&ke)?, body)?);
    let want = hmac_sha1_96(&ki, &[&plain])?;
    if !bool::from(want.ct_eq(mac)) {
        return Err(CryptoError::Integrity);
    }
    Ok(Zeroizing::new(
        plain.get(CONF_LEN..).unwrap_or_default().to_vec(),
    ))
}

/// RFC 3962 §7 checksum hmac-sha1-96-aes128/256 (types 15/16): HMAC-SHA1-96(Kc, data).
pub fn checksum(key: &[u8], usage: u32, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let kc = usage_key(key, usage, 0x99)?;
    Ok(hmac_sha1_96(&kc, &[data])?.to_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    /// RFC 3962 Appendix B string-to-key vectors (password, salt, iterations, 128-bit, 256-bit).
    #[test]
    fn rfc3962_appendix_b_string_to_key() {
        let salt_hex = hex::decode("1234567878563412").unwrap();
        let g_clef = hex::decode("f09d849e").unwrap();
        type Case = (Vec<u8>, Vec<u8>, u32, &'static str, &'static str);
        let cases: Vec<Case> = vec![
            (
                b"password".to_vec(),
                b"ATHENA.MIT.EDUraeburn".to_vec(),
                1,
                "42263c6e89f4fc28b8df68ee09799f15",
                "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161",
            ),
            (
                b"password".to_vec(),
                b"ATHENA.MIT.EDUraeburn".to_vec(),
                2,
                "c651bf29e2300ac27fa469d693bdda13",
                "a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff",
            ),
            (
                b"password".to_vec(),
                b"ATHENA.MIT.EDUraeburn".to_vec(),
                1200,
                "4c01cd46d632d01e6dbe230a01ed642a",
                "55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a",
            ),
            (
                b"password".to_vec(),
                salt_hex,
                5,
                "e9b23d52273747dd5c35cb55be619d8e",
                "97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31",
            ),
            (
                vec![b'X'; 64],
                b"pass phrase equals block size".to_vec(),
                1200,
                "59d1bb789a828b1aa54ef9c2883f69ed",
                "89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34",
            ),
            (
                vec![b'X'; 65],
                b"pass phrase exceeds block size".to_vec(),
                1200,
                "cb8005dc5f90179a7f02104c0018751d",
                "d78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b",
            ),
            (
                g_clef,
                b"EXAMPLE.COMpianist".to_vec(),
                50,
                "f149c1f2e154a73452d43e7fe62a56e5",
                "4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e",
            ),
        ];
        for (pw, salt, iter, k128, k256) in cases {
            assert_eq!(
                hex::encode(&*string_to_key(&pw, &salt, iter, 16).unwrap()),
                k128,
                "128 iter {iter}"
            );
            assert_eq!(
                hex::encode(&*string_to_key(&pw, &salt, iter, 32).unwrap()),
                k256,
                "256 iter {iter}"
            );
        }
    }

    #[test]
    fn encrypt_decrypt_roundtrip_and_tamper() {
        for key in [vec![1u8; 16], vec![2u8; 32]] {
            for n in [0usize, 1, 15, 16, 17, 100] {
                let plain: Vec<u8> = (0..n as u8).collect();
                let ct = encrypt(&key, 2, &plain).unwrap();
                assert_eq!(ct.len(), 16 + n + 12);
                assert_eq!(&*decrypt(&key, 2, &ct).unwrap(), &plain);
                assert_eq!(
                    decrypt(&key, 3, &ct),
                    Err(CryptoError::Integrity),
                    "wrong usage"
                );
                let mut bad = ct.clone();
                bad[0] ^= 1;
                assert_eq!(decrypt(&key, 2, &bad), Err(CryptoError::Integrity));
            }
            assert_eq!(decrypt(&key, 2, &[0u8; 27]), Err(CryptoError::TooShort));
        }
    }
}
