//! [MS-SMB2 3.1.4.3] Encrypting a message and [3.3.5.2.1.1] decrypting one: the
//! SMB2 TRANSFORM_HEADER (2.2.41) in front of an AEAD-sealed SMB2 message (or whole compound).
//!
//! The AEAD is AES-CCM (RFC 4309 parameters: 11-byte nonce, 16-byte tag) or AES-GCM (12-byte
//! nonce, 16-byte tag) with a 128- or 256-bit key ([MS-SMB2 2.2.3.1.2] cipher ids). The
//! associated data is the 32 header bytes from Nonce to SessionId, exactly as transmitted.
//! Both directions work in place: the payload is never copied.
//!
//! **Nonces.** MS-SMB2 only asks that a nonce is never reused under one key. Samba draws 11/12
//! random bytes per message, which for CCM's 88 bits leaves a birthday bound near 2^44 messages.
//! We use a per-key 64-bit message counter (never repeats before 2^64 messages, after which
//! sealing fails rather than wrap) followed by a random salt fixed for the key's life (3 bytes
//! for CCM, 4 for GCM): the counter guarantees uniqueness under one key, and the salt keeps two
//! keys that were ever (wrongly) equal from sharing a nonce stream. The encryption key belongs
//! to one session of one connection (no multichannel binding), so one counter suffices.

use aes::{Aes128, Aes256};
use aes_gcm::aead::AeadInOut;
use aes_gcm::aead::array::Array;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
use ccm::Ccm;
use ccm::consts::{U11, U16};
use rsmbd_protocol::transform::{
    AAD_OFFSET, TRANSFORM_HEADER_SIZE, TransformFlags, TransformHeader,
};
use zeroize::Zeroizing;

/// AES-128-CCM with MS-SMB2's parameters.
type Aes128Ccm = Ccm<Aes128, U16, U11>;
/// AES-256-CCM with MS-SMB2's parameters.
type Aes256Ccm = Ccm<Aes256, U16, U11>;

/// [MS-SMB2 2.2.3.1.2] The four SMB3 ciphers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// AES-128-CCM (0x0001): the only cipher of 3.0 and 3.0.2.
    Aes128Ccm,
    /// AES-128-GCM (0x0002).
    Aes128Gcm,
    /// AES-256-CCM (0x0003).
    Aes256Ccm,
    /// AES-256-GCM (0x0004).
    Aes256Gcm,
}

impl Cipher {
    /// Every cipher, in Samba's default server preference (GCM first, then 256-bit).
    pub const ALL: [Cipher; 4] = [
        Cipher::Aes128Gcm,
        Cipher::Aes128Ccm,
        Cipher::Aes256Gcm,
        Cipher::Aes256Ccm,
    ];

    /// The wire CipherId.
    pub fn id(self) -> u16 {
        match self {
            Self::Aes128Ccm => 1,
            Self::Aes128Gcm => 2,
            Self::Aes256Ccm => 3,
            Self::Aes256Gcm => 4,
        }
    }

    /// The cipher for a wire CipherId; `None` for ids we do not know (skipped, not an error).
    pub fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            1 => Self::Aes128Ccm,
            2 => Self::Aes128Gcm,
            3 => Self::Aes256Ccm,
            4 => Self::Aes256Gcm,
            _ => return None,
        })
    }

    /// Key length in bytes: 16 or 32 (this also selects the KDF input, see `SessionKeys`).
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Ccm | Self::Aes128Gcm => 16,
            Self::Aes256Ccm | Self::Aes256Gcm => 32,
        }
    }

    /// Nonce length used from the 16-byte Nonce field: 11 for CCM, 12 for GCM.
    pub fn nonce_len(self) -> usize {
        match self {
            Self::Aes128Ccm | Self::Aes256Ccm => 11,
            Self::Aes128Gcm | Self::Aes256Gcm => 12,
        }
    }

    /// Name for logs and configuration, as Samba spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes128Ccm => "AES-128-CCM",
            Self::Aes128Gcm => "AES-128-GCM",
            Self::Aes256Ccm => "AES-256-CCM",
            Self::Aes256Gcm => "AES-256-GCM",
        }
    }

    /// Parses a configuration name (case-insensitive, `AES-128-GCM` or `aes128-gcm`).
    pub fn from_name(name: &str) -> Option<Self> {
        let n: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.name().replace('-', "").to_ascii_lowercase() == n)
    }
}

