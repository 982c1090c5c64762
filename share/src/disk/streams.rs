//! Alternate data streams ([MS-FSCC 2.1.4] stream names; [MS-FSA 2.1.5.1] opening
//! `file:stream:$DATA`), each stored in one extended attribute of its file:
//! `user.rsmbd.stream.<name>`.
//!
//! A stream name is parsed off the *last* path component before the path is resolved, and it
//! only ever becomes part of an xattr name, never of a host path, so streams cannot affect path
//! confinement. Names are matched case-insensitively (as NTFS does) and keep the spelling they
//! were created with.
//!
//! Size limit: Linux caps one xattr value at 64 KiB ([`MAX_STREAM_SIZE`]), and ext4 keeps all of
//! a file's xattrs in one block (usually 4 KiB) unless the file system has `ea_inode`; a write
//! that does not fit is `STATUS_DISK_FULL`. Each write rewrites the whole value, so streams
//! suit the small metadata clients keep in them (Zone.Identifier, Finder info, thumbnails),
//! not bulk data.

use std::io;
use std::os::fd::AsFd;

use rsmbd_protocol::NtStatus;
use rustix::fs::XattrFlags;

use crate::disk::create::{CreateAction, Disposition};
use crate::disk::path::validate_component;

/// The xattr name prefix of a stream.
pub const XATTR_PREFIX: &str = "user.rsmbd.stream.";
/// Largest stream (Linux XATTR_SIZE_MAX).
pub const MAX_STREAM_SIZE: usize = 64 * 1024;
/// Longest stream name in bytes (xattr names are at most 255 bytes, prefix included).
pub const MAX_STREAM_NAME: usize = 255 - XATTR_PREFIX.len();
/// Most bytes of xattr names we read to list a file's streams.
const MAX_LIST: usize = 64 * 1024;

/// A CREATE name split into the file's path and, for a named stream, the stream name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamName<'a> {
    /// The file part (everything before the first `:` of the last component).
    pub file: &'a str,
    /// The stream name; `None` for the unnamed data stream (`file`, `file::$DATA`).
    pub stream: Option<&'a str>,
}

/// Splits `file:stream[:$DATA]` ([MS-FSCC 2.1.5.1]). A `:` before the last component, an
/// empty stream name with a type other than `$DATA`, a type other than `$DATA`, or an invalid
/// stream name is `OBJECT_NAME_INVALID`.
pub fn split(name: &str) -> Result<StreamName<'_>, NtStatus> {
    let last_start = name.rfind('\\').map_or(0, |i| i + 1);
    let Some(colon) = name.get(last_start..).and_then(|l| l.find(':')) else {
        return Ok(StreamName {
            file: name,
            stream: None,
        });
    };
    let split_at = last_start + colon;
    let file = name.get(..split_at).unwrap_or("");
    let rest = name.get(split_at + 1..).unwrap_or("");
    let (stream, kind) = match rest.split_once(':') {
        Some((s, k)) => (s, Some(k)),
        None => (rest, None),
    };
    if let Some(k) = kind
        && !k.eq_ignore_ascii_case("$DATA")
    {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    if stream.is_empty() {
        // `file::$DATA` is the unnamed stream; `file:` alone is invalid.
        return match kind {
            Some(_) => Ok(StreamName { file, stream: None }),
            None => Err(NtStatus::OBJECT_NAME_INVALID),
        };
    }
    validate_component(stream)?;
    if stream.len() > MAX_STREAM_NAME {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    Ok(StreamName {
        file,
        stream: Some(stream),
    })
}

fn xattr_name(stream: &str) -> String {
    format!("{XATTR_PREFIX}{stream}")
}

fn errno_to_status(e: rustix::io::Errno) -> NtStatus {
    match e {
        rustix::io::Errno::NOSPC | rustix::io::Errno::TOOBIG | rustix::io::Errno::RANGE => {
            NtStatus::DISK_FULL
        }
        rustix::io::Errno::NODATA => NtStatus::OBJECT_NAME_NOT_FOUND,
        rustix::io::Errno::OPNOTSUPP => NtStatus::NOT_SUPPORTED,
        other => crate::disk::errors::io_to_status(&io::Error::from(other)),
    }
}

/// The streams of a file: (name as stored, size), in xattr order.
pub fn list<Fd: AsFd>(fd: Fd) -> Result<Vec<(String, u64)>, NtStatus> {
    let fd = fd.as_fd();
    let len = rustix::fs::flistxattr_query(fd).map_err(errno_to_status)?;
    if len == 0 {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; len.min(MAX_LIST)];
    // A concurrent setxattr may have grown the list (ERANGE): report no streams rather than
    // loop; the next query sees them.
    let n = match rustix::fs::flistxattr(fd, &mut buf[..]) {
        Ok(n) => n,
        Err(rustix::io::Errno::RANGE) => return Ok(Vec::new()),
        Err(e) => return Err(errno_to_status(e)),
    };
    let mut out = Vec::new();
    for raw in buf.get(..n).unwrap_or(&[]).split(|b| *b == 0) {
        let Some(stream) = std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.strip_prefix(XATTR_PREFIX))
        else {
            continue;
        };
        let size = rustix::fs::fgetxattr_query(fd, raw).unwrap_or(0);
        out.push((stream.to_owned(), size as u64));
    }
    Ok(out)
}

