//! Operations on an open file or directory: positional I/O, flush, size, times, the read-only
//! attribute, rename and delete.
//!
//! Data I/O is positional (`pread`/`pwrite` through [`FileExt`]): no seek position is shared, so
//! concurrent READs and WRITEs on one handle need no lock. Rename and delete work on the path the
//! open was reached by, re-resolved beneath the share root, and only after checking that the
//! entry found there is still the open file (same device and inode); otherwise a path swapped
//! between requests could make us rename or delete a different file.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use rsmbd_protocol::NtStatus;
use rustix::fs::{AtFlags, Mode, RenameFlags, Timespec, Timestamps, UTIME_OMIT};

use super::DiskRoot;
use super::errors::{errno_status, io_to_status};
use super::meta::{FileMeta, filetime_to_unix};
use super::path::{RelPath, open_parent};

/// Reads up to `len` bytes at `offset`; fewer only at end of file.
pub fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let done = read_at_into(file, offset, &mut buf)?;
    buf.truncate(done);
    Ok(buf)
}

/// Fills `buf` from `offset` until it is full or the file ends; returns the bytes read.
pub fn read_at_into(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0usize;
    while let Some(rest) = buf.get_mut(done..) {
        if rest.is_empty() {
            break;
        }
        let at = offset
            .checked_add(done as u64)
            .ok_or(io::ErrorKind::InvalidInput)?;
        match file.read_at(rest, at) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Writes all of `data` at `offset`.
pub fn write_at(file: &File, offset: u64, data: &[u8]) -> io::Result<usize> {
    offset
        .checked_add(data.len() as u64)
        .ok_or(io::ErrorKind::InvalidInput)?;
    file.write_all_at(data, offset)?;
    Ok(data.len())
}

/// FLUSH: data and metadata to stable storage.
pub fn flush(file: &File) -> io::Result<()> {
    file.sync_all()
}

/// FileEndOfFileInformation: truncate or extend.
pub fn set_end_of_file(file: &File, size: u64) -> io::Result<()> {
    if size > i64::MAX as u64 {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    file.set_len(size)
}

/// A FILETIME from FileBasicInformation as a `futimens` time: 0 ("don't change"), -1 ("stop
/// updating it", which we cannot do) and -2 ("resume updating") all leave the time alone
/// ([MS-FSCC 2.4.7]).
fn to_timespec(ft: u64) -> Timespec {
    if ft == 0 || ft >= 0xFFFF_FFFF_FFFF_FFFE {
        return Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        };
    }
    let (secs, nsecs) = filetime_to_unix(ft);
    Timespec {
        tv_sec: secs,
        tv_nsec: i64::from(nsecs) as _,
    }
}

/// FileBasicInformation times. CreationTime and ChangeTime cannot be set on Linux and are
/// ignored (as Samba does without `store dos attributes` for creation time).
pub fn set_times(file: &File, last_access: u64, last_write: u64) -> io::Result<()> {
    let times = Timestamps {
        last_access: to_timespec(last_access),
        last_modification: to_timespec(last_write),
    };
    if times.last_access.tv_nsec == UTIME_OMIT && times.last_modification.tv_nsec == UTIME_OMIT {
        return Ok(());
    }
    rustix::fs::futimens(file, &times).map_err(io::Error::from)
}

/// FILE_ATTRIBUTE_READONLY on a file maps to the owner's write permission (Samba's default
/// mapping); directories ignore it, as Windows does.
pub fn set_read_only(file: &File, meta: &FileMeta, read_only: bool) -> io::Result<()> {
    if meta.is_dir {
        return Ok(());
    }
    let mode = meta.mode & 0o7777;
    let new = if read_only {
        mode & !0o222
    } else {
        mode | 0o200
    };
    if new == mode {
        return Ok(());
    }
    rustix::fs::fchmod(file, Mode::from_bits_truncate(new)).map_err(io::Error::from)
}

/// Makes the kernel report an attribute change of `file` to directory watchers (inotify
/// IN_ATTRIB, which CHANGE_NOTIFY turns into FILE_ACTION_MODIFIED): its mode is set again,
/// unchanged. Used where SMB changes an attribute Linux does not store.
pub fn report_attribute_change(file: &File) -> io::Result<()> {
    let st = rustix::fs::fstat(file)?;
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    rustix::fs::fchmod(file, mode).map_err(io::Error::from)
}

/// True if the directory has no entries besides `.` and `..`.
pub fn dir_is_empty(dir: &File) -> io::Result<bool> {
    let mut d = rustix::fs::Dir::read_from(dir)?;
    while let Some(entry) = d.read() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Checks that `path` still names the file `expect` (same device and inode, not followed).
fn check_same(
    parent: &std::os::fd::OwnedFd,
    leaf: &str,
    expect: &FileMeta,
) -> Result<(), NtStatus> {
    let found = FileMeta::at(parent, leaf).map_err(|e| io_to_status(&e))?;
    if (found.dev, found.file_id) != (expect.dev, expect.file_id) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    Ok(())
}

/// FileRenameInformation: moves the open's entry from `from` to `to` within the share
/// ([MS-FSCC 2.4.42], [MS-FSA 2.1.5.15.12]). Without `replace`, an existing target is
/// `OBJECT_NAME_COLLISION`; with it, a directory target is still `ACCESS_DENIED` (Windows never
/// replaces a directory by rename).
pub fn rename(
    root: &DiskRoot,
    from: &RelPath,
    to: &RelPath,
    replace: bool,
    expect: &FileMeta,
) -> Result<(), NtStatus> {
    let (Some(from_leaf), Some(to_leaf)) = (from.leaf(), to.leaf()) else {
        // The share root can be neither renamed nor replaced.
        return Err(NtStatus::ACCESS_DENIED);
    };
    if from == to {
        return Ok(());
    }
    let from_parent = open_parent(root.fd(), from)?;
    let to_parent = open_parent(root.fd(), to)?;
    check_same(&from_parent, from_leaf, expect)?;
    match FileMeta::at(&to_parent, to_leaf) {
        Ok(existing) if !replace => {
            // A rename that only changes case lands on the same file on a case-insensitive
            // host; on Linux the names differ, so this is a real collision.
            let _ = existing;
            return Err(NtStatus::OBJECT_NAME_COLLISION);
        }
        Ok(existing) if existing.is_dir => return Err(NtStatus::ACCESS_DENIED),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_to_status(&e)),
    }
    let flags = if replace {
        RenameFlags::empty()
    } else {
        RenameFlags::NOREPLACE
    };
    match rustix::fs::renameat_with(&from_parent, from_leaf, &to_parent, to_leaf, flags) {
        Ok(()) => Ok(()),
        // Filesystems without RENAME_NOREPLACE: we checked above, fall back to plain rename.
        Err(rustix::io::Errno::INVAL) if !replace => {
            rustix::fs::renameat(&from_parent, from_leaf, &to_parent, to_leaf).map_err(errno_status)
        }
        Err(e) => Err(errno_status(e)),
    }
}

/// Deletes the open's entry at `path` (delete-on-close / disposition), provided it is still the
/// same file. A non-empty directory is `DIRECTORY_NOT_EMPTY`.
pub fn unlink(root: &DiskRoot, path: &RelPath, expect: &FileMeta) -> Result<(), NtStatus> {
    let Some(leaf) = path.leaf() else {
        return Err(NtStatus::ACCESS_DENIED);
    };
    let parent = open_parent(root.fd(), path)?;
    check_same(&parent, leaf, expect)?;
    let flags = if expect.is_dir {
        AtFlags::REMOVEDIR
    } else {
        AtFlags::empty()
    };
    rustix::fs::unlinkat(&parent, leaf, flags).map_err(errno_status)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn positional_io_and_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("x"))
            .unwrap();
        assert_eq!(write_at(&f, 3, b"abc").unwrap(), 3);
        assert_eq!(read_at(&f, 0, 10).unwrap(), b"\0\0\0abc");
        assert_eq!(read_at(&f, 6, 10).unwrap(), b"");
        set_end_of_file(&f, 4).unwrap();
        assert_eq!(read_at(&f, 0, 10).unwrap(), b"\0\0\0a");
        assert!(write_at(&f, u64::MAX, b"a").is_err());
        assert!(set_end_of_file(&f, u64::MAX).is_err());
    }

    #[test]
    fn times_zero_and_minus_one_do_not_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, b"x").unwrap();
        let f = File::options().write(true).open(&p).unwrap();
        let before = FileMeta::of(&f, "t").unwrap();
        set_times(&f, 0, u64::MAX).unwrap();
        assert_eq!(
            FileMeta::of(&f, "t").unwrap().last_write_time,
            before.last_write_time
        );
        let when = super::super::meta::unix_to_filetime(1_000_000_000, 123_456_700);
        set_times(&f, 0, when).unwrap();
        assert_eq!(FileMeta::of(&f, "t").unwrap().last_write_time, when);
    }
}
