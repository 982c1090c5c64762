//! [MS-SMB2 2.2.33] QUERY_DIRECTORY request and [MS-SMB2 2.2.34] QUERY_DIRECTORY response.
//! The entries themselves are built by [`crate::fscc::encode_dir_entries`].
//!
//! [MS-SMB2 2.2.33]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/10906442-294c-46d3-8515-c277efe1f752
//! [MS-SMB2 2.2.34]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/4f75351b-048c-4a0c-9ea3-addd55a71956

use std::borrow::Cow;

use super::output_buffer;
use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u16};
use crate::file_id::FileId;

/// [MS-SMB2 2.2.33] QUERY_DIRECTORY Flags.
#[derive(Debug, Clone, Copy)]
pub struct QueryDirectoryFlags;
impl QueryDirectoryFlags {
    /// SMB2_RESTART_SCANS.
    pub const RESTART_SCANS: u8 = 0x01;
    /// SMB2_RETURN_SINGLE_ENTRY.
    pub const RETURN_SINGLE_ENTRY: u8 = 0x02;
    /// SMB2_INDEX_SPECIFIED.
    pub const INDEX_SPECIFIED: u8 = 0x04;
    /// SMB2_REOPEN.
    pub const REOPEN: u8 = 0x10;
}

/// [MS-SMB2 2.2.33] SMB2 QUERY_DIRECTORY Request. FileNameOffset/Length are computed on
/// encode (the pattern at 0x60).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryDirectoryRequest<'a> {
    /// FileInformationClass ([`crate::fscc::FileInformationClass`]).
    pub file_information_class: u8,
    /// Flags ([`QueryDirectoryFlags`]).
    pub flags: u8,
    /// FileIndex.
    pub file_index: u32,
    /// FileId of the directory.
    pub file_id: FileId,
    /// The search pattern, raw UTF-16LE (`*` for all).
    pub file_name: Buf<'a>,
    /// OutputBufferLength: the most the client accepts.
    pub output_buffer_length: u32,
}

impl<'a> Decode<'a> for QueryDirectoryRequest<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "QUERY_DIRECTORY request");
        r.structure_size(33)?;
        let file_information_class = r.u8()?;
        let flags = r.u8()?;
        let file_index = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let name_off = r.u16()?;
        let name_len = r.u16()?;
        let output_buffer_length = r.u32()?;
        let name = msg.buffer(name_off.into(), name_len.into(), "FileNameOffset")?;
        Ok(Self {
            file_information_class,
            flags,
            file_index,
            file_id,
            file_name: Cow::Borrowed(name),
            output_buffer_length,
        })
    }
}

impl Encode for QueryDirectoryRequest<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(33);
        w.u8(self.file_information_class);
        w.u8(self.flags);
        w.u32(self.file_index);
        self.file_id.write(w);
        let off_at = w.reserve_u16();
        w.u16(sat_u16(self.file_name.len()));
        w.u32(self.output_buffer_length);
        w.patch_u16(off_at, sat_u16(w.offset()));
        w.bytes(&self.file_name);
        if self.file_name.is_empty() {
            w.u8(0);
        }
    }
}

/// [MS-SMB2 2.2.34] SMB2 QUERY_DIRECTORY Response. OutputBufferOffset/Length computed on
/// encode (buffer at 0x48).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryDirectoryResponse<'a> {
    /// The directory entries, chained by NextEntryOffset.
    pub buffer: Buf<'a>,
}

impl<'a> Decode<'a> for QueryDirectoryResponse<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        Ok(Self {
            buffer: output_buffer::decode(msg, "QUERY_DIRECTORY response")?,
        })
    }
}

impl Encode for QueryDirectoryResponse<'_> {
    fn encode(&self, w: &mut Writer) {
        output_buffer::encode(w, &self.buffer);
    }
}
