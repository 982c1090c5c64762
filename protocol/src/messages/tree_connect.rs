//! [MS-SMB2 2.2.9] TREE_CONNECT request (with the [2.2.9.1] extension) and [MS-SMB2 2.2.10]
//! TREE_CONNECT response.
//!
//! [MS-SMB2 2.2.9]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/832d2130-22e8-4afb-aafd-b30bb0901798
//! [2.2.9.1]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/9ca7328b-b6ca-41a7-9773-0fa237261b76
//! [MS-SMB2 2.2.10]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/dd34e26c-a75e-47fa-aab2-6efc27502e96

use crate::codec::{
    Decode, DecodeError, DecodeResult, Encode, Message, Reader, Writer, sat_u16, sat_u32,
    string_to_utf16le, utf16le_to_string,
};
use crate::negotiate_context::{decode_context_list, encode_context};

/// [MS-SMB2 2.2.9] TREE_CONNECT request Flags (3.1.1).
#[derive(Debug, Clone, Copy)]
pub struct TreeConnectFlags;
impl TreeConnectFlags {
    /// SMB2_TREE_CONNECT_FLAG_CLUSTER_RECONNECT.
    pub const CLUSTER_RECONNECT: u16 = 0x0001;
    /// SMB2_TREE_CONNECT_FLAG_REDIRECT_TO_OWNER.
    pub const REDIRECT_TO_OWNER: u16 = 0x0002;
    /// SMB2_TREE_CONNECT_FLAG_EXTENSION_PRESENT: the Buffer starts with the [2.2.9.1] extension.
    pub const EXTENSION_PRESENT: u16 = 0x0004;
}

/// [MS-SMB2 2.2.10] ShareType.
#[derive(Debug, Clone, Copy)]
pub struct ShareType;
impl ShareType {
    /// SMB2_SHARE_TYPE_DISK.
    pub const DISK: u8 = 0x01;
    /// SMB2_SHARE_TYPE_PIPE.
    pub const PIPE: u8 = 0x02;
    /// SMB2_SHARE_TYPE_PRINT.
    pub const PRINT: u8 = 0x03;
}

/// [MS-SMB2 2.2.10] ShareFlags (the caching policy is the 0x30 field, the rest are bits).
#[derive(Debug, Clone, Copy)]
pub struct ShareFlags;
impl ShareFlags {
    /// SMB2_SHAREFLAG_MANUAL_CACHING.
    pub const MANUAL_CACHING: u32 = 0x0000_0000;
    /// SMB2_SHAREFLAG_AUTO_CACHING.
    pub const AUTO_CACHING: u32 = 0x0000_0010;
    /// SMB2_SHAREFLAG_VDO_CACHING.
    pub const VDO_CACHING: u32 = 0x0000_0020;
    /// SMB2_SHAREFLAG_NO_CACHING.
    pub const NO_CACHING: u32 = 0x0000_0030;
    /// Mask of the caching policy field.
    pub const CACHING_MASK: u32 = 0x0000_0030;
    /// SMB2_SHAREFLAG_DFS.
    pub const DFS: u32 = 0x0000_0001;
    /// SMB2_SHAREFLAG_DFS_ROOT.
    pub const DFS_ROOT: u32 = 0x0000_0002;
    /// SMB2_SHAREFLAG_RESTRICT_EXCLUSIVE_OPENS.
    pub const RESTRICT_EXCLUSIVE_OPENS: u32 = 0x0000_0100;
    /// SMB2_SHAREFLAG_FORCE_SHARED_DELETE.
    pub const FORCE_SHARED_DELETE: u32 = 0x0000_0200;
    /// SMB2_SHAREFLAG_ALLOW_NAMESPACE_CACHING.
    pub const ALLOW_NAMESPACE_CACHING: u32 = 0x0000_0400;
    /// SMB2_SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM.
    pub const ACCESS_BASED_DIRECTORY_ENUM: u32 = 0x0000_0800;
    /// SMB2_SHAREFLAG_FORCE_LEVELII_OPLOCK.
    pub const FORCE_LEVELII_OPLOCK: u32 = 0x0000_1000;
    /// SMB2_SHAREFLAG_ENABLE_HASH_V1.
    pub const ENABLE_HASH_V1: u32 = 0x0000_2000;
    /// SMB2_SHAREFLAG_ENABLE_HASH_V2.
    pub const ENABLE_HASH_V2: u32 = 0x0000_4000;
    /// SMB2_SHAREFLAG_ENCRYPT_DATA.
    pub const ENCRYPT_DATA: u32 = 0x0000_8000;
    /// SMB2_SHAREFLAG_IDENTITY_REMOTING.
    pub const IDENTITY_REMOTING: u32 = 0x0004_0000;
    /// SMB2_SHAREFLAG_COMPRESS_DATA.
    pub const COMPRESS_DATA: u32 = 0x0010_0000;
    /// SMB2_SHAREFLAG_ISOLATED_TRANSPORT.
    pub const ISOLATED_TRANSPORT: u32 = 0x0020_0000;
}

