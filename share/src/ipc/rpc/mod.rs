//! DCE/RPC connection-oriented protocol (C706 ch. 12, extended by MS-RPCE 2.2.2) as used over
//! SMB named pipes, and the NDR 2.0 transfer syntax (C706 ch. 14).
//!
//! Only what an srvsvc/wkssvc server needs: no RPC-level authentication, NDR 2.0 only (NDR64 is
//! refused at bind time, which MS-RPCE allows), little-endian/ASCII/IEEE data representation.

pub mod association;
pub mod bind;
pub mod ndr;
pub mod pdu;

/// A UUID in its NDR wire form: the first three fields little-endian (C706 appendix A).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// All-zero UUID, used for the transfer syntax of rejected presentation contexts.
    pub const NIL: Uuid = Uuid([0; 16]);

    /// Builds the wire form from the textual fields `d1-d2-d3-d4[0..2]-d4[2..8]`.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Uuid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Uuid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }
}

impl std::fmt::Debug for Uuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = &self.0;
        let d1 = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let d2 = u16::from_le_bytes([b[4], b[5]]);
        let d3 = u16::from_le_bytes([b[6], b[7]]);
        write!(f, "{d1:08x}-{d2:04x}-{d3:04x}-")?;
        for (i, x) in b.iter().enumerate().skip(8) {
            if i == 10 {
                f.write_str("-")?;
            }
            write!(f, "{x:02x}")?;
        }
        Ok(())
    }
}

/// `p_syntax_id_t` (C706 12.6.3.1): an interface or transfer syntax UUID and its version,
/// `if_version` = major in the low 16 bits, minor in the high 16 bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct SyntaxId {
    /// Interface or transfer syntax UUID.
    pub uuid: Uuid,
    /// `if_version`: major | minor << 16.
    pub version: u32,
}

impl SyntaxId {
    /// Size on the wire: 16-byte UUID + 32-bit version.
    pub const SIZE: usize = 20;

    /// A syntax from its UUID and major.minor version.
    pub const fn new(uuid: Uuid, major: u16, minor: u16) -> SyntaxId {
        SyntaxId {
            uuid,
            version: major as u32 | (minor as u32) << 16,
        }
    }

    /// Major version (low 16 bits).
    pub fn major(self) -> u16 {
        (self.version & 0xffff) as u16
    }

    /// Minor version (high 16 bits).
    pub fn minor(self) -> u16 {
        (self.version >> 16) as u16
    }
}

/// NDR 2.0 transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0 (C706 appendix I).
pub const NDR20: SyntaxId = SyntaxId::new(
    Uuid::from_fields(
        0x8a88_5d04,
        0x1ceb,
        0x11c9,
        [0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60],
    ),
    2,
    0,
);

/// NDR64 transfer syntax 71710533-beba-4937-8319-b5dbef9ccc36 v1.0 (MS-RPCE 2.2.5): refused.
pub const NDR64: SyntaxId = SyntaxId::new(
    Uuid::from_fields(
        0x7171_0533,
        0xbeba,
        0x4937,
        [0x83, 0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36],
    ),
    1,
    0,
);

/// srvsvc interface 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0 (MS-SRVS 1.9).
pub const SRVSVC: SyntaxId = SyntaxId::new(
    Uuid::from_fields(
        0x4b32_4fc8,
        0x1670,
        0x01d3,
        [0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88],
    ),
    3,
    0,
);

/// wkssvc interface 6bffd098-a112-3610-9833-46c3f87e345a v1.0 (MS-WKST 1.9).
pub const WKSSVC: SyntaxId = SyntaxId::new(
    Uuid::from_fields(
        0x6bff_d098,
        0xa112,
        0x3610,
        [0x98, 0x33, 0x46, 0xc3, 0xf8, 0x7e, 0x34, 0x5a],
    ),
    1,
    0,
);

