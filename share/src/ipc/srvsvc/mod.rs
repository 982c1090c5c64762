//! srvsvc (MS-SRVS): share enumeration and server information on `\PIPE\srvsvc`.
//!
//! Served: NetrShareEnum (opnum 15, and NetrShareEnumSticky 36 with the same signature) at
//! levels 0, 1 and 501; NetrShareGetInfo (16) at 0, 1, 501, 1004, 1005 and 1006;
//! NetrServerGetInfo (21) at 100 and 101. Administrative levels (share 2/502/503/1501, server
//! 102/103/502/503/599) answer
//! ERROR_ACCESS_DENIED as Windows does for non-administrators; anything else
//! ERROR_INVALID_LEVEL. Unknown opnums fault with `nca_s_op_rng_error`.

pub mod types;

use std::sync::Arc;

use super::PipeServerInfo;
use super::rpc::association::RpcService;
use super::rpc::ndr::{NdrDecode, NdrEncode, decode_stub, encode_stub};
use super::rpc::{SRVSVC, SyntaxId, fault};
use types::*;

/// NET_API_STATUS / WERROR values (MS-ERREF 2.2, MS-SRVS 3.1.4).
pub mod werror {
    /// Success.
    pub const ERROR_SUCCESS: u32 = 0;
    /// The caller may not read this level.
    pub const ERROR_ACCESS_DENIED: u32 = 5;
    /// `WERR_UNKNOWN_LEVEL`: the information level is not valid.
    pub const ERROR_INVALID_LEVEL: u32 = 124;
    /// More entries are available than were returned.
    pub const ERROR_MORE_DATA: u32 = 234;
    /// `NERR_NetNameNotFound`: no such share.
    pub const NERR_NET_NAME_NOT_FOUND: u32 = 2310;
}

/// Operation numbers (MS-SRVS 3.1.4).
pub mod opnum {
    /// NetrShareEnum.
    pub const NETR_SHARE_ENUM: u16 = 15;
    /// NetrShareGetInfo.
    pub const NETR_SHARE_GET_INFO: u16 = 16;
    /// NetrServerGetInfo.
    pub const NETR_SERVER_GET_INFO: u16 = 21;
    /// NetrShareEnumSticky: same parameters as NetrShareEnum.
    pub const NETR_SHARE_ENUM_STICKY: u16 = 36;
}

/// PLATFORM_ID_NT (MS-SRVS 2.2.2.6).
pub const PLATFORM_ID_NT: u32 = 500;
/// SV_TYPE_WORKSTATION | SV_TYPE_SERVER | SV_TYPE_SERVER_NT (MS-SRVS 2.2.2.7), what Samba
/// announces for a standalone file server.
pub const SERVER_TYPE: u32 = 0x0000_1003;
/// Reported OS version 10.0.
pub const VERSION_MAJOR: u32 = 10;
/// Reported OS version 10.0.
pub const VERSION_MINOR: u32 = 0;

/// The srvsvc endpoint for one pipe instance.
#[derive(Debug, Clone)]
pub struct Srvsvc {
    info: Arc<PipeServerInfo>,
}

impl Srvsvc {
    /// Serves `info`.
    pub fn new(info: Arc<PipeServerInfo>) -> Self {
        Srvsvc { info }
    }

