//! [MS-SMB2 2.2.26] LOCK request and [MS-SMB2 2.2.27] LOCK response.
//!
//! [MS-SMB2 2.2.26]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/6178b960-48b6-4999-b589-669f88e9017d

use crate::codec::{Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u16};
use crate::file_id::FileId;

/// [MS-SMB2 2.2.26.1] SMB2_LOCK_ELEMENT Flags.
#[derive(Debug, Clone, Copy)]
pub struct LockFlags;
impl LockFlags {
    /// SMB2_LOCKFLAG_SHARED_LOCK.
    pub const SHARED_LOCK: u32 = 0x0000_0001;
    /// SMB2_LOCKFLAG_EXCLUSIVE_LOCK.
    pub const EXCLUSIVE_LOCK: u32 = 0x0000_0002;
    /// SMB2_LOCKFLAG_UNLOCK.
    pub const UNLOCK: u32 = 0x0000_0004;
    /// SMB2_LOCKFLAG_FAIL_IMMEDIATELY.
    pub const FAIL_IMMEDIATELY: u32 = 0x0000_0010;
}

/// [MS-SMB2 2.2.26.1] SMB2_LOCK_ELEMENT (Reserved written as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockElement {
    /// Offset of the range.
    pub offset: u64,
    /// Length of the range.
    pub length: u64,
    /// Flags ([`LockFlags`]).
    pub flags: u32,
}

/// [MS-SMB2 2.2.26] SMB2 LOCK Request. LockCount is computed on encode. A count of 0 decodes
/// to an empty list: the handler answers STATUS_INVALID_PARAMETER.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockRequest {
    /// LockSequenceNumber (low 4 bits) / LockSequenceIndex (high 28 bits), as on the wire.
    pub lock_sequence: u32,
    /// FileId.
    pub file_id: FileId,
    /// Locks.
    pub locks: Vec<LockElement>,
}

impl LockRequest {
    /// LockSequenceNumber (4 bits).
    pub fn lock_sequence_number(&self) -> u8 {
        (self.lock_sequence & 0xF) as u8
    }
    /// LockSequenceIndex (28 bits).
    pub fn lock_sequence_index(&self) -> u32 {
        self.lock_sequence >> 4
    }
}

impl<'a> Decode<'a> for LockRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "LOCK request");
        r.structure_size(48)?;
        let count = r.u16()?;
        let lock_sequence = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        // Bounded: each element needs 24 input bytes.
        let mut locks = Vec::with_capacity(usize::from(count).min(r.remaining() / 24));
        for _ in 0..count {
            let offset = r.u64()?;
            let length = r.u64()?;
            let flags = r.u32()?;
            r.skip(4)?;
            locks.push(LockElement {
                offset,
                length,
                flags,
            });
        }
        Ok(Self {
            lock_sequence,
            file_id,
            locks,
        })
    }
}

impl Encode for LockRequest {
    fn encode(&self, w: &mut Writer) {
        w.u16(48);
        w.u16(sat_u16(self.locks.len()));
        w.u32(self.lock_sequence);
        self.file_id.write(w);
        for l in &self.locks {
            w.u64(l.offset);
            w.u64(l.length);
            w.u32(l.flags);
            w.u32(0);
        }
    }
}

/// [MS-SMB2 2.2.27] SMB2 LOCK Response: StructureSize 4 and Reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockResponse;

impl<'a> Decode<'a> for LockResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "LOCK response");
        r.structure_size(4)?;
        r.skip(2)?;
        Ok(Self)
    }
}

impl Encode for LockResponse {
    fn encode(&self, w: &mut Writer) {
        w.u16(4);
        w.u16(0);
    }
}
