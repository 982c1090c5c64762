//! [MS-SMB2 2.2.13] CREATE request and [MS-SMB2 2.2.14] CREATE response, with the constants
//! a handler needs to interpret them (dispositions, options, access masks, share access,
//! oplock levels).
//!
//! [MS-SMB2 2.2.13]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/e8fb45c1-a03d-44ca-b7ae-47385cfd7997
//! [MS-SMB2 2.2.14]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/d166aa9e-0b53-410e-b35e-3933d8131927

use std::borrow::Cow;

use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u16, sat_u32};
pub use crate::create_context::{CreateContext, CreateContextName};
use crate::create_context::{decode_create_contexts, encode_create_contexts};
use crate::file_id::FileId;
pub use crate::fscc::FileAttributes;

crate::wire_newtype! {
    /// [MS-SMB2 2.2.13] CreateDisposition.
    CreateDisposition(u32) {
        SUPERSEDE = 0,
        OPEN = 1,
        CREATE = 2,
        OPEN_IF = 3,
        OVERWRITE = 4,
        OVERWRITE_IF = 5,
    }
}

crate::wire_newtype! {
    /// [MS-SMB2 2.2.14] CreateAction.
    CreateAction(u32) {
        SUPERSEDED = 0,
        OPENED = 1,
        CREATED = 2,
        OVERWRITTEN = 3,
    }
}

/// [MS-SMB2 2.2.13] RequestedOplockLevel / [2.2.14] OplockLevel values.
#[derive(Debug, Clone, Copy)]
pub struct OplockLevel;
impl OplockLevel {
    /// SMB2_OPLOCK_LEVEL_NONE.
    pub const NONE: u8 = 0x00;
    /// SMB2_OPLOCK_LEVEL_II.
    pub const II: u8 = 0x01;
    /// SMB2_OPLOCK_LEVEL_EXCLUSIVE.
    pub const EXCLUSIVE: u8 = 0x08;
    /// SMB2_OPLOCK_LEVEL_BATCH.
    pub const BATCH: u8 = 0x09;
    /// SMB2_OPLOCK_LEVEL_LEASE.
    pub const LEASE: u8 = 0xFF;
}

/// [MS-SMB2 2.2.13] ImpersonationLevel values.
#[derive(Debug, Clone, Copy)]
pub struct ImpersonationLevel;
impl ImpersonationLevel {
    /// Anonymous.
    pub const ANONYMOUS: u32 = 0;
    /// Identification.
    pub const IDENTIFICATION: u32 = 1;
    /// Impersonation.
    pub const IMPERSONATION: u32 = 2;
    /// Delegate.
    pub const DELEGATE: u32 = 3;
}

