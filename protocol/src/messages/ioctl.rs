//! [MS-SMB2 2.2.31] IOCTL request and [MS-SMB2 2.2.32] IOCTL response, the FSCTL codes, and
//! the VALIDATE_NEGOTIATE_INFO payloads ([2.2.31.4] / [2.2.32.6]).
//!
//! [MS-SMB2 2.2.31]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/5c03c9d6-15de-48a2-9835-8fb37f8a79d8
//! [MS-SMB2 2.2.32]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/f70eccb6-e1be-4db8-9c47-9ac86ef18dbb
//! [2.2.31.4]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/261ec397-d692-4e3e-8bcd-c96ce02bb969
//! [2.2.32.6]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/fbb7a59a-a10d-4d0b-bb3f-9e41c9b7d65c

use std::borrow::Cow;

use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u16, sat_u32};
use crate::file_id::FileId;
use crate::negotiate_context::Dialect;

crate::wire_newtype! {
    /// [MS-SMB2 2.2.31] CtlCode values ([MS-FSCC 2.3]).
    FsctlCode(u32) {
        DFS_GET_REFERRALS = 0x0006_0194,
        PIPE_PEEK = 0x0011_400C,
        PIPE_WAIT = 0x0011_0018,
        PIPE_TRANSCEIVE = 0x0011_C017,
        SRV_COPYCHUNK = 0x0014_40F2,
        SRV_ENUMERATE_SNAPSHOTS = 0x0014_4064,
        SRV_REQUEST_RESUME_KEY = 0x0014_0078,
        SRV_READ_HASH = 0x0014_41BB,
        SRV_COPYCHUNK_WRITE = 0x0014_80F2,
        LMR_REQUEST_RESILIENCY = 0x0014_01D4,
        QUERY_NETWORK_INTERFACE_INFO = 0x0014_01FC,
        SET_REPARSE_POINT = 0x0009_00A4,
        DFS_GET_REFERRALS_EX = 0x0006_01B0,
        FILE_LEVEL_TRIM = 0x0009_8208,
        VALIDATE_NEGOTIATE_INFO = 0x0014_0204,
        SET_SPARSE = 0x0009_00C4,
        SET_ZERO_DATA = 0x0009_80C8,
        QUERY_ALLOCATED_RANGES = 0x0009_40CF,
        GET_REPARSE_POINT = 0x0009_00A8,
        DELETE_REPARSE_POINT = 0x0009_00AC,
        CREATE_OR_GET_OBJECT_ID = 0x0009_00C0,
        GET_COMPRESSION = 0x0009_003C,
        SET_COMPRESSION = 0x0009_C040,
    }
}

/// [MS-SMB2 2.2.31] IOCTL Flags.
#[derive(Debug, Clone, Copy)]
pub struct IoctlFlags;
impl IoctlFlags {
    /// SMB2_0_IOCTL_IS_IOCTL.
    pub const IS_IOCTL: u32 = 0x0000_0000;
    /// SMB2_0_IOCTL_IS_FSCTL.
    pub const IS_FSCTL: u32 = 0x0000_0001;
}

/// [MS-SMB2 2.2.31] SMB2 IOCTL Request. Input/Output offsets and counts are computed on
/// encode (input at 0x78, output at the next 8-byte boundary); Reserved fields written as 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IoctlRequest<'a> {
    /// CtlCode ([`FsctlCode`]).
    pub ctl_code: u32,
    /// FileId (all 0xFF for FSCTLs that name no file).
    pub file_id: FileId,
    /// Input buffer.
    pub input: Buf<'a>,
    /// MaxInputResponse.
    pub max_input_response: u32,
    /// Output buffer (unused by the FSCTLs we serve, kept).
    pub output: Buf<'a>,
    /// MaxOutputResponse.
    pub max_output_response: u32,
    /// Flags ([`IoctlFlags`]).
    pub flags: u32,
}

impl<'a> Decode<'a> for IoctlRequest<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "IOCTL request");
        r.structure_size(57)?;
        r.skip(2)?;
        let ctl_code = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let in_off = r.u32()?;
        let in_len = r.u32()?;
        let max_input_response = r.u32()?;
        let out_off = r.u32()?;
        let out_len = r.u32()?;
        let max_output_response = r.u32()?;
        let flags = r.u32()?;
        r.skip(4)?;
        let input = msg.buffer(in_off, in_len, "InputOffset")?;
        let output = msg.buffer(out_off, out_len, "OutputOffset")?;
        Ok(Self {
            ctl_code,
            file_id,
            input: Cow::Borrowed(input),
            max_input_response,
            output: Cow::Borrowed(output),
            max_output_response,
            flags,
        })
    }
}

