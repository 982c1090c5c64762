//! [MS-SMB2 2.2] Every SMB2 message body, one file per command, and the [`Request`] /
//! [`Response`] enums that dispatch on the header's Command.
//!
//! Conventions: each body type implements [`Decode`] (from a whole [`Message`], so offsets
//! are checked against the bytes present) and [`Encode`] (into a [`Writer`] that already holds
//! the header, so offsets are computed from [`Writer::offset`]). Offset/length fields of
//! buffers are never stored: decoders resolve them, encoders compute them.

pub mod cancel;
pub mod change_notify;
pub mod close;
pub mod create;
pub mod echo;
pub mod error;
pub mod flush;
pub mod ioctl;
pub mod lock;
pub mod logoff;
pub mod negotiate;
pub mod oplock_break;
mod output_buffer;
pub mod query_directory;
pub mod query_info;
pub mod read;
pub mod session_setup;
pub mod set_info;
pub mod tree_connect;
pub mod tree_disconnect;
pub mod write;

pub use cancel::CancelRequest;
pub use change_notify::{
    ChangeNotifyFlags, ChangeNotifyRequest, ChangeNotifyResponse, CompletionFilter,
};
pub use close::{CloseFlags, CloseRequest, CloseResponse};
pub use create::{
    AccessMask, CreateAction, CreateDisposition, CreateOptions, CreateRequest, CreateResponse,
    CreateResponseFlags, ImpersonationLevel, OplockLevel, ShareAccess,
};
pub use echo::{EchoRequest, EchoResponse};
pub use error::{ErrorContext, ErrorResponse};
pub use flush::{FlushRequest, FlushResponse};
pub use ioctl::{
    FsctlCode, IoctlFlags, IoctlRequest, IoctlResponse, ValidateNegotiateInfoRequest,
    ValidateNegotiateInfoResponse,
};
pub use lock::{LockElement, LockFlags, LockRequest, LockResponse};
pub use logoff::{LogoffRequest, LogoffResponse};
pub use negotiate::{Capabilities, NegotiateRequest, NegotiateResponse, SecurityMode};
pub use oplock_break::{
    LeaseBreakAcknowledgment, LeaseBreakFlags, LeaseBreakNotification, LeaseState,
    OplockBreakAcknowledgment, OplockBreakNotification, OplockBreakRequest, OplockBreakResponse,
};
pub use query_directory::{QueryDirectoryFlags, QueryDirectoryRequest, QueryDirectoryResponse};
pub use query_info::{
    InfoType, QueryInfoFlags, QueryInfoRequest, QueryInfoResponse, SecurityInformation,
};
pub use read::{Channel, ReadFlags, ReadRequest, ReadResponse};
pub use session_setup::{
    SessionFlags, SessionSetupFlags, SessionSetupRequest, SessionSetupResponse,
};
pub use set_info::{SetInfoRequest, SetInfoResponse};
pub use tree_connect::{
    ShareCapabilities, ShareFlags, ShareType, TreeConnectContext, TreeConnectFlags,
    TreeConnectRequest, TreeConnectResponse,
};
pub use tree_disconnect::{TreeDisconnectRequest, TreeDisconnectResponse};
pub use write::{WriteFlags, WriteRequest, WriteResponse};

use crate::codec::{Decode, DecodeError, DecodeResult, Encode, Message, Writer};
use crate::header::Command;
use crate::status::NtStatus;

