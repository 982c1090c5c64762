//! CREATE: the disposition table, directory/non-directory options, read-only shares.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use rsmbd_protocol::NtStatus;
use rsmbd_protocol::codec::string_to_utf16le;
use rsmbd_protocol::create_context::{
    CreateContext, CreateContextName, MaximalAccessResponse, QueryOnDiskIdResponse,
};
use rsmbd_share::handlers;

const SUPERSEDED: u32 = 0;
const OPENED: u32 = 1;
const CREATED: u32 = 2;
const OVERWRITTEN: u32 = 3;

#[test]
fn disposition_table_for_files() {
    let f = Fixture::new();
    let cx = f.tree();
    let existing = f.root().join("e.txt");
    // (disposition, exists?, expected)
    let table: [(u32, bool, Result<u32, NtStatus>); 12] = [
        (SUPERSEDE, true, Ok(SUPERSEDED)),
        (SUPERSEDE, false, Ok(CREATED)),
        (OPEN, true, Ok(OPENED)),
        (OPEN, false, Err(NtStatus::OBJECT_NAME_NOT_FOUND)),
        (CREATE, true, Err(NtStatus::OBJECT_NAME_COLLISION)),
        (CREATE, false, Ok(CREATED)),
        (OPEN_IF, true, Ok(OPENED)),
        (OPEN_IF, false, Ok(CREATED)),
        (OVERWRITE, true, Ok(OVERWRITTEN)),
        (OVERWRITE, false, Err(NtStatus::OBJECT_NAME_NOT_FOUND)),
        (OVERWRITE_IF, true, Ok(OVERWRITTEN)),
        (OVERWRITE_IF, false, Ok(CREATED)),
    ];
    for (disp, exists, want) in table {
        let _ = std::fs::remove_file(&existing);
        if exists {
            std::fs::write(&existing, b"0123456789").unwrap();
        }
        let got = create(&cx, "e.txt", disp, 0, GENERIC_READ | GENERIC_WRITE);
        assert_eq!(
            got.as_ref().map(|r| r.create_action),
            want.as_ref().map(|a| *a),
            "disp {disp} exists {exists}"
        );
        if let Ok(r) = got {
            let truncated = matches!(disp, SUPERSEDE | OVERWRITE | OVERWRITE_IF) || !exists;
            let len = std::fs::metadata(&existing).unwrap().len();
            assert_eq!(len, if truncated { 0 } else { 10 }, "disp {disp}");
            assert_eq!(r.end_of_file, len);
            assert_ne!(r.last_write_time, 0);
            close(&cx, r.file_id).unwrap();
        }
    }
}

