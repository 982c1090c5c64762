//! Share-relative paths and confined resolution.
//!
//! [`RelPath::parse`] validates an SMB2 CREATE file name ([MS-SMB2 2.2.13]: a path relative to
//! the share root, `\`-separated) against the NTFS naming rules ([MS-FSCC 2.1.5]); it refuses
//! everything that could name something outside the share before the file system sees it.
//! [`open_beneath`] then opens the path from the share root's directory fd with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`, so the *kernel* refuses any resolution
//! that leaves the root, at the moment of the open: there is no check-then-use window even if a
//! component is swapped for a symlink between two requests.
//!
//! Symlinks: a symlink whose target stays inside the share is followed (as Samba does with
//! `wide links = no`); one that leads outside fails with `EXDEV` (→ `ACCESS_DENIED`). On kernels
//! without `openat2` (before 5.6, or a seccomp filter that hides it) the fallback walks one
//! component at a time with `O_NOFOLLOW` and refuses *every* symlink (`ELOOP`).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use rsmbd_protocol::NtStatus;
use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};

/// Longest single component, in UTF-8 bytes (Linux `NAME_MAX`).
pub const MAX_COMPONENT_BYTES: usize = 255;
/// Longest whole path, in UTF-8 bytes (Linux `PATH_MAX` less the terminator).
pub const MAX_PATH_BYTES: usize = 4095;

/// A validated path relative to a share root: zero components is the root itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct RelPath {
    components: Vec<String>,
}

/// Characters NTFS forbids in a name ([MS-FSCC 2.1.5.2]), plus `/` (a separator on the host).
/// `:` is the stream separator (`file:stream:$DATA`): CREATE splits a stream name off the last
/// component first (`disk::streams`), so any `:` left in a path is refused.
fn is_forbidden_char(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x1f' | '"' | '*' | '/' | ':' | '<' | '>' | '?' | '|' | '\\'
    )
}

/// Validates one path component: non-empty, not `.`/`..`, no forbidden character, short enough.
pub fn validate_component(name: &str) -> Result<(), NtStatus> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    if name.len() > MAX_COMPONENT_BYTES {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    if name.chars().any(is_forbidden_char) {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    Ok(())
}

/// True when the `\\`-separated `..` components of `name` climb above its start.
fn climbs_above_root(name: &str) -> bool {
    let mut depth: usize = 0;
    for part in name.split('\\') {
        if part == ".." {
            match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            }
        } else {
            depth = depth.saturating_add(1);
        }
    }
    false
}

impl RelPath {
    /// The share root.
    pub fn root() -> Self {
        Self::default()
    }

