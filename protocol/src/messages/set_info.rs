//! [MS-SMB2 2.2.39] SET_INFO request and [MS-SMB2 2.2.40] SET_INFO response.
//!
//! [MS-SMB2 2.2.39]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/ee9614c4-be54-4a3c-98f1-769a7032a0e4
//! [MS-SMB2 2.2.40]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/c4318eb4-bdab-49b7-9352-abd7005c7f19

use std::borrow::Cow;

use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u16, sat_u32};
use crate::file_id::FileId;

/// [MS-SMB2 2.2.39] SMB2 SET_INFO Request. BufferLength/BufferOffset computed on encode
/// (buffer at 0x60); Reserved written as 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetInfoRequest<'a> {
    /// InfoType ([`super::query_info::InfoType`]).
    pub info_type: u8,
    /// FileInfoClass.
    pub file_info_class: u8,
    /// The information structure to apply.
    pub buffer: Buf<'a>,
    /// AdditionalInformation.
    pub additional_information: u32,
    /// FileId.
    pub file_id: FileId,
}

impl<'a> Decode<'a> for SetInfoRequest<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "SET_INFO request");
        r.structure_size(33)?;
        let info_type = r.u8()?;
        let file_info_class = r.u8()?;
        let len = r.u32()?;
        let off = r.u16()?;
        r.skip(2)?;
        let additional_information = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let buffer = msg.buffer(off.into(), len, "BufferOffset")?;
        Ok(Self {
            info_type,
            file_info_class,
            buffer: Cow::Borrowed(buffer),
            additional_information,
            file_id,
        })
    }
}

impl Encode for SetInfoRequest<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(33);
        w.u8(self.info_type);
        w.u8(self.file_info_class);
        w.u32(sat_u32(self.buffer.len()));
        let off_at = w.reserve_u16();
        w.u16(0);
        w.u32(self.additional_information);
        self.file_id.write(w);
        w.patch_u16(off_at, sat_u16(w.offset()));
        w.bytes(&self.buffer);
        if self.buffer.is_empty() {
            w.u8(0);
        }
    }
}

/// [MS-SMB2 2.2.40] SMB2 SET_INFO Response: StructureSize 2 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetInfoResponse;

impl<'a> Decode<'a> for SetInfoResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "SET_INFO response");
        r.structure_size(2)?;
        Ok(Self)
    }
}

impl Encode for SetInfoResponse {
    fn encode(&self, w: &mut Writer) {
        w.u16(2);
    }
}
