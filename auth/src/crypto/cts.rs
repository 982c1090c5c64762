//! CBC with ciphertext stealing, the "CS3" variant RFC 3962 §5 uses (last two blocks swapped),
//! always with a zero initial vector (Kerberos never chains cipher state between messages here).
//! Hand-rolled because RustCrypto `cts` 0.7 double-encrypts an input of exactly one block.

use super::CryptoError;
use super::aes_block::AesKey;

fn xor(a: [u8; 16], b: [u8; 16]) -> [u8; 16] {
    let mut out = a;
    for (o, x) in out.iter_mut().zip(b) {
        *o ^= x;
    }
    out
}

/// Split `data` into 16-byte blocks, zero-padding the last one.
fn blocks(data: &[u8]) -> Vec<[u8; 16]> {
    data.chunks(16)
        .map(|c| {
            let mut b = [0u8; 16];
            for (d, s) in b.iter_mut().zip(c) {
                *d = *s;
            }
            b
        })
        .collect()
}

/// Encrypt `plain` (at least one block long). One block is plain ECB (= CBC with zero IV).
pub fn encrypt(key: &AesKey, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let len = plain.len();
    if len < 16 {
        return Err(CryptoError::TooShort);
    }
    let mut prev = [0u8; 16];
    let mut cipher: Vec<[u8; 16]> = Vec::with_capacity(len.div_ceil(16));
    for p in blocks(plain) {
        prev = key.encrypt(xor(p, prev));
        cipher.push(prev);
    }
    if cipher.len() == 1 {
        return Ok(cipher.concat());
    }
    // Tail length of the last (possibly partial) plaintext block, 1..=16.
    let tail = len - (cipher.len() - 1) * 16;
    let last = cipher.pop().ok_or(CryptoError::TooShort)?;
    let penult = cipher.pop().ok_or(CryptoError::TooShort)?;
    let mut out = cipher.concat();
    out.extend_from_slice(&last);
    out.extend(penult.iter().take(tail));
    Ok(out)
}

/// Decrypt `data` produced by [`encrypt`].
pub fn decrypt(key: &AesKey, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let len = data.len();
    if len < 16 {
        return Err(CryptoError::TooShort);
    }
    let mut cblocks = blocks(data);
    if len == 16 {
        let only = cblocks.pop().ok_or(CryptoError::TooShort)?;
        return Ok(key.decrypt(only).to_vec());
    }
    let tail = len - (cblocks.len() - 1) * 16;
    // On the wire: C1 .. C(n-2), Cn, first `tail` bytes of C(n-1).
    let short = cblocks.pop().ok_or(CryptoError::TooShort)?;
    let cn = cblocks.pop().ok_or(CryptoError::TooShort)?;
    // D(Cn) = C(n-1) xor Pn||0…: its bytes past `tail` are C(n-1)'s stolen bytes.
    let dn = key.decrypt(cn);
    let mut cn1 = dn;
    for (d, s) in cn1.iter_mut().zip(short.iter().take(tail)) {
        *d = *s;
    }
    let pn = xor(dn, cn1);
    cblocks.push(cn1);

    let mut out = Vec::with_capacity(len);
    let mut prev = [0u8; 16];
    for c in cblocks {
        out.extend_from_slice(&xor(key.decrypt(c), prev));
        prev = c;
    }
    out.extend(pn.iter().take(tail));
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    /// RFC 3962 Appendix B: AES-128 key "chicken teriyaki", IV zero.
    #[test]
    fn rfc3962_appendix_b_cts_vectors() {
        let key = AesKey::new(b"chicken teriyaki").unwrap();
        let plain = b"I would like the General Gau's Chicken, please, and wonton soup.";
        let cases: &[(usize, &str)] = &[
            (17, "c6353568f2bf8cb4d8a580362da7ff7f97"),
            (
                31,
                "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5",
            ),
            (
                32,
                "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584",
            ),
            (
                47,
                "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5",
            ),
            (
                48,
                "97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8",
            ),
            (
                64,
                "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8",
            ),
        ];
        for (n, want) in cases {
            let ct = encrypt(&key, &plain[..*n]).unwrap();
            assert_eq!(hex::encode(&ct), *want, "encrypt {n} bytes");
            assert_eq!(
                decrypt(&key, &ct).unwrap(),
                &plain[..*n],
                "decrypt {n} bytes"
            );
        }
    }

    /// Exactly one block must be a single ECB encryption (the `cts` 0.7 bug double-encrypts it).
    #[test]
    fn single_block_is_plain_ecb() {
        let key = AesKey::new(b"chicken teriyaki").unwrap();
        let p = *b"I would like the";
        let ct = encrypt(&key, &p).unwrap();
        assert_eq!(ct, key.encrypt(p).to_vec());
        assert_eq!(decrypt(&key, &ct).unwrap(), p.to_vec());
    }

    #[test]
    fn roundtrip_all_lengths_and_short_input_refused() {
        let key = AesKey::new(&[7u8; 32]).unwrap();
        let data: Vec<u8> = (0..100u8).collect();
        for n in 16..=data.len() {
            let ct = encrypt(&key, &data[..n]).unwrap();
            assert_eq!(ct.len(), n);
            assert_eq!(decrypt(&key, &ct).unwrap(), &data[..n]);
        }
        for n in 0..16 {
            assert!(encrypt(&key, &data[..n]).is_err());
            assert!(decrypt(&key, &data[..n]).is_err());
        }
    }
}
