//! File metadata in Windows terms: FILETIMEs, sizes, attributes and a file id.
//!
//! One [`FileMeta`] feeds every information class ([MS-FSCC 2.4]) and every directory entry, so
//! the handlers agree with each other on what a file looks like.

use std::io;
use std::os::fd::AsFd;

use rustix::fs::{AtFlags, FileType, StatxFlags};

/// [MS-FSCC 2.6] FILE_ATTRIBUTE_READONLY.
pub const FILE_ATTRIBUTE_READONLY: u32 = 0x0000_0001;
/// [MS-FSCC 2.6] FILE_ATTRIBUTE_HIDDEN.
pub const FILE_ATTRIBUTE_HIDDEN: u32 = 0x0000_0002;
/// [MS-FSCC 2.6] FILE_ATTRIBUTE_SYSTEM.
pub const FILE_ATTRIBUTE_SYSTEM: u32 = 0x0000_0004;
/// [MS-FSCC 2.6] FILE_ATTRIBUTE_DIRECTORY.
pub const FILE_ATTRIBUTE_DIRECTORY: u32 = 0x0000_0010;
/// [MS-FSCC 2.6] FILE_ATTRIBUTE_ARCHIVE.
pub const FILE_ATTRIBUTE_ARCHIVE: u32 = 0x0000_0020;
/// [MS-FSCC 2.6] FILE_ATTRIBUTE_TEMPORARY.
pub const FILE_ATTRIBUTE_TEMPORARY: u32 = 0x0000_0100;
/// [MS-FSCC 2.6] FILE_ATTRIBUTE_NORMAL: "no other attributes set" (only valid alone).
pub const FILE_ATTRIBUTE_NORMAL: u32 = 0x0000_0080;

/// Seconds between 1601-01-01 (FILETIME epoch) and 1970-01-01 (Unix epoch).
const EPOCH_DIFF_SECS: i64 = 11_644_473_600;

/// A Unix time (seconds, nanoseconds) as a FILETIME: 100 ns units since 1601 ([MS-DTYP 2.3.3]).
/// Times before 1601 clamp to 0, which FSCC reads as "not specified".
pub fn unix_to_filetime(secs: i64, nsecs: u32) -> u64 {
    let Some(s) = secs.checked_add(EPOCH_DIFF_SECS) else {
        return u64::MAX;
    };
    if s < 0 {
        return 0;
    }
    (s as u64)
        .checked_mul(10_000_000)
        .and_then(|t| t.checked_add(u64::from(nsecs) / 100))
        .unwrap_or(u64::MAX)
}

/// A FILETIME as Unix (seconds, nanoseconds); the inverse of [`unix_to_filetime`].
pub fn filetime_to_unix(ft: u64) -> (i64, u32) {
    let secs = (ft / 10_000_000) as i64 - EPOCH_DIFF_SECS;
    let nsecs = ((ft % 10_000_000) * 100) as u32;
    (secs, nsecs)
}

/// What the handlers need to know about a file, already in Windows units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    /// CreationTime: the birth time if the file system records it, else the earlier of
    /// change and modification time (what Samba reports without birth times).
    pub creation_time: u64,
    /// LastAccessTime.
    pub last_access_time: u64,
    /// LastWriteTime (mtime).
    pub last_write_time: u64,
    /// ChangeTime (ctime).
    pub change_time: u64,
    /// EndOfFile: the size in bytes (0 for directories, as NTFS reports).
    pub end_of_file: u64,
    /// AllocationSize: blocks actually allocated, in bytes.
    pub allocation_size: u64,
    /// FileAttributes ([MS-FSCC 2.6]).
    pub attributes: u32,
    /// The inode number: the FileId / IndexNumber.
    pub file_id: u64,
    /// Device number: with `file_id`, identifies the file for lock tables.
    pub dev: u64,
    /// NumberOfLinks.
    pub nlink: u32,
    /// Directory or not.
    pub is_dir: bool,
    /// Regular file (data can be read and written).
    pub is_file: bool,
    /// Unix mode bits, for the read-only attribute mapping.
    pub mode: u32,
    /// Owner user id (for the security descriptor).
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
}

