//! [MS-SMB2 2.2.3] NEGOTIATE request and [MS-SMB2 2.2.4] NEGOTIATE response.
//!
//! [MS-SMB2 2.2.3]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/e14db7ff-763a-4263-8b10-0c3944f52fc5
//! [MS-SMB2 2.2.4]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/63abf97c-0d09-47e2-88d6-6bfa552949a5

use std::borrow::Cow;

use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u16};
pub use crate::negotiate_context::{
    CipherId, Dialect, HashAlgorithm, NegotiateContext, SigningAlgorithm,
};
use crate::negotiate_context::{decode_negotiate_contexts, encode_negotiate_contexts};

/// [MS-SMB2 2.2.3] SecurityMode bits (also used, truncated to u8, by SESSION_SETUP).
#[derive(Debug, Clone, Copy)]
pub struct SecurityMode;
impl SecurityMode {
    /// SMB2_NEGOTIATE_SIGNING_ENABLED.
    pub const SIGNING_ENABLED: u16 = 0x0001;
    /// SMB2_NEGOTIATE_SIGNING_REQUIRED.
    pub const SIGNING_REQUIRED: u16 = 0x0002;
}

/// [MS-SMB2 2.2.3] Capabilities bits (NEGOTIATE and SESSION_SETUP).
#[derive(Debug, Clone, Copy)]
pub struct Capabilities;
impl Capabilities {
    /// SMB2_GLOBAL_CAP_DFS.
    pub const DFS: u32 = 0x0000_0001;
    /// SMB2_GLOBAL_CAP_LEASING.
    pub const LEASING: u32 = 0x0000_0002;
    /// SMB2_GLOBAL_CAP_LARGE_MTU.
    pub const LARGE_MTU: u32 = 0x0000_0004;
    /// SMB2_GLOBAL_CAP_MULTI_CHANNEL.
    pub const MULTI_CHANNEL: u32 = 0x0000_0008;
    /// SMB2_GLOBAL_CAP_PERSISTENT_HANDLES.
    pub const PERSISTENT_HANDLES: u32 = 0x0000_0010;
    /// SMB2_GLOBAL_CAP_DIRECTORY_LEASING.
    pub const DIRECTORY_LEASING: u32 = 0x0000_0020;
    /// SMB2_GLOBAL_CAP_ENCRYPTION.
    pub const ENCRYPTION: u32 = 0x0000_0040;
    /// SMB2_GLOBAL_CAP_NOTIFICATIONS.
    pub const NOTIFICATIONS: u32 = 0x0000_0080;
}

/// [MS-SMB2 2.2.3] SMB2 NEGOTIATE Request.
///
/// On encode, DialectCount, NegotiateContextOffset/Count are computed. When 3.1.1 is not
/// offered the 8 bytes after ClientGuid are ClientStartTime, which is ignored on decode and
/// written as 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegotiateRequest {
    /// SecurityMode ([`SecurityMode`]).
    pub security_mode: u16,
    /// Capabilities ([`Capabilities`]).
    pub capabilities: u32,
    /// ClientGuid.
    pub client_guid: [u8; 16],
    /// Dialects.
    pub dialects: Vec<Dialect>,
    /// NegotiateContextList (only when 3.1.1 is in `dialects`).
    pub negotiate_contexts: Vec<NegotiateContext>,
}

impl NegotiateRequest {
    /// True if SMB 3.1.1 is offered (then negotiate contexts are present).
    pub fn offers_smb311(&self) -> bool {
        self.dialects.contains(&Dialect::SMB3_1_1)
    }
}

impl<'a> Decode<'a> for NegotiateRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "NEGOTIATE request");
        r.structure_size(36)?;
        let dialect_count = r.u16()?;
        let security_mode = r.u16()?;
        r.skip(2)?;
        let capabilities = r.u32()?;
        let client_guid = r.array::<16>()?;
        let context_offset = r.u32()?;
        let context_count = r.u16()?;
        r.skip(2)?;
        let mut dialects = Vec::with_capacity(usize::from(dialect_count).min(r.remaining() / 2));
        for _ in 0..dialect_count {
            dialects.push(Dialect(r.u16()?));
        }
        let negotiate_contexts = if dialects.contains(&Dialect::SMB3_1_1) && context_count > 0 {
            let list = msg.tail(context_offset, "NegotiateContextOffset")?;
            decode_negotiate_contexts(list, context_offset, context_count)?
        } else {
            Vec::new()
        };
        Ok(Self {
            security_mode,
            capabilities,
            client_guid,
            dialects,
            negotiate_contexts,
        })
    }
}