/// Why a transform message could not be opened (or sealed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionError {
    /// The frame is shorter than a transform header, or not one.
    #[error("malformed transform header")]
    Malformed,
    /// OriginalMessageSize does not match the bytes that follow the header.
    #[error("OriginalMessageSize {declared} but {present} bytes follow the header")]
    SizeMismatch {
        /// OriginalMessageSize.
        declared: u32,
        /// Bytes after the header.
        present: usize,
    },
    /// Flags/EncryptionAlgorithm is not 0x0001.
    #[error("transform Flags/EncryptionAlgorithm {0:#06x} is not 0x0001")]
    BadFlags(u16),
    /// The key has the wrong length for the cipher.
    #[error("key length does not match the cipher")]
    BadKey,
    /// The tag did not verify: tampered, or the wrong key.
    #[error("authentication tag mismatch (tampered or wrongly keyed)")]
    Authentication,
    /// The nonce counter is exhausted: the key must not seal again.
    #[error("nonce space exhausted")]
    NonceExhausted,
}

/// One direction's key: the cipher and `Session.EncryptionKey` or `Session.DecryptionKey`.
#[derive(Clone)]
pub struct CipherKey {
    cipher: Cipher,
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for CipherKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CipherKey({})", self.cipher.name())
    }
}

impl CipherKey {
    /// A key for `cipher`; `None` if `key` is not `cipher.key_len()` bytes.
    pub fn new(cipher: Cipher, key: &[u8]) -> Option<Self> {
        (key.len() == cipher.key_len()).then(|| Self {
            cipher,
            key: Zeroizing::new(key.to_vec()),
        })
    }

    /// The cipher.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// The raw key bytes (for the opt-in key log only).
    pub fn bytes(&self) -> &[u8] {
        &self.key
    }

    /// Encrypts `buf` in place and returns the tag.
    fn encrypt(&self, nonce: &[u8; 16], aad: &[u8], buf: &mut [u8]) -> Option<[u8; 16]> {
        let n = nonce.get(..self.cipher.nonce_len())?;
        let tag = match self.cipher {
            Cipher::Aes128Ccm => Aes128Ccm::new_from_slice(&self.key)
                .ok()?
                .encrypt_inout_detached(&Array::try_from(n).ok()?, aad, buf.into())
                .ok()?,
            Cipher::Aes256Ccm => Aes256Ccm::new_from_slice(&self.key)
                .ok()?
                .encrypt_inout_detached(&Array::try_from(n).ok()?, aad, buf.into())
                .ok()?,
            Cipher::Aes128Gcm => Aes128Gcm::new_from_slice(&self.key)
                .ok()?
                .encrypt_inout_detached(&Array::try_from(n).ok()?, aad, buf.into())
                .ok()?,
            Cipher::Aes256Gcm => Aes256Gcm::new_from_slice(&self.key)
                .ok()?
                .encrypt_inout_detached(&Array::try_from(n).ok()?, aad, buf.into())
                .ok()?,
        };
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag);
        Some(out)
    }

    /// Decrypts `buf` in place if `tag` verifies (the AEAD compares tags in constant time).
    fn decrypt(&self, nonce: &[u8; 16], aad: &[u8], buf: &mut [u8], tag: &[u8; 16]) -> bool {
        let Some(n) = nonce.get(..self.cipher.nonce_len()) else {
            return false;
        };
        let tag = Array::from(*tag);
        let r = match self.cipher {
            Cipher::Aes128Ccm => Aes128Ccm::new_from_slice(&self.key).ok().and_then(|c| {
                c.decrypt_inout_detached(&Array::try_from(n).ok()?, aad, buf.into(), &tag)
                    .ok()
            }),
            Cipher::Aes256Ccm => Aes256Ccm::new_from_slice(&self.key).ok().and_then(|c| {
                c.decrypt_inout_detached(&Array::try_from(n).ok()?, aad, buf.into(), &tag)
                    .ok()
            }),
            Cipher::Aes128Gcm => Aes128Gcm::new_from_slice(&self.key).ok().and_then(|c| {
                c.decrypt_inout_detached(&Array::try_from(n).ok()?, aad, buf.into(), &tag)
                    .ok()
            }),
            Cipher::Aes256Gcm => Aes256Gcm::new_from_slice(&self.key).ok().and_then(|c| {
                c.decrypt_inout_detached(&Array::try_from(n).ok()?, aad, buf.into(), &tag)
                    .ok()
            }),
        };
        r.is_some()
    }
}