    /// NetrShareEnum (MS-SRVS 3.1.4.8). `ResumeHandle` is the index of the first entry to
    /// return. With `MAX_PREFERRED_LENGTH` every remaining entry is returned; otherwise as many
    /// as fit `PreferedMaximumLength` (measured as their NDR size, at least one entry so the
    /// client always progresses), with ERROR_MORE_DATA and the next index as resume handle
    /// (MS-SRVS 4.1). The handle comes back 0 once the enumeration is complete.
    pub fn share_enum(&self, req: &NetrShareEnumRequest) -> NetrShareEnumResponse {
        let shares = &self.info.shares;
        let level = req.info_struct.share_info.level();
        let start = req
            .resume_handle
            .and_then(|h| usize::try_from(h).ok())
            .unwrap_or(0);
        let remaining = shares.get(start..).unwrap_or(&[]);
        let take = fitting_entries(remaining, level, req.prefered_maximum_length);
        let picked = remaining.get(..take).unwrap_or(remaining);
        let more = take < remaining.len();
        let (share_info, status) = match level {
            0 => (
                ShareEnumUnion::Level0(Some(ShareInfoContainer::new(
                    picked.iter().map(info0).collect(),
                ))),
                werror::ERROR_SUCCESS,
            ),
            1 => (
                ShareEnumUnion::Level1(Some(ShareInfoContainer::new(
                    picked.iter().map(info1).collect(),
                ))),
                werror::ERROR_SUCCESS,
            ),
            501 => (
                ShareEnumUnion::Level501(Some(ShareInfoContainer::new(
                    picked.iter().map(info501).collect(),
                ))),
                werror::ERROR_SUCCESS,
            ),
            2 | 502 | 503 => (ShareEnumUnion::empty(level), werror::ERROR_ACCESS_DENIED),
            _ => (ShareEnumUnion::empty(level), werror::ERROR_INVALID_LEVEL),
        };
        if status != werror::ERROR_SUCCESS {
            return NetrShareEnumResponse {
                info_struct: ShareEnumStruct { level, share_info },
                total_entries: 0,
                resume_handle: req.resume_handle,
                status,
            };
        }
        let next = if more { start.saturating_add(take) } else { 0 };
        NetrShareEnumResponse {
            info_struct: ShareEnumStruct { level, share_info },
            total_entries: u32::try_from(shares.len()).unwrap_or(u32::MAX),
            resume_handle: req.resume_handle.map(|_| u32::try_from(next).unwrap_or(0)),
            status: if more {
                werror::ERROR_MORE_DATA
            } else {
                werror::ERROR_SUCCESS
            },
        }
    }

    /// NetrShareGetInfo (MS-SRVS 3.1.4.10): share names compare case-insensitively.
    pub fn share_get_info(&self, req: &NetrShareGetInfoRequest) -> NetrShareGetInfoResponse {
        let level = req.level;
        let err = |status| NetrShareGetInfoResponse {
            info_struct: ShareInfo::empty(level),
            status,
        };
        match level {
            0 | 1 | 501 | 1004 | 1005 | 1006 => {}
            // Path, permissions and security descriptor levels are for administrators.
            2 | 502 | 503 | 1501 => return err(werror::ERROR_ACCESS_DENIED),
            _ => return err(werror::ERROR_INVALID_LEVEL),
        }
        let wanted = req.net_name.to_lowercase();
        let Some(share) = self
            .info
            .shares
            .iter()
            .find(|s| s.name.to_lowercase() == wanted)
        else {
            return err(werror::NERR_NET_NAME_NOT_FOUND);
        };
        let info_struct = match level {
            0 => ShareInfo::Info0(Some(info0(share))),
            1 => ShareInfo::Info1(Some(info1(share))),
            501 => ShareInfo::Info501(Some(info501(share))),
            1004 => ShareInfo::Info1004(Some(ShareInfo1004 {
                remark: Some(share.comment.clone()),
            })),
            1005 => ShareInfo::Info1005(Some(ShareInfo1005 { flags: 0 })),
            _ => ShareInfo::Info1006(Some(ShareInfo1006 { max_uses: u32::MAX })),
        };
        NetrShareGetInfoResponse {
            info_struct,
            status: werror::ERROR_SUCCESS,
        }
    }