impl FileMeta {
    /// Reads the metadata of an open file (`statx` with birth time, `fstat` if unavailable).
    /// `name` (the last path component) decides the hidden attribute for dot files. A
    /// CreationTime a client set (kept in `disk::dos_attrs`) wins over the birth time.
    pub fn of<Fd: AsFd>(fd: Fd, name: &str) -> io::Result<Self> {
        let fd = fd.as_fd();
        let mask = StatxFlags::BASIC_STATS | StatxFlags::BTIME;
        let m = match rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, mask) {
            Ok(st) => Self::from_statx(&st, name),
            Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM) => {
                let st = rustix::fs::fstat(fd)?;
                Self::from_stat(&st, name)
            }
            Err(e) => return Err(e.into()),
        };
        Ok(m.with_stored(super::dos_attrs::read(fd)))
    }

    /// Applies what `disk::dos_attrs` keeps for the file.
    fn with_stored(mut self, stored: super::dos_attrs::DosAttrs) -> Self {
        if let Some(t) = stored.creation_time {
            self.creation_time = t;
        }
        // FSCTL_SET_SPARSE's flag (`disk::sparse`): the one stored attribute bit applied.
        let sparse = super::sparse::FILE_ATTRIBUTE_SPARSE_FILE;
        if self.is_file && stored.attributes.is_some_and(|a| a & sparse != 0) {
            self.attributes |= sparse;
        }
        match stored.change_time {
            Some((t, with_write)) if with_write == self.last_write_time => self.change_time = t,
            _ => {}
        }
        self
    }

    /// Reads the metadata of the entry `name` in directory `dir` without following a final
    /// symlink (directory listings resolve symlinks themselves, confined to the share).
    pub fn at<Fd: AsFd>(dir: Fd, name: &str) -> io::Result<Self> {
        let dir = dir.as_fd();
        let mask = StatxFlags::BASIC_STATS | StatxFlags::BTIME;
        let m = match rustix::fs::statx(dir, name, AtFlags::SYMLINK_NOFOLLOW, mask) {
            Ok(st) => Self::from_statx(&st, name),
            Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM) => {
                let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
                Self::from_stat(&st, name)
            }
            Err(e) => return Err(e.into()),
        };
        if m.is_symlink() {
            return Ok(m);
        }
        Ok(m.with_stored(super::dos_attrs::read_at(dir, name)))
    }

    /// True if this is a symlink (only [`FileMeta::at`] can return one).
    pub fn is_symlink(&self) -> bool {
        FileType::from_raw_mode(self.mode as _) == FileType::Symlink
    }

    fn from_statx(st: &rustix::fs::Statx, name: &str) -> Self {
        let t = |ts: &rustix::fs::StatxTimestamp| unix_to_filetime(ts.tv_sec, ts.tv_nsec);
        let mtime = t(&st.stx_mtime);
        let ctime = t(&st.stx_ctime);
        let has_btime = st.stx_mask & StatxFlags::BTIME.bits() != 0 && st.stx_btime.tv_sec != 0;
        let btime = if has_btime {
            t(&st.stx_btime)
        } else {
            mtime.min(ctime)
        };
        let dev = (u64::from(st.stx_dev_major) << 32) | u64::from(st.stx_dev_minor);
        let mut m = Self::build(
            u32::from(st.stx_mode),
            [btime, t(&st.stx_atime), mtime, ctime],
            st.stx_size,
            st.stx_blocks,
            st.stx_ino,
            dev,
            st.stx_nlink,
            name,
        );
        (m.uid, m.gid) = (st.stx_uid, st.stx_gid);
        m
    }

    // The field types of `struct stat` differ between targets; the casts are not redundant there.
    #[allow(clippy::unnecessary_cast)]
    fn from_stat(st: &rustix::fs::Stat, name: &str) -> Self {
        let t = |s: i64, ns: i64| unix_to_filetime(s, u32::try_from(ns).unwrap_or(0));
        let mtime = t(st.st_mtime as i64, st.st_mtime_nsec as i64);
        let ctime = t(st.st_ctime as i64, st.st_ctime_nsec as i64);
        let mut m = Self::build(
            st.st_mode as u32,
            [
                mtime.min(ctime),
                t(st.st_atime as i64, st.st_atime_nsec as i64),
                mtime,
                ctime,
            ],
            u64::try_from(st.st_size).unwrap_or(0),
            u64::try_from(st.st_blocks).unwrap_or(0),
            st.st_ino as u64,
            st.st_dev as u64,
            u32::try_from(st.st_nlink).unwrap_or(u32::MAX),
            name,
        );
        (m.uid, m.gid) = (st.st_uid as u32, st.st_gid as u32);
        m
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        mode: u32,
        [
            creation_time,
            last_access_time,
            last_write_time,
            change_time,
        ]: [u64; 4],
        size: u64,
        blocks: u64,
        ino: u64,
        dev: u64,
        nlink: u32,
        name: &str,
    ) -> Self {
        let ftype = FileType::from_raw_mode(mode as _);
        let is_dir = ftype == FileType::Directory;
        let is_file = ftype == FileType::RegularFile;
        let mut attributes = if is_dir {
            FILE_ATTRIBUTE_DIRECTORY
        } else {
            FILE_ATTRIBUTE_ARCHIVE
        };
        // Samba's default mapping: no owner write permission on a file reads as READONLY.
        if !is_dir && mode & 0o200 == 0 {
            attributes |= FILE_ATTRIBUTE_READONLY;
        }
        // Samba's `hide dot files = yes`.
        if name.starts_with('.') && name != "." && name != ".." {
            attributes |= FILE_ATTRIBUTE_HIDDEN;
        }
        Self {
            creation_time,
            last_access_time,
            last_write_time,
            change_time,
            end_of_file: if is_dir { 0 } else { size },
            allocation_size: blocks.saturating_mul(512),
            attributes,
            file_id: ino,
            dev,
            nlink,
            is_dir,
            is_file,
            mode,
            uid: 0,
            gid: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn filetime_conversion() {
        // 1970-01-01 is 116444736000000000 in FILETIME (MS-DTYP / well-known constant).
        assert_eq!(unix_to_filetime(0, 0), 116_444_736_000_000_000);
        assert_eq!(unix_to_filetime(1, 500), 116_444_736_010_000_005);
        assert_eq!(filetime_to_unix(116_444_736_010_000_005), (1, 500));
        assert_eq!(unix_to_filetime(-EPOCH_DIFF_SECS - 1, 0), 0);
        assert_eq!(unix_to_filetime(i64::MAX, 0), u64::MAX);
    }

    #[test]
    fn meta_of_file_and_dir() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, b"hello").unwrap();
        let f = std::fs::File::open(&p).unwrap();
        let m = FileMeta::of(&f, "f.txt").unwrap();
        assert!(m.is_file && !m.is_dir);
        assert_eq!(m.end_of_file, 5);
        assert_eq!(m.attributes & FILE_ATTRIBUTE_DIRECTORY, 0);
        assert_ne!(m.attributes & FILE_ATTRIBUTE_ARCHIVE, 0);
        assert!(m.last_write_time > unix_to_filetime(1_600_000_000, 0));
        let d = std::fs::File::open(dir.path()).unwrap();
        let m = FileMeta::of(&d, ".hidden").unwrap();
        assert!(m.is_dir);
        assert_eq!(m.end_of_file, 0);
        assert_ne!(m.attributes & FILE_ATTRIBUTE_DIRECTORY, 0);
        assert_ne!(m.attributes & FILE_ATTRIBUTE_HIDDEN, 0);
    }
}
