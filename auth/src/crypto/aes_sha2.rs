//! RFC 8009: aes128-cts-hmac-sha256-128 (19) and aes256-cts-hmac-sha384-192 (20).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::aes_block::AesKey;
use super::{CryptoError, cts, random_bytes};

const CONF_LEN: usize = 16;

/// The two RFC 8009 parameter sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Enctype 19: SHA-256, 128-bit keys, 128-bit MAC.
    Sha256,
    /// Enctype 20: SHA-384, 256-bit Ke, 192-bit Ki/Kc and MAC.
    Sha384,
}

impl Profile {
    fn key_len(self) -> usize {
        match self {
            Self::Sha256 => 16,
            Self::Sha384 => 32,
        }
    }
    /// Length of Ki, Kc and the truncated MAC (RFC 8009 §5).
    fn mac_len(self) -> usize {
        match self {
            Self::Sha256 => 16,
            Self::Sha384 => 24,
        }
    }
    fn name(self) -> &'static [u8] {
        match self {
            Self::Sha256 => b"aes128-cts-hmac-sha256-128",
            Self::Sha384 => b"aes256-cts-hmac-sha384-192",
        }
    }

    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, CryptoError> {
            let mut m =
                <M as KeyInit>::new_from_slice(key).map_err(|_| CryptoError::BadKeyLength)?;
            for p in parts {
                m.update(p);
            }
            Ok(m.finalize().into_bytes().to_vec())
        }
        Ok(Zeroizing::new(match self {
            Self::Sha256 => run::<Hmac<Sha256>>(key, parts)?,
            Self::Sha384 => run::<Hmac<Sha384>>(key, parts)?,
        }))
    }

    /// RFC 8009 §3 KDF-HMAC-SHA2(key, label, k): SP800-108 counter mode, one iteration.
    pub fn kdf(
        self,
        key: &[u8],
        label: &[u8],
        bits: u32,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut out = self.hmac(
            key,
            &[&1u32.to_be_bytes(), label, &[0], &bits.to_be_bytes()],
        )?;
        out.truncate(bits as usize / 8);
        Ok(out)
    }

    fn usage_key(
        self,
        key: &[u8],
        usage: u32,
        kind: u8,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut label = usage.to_be_bytes().to_vec();
        label.push(kind);
        let bits = match kind {
            0xAA => self.key_len() * 8,
            _ => self.mac_len() * 8,
        };
        self.kdf(key, &label, bits as u32)
    }

    /// RFC 8009 §4 string-to-key: PBKDF2-HMAC-SHA2 over (enctype name | 0x00 | salt), then KDF "kerberos".
    pub fn string_to_key(
        self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut saltp = self.name().to_vec();
        saltp.push(0);
        saltp.extend_from_slice(salt);
        let mut tkey = Zeroizing::new(vec![0u8; self.key_len()]);
        match self {
            Self::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, &saltp, iterations, &mut tkey),
            Self::Sha384 => pbkdf2::pbkdf2_hmac::<Sha384>(password, &saltp, iterations, &mut tkey),
        }
        self.kdf(&tkey, b"kerberos", (self.key_len() * 8) as u32)
    }

    /// RFC 8009 §5 encryption with a given confounder: C = CTS(Ke, N | P), H = HMAC(Ki, IV | C).
    pub fn encrypt_with_confounder(
        self,
        key: &[u8],
        usage: u32,
        confounder: &[u8; CONF_LEN],
        plain: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let ke = self.usage_key(key, usage, 0xAA)?;
        let ki = self.usage_key(key, usage, 0x55)?;
        let mut data = Zeroizing::new(confounder.to_vec());
        data.extend_from_slice(plain);
        let mut out = cts::encrypt(&AesKey::new(&ke)?, &data)?;
        let mac = self.hmac(&ki, &[&[0u8; 16], &out])?;
        out.extend(mac.iter().take(self.mac_len()));
        Ok(out)
    }

    /// Encrypt with a random confounder.
    pub fn encrypt(self, key: &[u8], usage: u32, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut conf = [0u8; CONF_LEN];
        random_bytes(&mut conf)?;
        self.encrypt_with_confounder(key, usage, &conf, plain)
    }

    /// RFC 8009 §5 decryption: verify the MAC over the ciphertext first (encrypt-then-MAC).
    pub fn decrypt(
        self,
        key: &[u8],
        usage: u32,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let body_len = data
            .len()
            .checked_sub(self.mac_len())
            .filter(|n| *n >= CONF_LEN)
            .ok_or(CryptoError::TooShort)?;
        let (body, mac) = data.split_at(body_len);
        let ki = self.usage_key(key, usage, 0x55)?;
        let want = self.hmac(&ki, &[&[0u8; 16], body])?;
        let want = want.get(..self.mac_len()).ok_or(CryptoError::TooShort)?;
        if !bool::from(want.ct_eq(mac)) {
            return Err(CryptoError::Integrity);
        }
        let ke = self.usage_key(key, usage, 0xAA)?;
        let plain = Zeroizing::new(cts::decrypt(&AesKey::new(&ke)?, body)?);
        Ok(Zeroizing::new(
            plain.get(CONF_LEN..).unwrap_or_default().to_vec(),
        ))
    }

    /// RFC 8009 §5 checksum (types 19/20): HMAC(Kc, data) truncated.
    pub fn checksum(self, key: &[u8], usage: u32, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let kc = self.usage_key(key, usage, 0x99)?;
        let mac = self.hmac(&kc, &[data])?;
        Ok(mac.iter().take(self.mac_len()).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const BASE128: &str = "3705d96080c17728a0e800eab6e0d23c";
    const BASE256: &str = "6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52";

    /// RFC 8009 Appendix A: string-to-key.
    #[test]
    fn rfc8009_string_to_key() {
        let mut salt = hex::decode("10df9dd783e5bc8acea1730e74355f61").unwrap();
        salt.extend_from_slice(b"ATHENA.MIT.EDUraeburn");
        let k = Profile::Sha256
            .string_to_key(b"password", &salt, 32768)
            .unwrap();
        assert_eq!(hex::encode(&*k), "089bca48b105ea6ea77ca5d2f39dc5e7");
        let k = Profile::Sha384
            .string_to_key(b"password", &salt, 32768)
            .unwrap();
        assert_eq!(
            hex::encode(&*k),
            "45bd806dbf6a833a9cffc1c94589a222367a79bc21c413718906e9f578a78467"
        );
    }

    /// RFC 8009 Appendix A: Kc, Ke, Ki for key usage 2.
    #[test]
    fn rfc8009_key_derivation() {
        let b = hex::decode(BASE128).unwrap();
        let p = Profile::Sha256;
        assert_eq!(
            hex::encode(&*p.usage_key(&b, 2, 0x99).unwrap()),
            "b31a018a48f54776f403e9a396325dc3"
        );
        assert_eq!(
            hex::encode(&*p.usage_key(&b, 2, 0xAA).unwrap()),
            "9b197dd1e8c5609d6e67c3e37c62c72e"
        );
        assert_eq!(
            hex::encode(&*p.usage_key(&b, 2, 0x55).unwrap()),
            "9fda0e56ab2d85e1569a688696c26a6c"
        );
        let b = hex::decode(BASE256).unwrap();
        let p = Profile::Sha384;
        assert_eq!(
            hex::encode(&*p.usage_key(&b, 2, 0x99).unwrap()),
            "ef5718be86cc84963d8bbb5031e9f5c4ba41f28faf69e73d"
        );
        assert_eq!(
            hex::encode(&*p.usage_key(&b, 2, 0xAA).unwrap()),
            "56ab22bee63d82d7bc5227f6773f8ea7a5eb1c825160c38312980c442e5c7e49"
        );
        assert_eq!(
            hex::encode(&*p.usage_key(&b, 2, 0x55).unwrap()),
            "69b16514e3cd8e56b82010d5c73012b622c4d00ffc23ed1f"
        );
    }

    /// RFC 8009 Appendix A: sample encryptions (including the empty plaintext = one CTS block).
    #[test]
    fn rfc8009_encryption_vectors() {
        let cases: &[(Profile, &str, &str, &str, &str)] = &[
            (
                Profile::Sha256,
                BASE128,
                "",
                "7e5895eaf2672435bad817f545a37148",
                "ef85fb890bb8472f4dab20394dca781dad877eda39d50c870c0d5a0a8e48c718",
            ),
            (
                Profile::Sha256,
                BASE128,
                "000102030405",
                "7bca285e2fd4130fb55b1a5c83bc5b24",
                "84d7f30754ed987bab0bf3506beb09cfb55402cef7e6877ce99e247e52d16ed4421dfdf8976c",
            ),
            (
                Profile::Sha256,
                BASE128,
                "000102030405060708090a0b0c0d0e0f",
                "56ab21713ff62c0a1457200f6fa9948f",
                "3517d640f50ddc8ad3628722b3569d2ae07493fa8263254080ea65c1008e8fc295fb4852e7d83e1e7c48c37eebe6b0d3",
            ),
            (
                Profile::Sha256,
                BASE128,
                "000102030405060708090a0b0c0d0e0f1011121314",
                "a7a4e29a4728ce10664fb64e49ad3fac",
                "720f73b18d9859cd6ccb4346115cd336c70f58edc0c4437c5573544c31c813bce1e6d072c186b39a413c2f92ca9b8334a287ffcbfc",
            ),
            (
                Profile::Sha384,
                BASE256,
                "",
                "f764e9fa15c276478b2c7d0c4e5f58e4",
                "41f53fa5bfe7026d91faf9be959195a058707273a96a40f0a01960621ac612748b9bbfbe7eb4ce3c",
            ),
            (
                Profile::Sha384,
                BASE256,
                "000102030405",
                "b80d3251c1f6471494256ffe712d0b9a",
                "4ed7b37c2bcac8f74f23c1cf07e62bc7b75fb3f637b9f559c7f664f69eab7b6092237526ea0d1f61cb20d69d10f2",
            ),
            (
                Profile::Sha384,
                BASE256,
                "000102030405060708090a0b0c0d0e0f",
                "53bf8a0d105265d4e276428624ce5e63",
                "bc47ffec7998eb91e8115cf8d19dac4bbbe2e163e87dd37f49beca92027764f68cf51f14d798c2273f35df574d1f932e40c4ff255b36a266",
            ),
            (
                Profile::Sha384,
                BASE256,
                "000102030405060708090a0b0c0d0e0f1011121314",
                "763e65367e864f02f55153c7e3b58af1",
                "40013e2df58e8751957d2878bcd2d6fe101ccfd556cb1eae79db3c3ee86429f2b2a602ac86fef6ecb647d6295fae077a1feb517508d2c16b4192e01f62",
            ),
        ];
        for (p, base, plain, conf, ct) in cases {
            let key = hex::decode(base).unwrap();
            let plain = hex::decode(plain).unwrap();
            let conf: [u8; 16] = hex::decode(conf).unwrap().try_into().unwrap();
            let got = p.encrypt_with_confounder(&key, 2, &conf, &plain).unwrap();
            assert_eq!(hex::encode(&got), *ct, "{p:?} {} bytes", plain.len());
            assert_eq!(&*p.decrypt(&key, 2, &got).unwrap(), &plain);
            let mut bad = got.clone();
            *bad.last_mut().unwrap() ^= 1;
            assert_eq!(p.decrypt(&key, 2, &bad), Err(CryptoError::Integrity));
        }
    }

    /// RFC 8009 Appendix A: checksums.
    #[test]
    fn rfc8009_checksum_vectors() {
        let data = hex::decode("000102030405060708090a0b0c0d0e0f1011121314").unwrap();
        let k = hex::decode(BASE128).unwrap();
        assert_eq!(
            hex::encode(Profile::Sha256.checksum(&k, 2, &data).unwrap()),
            "d78367186643d67b411cba9139fc1dee"
        );
        let k = hex::decode(BASE256).unwrap();
        assert_eq!(
            hex::encode(Profile::Sha384.checksum(&k, 2, &data).unwrap()),
            "45ee791567eefca37f4ac1e0222de80d43c3bfa06699672a"
        );
    }
}
