//! Kerberos cryptosystems (RFC 3961 framework): AES-SHA1 (RFC 3962), AES-SHA2 (RFC 8009) and
//! RC4-HMAC (RFC 4757), behind one [`Enctype`] dispatch so the acceptor never matches on numbers.

mod aes_block;
pub mod aes_sha1;
pub mod aes_sha2;
pub mod cts;
pub mod nfold;
pub mod rc4_hmac;
pub mod usage;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use aes_sha2::Profile;

/// Why a cryptographic operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key is not the length the enctype requires.
    #[error("key has the wrong length for its enctype")]
    BadKeyLength,
    /// Ciphertext shorter than confounder + checksum.
    #[error("ciphertext too short")]
    TooShort,
    /// The integrity check (HMAC) failed: wrong key, wrong key usage or modified data.
    #[error("integrity check failed")]
    Integrity,
    /// The operating system's random source failed.
    #[error("random number generator failed")]
    Random,
    /// An enctype we do not implement.
    #[error("unsupported enctype {0}")]
    Unsupported(i32),
}

/// Fill `buf` from the OS random source (confounders, sequence numbers).
pub fn random_bytes(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Random)
}

/// Encryption types (RFC 3961 §8 / IANA "Kerberos Encryption Type Numbers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Enctype {
    /// aes128-cts-hmac-sha1-96 (RFC 3962).
    Aes128CtsHmacSha196,
    /// aes256-cts-hmac-sha1-96 (RFC 3962).
    Aes256CtsHmacSha196,
    /// aes128-cts-hmac-sha256-128 (RFC 8009).
    Aes128CtsHmacSha256128,
    /// aes256-cts-hmac-sha384-192 (RFC 8009).
    Aes256CtsHmacSha384192,
    /// rc4-hmac (RFC 4757), legacy.
    Rc4Hmac,
}

impl Enctype {
    /// Every implemented enctype, strongest first.
    pub const ALL: [Enctype; 5] = [
        Self::Aes256CtsHmacSha384192,
        Self::Aes128CtsHmacSha256128,
        Self::Aes256CtsHmacSha196,
        Self::Aes128CtsHmacSha196,
        Self::Rc4Hmac,
    ];

    /// Enctype from its registered number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.number() == n)
    }

    /// Registered number.
    pub fn number(self) -> i32 {
        match self {
            Self::Aes128CtsHmacSha196 => 17,
            Self::Aes256CtsHmacSha196 => 18,
            Self::Aes128CtsHmacSha256128 => 19,
            Self::Aes256CtsHmacSha384192 => 20,
            Self::Rc4Hmac => 23,
        }
    }

    /// Registered name (as MIT's tools print it).
    pub fn name(self) -> &'static str {
        enctype_name(self.number())
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128CtsHmacSha196 | Self::Aes128CtsHmacSha256128 | Self::Rc4Hmac => 16,
            Self::Aes256CtsHmacSha196 | Self::Aes256CtsHmacSha384192 => 32,
        }
    }

    /// The enctype's mandatory checksum type (RFC 3961 §8 "required checksum mechanism").
    pub fn checksum_type(self) -> i32 {
        match self {
            Self::Aes128CtsHmacSha196 => 15,
            Self::Aes256CtsHmacSha196 => 16,
            Self::Aes128CtsHmacSha256128 => 19,
            Self::Aes256CtsHmacSha384192 => 20,
            Self::Rc4Hmac => -138,
        }
    }

    /// True for the enctypes RFC 4121 uses CFX (0x04 0x04) tokens with; RC4 uses RFC 4757 tokens.
    pub fn is_cfx(self) -> bool {
        !matches!(self, Self::Rc4Hmac)
    }

    fn sha2(self) -> Option<Profile> {
        match self {
            Self::Aes128CtsHmacSha256128 => Some(Profile::Sha256),
            Self::Aes256CtsHmacSha384192 => Some(Profile::Sha384),
            _ => None,
        }
    }

    /// String-to-key with the enctype's default iteration count (RFC 3962 §4: 4096; RFC 8009 §4:
    /// 32768). Used by tests and for password-derived keys; the acceptor itself reads keytabs.
    pub fn string_to_key(self, password: &str, salt: &[u8]) -> Result<Key, CryptoError> {
        let bytes = match self {
            Self::Aes128CtsHmacSha196 | Self::Aes256CtsHmacSha196 => {
                aes_sha1::string_to_key(password.as_bytes(), salt, 4096, self.key_len())?
            }
            Self::Aes128CtsHmacSha256128 | Self::Aes256CtsHmacSha384192 => self
                .sha2()
                .ok_or(CryptoError::Unsupported(self.number()))?
                .string_to_key(password.as_bytes(), salt, 32768)?,
            Self::Rc4Hmac => rc4_hmac::string_to_key(password),
        };
        Key::new(self, &bytes)
    }
}

/// Registered name of an enctype number, "unknown" for numbers we do not know.
pub fn enctype_name(e: i32) -> &'static str {
    match e {
        1 => "des-cbc-crc",
        3 => "des-cbc-md5",
        16 => "des3-cbc-sha1",
        17 => "aes128-cts-hmac-sha1-96",
        18 => "aes256-cts-hmac-sha1-96",
        19 => "aes128-cts-hmac-sha256-128",
        20 => "aes256-cts-hmac-sha384-192",
        23 => "rc4-hmac",
        24 => "rc4-hmac-exp",
        25 => "camellia128-cts-cmac",
        26 => "camellia256-cts-cmac",
        _ => "unknown",
    }
}

/// A protocol key: enctype plus key bytes, wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key {
    #[zeroize(skip)]
    enctype: Enctype,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("enctype", &self.enctype)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// A key of `enctype`; refuses a key of the wrong length.
    pub fn new(enctype: Enctype, bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != enctype.key_len() {
            return Err(CryptoError::BadKeyLength);
        }
        Ok(Self {
            enctype,
            bytes: bytes.to_vec(),
        })
    }

    /// The enctype.
    pub fn enctype(&self) -> Enctype {
        self.enctype
    }

    /// Raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// RFC 3961 encrypt(key, usage, plaintext) with a random confounder.
    pub fn encrypt(&self, usage: u32, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self.enctype {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196 => {
                aes_sha1::encrypt(&self.bytes, usage, plain)
            }
            Enctype::Rc4Hmac => rc4_hmac::encrypt(&self.bytes, usage, plain),
            e => e
                .sha2()
                .ok_or(CryptoError::Unsupported(e.number()))?
                .encrypt(&self.bytes, usage, plain),
        }
    }

    /// RFC 3961 decrypt(key, usage, ciphertext) with integrity check.
    pub fn decrypt(&self, usage: u32, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        match self.enctype {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196 => {
                aes_sha1::decrypt(&self.bytes, usage, data)
            }
            Enctype::Rc4Hmac => rc4_hmac::decrypt(&self.bytes, usage, data),
            e => e
                .sha2()
                .ok_or(CryptoError::Unsupported(e.number()))?
                .decrypt(&self.bytes, usage, data),
        }
    }

    /// RFC 3961 get_mic with the enctype's mandatory checksum.
    pub fn checksum(&self, usage: u32, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self.enctype {
            Enctype::Aes128CtsHmacSha196 | Enctype::Aes256CtsHmacSha196 => {
                aes_sha1::checksum(&self.bytes, usage, data)
            }
            Enctype::Rc4Hmac => rc4_hmac::checksum(&self.bytes, usage, data),
            e => e
                .sha2()
                .ok_or(CryptoError::Unsupported(e.number()))?
                .checksum(&self.bytes, usage, data),
        }
    }
}