/// [MS-SMB2 2.2.13] CreateOptions bits.
#[derive(Debug, Clone, Copy)]
pub struct CreateOptions;
impl CreateOptions {
    /// FILE_DIRECTORY_FILE.
    pub const DIRECTORY_FILE: u32 = 0x0000_0001;
    /// FILE_WRITE_THROUGH.
    pub const WRITE_THROUGH: u32 = 0x0000_0002;
    /// FILE_SEQUENTIAL_ONLY.
    pub const SEQUENTIAL_ONLY: u32 = 0x0000_0004;
    /// FILE_NO_INTERMEDIATE_BUFFERING.
    pub const NO_INTERMEDIATE_BUFFERING: u32 = 0x0000_0008;
    /// FILE_SYNCHRONOUS_IO_ALERT.
    pub const SYNCHRONOUS_IO_ALERT: u32 = 0x0000_0010;
    /// FILE_SYNCHRONOUS_IO_NONALERT.
    pub const SYNCHRONOUS_IO_NONALERT: u32 = 0x0000_0020;
    /// FILE_NON_DIRECTORY_FILE.
    pub const NON_DIRECTORY_FILE: u32 = 0x0000_0040;
    /// FILE_COMPLETE_IF_OPLOCKED.
    pub const COMPLETE_IF_OPLOCKED: u32 = 0x0000_0100;
    /// FILE_NO_EA_KNOWLEDGE.
    pub const NO_EA_KNOWLEDGE: u32 = 0x0000_0200;
    /// FILE_OPEN_REMOTE_INSTANCE.
    pub const OPEN_REMOTE_INSTANCE: u32 = 0x0000_0400;
    /// FILE_RANDOM_ACCESS.
    pub const RANDOM_ACCESS: u32 = 0x0000_0800;
    /// FILE_DELETE_ON_CLOSE.
    pub const DELETE_ON_CLOSE: u32 = 0x0000_1000;
    /// FILE_OPEN_BY_FILE_ID.
    pub const OPEN_BY_FILE_ID: u32 = 0x0000_2000;
    /// FILE_OPEN_FOR_BACKUP_INTENT.
    pub const OPEN_FOR_BACKUP_INTENT: u32 = 0x0000_4000;
    /// FILE_NO_COMPRESSION.
    pub const NO_COMPRESSION: u32 = 0x0000_8000;
    /// FILE_OPEN_REQUIRING_OPLOCK.
    pub const OPEN_REQUIRING_OPLOCK: u32 = 0x0001_0000;
    /// FILE_DISALLOW_EXCLUSIVE.
    pub const DISALLOW_EXCLUSIVE: u32 = 0x0002_0000;
    /// FILE_RESERVE_OPFILTER.
    pub const RESERVE_OPFILTER: u32 = 0x0010_0000;
    /// FILE_OPEN_REPARSE_POINT.
    pub const OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    /// FILE_OPEN_NO_RECALL.
    pub const OPEN_NO_RECALL: u32 = 0x0040_0000;
    /// FILE_OPEN_FOR_FREE_SPACE_QUERY.
    pub const OPEN_FOR_FREE_SPACE_QUERY: u32 = 0x0080_0000;
}

/// [MS-SMB2 2.2.13.1] Access mask bits (file, pipe and directory forms; [MS-DTYP 2.4.3]).
#[derive(Debug, Clone, Copy)]
pub struct AccessMask;
impl AccessMask {
    /// FILE_READ_DATA.
    pub const FILE_READ_DATA: u32 = 0x0000_0001;
    /// FILE_LIST_DIRECTORY (directories).
    pub const FILE_LIST_DIRECTORY: u32 = 0x0000_0001;
    /// FILE_WRITE_DATA.
    pub const FILE_WRITE_DATA: u32 = 0x0000_0002;
    /// FILE_ADD_FILE (directories).
    pub const FILE_ADD_FILE: u32 = 0x0000_0002;
    /// FILE_APPEND_DATA.
    pub const FILE_APPEND_DATA: u32 = 0x0000_0004;
    /// FILE_ADD_SUBDIRECTORY (directories).
    pub const FILE_ADD_SUBDIRECTORY: u32 = 0x0000_0004;
    /// FILE_READ_EA.
    pub const FILE_READ_EA: u32 = 0x0000_0008;
    /// FILE_WRITE_EA.
    pub const FILE_WRITE_EA: u32 = 0x0000_0010;
    /// FILE_EXECUTE.
    pub const FILE_EXECUTE: u32 = 0x0000_0020;
    /// FILE_TRAVERSE (directories).
    pub const FILE_TRAVERSE: u32 = 0x0000_0020;
    /// FILE_DELETE_CHILD.
    pub const FILE_DELETE_CHILD: u32 = 0x0000_0040;
    /// FILE_READ_ATTRIBUTES.
    pub const FILE_READ_ATTRIBUTES: u32 = 0x0000_0080;
    /// FILE_WRITE_ATTRIBUTES.
    pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0000_0100;
    /// DELETE.
    pub const DELETE: u32 = 0x0001_0000;
    /// READ_CONTROL.
    pub const READ_CONTROL: u32 = 0x0002_0000;
    /// WRITE_DAC.
    pub const WRITE_DAC: u32 = 0x0004_0000;
    /// WRITE_OWNER.
    pub const WRITE_OWNER: u32 = 0x0008_0000;
    /// SYNCHRONIZE.
    pub const SYNCHRONIZE: u32 = 0x0010_0000;
    /// ACCESS_SYSTEM_SECURITY.
    pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
    /// MAXIMUM_ALLOWED.
    pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
    /// GENERIC_ALL.
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    /// GENERIC_EXECUTE.
    pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
    /// GENERIC_WRITE.
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    /// GENERIC_READ.
    pub const GENERIC_READ: u32 = 0x8000_0000;
    /// FILE_ALL_ACCESS: every specific and standard right for a file.
    pub const FILE_ALL_ACCESS: u32 = 0x001F_01FF;
}

