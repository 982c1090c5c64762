//! The disk share backend: confined paths, opens, metadata, directory enumeration and
//! byte-range locks over a host directory. Nothing here knows SMB wire formats; the handlers in
//! `crate::handlers` translate.

pub mod access;
pub mod case;
pub mod copy;
pub mod create;
pub mod dos_attrs;
pub mod enumerate;
pub mod errors;
pub mod file;
pub mod locks;
pub mod meta;
pub mod notify;
pub mod owner;
pub mod path;
pub mod pattern;
pub mod share_modes;
pub mod short_name;
pub mod sparse;
pub mod streams;
pub mod write_time;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

/// A disk share's root directory, opened once at start-up: every path of the share is resolved
/// from this fd, never from a path string, so renaming or replacing the root's *path* later does
/// not move the share.
#[derive(Debug)]
pub struct DiskRoot {
    fd: OwnedFd,
    path: PathBuf,
}

impl DiskRoot {
    /// Opens `path`, which must be a directory.
    pub fn open(path: &Path) -> io::Result<Self> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self {
            fd,
            path: path.to_owned(),
        })
    }

    /// The root directory fd.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The configured host path (for logs and diagnostics only; never resolved again).
    pub fn path(&self) -> &Path {
        &self.path
    }
}