#[test]
fn directories() {
    let f = Fixture::new();
    let cx = f.tree();
    let r = create(&cx, "d", CREATE, DIRECTORY_FILE, GENERIC_ALL).unwrap();
    assert_eq!(r.create_action, CREATED);
    assert_eq!(r.file_attributes & 0x10, 0x10);
    assert!(f.root().join("d").is_dir());
    close(&cx, r.file_id).unwrap();
    // Opening a directory as a file and vice versa.
    assert_eq!(
        create(&cx, "d", OPEN, NON_DIRECTORY_FILE, GENERIC_READ).unwrap_err(),
        NtStatus::FILE_IS_A_DIRECTORY
    );
    std::fs::write(f.root().join("file"), b"x").unwrap();
    assert_eq!(
        create(&cx, "file", OPEN, DIRECTORY_FILE, GENERIC_READ).unwrap_err(),
        NtStatus::NOT_A_DIRECTORY
    );
    // A directory can only be opened or created.
    assert_eq!(
        create(&cx, "d", OVERWRITE_IF, DIRECTORY_FILE, GENERIC_ALL).unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(
        create(&cx, "d", OVERWRITE_IF, 0, GENERIC_ALL).unwrap_err(),
        NtStatus::FILE_IS_A_DIRECTORY
    );
    assert_eq!(
        create(&cx, "d", CREATE, DIRECTORY_FILE, GENERIC_ALL).unwrap_err(),
        NtStatus::OBJECT_NAME_COLLISION
    );
    // Both options at once.
    assert_eq!(
        create(
            &cx,
            "d",
            OPEN,
            DIRECTORY_FILE | NON_DIRECTORY_FILE,
            GENERIC_READ
        )
        .unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    // Nested names with backslashes, and a missing intermediate directory.
    let r = create(&cx, "d\\inner.txt", CREATE, NON_DIRECTORY_FILE, GENERIC_ALL).unwrap();
    close(&cx, r.file_id).unwrap();
    assert!(f.root().join("d/inner.txt").is_file());
    assert_eq!(
        create(&cx, "nope\\x.txt", CREATE, 0, GENERIC_ALL).unwrap_err(),
        NtStatus::OBJECT_PATH_NOT_FOUND
    );
    assert_eq!(
        create(&cx, "file\\x.txt", CREATE, 0, GENERIC_ALL).unwrap_err(),
        NtStatus::OBJECT_PATH_NOT_FOUND
    );
    assert_eq!(
        create(&cx, "d\\missing.txt", OPEN, 0, GENERIC_READ).unwrap_err(),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
}

#[test]
fn share_root() {
    let f = Fixture::new();
    let cx = f.tree();
    let r = create(&cx, "", OPEN, 0, GENERIC_READ).unwrap();
    assert_eq!(r.create_action, OPENED);
    assert_eq!(r.file_attributes & 0x10, 0x10);
    close(&cx, r.file_id).unwrap();
    let r = create(&cx, "", OPEN_IF, DIRECTORY_FILE, MAXIMUM_ALLOWED).unwrap();
    close(&cx, r.file_id).unwrap();
    assert_eq!(
        create(&cx, "", CREATE, DIRECTORY_FILE, GENERIC_ALL).unwrap_err(),
        NtStatus::OBJECT_NAME_COLLISION
    );
    assert_eq!(
        create(&cx, "", OPEN, NON_DIRECTORY_FILE, GENERIC_READ).unwrap_err(),
        NtStatus::FILE_IS_A_DIRECTORY
    );
    assert_eq!(
        create(&cx, "", OPEN, DELETE_ON_CLOSE, GENERIC_ALL).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
}

#[test]
fn read_only_share_refuses_modification() {
    let f = Fixture::with(|c| c.read_only = true);
    std::fs::write(f.root().join("r.txt"), b"data").unwrap();
    let cx = f.tree();
    assert_eq!(
        create(&cx, "new.txt", CREATE, 0, GENERIC_READ).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        create(&cx, "r.txt", OPEN, 0, GENERIC_WRITE).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        create(&cx, "r.txt", OVERWRITE, 0, GENERIC_READ).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        create(&cx, "r.txt", OPEN, DELETE_ON_CLOSE, DELETE).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert!(!f.root().join("new.txt").exists());
    // MAXIMUM_ALLOWED opens read-only, and writing through it fails.
    let r = create(&cx, "r.txt", OPEN, 0, MAXIMUM_ALLOWED).unwrap();
    assert_eq!(read(&cx, r.file_id, 0, 10).unwrap(), b"data");
    assert_eq!(
        write(&cx, r.file_id, 0, b"x").unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    close(&cx, r.file_id).unwrap();
    assert_eq!(std::fs::read(f.root().join("r.txt")).unwrap(), b"data");
}

#[test]
fn delete_on_close_needs_delete_access() {
    let f = Fixture::new();
    let cx = f.tree();
    assert_eq!(
        create(
            &cx,
            "x",
            CREATE,
            DELETE_ON_CLOSE,
            GENERIC_READ | GENERIC_WRITE
        )
        .unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    let r = create(&cx, "x", CREATE, DELETE_ON_CLOSE, GENERIC_WRITE | DELETE).unwrap();
    assert!(f.root().join("x").exists());
    close(&cx, r.file_id).unwrap();
    assert!(!f.root().join("x").exists());
    // A directory with delete-on-close that is not empty at close stays.
    let d = create(
        &cx,
        "dir",
        CREATE,
        DIRECTORY_FILE | DELETE_ON_CLOSE,
        GENERIC_ALL,
    )
    .unwrap();
    std::fs::write(f.root().join("dir/keep"), b"").unwrap();
    close(&cx, d.file_id).unwrap();
    assert!(f.root().join("dir/keep").exists());
    // Opening a non-empty directory for delete-on-close fails at once (rmdir reports it).
    assert_eq!(
        create(&cx, "dir", OPEN, DIRECTORY_FILE | DELETE_ON_CLOSE, DELETE).unwrap_err(),
        NtStatus::DIRECTORY_NOT_EMPTY
    );
    std::fs::remove_file(f.root().join("dir/keep")).unwrap();
    let d = create(&cx, "dir", OPEN, DIRECTORY_FILE | DELETE_ON_CLOSE, DELETE).unwrap();
    close(&cx, d.file_id).unwrap();
    assert!(
        !f.root().join("dir").exists(),
        "rmdir of the emptied directory"
    );
    let d = create(
        &cx,
        "dir2",
        CREATE,
        DIRECTORY_FILE | DELETE_ON_CLOSE,
        GENERIC_ALL,
    )
    .unwrap();
    close(&cx, d.file_id).unwrap();
    assert!(!f.root().join("dir2").exists());
}

#[test]
fn create_contexts_mxac_and_qfid_answered_unknown_ignored() {
    let f = Fixture::new();
    let cx = f.tree();
    let mut req = create_req("c.txt", CREATE, 0, GENERIC_ALL);
    req.create_contexts = vec![
        CreateContext::new(CreateContextName::MXAC, Vec::new()),
        CreateContext::new(CreateContextName::QFID, Vec::new()),
        CreateContext::new(b"AAPL", vec![1, 2, 3, 4]),
    ];
    let r = handlers::create::handle(&cx, &req).unwrap().body;
    assert_eq!(r.create_contexts.len(), 2);
    let mxac = CreateContext::find(&r.create_contexts, CreateContextName::MXAC).unwrap();
    let m = MaximalAccessResponse::from_data(&mxac.data).unwrap();
    assert_eq!(m.query_status, NtStatus::SUCCESS);
    assert_eq!(m.maximal_access, 0x001F_01FF);
    let qfid = CreateContext::find(&r.create_contexts, CreateContextName::QFID).unwrap();
    let q = QueryOnDiskIdResponse::from_data(&qfid.data).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        q.disk_file_id,
        std::fs::metadata(f.root().join("c.txt")).unwrap().ino()
    );
    close(&cx, r.file_id).unwrap();
}

#[test]
fn file_ids_are_unique_and_stale_ids_are_closed() {
    let f = Fixture::new();
    let cx = f.tree();
    let a = create(&cx, "a", CREATE, 0, GENERIC_ALL).unwrap();
    let b = create(&cx, "b", CREATE, 0, GENERIC_ALL).unwrap();
    assert_ne!(a.file_id, b.file_id);
    assert_eq!(a.file_id.persistent, a.file_id.volatile);
    close(&cx, a.file_id).unwrap();
    assert_eq!(close(&cx, a.file_id).unwrap_err(), NtStatus::FILE_CLOSED);
    assert_eq!(
        read(&cx, a.file_id, 0, 1).unwrap_err(),
        NtStatus::FILE_CLOSED
    );
    let c = create(&cx, "c", CREATE, 0, GENERIC_ALL).unwrap();
    assert_ne!(c.file_id, a.file_id, "volatile ids are not reused");
}

#[test]
fn bad_names_and_parameters() {
    let f = Fixture::new();
    let cx = f.tree();
    let mut req = create_req("x", OPEN_IF, 0, GENERIC_ALL);
    req.name = std::borrow::Cow::Owned(vec![0x00, 0xD8]); // lone surrogate
    assert_eq!(
        handlers::create::handle(&cx, &req).unwrap_err(),
        NtStatus::OBJECT_NAME_INVALID
    );
    req.name = std::borrow::Cow::Owned(vec![b'a', 0, b'b']); // odd length
    assert_eq!(
        handlers::create::handle(&cx, &req).unwrap_err(),
        NtStatus::OBJECT_NAME_INVALID
    );
    req.name = std::borrow::Cow::Owned(string_to_utf16le("ok"));
    req.create_disposition = 6;
    assert_eq!(
        handlers::create::handle(&cx, &req).unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    req.create_disposition = OPEN_IF;
    req.impersonation_level = 9;
    assert!(handlers::create::handle(&cx, &req).is_err());
}

#[test]
fn ipc_pipes() {
    let f = Fixture::new();
    let cx = f.connect("IPC$").unwrap();
    let r = create(&cx, "srvsvc", OPEN, 0, GENERIC_READ | GENERIC_WRITE).unwrap();
    assert_eq!(r.create_action, OPENED);
    close(&cx, r.file_id).unwrap();
    assert_eq!(
        create(&cx, "nosuchpipe", OPEN, 0, GENERIC_READ).unwrap_err(),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
}

#[test]
fn share_access_conflicts_are_sharing_violations() {
    let f = Fixture::new();
    std::fs::write(f.root().join("shared"), b"keep me").unwrap();
    let cx = f.tree();
    let share = |name: &str, disp, access, share_access| {
        let mut req = create_req(name, disp, 0, access);
        req.share_access = share_access;
        handlers::create::handle(&cx, &req).map(|r| r.body.file_id)
    };
    const READ: u32 = 1;
    const WRITE: u32 = 2;
    let reader = share("shared", OPEN, GENERIC_READ, READ).unwrap();
    assert_eq!(
        share("shared", OPEN, GENERIC_WRITE, READ | WRITE).unwrap_err(),
        NtStatus::SHARING_VIOLATION
    );
    // A conflicting overwrite changes nothing.
    assert_eq!(
        share("shared", OVERWRITE_IF, GENERIC_READ, 7).unwrap_err(),
        NtStatus::SHARING_VIOLATION
    );
    assert_eq!(std::fs::read(f.root().join("shared")).unwrap(), b"keep me");
    let reader2 = share("shared", OPEN, GENERIC_READ, READ).unwrap();
    // Attribute-only opens are never refused.
    let attrs = share("shared", OPEN, FILE_READ_ATTRIBUTES, 0).unwrap();
    close(&cx, reader).unwrap();
    close(&cx, reader2).unwrap();
    close(&cx, attrs).unwrap();
    let writer = share("shared", OPEN, GENERIC_WRITE, 0).unwrap();
    assert_eq!(
        share("shared", OPEN, GENERIC_READ, 7).unwrap_err(),
        NtStatus::SHARING_VIOLATION
    );
    // Disconnecting the tree releases the registration too.
    let _ = writer;
    handlers::tree_disconnect::handle(&f.session, cx.tree.id).unwrap();
    let cx2 = f.tree();
    let w = create(&cx2, "shared", OPEN, 0, GENERIC_WRITE).unwrap();
    close(&cx2, w.file_id).unwrap();
}