/// [MS-SMB2 2.2.13] ShareAccess bits.
#[derive(Debug, Clone, Copy)]
pub struct ShareAccess;
impl ShareAccess {
    /// FILE_SHARE_READ.
    pub const READ: u32 = 0x0000_0001;
    /// FILE_SHARE_WRITE.
    pub const WRITE: u32 = 0x0000_0002;
    /// FILE_SHARE_DELETE.
    pub const DELETE: u32 = 0x0000_0004;
}

/// [MS-SMB2 2.2.14] CREATE response Flags.
#[derive(Debug, Clone, Copy)]
pub struct CreateResponseFlags;
impl CreateResponseFlags {
    /// SMB2_CREATE_FLAG_REPARSEPOINT.
    pub const REPARSEPOINT: u8 = 0x01;
}

/// [MS-SMB2 2.2.13] SMB2 CREATE Request.
///
/// NameOffset/NameLength and CreateContextsOffset/Length are computed on encode: the name
/// at 0x78, the context list at the next 8-byte boundary. Reserved is written as 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateRequest<'a> {
    /// SecurityFlags (reserved, kept).
    pub security_flags: u8,
    /// RequestedOplockLevel ([`OplockLevel`]).
    pub requested_oplock_level: u8,
    /// ImpersonationLevel ([`ImpersonationLevel`]).
    pub impersonation_level: u32,
    /// SmbCreateFlags (reserved, kept).
    pub smb_create_flags: u64,
    /// DesiredAccess ([`AccessMask`]).
    pub desired_access: u32,
    /// FileAttributes ([`FileAttributes`]).
    pub file_attributes: u32,
    /// ShareAccess ([`ShareAccess`]).
    pub share_access: u32,
    /// CreateDisposition ([`CreateDisposition`]).
    pub create_disposition: u32,
    /// CreateOptions ([`CreateOptions`]).
    pub create_options: u32,
    /// The name, raw UTF-16LE, relative to the share root (the handler validates it).
    pub name: Buf<'a>,
    /// Create contexts.
    pub create_contexts: Vec<CreateContext<'a>>,
}

impl<'a> Decode<'a> for CreateRequest<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "CREATE request");
        r.structure_size(57)?;
        let security_flags = r.u8()?;
        let requested_oplock_level = r.u8()?;
        let impersonation_level = r.u32()?;
        let smb_create_flags = r.u64()?;
        r.skip(8)?;
        let desired_access = r.u32()?;
        let file_attributes = r.u32()?;
        let share_access = r.u32()?;
        let create_disposition = r.u32()?;
        let create_options = r.u32()?;
        let name_off = r.u16()?;
        let name_len = r.u16()?;
        let ctx_off = r.u32()?;
        let ctx_len = r.u32()?;
        let name = msg.buffer(name_off.into(), name_len.into(), "NameOffset")?;
        let ctx = msg.buffer(ctx_off, ctx_len, "CreateContextsOffset")?;
        Ok(Self {
            security_flags,
            requested_oplock_level,
            impersonation_level,
            smb_create_flags,
            desired_access,
            file_attributes,
            share_access,
            create_disposition,
            create_options,
            name: Cow::Borrowed(name),
            create_contexts: decode_create_contexts(ctx)?,
        })
    }
}