/// The stored spelling of `stream` on the file, matched case-insensitively.
pub fn find<Fd: AsFd>(fd: Fd, stream: &str) -> Result<Option<String>, NtStatus> {
    let want = stream.to_lowercase();
    Ok(list(fd)?
        .into_iter()
        .map(|(name, _)| name)
        .find(|n| n.to_lowercase() == want))
}

/// The whole content of `stream` (its stored spelling).
pub fn read<Fd: AsFd>(fd: Fd, stream: &str) -> Result<Vec<u8>, NtStatus> {
    let fd = fd.as_fd();
    let name = xattr_name(stream);
    let len = rustix::fs::fgetxattr_query(fd, &name).map_err(errno_to_status)?;
    let mut buf = vec![0u8; len.min(MAX_STREAM_SIZE)];
    let n = rustix::fs::fgetxattr(fd, &name, &mut buf[..]).map_err(errno_to_status)?;
    buf.truncate(n);
    Ok(buf)
}

/// Replaces the content of `stream` (creating it), or `DISK_FULL` past the size limit.
pub fn write<Fd: AsFd>(fd: Fd, stream: &str, data: &[u8]) -> Result<(), NtStatus> {
    if data.len() > MAX_STREAM_SIZE {
        return Err(NtStatus::DISK_FULL);
    }
    rustix::fs::fsetxattr(fd, xattr_name(stream), data, XattrFlags::empty())
        .map_err(errno_to_status)
}

/// Writes `data` at `offset` into `stream` (read, splice, write back); returns the count.
pub fn write_at<Fd: AsFd>(
    fd: Fd,
    stream: &str,
    offset: u64,
    data: &[u8],
) -> Result<usize, NtStatus> {
    let fd = fd.as_fd();
    let end = offset
        .checked_add(data.len() as u64)
        .ok_or(NtStatus::INVALID_PARAMETER)?;
    if end > MAX_STREAM_SIZE as u64 {
        return Err(NtStatus::DISK_FULL);
    }
    let mut content = match read(fd, stream) {
        // Deleted meanwhile through another handle: the write recreates it, as a file would.
        Err(NtStatus::OBJECT_NAME_NOT_FOUND) => Vec::new(),
        other => other?,
    };
    let (start, end) = (offset as usize, end as usize);
    if content.len() < end {
        content.resize(end, 0);
    }
    if let Some(dst) = content.get_mut(start..end) {
        dst.copy_from_slice(data);
    }
    write(fd, stream, &content)?;
    Ok(data.len())
}

/// Sets the stream's length (FileEndOfFileInformation): truncates or zero-extends.
pub fn set_len<Fd: AsFd>(fd: Fd, stream: &str, len: u64) -> Result<(), NtStatus> {
    if len > MAX_STREAM_SIZE as u64 {
        return Err(NtStatus::DISK_FULL);
    }
    let fd = fd.as_fd();
    let mut content = read(fd, stream)?;
    content.resize(len as usize, 0);
    write(fd, stream, &content)
}

/// Deletes `stream`.
pub fn remove<Fd: AsFd>(fd: Fd, stream: &str) -> Result<(), NtStatus> {
    rustix::fs::fremovexattr(fd, xattr_name(stream)).map_err(errno_to_status)
}

/// Renames `from` to `to` on the same file ([MS-FSCC 2.4.42] with a `:stream` target): the
/// content moves; an existing `to` is `OBJECT_NAME_COLLISION` unless `replace`.
pub fn rename<Fd: AsFd>(fd: Fd, from: &str, to: &str, replace: bool) -> Result<(), NtStatus> {
    let fd = fd.as_fd();
    if let Some(existing) = find(fd, to)? {
        if existing == from {
            return Ok(());
        }
        if !replace {
            return Err(NtStatus::OBJECT_NAME_COLLISION);
        }
        remove(fd, &existing)?;
    }
    let content = read(fd, from)?;
    write(fd, to, &content)?;
    remove(fd, from)
}

