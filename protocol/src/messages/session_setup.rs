//! [MS-SMB2 2.2.5] SESSION_SETUP request and [MS-SMB2 2.2.6] SESSION_SETUP response.
//!
//! [MS-SMB2 2.2.5]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/5a3c2c28-d6b0-48ed-b917-a86b2ca4575f
//! [MS-SMB2 2.2.6]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/0324190f-a31b-4666-9fa9-5c624273a694

use std::borrow::Cow;

use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u16};

/// [MS-SMB2 2.2.5] SESSION_SETUP request Flags.
#[derive(Debug, Clone, Copy)]
pub struct SessionSetupFlags;
impl SessionSetupFlags {
    /// SMB2_SESSION_FLAG_BINDING: bind this connection to an existing session (multichannel).
    pub const BINDING: u8 = 0x01;
}

/// [MS-SMB2 2.2.6] SESSION_SETUP response SessionFlags.
#[derive(Debug, Clone, Copy)]
pub struct SessionFlags;
impl SessionFlags {
    /// SMB2_SESSION_FLAG_IS_GUEST.
    pub const IS_GUEST: u16 = 0x0001;
    /// SMB2_SESSION_FLAG_IS_NULL.
    pub const IS_NULL: u16 = 0x0002;
    /// SMB2_SESSION_FLAG_ENCRYPT_DATA.
    pub const ENCRYPT_DATA: u16 = 0x0004;
}

/// [MS-SMB2 2.2.5] SMB2 SESSION_SETUP Request. SecurityBufferOffset/Length are computed on
/// encode (the buffer goes right after the 24-byte fixed part, at 0x58).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSetupRequest<'a> {
    /// Flags ([`SessionSetupFlags`]).
    pub flags: u8,
    /// SecurityMode (SIGNING_ENABLED = 1, SIGNING_REQUIRED = 2).
    pub security_mode: u8,
    /// Capabilities.
    pub capabilities: u32,
    /// Channel (reserved, 0).
    pub channel: u32,
    /// PreviousSessionId.
    pub previous_session_id: u64,
    /// Buffer: the GSS token.
    pub security_buffer: Buf<'a>,
}

impl<'a> Decode<'a> for SessionSetupRequest<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "SESSION_SETUP request");
        r.structure_size(25)?;
        let flags = r.u8()?;
        let security_mode = r.u8()?;
        let capabilities = r.u32()?;
        let channel = r.u32()?;
        let off = r.u16()?;
        let len = r.u16()?;
        let previous_session_id = r.u64()?;
        let buf = msg.buffer(off.into(), len.into(), "SecurityBufferOffset")?;
        Ok(Self {
            flags,
            security_mode,
            capabilities,
            channel,
            previous_session_id,
            security_buffer: Cow::Borrowed(buf),
        })
    }
}

impl Encode for SessionSetupRequest<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(25);
        w.u8(self.flags);
        w.u8(self.security_mode);
        w.u32(self.capabilities);
        w.u32(self.channel);
        let off_at = w.reserve_u16();
        w.u16(sat_u16(self.security_buffer.len()));
        w.u64(self.previous_session_id);
        w.patch_u16(off_at, sat_u16(w.offset()));
        w.bytes(&self.security_buffer);
        if self.security_buffer.is_empty() {
            w.u8(0);
        }
    }
}

/// [MS-SMB2 2.2.6] SMB2 SESSION_SETUP Response. SecurityBufferOffset/Length are computed on
/// encode (the buffer goes at 0x48).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSetupResponse<'a> {
    /// SessionFlags ([`SessionFlags`]).
    pub session_flags: u16,
    /// Buffer: the GSS token (NegTokenResp).
    pub security_buffer: Buf<'a>,
}

impl<'a> Decode<'a> for SessionSetupResponse<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "SESSION_SETUP response");
        r.structure_size(9)?;
        let session_flags = r.u16()?;
        let off = r.u16()?;
        let len = r.u16()?;
        let buf = msg.buffer(off.into(), len.into(), "SecurityBufferOffset")?;
        Ok(Self {
            session_flags,
            security_buffer: Cow::Borrowed(buf),
        })
    }
}

impl Encode for SessionSetupResponse<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(9);
        w.u16(self.session_flags);
        let off_at = w.reserve_u16();
        w.u16(sat_u16(self.security_buffer.len()));
        w.patch_u16(off_at, sat_u16(w.offset()));
        w.bytes(&self.security_buffer);
        if self.security_buffer.is_empty() {
            w.u8(0);
        }
    }
}
