//! [MS-SMB2 2.2.35] CHANGE_NOTIFY request and [MS-SMB2 2.2.36] CHANGE_NOTIFY response.
//!
//! [MS-SMB2 2.2.35]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/598f395a-e7a2-4cc8-afb3-ccb30dd2df7c
//! [MS-SMB2 2.2.36]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/14f9d050-27b2-49df-b009-54e08e8bf7b5

use super::output_buffer;
use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer};
use crate::file_id::FileId;

/// [MS-SMB2 2.2.35] CHANGE_NOTIFY Flags.
#[derive(Debug, Clone, Copy)]
pub struct ChangeNotifyFlags;
impl ChangeNotifyFlags {
    /// SMB2_WATCH_TREE: watch the whole subtree.
    pub const WATCH_TREE: u16 = 0x0001;
}

/// [MS-SMB2 2.2.35] CompletionFilter bits.
#[derive(Debug, Clone, Copy)]
pub struct CompletionFilter;
impl CompletionFilter {
    /// FILE_NOTIFY_CHANGE_FILE_NAME.
    pub const FILE_NAME: u32 = 0x0000_0001;
    /// FILE_NOTIFY_CHANGE_DIR_NAME.
    pub const DIR_NAME: u32 = 0x0000_0002;
    /// FILE_NOTIFY_CHANGE_ATTRIBUTES.
    pub const ATTRIBUTES: u32 = 0x0000_0004;
    /// FILE_NOTIFY_CHANGE_SIZE.
    pub const SIZE: u32 = 0x0000_0008;
    /// FILE_NOTIFY_CHANGE_LAST_WRITE.
    pub const LAST_WRITE: u32 = 0x0000_0010;
    /// FILE_NOTIFY_CHANGE_LAST_ACCESS.
    pub const LAST_ACCESS: u32 = 0x0000_0020;
    /// FILE_NOTIFY_CHANGE_CREATION.
    pub const CREATION: u32 = 0x0000_0040;
    /// FILE_NOTIFY_CHANGE_EA.
    pub const EA: u32 = 0x0000_0080;
    /// FILE_NOTIFY_CHANGE_SECURITY.
    pub const SECURITY: u32 = 0x0000_0100;
    /// FILE_NOTIFY_CHANGE_STREAM_NAME.
    pub const STREAM_NAME: u32 = 0x0000_0200;
    /// FILE_NOTIFY_CHANGE_STREAM_SIZE.
    pub const STREAM_SIZE: u32 = 0x0000_0400;
    /// FILE_NOTIFY_CHANGE_STREAM_WRITE.
    pub const STREAM_WRITE: u32 = 0x0000_0800;
}

/// [MS-SMB2 2.2.35] SMB2 CHANGE_NOTIFY Request (Reserved written as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeNotifyRequest {
    /// Flags ([`ChangeNotifyFlags`]).
    pub flags: u16,
    /// OutputBufferLength.
    pub output_buffer_length: u32,
    /// FileId of the directory.
    pub file_id: FileId,
    /// CompletionFilter ([`CompletionFilter`]).
    pub completion_filter: u32,
}

impl<'a> Decode<'a> for ChangeNotifyRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "CHANGE_NOTIFY request");
        r.structure_size(32)?;
        let flags = r.u16()?;
        let output_buffer_length = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let completion_filter = r.u32()?;
        r.skip(4)?;
        Ok(Self {
            flags,
            output_buffer_length,
            file_id,
            completion_filter,
        })
    }
}

impl Encode for ChangeNotifyRequest {
    fn encode(&self, w: &mut Writer) {
        w.u16(32);
        w.u16(self.flags);
        w.u32(self.output_buffer_length);
        self.file_id.write(w);
        w.u32(self.completion_filter);
        w.u32(0);
    }
}

/// [MS-SMB2 2.2.36] SMB2 CHANGE_NOTIFY Response. OutputBufferOffset/Length computed on encode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeNotifyResponse<'a> {
    /// FILE_NOTIFY_INFORMATION entries ([MS-FSCC 2.7.1]).
    pub buffer: Buf<'a>,
}

impl<'a> Decode<'a> for ChangeNotifyResponse<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        Ok(Self {
            buffer: output_buffer::decode(msg, "CHANGE_NOTIFY response")?,
        })
    }
}

impl Encode for ChangeNotifyResponse<'_> {
    fn encode(&self, w: &mut Writer) {
        output_buffer::encode(w, &self.buffer);
    }
}
