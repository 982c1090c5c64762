//! MS-SRVS 2.2.4 structures and the NetrShareEnum / NetrShareGetInfo / NetrServerGetInfo
//! parameter lists (MS-SRVS 3.1.4.8, 3.1.4.10, 3.1.4.17), with NDR codecs in both directions.
//!
//! Pointers follow the interface's `pointer_default(unique)`: every `[string] wchar_t*` and
//! every `LP*` member is a unique pointer.

use crate::ipc::rpc::ndr::{
    ConformantArray, NdrDecode, NdrEncode, NdrError, NdrMinSize, NdrReader, NdrWriter,
    decode_ptr_buffers, decode_ptr_scalars, decode_top_ptr, encode_ptr_buffers, encode_ptr_scalars,
    encode_top_ptr, pointer_union,
};

/// Implements the two NDR phases for a flat structure of `DWORD`s and unique string pointers.
macro_rules! flat_struct {
    ($name:ident { $($field:ident : $kind:ident),* $(,)? }) => {
        impl NdrMinSize for $name {
            const MIN_SIZE: usize = 4 * [$(stringify!($field)),*].len();
        }
        impl NdrEncode for $name {
            fn encode_scalars(&self, w: &mut NdrWriter) {
                w.align(4);
                $( flat_struct!(@enc_scalar w, self.$field, $kind); )*
            }
            #[allow(unused_variables)] // structures without strings defer nothing
            fn encode_buffers(&self, w: &mut NdrWriter) {
                $( flat_struct!(@enc_buffer w, self.$field, $kind); )*
            }
        }
        impl NdrDecode for $name {
            fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
                r.align(4)?;
                Ok($name { $( $field: flat_struct!(@dec_scalar r, $kind), )* })
            }
            #[allow(unused_variables)] // structures without strings defer nothing
            fn decode_buffers(&mut self, r: &mut NdrReader<'_>) -> Result<(), NdrError> {
                $( flat_struct!(@dec_buffer r, self.$field, $kind); )*
                Ok(())
            }
        }
    };
    (@enc_scalar $w:ident, $v:expr, dword) => { $w.u32($v) };
    (@enc_scalar $w:ident, $v:expr, wstr) => { encode_ptr_scalars($w, &$v) };
    (@enc_buffer $w:ident, $v:expr, dword) => {};
    (@enc_buffer $w:ident, $v:expr, wstr) => { encode_ptr_buffers($w, &$v) };
    (@dec_scalar $r:ident, dword) => { $r.u32()? };
    (@dec_scalar $r:ident, wstr) => { decode_ptr_scalars::<String>($r)? };
    (@dec_buffer $r:ident, $v:expr, dword) => {};
    (@dec_buffer $r:ident, $v:expr, wstr) => { decode_ptr_buffers($r, &mut $v)? };
}
pub(crate) use flat_struct;

/// SHARE_INFO_0 (MS-SRVS 2.2.4.22).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareInfo0 {
    /// `shi0_netname`.
    pub netname: Option<String>,
}
flat_struct!(ShareInfo0 { netname: wstr });

/// SHARE_INFO_1 (MS-SRVS 2.2.4.23).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareInfo1 {
    /// `shi1_netname`.
    pub netname: Option<String>,
    /// `shi1_type`: STYPE_* (MS-SRVS 2.2.2.4).
    pub share_type: u32,
    /// `shi1_remark`.
    pub remark: Option<String>,
}
flat_struct!(ShareInfo1 {
    netname: wstr,
    share_type: dword,
    remark: wstr
});

/// SHARE_INFO_501 (MS-SRVS 2.2.4.25).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareInfo501 {
    /// `shi501_netname`.
    pub netname: Option<String>,
    /// `shi501_type`.
    pub share_type: u32,
    /// `shi501_remark`.
    pub remark: Option<String>,
    /// `shi501_flags`: client-side caching and other share flags (MS-SRVS 2.2.4.25).
    pub flags: u32,
}
flat_struct!(ShareInfo501 {
    netname: wstr,
    share_type: dword,
    remark: wstr,
    flags: dword
});

/// SHARE_INFO_1004 (MS-SRVS 2.2.4.27): the remark alone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareInfo1004 {
    /// `shi1004_remark`.
    pub remark: Option<String>,
}
flat_struct!(ShareInfo1004 { remark: wstr });