/// [MS-SMB2 2.2.10] share Capabilities.
#[derive(Debug, Clone, Copy)]
pub struct ShareCapabilities;
impl ShareCapabilities {
    /// SMB2_SHARE_CAP_DFS.
    pub const DFS: u32 = 0x0000_0008;
    /// SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY.
    pub const CONTINUOUS_AVAILABILITY: u32 = 0x0000_0010;
    /// SMB2_SHARE_CAP_SCALEOUT.
    pub const SCALEOUT: u32 = 0x0000_0020;
    /// SMB2_SHARE_CAP_CLUSTER.
    pub const CLUSTER: u32 = 0x0000_0040;
    /// SMB2_SHARE_CAP_ASYMMETRIC.
    pub const ASYMMETRIC: u32 = 0x0000_0080;
    /// SMB2_SHARE_CAP_REDIRECT_TO_OWNER.
    pub const REDIRECT_TO_OWNER: u32 = 0x0000_0100;
}

/// [MS-SMB2 2.2.9.2] One SMB2_TREE_CONNECT_CONTEXT, kept raw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeConnectContext {
    /// ContextType (1 = SMB2_REMOTED_IDENTITY_TREE_CONNECT_CONTEXT_ID).
    pub context_type: u16,
    /// Data.
    pub data: Vec<u8>,
}

/// [MS-SMB2 2.2.9] SMB2 TREE_CONNECT Request.
///
/// PathOffset/PathLength (and, with the extension, TreeConnectContextOffset/Count) are
/// computed on encode. The extension is written iff `flags` has `EXTENSION_PRESENT`.
/// TreeConnectContextOffset is written as an offset from the SMB2 header, like every other
/// offset of the message, and read that way unless it is below 64 (then it counts from the
/// start of the body: the spec's wording allows both).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeConnectRequest {
    /// Flags ([`TreeConnectFlags`]; Reserved before 3.1.1).
    pub flags: u16,
    /// The share path `\\server\share`.
    pub path: String,
    /// Tree connect contexts (only with `EXTENSION_PRESENT`).
    pub tree_connect_contexts: Vec<TreeConnectContext>,
}

impl<'a> Decode<'a> for TreeConnectRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "TREE_CONNECT request");
        r.structure_size(9)?;
        let flags = r.u16()?;
        let path_off = r.u16()?;
        let path_len = r.u16()?;
        let mut tree_connect_contexts = Vec::new();
        if flags & TreeConnectFlags::EXTENSION_PRESENT != 0 {
            let ctx_off = r.u32()?;
            let ctx_count = r.u16()?;
            r.skip(10)?;
            if ctx_count > 0 {
                // MS-SMB2 says "from the start of the SMB2 TREE_CONNECT request", which reads
                // as either the header or the body; a value below 64 can only mean the body.
                let ctx_off = if (ctx_off as usize) < crate::header::HEADER_SIZE {
                    ctx_off + crate::header::HEADER_SIZE as u32
                } else {
                    ctx_off
                };
                let list = msg.tail(ctx_off, "TreeConnectContextOffset")?;
                for (context_type, data) in
                    decode_context_list(list, ctx_off, ctx_count, "tree connect context")?
                {
                    tree_connect_contexts.push(TreeConnectContext {
                        context_type,
                        data: data.to_vec(),
                    });
                }
            }
        }
        let raw = msg.buffer(path_off.into(), path_len.into(), "PathOffset")?;
        let path = utf16le_to_string(raw).ok_or(DecodeError::Invalid {
            what: "TREE_CONNECT path",
        })?;
        Ok(Self {
            flags,
            path,
            tree_connect_contexts,
        })
    }
}

impl Encode for TreeConnectRequest {
    fn encode(&self, w: &mut Writer) {
        let path = string_to_utf16le(&self.path);
        w.u16(9);
        w.u16(self.flags);
        let off_at = w.reserve_u16();
        w.u16(sat_u16(path.len()));
        let ext = self.flags & TreeConnectFlags::EXTENSION_PRESENT != 0;
        let mut ctx_off_at = None;
        if ext {
            ctx_off_at = Some(w.reserve_u32());
            w.u16(sat_u16(self.tree_connect_contexts.len()));
            w.zeros(10);
        }
        w.patch_u16(off_at, sat_u16(w.offset()));
        w.bytes(&path);
        if let Some(at) = ctx_off_at
            && !self.tree_connect_contexts.is_empty()
        {
            w.align(8);
            w.patch_u32(at, sat_u32(w.offset()));
            for c in &self.tree_connect_contexts {
                encode_context(w, c.context_type, &c.data);
            }
        }
        if path.is_empty() && !ext {
            w.u8(0);
        }
    }
}

/// [MS-SMB2 2.2.10] SMB2 TREE_CONNECT Response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeConnectResponse {
    /// ShareType ([`ShareType`]).
    pub share_type: u8,
    /// ShareFlags ([`ShareFlags`]).
    pub share_flags: u32,
    /// Capabilities ([`ShareCapabilities`]).
    pub capabilities: u32,
    /// MaximalAccess (an access mask).
    pub maximal_access: u32,
}

impl<'a> Decode<'a> for TreeConnectResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "TREE_CONNECT response");
        r.structure_size(16)?;
        let share_type = r.u8()?;
        r.skip(1)?;
        Ok(Self {
            share_type,
            share_flags: r.u32()?,
            capabilities: r.u32()?,
            maximal_access: r.u32()?,
        })
    }
}

impl Encode for TreeConnectResponse {
    fn encode(&self, w: &mut Writer) {
        w.u16(16);
        w.u8(self.share_type);
        w.u8(0);
        w.u32(self.share_flags);
        w.u32(self.capabilities);
        w.u32(self.maximal_access);
    }
}
