//! [MS-SMB2 2.2.3.1] Negotiate contexts (SMB 3.1.1) and the protocol numbers they carry:
//! dialects, hash algorithms, ciphers, signing algorithms.
//!
//! Contexts are accepted in any order and unknown types are kept as
//! [`NegotiateContext::Unknown`], never rejected (interop: new Windows builds add types).
//! Each context starts 8-byte aligned relative to the SMB2 header ([MS-SMB2 2.2.3.1 / 2.2.4.1]).
//!
//! [MS-SMB2 2.2.3.1]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/15332256-522e-4a53-8cd7-0bd17678a2f7

use crate::codec::{
    DecodeError, DecodeResult, Reader, Writer, align8, sat_u16, string_to_utf16le, utf16le_units,
};

crate::wire_newtype! {
    /// [MS-SMB2 2.2.3] Dialect revision numbers.
    Dialect(u16) {
        SMB2_0_2 = 0x0202,
        SMB2_1 = 0x0210,
        SMB3_0 = 0x0300,
        SMB3_0_2 = 0x0302,
        SMB3_1_1 = 0x0311,
        SMB2_WILDCARD = 0x02FF,
    }
}

impl Dialect {
    /// True for the SMB 3.x family (3.0, 3.0.2, 3.1.1).
    pub fn is_smb3(self) -> bool {
        self.0 >= 0x0300 && self.0 != 0x02FF
    }
}

crate::wire_newtype! {
    /// [MS-SMB2 2.2.3.1] ContextType values.
    NegotiateContextType(u16) {
        PREAUTH_INTEGRITY_CAPABILITIES = 0x0001,
        ENCRYPTION_CAPABILITIES = 0x0002,
        COMPRESSION_CAPABILITIES = 0x0003,
        NETNAME_NEGOTIATE_CONTEXT_ID = 0x0005,
        TRANSPORT_CAPABILITIES = 0x0006,
        RDMA_TRANSFORM_CAPABILITIES = 0x0007,
        SIGNING_CAPABILITIES = 0x0008,
    }
}

crate::wire_newtype! {
    /// [MS-SMB2 2.2.3.1.1] Preauth integrity hash algorithms.
    HashAlgorithm(u16) {
        SHA512 = 0x0001,
    }
}

crate::wire_newtype! {
    /// [MS-SMB2 2.2.3.1.2] Encryption cipher ids.
    CipherId(u16) {
        AES_128_CCM = 0x0001,
        AES_128_GCM = 0x0002,
        AES_256_CCM = 0x0003,
        AES_256_GCM = 0x0004,
    }
}

crate::wire_newtype! {
    /// [MS-SMB2 2.2.3.1.7] Signing algorithm ids.
    SigningAlgorithm(u16) {
        HMAC_SHA256 = 0x0000,
        AES_CMAC = 0x0001,
        AES_GMAC = 0x0002,
    }
}

crate::wire_newtype! {
    /// [MS-SMB2 2.2.3.1.3] Compression algorithm ids.
    CompressionAlgorithm(u16) {
        NONE = 0x0000,
        LZNT1 = 0x0001,
        LZ77 = 0x0002,
        LZ77_HUFFMAN = 0x0003,
        PATTERN_V1 = 0x0004,
        LZ4 = 0x0005,
    }
}

/// [MS-SMB2 2.2.3.1] One negotiate context, decoded by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NegotiateContext {
    /// [2.2.3.1.1] SMB2_PREAUTH_INTEGRITY_CAPABILITIES.
    PreauthIntegrity {
        /// HashAlgorithms (see [`HashAlgorithm`]).
        hash_algorithms: Vec<u16>,
        /// Salt.
        salt: Vec<u8>,
    },
    /// [2.2.3.1.2] SMB2_ENCRYPTION_CAPABILITIES (unknown cipher ids are kept).
    Encryption {
        /// Ciphers (see [`CipherId`]), in preference order.
        ciphers: Vec<u16>,
    },
    /// [2.2.3.1.3] SMB2_COMPRESSION_CAPABILITIES.
    Compression {
        /// Flags (SMB2_COMPRESSION_CAPABILITIES_FLAG_CHAINED = 1).
        flags: u32,
        /// CompressionAlgorithms (see [`CompressionAlgorithm`]).
        algorithms: Vec<u16>,
    },
    /// [2.2.3.1.4] SMB2_NETNAME_NEGOTIATE_CONTEXT_ID: the server name the client dialled.
    NetnameNegotiateContextId {
        /// NetName (invalid UTF-16 is replaced, the name is informative only).
        netname: String,
    },
    /// [2.2.3.1.5] SMB2_TRANSPORT_CAPABILITIES.
    TransportCapabilities {
        /// Flags (SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY = 1).
        flags: u32,
    },
    /// [2.2.3.1.6] SMB2_RDMA_TRANSFORM_CAPABILITIES.
    RdmaTransformCapabilities {
        /// RDMATransformIds.
        transform_ids: Vec<u16>,
    },
    /// [2.2.3.1.7] SMB2_SIGNING_CAPABILITIES.
    Signing {
        /// SigningAlgorithms (see [`SigningAlgorithm`]), in preference order.
        algorithms: Vec<u16>,
    },
    /// Any other ContextType, kept verbatim.
    Unknown {
        /// ContextType.
        context_type: u16,
        /// Data.
        data: Vec<u8>,
    },
}

