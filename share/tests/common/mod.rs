//! Shared fixtures for the handler tests: a registry over a temp directory, a session, a tree.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    dead_code
)]

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::codec::string_to_utf16le;
use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::messages::close::CloseRequest;
use rsmbd_protocol::messages::create::{CreateRequest, CreateResponse};
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_share::handlers::{self, TreeCx};
use rsmbd_share::registry::{ShareConfig, ShareKind, ShareRegistry};
use rsmbd_share::session::{Identity, Session};

pub const GENERIC_READ: u32 = 0x8000_0000;
pub const GENERIC_WRITE: u32 = 0x4000_0000;
pub const GENERIC_ALL: u32 = 0x1000_0000;
pub const DELETE: u32 = 0x0001_0000;
pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
pub const FILE_READ_ATTRIBUTES: u32 = 0x80;

pub const SUPERSEDE: u32 = 0;
pub const OPEN: u32 = 1;
pub const CREATE: u32 = 2;
pub const OPEN_IF: u32 = 3;
pub const OVERWRITE: u32 = 4;
pub const OVERWRITE_IF: u32 = 5;

pub const DIRECTORY_FILE: u32 = 0x1;
pub const NON_DIRECTORY_FILE: u32 = 0x40;
pub const DELETE_ON_CLOSE: u32 = 0x1000;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub registry: ShareRegistry,
    pub session: Arc<Session>,
}

pub fn disk_share(name: &str, path: &Path) -> ShareConfig {
    ShareConfig {
        name: name.to_owned(),
        kind: ShareKind::Disk {
            path: path.to_owned(),
        },
        comment: "test share".into(),
        valid_users: None,
        read_only: false,
        encrypt_data: false,
    }
}

impl Fixture {
    /// A share "data" over a fresh temp dir (in `dir/share`, so tests can put files next to it).
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    pub fn with(tweak: impl FnOnce(&mut ShareConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("share")).unwrap();
        let mut cfg = disk_share("data", &dir.path().join("share"));
        tweak(&mut cfg);
        let registry = ShareRegistry::new("srv".into(), vec![cfg]).unwrap();
        let session = Arc::new(Session::new(7, Identity::principal("alice@EXAMPLE.COM")));
        Self {
            dir,
            registry,
            session,
        }
    }

    pub fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("share")
    }

    pub fn connect(&self, share: &str) -> Result<TreeCx, NtStatus> {
        let req = TreeConnectRequest {
            path: format!("\\\\srv\\{share}"),
            ..Default::default()
        };
        let reply = handlers::tree_connect::handle(&self.session, &self.registry, &req)?;
        let (tree_id, _) = reply.body;
        Ok(TreeCx {
            session: Arc::clone(&self.session),
            tree: self.session.tree(tree_id).unwrap(),
            client: rsmbd_share::oplock::ClientLink::detached(),
            retry: false,
        })
    }

    pub fn tree(&self) -> TreeCx {
        self.connect("data").unwrap()
    }
}

pub fn create_req(
    name: &str,
    disposition: u32,
    options: u32,
    access: u32,
) -> CreateRequest<'static> {
    CreateRequest {
        impersonation_level: 2,
        desired_access: access,
        share_access: 7,
        create_disposition: disposition,
        create_options: options,
        name: Cow::Owned(string_to_utf16le(name)),
        ..Default::default()
    }
}

pub fn create(
    cx: &TreeCx,
    name: &str,
    disposition: u32,
    options: u32,
    access: u32,
) -> Result<CreateResponse, NtStatus> {
    handlers::create::handle(cx, &create_req(name, disposition, options, access)).map(|r| r.body)
}

pub fn close(cx: &TreeCx, file_id: FileId) -> Result<(), NtStatus> {
    handlers::close::handle(cx, &CloseRequest { flags: 0, file_id }).map(|_| ())
}

pub fn write(cx: &TreeCx, file_id: FileId, offset: u64, data: &[u8]) -> Result<u32, NtStatus> {
    let req = WriteRequest {
        offset,
        file_id,
        data: Cow::Owned(data.to_vec()),
        ..Default::default()
    };
    handlers::write::handle(cx, &req).map(|r| r.body.count)
}

pub fn read(cx: &TreeCx, file_id: FileId, offset: u64, length: u32) -> Result<Vec<u8>, NtStatus> {
    let req = ReadRequest {
        offset,
        length,
        file_id,
        ..Default::default()
    };
    handlers::read::handle(cx, &req).map(|r| r.body.data.into_owned())
}