impl Encode for NegotiateRequest {
    fn encode(&self, w: &mut Writer) {
        w.u16(36);
        w.u16(sat_u16(self.dialects.len()));
        w.u16(self.security_mode);
        w.u16(0);
        w.u32(self.capabilities);
        w.bytes(&self.client_guid);
        let offset_at = w.reserve_u32();
        let count_at = w.reserve_u16();
        w.u16(0);
        for d in &self.dialects {
            w.u16(d.0);
        }
        if self.offers_smb311() {
            let off = encode_negotiate_contexts(w, &self.negotiate_contexts);
            w.patch_u32(offset_at, off);
            w.patch_u16(count_at, sat_u16(self.negotiate_contexts.len()));
        }
    }
}

/// [MS-SMB2 2.2.4] SMB2 NEGOTIATE Response.
///
/// On encode, SecurityBufferOffset/Length and NegotiateContextOffset/Count are computed;
/// contexts are written only when `dialect_revision` is 3.1.1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegotiateResponse<'a> {
    /// SecurityMode ([`SecurityMode`]).
    pub security_mode: u16,
    /// DialectRevision.
    pub dialect_revision: Dialect,
    /// ServerGuid.
    pub server_guid: [u8; 16],
    /// Capabilities ([`Capabilities`]).
    pub capabilities: u32,
    /// MaxTransactSize.
    pub max_transact_size: u32,
    /// MaxReadSize.
    pub max_read_size: u32,
    /// MaxWriteSize.
    pub max_write_size: u32,
    /// SystemTime (FILETIME).
    pub system_time: u64,
    /// ServerStartTime (FILETIME).
    pub server_start_time: u64,
    /// Buffer: the GSS (SPNEGO NegTokenInit2) token.
    pub security_buffer: Buf<'a>,
    /// NegotiateContextList (3.1.1 only).
    pub negotiate_contexts: Vec<NegotiateContext>,
}

impl NegotiateResponse<'_> {
    /// An owned copy.
    pub fn into_owned(self) -> NegotiateResponse<'static> {
        NegotiateResponse {
            security_buffer: Cow::Owned(self.security_buffer.into_owned()),
            ..self
        }
    }
}

impl<'a> Decode<'a> for NegotiateResponse<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "NEGOTIATE response");
        r.structure_size(65)?;
        let security_mode = r.u16()?;
        let dialect_revision = Dialect(r.u16()?);
        let context_count = r.u16()?;
        let server_guid = r.array::<16>()?;
        let capabilities = r.u32()?;
        let max_transact_size = r.u32()?;
        let max_read_size = r.u32()?;
        let max_write_size = r.u32()?;
        let system_time = r.u64()?;
        let server_start_time = r.u64()?;
        let sec_offset = r.u16()?;
        let sec_len = r.u16()?;
        let context_offset = r.u32()?;
        let security_buffer =
            msg.buffer(sec_offset.into(), sec_len.into(), "SecurityBufferOffset")?;
        let negotiate_contexts = if dialect_revision == Dialect::SMB3_1_1 && context_count > 0 {
            let list = msg.tail(context_offset, "NegotiateContextOffset")?;
            decode_negotiate_contexts(list, context_offset, context_count)?
        } else {
            Vec::new()
        };
        Ok(Self {
            security_mode,
            dialect_revision,
            server_guid,
            capabilities,
            max_transact_size,
            max_read_size,
            max_write_size,
            system_time,
            server_start_time,
            security_buffer: Cow::Borrowed(security_buffer),
            negotiate_contexts,
        })
    }
}

impl Encode for NegotiateResponse<'_> {
    fn encode(&self, w: &mut Writer) {
        let smb311 = self.dialect_revision == Dialect::SMB3_1_1;
        w.u16(65);
        w.u16(self.security_mode);
        w.u16(self.dialect_revision.0);
        w.u16(if smb311 {
            sat_u16(self.negotiate_contexts.len())
        } else {
            0
        });
        w.bytes(&self.server_guid);
        w.u32(self.capabilities);
        w.u32(self.max_transact_size);
        w.u32(self.max_read_size);
        w.u32(self.max_write_size);
        w.u64(self.system_time);
        w.u64(self.server_start_time);
        let sec_off_at = w.reserve_u16();
        w.u16(sat_u16(self.security_buffer.len()));
        let ctx_off_at = w.reserve_u32();
        w.patch_u16(sec_off_at, sat_u16(w.offset()));
        w.bytes(&self.security_buffer);
        if smb311 {
            let off = encode_negotiate_contexts(w, &self.negotiate_contexts);
            w.patch_u32(ctx_off_at, off);
        } else if self.security_buffer.is_empty() {
            // The variable part is at least one byte (StructureSize 65 is odd).
            w.u8(0);
        }
    }
}