    /// NetrServerGetInfo (MS-SRVS 3.1.4.17).
    pub fn server_get_info(&self, req: &NetrServerGetInfoRequest) -> NetrServerGetInfoResponse {
        let name = Some(self.info.server_name.clone());
        let (info_struct, status) = match req.level {
            100 => (
                ServerInfo::Info100(Some(ServerInfo100 {
                    platform_id: PLATFORM_ID_NT,
                    name,
                })),
                werror::ERROR_SUCCESS,
            ),
            101 => (
                ServerInfo::Info101(Some(ServerInfo101 {
                    platform_id: PLATFORM_ID_NT,
                    name,
                    version_major: VERSION_MAJOR,
                    version_minor: VERSION_MINOR,
                    server_type: SERVER_TYPE,
                    comment: Some(String::new()),
                })),
                werror::ERROR_SUCCESS,
            ),
            l @ (102 | 103 | 502 | 503 | 599) => {
                (ServerInfo::empty(l), werror::ERROR_ACCESS_DENIED)
            }
            l => (ServerInfo::empty(l), werror::ERROR_INVALID_LEVEL),
        };
        NetrServerGetInfoResponse {
            info_struct,
            status,
        }
    }
}

/// `PreferedMaximumLength` value meaning "everything" (MS-SRVS 2.2.2.2).
pub const MAX_PREFERRED_LENGTH: u32 = 0xFFFF_FFFF;

/// How many of `shares` to return at `level` within `pref_max` bytes (see
/// [`Srvsvc::share_enum`]).
fn fitting_entries(shares: &[super::PipeShareInfo], level: u32, pref_max: u32) -> usize {
    if pref_max == MAX_PREFERRED_LENGTH {
        return shares.len();
    }
    // NDR size of a conformant varying string: three counts, UTF-16 units + NUL, padding.
    let wstr = |s: &str| (12 + 2 * (s.encode_utf16().count() + 1)).next_multiple_of(4);
    let budget = usize::try_from(pref_max).unwrap_or(usize::MAX);
    let mut used = 0usize;
    let mut n = 0usize;
    for s in shares {
        let cost = match level {
            0 => 4 + wstr(&s.name),
            1 => 12 + wstr(&s.name) + wstr(&s.comment),
            _ => 16 + wstr(&s.name) + wstr(&s.comment),
        };
        used = used.saturating_add(cost);
        if n > 0 && used > budget {
            break;
        }
        n += 1;
    }
    n
}

fn info0(s: &super::PipeShareInfo) -> ShareInfo0 {
    ShareInfo0 {
        netname: Some(s.name.clone()),
    }
}

fn info1(s: &super::PipeShareInfo) -> ShareInfo1 {
    ShareInfo1 {
        netname: Some(s.name.clone()),
        share_type: s.share_type,
        remark: Some(s.comment.clone()),
    }
}

fn info501(s: &super::PipeShareInfo) -> ShareInfo501 {
    ShareInfo501 {
        netname: Some(s.name.clone()),
        share_type: s.share_type,
        remark: Some(s.comment.clone()),
        flags: 0, // CSC_CACHE_MANUAL_REINT, no other flags
    }
}

/// Decodes the `[in]` stub, runs `f`, encodes the `[out]` stub; bad stub data is a fault.
pub(crate) fn run<Req: NdrDecode, Resp: NdrEncode>(
    stub: &[u8],
    f: impl FnOnce(&Req) -> Resp,
) -> Result<Vec<u8>, u32> {
    let req = decode_stub::<Req>(stub).map_err(|_| fault::NCA_S_FAULT_NDR)?;
    Ok(encode_stub(&f(&req)))
}

impl RpcService for Srvsvc {
    fn interface(&self) -> SyntaxId {
        SRVSVC
    }

    fn call(&self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, u32> {
        match opnum {
            opnum::NETR_SHARE_ENUM | opnum::NETR_SHARE_ENUM_STICKY => {
                run(stub, |r| self.share_enum(r))
            }
            opnum::NETR_SHARE_GET_INFO => run(stub, |r| self.share_get_info(r)),
            opnum::NETR_SERVER_GET_INFO => run(stub, |r| self.server_get_info(r)),
            _ => Err(fault::NCA_S_OP_RNG_ERROR),
        }
    }
}