/// SHARE_INFO_1005 (MS-SRVS 2.2.4.29): share flags (client-side caching policy, DFS, …);
/// Windows clients read it when they map a share.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareInfo1005 {
    /// `shi1005_flags`.
    pub flags: u32,
}
flat_struct!(ShareInfo1005 { flags: dword });

/// SHARE_INFO_1006 (MS-SRVS 2.2.4.30): the connection limit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareInfo1006 {
    /// `shi1006_max_uses`: 0xFFFFFFFF = unlimited.
    pub max_uses: u32,
}
flat_struct!(ShareInfo1006 { max_uses: dword });

/// Element type for share levels this server does not enumerate (2, 502, 503): such
/// containers travel with a null `Buffer`, and a non-null one is refused when decoding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unserved;

impl NdrMinSize for Unserved {
    const MIN_SIZE: usize = 4;
}

impl NdrEncode for Unserved {
    fn encode_scalars(&self, _w: &mut NdrWriter) {}
}

impl NdrDecode for Unserved {
    fn decode_scalars(_r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Err(NdrError::Invalid("unsupported info level"))
    }
}

/// SHARE_INFO_x_CONTAINER (MS-SRVS 2.2.4.32 ff.): `EntriesRead` and a pointer to a conformant
/// array `[size_is(EntriesRead)]` of infos.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShareInfoContainer<T> {
    /// `EntriesRead`.
    pub entries_read: u32,
    /// `Buffer`.
    pub buffer: Option<ConformantArray<T>>,
}

impl<T> ShareInfoContainer<T> {
    /// A container holding `infos`.
    pub fn new(infos: Vec<T>) -> Self {
        ShareInfoContainer {
            entries_read: u32::try_from(infos.len()).unwrap_or(u32::MAX), // ok: share lists are small
            buffer: Some(ConformantArray(infos)),
        }
    }

    /// An empty container with a null buffer, as clients send in requests.
    pub fn empty() -> Self {
        ShareInfoContainer {
            entries_read: 0,
            buffer: None,
        }
    }
}

impl<T: NdrEncode> NdrEncode for ShareInfoContainer<T> {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        w.u32(self.entries_read);
        encode_ptr_scalars(w, &self.buffer);
    }
    fn encode_buffers(&self, w: &mut NdrWriter) {
        encode_ptr_buffers(w, &self.buffer);
    }
}

impl<T: NdrDecode + NdrMinSize> NdrDecode for ShareInfoContainer<T> {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Ok(ShareInfoContainer {
            entries_read: r.u32()?,
            buffer: decode_ptr_scalars(r)?,
        })
    }
    fn decode_buffers(&mut self, r: &mut NdrReader<'_>) -> Result<(), NdrError> {
        decode_ptr_buffers(r, &mut self.buffer)?;
        match &self.buffer {
            // size_is(EntriesRead): the conformance must agree with the count.
            Some(a) if u32::try_from(a.0.len()).ok() != Some(self.entries_read) => {
                Err(NdrError::Invalid("EntriesRead does not match the array"))
            }
            _ => Ok(()),
        }
    }
}

pointer_union! {
    /// SHARE_ENUM_UNION (MS-SRVS 2.2.3.5, `[switch_type(DWORD)]`), the arms of
    /// SHARE_ENUM_STRUCT.
    ShareEnumUnion {
        0 => Level0(ShareInfoContainer<ShareInfo0>),
        1 => Level1(ShareInfoContainer<ShareInfo1>),
        2 => Level2(ShareInfoContainer<Unserved>),
        501 => Level501(ShareInfoContainer<ShareInfo501>),
        502 => Level502(ShareInfoContainer<Unserved>),
        503 => Level503(ShareInfoContainer<Unserved>),
    }
    other_arms: []
}

/// SHARE_ENUM_STRUCT (MS-SRVS 2.2.4.38): `Level` and the union switched on it (its
/// discriminant is marshalled again in front of the arm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareEnumStruct {
    /// `Level`.
    pub level: u32,
    /// `ShareInfo`.
    pub share_info: ShareEnumUnion,
}

impl NdrEncode for ShareEnumStruct {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        w.u32(self.level);
        self.share_info.encode_scalars(w);
    }
    fn encode_buffers(&self, w: &mut NdrWriter) {
        self.share_info.encode_buffers(w);
    }
}

