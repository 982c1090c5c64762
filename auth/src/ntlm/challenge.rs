//! CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2): the flags the server settles on, the random server
//! challenge, and TargetInfo (the names the client folds into its NTLMv2 response).

use super::fields::put_field;
use super::{SIGNATURE, WireError, flags, message_type};

/// Fixed part: Signature .. Version, payload follows (MS-NLMP 2.2.1.2).
const HEADER_LEN: usize = 56;

/// MS-NLMP 2.2.2.10 VERSION: 10.0, build 20348, NTLMSSP_REVISION_W2K3 (0x0F). Informational.
const VERSION: [u8; 8] = [10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f];

/// The flags this acceptor answers a NEGOTIATE_MESSAGE with (MS-NLMP 3.2.5.1.1): Unicode,
/// NTLM, target info and the server target type always; signing, sealing, extended session
/// security, 128/56-bit and key exchange when the client asked for them.
pub fn answer_flags(client: u32) -> u32 {
    let echoed = flags::SIGN
        | flags::SEAL
        | flags::ALWAYS_SIGN
        | flags::EXTENDED_SESSIONSECURITY
        | flags::NEG_128
        | flags::NEG_56
        | flags::KEY_EXCH
        | flags::VERSION;
    flags::UNICODE
        | flags::REQUEST_TARGET
        | flags::NTLM
        | flags::TARGET_TYPE_SERVER
        | flags::TARGET_INFO
        | (client & echoed)
}

/// Builds the message. `target_name` is UTF-16LE (the NetBIOS name), `target_info` an encoded
/// AV_PAIR list ending in MsvAvEOL.
pub fn build(
    negotiate_flags: u32,
    server_challenge: &[u8; 8],
    target_name: &[u8],
    target_info: &[u8],
) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(HEADER_LEN + target_name.len() + target_info.len());
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&message_type::CHALLENGE.to_le_bytes());
    put_field(&mut out, target_name.len(), HEADER_LEN)?;
    out.extend_from_slice(&negotiate_flags.to_le_bytes());
    out.extend_from_slice(server_challenge);
    out.extend_from_slice(&[0u8; 8]);
    put_field(&mut out, target_info.len(), HEADER_LEN + target_name.len())?;
    out.extend_from_slice(&VERSION);
    out.extend_from_slice(target_name);
    out.extend_from_slice(target_info);
    Ok(out)
}
