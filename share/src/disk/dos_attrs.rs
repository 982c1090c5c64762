//! What Windows keeps on a file that Linux has no field for, in one xattr
//! (`user.rsmbd.dosattrib`): the CreationTime and ChangeTime a client set ([MS-FSCC 2.4.7]
//! FileBasicInformation; Linux can set neither the birth time nor ctime) and, reserved for DOS
//! attribute bits ([MS-FSCC 2.6]), an attribute word. Samba keeps such facts in
//! `user.DOSATTRIB`.
//!
//! A set ChangeTime is stored with the LastWriteTime it was set next to and is reported only
//! while the file still has that write time: once the file changes again, ctime speaks.
//!
//! Value layout (little-endian, 32 bytes): version (u16, 1), flags (u16: bit 0 attributes,
//! bit 1 creation time, bit 2 change time valid), attributes (u32), creation time (u64
//! FILETIME), change time (u64), the write time the change time goes with (u64). A value that
//! is short, of another version, or unreadable counts as absent: the file then reports what
//! the file system says.
//!
//! Reads go through the open file (`fgetxattr`), or, for an `O_PATH` descriptor or a directory
//! entry, through `/proc/self/fd/N[/name]` (a final symlink of a directory entry is not
//! followed); the name is one validated component, so the lookup stays in the directory the
//! descriptor names.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use rustix::fs::XattrFlags;
use rustix::io::Errno;

/// The xattr name.
pub const XATTR: &str = "user.rsmbd.dosattrib";
/// Layout version written and understood.
const VERSION: u16 = 1;
/// Flags bit: the attribute word is valid.
const HAS_ATTRIBUTES: u16 = 0x0001;
/// Flags bit: the creation time is valid.
const HAS_CREATION_TIME: u16 = 0x0002;
/// Flags bit: the change time (and its write time) is valid.
const HAS_CHANGE_TIME: u16 = 0x0004;
/// Encoded size.
const LEN: usize = 32;

/// The stored facts; `None` means "not stored, use the file system's".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DosAttrs {
    /// FileAttributes bits kept for the file (reserved: not applied yet).
    pub attributes: Option<u32>,
    /// CreationTime set by a client (FILETIME).
    pub creation_time: Option<u64>,
    /// ChangeTime set by a client, and the LastWriteTime the file had then (FILETIMEs).
    pub change_time: Option<(u64, u64)>,
}

impl DosAttrs {
    /// The xattr value.
    pub fn encode(&self) -> [u8; LEN] {
        let mut flags = 0u16;
        if self.attributes.is_some() {
            flags |= HAS_ATTRIBUTES;
        }
        if self.creation_time.is_some() {
            flags |= HAS_CREATION_TIME;
        }
        if self.change_time.is_some() {
            flags |= HAS_CHANGE_TIME;
        }
        let (change, change_at) = self.change_time.unwrap_or((0, 0));
        let mut out = [0u8; LEN];
        let parts: [&[u8]; 6] = [
            &VERSION.to_le_bytes(),
            &flags.to_le_bytes(),
            &self.attributes.unwrap_or(0).to_le_bytes(),
            &self.creation_time.unwrap_or(0).to_le_bytes(),
            &change.to_le_bytes(),
            &change_at.to_le_bytes(),
        ];
        let mut at = 0;
        for p in parts {
            if let Some(dst) = out.get_mut(at..at + p.len()) {
                dst.copy_from_slice(p);
            }
            at += p.len();
        }
        out
    }

    /// Parses a stored value; anything unexpected is "nothing stored".
    pub fn decode(b: &[u8]) -> Self {
        let u16_at = |i: usize| {
            b.get(i..i + 2)
                .and_then(|s| s.try_into().ok())
                .map(u16::from_le_bytes)
        };
        let u32_at = |i: usize| {
            b.get(i..i + 4)
                .and_then(|s| s.try_into().ok())
                .map(u32::from_le_bytes)
        };
        let u64_at = |i: usize| {
            b.get(i..i + 8)
                .and_then(|s| s.try_into().ok())
                .map(u64::from_le_bytes)
        };
        if b.len() != LEN || u16_at(0) != Some(VERSION) {
            return Self::default();
        }
        let flags = u16_at(2).unwrap_or(0);
        let change = u64_at(16).zip(u64_at(24));
        Self {
            attributes: u32_at(4).filter(|_| flags & HAS_ATTRIBUTES != 0),
            creation_time: u64_at(8).filter(|_| flags & HAS_CREATION_TIME != 0),
            change_time: change.filter(|_| flags & HAS_CHANGE_TIME != 0),
        }
    }
}