/// A decoded request body, by command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// [2.2.3]
    Negotiate(NegotiateRequest),
    /// [2.2.5]
    SessionSetup(SessionSetupRequest<'a>),
    /// [2.2.7]
    Logoff(LogoffRequest),
    /// [2.2.9]
    TreeConnect(TreeConnectRequest),
    /// [2.2.11]
    TreeDisconnect(TreeDisconnectRequest),
    /// [2.2.13]
    Create(CreateRequest<'a>),
    /// [2.2.15]
    Close(CloseRequest),
    /// [2.2.17]
    Flush(FlushRequest),
    /// [2.2.19]
    Read(ReadRequest<'a>),
    /// [2.2.21]
    Write(WriteRequest<'a>),
    /// [2.2.26]
    Lock(LockRequest),
    /// [2.2.31]
    Ioctl(IoctlRequest<'a>),
    /// [2.2.30]
    Cancel(CancelRequest),
    /// [2.2.28]
    Echo(EchoRequest),
    /// [2.2.33]
    QueryDirectory(QueryDirectoryRequest<'a>),
    /// [2.2.35]
    ChangeNotify(ChangeNotifyRequest),
    /// [2.2.37]
    QueryInfo(QueryInfoRequest<'a>),
    /// [2.2.39]
    SetInfo(SetInfoRequest<'a>),
    /// [2.2.24]
    OplockBreak(OplockBreakRequest),
}

impl<'a> Request<'a> {
    /// Decodes the body of `msg` as a request for `command` (from the already decoded
    /// header). An unknown command is `DecodeError::Invalid { what: "command" }`.
    pub fn decode(command: Command, msg: Message<'a>) -> DecodeResult<Self> {
        Ok(match command {
            Command::NEGOTIATE => Self::Negotiate(Decode::decode(msg)?),
            Command::SESSION_SETUP => Self::SessionSetup(Decode::decode(msg)?),
            Command::LOGOFF => Self::Logoff(Decode::decode(msg)?),
            Command::TREE_CONNECT => Self::TreeConnect(Decode::decode(msg)?),
            Command::TREE_DISCONNECT => Self::TreeDisconnect(Decode::decode(msg)?),
            Command::CREATE => Self::Create(Decode::decode(msg)?),
            Command::CLOSE => Self::Close(Decode::decode(msg)?),
            Command::FLUSH => Self::Flush(Decode::decode(msg)?),
            Command::READ => Self::Read(Decode::decode(msg)?),
            Command::WRITE => Self::Write(Decode::decode(msg)?),
            Command::LOCK => Self::Lock(Decode::decode(msg)?),
            Command::IOCTL => Self::Ioctl(Decode::decode(msg)?),
            Command::CANCEL => Self::Cancel(Decode::decode(msg)?),
            Command::ECHO => Self::Echo(Decode::decode(msg)?),
            Command::QUERY_DIRECTORY => Self::QueryDirectory(Decode::decode(msg)?),
            Command::CHANGE_NOTIFY => Self::ChangeNotify(Decode::decode(msg)?),
            Command::QUERY_INFO => Self::QueryInfo(Decode::decode(msg)?),
            Command::SET_INFO => Self::SetInfo(Decode::decode(msg)?),
            Command::OPLOCK_BREAK => Self::OplockBreak(Decode::decode(msg)?),
            _ => return Err(DecodeError::Invalid { what: "command" }),
        })
    }

    /// The command of this request.
    pub fn command(&self) -> Command {
        match self {
            Self::Negotiate(_) => Command::NEGOTIATE,
            Self::SessionSetup(_) => Command::SESSION_SETUP,
            Self::Logoff(_) => Command::LOGOFF,
            Self::TreeConnect(_) => Command::TREE_CONNECT,
            Self::TreeDisconnect(_) => Command::TREE_DISCONNECT,
            Self::Create(_) => Command::CREATE,
            Self::Close(_) => Command::CLOSE,
            Self::Flush(_) => Command::FLUSH,
            Self::Read(_) => Command::READ,
            Self::Write(_) => Command::WRITE,
            Self::Lock(_) => Command::LOCK,
            Self::Ioctl(_) => Command::IOCTL,
            Self::Cancel(_) => Command::CANCEL,
            Self::Echo(_) => Command::ECHO,
            Self::QueryDirectory(_) => Command::QUERY_DIRECTORY,
            Self::ChangeNotify(_) => Command::CHANGE_NOTIFY,
            Self::QueryInfo(_) => Command::QUERY_INFO,
            Self::SetInfo(_) => Command::SET_INFO,
            Self::OplockBreak(_) => Command::OPLOCK_BREAK,
        }
    }
}

impl Encode for Request<'_> {
    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Negotiate(v) => v.encode(w),
            Self::SessionSetup(v) => v.encode(w),
            Self::Logoff(v) => v.encode(w),
            Self::TreeConnect(v) => v.encode(w),
            Self::TreeDisconnect(v) => v.encode(w),
            Self::Create(v) => v.encode(w),
            Self::Close(v) => v.encode(w),
            Self::Flush(v) => v.encode(w),
            Self::Read(v) => v.encode(w),
            Self::Write(v) => v.encode(w),
            Self::Lock(v) => v.encode(w),
            Self::Ioctl(v) => v.encode(w),
            Self::Cancel(v) => v.encode(w),
            Self::Echo(v) => v.encode(w),
            Self::QueryDirectory(v) => v.encode(w),
            Self::ChangeNotify(v) => v.encode(w),
            Self::QueryInfo(v) => v.encode(w),
            Self::SetInfo(v) => v.encode(w),
            Self::OplockBreak(v) => v.encode(w),
        }
    }
}

/// A response body, by command, or the generic ERROR body. There is no CANCEL response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response<'a> {
    /// [2.2.4]
    Negotiate(NegotiateResponse<'a>),
    /// [2.2.6]
    SessionSetup(SessionSetupResponse<'a>),
    /// [2.2.8]
    Logoff(LogoffResponse),
    /// [2.2.10]
    TreeConnect(TreeConnectResponse),
    /// [2.2.12]
    TreeDisconnect(TreeDisconnectResponse),
    /// [2.2.14]
    Create(CreateResponse),
    /// [2.2.16]
    Close(CloseResponse),
    /// [2.2.18]
    Flush(FlushResponse),
    /// [2.2.20]
    Read(ReadResponse<'a>),
    /// [2.2.22]
    Write(WriteResponse),
    /// [2.2.27]
    Lock(LockResponse),
    /// [2.2.32]
    Ioctl(IoctlResponse<'a>),
    /// [2.2.29]
    Echo(EchoResponse),
    /// [2.2.34]
    QueryDirectory(QueryDirectoryResponse<'a>),
    /// [2.2.36]
    ChangeNotify(ChangeNotifyResponse<'a>),
    /// [2.2.38]
    QueryInfo(QueryInfoResponse<'a>),
    /// [2.2.40]
    SetInfo(SetInfoResponse),
    /// [2.2.23 / 2.2.25]
    OplockBreak(OplockBreakResponse),
    /// [2.2.2] The ERROR body (any command).
    Error(ErrorResponse<'a>),
}

/// The StructureSize of the normal response body of `command`.
fn response_structure_size(command: Command) -> Option<u16> {
    Some(match command {
        Command::NEGOTIATE => 65,
        Command::SESSION_SETUP => 9,
        Command::LOGOFF | Command::TREE_DISCONNECT | Command::FLUSH => 4,
        Command::LOCK | Command::ECHO => 4,
        Command::TREE_CONNECT => 16,
        Command::CREATE => 89,
        Command::CLOSE => 60,
        Command::READ | Command::WRITE => 17,
        Command::IOCTL => 49,
        Command::QUERY_DIRECTORY | Command::CHANGE_NOTIFY | Command::QUERY_INFO => 9,
        Command::SET_INFO => 2,
        _ => return None,
    })
}

impl<'a> Response<'a> {
    /// True if a response to `command` with `status` carries the ERROR body [2.2.2] rather
    /// than the command's own ([MS-SMB2 3.3.4.4]): every error and warning status, and the
    /// interim STATUS_PENDING, except MORE_PROCESSING_REQUIRED for SESSION_SETUP and
    /// BUFFER_OVERFLOW for READ, QUERY_INFO, IOCTL and CHANGE_NOTIFY.
    pub fn has_error_body(command: Command, status: NtStatus) -> bool {
        if status == NtStatus::PENDING {
            return true;
        }
        if !status.is_error() && !status.is_warning() {
            return false;
        }
        let normal = (command == Command::SESSION_SETUP
            && status == NtStatus::MORE_PROCESSING_REQUIRED)
            || (status == NtStatus::BUFFER_OVERFLOW
                && matches!(
                    command,
                    Command::READ | Command::QUERY_INFO | Command::IOCTL | Command::CHANGE_NOTIFY
                ));
        !normal
    }

    /// Decodes the body of a response for `command` with header `status`. An error status
    /// decodes as [`Response::Error`] (see [`Response::has_error_body`]), except when the
    /// body's StructureSize is that of the command's own body and differs from 9 (e.g. an
    /// IOCTL copychunk failure with STATUS_INVALID_PARAMETER carries an IOCTL body).
    pub fn decode(command: Command, status: NtStatus, msg: Message<'a>) -> DecodeResult<Self> {
        if Self::has_error_body(command, status) {
            let size = msg
                .body()
                .get(..2)
                .and_then(|b| b.try_into().ok())
                .map(u16::from_le_bytes);
            let own = response_structure_size(command);
            let is_own_body = size.is_some() && size == own && own != Some(9);
            if !is_own_body {
                return Ok(Self::Error(ErrorResponse::decode(msg)?));
            }
        }
        Ok(match command {
            Command::NEGOTIATE => Self::Negotiate(Decode::decode(msg)?),
            Command::SESSION_SETUP => Self::SessionSetup(Decode::decode(msg)?),
            Command::LOGOFF => Self::Logoff(Decode::decode(msg)?),
            Command::TREE_CONNECT => Self::TreeConnect(Decode::decode(msg)?),
            Command::TREE_DISCONNECT => Self::TreeDisconnect(Decode::decode(msg)?),
            Command::CREATE => Self::Create(Decode::decode(msg)?),
            Command::CLOSE => Self::Close(Decode::decode(msg)?),
            Command::FLUSH => Self::Flush(Decode::decode(msg)?),
            Command::READ => Self::Read(Decode::decode(msg)?),
            Command::WRITE => Self::Write(Decode::decode(msg)?),
            Command::LOCK => Self::Lock(Decode::decode(msg)?),
            Command::IOCTL => Self::Ioctl(Decode::decode(msg)?),
            Command::ECHO => Self::Echo(Decode::decode(msg)?),
            Command::QUERY_DIRECTORY => Self::QueryDirectory(Decode::decode(msg)?),
            Command::CHANGE_NOTIFY => Self::ChangeNotify(Decode::decode(msg)?),
            Command::QUERY_INFO => Self::QueryInfo(Decode::decode(msg)?),
            Command::SET_INFO => Self::SetInfo(Decode::decode(msg)?),
            Command::OPLOCK_BREAK => Self::OplockBreak(Decode::decode(msg)?),
            _ => return Err(DecodeError::Invalid { what: "command" }),
        })
    }

    /// The command of this response; `None` for [`Response::Error`] (the caller knows which
    /// request it answers).
    pub fn command(&self) -> Option<Command> {
        Some(match self {
            Self::Negotiate(_) => Command::NEGOTIATE,
            Self::SessionSetup(_) => Command::SESSION_SETUP,
            Self::Logoff(_) => Command::LOGOFF,
            Self::TreeConnect(_) => Command::TREE_CONNECT,
            Self::TreeDisconnect(_) => Command::TREE_DISCONNECT,
            Self::Create(_) => Command::CREATE,
            Self::Close(_) => Command::CLOSE,
            Self::Flush(_) => Command::FLUSH,
            Self::Read(_) => Command::READ,
            Self::Write(_) => Command::WRITE,
            Self::Lock(_) => Command::LOCK,
            Self::Ioctl(_) => Command::IOCTL,
            Self::Echo(_) => Command::ECHO,
            Self::QueryDirectory(_) => Command::QUERY_DIRECTORY,
            Self::ChangeNotify(_) => Command::CHANGE_NOTIFY,
            Self::QueryInfo(_) => Command::QUERY_INFO,
            Self::SetInfo(_) => Command::SET_INFO,
            Self::OplockBreak(_) => Command::OPLOCK_BREAK,
            Self::Error(_) => return None,
        })
    }
}

impl Encode for Response<'_> {
    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Negotiate(v) => v.encode(w),
            Self::SessionSetup(v) => v.encode(w),
            Self::Logoff(v) => v.encode(w),
            Self::TreeConnect(v) => v.encode(w),
            Self::TreeDisconnect(v) => v.encode(w),
            Self::Create(v) => v.encode(w),
            Self::Close(v) => v.encode(w),
            Self::Flush(v) => v.encode(w),
            Self::Read(v) => v.encode(w),
            Self::Write(v) => v.encode(w),
            Self::Lock(v) => v.encode(w),
            Self::Ioctl(v) => v.encode(w),
            Self::Echo(v) => v.encode(w),
            Self::QueryDirectory(v) => v.encode(w),
            Self::ChangeNotify(v) => v.encode(w),
            Self::QueryInfo(v) => v.encode(w),
            Self::SetInfo(v) => v.encode(w),
            Self::OplockBreak(v) => v.encode(w),
            Self::Error(v) => v.encode(w),
        }
    }
}
