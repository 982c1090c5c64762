//! The one place where a host I/O error becomes an NTSTATUS.
//!
//! The mapping follows what Windows (and Samba's `map_nt_error_from_unix`) report for the same
//! condition, so clients see the statuses their own code expects. [MS-ERREF 2.3] names the codes.
//!
//! [MS-ERREF 2.3]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-erref/596a1078-e883-4972-9bbc-49e60bebca55

use std::io;

use rsmbd_protocol::NtStatus;

/// Maps an I/O error from the disk backend to the NTSTATUS a Windows server would return.
///
/// `ENOENT` becomes `OBJECT_NAME_NOT_FOUND`; callers that know an *intermediate* component was
/// missing report `OBJECT_PATH_NOT_FOUND` themselves (see `disk::path`). `EXDEV` comes from
/// `openat2(RESOLVE_BENEATH)` refusing a path that leaves the share, so it is `ACCESS_DENIED`;
/// `ELOOP` is a symlink we refuse to follow (or a loop), reported the same way.
pub fn io_to_status(err: &io::Error) -> NtStatus {
    use rustix::io::Errno;
    let Some(code) = err.raw_os_error() else {
        return match err.kind() {
            io::ErrorKind::NotFound => NtStatus::OBJECT_NAME_NOT_FOUND,
            io::ErrorKind::PermissionDenied => NtStatus::ACCESS_DENIED,
            io::ErrorKind::AlreadyExists => NtStatus::OBJECT_NAME_COLLISION,
            io::ErrorKind::InvalidInput => NtStatus::INVALID_PARAMETER,
            io::ErrorKind::UnexpectedEof => NtStatus::END_OF_FILE,
            _ => NtStatus::UNSUCCESSFUL,
        };
    };
    match Errno::from_raw_os_error(code) {
        Errno::NOENT => NtStatus::OBJECT_NAME_NOT_FOUND,
        Errno::NOTDIR => NtStatus::OBJECT_PATH_NOT_FOUND,
        Errno::ISDIR => NtStatus::FILE_IS_A_DIRECTORY,
        Errno::EXIST => NtStatus::OBJECT_NAME_COLLISION,
        Errno::NOTEMPTY => NtStatus::DIRECTORY_NOT_EMPTY,
        Errno::ACCESS | Errno::PERM => NtStatus::ACCESS_DENIED,
        Errno::XDEV | Errno::LOOP => NtStatus::ACCESS_DENIED,
        Errno::ROFS => NtStatus::MEDIA_WRITE_PROTECTED,
        Errno::NOSPC | Errno::DQUOT => NtStatus::DISK_FULL,
        Errno::FBIG => NtStatus::FILE_TOO_LARGE,
        Errno::NAMETOOLONG => NtStatus::OBJECT_NAME_INVALID,
        Errno::INVAL => NtStatus::INVALID_PARAMETER,
        Errno::MFILE | Errno::NFILE => NtStatus::TOO_MANY_OPENED_FILES,
        Errno::NOMEM => NtStatus::NO_MEMORY,
        Errno::BUSY | Errno::TXTBSY => NtStatus::SHARING_VIOLATION,
        Errno::BADF => NtStatus::INVALID_HANDLE,
        Errno::IO => NtStatus::DATA_ERROR,
        Errno::OPNOTSUPP | Errno::NOSYS => NtStatus::NOT_SUPPORTED,
        Errno::AGAIN => NtStatus::FILE_LOCK_CONFLICT,
        _ => NtStatus::UNSUCCESSFUL,
    }
}

/// Convenience for `map_err`: `.map_err(status)`.
pub fn status(err: io::Error) -> NtStatus {
    io_to_status(&err)
}

/// `rustix::io::Errno` to NTSTATUS, via the same table.
pub fn errno_status(err: rustix::io::Errno) -> NtStatus {
    io_to_status(&io::Error::from(err))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn common_errnos_map_like_windows() {
        let e = |c: rustix::io::Errno| io_to_status(&io::Error::from(c));
        use rustix::io::Errno;
        assert_eq!(e(Errno::NOENT), NtStatus::OBJECT_NAME_NOT_FOUND);
        assert_eq!(e(Errno::EXIST), NtStatus::OBJECT_NAME_COLLISION);
        assert_eq!(e(Errno::NOTEMPTY), NtStatus::DIRECTORY_NOT_EMPTY);
        assert_eq!(e(Errno::XDEV), NtStatus::ACCESS_DENIED);
        assert_eq!(e(Errno::ISDIR), NtStatus::FILE_IS_A_DIRECTORY);
        assert_eq!(e(Errno::NOSPC), NtStatus::DISK_FULL);
        assert_eq!(
            io_to_status(&io::Error::new(io::ErrorKind::NotFound, "x")),
            NtStatus::OBJECT_NAME_NOT_FOUND
        );
    }
}
