//! A minimal NTLMv2 *initiator*, for tests and tools that must log on to this acceptor without
//! an outside client (the engine scenarios in `tests/`). It follows MS-NLMP 3.1.5 and 3.3.2:
//! NEGOTIATE, then AUTHENTICATE with an NTLMv2 response over the server's TargetInfo, KEY_EXCH
//! and the message MIC. Not used by the server.

use super::authenticate::MIC_OFFSET;
use super::av_pair::{self, AV_FLAG_MIC_PRESENT, id};
use super::fields::{array_at, payload, put_field, u32_at};
use super::keys::{self, Key16};
use super::{SIGNATURE, WireError, flags, message_type, utf16le};

/// Flags a modern client sends.
pub const CLIENT_FLAGS: u32 = flags::UNICODE
    | flags::REQUEST_TARGET
    | flags::SIGN
    | flags::SEAL
    | flags::NTLM
    | flags::ALWAYS_SIGN
    | flags::EXTENDED_SESSIONSECURITY
    | flags::TARGET_INFO
    | flags::VERSION
    | flags::NEG_128
    | flags::KEY_EXCH
    | flags::NEG_56;

/// NEGOTIATE_MESSAGE with no domain or workstation.
pub fn negotiate(negotiate_flags: u32) -> Vec<u8> {
    let mut m = SIGNATURE.to_vec();
    m.extend_from_slice(&message_type::NEGOTIATE.to_le_bytes());
    m.extend_from_slice(&negotiate_flags.to_le_bytes());
    m.extend_from_slice(&[0u8; 16]);
    m.extend_from_slice(&[10, 0, 0, 0, 0, 0, 0, 0x0f]);
    m
}

/// What the initiator chooses for its AUTHENTICATE_MESSAGE.
#[derive(Debug, Clone)]
pub struct ClientInput<'a> {
    /// User name.
    pub user: &'a str,
    /// Domain.
    pub domain: &'a str,
    /// NT hash of the password.
    pub nt_hash: [u8; 16],
    /// Client challenge.
    pub client_challenge: [u8; 8],
    /// Random session key (KEY_EXCH).
    pub random_session_key: [u8; 16],
    /// Response timestamp (FILETIME); `None` takes the server's MsvAvTimestamp.
    pub timestamp: Option<u64>,
    /// SPN for MsvAvTargetName, if any.
    pub target_name: Option<&'a str>,
    /// Add MsvAvFlags(MIC) and the MIC.
    pub with_mic: bool,
}

/// The AUTHENTICATE_MESSAGE and the ExportedSessionKey the server should derive.
pub fn authenticate(
    negotiate_msg: &[u8],
    challenge_msg: &[u8],
    input: &ClientInput<'_>,
) -> Result<(Vec<u8>, Key16), WireError> {
    let server_challenge = array_at::<8>(challenge_msg, 24)?;
    let negotiate_flags = u32_at(challenge_msg, 20)?;
    let target_info = av_pair::parse(payload(challenge_msg, 40, "TargetInfo")?)?;
    let timestamp = match input.timestamp {
        Some(t) => t,
        None => av_pair::find(&target_info, id::TIMESTAMP)
            .and_then(|v| <[u8; 8]>::try_from(v).ok())
            .map_or(0, u64::from_le_bytes),
    };
    let mut pairs = Vec::new();
    for (av, v) in &target_info {
        av_pair::put(&mut pairs, *av, v)?;
    }
    if input.with_mic {
        av_pair::put(&mut pairs, id::FLAGS, &AV_FLAG_MIC_PRESENT.to_le_bytes())?;
    }
    if let Some(t) = input.target_name {
        av_pair::put(&mut pairs, id::TARGET_NAME, &utf16le(t))?;
    }
    av_pair::put_eol(&mut pairs);
    let mut blob = vec![1u8, 1, 0, 0, 0, 0, 0, 0];
    blob.extend_from_slice(&timestamp.to_le_bytes());
    blob.extend_from_slice(&input.client_challenge);
    blob.extend_from_slice(&[0u8; 4]);
    blob.extend_from_slice(&pairs);
    blob.extend_from_slice(&[0u8; 4]);
    let key = keys::ntowf_v2(&input.nt_hash, input.user, input.domain);
    let proof = keys::nt_proof(&key, &server_challenge, &blob);
    let mut nt = proof.to_vec();
    nt.extend_from_slice(&blob);
    let kxkey = keys::session_base_key(&key, &proof);
    let mut enc = input.random_session_key;
    keys::rc4(&kxkey, &mut enc);
    let lm = [0u8; 24];
    let (domain, user, ws) = (
        utf16le(input.domain),
        utf16le(input.user),
        utf16le("TESTCLIENT"),
    );
    let fields: [&[u8]; 6] = [&lm, &nt, &domain, &user, &ws, &enc];
    let header = MIC_OFFSET + 16;
    let mut m = SIGNATURE.to_vec();
    m.extend_from_slice(&message_type::AUTHENTICATE.to_le_bytes());
    let mut offset = header;
    for f in fields {
        put_field(&mut m, f.len(), offset)?;
        offset += f.len();
    }
    m.extend_from_slice(&(negotiate_flags | flags::KEY_EXCH).to_le_bytes());
    m.extend_from_slice(&[10, 0, 0, 0, 0, 0, 0, 0x0f]);
    m.extend_from_slice(&[0u8; 16]);
    for f in fields {
        m.extend_from_slice(f);
    }
    let exported = Key16::new(input.random_session_key);
    if input.with_mic {
        let mic = keys::message_mic(&exported, negotiate_msg, challenge_msg, &m);
        for (dst, src) in m.iter_mut().skip(MIC_OFFSET).zip(mic.iter()) {
            *dst = *src;
        }
    }
    Ok((m, exported))
}
