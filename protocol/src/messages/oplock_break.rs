//! OPLOCK_BREAK: the oplock and lease break notifications ([MS-SMB2 2.2.23.1] / [2.2.23.2]),
//! acknowledgments ([2.2.24.1] / [2.2.24.2]) and responses ([2.2.25.1] / [2.2.25.2]).
//! The forms share one command and are told apart by StructureSize: 24 for oplocks, 36 for
//! lease acknowledgments/responses, 44 for the lease break notification.
//!
//! [MS-SMB2 2.2.23.1]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/cc55d42e-87b3-4a0a-b9b0-e6ae3d83caa8
//! [2.2.23.2]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/2bcbb4ed-6d4b-4ed5-a8a5-7bc1c2a08cea
//! [2.2.24.1]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/3af1e3b4-9a0f-4ff0-8cbe-0e24a3d5b4b3
//! [2.2.24.2]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/e3b1d1ad-3fe7-4a05-b5fd-66d8d5b5a3ea
//! [2.2.25.1]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/6c48fa3f-c2ef-4e80-b3df-3bc6193bfdbe
//! [2.2.25.2]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/9f6f5bbb-1d2a-4b5b-a1bb-d4a7b3ca9e53

use crate::codec::{Decode, DecodeError, DecodeResult, Encode, Message, Reader, Writer};
use crate::file_id::FileId;

/// [MS-SMB2 2.2.23.2] lease state bits.
#[derive(Debug, Clone, Copy)]
pub struct LeaseState;
impl LeaseState {
    /// SMB2_LEASE_NONE.
    pub const NONE: u32 = 0x00;
    /// SMB2_LEASE_READ_CACHING.
    pub const READ_CACHING: u32 = 0x01;
    /// SMB2_LEASE_HANDLE_CACHING.
    pub const HANDLE_CACHING: u32 = 0x02;
    /// SMB2_LEASE_WRITE_CACHING.
    pub const WRITE_CACHING: u32 = 0x04;
}

/// [MS-SMB2 2.2.23.2] lease break notification Flags.
#[derive(Debug, Clone, Copy)]
pub struct LeaseBreakFlags;
impl LeaseBreakFlags {
    /// SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED.
    pub const ACK_REQUIRED: u32 = 0x01;
}

/// [MS-SMB2 2.2.23.1 / 2.2.24.1 / 2.2.25.1] The 24-byte oplock break notification,
/// acknowledgment and response (one layout; Reserved fields written as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OplockBreakAcknowledgment {
    /// OplockLevel.
    pub oplock_level: u8,
    /// FileId.
    pub file_id: FileId,
}

/// The notification has the acknowledgment's layout.
pub type OplockBreakNotification = OplockBreakAcknowledgment;

/// [MS-SMB2 2.2.24.2 / 2.2.25.2] The 36-byte lease break acknowledgment and response
/// (Reserved written as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseBreakAcknowledgment {
    /// Flags (reserved, 0).
    pub flags: u32,
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// LeaseState ([`LeaseState`]).
    pub lease_state: u32,
    /// LeaseDuration (reserved, 0).
    pub lease_duration: u64,
}

/// [MS-SMB2 2.2.23.2] The 44-byte lease break notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseBreakNotification {
    /// NewEpoch (lease v2).
    pub new_epoch: u16,
    /// Flags ([`LeaseBreakFlags`]).
    pub flags: u32,
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// CurrentLeaseState.
    pub current_lease_state: u32,
    /// NewLeaseState.
    pub new_lease_state: u32,
    /// BreakReason (reserved, 0).
    pub break_reason: u32,
    /// AccessMaskHint (reserved, 0).
    pub access_mask_hint: u32,
    /// ShareMaskHint (reserved, 0).
    pub share_mask_hint: u32,
}

/// An OPLOCK_BREAK request from the client: an oplock or a lease acknowledgment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OplockBreakRequest {
    /// [2.2.24.1] Oplock break acknowledgment (StructureSize 24).
    Oplock(OplockBreakAcknowledgment),
    /// [2.2.24.2] Lease break acknowledgment (StructureSize 36).
    Lease(LeaseBreakAcknowledgment),
}

