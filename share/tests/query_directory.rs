//! QUERY_DIRECTORY: classes, patterns, restart, single entry, buffer limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::borrow::Cow;

use common::*;
use rsmbd_protocol::NtStatus;
use rsmbd_protocol::codec::string_to_utf16le;
use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::fscc::{DirEntry, FileInformationClass as C, decode_dir_entries};
use rsmbd_protocol::messages::query_directory::{QueryDirectoryFlags, QueryDirectoryRequest};
use rsmbd_share::handlers::{self, TreeCx};

fn query(
    cx: &TreeCx,
    id: FileId,
    class: C,
    flags: u8,
    pattern: &str,
    max: u32,
) -> Result<Vec<DirEntry>, NtStatus> {
    let req = QueryDirectoryRequest {
        file_information_class: class.0,
        flags,
        file_index: 0,
        file_id: id,
        file_name: Cow::Owned(string_to_utf16le(pattern)),
        output_buffer_length: max,
    };
    let r = handlers::query_directory::handle(cx, &req)?;
    assert_eq!(r.status, NtStatus::SUCCESS);
    Ok(decode_dir_entries(class, &r.body.buffer).unwrap())
}

fn names(e: &[DirEntry]) -> Vec<&str> {
    e.iter().map(|e| e.name.as_str()).collect()
}

fn setup() -> (Fixture, TreeCx, FileId) {
    let f = Fixture::new();
    for n in ["b.txt", "A.TXT", "c.doc", ".hidden", "noext"] {
        std::fs::write(f.root().join(n), n.as_bytes()).unwrap();
    }
    std::fs::create_dir(f.root().join("sub")).unwrap();
    let cx = f.tree();
    let d = create(&cx, "", OPEN, DIRECTORY_FILE, GENERIC_READ).unwrap();
    (f, cx, d.file_id)
}

#[test]
fn every_class_lists_dot_entries_first_then_sorted_names() {
    let (_f, cx, id) = setup();
    for class in [
        C::FileDirectoryInformation,
        C::FileFullDirectoryInformation,
        C::FileBothDirectoryInformation,
        C::FileIdBothDirectoryInformation,
        C::FileIdFullDirectoryInformation,
        C::FileIdExtdDirectoryInformation,
        C::FileNamesInformation,
    ] {
        let e = query(
            &cx,
            id,
            class,
            QueryDirectoryFlags::RESTART_SCANS,
            "*",
            65536,
        )
        .unwrap();
        assert_eq!(
            names(&e),
            [
                ".", "..", ".hidden", "A.TXT", "b.txt", "c.doc", "noext", "sub"
            ],
            "{class:?}"
        );
        assert_eq!(
            query(&cx, id, class, 0, "*", 65536).unwrap_err(),
            NtStatus::NO_MORE_FILES
        );
    }
    let e = query(
        &cx,
        id,
        C::FileIdBothDirectoryInformation,
        QueryDirectoryFlags::RESTART_SCANS,
        "*",
        65536,
    )
    .unwrap();
    let b = e.iter().find(|e| e.name == "b.txt").unwrap();
    assert_eq!(b.end_of_file, 5);
    assert_eq!(b.file_attributes & 0x10, 0);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        b.file_id,
        std::fs::metadata(_f.root().join("b.txt")).unwrap().ino()
    );
    let sub = e.iter().find(|e| e.name == "sub").unwrap();
    assert_eq!(sub.file_attributes & 0x10, 0x10);
    assert_eq!(b.short_name, "", "8.3 names need no short name");
    let hidden = e.iter().find(|e| e.name == ".hidden").unwrap();
    assert!(
        hidden.short_name.starts_with("HIDDE~"),
        "{}",
        hidden.short_name
    );
    assert_eq!(hidden.file_attributes & 0x2, 0x2);
}

#[test]
fn patterns_are_case_insensitive_with_dos_wildcards() {
    let (_f, cx, id) = setup();
    let q = |p: &str| {
        query(
            &cx,
            id,
            C::FileNamesInformation,
            QueryDirectoryFlags::RESTART_SCANS,
            p,
            65536,
        )
        .map(|e| names(&e).into_iter().map(str::to_owned).collect::<Vec<_>>())
    };
    assert_eq!(q("*.txt").unwrap(), ["A.TXT", "b.txt"]);
    assert_eq!(q("?.TxT").unwrap(), ["A.TXT", "b.txt"]);
    assert_eq!(q("B.TXT").unwrap(), ["b.txt"]);
    assert_eq!(q("b.txt").unwrap(), ["b.txt"], "exact literal");
    assert_eq!(q(".").unwrap(), ["."]);
    assert_eq!(q("missing.txt").unwrap_err(), NtStatus::NO_SUCH_FILE);

    assert_eq!(
        q("<\"*").unwrap().len(),
        8,
        "*.* in its DOS form matches everything"
    );
    assert_eq!(q("noext\"").unwrap(), ["noext"]);
    assert_eq!(q("*.zip").unwrap_err(), NtStatus::NO_SUCH_FILE);
    assert_eq!(q("a\\b").unwrap_err(), NtStatus::OBJECT_NAME_INVALID);
}