/// Opens `stream` of the open file `fd` as CreateDisposition says ([MS-FSA 2.1.5.1.2]);
/// returns the stored name, what happened and the stream's size.
pub fn open<Fd: AsFd>(
    fd: Fd,
    stream: &str,
    disposition: Disposition,
    read_only_share: bool,
) -> Result<(String, CreateAction, u64), NtStatus> {
    let fd = fd.as_fd();
    let existing = find(fd, stream)?;
    let modifies = !matches!(disposition, Disposition::Open | Disposition::OpenIf);
    if read_only_share && (existing.is_none() || modifies) {
        return Err(NtStatus::ACCESS_DENIED);
    }
    match (existing, disposition) {
        (None, Disposition::Open | Disposition::Overwrite) => Err(NtStatus::OBJECT_NAME_NOT_FOUND),
        (Some(_), Disposition::Create) => Err(NtStatus::OBJECT_NAME_COLLISION),
        (None, _) => {
            write(fd, stream, b"")?;
            Ok((stream.to_owned(), CreateAction::Created, 0))
        }
        (Some(name), Disposition::Open | Disposition::OpenIf) => {
            let size =
                rustix::fs::fgetxattr_query(fd, xattr_name(&name)).map_err(errno_to_status)?;
            Ok((name, CreateAction::Opened, size as u64))
        }
        (Some(name), d) => {
            write(fd, &name, b"")?;
            let action = if d == Disposition::Supersede {
                CreateAction::Superseded
            } else {
                CreateAction::Overwritten
            };
            Ok((name, action, 0))
        }
    }
}

/// The disposition for the file that carries a stream: created if the stream may be.
pub fn file_disposition(stream_disposition: Disposition) -> Disposition {
    match stream_disposition {
        Disposition::Open | Disposition::Overwrite => Disposition::Open,
        _ => Disposition::OpenIf,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn names_split_on_the_last_component_only() {
        let s = |file, stream| StreamName { file, stream };
        assert_eq!(split("a\\b.txt").unwrap(), s("a\\b.txt", None));
        assert_eq!(split("a\\b.txt::$DATA").unwrap(), s("a\\b.txt", None));
        assert_eq!(split("b:zone").unwrap(), s("b", Some("zone")));
        assert_eq!(split("d\\b:Zone:$data").unwrap(), s("d\\b", Some("Zone")));
        assert_eq!(split("b:"), Err(NtStatus::OBJECT_NAME_INVALID));
        assert_eq!(
            split("b:s:$INDEX_ALLOCATION"),
            Err(NtStatus::OBJECT_NAME_INVALID)
        );
        assert_eq!(split("b:s:$DATA:x"), Err(NtStatus::OBJECT_NAME_INVALID));
        assert_eq!(split("b:s*"), Err(NtStatus::OBJECT_NAME_INVALID));
        assert_eq!(split("b:..").unwrap_err(), NtStatus::OBJECT_NAME_INVALID);
        // A colon earlier in the path stays in the file part, which path parsing refuses.
        assert_eq!(split("c:\\x").unwrap(), s("c:\\x", None));
        let long = "x".repeat(MAX_STREAM_NAME + 1);
        assert!(split(&format!("f:{long}")).is_err());
    }

    #[test]
    fn xattr_round_trip_rename_and_limits() {
        let d = tempfile::tempdir().unwrap();
        let f = std::fs::File::create(d.path().join("f")).unwrap();
        assert_eq!(list(&f).unwrap(), vec![]);
        write_at(&f, "Zone", 3, b"abc").unwrap();
        assert_eq!(read(&f, "Zone").unwrap(), b"\0\0\0abc");
        assert_eq!(find(&f, "zONE").unwrap().as_deref(), Some("Zone"));
        set_len(&f, "Zone", 4).unwrap();
        assert_eq!(list(&f).unwrap(), vec![("Zone".to_owned(), 4)]);
        rename(&f, "Zone", "other", false).unwrap();
        assert_eq!(find(&f, "zone").unwrap(), None);
        assert_eq!(read(&f, "Zone"), Err(NtStatus::OBJECT_NAME_NOT_FOUND));
        assert_eq!(
            write_at(&f, "other", MAX_STREAM_SIZE as u64, b"x"),
            Err(NtStatus::DISK_FULL)
        );
        remove(&f, "other").unwrap();
        assert!(list(&f).unwrap().is_empty());
    }
}
