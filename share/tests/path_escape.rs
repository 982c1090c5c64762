//! Confinement: no name, symlink or swap between requests reaches outside the share root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::os::unix::fs::symlink;

use common::*;
use rsmbd_protocol::NtStatus;
use rsmbd_share::disk::path::{RelPath, open_beneath_openat2, open_beneath_walk};
use rustix::fs::{Mode, OFlags};

/// A fixture with a directory `outside/` next to the share holding a `secret` file.
fn fixture() -> Fixture {
    let f = Fixture::new();
    std::fs::create_dir(f.dir.path().join("outside")).unwrap();
    std::fs::write(f.dir.path().join("outside/secret"), b"top secret").unwrap();
    f
}

#[test]
fn dot_dot_absolute_drive_unc_nul_and_streams_are_refused() {
    let f = fixture();
    let cx = f.tree();
    let cases: &[(&str, NtStatus)] = &[
        // `..` above the root is a bad path (as Samba); others resolve lexically (share::disk::path).
        ("..", NtStatus::OBJECT_PATH_SYNTAX_BAD),
        ("..\\outside\\secret", NtStatus::OBJECT_PATH_SYNTAX_BAD),
        ("..\\..", NtStatus::OBJECT_PATH_SYNTAX_BAD),
        (
            "sub\\..\\..\\outside\\secret",
            NtStatus::OBJECT_PATH_SYNTAX_BAD,
        ),
        (".\\x", NtStatus::OBJECT_NAME_INVALID),
        ("\\etc\\passwd", NtStatus::INVALID_PARAMETER),
        ("/etc/passwd", NtStatus::OBJECT_NAME_INVALID),
        ("..//outside/secret", NtStatus::OBJECT_NAME_INVALID),
        ("C:\\Windows\\win.ini", NtStatus::OBJECT_NAME_INVALID),
        ("C:", NtStatus::OBJECT_NAME_INVALID),
        ("\\\\?\\C:\\x", NtStatus::INVALID_PARAMETER),
        ("\\\\server\\share\\x", NtStatus::INVALID_PARAMETER),
        ("a\0b", NtStatus::OBJECT_NAME_INVALID),
        // Stream syntax names a stream (an xattr) of a confined file, never a path.
        ("..\\outside\\secret:s", NtStatus::OBJECT_PATH_SYNTAX_BAD),
        (
            "..\\outside\\secret::$DATA",
            NtStatus::OBJECT_PATH_SYNTAX_BAD,
        ),
        ("file.txt:..", NtStatus::OBJECT_NAME_INVALID),
        ("file.txt:a:b", NtStatus::OBJECT_NAME_INVALID),
        ("file.txt:", NtStatus::OBJECT_NAME_INVALID),
        ("x:s\\y", NtStatus::OBJECT_NAME_INVALID),
        ("wild*", NtStatus::OBJECT_NAME_INVALID),
    ];
    for (name, want) in cases {
        assert_eq!(
            create(&cx, name, OPEN_IF, 0, GENERIC_ALL).unwrap_err(),
            *want,
            "{name:?}"
        );
    }
    let long = "x".repeat(256);
    assert_eq!(
        create(&cx, &long, OPEN_IF, 0, GENERIC_ALL).unwrap_err(),
        NtStatus::OBJECT_NAME_INVALID
    );
    // Nothing was created anywhere.
    assert_eq!(std::fs::read_dir(f.root()).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_dir(f.dir.path().join("outside"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn symlink_to_etc_is_refused() {
    let f = fixture();
    symlink("/etc", f.root().join("etc")).unwrap();
    symlink("/etc/passwd", f.root().join("passwd")).unwrap();
    let cx = f.tree();
    assert_eq!(
        create(&cx, "etc\\passwd", OPEN, 0, GENERIC_READ).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        create(&cx, "etc", OPEN, 0, GENERIC_READ).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        create(&cx, "passwd", OPEN, 0, GENERIC_READ).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        create(&cx, "etc\\new-file", CREATE, 0, GENERIC_ALL).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert!(!std::path::Path::new("/etc/new-file").exists());
}

#[test]
fn relative_symlink_out_and_dangling_leaf_create_nothing_outside() {
    let f = fixture();
    symlink("../outside", f.root().join("out")).unwrap();
    symlink("../outside/planted", f.root().join("dangling")).unwrap();
    let cx = f.tree();
    assert_eq!(
        create(&cx, "out\\secret", OPEN, 0, GENERIC_READ).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        create(&cx, "out\\new", OPEN_IF, 0, GENERIC_ALL).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    for disp in [CREATE, OPEN_IF, OVERWRITE_IF, SUPERSEDE] {
        assert!(
            create(&cx, "dangling", disp, 0, GENERIC_ALL).is_err(),
            "disp {disp}"
        );
    }
    assert!(!f.dir.path().join("outside/planted").exists());
    assert!(!f.dir.path().join("outside/new").exists());
}

#[test]
fn proc_magic_links_are_refused() {
    let f = fixture();
    symlink("/proc/self/root", f.root().join("magic")).unwrap();
    let cx = f.tree();
    assert!(create(&cx, "magic\\etc\\passwd", OPEN, 0, GENERIC_READ).is_err());
}

#[test]
fn symlinks_inside_the_share_are_followed() {
    let f = fixture();
    std::fs::create_dir(f.root().join("sub")).unwrap();
    std::fs::write(f.root().join("sub/f.txt"), b"inside").unwrap();
    symlink("sub", f.root().join("alias")).unwrap();
    let cx = f.tree();
    let r = create(&cx, "alias\\f.txt", OPEN, 0, GENERIC_READ).unwrap();
    assert_eq!(read(&cx, r.file_id, 0, 100).unwrap(), b"inside");
    close(&cx, r.file_id).unwrap();
}

#[test]
fn directory_swapped_for_a_symlink_between_requests() {
    let f = fixture();
    let cx = f.tree();
    let d = create(&cx, "d", CREATE, DIRECTORY_FILE, GENERIC_ALL).unwrap();
    close(&cx, d.file_id).unwrap();
    let h = create(&cx, "d\\secret", CREATE, 0, GENERIC_ALL).unwrap();
    write(&cx, h.file_id, 0, b"mine").unwrap();
    // An attacker with host access swaps the directory for a link to the outside.
    std::fs::rename(f.root().join("d"), f.root().join("d.old")).unwrap();
    symlink("../outside", f.root().join("d")).unwrap();
    // New resolutions through the swapped name are refused...
    assert_eq!(
        create(&cx, "d\\secret", OPEN, 0, GENERIC_READ).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    // ...and the handle opened before the swap still refers to the file inside.
    assert_eq!(read(&cx, h.file_id, 0, 10).unwrap(), b"mine");
    // Delete-on-close through the stale path must not delete outside/secret.
    f.session.open(h.file_id).unwrap().set_delete_pending(true);
    close(&cx, h.file_id).unwrap();
    assert_eq!(
        std::fs::read(f.dir.path().join("outside/secret")).unwrap(),
        b"top secret"
    );
    assert!(
        f.root().join("d.old/secret").exists(),
        "not deleted either: the path no longer names it"
    );
}

#[test]
fn leaf_swapped_for_another_file_is_not_deleted() {
    let f = fixture();
    let cx = f.tree();
    let h = create(&cx, "victim", CREATE, DELETE_ON_CLOSE, GENERIC_ALL).unwrap();
    std::fs::rename(f.root().join("victim"), f.root().join("moved")).unwrap();
    std::fs::write(f.root().join("victim"), b"someone else's").unwrap();
    close(&cx, h.file_id).unwrap();
    assert_eq!(
        std::fs::read(f.root().join("victim")).unwrap(),
        b"someone else's"
    );
}

#[test]
fn both_resolvers_confine() {
    let f = fixture();
    std::fs::create_dir(f.root().join("sub")).unwrap();
    std::fs::write(f.root().join("sub/ok"), b"ok").unwrap();
    symlink("../outside", f.root().join("out")).unwrap();
    symlink("sub", f.root().join("alias")).unwrap();
    let root =
        rustix::fs::open(f.root(), OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
    let p = |s: &str| RelPath::parse(s).unwrap();
    for open in [open_beneath_openat2, open_beneath_walk] {
        assert!(
            open(
                root.as_fd_ref(),
                &p("sub\\ok"),
                OFlags::RDONLY,
                Mode::empty()
            )
            .is_ok()
        );
        assert!(
            open(
                root.as_fd_ref(),
                &p("out\\secret"),
                OFlags::RDONLY,
                Mode::empty()
            )
            .is_err()
        );
        assert!(open(root.as_fd_ref(), &p("out"), OFlags::PATH, Mode::empty()).is_err());
    }
    // The openat2 resolver follows inside links; the fallback walk refuses every symlink.
    assert!(
        open_beneath_openat2(
            root.as_fd_ref(),
            &p("alias\\ok"),
            OFlags::RDONLY,
            Mode::empty()
        )
        .is_ok()
    );
    assert!(
        open_beneath_walk(
            root.as_fd_ref(),
            &p("alias\\ok"),
            OFlags::RDONLY,
            Mode::empty()
        )
        .is_err()
    );
    assert!(open_beneath_walk(root.as_fd_ref(), &p("alias"), OFlags::PATH, Mode::empty()).is_err());
}

trait AsFdRef {
    fn as_fd_ref(&self) -> std::os::fd::BorrowedFd<'_>;
}
impl AsFdRef for std::os::fd::OwnedFd {
    fn as_fd_ref(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.as_fd()
    }
}

/// A small deterministic generator (xorshift) so the fuzz-style test needs no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_names_never_touch_the_outside() {
    let f = fixture();
    std::fs::create_dir(f.root().join("sub")).unwrap();
    symlink("../outside", f.root().join("out")).unwrap();
    symlink("/", f.root().join("slash")).unwrap();
    symlink("sub", f.root().join("alias")).unwrap();
    let cx = f.tree();
    let pieces = [
        "..", ".", "\\", "/", ":", "\0", "a", "sub", "out", "slash", "alias", "etc", "x.txt", "*",
        "?", "C:", "\\\\", "$DATA", "é", " ", "~", "outside", "secret",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut opened = 0;
    for _ in 0..3000 {
        let n = 1 + (rng.next() % 6) as usize;
        let name: String = (0..n)
            .map(|_| pieces[(rng.next() % pieces.len() as u64) as usize])
            .collect();
        let disp = [OPEN, CREATE, OPEN_IF, OVERWRITE_IF, SUPERSEDE][(rng.next() % 5) as usize];
        let opts =
            [0, DIRECTORY_FILE, NON_DIRECTORY_FILE, DELETE_ON_CLOSE][(rng.next() % 4) as usize];
        if let Ok(r) = create(&cx, &name, disp, opts, GENERIC_ALL) {
            let _ = write(&cx, r.file_id, 0, b"fuzz");
            close(&cx, r.file_id).unwrap();
            opened += 1;
        }
    }
    assert!(
        opened > 100,
        "the generator must also produce valid names ({opened} opened)"
    );
    // The outside directory still holds exactly its one untouched file.
    let outside: Vec<_> = std::fs::read_dir(f.dir.path().join("outside"))
        .unwrap()
        .collect();
    assert_eq!(outside.len(), 1);
    assert_eq!(
        std::fs::read(f.dir.path().join("outside/secret")).unwrap(),
        b"top secret"
    );
    // Nothing appeared next to the share root either.
    let mut siblings: Vec<String> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    siblings.sort();
    assert_eq!(siblings, ["outside", "share"]);
}
