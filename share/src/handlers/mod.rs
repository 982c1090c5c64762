//! The SMB2 command handlers of the share layer ([MS-SMB2 3.3.5]), one file per command.
//!
//! The engine has already decoded the request, verified its signature, found the session and
//! (for tree-scoped commands) the tree connect, and substituted a compound FileId. Handlers are
//! synchronous and may block on disk I/O (the engine runs them on a blocking thread); they hold
//! table locks only for lookups, never across I/O.
//!
//! A handler returns `Ok(Reply)` with SUCCESS or a warning status such as BUFFER_OVERFLOW (the
//! response body is still sent), or `Err(status)` for an SMB2 ERROR response.

pub mod change_notify;
pub mod close;
pub mod create;
pub mod flush;
pub mod ioctl;
pub mod lock;
pub mod object_id;
pub mod oplock_break;
pub mod query_directory;
pub mod query_info;
pub mod read;
pub mod set_info;
pub mod tree_connect;
pub mod tree_disconnect;
pub mod write;

use std::sync::Arc;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::file_id::FileId;

use crate::disk::DiskRoot;
use crate::open::{DiskOpen, Open};
use crate::oplock::ClientLink;
use crate::session::Session;
use crate::tree::TreeConnect;

/// A response body and the status to send with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<T> {
    /// SUCCESS or a warning (e.g. BUFFER_OVERFLOW).
    pub status: NtStatus,
    /// The response body.
    pub body: T,
}

impl<T> Reply<T> {
    /// A SUCCESS reply.
    pub fn ok(body: T) -> Self {
        Self {
            status: NtStatus::SUCCESS,
            body,
        }
    }

    /// A reply with a warning status.
    pub fn with_status(status: NtStatus, body: T) -> Self {
        Self { status, body }
    }
}

/// `Err` becomes an SMB2 ERROR response with that status.
pub type HandlerResult<T> = Result<Reply<T>, NtStatus>;

/// The context of a tree-scoped command.
#[derive(Debug, Clone)]
pub struct TreeCx {
    /// The session.
    pub session: Arc<Session>,
    /// The tree connect named by the request's TreeId.
    pub tree: Arc<TreeConnect>,
    /// The connection the request arrived on: where breaks of the opens it creates go.
    pub client: ClientLink,
    /// The request is run again after it answered `STATUS_PENDING` ([MS-SMB2 3.3.4.2]): a
    /// CREATE that already waited for a lease break waits until that lease finished breaking.
    pub retry: bool,
}

impl TreeCx {
    /// The open `file_id` of this session *and* tree: MS-SMB2 3.3.5.x all answer
    /// STATUS_FILE_CLOSED when "the Open is not found" or belongs to another tree connect.
    pub fn open(&self, file_id: FileId) -> Result<Arc<Open>, NtStatus> {
        self.session
            .open(file_id)
            .filter(|o| o.tree_id() == self.tree.id && !o.is_closed())
            .ok_or(NtStatus::FILE_CLOSED)
    }

    /// The disk root of the tree's share (`INVALID_DEVICE_REQUEST` on IPC$).
    pub fn disk_root(&self) -> Result<&DiskRoot, NtStatus> {
        self.tree
            .share
            .disk()
            .ok_or(NtStatus::INVALID_DEVICE_REQUEST)
    }
}

/// The disk part of an open, or `INVALID_DEVICE_REQUEST` for a pipe.
pub(crate) fn disk_of(open: &Open) -> Result<&DiskOpen, NtStatus> {
    open.disk().ok_or(NtStatus::INVALID_DEVICE_REQUEST)
}

/// Maps an io::Error through the one mapping table.
pub(crate) fn io_status(e: std::io::Error) -> NtStatus {
    crate::disk::errors::io_to_status(&e)
}