    /// Parses an SMB2 file name relative to the share root ([MS-SMB2 3.3.5.9]).
    ///
    /// - empty: the root;
    /// - a leading `\` is `STATUS_INVALID_PARAMETER` (3.3.5.9: "the first character is a path
    ///   separator"), which also covers `\\server\share` and `\\?\` forms;
    /// - one trailing `\` is tolerated (`dir\`), as Windows does;
    /// - empty or `.` components, NUL and control characters, wildcards, `:` (drive letters
    ///   and stream names), `/`, and components over 255 bytes are `STATUS_OBJECT_NAME_INVALID`;
    /// - `..` removes the component before it, lexically (`dir\\sub\\..` is `dir`, as Samba
    ///   resolves it); one that would climb above the share root (`..\\x`, `a\\..\\..`) is
    ///   `STATUS_OBJECT_PATH_SYNTAX_BAD`, as Samba answers and smbtorture's smb2.mkdir expects.
    pub fn parse(name: &str) -> Result<Self, NtStatus> {
        if name.is_empty() {
            return Ok(Self::root());
        }
        if name.starts_with('\\') {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        if name.len() > MAX_PATH_BYTES {
            return Err(NtStatus::OBJECT_NAME_INVALID);
        }
        let trimmed = name.strip_suffix('\\').unwrap_or(name);
        if climbs_above_root(trimmed) {
            return Err(NtStatus::OBJECT_PATH_SYNTAX_BAD);
        }
        let mut components: Vec<String> = Vec::new();
        for part in trimmed.split('\\') {
            if part == ".." {
                // Lexically, as Samba does (`dir\\sub\\..`): never above the root (checked
                // above), and what is left is still resolved beneath the share root.
                components.pop();
                continue;
            }
            validate_component(part)?;
            components.push(part.to_owned());
        }
        Ok(Self { components })
    }

    /// True for the share root.
    pub fn is_root(&self) -> bool {
        self.components.is_empty()
    }

    /// The components, outermost first.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The last component (`None` for the root).
    pub fn leaf(&self) -> Option<&str> {
        self.components.last().map(String::as_str)
    }

    /// The containing directory (`None` for the root).
    pub fn parent(&self) -> Option<RelPath> {
        let (_, init) = self.components.split_last()?;
        Some(Self {
            components: init.to_vec(),
        })
    }

    /// This path with one more (already validated) component.
    pub fn join(&self, component: &str) -> Result<RelPath, NtStatus> {
        validate_component(component)?;
        let mut components = self.components.clone();
        components.push(component.to_owned());
        Ok(Self { components })
    }

    /// True if `self` is `dir` or lies below it.
    pub fn is_within(&self, dir: &RelPath) -> bool {
        self.components.starts_with(&dir.components)
    }

    /// Host form relative to the root: `a/b/c`, or `.` for the root.
    pub fn to_host(&self) -> String {
        if self.is_root() {
            ".".to_owned()
        } else {
            self.components.join("/")
        }
    }

    /// SMB form: `a\b\c`, empty for the root.
    pub fn to_smb(&self) -> String {
        self.components.join("\\")
    }
}

/// Whether this kernel lets us call `openat2` (probed once).
fn have_openat2(root: BorrowedFd<'_>) -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| {
        let probe = rustix::fs::openat2(
            root,
            ".",
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH,
        );
        !matches!(
            probe,
            Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM)
        )
    })
}

/// Opens `path` beneath the directory `root` with `flags` (and `mode` when creating).
///
/// `O_CLOEXEC` and `O_NONBLOCK` are always added: the latter so that a FIFO or device node
/// inside the share can never block a worker thread (callers refuse non-regular files anyway).
pub fn open_beneath(
    root: BorrowedFd<'_>,
    path: &RelPath,
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    if have_openat2(root) {
        open_beneath_openat2(root, path, flags, mode)
    } else {
        open_beneath_walk(root, path, flags, mode)
    }
}

/// The `openat2` resolver: the kernel confines the whole resolution to `root`.
pub fn open_beneath_openat2(
    root: BorrowedFd<'_>,
    path: &RelPath,
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    // openat2 is strict where open(2) is lax: with O_PATH any flag besides O_CLOEXEC,
    // O_DIRECTORY and O_NOFOLLOW is EINVAL, so O_NONBLOCK is only added to real opens.
    let flags = if flags.contains(OFlags::PATH) {
        flags | OFlags::CLOEXEC
    } else {
        flags | OFlags::CLOEXEC | OFlags::NONBLOCK
    };
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    // EAGAIN: RESOLVE_CACHED is not used, but the kernel may still ask for a retry if a rename
    // raced the lookup (it does so for RESOLVE_BENEATH); retry a bounded number of times.
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(root, path.to_host(), flags, mode, resolve) {
            Err(rustix::io::Errno::AGAIN) if tries < 8 => tries += 1,
            // Still racing after several tries: treat it as the escape attempt it may be.
            Err(rustix::io::Errno::AGAIN) => return Err(io::Error::from(rustix::io::Errno::XDEV)),
            other => return other.map_err(io::Error::from),
        }
    }
}

/// The fallback resolver: one `openat(O_NOFOLLOW)` per component, refusing every symlink.
pub fn open_beneath_walk(
    root: BorrowedFd<'_>,
    path: &RelPath,
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    let flags = flags | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOFOLLOW;
    let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let Some((leaf, dirs)) = path.components().split_last() else {
        return rustix::fs::openat(root, ".", flags, mode).map_err(io::Error::from);
    };
    let mut cur: Option<OwnedFd> = None;
    for comp in dirs {
        let at = cur.as_ref().map_or(root, |fd| fd.as_fd());
        // O_PATH|O_NOFOLLOW opens a symlink itself instead of failing; O_DIRECTORY makes that
        // ENOTDIR, which we report as the symlink refusal it is.
        let next = rustix::fs::openat(at, comp.as_str(), dir_flags, Mode::empty())
            .map_err(io::Error::from)?;
        cur = Some(next);
    }
    let at = cur.as_ref().map_or(root, |fd| fd.as_fd());
    let fd = rustix::fs::openat(at, leaf.as_str(), flags, mode).map_err(io::Error::from)?;
    if flags.contains(OFlags::PATH) {
        // O_PATH|O_NOFOLLOW succeeds on a symlink; refuse it like the non-O_PATH case would.
        let st = rustix::fs::fstat(&fd).map_err(io::Error::from)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            return Err(io::Error::from(rustix::io::Errno::LOOP));
        }
    }
    Ok(fd)
}