#[test]
fn continuation_single_entry_and_restart() {
    let (_f, cx, id) = setup();
    let single = QueryDirectoryFlags::RETURN_SINGLE_ENTRY;
    let first = query(&cx, id, C::FileDirectoryInformation, single, "*", 65536).unwrap();
    assert_eq!(names(&first), ["."]);
    // The pattern of a continuation is ignored: the enumeration keeps "*".
    let second = query(&cx, id, C::FileDirectoryInformation, single, "zzz", 65536).unwrap();
    assert_eq!(names(&second), [".."]);
    let rest = query(&cx, id, C::FileDirectoryInformation, 0, "", 65536).unwrap();
    assert_eq!(rest.len(), 6);
    assert_eq!(
        query(&cx, id, C::FileDirectoryInformation, 0, "", 65536).unwrap_err(),
        NtStatus::NO_MORE_FILES
    );
    // Restart with a new pattern.
    let again = query(
        &cx,
        id,
        C::FileDirectoryInformation,
        QueryDirectoryFlags::RESTART_SCANS,
        "c*",
        65536,
    )
    .unwrap();
    assert_eq!(names(&again), ["c.doc"]);
    // REOPEN too.
    let again = query(
        &cx,
        id,
        C::FileDirectoryInformation,
        QueryDirectoryFlags::REOPEN,
        "sub",
        65536,
    )
    .unwrap();
    assert_eq!(names(&again), ["sub"]);
    // A file created after the enumeration started shows up after a restart.
    std::fs::write(_f.root().join("late"), b"").unwrap();
    let again = query(
        &cx,
        id,
        C::FileNamesInformation,
        QueryDirectoryFlags::RESTART_SCANS,
        "l*",
        65536,
    )
    .unwrap();
    assert_eq!(names(&again), ["late"]);
}

#[test]
fn small_buffers_page_through_without_losing_entries() {
    let f = Fixture::new();
    for i in 0..50 {
        std::fs::write(f.root().join(format!("file-{i:03}.dat")), b"").unwrap();
    }
    let cx = f.tree();
    let d = create(&cx, "", OPEN, 0, GENERIC_READ).unwrap();
    let mut all = Vec::new();
    let mut flags = QueryDirectoryFlags::RESTART_SCANS;
    loop {
        match query(
            &cx,
            d.file_id,
            C::FileIdBothDirectoryInformation,
            flags,
            "file-*",
            400,
        ) {
            Ok(e) => {
                assert!(
                    !e.is_empty() && e.len() <= 3,
                    "400 bytes hold at most 3 entries, got {}",
                    e.len()
                );
                all.extend(e.into_iter().map(|e| e.name));
            }
            Err(s) => {
                assert_eq!(s, NtStatus::NO_MORE_FILES);
                break;
            }
        }
        flags = 0;
    }
    let want: Vec<String> = (0..50).map(|i| format!("file-{i:03}.dat")).collect();
    assert_eq!(all, want);
}

#[test]
fn buffer_limits() {
    let (_f, cx, id) = setup();
    assert_eq!(
        query(&cx, id, C::FileIdBothDirectoryInformation, 0, "*", 103).unwrap_err(),
        NtStatus::INFO_LENGTH_MISMATCH
    );
    std::fs::write(
        _f.root()
            .join("a-rather-long-file-name-that-does-not-fit.txt"),
        b"",
    )
    .unwrap();
    // 104 bytes hold the fixed part but not this entry's name: overflow, and the entry waits.
    let r = query(
        &cx,
        id,
        C::FileIdBothDirectoryInformation,
        QueryDirectoryFlags::RESTART_SCANS,
        "a-*",
        104,
    );
    assert_eq!(r.unwrap_err(), NtStatus::BUFFER_OVERFLOW);
    let e = query(&cx, id, C::FileIdBothDirectoryInformation, 0, "", 4096).unwrap();
    assert_eq!(names(&e), ["a-rather-long-file-name-that-does-not-fit.txt"]);
}

#[test]
fn errors_for_files_classes_and_access() {
    let (_f, cx, id) = setup();
    assert_eq!(
        query(&cx, id, C::FileBasicInformation, 0, "*", 65536).unwrap_err(),
        NtStatus::INVALID_INFO_CLASS
    );
    let file = create(&cx, "b.txt", OPEN, 0, GENERIC_READ).unwrap();
    assert_eq!(
        query(&cx, file.file_id, C::FileNamesInformation, 0, "*", 65536).unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    let attrs_only = create(&cx, "sub", OPEN, 0, FILE_READ_ATTRIBUTES).unwrap();
    assert_eq!(
        query(
            &cx,
            attrs_only.file_id,
            C::FileNamesInformation,
            0,
            "*",
            65536
        )
        .unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
}

#[test]
fn escaping_symlinks_are_not_listed() {
    let f = Fixture::new();
    std::os::unix::fs::symlink("/etc/passwd", f.root().join("passwd")).unwrap();
    std::os::unix::fs::symlink("b", f.root().join("inside-link")).unwrap();
    std::fs::write(f.root().join("b"), b"12").unwrap();
    let cx = f.tree();
    let d = create(&cx, "", OPEN, 0, GENERIC_READ).unwrap();
    let e = query(&cx, d.file_id, C::FileDirectoryInformation, 0, "*", 65536).unwrap();
    assert_eq!(names(&e), [".", "..", "b", "inside-link"]);
    assert_eq!(e[3].end_of_file, 2, "an inside link shows its target");
}

#[test]
fn subdirectory_dot_dot_is_the_parent() {
    let f = Fixture::new();
    std::fs::create_dir(f.root().join("sub")).unwrap();
    let cx = f.tree();
    let d = create(&cx, "sub", OPEN, DIRECTORY_FILE, GENERIC_READ).unwrap();
    let e = query(
        &cx,
        d.file_id,
        C::FileIdFullDirectoryInformation,
        0,
        "*",
        65536,
    )
    .unwrap();
    assert_eq!(names(&e), [".", ".."]);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        e[0].file_id,
        std::fs::metadata(f.root().join("sub")).unwrap().ino()
    );
    assert_eq!(e[1].file_id, std::fs::metadata(f.root()).unwrap().ino());
}