impl Encode for IoctlRequest<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(57);
        w.u16(0);
        w.u32(self.ctl_code);
        self.file_id.write(w);
        let in_off_at = w.reserve_u32();
        w.u32(sat_u32(self.input.len()));
        w.u32(self.max_input_response);
        let out_off_at = w.reserve_u32();
        w.u32(sat_u32(self.output.len()));
        w.u32(self.max_output_response);
        w.u32(self.flags);
        w.u32(0);
        if !self.input.is_empty() {
            w.patch_u32(in_off_at, w.offset());
            w.bytes(&self.input);
        }
        if !self.output.is_empty() {
            w.align(8);
            w.patch_u32(out_off_at, w.offset());
            w.bytes(&self.output);
        }
        if self.input.is_empty() && self.output.is_empty() {
            w.u8(0);
        }
    }
}

/// [MS-SMB2 2.2.32] SMB2 IOCTL Response. Offsets and counts computed on encode (input at
/// 0x70, output at the next 8-byte boundary); Reserved fields written as 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IoctlResponse<'a> {
    /// CtlCode.
    pub ctl_code: u32,
    /// FileId.
    pub file_id: FileId,
    /// Input buffer (usually empty in a response).
    pub input: Buf<'a>,
    /// Output buffer.
    pub output: Buf<'a>,
    /// Flags (reserved, 0).
    pub flags: u32,
}

impl<'a> Decode<'a> for IoctlResponse<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "IOCTL response");
        r.structure_size(49)?;
        r.skip(2)?;
        let ctl_code = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let in_off = r.u32()?;
        let in_len = r.u32()?;
        let out_off = r.u32()?;
        let out_len = r.u32()?;
        let flags = r.u32()?;
        r.skip(4)?;
        let input = msg.buffer(in_off, in_len, "InputOffset")?;
        let output = msg.buffer(out_off, out_len, "OutputOffset")?;
        Ok(Self {
            ctl_code,
            file_id,
            input: Cow::Borrowed(input),
            output: Cow::Borrowed(output),
            flags,
        })
    }
}

impl Encode for IoctlResponse<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(49);
        w.u16(0);
        w.u32(self.ctl_code);
        self.file_id.write(w);
        let in_off_at = w.reserve_u32();
        w.u32(sat_u32(self.input.len()));
        let out_off_at = w.reserve_u32();
        w.u32(sat_u32(self.output.len()));
        w.u32(self.flags);
        w.u32(0);
        // Windows sets InputOffset to the buffer start even when InputCount is 0.
        w.patch_u32(in_off_at, w.offset());
        w.bytes(&self.input);
        w.align(8);
        w.patch_u32(out_off_at, w.offset());
        w.bytes(&self.output);
        if self.input.is_empty() && self.output.is_empty() {
            w.u8(0);
        }
    }
}

/// [MS-SMB2 2.2.31.4] VALIDATE_NEGOTIATE_INFO request (the IOCTL input buffer).
/// DialectCount is computed on encode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidateNegotiateInfoRequest {
    /// Capabilities.
    pub capabilities: u32,
    /// Guid: the client GUID.
    pub guid: [u8; 16],
    /// SecurityMode.
    pub security_mode: u16,
    /// Dialects.
    pub dialects: Vec<Dialect>,
}

impl ValidateNegotiateInfoRequest {
    /// Decodes the IOCTL input buffer.
    pub fn decode(input: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(input, "VALIDATE_NEGOTIATE_INFO request");
        let capabilities = r.u32()?;
        let guid = r.array::<16>()?;
        let security_mode = r.u16()?;
        let count = r.u16()?;
        let mut dialects = Vec::with_capacity(usize::from(count).min(r.remaining() / 2));
        for _ in 0..count {
            dialects.push(Dialect(r.u16()?));
        }
        Ok(Self {
            capabilities,
            guid,
            security_mode,
            dialects,
        })
    }

    /// Encodes the IOCTL input buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_inner().to_vec()
    }
}

impl Encode for ValidateNegotiateInfoRequest {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.capabilities);
        w.bytes(&self.guid);
        w.u16(self.security_mode);
        w.u16(sat_u16(self.dialects.len()));
        for d in &self.dialects {
            w.u16(d.0);
        }
    }
}

/// [MS-SMB2 2.2.32.6] VALIDATE_NEGOTIATE_INFO response (the IOCTL output buffer, 24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValidateNegotiateInfoResponse {
    /// Capabilities.
    pub capabilities: u32,
    /// Guid: the server GUID.
    pub guid: [u8; 16],
    /// SecurityMode.
    pub security_mode: u16,
    /// Dialect.
    pub dialect: Dialect,
}

impl ValidateNegotiateInfoResponse {
    /// Decodes the IOCTL output buffer.
    pub fn decode(output: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(output, "VALIDATE_NEGOTIATE_INFO response");
        Ok(Self {
            capabilities: r.u32()?,
            guid: r.array::<16>()?,
            security_mode: r.u16()?,
            dialect: Dialect(r.u16()?),
        })
    }

    /// Encodes the IOCTL output buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_inner().to_vec()
    }
}

impl Encode for ValidateNegotiateInfoResponse {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.capabilities);
        w.bytes(&self.guid);
        w.u16(self.security_mode);
        w.u16(self.dialect.0);
    }
}
