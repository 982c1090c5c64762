//! AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) and the NTLMv2_RESPONSE inside it (2.2.2.8/2.2.2.7).
//! Every field descriptor is checked against the message; nothing is trusted to be in range.

use super::av_pair;
use super::fields::{array_at, payload, u32_at};
use super::{SIGNATURE, WireError, from_utf16le, message_type, wire};

/// Offset of the MIC when present: after the six field descriptors, the flags and VERSION.
pub const MIC_OFFSET: usize = 72;

/// The parsed message; slices borrow from it.
#[derive(Debug, Clone)]
pub struct Authenticate<'a> {
    /// LmChallengeResponse (ignored for NTLMv2 beyond telling v1 apart).
    pub lm_response: &'a [u8],
    /// NtChallengeResponse.
    pub nt_response: &'a [u8],
    /// DomainName as sent (UTF-16LE decoded).
    pub domain: String,
    /// UserName as sent.
    pub user: String,
    /// Workstation as sent.
    pub workstation: String,
    /// EncryptedRandomSessionKey (empty without KEY_EXCH).
    pub encrypted_session_key: &'a [u8],
    /// NegotiateFlags the client settled on.
    pub flags: u32,
    /// The 16 MIC bytes at [`MIC_OFFSET`], when the message is long enough to hold them. Whether
    /// they *are* a MIC is said by MsvAvFlags in the NTLMv2 response.
    pub mic: Option<[u8; 16]>,
}

impl<'a> Authenticate<'a> {
    /// Parses the header and resolves every payload field.
    pub fn parse(msg: &'a [u8]) -> Result<Self, WireError> {
        if msg.get(..8) != Some(&SIGNATURE[..]) {
            return Err(wire("no NTLMSSP signature"));
        }
        let t = u32_at(msg, 8)?;
        if t != message_type::AUTHENTICATE {
            return Err(wire(format!(
                "message type {t} where AUTHENTICATE (3) was expected"
            )));
        }
        let flags = u32_at(msg, 60)?;
        let lowest = [12usize, 20, 28, 36, 44, 52]
            .iter()
            .filter_map(|at| {
                let len = super::fields::u16_at(msg, *at).ok()?;
                let off = u32_at(msg, at + 4).ok()?;
                (len > 0).then_some(off as usize)
            })
            .min()
            .unwrap_or(msg.len());
        // The MIC sits before the payload; a payload that starts earlier leaves no room.
        let mic = if lowest >= MIC_OFFSET + 16 {
            array_at::<16>(msg, MIC_OFFSET).ok()
        } else {
            None
        };
        Ok(Self {
            lm_response: payload(msg, 12, "LmChallengeResponse")?,
            nt_response: payload(msg, 20, "NtChallengeResponse")?,
            domain: from_utf16le(payload(msg, 28, "DomainName")?)?,
            user: from_utf16le(payload(msg, 36, "UserName")?)?,
            workstation: from_utf16le(payload(msg, 44, "Workstation")?)?,
            encrypted_session_key: payload(msg, 52, "EncryptedRandomSessionKey")?,
            flags,
            mic,
        })
    }
}

/// NTLMv2_RESPONSE (MS-NLMP 2.2.2.8): NTProofStr and the client challenge blob after it.
#[derive(Debug, Clone)]
pub struct NtlmV2Response<'a> {
    /// NTProofStr (16 bytes).
    pub proof: [u8; 16],
    /// NTLMv2_CLIENT_CHALLENGE ("temp" in 3.3.2): everything after NTProofStr.
    pub blob: &'a [u8],
    /// TimeStamp (FILETIME).
    pub timestamp: u64,
    /// The AV pairs the client put in the blob.
    pub av_pairs: Vec<(u16, &'a [u8])>,
}

/// Shortest NTLMv2 response: NTProofStr + the 28-byte fixed part of the client challenge
/// + MsvAvEOL.
const MIN_V2_LEN: usize = 16 + 28 + 4;

impl<'a> NtlmV2Response<'a> {
    /// Parses an NtChallengeResponse already known not to be NTLMv1 (24 bytes).
    pub fn parse(nt: &'a [u8]) -> Result<Self, WireError> {
        if nt.len() < MIN_V2_LEN {
            return Err(wire(format!(
                "NTLMv2 response of {} bytes is shorter than {MIN_V2_LEN}",
                nt.len()
            )));
        }
        let proof = array_at::<16>(nt, 0)?;
        let blob = nt.get(16..).unwrap_or_default();
        // RespType and HiRespType are both 1 (2.2.2.7).
        if blob.get(..2) != Some(&[1, 1][..]) {
            return Err(wire("NTLMv2 client challenge has an unknown RespType"));
        }
        let timestamp = u64::from_le_bytes(array_at::<8>(blob, 8)?);
        let av_pairs = av_pair::parse(blob.get(28..).unwrap_or_default())?;
        Ok(Self {
            proof,
            blob,
            timestamp,
            av_pairs,
        })
    }
}
