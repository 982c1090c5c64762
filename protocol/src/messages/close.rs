//! [MS-SMB2 2.2.15] CLOSE request and [MS-SMB2 2.2.16] CLOSE response.
//!
//! [MS-SMB2 2.2.15]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/f84053b0-bcb2-4f85-9717-536dae2b02bd
//! [MS-SMB2 2.2.16]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/c0c15c57-3f3e-452b-b51c-9cc650a13f7b

use crate::codec::{Decode, DecodeResult, Encode, Message, Reader, Writer};
use crate::file_id::FileId;

/// [MS-SMB2 2.2.15] CLOSE Flags.
#[derive(Debug, Clone, Copy)]
pub struct CloseFlags;
impl CloseFlags {
    /// SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB: return the attributes in the response.
    pub const POSTQUERY_ATTRIB: u16 = 0x0001;
}

/// [MS-SMB2 2.2.15] SMB2 CLOSE Request (Reserved written as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseRequest {
    /// Flags ([`CloseFlags`]).
    pub flags: u16,
    /// FileId.
    pub file_id: FileId,
}

impl<'a> Decode<'a> for CloseRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "CLOSE request");
        r.structure_size(24)?;
        let flags = r.u16()?;
        r.skip(4)?;
        Ok(Self {
            flags,
            file_id: FileId::read(&mut r)?,
        })
    }
}

impl Encode for CloseRequest {
    fn encode(&self, w: &mut Writer) {
        w.u16(24);
        w.u16(self.flags);
        w.u32(0);
        self.file_id.write(w);
    }
}

/// [MS-SMB2 2.2.16] SMB2 CLOSE Response (the attribute fields are 0 unless POSTQUERY_ATTRIB
/// was asked; Reserved written as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseResponse {
    /// Flags ([`CloseFlags`]).
    pub flags: u16,
    /// CreationTime (FILETIME).
    pub creation_time: u64,
    /// LastAccessTime (FILETIME).
    pub last_access_time: u64,
    /// LastWriteTime (FILETIME).
    pub last_write_time: u64,
    /// ChangeTime (FILETIME).
    pub change_time: u64,
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndofFile.
    pub end_of_file: u64,
    /// FileAttributes.
    pub file_attributes: u32,
}

impl<'a> Decode<'a> for CloseResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "CLOSE response");
        r.structure_size(60)?;
        let flags = r.u16()?;
        r.skip(4)?;
        Ok(Self {
            flags,
            creation_time: r.u64()?,
            last_access_time: r.u64()?,
            last_write_time: r.u64()?,
            change_time: r.u64()?,
            allocation_size: r.u64()?,
            end_of_file: r.u64()?,
            file_attributes: r.u32()?,
        })
    }
}

impl Encode for CloseResponse {
    fn encode(&self, w: &mut Writer) {
        w.u16(60);
        w.u16(self.flags);
        w.u32(0);
        w.u64(self.creation_time);
        w.u64(self.last_access_time);
        w.u64(self.last_write_time);
        w.u64(self.change_time);
        w.u64(self.allocation_size);
        w.u64(self.end_of_file);
        w.u32(self.file_attributes);
    }
}
