//! [MS-SMB2 2.2.19] READ request and [MS-SMB2 2.2.20] READ response.
//!
//! [MS-SMB2 2.2.19]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/320f04f3-1b28-45cd-aaa1-9e5aed810dca
//! [MS-SMB2 2.2.20]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/3e3d2f2c-0e2f-41ea-ad07-fbca6ffdfd90

use std::borrow::Cow;

use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u16, sat_u32};
use crate::file_id::FileId;
use crate::header::HEADER_SIZE;

/// [MS-SMB2 2.2.19] READ request Flags.
#[derive(Debug, Clone, Copy)]
pub struct ReadFlags;
impl ReadFlags {
    /// SMB2_READFLAG_READ_UNBUFFERED (3.0.2+).
    pub const READ_UNBUFFERED: u8 = 0x01;
    /// SMB2_READFLAG_REQUEST_COMPRESSED (3.1.1).
    pub const REQUEST_COMPRESSED: u8 = 0x02;
}

/// [MS-SMB2 2.2.19] Channel values (READ and WRITE).
#[derive(Debug, Clone, Copy)]
pub struct Channel;
impl Channel {
    /// SMB2_CHANNEL_NONE.
    pub const NONE: u32 = 0x0000_0000;
    /// SMB2_CHANNEL_RDMA_V1.
    pub const RDMA_V1: u32 = 0x0000_0001;
    /// SMB2_CHANNEL_RDMA_V1_INVALIDATE.
    pub const RDMA_V1_INVALIDATE: u32 = 0x0000_0002;
    /// SMB2_CHANNEL_RDMA_TRANSFORM.
    pub const RDMA_TRANSFORM: u32 = 0x0000_0003;
}

/// [MS-SMB2 2.2.19] SMB2 READ Request. ReadChannelInfoOffset/Length are computed on encode
/// (the buffer at 0x70, one zero byte when empty as the StructureSize 49 requires).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadRequest<'a> {
    /// Padding: the client's requested data offset in the response (advisory).
    pub padding: u8,
    /// Flags ([`ReadFlags`]).
    pub flags: u8,
    /// Length to read.
    pub length: u32,
    /// Offset in the file.
    pub offset: u64,
    /// FileId.
    pub file_id: FileId,
    /// MinimumCount.
    pub minimum_count: u32,
    /// Channel ([`Channel`]).
    pub channel: u32,
    /// RemainingBytes.
    pub remaining_bytes: u32,
    /// ReadChannelInfo (RDMA descriptors; empty over TCP).
    pub read_channel_info: Buf<'a>,
}

impl<'a> Decode<'a> for ReadRequest<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "READ request");
        r.structure_size(49)?;
        let padding = r.u8()?;
        let flags = r.u8()?;
        let length = r.u32()?;
        let offset = r.u64()?;
        let file_id = FileId::read(&mut r)?;
        let minimum_count = r.u32()?;
        let channel = r.u32()?;
        let remaining_bytes = r.u32()?;
        let info_off = r.u16()?;
        let info_len = r.u16()?;
        let info = msg.buffer(info_off.into(), info_len.into(), "ReadChannelInfoOffset")?;
        Ok(Self {
            padding,
            flags,
            length,
            offset,
            file_id,
            minimum_count,
            channel,
            remaining_bytes,
            read_channel_info: Cow::Borrowed(info),
        })
    }
}

impl Encode for ReadRequest<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(49);
        w.u8(self.padding);
        w.u8(self.flags);
        w.u32(self.length);
        w.u64(self.offset);
        self.file_id.write(w);
        w.u32(self.minimum_count);
        w.u32(self.channel);
        w.u32(self.remaining_bytes);
        let off_at = w.reserve_u16();
        w.u16(sat_u16(self.read_channel_info.len()));
        if self.read_channel_info.is_empty() {
            w.u8(0);
        } else {
            w.patch_u16(off_at, sat_u16(w.offset()));
            w.bytes(&self.read_channel_info);
        }
    }
}

/// [MS-SMB2 2.2.20] SMB2 READ Response. DataOffset (0x50) and DataLength are computed on
/// encode; Reserved and Flags/Reserved2 are written as 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadResponse<'a> {
    /// DataRemaining.
    pub data_remaining: u32,
    /// The data read.
    pub data: Buf<'a>,
}

impl ReadResponse<'_> {
    /// Where the data starts, from the SMB2 header: right after the 16-byte fixed part.
    pub const DATA_OFFSET: u8 = (HEADER_SIZE + 16) as u8;

    /// Writes only the 16-byte fixed part announcing `data_len` bytes at offset 0x50, so the
    /// caller can append the data itself (zero-copy reads). DataRemaining is 0.
    pub fn encode_fixed_part(w: &mut Writer, data_len: u32) {
        w.u16(17);
        w.u8(Self::DATA_OFFSET);
        w.u8(0);
        w.u32(data_len);
        w.u32(0);
        w.u32(0);
    }
}

impl<'a> Decode<'a> for ReadResponse<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "READ response");
        r.structure_size(17)?;
        let data_off = r.u8()?;
        r.skip(1)?;
        let data_len = r.u32()?;
        let data_remaining = r.u32()?;
        r.skip(4)?;
        let data = msg.buffer(data_off.into(), data_len, "DataOffset")?;
        Ok(Self {
            data_remaining,
            data: Cow::Borrowed(data),
        })
    }
}

impl Encode for ReadResponse<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(17);
        w.u8(Self::DATA_OFFSET);
        w.u8(0);
        w.u32(sat_u32(self.data.len()));
        w.u32(self.data_remaining);
        w.u32(0);
        w.bytes(&self.data);
        if self.data.is_empty() {
            w.u8(0);
        }
    }
}