/// The fixed first 8 bytes of the bind-time feature negotiation UUID
/// `6cb71c2c-9812-4540-XXXX-000000000000` (MS-RPCE 3.3.1.5.3); bytes 8..10 carry the
/// client's feature bitmask (little-endian) and the last 6 bytes are zero.
pub const BIND_TIME_FEATURE_PREFIX: [u8; 8] = {
    let u = Uuid::from_fields(0x6cb7_1c2c, 0x9812, 0x4540, [0; 8]).0;
    [u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7]]
};

/// If `syntax` is a bind-time feature negotiation transfer syntax, its feature bitmask.
pub fn bind_time_features(syntax: &SyntaxId) -> Option<u16> {
    let b = &syntax.uuid.0;
    let (prefix, rest) = b.split_at(8);
    let (flags, zeros) = rest.split_at(2);
    if prefix == BIND_TIME_FEATURE_PREFIX && zeros.iter().all(|&z| z == 0) {
        let lo = flags.first().copied().unwrap_or(0);
        let hi = flags.get(1).copied().unwrap_or(0);
        Some(u16::from_le_bytes([lo, hi]))
    } else {
        None
    }
}

/// Bind-time feature bits (MS-RPCE 2.2.2.14).
pub mod features {
    /// Security context multiplexing: we do no RPC-level security, so never acknowledged.
    pub const SECURITY_CONTEXT_MULTIPLEXING: u16 = 0x0001;
    /// Keep the connection when an orphaned PDU arrives: true of this server.
    pub const KEEP_CONNECTION_ON_ORPHAN: u16 = 0x0002;
    /// The features this server acknowledges.
    pub const SUPPORTED: u16 = KEEP_CONNECTION_ON_ORPHAN;
}

/// Fault status codes (C706 appendix E, MS-RPCE 2.2.2.12/3.3.1.5.8).
pub mod fault {
    /// The operation number is out of range for the interface.
    pub const NCA_S_OP_RNG_ERROR: u32 = 0x1c01_0002;
    /// The presentation context (interface) is unknown.
    pub const NCA_S_UNKNOWN_IF: u32 = 0x1c01_0003;
    /// The PDU violates the protocol (wrong state, malformed, unsupported data representation).
    pub const NCA_S_PROTO_ERROR: u32 = 0x1c01_000b;
    /// The stub data could not be unmarshalled (`RPC_X_BAD_STUB_DATA`, 1783).
    pub const NCA_S_FAULT_NDR: u32 = 0x0000_06f7;
    /// The reassembled request exceeds what this server accepts.
    pub const NCA_S_FAULT_REMOTE_NO_MEMORY: u32 = 0x1c00_001b;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn uuid_wire_form_and_display() {
        // C706 appendix A: the NDR transfer syntax UUID on the wire.
        assert_eq!(
            NDR20.uuid.0,
            [
                0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10,
                0x48, 0x60
            ]
        );
        assert_eq!(
            format!("{:?}", SRVSVC.uuid),
            "4b324fc8-1670-01d3-1278-5a47bf6ee188"
        );
        assert_eq!(
            format!("{:?}", WKSSVC.uuid),
            "6bffd098-a112-3610-9833-46c3f87e345a"
        );
        assert_eq!((SRVSVC.major(), SRVSVC.minor()), (3, 0));
        assert_eq!(NDR20.version, 2);
    }

    #[test]
    fn bind_time_feature_uuid() {
        let mut u = Uuid::from_fields(0x6cb7_1c2c, 0x9812, 0x4540, [3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(format!("{u:?}"), "6cb71c2c-9812-4540-0300-000000000000");
        assert_eq!(bind_time_features(&SyntaxId::new(u, 1, 0)), Some(3));
        u.0[15] = 1;
        assert_eq!(bind_time_features(&SyntaxId::new(u, 1, 0)), None);
        assert_eq!(bind_time_features(&NDR20), None);
    }
}
