//! Server-side copy of a byte range between two open files: the data path of
//! FSCTL_SRV_COPYCHUNK ([MS-SMB2 3.3.5.15.6]).
//!
//! The kernel copies (`copy_file_range`: no bytes cross into user space, and file systems
//! that can share extents or copy on the server side do so). Where it cannot (an older kernel,
//! two file systems that refuse it, or a source range that overlaps its target in the same
//! file, which `copy_file_range` rejects), the range goes through one bounce buffer: read whole,
//! then written, so an overlapping copy reads its source before overwriting it, as Windows does
//! for one chunk.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use rustix::io::Errno;

/// Copies `len` bytes from `src` at `src_off` to `dst` at `dst_off`; returns the bytes
/// copied (fewer only if the source ends first). `same_file`: both descriptors name one file.
pub fn copy_range(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
    same_file: bool,
) -> io::Result<u64> {
    let end = |o: u64| o.checked_add(len).ok_or(io::ErrorKind::InvalidInput);
    let (src_end, dst_end) = (end(src_off)?, end(dst_off)?);
    if dst_end > i64::MAX as u64 || src_end > i64::MAX as u64 {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    let overlap = same_file && src_off < dst_end && dst_off < src_end;
    if !overlap && let Ok(n) = kernel_copy(src, src_off, dst, dst_off, len) {
        return Ok(n);
    }
    bounce_copy(src, src_off, dst, dst_off, len)
}

/// `copy_file_range` could not start; copy through user space instead.
struct Fallback;

fn kernel_copy(
    src: &File,
    src_off: u64,
    dst: &File,
    dst_off: u64,
    len: u64,
) -> Result<u64, Fallback> {
    let (mut so, mut dof, mut done) = (src_off, dst_off, 0u64);
    while done < len {
        let want = usize::try_from(len - done).unwrap_or(usize::MAX);
        match rustix::fs::copy_file_range(src, Some(&mut so), dst, Some(&mut dof), want) {
            Ok(0) => break,
            Ok(n) => done += n as u64,
            Err(Errno::INTR) => {}
            // Nothing written yet: the caller may copy another way. After a partial kernel
            // copy, the rest still goes through the bounce path from where it stopped.
            Err(_) if done == 0 => return Err(Fallback),
            Err(_) => {
                return bounce_copy(src, so, dst, dof, len - done)
                    .map(|n| done + n)
                    .map_err(|_| Fallback);
            }
        }
    }
    Ok(done)
}

/// Largest range one call copies through user space (a COPYCHUNK chunk is at most 1 MiB).
pub const MAX_BOUNCE: u64 = 16 * 1024 * 1024;

fn bounce_copy(src: &File, src_off: u64, dst: &File, dst_off: u64, len: u64) -> io::Result<u64> {
    if len > MAX_BOUNCE {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buf = vec![0u8; len];
    let n = super::file::read_at_into(src, src_off, &mut buf)?;
    let data = buf.get(..n).unwrap_or(&[]);
    dst.write_all_at(data, dst_off)?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn file(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> File {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        File::options().read(true).write(true).open(p).unwrap()
    }

    #[test]
    fn copies_between_files_and_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let src = file(&dir, "s", &data);
        let dst = file(&dir, "d", b"");
        assert_eq!(
            copy_range(&src, 0, &dst, 4096, 10_000, false).unwrap(),
            10_000
        );
        let out = std::fs::read(dir.path().join("d")).unwrap();
        assert_eq!(&out[..4096], &[0u8; 4096][..]);
        assert_eq!(&out[4096..], &data[..]);
        // The source ends first: only what is there is copied.
        assert_eq!(
            copy_range(&src, 9_000, &dst, 0, 4096, false).unwrap(),
            1_000
        );
    }

    #[test]
    fn overlapping_copy_in_one_file_reads_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(&dir, "f", b"abcdefghij");
        assert_eq!(copy_range(&f, 0, &f, 4, 6, true).unwrap(), 6);
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"abcdabcdef");
    }

    #[test]
    fn offsets_that_overflow_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(&dir, "f", b"x");
        assert!(copy_range(&f, u64::MAX, &f, 0, 2, true).is_err());
        assert!(copy_range(&f, 0, &f, i64::MAX as u64, 2, true).is_err());
    }
}