impl NdrDecode for ShareEnumStruct {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Ok(ShareEnumStruct {
            level: r.u32()?,
            share_info: ShareEnumUnion::decode_scalars(r)?,
        })
    }
    fn decode_buffers(&mut self, r: &mut NdrReader<'_>) -> Result<(), NdrError> {
        self.share_info.decode_buffers(r)
    }
}

pointer_union! {
    /// SHARE_INFO union (MS-SRVS 2.2.3), the `[out]` of NetrShareGetInfo.
    ShareInfo {
        0 => Info0(ShareInfo0),
        1 => Info1(ShareInfo1),
        501 => Info501(ShareInfo501),
        1004 => Info1004(ShareInfo1004),
        1005 => Info1005(ShareInfo1005),
        1006 => Info1006(ShareInfo1006),
    }
    other_arms: [2, 502, 503, 1501]
}

/// SERVER_INFO_100 (MS-SRVS 2.2.4.40).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerInfo100 {
    /// `sv100_platform_id`: PLATFORM_ID_NT = 500.
    pub platform_id: u32,
    /// `sv100_name`.
    pub name: Option<String>,
}
flat_struct!(ServerInfo100 {
    platform_id: dword,
    name: wstr
});

/// SERVER_INFO_101 (MS-SRVS 2.2.4.41).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerInfo101 {
    /// `sv101_platform_id`.
    pub platform_id: u32,
    /// `sv101_name`.
    pub name: Option<String>,
    /// `sv101_version_major`.
    pub version_major: u32,
    /// `sv101_version_minor`.
    pub version_minor: u32,
    /// `sv101_type`: SV_TYPE_* bits (MS-SRVS 2.2.2.7).
    pub server_type: u32,
    /// `sv101_comment`.
    pub comment: Option<String>,
}
flat_struct!(ServerInfo101 {
    platform_id: dword,
    name: wstr,
    version_major: dword,
    version_minor: dword,
    server_type: dword,
    comment: wstr,
});

pointer_union! {
    /// SERVER_INFO union (MS-SRVS 2.2.3), the `[out]` of NetrServerGetInfo.
    ServerInfo {
        100 => Info100(ServerInfo100),
        101 => Info101(ServerInfo101),
    }
    other_arms: [
        102, 103, 502, 503, 599, 1005, 1107, 1010, 1016, 1017, 1018, 1501, 1502, 1503, 1506,
        1510, 1511, 1512, 1513, 1514, 1515, 1516, 1518, 1523, 1528, 1529, 1530, 1533, 1534, 1535,
        1536, 1538, 1539, 1540, 1541, 1542, 1543, 1544, 1545, 1546, 1547, 1548, 1549, 1550, 1552,
        1553, 1554, 1555, 1556,
    ]
}

/// NetrShareEnum `[in]` (opnum 15, MS-SRVS 3.1.4.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrShareEnumRequest {
    /// `[in, string, unique] SRVSVC_HANDLE ServerName`.
    pub server_name: Option<String>,
    /// `[in, out] LPSHARE_ENUM_STRUCT InfoStruct` (top-level ref: no referent id).
    pub info_struct: ShareEnumStruct,
    /// `[in] DWORD PreferedMaximumLength`.
    pub prefered_maximum_length: u32,
    /// `[in, out, unique] DWORD* ResumeHandle`.
    pub resume_handle: Option<u32>,
}

impl NdrEncode for NetrShareEnumRequest {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        encode_top_ptr(w, &self.server_name);
        self.info_struct.encode(w);
        w.u32(self.prefered_maximum_length);
        encode_top_ptr(w, &self.resume_handle);
    }
}

impl NdrDecode for NetrShareEnumRequest {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Ok(NetrShareEnumRequest {
            server_name: decode_top_ptr(r)?,
            info_struct: ShareEnumStruct::decode(r)?,
            prefered_maximum_length: r.u32()?,
            resume_handle: decode_top_ptr(r)?,
        })
    }
}

/// NetrShareEnum `[out]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrShareEnumResponse {
    /// `InfoStruct`.
    pub info_struct: ShareEnumStruct,
    /// `[out] DWORD* TotalEntries` (top-level ref).
    pub total_entries: u32,
    /// `ResumeHandle`.
    pub resume_handle: Option<u32>,
    /// NET_API_STATUS return value.
    pub status: u32,
}

