//! wkssvc (MS-WKST): NetrWkstaGetInfo (opnum 0) on `\PIPE\wkssvc`, levels 100, 101 and 102;
//! level 502 answers ERROR_ACCESS_DENIED, other levels ERROR_INVALID_LEVEL, other opnums fault
//! with `nca_s_op_rng_error`.

use std::sync::Arc;

use super::PipeServerInfo;
use super::rpc::association::RpcService;
use super::rpc::ndr::{
    NdrDecode, NdrEncode, NdrError, NdrMinSize, NdrReader, NdrWriter, decode_ptr_buffers,
    decode_ptr_scalars, decode_top_ptr, encode_ptr_buffers, encode_ptr_scalars, encode_top_ptr,
    pointer_union,
};
use super::rpc::{SyntaxId, WKSSVC, fault};
use super::srvsvc::types::flat_struct;
use super::srvsvc::werror;
use super::srvsvc::{PLATFORM_ID_NT, VERSION_MAJOR, VERSION_MINOR, run};

/// NetrWkstaGetInfo.
pub const OPNUM_NETR_WKSTA_GET_INFO: u16 = 0;

/// The workgroup reported as `wki1xx_langroup`. `PipeServerInfo` carries no domain yet.
pub const DEFAULT_LANGROUP: &str = "WORKGROUP";

/// WKSTA_INFO_100 (MS-WKST 2.2.5.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WkstaInfo100 {
    /// `wki100_platform_id`.
    pub platform_id: u32,
    /// `wki100_computername`.
    pub computer_name: Option<String>,
    /// `wki100_langroup`.
    pub langroup: Option<String>,
    /// `wki100_ver_major`.
    pub ver_major: u32,
    /// `wki100_ver_minor`.
    pub ver_minor: u32,
}
flat_struct!(WkstaInfo100 {
    platform_id: dword,
    computer_name: wstr,
    langroup: wstr,
    ver_major: dword,
    ver_minor: dword,
});

/// WKSTA_INFO_101 (MS-WKST 2.2.5.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WkstaInfo101 {
    /// `wki101_platform_id`.
    pub platform_id: u32,
    /// `wki101_computername`.
    pub computer_name: Option<String>,
    /// `wki101_langroup`.
    pub langroup: Option<String>,
    /// `wki101_ver_major`.
    pub ver_major: u32,
    /// `wki101_ver_minor`.
    pub ver_minor: u32,
    /// `wki101_lanroot`.
    pub lanroot: Option<String>,
}
flat_struct!(WkstaInfo101 {
    platform_id: dword,
    computer_name: wstr,
    langroup: wstr,
    ver_major: dword,
    ver_minor: dword,
    lanroot: wstr,
});

/// WKSTA_INFO_102 (MS-WKST 2.2.5.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WkstaInfo102 {
    /// `wki102_platform_id`.
    pub platform_id: u32,
    /// `wki102_computername`.
    pub computer_name: Option<String>,
    /// `wki102_langroup`.
    pub langroup: Option<String>,
    /// `wki102_ver_major`.
    pub ver_major: u32,
    /// `wki102_ver_minor`.
    pub ver_minor: u32,
    /// `wki102_lanroot`.
    pub lanroot: Option<String>,
    /// `wki102_logged_on_users`.
    pub logged_on_users: u32,
}
flat_struct!(WkstaInfo102 {
    platform_id: dword,
    computer_name: wstr,
    langroup: wstr,
    ver_major: dword,
    ver_minor: dword,
    lanroot: wstr,
    logged_on_users: dword,
});

pointer_union! {
    /// WKSTA_INFO union (MS-WKST 2.2.4.1), the `[out]` of NetrWkstaGetInfo.
    WkstaInfo {
        100 => Info100(WkstaInfo100),
        101 => Info101(WkstaInfo101),
        102 => Info102(WkstaInfo102),
    }
    other_arms: [502, 1013, 1018, 1046]
}

/// NetrWkstaGetInfo `[in]` (MS-WKST 3.2.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrWkstaGetInfoRequest {
    /// `[in, string, unique] WKSSVC_IDENTIFY_HANDLE ServerName`.
    pub server_name: Option<String>,
    /// `[in] unsigned long Level`.
    pub level: u32,
}

impl NdrEncode for NetrWkstaGetInfoRequest {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        encode_top_ptr(w, &self.server_name);
        w.u32(self.level);
    }
}

impl NdrDecode for NetrWkstaGetInfoRequest {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Ok(NetrWkstaGetInfoRequest {
            server_name: decode_top_ptr(r)?,
            level: r.u32()?,
        })
    }
}

/// NetrWkstaGetInfo `[out]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrWkstaGetInfoResponse {
    /// `[out, switch_is(Level)] LPWKSTA_INFO WkstaInfo`.
    pub wksta_info: WkstaInfo,
    /// NET_API_STATUS.
    pub status: u32,
}