/// The nonce source of one encryption key: a 64-bit counter and a per-key random salt.
#[derive(Debug)]
pub struct NonceSequence {
    next: u64,
    salt: [u8; 4],
}

impl NonceSequence {
    /// A fresh sequence (counter at 0, random salt; zero salt if randomness is unavailable,
    /// which still never repeats under one key).
    pub fn new() -> Self {
        let mut salt = [0u8; 4];
        let _ = getrandom::fill(&mut salt);
        Self { next: 0, salt }
    }

    /// The next 16-byte Nonce field for `cipher` (unused trailing bytes zero).
    pub fn next(&mut self, cipher: Cipher) -> Result<[u8; 16], EncryptionError> {
        let n = self.next;
        self.next = n.checked_add(1).ok_or(EncryptionError::NonceExhausted)?;
        let mut nonce = [0u8; 16];
        let (counter, rest) = nonce.split_at_mut(8);
        counter.copy_from_slice(&n.to_le_bytes());
        let salt_len = cipher.nonce_len() - 8;
        if let (Some(dst), Some(src)) = (rest.get_mut(..salt_len), self.salt.get(..salt_len)) {
            dst.copy_from_slice(src);
        }
        Ok(nonce)
    }
}

impl Default for NonceSequence {
    fn default() -> Self {
        Self::new()
    }
}

/// [MS-SMB2 3.1.4.3] Seals a message in place.
///
/// `frame` is `TRANSFORM_HEADER_SIZE` bytes of room followed by the plaintext SMB2 message (a
/// whole compound, if it is one); on success the header is written in front and the message
/// replaced by its ciphertext.
pub fn seal(
    key: &CipherKey,
    nonces: &mut NonceSequence,
    session_id: u64,
    frame: &mut [u8],
) -> Result<(), EncryptionError> {
    let nonce = nonces.next(key.cipher)?;
    seal_with_nonce(key, nonce, session_id, frame)
}

/// [`seal`] with a caller-chosen nonce: for known-answer tests only.
pub fn seal_with_nonce(
    key: &CipherKey,
    nonce: [u8; 16],
    session_id: u64,
    frame: &mut [u8],
) -> Result<(), EncryptionError> {
    if frame.len() < TRANSFORM_HEADER_SIZE {
        return Err(EncryptionError::Malformed);
    }
    let size = frame.len() - TRANSFORM_HEADER_SIZE;
    let mut header = TransformHeader {
        signature: [0; 16],
        nonce,
        original_message_size: u32::try_from(size).map_err(|_| EncryptionError::Malformed)?,
        flags: TransformFlags::ENCRYPTED,
        session_id,
    };
    let aad = header.aad_bytes();
    let (head, body) = frame.split_at_mut(TRANSFORM_HEADER_SIZE);
    header.signature = key
        .encrypt(&nonce, &aad, body)
        .ok_or(EncryptionError::BadKey)?;
    head.copy_from_slice(&header.to_bytes());
    Ok(())
}

/// The transform header of a received frame, checked for shape (size and flags) before any
/// key is looked up.
pub fn peek(frame: &[u8]) -> Result<TransformHeader, EncryptionError> {
    let header = TransformHeader::decode(frame).map_err(|_| EncryptionError::Malformed)?;
    let present = frame.len().saturating_sub(TRANSFORM_HEADER_SIZE);
    if usize::try_from(header.original_message_size).ok() != Some(present) {
        return Err(EncryptionError::SizeMismatch {
            declared: header.original_message_size,
            present,
        });
    }
    if header.flags != TransformFlags::ENCRYPTED {
        return Err(EncryptionError::BadFlags(header.flags));
    }
    Ok(header)
}