/// Opens the directory containing `path` (for `mkdirat`/`unlinkat`/`renameat` on the leaf).
/// A missing or non-directory intermediate component is `STATUS_OBJECT_PATH_NOT_FOUND`, as
/// Windows reports it.
pub fn open_parent(root: BorrowedFd<'_>, path: &RelPath) -> Result<OwnedFd, NtStatus> {
    let parent = path.parent().unwrap_or_default();
    open_beneath(
        root,
        &parent,
        OFlags::PATH | OFlags::DIRECTORY,
        Mode::empty(),
    )
    .map_err(
        |e| match e.raw_os_error().map(rustix::io::Errno::from_raw_os_error) {
            Some(rustix::io::Errno::NOENT) | Some(rustix::io::Errno::NOTDIR) => {
                NtStatus::OBJECT_PATH_NOT_FOUND
            }
            _ => super::errors::io_to_status(&e),
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn parses_plain_names() {
        assert!(RelPath::parse("").unwrap().is_root());
        let p = RelPath::parse("dir\\sub\\file.txt").unwrap();
        assert_eq!(p.components(), ["dir", "sub", "file.txt"]);
        assert_eq!(p.to_host(), "dir/sub/file.txt");
        assert_eq!(p.to_smb(), "dir\\sub\\file.txt");
        assert_eq!(p.leaf(), Some("file.txt"));
        assert_eq!(p.parent().unwrap().to_host(), "dir/sub");
        assert_eq!(RelPath::parse("dir\\").unwrap().components(), ["dir"]);
        assert!(p.is_within(&RelPath::parse("dir").unwrap()));
        assert!(p.is_within(&RelPath::root()));
        assert!(!p.is_within(&RelPath::parse("di").unwrap()));
        assert_eq!(
            RelPath::parse("ünïcødé €").unwrap().components(),
            ["ünïcødé €"]
        );
    }

    #[test]
    fn refuses_escapes_and_bad_names() {
        let bad = |s: &str| RelPath::parse(s).unwrap_err();
        assert_eq!(bad(".."), NtStatus::OBJECT_PATH_SYNTAX_BAD);
        assert_eq!(bad("..\\.."), NtStatus::OBJECT_PATH_SYNTAX_BAD);
        assert_eq!(bad("a\\..\\..\\etc"), NtStatus::OBJECT_PATH_SYNTAX_BAD);
        assert_eq!(
            RelPath::parse("a\\..\\b").unwrap().components(),
            ["b".to_string()]
        );
        assert!(RelPath::parse("a\\b\\..\\..").unwrap().is_root());
        assert_eq!(bad("a\\..\\b*"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad("."), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad("\\etc\\passwd"), NtStatus::INVALID_PARAMETER);
        assert_eq!(bad("\\\\?\\C:\\x"), NtStatus::INVALID_PARAMETER);
        assert_eq!(bad("\\\\server\\share\\x"), NtStatus::INVALID_PARAMETER);
        assert_eq!(bad("C:\\Windows"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad("C:"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad("file.txt:stream:$DATA"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad("a\0b"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad("a/../../etc"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad("/etc/passwd"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad("a\\\\b"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad("a*"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad("a?"), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad(&"x".repeat(256)), NtStatus::OBJECT_NAME_INVALID);
        assert!(RelPath::parse(&"x".repeat(255)).is_ok());
        // 128 two-byte characters: 256 UTF-8 bytes.
        assert_eq!(bad(&"é".repeat(128)), NtStatus::OBJECT_NAME_INVALID);
        assert_eq!(bad(&"a\\".repeat(3000)), NtStatus::OBJECT_NAME_INVALID);
    }
}
