//! [MS-SMB2 2.2.17] FLUSH request and [MS-SMB2 2.2.18] FLUSH response.
//!
//! [MS-SMB2 2.2.17]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/e494678b-b1fc-44a0-b86e-8195acf74ad7

use crate::codec::{Decode, DecodeResult, Encode, Message, Reader, Writer};
use crate::file_id::FileId;

/// [MS-SMB2 2.2.17] SMB2 FLUSH Request (Reserved1/Reserved2 written as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushRequest {
    /// FileId.
    pub file_id: FileId,
}

impl<'a> Decode<'a> for FlushRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "FLUSH request");
        r.structure_size(24)?;
        r.skip(6)?;
        Ok(Self {
            file_id: FileId::read(&mut r)?,
        })
    }
}

impl Encode for FlushRequest {
    fn encode(&self, w: &mut Writer) {
        w.u16(24);
        w.u16(0);
        w.u32(0);
        self.file_id.write(w);
    }
}

/// [MS-SMB2 2.2.18] SMB2 FLUSH Response: StructureSize 4 and Reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushResponse;

impl<'a> Decode<'a> for FlushResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "FLUSH response");
        r.structure_size(4)?;
        r.skip(2)?;
        Ok(Self)
    }
}

impl Encode for FlushResponse {
    fn encode(&self, w: &mut Writer) {
        w.u16(4);
        w.u16(0);
    }
}