/// An OPLOCK_BREAK message from the server: a response to an acknowledgment or an
/// unsolicited break notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OplockBreakResponse {
    /// [2.2.23.1 / 2.2.25.1] Oplock break notification or response (StructureSize 24).
    Oplock(OplockBreakAcknowledgment),
    /// [2.2.25.2] Lease break response (StructureSize 36).
    Lease(LeaseBreakAcknowledgment),
    /// [2.2.23.2] Lease break notification (StructureSize 44).
    LeaseNotification(LeaseBreakNotification),
}

fn read_oplock(r: &mut Reader<'_>) -> DecodeResult<OplockBreakAcknowledgment> {
    let oplock_level = r.u8()?;
    r.skip(5)?;
    Ok(OplockBreakAcknowledgment {
        oplock_level,
        file_id: FileId::read(r)?,
    })
}

fn write_oplock(w: &mut Writer, v: &OplockBreakAcknowledgment) {
    w.u16(24);
    w.u8(v.oplock_level);
    w.u8(0);
    w.u32(0);
    v.file_id.write(w);
}

fn read_lease_ack(r: &mut Reader<'_>) -> DecodeResult<LeaseBreakAcknowledgment> {
    r.skip(2)?;
    Ok(LeaseBreakAcknowledgment {
        flags: r.u32()?,
        lease_key: r.array::<16>()?,
        lease_state: r.u32()?,
        lease_duration: r.u64()?,
    })
}

fn write_lease_ack(w: &mut Writer, v: &LeaseBreakAcknowledgment) {
    w.u16(36);
    w.u16(0);
    w.u32(v.flags);
    w.bytes(&v.lease_key);
    w.u32(v.lease_state);
    w.u64(v.lease_duration);
}

impl<'a> Decode<'a> for OplockBreakRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        const WHAT: &str = "OPLOCK_BREAK acknowledgment";
        let mut r = Reader::new(msg.body(), WHAT);
        match r.u16()? {
            24 => Ok(Self::Oplock(read_oplock(&mut r)?)),
            36 => Ok(Self::Lease(read_lease_ack(&mut r)?)),
            got => Err(DecodeError::BadStructureSize { what: WHAT, got }),
        }
    }
}

impl Encode for OplockBreakRequest {
    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Oplock(v) => write_oplock(w, v),
            Self::Lease(v) => write_lease_ack(w, v),
        }
    }
}

impl<'a> Decode<'a> for OplockBreakResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        const WHAT: &str = "OPLOCK_BREAK response";
        let mut r = Reader::new(msg.body(), WHAT);
        match r.u16()? {
            24 => Ok(Self::Oplock(read_oplock(&mut r)?)),
            36 => Ok(Self::Lease(read_lease_ack(&mut r)?)),
            44 => Ok(Self::LeaseNotification(LeaseBreakNotification {
                new_epoch: r.u16()?,
                flags: r.u32()?,
                lease_key: r.array::<16>()?,
                current_lease_state: r.u32()?,
                new_lease_state: r.u32()?,
                break_reason: r.u32()?,
                access_mask_hint: r.u32()?,
                share_mask_hint: r.u32()?,
            })),
            got => Err(DecodeError::BadStructureSize { what: WHAT, got }),
        }
    }
}

impl Encode for OplockBreakResponse {
    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Oplock(v) => write_oplock(w, v),
            Self::Lease(v) => write_lease_ack(w, v),
            Self::LeaseNotification(v) => {
                w.u16(44);
                w.u16(v.new_epoch);
                w.u32(v.flags);
                w.bytes(&v.lease_key);
                w.u32(v.current_lease_state);
                w.u32(v.new_lease_state);
                w.u32(v.break_reason);
                w.u32(v.access_mask_hint);
                w.u32(v.share_mask_hint);
            }
        }
    }
}