/// [MS-SMB2 3.3.5.2.1.1] Opens a transform frame in place: on success the bytes after the
/// header are the plaintext message. On failure nothing of the plaintext may be used (the
/// buffer then holds neither ciphertext nor verified plaintext).
pub fn open(key: &CipherKey, frame: &mut [u8]) -> Result<TransformHeader, EncryptionError> {
    let header = peek(frame)?;
    let (head, body) = frame.split_at_mut(TRANSFORM_HEADER_SIZE);
    let aad = head
        .get(AAD_OFFSET..TRANSFORM_HEADER_SIZE)
        .ok_or(EncryptionError::Malformed)?;
    if key.decrypt(&header.nonce, aad, body, &header.signature) {
        Ok(header)
    } else {
        Err(EncryptionError::Authentication)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn frame(plain: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; TRANSFORM_HEADER_SIZE];
        f.extend_from_slice(plain);
        f
    }

    #[test]
    fn seal_open_round_trip_each_cipher_and_reject_tampering() {
        let plain: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        for cipher in Cipher::ALL {
            let key = CipherKey::new(cipher, &vec![7u8; cipher.key_len()]).unwrap();
            let mut seq = NonceSequence::new();
            let mut f = frame(&plain);
            seal(&key, &mut seq, 0x1122, &mut f).unwrap();
            assert_ne!(
                &f[TRANSFORM_HEADER_SIZE..],
                &plain[..],
                "{cipher:?} encrypted"
            );
            let sealed = f.clone();
            let h = open(&key, &mut f).unwrap();
            assert_eq!(h.session_id, 0x1122);
            assert_eq!(
                &f[TRANSFORM_HEADER_SIZE..],
                &plain[..],
                "{cipher:?} round trip"
            );
            // Every byte of the AAD and body is authenticated; ProtocolId is checked by shape.
            for at in [4, 20, 36, 42, 44, 52, 200, sealed.len() - 1] {
                let mut t = sealed.clone();
                t[at] ^= 0x01;
                assert!(open(&key, &mut t).is_err(), "{cipher:?} flip at {at}");
            }
            let other = CipherKey::new(cipher, &vec![8u8; cipher.key_len()]).unwrap();
            assert_eq!(
                open(&other, &mut sealed.clone()),
                Err(EncryptionError::Authentication)
            );
        }
    }

    #[test]
    fn nonces_never_repeat_and_fill_only_the_cipher_length() {
        let mut seq = NonceSequence::new();
        let a = seq.next(Cipher::Aes128Ccm).unwrap();
        let b = seq.next(Cipher::Aes128Ccm).unwrap();
        assert_ne!(a, b);
        assert_eq!(&a[11..], &[0u8; 5]);
        let g = seq.next(Cipher::Aes128Gcm).unwrap();
        assert_eq!(&g[12..], &[0u8; 4]);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(seq.next(Cipher::Aes256Gcm).unwrap()));
        }
        let mut end = NonceSequence {
            next: u64::MAX,
            salt: [0; 4],
        };
        assert_eq!(
            end.next(Cipher::Aes128Gcm),
            Err(EncryptionError::NonceExhausted)
        );
    }

    #[test]
    fn shape_checks_come_before_any_key() {
        let key = CipherKey::new(Cipher::Aes128Gcm, &[1; 16]).unwrap();
        let mut seq = NonceSequence::new();
        let mut f = frame(b"hello world");
        seal(&key, &mut seq, 1, &mut f).unwrap();
        let mut short = f.clone();
        short.pop();
        assert!(matches!(
            peek(&short),
            Err(EncryptionError::SizeMismatch { .. })
        ));
        assert_eq!(peek(&f[..10]), Err(EncryptionError::Malformed));
        let mut flags = f.clone();
        flags[42] = 2;
        assert_eq!(peek(&flags), Err(EncryptionError::BadFlags(2)));
        assert!(CipherKey::new(Cipher::Aes256Gcm, &[0; 16]).is_none());
    }

    #[test]
    fn cipher_ids_and_names() {
        for c in Cipher::ALL {
            assert_eq!(Cipher::from_id(c.id()), Some(c));
            assert_eq!(Cipher::from_name(c.name()), Some(c));
        }
        assert_eq!(Cipher::from_id(0x9999), None);
        assert_eq!(Cipher::from_name("aes256-gcm"), Some(Cipher::Aes256Gcm));
        assert_eq!(Cipher::from_name("rot13"), None);
    }
}
