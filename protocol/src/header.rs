//! [MS-SMB2 2.2.1] SMB2 Packet Header, in its sync ([2.2.1.2]) and async ([2.2.1.1]) forms, and
//! the [`Command`] numbers.
//!
//! [MS-SMB2 2.2.1]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/5cd64522-60b3-4f3e-a157-fe66f1228052
//! [2.2.1.1]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/ea4560b7-90da-4803-82b5-344754b92a79
//! [2.2.1.2]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/fb188936-5050-48d3-b350-dc43059638a4

use nom::Parser;
use nom::number::complete::{le_u16, le_u32, le_u64};

use crate::codec::{DecodeError, DecodeResult, Writer, expect_structure_size, parse};
use crate::status::NtStatus;

/// Size of the SMB2 header.
pub const HEADER_SIZE: usize = 64;
/// `0xFE 'S' 'M' 'B'`.
pub const PROTOCOL_ID: [u8; 4] = [0xFE, b'S', b'M', b'B'];
/// Offset of the 16-byte Signature field inside the header.
pub const SIGNATURE_OFFSET: usize = 48;
/// Offset of the Flags field inside the header.
pub const FLAGS_OFFSET: usize = 16;
/// Offset of the NextCommand field inside the header.
pub const NEXT_COMMAND_OFFSET: usize = 20;

crate::wire_newtype! {
    /// [MS-SMB2 2.2.1.2] Command codes.
    Command(u16) {
        NEGOTIATE = 0x0000,
        SESSION_SETUP = 0x0001,
        LOGOFF = 0x0002,
        TREE_CONNECT = 0x0003,
        TREE_DISCONNECT = 0x0004,
        CREATE = 0x0005,
        CLOSE = 0x0006,
        FLUSH = 0x0007,
        READ = 0x0008,
        WRITE = 0x0009,
        LOCK = 0x000A,
        IOCTL = 0x000B,
        CANCEL = 0x000C,
        ECHO = 0x000D,
        QUERY_DIRECTORY = 0x000E,
        CHANGE_NOTIFY = 0x000F,
        QUERY_INFO = 0x0010,
        SET_INFO = 0x0011,
        OPLOCK_BREAK = 0x0012,
    }
}

/// [MS-SMB2 2.2.1.2] Header Flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct HeaderFlags(pub u32);

impl HeaderFlags {
    /// SMB2_FLAGS_SERVER_TO_REDIR: a response.
    pub const SERVER_TO_REDIR: u32 = 0x0000_0001;
    /// SMB2_FLAGS_ASYNC_COMMAND: the header carries an AsyncId.
    pub const ASYNC_COMMAND: u32 = 0x0000_0002;
    /// SMB2_FLAGS_RELATED_OPERATIONS: a related compound member.
    pub const RELATED_OPERATIONS: u32 = 0x0000_0004;
    /// SMB2_FLAGS_SIGNED.
    pub const SIGNED: u32 = 0x0000_0008;
    /// SMB2_FLAGS_PRIORITY_MASK (3.1.1).
    pub const PRIORITY_MASK: u32 = 0x0000_0070;
    /// SMB2_FLAGS_DFS_OPERATIONS.
    pub const DFS_OPERATIONS: u32 = 0x1000_0000;
    /// SMB2_FLAGS_REPLAY_OPERATION (3.x).
    pub const REPLAY_OPERATION: u32 = 0x2000_0000;

    /// True if every bit of `bit` is set.
    pub fn has(self, bit: u32) -> bool {
        self.0 & bit == bit
    }
    /// Returns the flags with `bit` set or cleared.
    pub fn with(self, bit: u32, on: bool) -> Self {
        if on {
            Self(self.0 | bit)
        } else {
            Self(self.0 & !bit)
        }
    }
}

/// The sync/async-specific part of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    /// [2.2.1.2] Reserved (the Process ID in SMB 2.0.2) and TreeId.
    Sync {
        /// Reserved / process id; echoed in responses.
        process_id: u32,
        /// TreeId.
        tree_id: u32,
    },
    /// [2.2.1.1] AsyncId.
    Async {
        /// AsyncId.
        async_id: u64,
    },
}

/// [MS-SMB2 2.2.1] The 64-byte SMB2 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// CreditCharge.
    pub credit_charge: u16,
    /// Status in responses; ChannelSequence (low 16 bits) + Reserved in 3.x requests.
    pub status: NtStatus,
    /// Command.
    pub command: Command,
    /// CreditRequest in requests, CreditResponse in responses.
    pub credits: u16,
    /// Flags.
    pub flags: HeaderFlags,
    /// NextCommand: offset of the next compound member from the start of this header, or 0.
    pub next_command: u32,
    /// MessageId.
    pub message_id: u64,
    /// Sync (TreeId) or async (AsyncId) part.
    pub kind: HeaderKind,
    /// SessionId.
    pub session_id: u64,
    /// Signature.
    pub signature: [u8; 16],
}