impl NdrEncode for NetrShareEnumResponse {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        self.info_struct.encode(w);
        w.u32(self.total_entries);
        encode_top_ptr(w, &self.resume_handle);
        w.u32(self.status);
    }
}

impl NdrDecode for NetrShareEnumResponse {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Ok(NetrShareEnumResponse {
            info_struct: ShareEnumStruct::decode(r)?,
            total_entries: r.u32()?,
            resume_handle: decode_top_ptr(r)?,
            status: r.u32()?,
        })
    }
}

/// NetrShareGetInfo `[in]` (opnum 16, MS-SRVS 3.1.4.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrShareGetInfoRequest {
    /// `ServerName`.
    pub server_name: Option<String>,
    /// `[in, string] WCHAR* NetName` (top-level ref string).
    pub net_name: String,
    /// `[in] DWORD Level`.
    pub level: u32,
}

impl NdrEncode for NetrShareGetInfoRequest {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        encode_top_ptr(w, &self.server_name);
        w.wstr(&self.net_name);
        w.u32(self.level);
    }
}

impl NdrDecode for NetrShareGetInfoRequest {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Ok(NetrShareGetInfoRequest {
            server_name: decode_top_ptr(r)?,
            net_name: r.wstr()?,
            level: r.u32()?,
        })
    }
}

/// NetrShareGetInfo `[out]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrShareGetInfoResponse {
    /// `[out, switch_is(Level)] LPSHARE_INFO InfoStruct`.
    pub info_struct: ShareInfo,
    /// NET_API_STATUS.
    pub status: u32,
}

impl NdrEncode for NetrShareGetInfoResponse {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        self.info_struct.encode(w);
        w.u32(self.status);
    }
}

impl NdrDecode for NetrShareGetInfoResponse {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Ok(NetrShareGetInfoResponse {
            info_struct: ShareInfo::decode(r)?,
            status: r.u32()?,
        })
    }
}

/// NetrServerGetInfo `[in]` (opnum 21, MS-SRVS 3.1.4.17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrServerGetInfoRequest {
    /// `ServerName`.
    pub server_name: Option<String>,
    /// `[in] DWORD Level`.
    pub level: u32,
}

impl NdrEncode for NetrServerGetInfoRequest {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        encode_top_ptr(w, &self.server_name);
        w.u32(self.level);
    }
}

impl NdrDecode for NetrServerGetInfoRequest {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Ok(NetrServerGetInfoRequest {
            server_name: decode_top_ptr(r)?,
            level: r.u32()?,
        })
    }
}

/// NetrServerGetInfo `[out]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrServerGetInfoResponse {
    /// `[out, switch_is(Level)] LPSERVER_INFO InfoStruct`.
    pub info_struct: ServerInfo,
    /// NET_API_STATUS.
    pub status: u32,
}

impl NdrEncode for NetrServerGetInfoResponse {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        self.info_struct.encode(w);
        w.u32(self.status);
    }
}

