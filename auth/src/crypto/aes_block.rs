//! AES-128/256 block primitive chosen by key length (FIPS 197), used by RFC 3962 and RFC 8009.

use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes256, Block};

use super::CryptoError;

/// AES with a 16- or 32-byte key.
pub enum AesKey {
    /// AES-128.
    A128(Box<Aes128>),
    /// AES-256.
    A256(Box<Aes256>),
}

impl AesKey {
    /// Key schedule for a 16- or 32-byte key; other lengths are refused.
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        match key.len() {
            16 => Aes128::new_from_slice(key)
                .map(|k| Self::A128(Box::new(k)))
                .map_err(|_| CryptoError::BadKeyLength),
            32 => Aes256::new_from_slice(key)
                .map(|k| Self::A256(Box::new(k)))
                .map_err(|_| CryptoError::BadKeyLength),
            _ => Err(CryptoError::BadKeyLength),
        }
    }

    /// Encrypt one block (ECB).
    pub fn encrypt(&self, block: [u8; 16]) -> [u8; 16] {
        let mut b = Block::from(block);
        match self {
            Self::A128(k) => k.encrypt_block(&mut b),
            Self::A256(k) => k.encrypt_block(&mut b),
        }
        b.into()
    }

    /// Decrypt one block (ECB).
    pub fn decrypt(&self, block: [u8; 16]) -> [u8; 16] {
        let mut b = Block::from(block);
        match self {
            Self::A128(k) => k.decrypt_block(&mut b),
            Self::A256(k) => k.decrypt_block(&mut b),
        }
        b.into()
    }
}

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::A128(_) => "AesKey::A128",
            Self::A256(_) => "AesKey::A256",
        })
    }
}