/// Reads `count` little-endian u16 values.
fn read_u16s(r: &mut Reader<'_>, count: u16) -> DecodeResult<Vec<u16>> {
    // Bounded: each value needs 2 input bytes.
    let mut v = Vec::with_capacity(usize::from(count).min(r.remaining() / 2));
    for _ in 0..count {
        v.push(r.u16()?);
    }
    Ok(v)
}

impl NegotiateContext {
    /// The ContextType of this context.
    pub fn context_type(&self) -> u16 {
        let t = match self {
            Self::PreauthIntegrity { .. } => NegotiateContextType::PREAUTH_INTEGRITY_CAPABILITIES,
            Self::Encryption { .. } => NegotiateContextType::ENCRYPTION_CAPABILITIES,
            Self::Compression { .. } => NegotiateContextType::COMPRESSION_CAPABILITIES,
            Self::NetnameNegotiateContextId { .. } => {
                NegotiateContextType::NETNAME_NEGOTIATE_CONTEXT_ID
            }
            Self::TransportCapabilities { .. } => NegotiateContextType::TRANSPORT_CAPABILITIES,
            Self::RdmaTransformCapabilities { .. } => {
                NegotiateContextType::RDMA_TRANSFORM_CAPABILITIES
            }
            Self::Signing { .. } => NegotiateContextType::SIGNING_CAPABILITIES,
            Self::Unknown { context_type, .. } => return *context_type,
        };
        t.0
    }

    /// Decodes the Data of a context of type `context_type`. A known type whose data is
    /// shorter than its counts claim is an error (MS-SMB2 3.3.5.4: STATUS_INVALID_PARAMETER).
    pub fn from_data(context_type: u16, data: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "negotiate context";
        let mut r = Reader::new(data, WHAT);
        Ok(match NegotiateContextType(context_type) {
            NegotiateContextType::PREAUTH_INTEGRITY_CAPABILITIES => {
                let count = r.u16()?;
                let salt_len = r.u16()?;
                let hash_algorithms = read_u16s(&mut r, count)?;
                let salt = r.take(usize::from(salt_len))?.to_vec();
                Self::PreauthIntegrity {
                    hash_algorithms,
                    salt,
                }
            }
            NegotiateContextType::ENCRYPTION_CAPABILITIES => {
                let count = r.u16()?;
                Self::Encryption {
                    ciphers: read_u16s(&mut r, count)?,
                }
            }
            NegotiateContextType::COMPRESSION_CAPABILITIES => {
                let count = r.u16()?;
                r.skip(2)?;
                let flags = r.u32()?;
                Self::Compression {
                    flags,
                    algorithms: read_u16s(&mut r, count)?,
                }
            }
            NegotiateContextType::NETNAME_NEGOTIATE_CONTEXT_ID => {
                let units: Vec<u16> = utf16le_units(data).collect();
                Self::NetnameNegotiateContextId {
                    netname: String::from_utf16_lossy(&units),
                }
            }
            NegotiateContextType::TRANSPORT_CAPABILITIES => {
                Self::TransportCapabilities { flags: r.u32()? }
            }
            NegotiateContextType::RDMA_TRANSFORM_CAPABILITIES => {
                let count = r.u16()?;
                r.skip(6)?;
                Self::RdmaTransformCapabilities {
                    transform_ids: read_u16s(&mut r, count)?,
                }
            }
            NegotiateContextType::SIGNING_CAPABILITIES => {
                let count = r.u16()?;
                Self::Signing {
                    algorithms: read_u16s(&mut r, count)?,
                }
            }
            _ => Self::Unknown {
                context_type,
                data: data.to_vec(),
            },
        })
    }

