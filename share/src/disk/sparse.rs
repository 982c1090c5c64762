//! Sparse files ([MS-FSCC 2.3.64] FSCTL_SET_SPARSE, [2.3.67] FSCTL_SET_ZERO_DATA, [2.3.33]
//! FSCTL_QUERY_ALLOCATED_RANGES; [MS-FSA 2.1.5.10.x]) on a Linux file system.
//!
//! The FILE_ATTRIBUTE_SPARSE_FILE flag is a fact Linux has no field for, so it lives in the
//! attribute word of the DOS-attributes xattr (`disk::dos_attrs`), which
//! [`FileMeta`](super::meta::FileMeta) applies, so QUERY_INFO and directory listings report it. Holes are real: zeroing a range of a sparse
//! file punches it (`fallocate(PUNCH_HOLE)`), the allocated ranges come from
//! `SEEK_DATA`/`SEEK_HOLE`, and clearing the flag allocates the holes again. A file without
//! the flag reports its whole extent as allocated, as NTFS does for a non-sparse file.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;

use rustix::fs::{FallocateFlags, SeekFrom};
use rustix::io::Errno;

/// [MS-FSCC 2.6] FILE_ATTRIBUTE_SPARSE_FILE.
pub const FILE_ATTRIBUTE_SPARSE_FILE: u32 = 0x0000_0200;

fn flag_in(stored: super::dos_attrs::DosAttrs) -> bool {
    stored
        .attributes
        .is_some_and(|a| a & FILE_ATTRIBUTE_SPARSE_FILE != 0)
}

/// Is the open file marked sparse? (Any descriptor: `O_PATH` ones are read through /proc.)
pub fn is_sparse<Fd: AsFd>(fd: Fd) -> bool {
    flag_in(super::dos_attrs::read(fd))
}

/// Is the entry `name` of directory `dir` marked sparse? (A final symlink is not followed.)
pub fn is_sparse_at<Fd: AsFd>(dir: Fd, name: &str) -> bool {
    flag_in(super::dos_attrs::read_at(dir, name))
}

/// FSCTL_SET_SPARSE: sets or clears the flag. Clearing it allocates the file's holes again
/// ([MS-FSA 2.1.5.10.28]: a file that is no longer sparse has no unallocated ranges).
pub fn set_sparse(file: &File, on: bool) -> io::Result<()> {
    if !on {
        let size = file.metadata()?.len();
        if size > 0 {
            match rustix::fs::fallocate(file, FallocateFlags::KEEP_SIZE, 0, size) {
                // Best effort: a file system without fallocate, or a handle opened without
                // data access, keeps its holes (they still read as zeros).
                Ok(()) | Err(Errno::OPNOTSUPP) | Err(Errno::BADF) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    super::dos_attrs::update(file, |d| {
        let bits = d.attributes.unwrap_or(0);
        d.attributes = Some(if on {
            bits | FILE_ATTRIBUTE_SPARSE_FILE
        } else {
            bits & !FILE_ATTRIBUTE_SPARSE_FILE
        });
    })?;
    Ok(())
}

/// FSCTL_SET_ZERO_DATA: zeroes `[from, to)` clipped to the end of file (the file never
/// grows, MS-FSCC 2.3.67). In a sparse file the range is deallocated (a hole punched); in
/// another file it stays allocated and reads as zeros.
pub fn zero_range(file: &File, from: u64, to: u64, sparse: bool) -> io::Result<()> {
    let size = file.metadata()?.len();
    let to = to.min(size);
    if from >= to {
        return Ok(());
    }
    let len = to - from;
    let mode = if sparse {
        FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE
    } else {
        FallocateFlags::ZERO_RANGE | FallocateFlags::KEEP_SIZE
    };
    match rustix::fs::fallocate(file, mode, from, len) {
        Ok(()) => Ok(()),
        Err(Errno::OPNOTSUPP) | Err(Errno::INVAL) => write_zeros(file, from, len),
        Err(e) => Err(e.into()),
    }
}

/// Zeroes a range by writing (file systems without the fallocate modes).
fn write_zeros(file: &File, from: u64, len: u64) -> io::Result<()> {
    const STEP: u64 = 64 * 1024;
    let zeros = [0u8; STEP as usize];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(STEP);
        let at = from.checked_add(done).ok_or(io::ErrorKind::InvalidInput)?;
        file.write_all_at(zeros.get(..n as usize).unwrap_or(&[]), at)?;
        done += n;
    }
    Ok(())
}

/// FSCTL_QUERY_ALLOCATED_RANGES: the allocated `(offset, length)` ranges within
/// `[offset, offset + length)` clipped to the end of file, at most `max` of them; the flag
/// says whether more were left out. A file that is not sparse is one allocated range.
pub fn allocated_ranges(
    file: &File,
    offset: u64,
    length: u64,
    sparse: bool,
    max: usize,
) -> io::Result<(Vec<(u64, u64)>, bool)> {
    let size = file.metadata()?.len();
    let end = offset.saturating_add(length).min(size);
    if offset >= end {
        return Ok((Vec::new(), false));
    }
    if !sparse {
        return Ok(if max == 0 {
            (Vec::new(), true)
        } else {
            (vec![(offset, end - offset)], false)
        });
    }
    let mut out = Vec::new();
    let mut at = offset;
    while at < end {
        let data = match rustix::fs::seek(file, SeekFrom::Data(at)) {
            Ok(d) => d,
            Err(Errno::NXIO) => break,
            Err(e) => return Err(e.into()),
        };
        if data >= end {
            break;
        }
        let hole = match rustix::fs::seek(file, SeekFrom::Hole(data)) {
            Ok(h) => h.min(end),
            Err(Errno::NXIO) => end,
            Err(e) => return Err(e.into()),
        };
        if hole <= data {
            break;
        }
        if out.len() == max {
            return Ok((out, true));
        }
        out.push((data, hole - data));
        at = hole;
    }
    Ok((out, false))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn flag_punch_and_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        f.write_all_at(&[7u8; 3 * 65536], 0).unwrap();
        // Not sparse: one range, clipped to the end of file.
        let (r, more) = allocated_ranges(&f, 0, 1 << 30, false, 8).unwrap();
        assert_eq!((r, more), (vec![(0, 3 * 65536)], false));
        if set_sparse(&f, true).is_err() {
            return; // no user xattrs here
        }
        assert!(is_sparse(&f));
        assert!(is_sparse_at(std::fs::File::open(dir.path()).unwrap(), "s"));
        zero_range(&f, 65536, 2 * 65536, true).unwrap();
        let mut buf = [1u8; 16];
        f.read_exact_at(&mut buf, 65536).unwrap();
        assert_eq!(buf, [0u8; 16]);
        let (r, _) = allocated_ranges(&f, 0, 1 << 30, true, 8).unwrap();
        if r.len() == 2 {
            // The file system punched the hole (ext4, xfs, tmpfs).
            assert_eq!(r, vec![(0, 65536), (2 * 65536, 65536)]);
            let (one, more) = allocated_ranges(&f, 0, 1 << 30, true, 1).unwrap();
            assert_eq!((one.len(), more), (1, true));
        }
        // Zeroing past the end never grows the file.
        zero_range(&f, 0, u64::MAX, true).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 3 * 65536);
        set_sparse(&f, false).unwrap();
        assert!(!is_sparse(&f));
        let (r, _) = allocated_ranges(&f, 10, 20, false, 8).unwrap();
        assert_eq!(r, vec![(10, 20)]);
    }
}
