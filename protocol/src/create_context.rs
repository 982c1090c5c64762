//! [MS-SMB2 2.2.13.2] SMB2_CREATE_CONTEXT lists (CREATE request and response), the context
//! names, and typed helpers for the response contexts the server answers.
//!
//! A list is a chain: each context's `Next` is the offset of the following one from its own
//! start (0 for the last); each context starts 8-byte aligned. Name and Data offsets are
//! relative to the context start.
//!
//! [MS-SMB2 2.2.13.2]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/75364667-3a93-4e2c-b771-592d8d5e876d

use std::borrow::Cow;

use crate::codec::{Buf, DecodeError, DecodeResult, Reader, Writer, sat_u16, sat_u32};
use crate::status::NtStatus;

/// [MS-SMB2 2.2.13.2] Create context names (4-byte ASCII tags, or 16-byte GUIDs for some).
#[derive(Debug, Clone, Copy)]
pub struct CreateContextName;
impl CreateContextName {
    /// SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST / _RESPONSE.
    pub const MXAC: &'static [u8] = b"MxAc";
    /// SMB2_CREATE_QUERY_ON_DISK_ID.
    pub const QFID: &'static [u8] = b"QFid";
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST / _RESPONSE.
    pub const DHNQ: &'static [u8] = b"DHnQ";
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT.
    pub const DHNC: &'static [u8] = b"DHnC";
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 / _RESPONSE_V2.
    pub const DH2Q: &'static [u8] = b"DH2Q";
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2.
    pub const DH2C: &'static [u8] = b"DH2C";
    /// SMB2_CREATE_REQUEST_LEASE / _V2 and the lease responses.
    pub const RQLS: &'static [u8] = b"RqLs";
    /// SMB2_CREATE_TIMEWARP_TOKEN.
    pub const TWRP: &'static [u8] = b"TWrp";
    /// SMB2_CREATE_ALLOCATION_SIZE.
    pub const ALSI: &'static [u8] = b"AlSi";
    /// SMB2_CREATE_EA_BUFFER.
    pub const EXTA: &'static [u8] = b"ExtA";
    /// SMB2_CREATE_SD_BUFFER.
    pub const SECD: &'static [u8] = b"SecD";
    /// Apple's AAPL extension (macOS clients).
    pub const AAPL: &'static [u8] = b"AAPL";
}

/// [MS-SMB2 2.2.13.2] One create context: a name and its data, both raw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateContext<'a> {
    /// Name (usually a 4-byte tag, see [`CreateContextName`]).
    pub name: Buf<'a>,
    /// Data.
    pub data: Buf<'a>,
}

impl<'a> CreateContext<'a> {
    /// Builds an owned context.
    pub fn new(name: &[u8], data: Vec<u8>) -> CreateContext<'static> {
        CreateContext {
            name: Cow::Owned(name.to_vec()),
            data: Cow::Owned(data),
        }
    }

    /// An owned copy.
    pub fn into_owned(self) -> CreateContext<'static> {
        CreateContext {
            name: Cow::Owned(self.name.into_owned()),
            data: Cow::Owned(self.data.into_owned()),
        }
    }

    /// The first context named `name` in `list`.
    pub fn find<'l>(list: &'l [CreateContext<'a>], name: &[u8]) -> Option<&'l CreateContext<'a>> {
        list.iter().find(|c| c.name.as_ref() == name)
    }
}