    /// Encodes the Data of this context (without the 8-byte context header).
    pub fn data(&self) -> Vec<u8> {
        let mut w = Writer::new();
        let u16s = |w: &mut Writer, v: &[u16]| v.iter().for_each(|x| w.u16(*x));
        match self {
            Self::PreauthIntegrity {
                hash_algorithms,
                salt,
            } => {
                w.u16(sat_u16(hash_algorithms.len()));
                w.u16(sat_u16(salt.len()));
                u16s(&mut w, hash_algorithms);
                w.bytes(salt);
            }
            Self::Encryption { ciphers } => {
                w.u16(sat_u16(ciphers.len()));
                u16s(&mut w, ciphers);
            }
            Self::Compression { flags, algorithms } => {
                w.u16(sat_u16(algorithms.len()));
                w.u16(0);
                w.u32(*flags);
                u16s(&mut w, algorithms);
            }
            Self::NetnameNegotiateContextId { netname } => w.bytes(&string_to_utf16le(netname)),
            Self::TransportCapabilities { flags } => w.u32(*flags),
            Self::RdmaTransformCapabilities { transform_ids } => {
                w.u16(sat_u16(transform_ids.len()));
                w.zeros(6);
                u16s(&mut w, transform_ids);
            }
            Self::Signing { algorithms } => {
                w.u16(sat_u16(algorithms.len()));
                u16s(&mut w, algorithms);
            }
            Self::Unknown { data, .. } => w.bytes(data),
        }
        w.into_inner().to_vec()
    }
}

/// Walks a list of `count` contexts in the common `ContextType u16, DataLength u16,
/// Reserved u32, Data` shape (negotiate [2.2.3.1] and tree connect [2.2.9.2] contexts).
/// `list` starts at `list_offset` from the SMB2 header; each context after the first starts at
/// the next 8-byte boundary relative to the header. The last one needs no trailing padding.
pub fn decode_context_list<'a>(
    list: &'a [u8],
    list_offset: u32,
    count: u16,
    what: &'static str,
) -> DecodeResult<Vec<(u16, &'a [u8])>> {
    // Bounded: each context needs at least 8 input bytes.
    let mut out = Vec::with_capacity(usize::from(count).min(list.len() / 8));
    let mut pos: usize = 0;
    for i in 0..count {
        if i > 0 {
            let abs = (list_offset as usize)
                .checked_add(pos)
                .ok_or(DecodeError::OutOfBounds { what })?;
            let aligned = align8(abs).ok_or(DecodeError::OutOfBounds { what })?;
            pos = pos
                .checked_add(aligned - abs)
                .ok_or(DecodeError::OutOfBounds { what })?;
        }
        let rest = list.get(pos..).ok_or(DecodeError::OutOfBounds { what })?;
        let mut r = Reader::new(rest, what);
        let context_type = r.u16()?;
        let len = r.u16()?;
        r.skip(4)?;
        let data = r
            .take(usize::from(len))
            .map_err(|_| DecodeError::OutOfBounds { what })?;
        out.push((context_type, data));
        pos = pos
            .checked_add(8 + usize::from(len))
            .ok_or(DecodeError::OutOfBounds { what })?;
    }
    Ok(out)
}

/// Writes one context (8-byte aligned relative to the header) in the common shape.
pub fn encode_context(w: &mut Writer, context_type: u16, data: &[u8]) {
    w.align(8);
    w.u16(context_type);
    w.u16(sat_u16(data.len()));
    w.u32(0);
    w.bytes(data);
}

/// Decodes a negotiate context list (see [`decode_context_list`]).
pub fn decode_negotiate_contexts(
    list: &[u8],
    list_offset: u32,
    count: u16,
) -> DecodeResult<Vec<NegotiateContext>> {
    decode_context_list(list, list_offset, count, "negotiate context list")?
        .into_iter()
        .map(|(t, d)| NegotiateContext::from_data(t, d))
        .collect()
}

/// Encodes a negotiate context list; returns the offset of the first context (0 if none).
pub fn encode_negotiate_contexts(w: &mut Writer, contexts: &[NegotiateContext]) -> u32 {
    if contexts.is_empty() {
        return 0;
    }
    w.align(8);
    let first = w.offset();
    for c in contexts {
        encode_context(w, c.context_type(), &c.data());
    }
    first
}
