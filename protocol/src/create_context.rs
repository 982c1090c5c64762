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

/// [MS-SMB2 2.2.13.2.8 / 2.2.13.2.10 / 2.2.14.2.10 / 2.2.14.2.11] The `RqLs` lease context,
/// request and response: 32 bytes (v1) or 52 bytes (v2, with `v2` set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseContext {
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// LeaseState (READ_CACHING = 1, HANDLE_CACHING = 2, WRITE_CACHING = 4).
    pub lease_state: u32,
    /// LeaseFlags ([`LeaseContext::BREAK_IN_PROGRESS`], [`LeaseContext::PARENT_LEASE_KEY_SET`]).
    pub flags: u32,
    /// LeaseDuration (reserved, 0).
    pub lease_duration: u64,
    /// The v2 fields, if this is SMB2_CREATE_REQUEST_LEASE_V2 / RESPONSE_LEASE_V2.
    pub v2: Option<LeaseV2>,
}

/// The fields only the v2 lease context carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseV2 {
    /// ParentLeaseKey.
    pub parent_lease_key: [u8; 16],
    /// Epoch.
    pub epoch: u16,
}

impl LeaseContext {
    /// SMB2_LEASE_FLAG_BREAK_IN_PROGRESS (response).
    pub const BREAK_IN_PROGRESS: u32 = 0x0000_0002;
    /// SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET (v2).
    pub const PARENT_LEASE_KEY_SET: u32 = 0x0000_0004;

    /// Decodes the context data: 32 bytes is v1, 52 bytes is v2, anything else is invalid.
    pub fn from_data(data: &[u8]) -> DecodeResult<Self> {
        if data.len() != 32 && data.len() != 52 {
            return Err(DecodeError::Invalid {
                what: "RqLs context length",
            });
        }
        let mut r = Reader::new(data, "RqLs context");
        let lease_key = r.array::<16>()?;
        let lease_state = r.u32()?;
        let flags = r.u32()?;
        let lease_duration = r.u64()?;
        let v2 = if r.remaining() == 20 {
            let parent_lease_key = r.array::<16>()?;
            let epoch = r.u16()?;
            r.skip(2)?;
            Some(LeaseV2 {
                parent_lease_key,
                epoch,
            })
        } else {
            None
        };
        Ok(Self {
            lease_key,
            lease_state,
            flags,
            lease_duration,
            v2,
        })
    }

    /// The context, named `RqLs`.
    pub fn to_context(&self) -> CreateContext<'static> {
        let mut w = Writer::new();
        w.bytes(&self.lease_key);
        w.u32(self.lease_state);
        w.u32(self.flags);
        w.u64(self.lease_duration);
        if let Some(v2) = &self.v2 {
            w.bytes(&v2.parent_lease_key);
            w.u16(v2.epoch);
            w.u16(0);
        }
        CreateContext::new(CreateContextName::RQLS, w.into_inner().to_vec())
    }
}

/// [MS-SMB2 2.2.13.2.11] SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2 (`DH2Q`, 32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DurableHandleRequestV2 {
    /// Timeout in milliseconds (0: server default).
    pub timeout: u32,
    /// Flags ([`DurableHandleRequestV2::PERSISTENT`]).
    pub flags: u32,
    /// CreateGuid: identifies the open across replays.
    pub create_guid: [u8; 16],
}

impl DurableHandleRequestV2 {
    /// SMB2_DHANDLE_FLAG_PERSISTENT.
    pub const PERSISTENT: u32 = 0x0000_0002;

    /// Decodes the context data (32 bytes).
    pub fn from_data(data: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(data, "DH2Q request");
        let timeout = r.u32()?;
        let flags = r.u32()?;
        r.skip(8)?;
        Ok(Self {
            timeout,
            flags,
            create_guid: r.array::<16>()?,
        })
    }

    /// The context, named `DH2Q`.
    pub fn to_context(&self) -> CreateContext<'static> {
        let mut w = Writer::new();
        w.u32(self.timeout);
        w.u32(self.flags);
        w.u64(0);
        w.bytes(&self.create_guid);
        CreateContext::new(CreateContextName::DH2Q, w.into_inner().to_vec())
    }
}

/// [MS-SMB2 2.2.14.2.12] SMB2_CREATE_DURABLE_HANDLE_RESPONSE_V2 (`DH2Q`, 8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DurableHandleResponseV2 {
    /// Timeout granted, in milliseconds.
    pub timeout: u32,
    /// Flags (PERSISTENT = 2).
    pub flags: u32,
}

impl DurableHandleResponseV2 {
    /// Decodes the context data (8 bytes).
    pub fn from_data(data: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(data, "DH2Q response");
        Ok(Self {
            timeout: r.u32()?,
            flags: r.u32()?,
        })
    }

    /// The context, named `DH2Q`.
    pub fn to_context(&self) -> CreateContext<'static> {
        let mut w = Writer::new();
        w.u32(self.timeout);
        w.u32(self.flags);
        CreateContext::new(CreateContextName::DH2Q, w.into_inner().to_vec())
    }
}

/// [MS-SMB2 2.2.14.2.3] SMB2_CREATE_DURABLE_HANDLE_RESPONSE (`DHnQ`): 8 reserved bytes.
pub fn durable_handle_response() -> CreateContext<'static> {
    CreateContext::new(CreateContextName::DHNQ, vec![0; 8])
}

/// [MS-SMB2 2.2.13.2.4] SMB2_CREATE_DURABLE_HANDLE_RECONNECT (`DHnC`): the FileId to reclaim.
pub fn durable_handle_reconnect_file_id(data: &[u8]) -> DecodeResult<crate::file_id::FileId> {
    crate::file_id::FileId::read(&mut Reader::new(data, "DHnC"))
}

/// [MS-SMB2 2.2.13.2.12] SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2 (`DH2C`, 36 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DurableHandleReconnectV2 {
    /// FileId of the open to reclaim.
    pub file_id: crate::file_id::FileId,
    /// CreateGuid given when the handle was made durable.
    pub create_guid: [u8; 16],
    /// Flags (PERSISTENT = 2).
    pub flags: u32,
}

impl DurableHandleReconnectV2 {
    /// Decodes the context data (36 bytes).
    pub fn from_data(data: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(data, "DH2C");
        Ok(Self {
            file_id: crate::file_id::FileId::read(&mut r)?,
            create_guid: r.array::<16>()?,
            flags: r.u32()?,
        })
    }

    /// The context, named `DH2C`.
    pub fn to_context(&self) -> CreateContext<'static> {
        let mut w = Writer::new();
        self.file_id.write(&mut w);
        w.bytes(&self.create_guid);
        w.u32(self.flags);
        CreateContext::new(CreateContextName::DH2C, w.into_inner().to_vec())
    }
}

/// [MS-SMB2 2.2.13.2.5 / 2.2.13.2.6 / 2.2.13.2.7] The single-u64 request contexts: `AlSi`
/// (AllocationSize), `TWrp` (Timestamp) and an `MxAc` request's optional Timestamp.
pub fn context_u64(data: &[u8], what: &'static str) -> DecodeResult<u64> {
    Reader::new(data, what).u64()
}