impl Encode for CreateRequest<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(57);
        w.u8(self.security_flags);
        w.u8(self.requested_oplock_level);
        w.u32(self.impersonation_level);
        w.u64(self.smb_create_flags);
        w.u64(0);
        w.u32(self.desired_access);
        w.u32(self.file_attributes);
        w.u32(self.share_access);
        w.u32(self.create_disposition);
        w.u32(self.create_options);
        let name_off_at = w.reserve_u16();
        w.u16(sat_u16(self.name.len()));
        let ctx_off_at = w.reserve_u32();
        let ctx_len_at = w.reserve_u32();
        w.patch_u16(name_off_at, sat_u16(w.offset()));
        w.bytes(&self.name);
        if self.create_contexts.is_empty() {
            if self.name.is_empty() {
                // The variable part is at least one byte (StructureSize 57 is odd).
                w.u8(0);
            }
        } else {
            w.align(8);
            let start = w.offset();
            encode_create_contexts(w, &self.create_contexts);
            w.patch_u32(ctx_off_at, start);
            w.patch_u32(ctx_len_at, sat_u32(w.offset().saturating_sub(start)));
        }
    }
}

/// [MS-SMB2 2.2.14] SMB2 CREATE Response. CreateContextsOffset/Length are computed on encode
/// (the list at 0x98); Reserved2 is written as 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateResponse {
    /// OplockLevel ([`OplockLevel`]).
    pub oplock_level: u8,
    /// Flags ([`CreateResponseFlags`]).
    pub flags: u8,
    /// CreateAction ([`CreateAction`]).
    pub create_action: u32,
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
    /// FileId.
    pub file_id: FileId,
    /// Create contexts (owned: the server builds them).
    pub create_contexts: Vec<CreateContext<'static>>,
}

impl<'a> Decode<'a> for CreateResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "CREATE response");
        r.structure_size(89)?;
        let oplock_level = r.u8()?;
        let flags = r.u8()?;
        let create_action = r.u32()?;
        let creation_time = r.u64()?;
        let last_access_time = r.u64()?;
        let last_write_time = r.u64()?;
        let change_time = r.u64()?;
        let allocation_size = r.u64()?;
        let end_of_file = r.u64()?;
        let file_attributes = r.u32()?;
        r.skip(4)?;
        let file_id = FileId::read(&mut r)?;
        let ctx_off = r.u32()?;
        let ctx_len = r.u32()?;
        let ctx = msg.buffer(ctx_off, ctx_len, "CreateContextsOffset")?;
        let create_contexts = decode_create_contexts(ctx)?
            .into_iter()
            .map(CreateContext::into_owned)
            .collect();
        Ok(Self {
            oplock_level,
            flags,
            create_action,
            creation_time,
            last_access_time,
            last_write_time,
            change_time,
            allocation_size,
            end_of_file,
            file_attributes,
            file_id,
            create_contexts,
        })
    }
}

impl Encode for CreateResponse {
    fn encode(&self, w: &mut Writer) {
        w.u16(89);
        w.u8(self.oplock_level);
        w.u8(self.flags);
        w.u32(self.create_action);
        w.u64(self.creation_time);
        w.u64(self.last_access_time);
        w.u64(self.last_write_time);
        w.u64(self.change_time);
        w.u64(self.allocation_size);
        w.u64(self.end_of_file);
        w.u32(self.file_attributes);
        w.u32(0);
        self.file_id.write(w);
        let ctx_off_at = w.reserve_u32();
        let ctx_len_at = w.reserve_u32();
        if self.create_contexts.is_empty() {
            w.u8(0);
        } else {
            w.align(8);
            let start = w.offset();
            encode_create_contexts(w, &self.create_contexts);
            w.patch_u32(ctx_off_at, start);
            w.patch_u32(ctx_len_at, sat_u32(w.offset().saturating_sub(start)));
        }
    }
}