impl Header {
    /// A sync response header for `command` with everything else zero.
    pub fn response(command: Command) -> Self {
        Self {
            credit_charge: 0,
            status: NtStatus::SUCCESS,
            command,
            credits: 0,
            flags: HeaderFlags(HeaderFlags::SERVER_TO_REDIR),
            next_command: 0,
            message_id: 0,
            kind: HeaderKind::Sync {
                process_id: 0,
                tree_id: 0,
            },
            session_id: 0,
            signature: [0; 16],
        }
    }

    /// TreeId of a sync header (0 for an async one).
    pub fn tree_id(&self) -> u32 {
        match self.kind {
            HeaderKind::Sync { tree_id, .. } => tree_id,
            HeaderKind::Async { .. } => 0,
        }
    }

    /// AsyncId of an async header.
    pub fn async_id(&self) -> Option<u64> {
        match self.kind {
            HeaderKind::Async { async_id } => Some(async_id),
            HeaderKind::Sync { .. } => None,
        }
    }

    /// ChannelSequence: the low 16 bits of the Status field in a 3.x request.
    pub fn channel_sequence(&self) -> u16 {
        (self.status.0 & 0xFFFF) as u16
    }

    /// Decodes the header at the start of `msg`. Fails if fewer than 64 bytes, a wrong
    /// ProtocolId or a StructureSize other than 64.
    pub fn decode(msg: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "SMB2 header";
        let (rest, (protocol_id, structure_size, credit_charge, status, command, credits, flags)) =
            parse(msg, WHAT, |i| {
                (
                    nom::bytes::complete::take(4usize),
                    le_u16,
                    le_u16,
                    le_u32,
                    le_u16,
                    le_u16,
                    le_u32,
                )
                    .parse(i)
            })?;
        if protocol_id != PROTOCOL_ID {
            return Err(DecodeError::Invalid {
                what: "SMB2 ProtocolId",
            });
        }
        expect_structure_size(structure_size, 64, WHAT)?;
        let (rest, (next_command, message_id, word, session_id)) =
            parse(rest, WHAT, |i| (le_u32, le_u64, le_u64, le_u64).parse(i))?;
        let signature: [u8; 16] = rest
            .get(..16)
            .and_then(|s| s.try_into().ok())
            .ok_or(DecodeError::Truncated { what: WHAT })?;
        let flags = HeaderFlags(flags);
        let kind = if flags.has(HeaderFlags::ASYNC_COMMAND) {
            HeaderKind::Async { async_id: word }
        } else {
            HeaderKind::Sync {
                process_id: word as u32,
                tree_id: (word >> 32) as u32,
            }
        };
        Ok(Self {
            credit_charge,
            status: NtStatus(status),
            command: Command(command),
            credits,
            flags,
            next_command,
            message_id,
            kind,
            session_id,
            signature,
        })
    }

    /// Appends the 64 header bytes (call [`Writer::start_message`] first).
    pub fn encode(&self, w: &mut Writer) {
        w.bytes(&PROTOCOL_ID);
        w.u16(64);
        w.u16(self.credit_charge);
        w.u32(self.status.0);
        w.u16(self.command.0);
        w.u16(self.credits);
        let async_bit = matches!(self.kind, HeaderKind::Async { .. });
        w.u32(self.flags.with(HeaderFlags::ASYNC_COMMAND, async_bit).0);
        w.u32(self.next_command);
        w.u64(self.message_id);
        match self.kind {
            HeaderKind::Sync {
                process_id,
                tree_id,
            } => {
                w.u32(process_id);
                w.u32(tree_id);
            }
            HeaderKind::Async { async_id } => w.u64(async_id),
        }
        w.u64(self.session_id);
        w.bytes(&self.signature);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    fn sample(kind: HeaderKind) -> Header {
        Header {
            credit_charge: 1,
            status: NtStatus::PENDING,
            command: Command::READ,
            credits: 31,
            flags: HeaderFlags(HeaderFlags::SERVER_TO_REDIR | HeaderFlags::SIGNED),
            next_command: 0,
            message_id: 0x1122_3344_5566,
            kind,
            session_id: 0x0000_1000_0000_0025,
            signature: [7; 16],
        }
    }

    #[test]
    fn round_trip_sync_and_async() {
        for kind in [
            HeaderKind::Sync {
                process_id: 0xFEFF,
                tree_id: 5,
            },
            HeaderKind::Async { async_id: 0xAB },
        ] {
            let h = sample(kind);
            let mut w = Writer::new();
            h.encode(&mut w);
            assert_eq!(w.len(), HEADER_SIZE);
            let mut back = Header::decode(w.as_slice()).expect("decodes");
            // The async bit is implied by the kind; compare with it normalised.
            back.flags = back.flags.with(HeaderFlags::ASYNC_COMMAND, false);
            assert_eq!(back, h);
        }
    }

    #[test]
    fn rejects_short_and_foreign() {
        assert!(Header::decode(&[0xFE, b'S', b'M', b'B']).is_err());
        let mut w = Writer::new();
        sample(HeaderKind::Sync {
            process_id: 0,
            tree_id: 0,
        })
        .encode(&mut w);
        let mut bytes = w.as_slice().to_vec();
        bytes[0] = 0xFF;
        assert!(Header::decode(&bytes).is_err());
        bytes[0] = 0xFE;
        bytes[4] = 65;
        assert!(Header::decode(&bytes).is_err());
    }
}