/// The stored facts of an open file (any descriptor, `O_PATH` included).
pub fn read<Fd: AsFd>(fd: Fd) -> DosAttrs {
    let fd = fd.as_fd();
    let mut buf = [0u8; LEN];
    match rustix::fs::fgetxattr(fd, XATTR, &mut buf[..]) {
        Ok(n) => DosAttrs::decode(buf.get(..n).unwrap_or(&[])),
        // O_PATH descriptors cannot read xattrs directly; their /proc link (followed) can.
        Err(Errno::BADF) => {
            let mut buf = [0u8; LEN];
            match rustix::fs::getxattr(proc_path(fd, None), XATTR, &mut buf[..]) {
                Ok(n) => DosAttrs::decode(buf.get(..n).unwrap_or(&[])),
                Err(_) => DosAttrs::default(),
            }
        }
        Err(_) => DosAttrs::default(),
    }
}

/// The stored facts of the entry `name` of directory `dir` (a final symlink is not followed).
pub fn read_at<Fd: AsFd>(dir: Fd, name: &str) -> DosAttrs {
    let mut buf = [0u8; LEN];
    match rustix::fs::lgetxattr(proc_path(dir.as_fd(), Some(name)), XATTR, &mut buf[..]) {
        Ok(n) => DosAttrs::decode(buf.get(..n).unwrap_or(&[])),
        Err(_) => DosAttrs::default(),
    }
}

fn proc_path(fd: BorrowedFd<'_>, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("/proc/self/fd/{}/{n}", fd.as_raw_fd()),
        None => format!("/proc/self/fd/{}", fd.as_raw_fd()),
    }
}

/// Stores `update` applied to what is stored now (read-modify-write on one open file).
pub fn update<Fd: AsFd>(fd: Fd, update: impl FnOnce(&mut DosAttrs)) -> rustix::io::Result<()> {
    let fd = fd.as_fd();
    let mut cur = read(fd);
    update(&mut cur);
    rustix::fs::fsetxattr(fd, XATTR, &cur.encode(), XattrFlags::empty())
}

/// Records a client-set CreationTime.
pub fn set_creation_time<Fd: AsFd>(fd: Fd, filetime: u64) -> rustix::io::Result<()> {
    update(fd, |d| d.creation_time = Some(filetime))
}

/// Records a client-set ChangeTime, valid while the file's LastWriteTime stays `write_time`.
pub fn set_change_time<Fd: AsFd>(fd: Fd, filetime: u64, write_time: u64) -> rustix::io::Result<()> {
    update(fd, |d| d.change_time = Some((filetime, write_time)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let d = DosAttrs {
            attributes: Some(0x22),
            creation_time: Some(116_444_735_990_000_000),
            change_time: Some((7, 8)),
        };
        assert_eq!(DosAttrs::decode(&d.encode()), d);
        let only_time = DosAttrs {
            creation_time: Some(5),
            ..DosAttrs::default()
        };
        assert_eq!(DosAttrs::decode(&only_time.encode()), only_time);
        // Short, long or other-version values are "nothing stored".
        assert_eq!(DosAttrs::decode(&[1, 0, 3]), DosAttrs::default());
        assert_eq!(DosAttrs::decode(&[0u8; 33]), DosAttrs::default());
        let mut v2 = d.encode();
        v2[0] = 2;
        assert_eq!(DosAttrs::decode(&v2), DosAttrs::default());
    }

    #[test]
    fn stored_on_a_file_and_read_by_every_route() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let f = std::fs::File::open(&p).unwrap();
        assert_eq!(read(&f), DosAttrs::default());
        if set_creation_time(&f, 42).is_err() {
            // A file system without user xattrs (tmpfs on old kernels): nothing to test.
            return;
        }
        assert_eq!(read(&f).creation_time, Some(42));
        let d = std::fs::File::open(dir.path()).unwrap();
        assert_eq!(read_at(&d, "f").creation_time, Some(42));
        let opath =
            rustix::fs::open(&p, rustix::fs::OFlags::PATH, rustix::fs::Mode::empty()).unwrap();
        assert_eq!(read(&opath).creation_time, Some(42));
        assert_eq!(read_at(&d, "missing"), DosAttrs::default());
    }
}
