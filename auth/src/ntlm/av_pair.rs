//! AV_PAIR lists (MS-NLMP 2.2.2.1): the server's TargetInfo in the CHALLENGE_MESSAGE and the
//! client's copy (plus its own pairs) inside the NTLMv2 response.

use super::fields::u16_at;
use super::{WireError, wire};

/// AvId values (MS-NLMP 2.2.2.1).
pub mod id {
    /// MsvAvEOL: end of the list.
    pub const EOL: u16 = 0;
    /// MsvAvNbComputerName.
    pub const NB_COMPUTER_NAME: u16 = 1;
    /// MsvAvNbDomainName.
    pub const NB_DOMAIN_NAME: u16 = 2;
    /// MsvAvDnsComputerName.
    pub const DNS_COMPUTER_NAME: u16 = 3;
    /// MsvAvDnsDomainName.
    pub const DNS_DOMAIN_NAME: u16 = 4;
    /// MsvAvFlags.
    pub const FLAGS: u16 = 6;
    /// MsvAvTimestamp (FILETIME).
    pub const TIMESTAMP: u16 = 7;
    /// MsvAvTargetName: the SPN the client meant to reach.
    pub const TARGET_NAME: u16 = 9;
}

/// MsvAvFlags bit 0x2: the AUTHENTICATE_MESSAGE carries a MIC.
pub const AV_FLAG_MIC_PRESENT: u32 = 0x0000_0002;

/// Appends one AV_PAIR.
pub fn put(out: &mut Vec<u8>, av_id: u16, value: &[u8]) -> Result<(), WireError> {
    let len = u16::try_from(value.len()).map_err(|_| wire("AV_PAIR value too long"))?;
    out.extend_from_slice(&av_id.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// Appends MsvAvEOL.
pub fn put_eol(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0, 0, 0, 0]);
}

/// Parses an AV_PAIR list up to MsvAvEOL (required), each length checked.
pub fn parse(mut b: &[u8]) -> Result<Vec<(u16, &[u8])>, WireError> {
    let mut out = Vec::new();
    loop {
        let av_id = u16_at(b, 0).map_err(|_| wire("AV_PAIR list ends without MsvAvEOL"))?;
        let len = usize::from(u16_at(b, 2)?);
        if av_id == id::EOL {
            return Ok(out);
        }
        let end = 4usize
            .checked_add(len)
            .ok_or_else(|| wire("AV_PAIR length overflow"))?;
        let value = b
            .get(4..end)
            .ok_or_else(|| wire(format!("AV_PAIR {av_id} of {len} bytes runs past the list")))?;
        out.push((av_id, value));
        b = b.get(end..).unwrap_or_default();
    }
}

/// The first value with this id.
pub fn find<'a>(pairs: &[(u16, &'a [u8])], av_id: u16) -> Option<&'a [u8]> {
    pairs.iter().find(|(i, _)| *i == av_id).map(|(_, v)| *v)
}
