//! [MS-SMB2 3.3.5.5.3] The keys of an authenticated session, derived once from the GSS session
//! key, and zeroized on drop.
//!
//! | dialect | signing key | algorithm |
//! |---|---|---|
//! | 2.0.2, 2.1 | SessionKey | HMAC-SHA256 |
//! | 3.0, 3.0.2 | KDF(SessionKey, "SMB2AESCMAC", "SmbSign") | AES-CMAC |
//! | 3.1.1 | KDF(SessionKey, "SMBSigningKey", PreauthHash) | negotiated: HMAC-SHA256, AES-CMAC or AES-GMAC |
//!
//! `Session.SessionKey` is the first 16 bytes of the GSS key (MS-SMB2 3.3.5.5.3); the 3.x
//! encryption and application keys are derived alongside for the encryption issue and for
//! key logging. For the AES-256 ciphers Samba feeds the *full* GSS key into the KDF; see
//! `ARCHITECTURE.md`.

use zeroize::Zeroizing;

use super::kdf::derive;
use super::preauth::PreauthHash;

/// The signing algorithm of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256, truncated to 16 bytes (2.0.2, 2.1; 3.1.1 if negotiated).
    HmacSha256,
    /// AES-128-CMAC (3.0, 3.0.2; 3.1.1 default).
    AesCmac,
    /// AES-128-GMAC (3.1.1 when the SIGNING context selects it).
    AesGmac,
}

impl SigningAlgorithm {
    /// Every algorithm, in Samba's default preference order.
    pub const ALL: [SigningAlgorithm; 3] = [Self::AesGmac, Self::AesCmac, Self::HmacSha256];

    /// Name for logs and configuration, as Samba spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacSha256 => "HMAC-SHA256",
            Self::AesCmac => "AES-128-CMAC",
            Self::AesGmac => "AES-128-GMAC",
        }
    }

    /// The algorithm a configuration name (case-insensitive) stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// [MS-SMB2 2.2.3.1.7] SigningAlgorithmId.
    pub fn id(self) -> u16 {
        match self {
            Self::HmacSha256 => 0,
            Self::AesCmac => 1,
            Self::AesGmac => 2,
        }
    }
}

/// The 3.x keys beyond signing.
#[derive(Clone)]
pub struct Dialect3Keys {
    /// Decrypts client-to-server messages (ServerIn / C2S).
    pub decryption: Zeroizing<Vec<u8>>,
    /// Encrypts server-to-client messages (ServerOut / S2C).
    pub encryption: Zeroizing<Vec<u8>>,
    /// ApplicationKey (exported to RPC).
    pub application: Zeroizing<Vec<u8>>,
}

/// The keys of one authenticated session.
#[derive(Clone)]
pub struct SessionKeys {
    /// `Session.SessionKey`: the first 16 bytes of the GSS session key (zero-padded).
    pub session_key: Zeroizing<[u8; 16]>,
    /// `Session.SigningKey`.
    pub signing_key: Zeroizing<[u8; 16]>,
    /// Which MAC signs this session's messages.
    pub signing_algorithm: SigningAlgorithm,
    /// Encryption/decryption/application keys (3.x dialects only).
    pub dialect3: Option<Dialect3Keys>,
}

impl std::fmt::Debug for Dialect3Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dialect3Keys(..)")
    }
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("signing_algorithm", &self.signing_algorithm)
            .finish_non_exhaustive()
    }
}

/// Which dialect family the keys are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDialect {
    /// 2.0.2 and 2.1.
    Smb2,
    /// 3.0 and 3.0.2.
    Smb30,
    /// 3.1.1 with the session's final preauth hash.
    Smb311,
}

impl SessionKeys {
    /// Derives every key of a session.
    ///
    /// `gss_key` is the GSS session key (16 or 32 bytes for AES Kerberos); `preauth` is the
    /// session's preauth hash (3.1.1 only); `cipher_key_len` is 16, or 32 for AES-256 ciphers.
    pub fn derive(
        dialect: KeyDialect,
        gss_key: &[u8],
        preauth: Option<&PreauthHash>,
        signing_algorithm: SigningAlgorithm,
        cipher_key_len: usize,
    ) -> Self {
        let mut session_key = Zeroizing::new([0u8; 16]);
        let n = gss_key.len().min(16);
        if let (Some(dst), Some(src)) = (session_key.get_mut(..n), gss_key.get(..n)) {
            dst.copy_from_slice(src);
        }
        // Samba keys the AES-256 cipher KDF with the whole GSS key; everything else uses the
        // 16-byte SessionKey (MS-SMB2 3.3.5.5.3).
        let cipher_input: &[u8] = if cipher_key_len == 32 {
            gss_key
        } else {
            &session_key[..]
        };
        let to16 = |v: Zeroizing<Vec<u8>>| {
            let mut k = Zeroizing::new([0u8; 16]);
            if let Some(src) = v.get(..16) {
                k.copy_from_slice(src);
            }
            k
        };
        match dialect {
            KeyDialect::Smb2 => Self {
                signing_key: session_key.clone(),
                session_key,
                signing_algorithm: SigningAlgorithm::HmacSha256,
                dialect3: None,
            },
            KeyDialect::Smb30 => Self {
                signing_key: to16(derive(&session_key[..], b"SMB2AESCMAC\0", b"SmbSign\0", 16)),
                dialect3: Some(Dialect3Keys {
                    decryption: derive(
                        cipher_input,
                        b"SMB2AESCCM\0",
                        b"ServerIn \0",
                        cipher_key_len,
                    ),
                    encryption: derive(
                        cipher_input,
                        b"SMB2AESCCM\0",
                        b"ServerOut\0",
                        cipher_key_len,
                    ),
                    application: derive(&session_key[..], b"SMB2APP\0", b"SmbRpc\0", 16),
                }),
                session_key,
                signing_algorithm: SigningAlgorithm::AesCmac,
            },
            KeyDialect::Smb311 => {
                let ctx: &[u8] = preauth.map(|p| &p.value()[..]).unwrap_or(&[]);
                Self {
                    signing_key: to16(derive(&session_key[..], b"SMBSigningKey\0", ctx, 16)),
                    dialect3: Some(Dialect3Keys {
                        decryption: derive(cipher_input, b"SMBC2SCipherKey\0", ctx, cipher_key_len),
                        encryption: derive(cipher_input, b"SMBS2CCipherKey\0", ctx, cipher_key_len),
                        application: derive(&session_key[..], b"SMBAppKey\0", ctx, 16),
                    }),
                    session_key,
                    signing_algorithm,
                }
            }
        }
    }
}
