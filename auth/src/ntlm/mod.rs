//! NTLMSSP acceptor, NTLMv2 only (MS-NLMP). Opt-in per listener: Kerberos stays the default,
//! and every NTLM session is a sign that a client could not get a ticket for the name it
//! dialled (field research R20), which the server logs.
//!
//! ```text
//!  NEGOTIATE_MESSAGE (2.2.1.1) ──► CHALLENGE_MESSAGE (2.2.1.2, random ServerChallenge,
//!                                   TargetInfo AV_PAIRs with MsvAvTimestamp)
//!  AUTHENTICATE_MESSAGE (2.2.1.3) ─► NTOWFv2 / NTProofStr check (3.3.2), timestamp window,
//!                                   MIC (3.1.5.1.2), KXKEY + RC4 key exchange (3.4.5.x)
//!                                   ─► ExportedSessionKey = the SMB session key
//! ```
//!
//! NTLMv1, LM and anonymous responses are refused; there is no guest account.

pub mod authenticate;
pub mod av_pair;
pub mod challenge;
pub mod client;
pub mod fields;
pub mod keys;
pub mod negotiate;
pub mod server;
pub mod users;

#[cfg(test)]
mod tests;

pub use server::{NtlmAccepted, NtlmServer, TargetNames};
pub use users::{NtUsers, nt_hash};

/// "NTLMSSP\0": every NTLM message starts with it (MS-NLMP 2.2.1).
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// NegotiateFlags bits (MS-NLMP 2.2.2.5) this acceptor reads or sets.
pub mod flags {
    /// NTLMSSP_NEGOTIATE_UNICODE (A).
    pub const UNICODE: u32 = 0x0000_0001;
    /// NTLM_NEGOTIATE_OEM (B).
    pub const OEM: u32 = 0x0000_0002;
    /// NTLMSSP_REQUEST_TARGET (C).
    pub const REQUEST_TARGET: u32 = 0x0000_0004;
    /// NTLMSSP_NEGOTIATE_SIGN (D).
    pub const SIGN: u32 = 0x0000_0010;
    /// NTLMSSP_NEGOTIATE_SEAL (E).
    pub const SEAL: u32 = 0x0000_0020;
    /// NTLMSSP_NEGOTIATE_NTLM (H).
    pub const NTLM: u32 = 0x0000_0200;
    /// NTLMSSP_NEGOTIATE_ANONYMOUS (J).
    pub const ANONYMOUS: u32 = 0x0000_0800;
    /// NTLMSSP_NEGOTIATE_ALWAYS_SIGN (M).
    pub const ALWAYS_SIGN: u32 = 0x0000_8000;
    /// NTLMSSP_TARGET_TYPE_SERVER (R).
    pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
    /// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (P).
    pub const EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
    /// NTLMSSP_NEGOTIATE_TARGET_INFO (S).
    pub const TARGET_INFO: u32 = 0x0080_0000;
    /// NTLMSSP_NEGOTIATE_VERSION (T).
    pub const VERSION: u32 = 0x0200_0000;
    /// NTLMSSP_NEGOTIATE_128 (U).
    pub const NEG_128: u32 = 0x2000_0000;
    /// NTLMSSP_NEGOTIATE_KEY_EXCH (V).
    pub const KEY_EXCH: u32 = 0x4000_0000;
    /// NTLMSSP_NEGOTIATE_56 (W).
    pub const NEG_56: u32 = 0x8000_0000;
}

/// MessageType values (MS-NLMP 2.2.1).
pub mod message_type {
    /// NtLmNegotiate.
    pub const NEGOTIATE: u32 = 1;
    /// NtLmChallenge.
    pub const CHALLENGE: u32 = 2;
    /// NtLmAuthenticate.
    pub const AUTHENTICATE: u32 = 3;
}

/// Why an NTLM message could not be parsed (the acceptor maps it to `AuthError::Malformed`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WireError(pub String);

fn wire(msg: impl Into<String>) -> WireError {
    WireError(msg.into())
}

/// UTF-16LE encoding (MS-NLMP strings are Unicode when NTLMSSP_NEGOTIATE_UNICODE is set).
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Decodes UTF-16LE (lossy; an odd trailing byte is an error).
pub fn from_utf16le(b: &[u8]) -> Result<String, WireError> {
    if !b.len().is_multiple_of(2) {
        return Err(wire("odd-length UTF-16 string"));
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| {
            u16::from_le_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect();
    Ok(String::from_utf16_lossy(&units))
}
