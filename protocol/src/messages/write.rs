//! [MS-SMB2 2.2.21] WRITE request and [MS-SMB2 2.2.22] WRITE response.
//!
//! Liberal on read: Windows sends WriteChannelInfoOffset 0x70 with WriteChannelInfoLength 0
//! (a zero-length buffer is legal whatever its offset), and DataOffset is honoured as given.
//!
//! [MS-SMB2 2.2.21]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/e7046961-3318-4350-be2a-a8d69bb59ce8
//! [MS-SMB2 2.2.22]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/7b80a339-f4d3-4575-8ce2-70a06f24f133

use std::borrow::Cow;

use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u16, sat_u32};
use crate::file_id::FileId;

/// [MS-SMB2 2.2.21] WRITE request Flags.
#[derive(Debug, Clone, Copy)]
pub struct WriteFlags;
impl WriteFlags {
    /// SMB2_WRITEFLAG_WRITE_THROUGH.
    pub const WRITE_THROUGH: u32 = 0x0000_0001;
    /// SMB2_WRITEFLAG_WRITE_UNBUFFERED.
    pub const WRITE_UNBUFFERED: u32 = 0x0000_0002;
}

/// [MS-SMB2 2.2.21] SMB2 WRITE Request. DataOffset, Length and the WriteChannelInfo
/// offset/length are computed on encode (data at 0x70, channel info after it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteRequest<'a> {
    /// Offset in the file.
    pub offset: u64,
    /// FileId.
    pub file_id: FileId,
    /// Channel (see [`super::read::Channel`]).
    pub channel: u32,
    /// RemainingBytes.
    pub remaining_bytes: u32,
    /// Flags ([`WriteFlags`]).
    pub flags: u32,
    /// The data to write (its length is the Length field).
    pub data: Buf<'a>,
    /// WriteChannelInfo (RDMA descriptors; empty over TCP).
    pub write_channel_info: Buf<'a>,
}

impl<'a> Decode<'a> for WriteRequest<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "WRITE request");
        r.structure_size(49)?;
        let data_off = r.u16()?;
        let length = r.u32()?;
        let offset = r.u64()?;
        let file_id = FileId::read(&mut r)?;
        let channel = r.u32()?;
        let remaining_bytes = r.u32()?;
        let info_off = r.u16()?;
        let info_len = r.u16()?;
        let flags = r.u32()?;
        let data = msg.buffer(data_off.into(), length, "DataOffset")?;
        let info = msg.buffer(info_off.into(), info_len.into(), "WriteChannelInfoOffset")?;
        Ok(Self {
            offset,
            file_id,
            channel,
            remaining_bytes,
            flags,
            data: Cow::Borrowed(data),
            write_channel_info: Cow::Borrowed(info),
        })
    }
}

impl Encode for WriteRequest<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(49);
        let data_off_at = w.reserve_u16();
        w.u32(sat_u32(self.data.len()));
        w.u64(self.offset);
        self.file_id.write(w);
        w.u32(self.channel);
        w.u32(self.remaining_bytes);
        let info_off_at = w.reserve_u16();
        w.u16(sat_u16(self.write_channel_info.len()));
        w.u32(self.flags);
        w.patch_u16(data_off_at, sat_u16(w.offset()));
        w.bytes(&self.data);
        if !self.write_channel_info.is_empty() {
            w.patch_u16(info_off_at, sat_u16(w.offset()));
            w.bytes(&self.write_channel_info);
        }
        if self.data.is_empty() && self.write_channel_info.is_empty() {
            w.u8(0);
        }
    }
}

/// [MS-SMB2 2.2.22] SMB2 WRITE Response (Reserved and WriteChannelInfo fields written as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteResponse {
    /// Count: bytes written.
    pub count: u32,
    /// Remaining (reserved, 0).
    pub remaining: u32,
}

impl<'a> Decode<'a> for WriteResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "WRITE response");
        r.structure_size(17)?;
        r.skip(2)?;
        let count = r.u32()?;
        let remaining = r.u32()?;
        r.skip(4)?;
        Ok(Self { count, remaining })
    }
}

impl Encode for WriteResponse {
    fn encode(&self, w: &mut Writer) {
        w.u16(17);
        w.u16(0);
        w.u32(self.count);
        w.u32(self.remaining);
        w.u16(0);
        w.u16(0);
    }
}