impl NdrDecode for NetrServerGetInfoResponse {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Ok(NetrServerGetInfoResponse {
            info_struct: ServerInfo::decode(r)?,
            status: r.u32()?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::ipc::rpc::ndr::{decode_stub, encode_stub};
    use std::fmt::Debug;

    /// Encode → decode is the identity, and every strict prefix fails to decode.
    fn round_trip<T: NdrEncode + NdrDecode + PartialEq + Debug>(v: &T) -> Vec<u8> {
        let b = encode_stub(v);
        assert_eq!(&decode_stub::<T>(&b).unwrap(), v);
        for n in 0..b.len() {
            assert!(decode_stub::<T>(&b[..n]).is_err(), "prefix {n} of {v:?}");
        }
        b
    }

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    #[test]
    fn share_enum_round_trips() {
        round_trip(&NetrShareEnumRequest {
            server_name: s("\\\\srv"),
            info_struct: ShareEnumStruct {
                level: 1,
                share_info: ShareEnumUnion::Level1(Some(ShareInfoContainer::empty())),
            },
            prefered_maximum_length: u32::MAX,
            resume_handle: Some(0),
        });
        round_trip(&NetrShareEnumRequest {
            server_name: None,
            info_struct: ShareEnumStruct {
                level: 502,
                share_info: ShareEnumUnion::Level502(Some(ShareInfoContainer::empty())),
            },
            prefered_maximum_length: 100,
            resume_handle: None,
        });
        let infos = vec![
            ShareInfo1 {
                netname: s("IPC$"),
                share_type: 0x8000_0003,
                remark: s("IPC"),
            },
            ShareInfo1 {
                netname: None,
                share_type: 0,
                remark: s(""),
            },
        ];
        round_trip(&NetrShareEnumResponse {
            info_struct: ShareEnumStruct {
                level: 1,
                share_info: ShareEnumUnion::Level1(Some(ShareInfoContainer::new(infos))),
            },
            total_entries: 2,
            resume_handle: Some(0),
            status: 0,
        });
        round_trip(&NetrShareEnumResponse {
            info_struct: ShareEnumStruct {
                level: 501,
                share_info: ShareEnumUnion::Level501(Some(ShareInfoContainer::new(vec![
                    ShareInfo501 {
                        netname: s("a"),
                        share_type: 0,
                        remark: s("b"),
                        flags: 0x30,
                    },
                ]))),
            },
            total_entries: 1,
            resume_handle: None,
            status: 0,
        });
        round_trip(&NetrShareEnumResponse {
            info_struct: ShareEnumStruct {
                level: 0,
                share_info: ShareEnumUnion::Level0(None),
            },
            total_entries: 0,
            resume_handle: None,
            status: 5,
        });
    }

    #[test]
    fn get_info_round_trips() {
        round_trip(&NetrShareGetInfoRequest {
            server_name: None,
            net_name: "IPC$".into(),
            level: 1,
        });
        round_trip(&NetrShareGetInfoResponse {
            info_struct: ShareInfo::Info1(Some(ShareInfo1 {
                netname: s("x"),
                share_type: 0,
                remark: None,
            })),
            status: 0,
        });
        round_trip(&NetrShareGetInfoResponse {
            info_struct: ShareInfo::NullArm(1501),
            status: 124,
        });
        round_trip(&NetrShareGetInfoResponse {
            info_struct: ShareInfo::NoArm(77),
            status: 124,
        });
        round_trip(&NetrServerGetInfoRequest {
            server_name: s("\\\\x"),
            level: 101,
        });
        round_trip(&NetrServerGetInfoResponse {
            info_struct: ServerInfo::Info101(Some(ServerInfo101 {
                platform_id: 500,
                name: s("SRV"),
                version_major: 10,
                version_minor: 0,
                server_type: 0x1003,
                comment: s("c"),
            })),
            status: 0,
        });
        round_trip(&NetrServerGetInfoResponse {
            info_struct: ServerInfo::Info100(Some(ServerInfo100 {
                platform_id: 500,
                name: None,
            })),
            status: 0,
        });
    }

    #[test]
    fn server_info_100_wire_layout() {
        // MS-SRVS IDL + NDR: discriminant, referent, then the pointee's scalars, then its
        // deferred string, then the return value.
        let b = encode_stub(&NetrServerGetInfoResponse {
            info_struct: ServerInfo::Info100(Some(ServerInfo100 {
                platform_id: 500,
                name: s("AB"),
            })),
            status: 0,
        });
        let expect: Vec<u8> = [
            &100u32.to_le_bytes()[..],
            &0x20000u32.to_le_bytes(),
            &500u32.to_le_bytes(),
            &0x20004u32.to_le_bytes(),
            &[
                3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, b'A', 0, b'B', 0, 0, 0, 0, 0,
            ],
            &0u32.to_le_bytes(),
        ]
        .concat();
        assert_eq!(b, expect);
    }

    #[test]
    fn non_null_buffer_for_unserved_level_is_refused() {
        let mut w = NdrWriter::new();
        w.u32(2); // Level
        w.u32(2); // discriminant
        w.pointer(true); // container
        w.u32(1); // EntriesRead
        w.pointer(true); // Buffer: SHARE_INFO_2 array we do not parse
        w.u32(1);
        w.u32(0);
        assert_eq!(
            decode_stub::<ShareEnumStruct>(&w.into_bytes()),
            Err(NdrError::Invalid("unsupported info level"))
        );
    }

    #[test]
    fn entries_read_must_match_conformance() {
        let mut w = NdrWriter::new();
        w.u32(0);
        w.u32(0);
        w.pointer(true);
        w.u32(2); // EntriesRead 2
        w.pointer(true);
        w.u32(1); // but one element
        w.pointer(false);
        assert!(decode_stub::<ShareEnumStruct>(&w.into_bytes()).is_err());
    }
}
