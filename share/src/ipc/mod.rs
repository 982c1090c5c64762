//! IPC$: named pipes carrying DCE/RPC (srvsvc, wkssvc).
//!
//! The share handlers open a [`Pipe`] for a CREATE on IPC$ with [`open_pipe`], then map SMB2
//! WRITE, READ and FSCTL_PIPE_TRANSCEIVE onto [`Pipe::write`], [`Pipe::read`] and
//! [`Pipe::transceive`]. Everything below is pure and synchronous: no I/O, no keys.
//!
//! Layout: `rpc/` holds the DCE/RPC connection-oriented PDUs (`pdu`), presentation context
//! negotiation (`bind`), the per-pipe association state machine with fragment reassembly
//! (`association`) and NDR 2.0 (`ndr`); `srvsvc/` and `wkssvc` are the two interfaces.

pub mod pipe;
pub mod rpc;
pub mod srvsvc;
pub mod wkssvc;

use std::sync::Arc;

pub use pipe::{Pipe, PipeRead};

/// STYPE_DISKTREE: a disk share (MS-SRVS 2.2.2.4).
pub const STYPE_DISKTREE: u32 = 0;
/// STYPE_IPC: the interprocess communication share.
pub const STYPE_IPC: u32 = 3;
/// STYPE_SPECIAL: an administrative/hidden share such as IPC$ (OR-ed into the type).
pub const STYPE_SPECIAL: u32 = 0x8000_0000;

/// One share as srvsvc reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipeShareInfo {
    /// Share name, e.g. `IPC$`.
    pub name: String,
    /// STYPE_* value, e.g. `STYPE_IPC | STYPE_SPECIAL` for IPC$.
    pub share_type: u32,
    /// Remark shown by `net view` / `smbclient -L`.
    pub comment: String,
}

/// What the RPC services know about this server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PipeServerInfo {
    /// NetBIOS-style server name, reported by NetrServerGetInfo and NetrWkstaGetInfo.
    pub server_name: String,
    /// Shares in enumeration order.
    pub shares: Vec<PipeShareInfo>,
}

/// Opens the pipe `name`: "srvsvc" or "wkssvc" (case-insensitive; a leading `\PIPE\` or `\` is
/// stripped); `None` for any other pipe (the caller answers STATUS_OBJECT_NAME_NOT_FOUND).
pub fn open_pipe(name: &str, info: Arc<PipeServerInfo>) -> Option<Pipe> {
    let lower = name.to_ascii_lowercase();
    let bare = lower
        .strip_prefix("\\pipe\\")
        .or_else(|| lower.strip_prefix('\\'))
        .unwrap_or(&lower);
    match bare {
        "srvsvc" => Some(Pipe::srvsvc(srvsvc::Srvsvc::new(info))),
        "wkssvc" => Some(Pipe::wkssvc(wkssvc::Wkssvc::new(info))),
        _ => None,
    }
}
