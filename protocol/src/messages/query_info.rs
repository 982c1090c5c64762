//! [MS-SMB2 2.2.37] QUERY_INFO request and [MS-SMB2 2.2.38] QUERY_INFO response.
//!
//! [MS-SMB2 2.2.37]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/d623b2f7-a5cd-4639-8cc9-71fa7d9f9ba9
//! [MS-SMB2 2.2.38]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/3b1b3598-a898-44ca-bfac-2dcae065247f

use std::borrow::Cow;

use super::output_buffer;
use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u16, sat_u32};
use crate::file_id::FileId;

/// [MS-SMB2 2.2.37] InfoType values (QUERY_INFO and SET_INFO).
#[derive(Debug, Clone, Copy)]
pub struct InfoType;
impl InfoType {
    /// SMB2_0_INFO_FILE.
    pub const FILE: u8 = 0x01;
    /// SMB2_0_INFO_FILESYSTEM.
    pub const FILESYSTEM: u8 = 0x02;
    /// SMB2_0_INFO_SECURITY.
    pub const SECURITY: u8 = 0x03;
    /// SMB2_0_INFO_QUOTA.
    pub const QUOTA: u8 = 0x04;
}

/// [MS-SMB2 2.2.37] AdditionalInformation bits for security queries.
#[derive(Debug, Clone, Copy)]
pub struct SecurityInformation;
impl SecurityInformation {
    /// OWNER_SECURITY_INFORMATION.
    pub const OWNER: u32 = 0x0000_0001;
    /// GROUP_SECURITY_INFORMATION.
    pub const GROUP: u32 = 0x0000_0002;
    /// DACL_SECURITY_INFORMATION.
    pub const DACL: u32 = 0x0000_0004;
    /// SACL_SECURITY_INFORMATION.
    pub const SACL: u32 = 0x0000_0008;
    /// LABEL_SECURITY_INFORMATION.
    pub const LABEL: u32 = 0x0000_0010;
    /// ATTRIBUTE_SECURITY_INFORMATION.
    pub const ATTRIBUTE: u32 = 0x0000_0020;
    /// SCOPE_SECURITY_INFORMATION.
    pub const SCOPE: u32 = 0x0000_0040;
    /// BACKUP_SECURITY_INFORMATION.
    pub const BACKUP: u32 = 0x0001_0000;
}

/// [MS-SMB2 2.2.37] QUERY_INFO Flags.
#[derive(Debug, Clone, Copy)]
pub struct QueryInfoFlags;
impl QueryInfoFlags {
    /// SL_RESTART_SCAN.
    pub const RESTART_SCAN: u32 = 0x0000_0001;
    /// SL_RETURN_SINGLE_ENTRY.
    pub const RETURN_SINGLE_ENTRY: u32 = 0x0000_0002;
    /// SL_INDEX_SPECIFIED.
    pub const INDEX_SPECIFIED: u32 = 0x0000_0004;
}

/// [MS-SMB2 2.2.37] SMB2 QUERY_INFO Request. InputBufferOffset/Length computed on encode
/// (input at 0x68); Reserved written as 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryInfoRequest<'a> {
    /// InfoType ([`InfoType`]).
    pub info_type: u8,
    /// FileInfoClass ([`crate::fscc::FileInformationClass`] or
    /// [`crate::fscc::FsInformationClass`], 0 for security).
    pub file_info_class: u8,
    /// OutputBufferLength: the most the client accepts.
    pub output_buffer_length: u32,
    /// Input buffer (quota queries, FileFullEaInformation lists).
    pub input: Buf<'a>,
    /// AdditionalInformation ([`SecurityInformation`] for security queries).
    pub additional_information: u32,
    /// Flags ([`QueryInfoFlags`]).
    pub flags: u32,
    /// FileId.
    pub file_id: FileId,
}

impl<'a> Decode<'a> for QueryInfoRequest<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "QUERY_INFO request");
        r.structure_size(41)?;
        let info_type = r.u8()?;
        let file_info_class = r.u8()?;
        let output_buffer_length = r.u32()?;
        let in_off = r.u16()?;
        r.skip(2)?;
        let in_len = r.u32()?;
        let additional_information = r.u32()?;
        let flags = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let input = msg.buffer(in_off.into(), in_len, "InputBufferOffset")?;
        Ok(Self {
            info_type,
            file_info_class,
            output_buffer_length,
            input: Cow::Borrowed(input),
            additional_information,
            flags,
            file_id,
        })
    }
}

impl Encode for QueryInfoRequest<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(41);
        w.u8(self.info_type);
        w.u8(self.file_info_class);
        w.u32(self.output_buffer_length);
        let off_at = w.reserve_u16();
        w.u16(0);
        w.u32(sat_u32(self.input.len()));
        w.u32(self.additional_information);
        w.u32(self.flags);
        self.file_id.write(w);
        if self.input.is_empty() {
            w.u8(0);
        } else {
            w.patch_u16(off_at, sat_u16(w.offset()));
            w.bytes(&self.input);
        }
    }
}

/// [MS-SMB2 2.2.38] SMB2 QUERY_INFO Response. OutputBufferOffset/Length computed on encode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryInfoResponse<'a> {
    /// The information structure.
    pub buffer: Buf<'a>,
}

impl<'a> Decode<'a> for QueryInfoResponse<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        Ok(Self {
            buffer: output_buffer::decode(msg, "QUERY_INFO response")?,
        })
    }
}

impl Encode for QueryInfoResponse<'_> {
    fn encode(&self, w: &mut Writer) {
        output_buffer::encode(w, &self.buffer);
    }
}