/// Decodes a create context list occupying exactly `bytes` (the CreateContextsOffset/Length
/// region). Every `Next` must move forward by at least one context header (16 bytes), stay
/// 8-byte aligned and inside the region, so a hostile chain cannot loop.
pub fn decode_create_contexts(bytes: &[u8]) -> DecodeResult<Vec<CreateContext<'_>>> {
    const WHAT: &str = "create context";
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let rest = bytes
            .get(pos..)
            .ok_or(DecodeError::OutOfBounds { what: WHAT })?;
        let mut r = Reader::new(rest, WHAT);
        let next = r.u32()? as usize;
        let name_off = usize::from(r.u16()?);
        let name_len = usize::from(r.u16()?);
        r.skip(2)?;
        let data_off = usize::from(r.u16()?);
        let data_len = r.u32()? as usize;
        let ctx_len = if next == 0 {
            rest.len()
        } else if next < 16 || !next.is_multiple_of(8) || next > rest.len() {
            return Err(DecodeError::Invalid {
                what: "create context Next",
            });
        } else {
            next
        };
        let ctx = rest
            .get(..ctx_len)
            .ok_or(DecodeError::OutOfBounds { what: WHAT })?;
        let slice = |off: usize, len: usize, what| -> DecodeResult<&[u8]> {
            if len == 0 {
                return Ok(&[]);
            }
            let end = off
                .checked_add(len)
                .ok_or(DecodeError::OutOfBounds { what })?;
            ctx.get(off..end).ok_or(DecodeError::OutOfBounds { what })
        };
        let name = slice(name_off, name_len, "create context name")?;
        let data = slice(data_off, data_len, "create context data")?;
        out.push(CreateContext {
            name: Cow::Borrowed(name),
            data: Cow::Borrowed(data),
        });
        if next == 0 {
            break;
        }
        pos += next;
    }
    Ok(out)
}

/// Encodes a create context list at the current position (the caller aligns to 8 first).
/// Name at offset 16, Data at the next 8-byte boundary after it, each context padded to 8
/// except after the last one's data, `Next` patched — the layout Windows clients send.
pub fn encode_create_contexts(w: &mut Writer, contexts: &[CreateContext<'_>]) {
    for (i, c) in contexts.iter().enumerate() {
        let start = w.len();
        let next_at = w.reserve_u32();
        w.u16(16);
        w.u16(sat_u16(c.name.len()));
        w.u16(0);
        let data_off_at = w.reserve_u16();
        w.u32(sat_u32(c.data.len()));
        w.bytes(&c.name);
        // Like Windows: the name is padded to 8 and DataOffset points past it even when the
        // data is empty.
        w.align(8);
        w.patch_u16(data_off_at, sat_u16(w.len() - start));
        w.bytes(&c.data);
        if i + 1 < contexts.len() {
            w.align(8);
            w.patch_u32(next_at, sat_u32(w.len() - start));
        }
    }
}

/// [MS-SMB2 2.2.14.2.5] SMB2_CREATE_QUERY_MAXIMAL_ACCESS_RESPONSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaximalAccessResponse {
    /// QueryStatus.
    pub query_status: NtStatus,
    /// MaximalAccess (an access mask, valid if `query_status` is success).
    pub maximal_access: u32,
}

impl MaximalAccessResponse {
    /// Decodes the context data (8 bytes).
    pub fn from_data(data: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(data, "MxAc response");
        Ok(Self {
            query_status: NtStatus(r.u32()?),
            maximal_access: r.u32()?,
        })
    }

    /// The context, named `MxAc`.
    pub fn to_context(&self) -> CreateContext<'static> {
        let mut w = Writer::new();
        w.u32(self.query_status.0);
        w.u32(self.maximal_access);
        CreateContext::new(CreateContextName::MXAC, w.into_inner().to_vec())
    }
}

/// [MS-SMB2 2.2.14.2.9] SMB2_CREATE_QUERY_ON_DISK_ID: DiskFileId (8), VolumeId (8),
/// Reserved (16): 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryOnDiskIdResponse {
    /// DiskFileId (the inode number on our side).
    pub disk_file_id: u64,
    /// VolumeId.
    pub volume_id: u64,
}

impl QueryOnDiskIdResponse {
    /// Decodes the context data (32 bytes).
    pub fn from_data(data: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(data, "QFid response");
        let disk_file_id = r.u64()?;
        let volume_id = r.u64()?;
        r.skip(16)?;
        Ok(Self {
            disk_file_id,
            volume_id,
        })
    }

    /// The context, named `QFid`.
    pub fn to_context(&self) -> CreateContext<'static> {
        let mut w = Writer::new();
        w.u64(self.disk_file_id);
        w.u64(self.volume_id);
        w.zeros(16);
        CreateContext::new(CreateContextName::QFID, w.into_inner().to_vec())
    }
}
