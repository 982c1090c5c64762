//! [MS-SMB2 3.3.5.3] / [MS-CIFS 2.2.4.52] The SMB1 multi-protocol NEGOTIATE a client may open
//! with (`0xFF 'S' 'M' 'B'`, command 0x72). The server answers it with an SMB2 NEGOTIATE
//! response if the client offers "SMB 2.002" or "SMB 2.???".
//!
//! [MS-SMB2 3.3.5.3]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/b99264a6-7520-4563-adaf-fc4fdf7d5a1b

use crate::codec::{DecodeError, DecodeResult, Reader};

/// `0xFF 'S' 'M' 'B'`.
pub const SMB1_PROTOCOL_ID: [u8; 4] = [0xFF, b'S', b'M', b'B'];
/// SMB_COM_NEGOTIATE.
pub const SMB_COM_NEGOTIATE: u8 = 0x72;
/// Size of the SMB1 header.
pub const SMB1_HEADER_SIZE: usize = 32;
/// The dialect string for SMB 2.0.2.
pub const DIALECT_SMB2_002: &str = "SMB 2.002";
/// The dialect string for "SMB 2.1 or later".
pub const DIALECT_SMB2_WILDCARD: &str = "SMB 2.???";

/// True if `frame` is an SMB1 message (any command).
pub fn is_smb1(frame: &[u8]) -> bool {
    frame.get(..4) == Some(&SMB1_PROTOCOL_ID[..])
}

/// [MS-CIFS 2.2.4.52.1] SMB_COM_NEGOTIATE request: the dialect strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Smb1Negotiate {
    /// The dialects offered, in order (OEM strings, decoded lossily).
    pub dialects: Vec<String>,
}

impl Smb1Negotiate {
    /// Decodes an SMB1 NEGOTIATE request: a 32-byte header with Command 0x72, WordCount 0,
    /// ByteCount, then `0x02 <name> 0x00` per dialect.
    pub fn decode(frame: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "SMB1 NEGOTIATE";
        let mut r = Reader::new(frame, WHAT);
        if r.array::<4>()? != SMB1_PROTOCOL_ID {
            return Err(DecodeError::Invalid {
                what: "SMB1 ProtocolId",
            });
        }
        if r.u8()? != SMB_COM_NEGOTIATE {
            return Err(DecodeError::Invalid {
                what: "SMB1 command",
            });
        }
        r.skip(SMB1_HEADER_SIZE - 5)?;
        let word_count = r.u8()?;
        r.skip(usize::from(word_count) * 2)?;
        let byte_count = r.u16()?;
        let mut bytes = r
            .take(usize::from(byte_count))
            .map_err(|_| DecodeError::OutOfBounds {
                what: "SMB1 NEGOTIATE ByteCount",
            })?;
        let mut dialects = Vec::new();
        while let Some((&fmt, rest)) = bytes.split_first() {
            if fmt != 0x02 {
                return Err(DecodeError::Invalid {
                    what: "SMB1 dialect BufferFormat",
                });
            }
            let nul = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or(DecodeError::Truncated { what: WHAT })?;
            let (name, tail) = rest.split_at(nul);
            dialects.push(String::from_utf8_lossy(name).into_owned());
            bytes = tail.get(1..).unwrap_or(&[]);
        }
        Ok(Self { dialects })
    }

    /// True if "SMB 2.???" is offered (answer with dialect 0x02FF).
    pub fn offers_smb2_wildcard(&self) -> bool {
        self.dialects.iter().any(|d| d == DIALECT_SMB2_WILDCARD)
    }

    /// True if "SMB 2.002" is offered (answer with dialect 0x0202).
    pub fn offers_smb2_002(&self) -> bool {
        self.dialects.iter().any(|d| d == DIALECT_SMB2_002)
    }

    /// Encodes a request offering `dialects` (for tests and the test client).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for d in &self.dialects {
            body.push(0x02);
            body.extend_from_slice(d.as_bytes());
            body.push(0);
        }
        let mut out = Vec::with_capacity(SMB1_HEADER_SIZE + 3 + body.len());
        out.extend_from_slice(&SMB1_PROTOCOL_ID);
        out.push(SMB_COM_NEGOTIATE);
        out.extend_from_slice(&[0; 4]); // Status
        out.push(0x18); // Flags: case insensitive, canonicalized paths
        out.extend_from_slice(&0xC853u16.to_le_bytes()); // Flags2: unicode, NT status, ext sec
        out.extend_from_slice(&[0; 20]); // PIDHigh, SecurityFeatures, Reserved, TID, PIDLow, UID, MID
        out.push(0); // WordCount
        out.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }
}
