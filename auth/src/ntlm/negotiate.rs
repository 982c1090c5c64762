//! NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1): the client's opening flags. Domain and workstation
//! fields are informational (and usually empty), so only the header is read.

use super::fields::u32_at;
use super::{SIGNATURE, WireError, message_type, wire};

/// What the acceptor needs from a NEGOTIATE_MESSAGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiate {
    /// NegotiateFlags the client asks for.
    pub flags: u32,
}

impl Negotiate {
    /// Parses the fixed header (Signature, MessageType, NegotiateFlags).
    pub fn parse(msg: &[u8]) -> Result<Self, WireError> {
        if msg.get(..8) != Some(&SIGNATURE[..]) {
            return Err(wire("no NTLMSSP signature"));
        }
        let t = u32_at(msg, 8)?;
        if t != message_type::NEGOTIATE {
            return Err(wire(format!(
                "message type {t} where NEGOTIATE (1) was expected"
            )));
        }
        Ok(Self {
            flags: u32_at(msg, 12)?,
        })
    }
}