impl NdrEncode for NetrWkstaGetInfoResponse {
    fn encode_scalars(&self, w: &mut NdrWriter) {
        self.wksta_info.encode(w);
        w.u32(self.status);
    }
}

impl NdrDecode for NetrWkstaGetInfoResponse {
    fn decode_scalars(r: &mut NdrReader<'_>) -> Result<Self, NdrError> {
        Ok(NetrWkstaGetInfoResponse {
            wksta_info: WkstaInfo::decode(r)?,
            status: r.u32()?,
        })
    }
}

/// The wkssvc endpoint for one pipe instance.
#[derive(Debug, Clone)]
pub struct Wkssvc {
    info: Arc<PipeServerInfo>,
}

impl Wkssvc {
    /// Serves `info`.
    pub fn new(info: Arc<PipeServerInfo>) -> Self {
        Wkssvc { info }
    }

    /// NetrWkstaGetInfo (MS-WKST 3.2.4.1).
    pub fn wksta_get_info(&self, req: &NetrWkstaGetInfoRequest) -> NetrWkstaGetInfoResponse {
        let computer_name = Some(self.info.server_name.clone());
        let langroup = Some(DEFAULT_LANGROUP.to_string());
        let base = WkstaInfo102 {
            platform_id: PLATFORM_ID_NT,
            computer_name,
            langroup,
            ver_major: VERSION_MAJOR,
            ver_minor: VERSION_MINOR,
            lanroot: Some(String::new()),
            logged_on_users: 0,
        };
        let (wksta_info, status) = match req.level {
            100 => (
                WkstaInfo::Info100(Some(WkstaInfo100 {
                    platform_id: base.platform_id,
                    computer_name: base.computer_name,
                    langroup: base.langroup,
                    ver_major: base.ver_major,
                    ver_minor: base.ver_minor,
                })),
                werror::ERROR_SUCCESS,
            ),
            101 => (
                WkstaInfo::Info101(Some(WkstaInfo101 {
                    platform_id: base.platform_id,
                    computer_name: base.computer_name,
                    langroup: base.langroup,
                    ver_major: base.ver_major,
                    ver_minor: base.ver_minor,
                    lanroot: base.lanroot,
                })),
                werror::ERROR_SUCCESS,
            ),
            102 => (WkstaInfo::Info102(Some(base)), werror::ERROR_SUCCESS),
            502 => (WkstaInfo::empty(502), werror::ERROR_ACCESS_DENIED),
            l => (WkstaInfo::empty(l), werror::ERROR_INVALID_LEVEL),
        };
        NetrWkstaGetInfoResponse { wksta_info, status }
    }
}

impl RpcService for Wkssvc {
    fn interface(&self) -> SyntaxId {
        WKSSVC
    }

    fn call(&self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, u32> {
        match opnum {
            OPNUM_NETR_WKSTA_GET_INFO => run(stub, |r| self.wksta_get_info(r)),
            _ => Err(fault::NCA_S_OP_RNG_ERROR),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::ipc::rpc::ndr::{decode_stub, encode_stub};

    #[test]
    fn wksta_get_info_round_trips() {
        let req = NetrWkstaGetInfoRequest {
            server_name: Some("\\\\x".into()),
            level: 100,
        };
        let b = encode_stub(&req);
        assert_eq!(decode_stub::<NetrWkstaGetInfoRequest>(&b).unwrap(), req);
        let svc = Wkssvc::new(Arc::new(PipeServerInfo {
            server_name: "S".into(),
            shares: vec![],
        }));
        for level in [100, 101, 102, 502, 7] {
            let resp = svc.wksta_get_info(&NetrWkstaGetInfoRequest {
                server_name: None,
                level,
            });
            let b = encode_stub(&resp);
            assert_eq!(decode_stub::<NetrWkstaGetInfoResponse>(&b).unwrap(), resp);
            for n in 0..b.len() {
                assert!(decode_stub::<NetrWkstaGetInfoResponse>(&b[..n]).is_err());
            }
        }
    }

    #[test]
    fn wksta_info_100_wire_layout() {
        let svc = Wkssvc::new(Arc::new(PipeServerInfo {
            server_name: "S".into(),
            shares: vec![],
        }));
        let b = encode_stub(&svc.wksta_get_info(&NetrWkstaGetInfoRequest {
            server_name: None,
            level: 100,
        }));
        let r32 = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        // discriminant, -> info, platform, -> name, -> langroup, major, minor
        assert_eq!(
            [r32(0), r32(4), r32(8), r32(12), r32(16), r32(20), r32(24)],
            [100, 0x20000, 500, 0x20004, 0x20008, 10, 0]
        );
        // "S" then "WORKGROUP", then the status.
        assert_eq!([r32(28), r32(32), r32(36)], [2, 0, 2]);
        assert_eq!(&b[40..44], &[b'S', 0, 0, 0]);
        assert_eq!([r32(44), r32(48), r32(52)], [10, 0, 10]);
        assert_eq!(b.len(), 56 + 20 + 4);
        assert_eq!(r32(b.len() - 4), 0);
    }
}
