//! Alternate data streams through the engine: `file:stream:$DATA` is created, written and read
//! back from its xattr (`user.rsmbd.stream.<name>`), listed by FileStreamInformation
//! ([MS-FSCC 2.4.43]) after `::$DATA`, renamed, deleted on close without touching the file;
//! bad stream names are refused; a stream past the xattr limit is STATUS_DISK_FULL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rsmbd_protocol::fscc::{
    FileDispositionInformation, FileInformationClass, FileRenameInformation, FileStreamInformation,
    FsccStruct,
};
use rsmbd_protocol::messages::query_info::{InfoType, QueryInfoRequest};
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::set_info::SetInfoRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::{Command, FileId, NtStatus, Response};
use rsmbd_tests::client::{CREATE, Client, OPEN, OPEN_IF};
use rsmbd_tests::context;
use rsmbd_tests::kdc::TestKdc;

fn setup() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = context(dir.path(), &kdc.keytab_bytes());
    let c = Client::logon(&ctx, &kdc, "data");
    (dir, c)
}

fn write(c: &mut Client, f: FileId, offset: u64, data: &[u8]) -> NtStatus {
    let w = WriteRequest {
        offset,
        file_id: f,
        data: data.to_vec().into(),
        ..Default::default()
    };
    c.call(Command::WRITE, &w).header.status
}

fn read(c: &mut Client, f: FileId) -> Vec<u8> {
    let r = ReadRequest {
        length: 4096,
        file_id: f,
        ..Default::default()
    };
    let a = c.call(Command::READ, &r);
    match a.body() {
        Response::Read(r) => r.data.to_vec(),
        other => panic!("{:?} {other:?}", a.header.status),
    }
}

fn streams(c: &mut Client, f: FileId) -> Vec<(String, u64)> {
    let q = QueryInfoRequest {
        info_type: InfoType::FILE,
        file_info_class: FileInformationClass::FileStreamInformation.0,
        output_buffer_length: 4096,
        file_id: f,
        ..Default::default()
    };
    let a = c.call(Command::QUERY_INFO, &q);
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    match a.body() {
        Response::QueryInfo(r) => FileStreamInformation::decode(&r.buffer)
            .unwrap()
            .entries
            .into_iter()
            .map(|e| (e.stream_name, e.stream_size))
            .collect(),
        other => panic!("{other:?}"),
    }
}

fn set_info(c: &mut Client, f: FileId, class: FileInformationClass, buf: Vec<u8>) -> NtStatus {
    let s = SetInfoRequest {
        info_type: InfoType::FILE,
        file_info_class: class.0,
        buffer: buf.into(),
        file_id: f,
        ..Default::default()
    };
    c.call(Command::SET_INFO, &s).header.status
}

#[test]
fn a_stream_is_written_read_listed_renamed_and_deleted() {
    let (d, mut c) = setup();
    let file = c.create("doc.txt", CREATE, 0);
    assert_eq!(write(&mut c, file, 0, b"main data"), NtStatus::SUCCESS);
    // Creating a stream of a file that does not exist creates the file too (OPEN_IF).
    let s = c.create("doc.txt:Zone.Identifier:$DATA", CREATE, 0);
    assert_eq!(write(&mut c, s, 0, b"[ZoneTransfer]"), NtStatus::SUCCESS);
    assert_eq!(read(&mut c, s), b"[ZoneTransfer]");
    assert_eq!(
        read(&mut c, file),
        b"main data",
        "the file's data is untouched"
    );
    let raw = xattr(
        &d.path().join("doc.txt"),
        "user.rsmbd.stream.Zone.Identifier",
    );
    assert_eq!(raw.as_deref(), Some(&b"[ZoneTransfer]"[..]));
    assert_eq!(
        streams(&mut c, file),
        vec![
            ("::$DATA".to_owned(), 9),
            (":Zone.Identifier:$DATA".to_owned(), 14)
        ]
    );
    // Opened again by another spelling (stream names are case-insensitive).
    let again = c.create("doc.txt:zone.identifier", OPEN, 0);
    assert_eq!(read(&mut c, again), b"[ZoneTransfer]");
    c.close(again);

    let rename = FileRenameInformation {
        replace_if_exists: false,
        root_directory: 0,
        file_name: ":renamed:$DATA".into(),
    };
    assert_eq!(
        set_info(
            &mut c,
            s,
            FileInformationClass::FileRenameInformation,
            rename.to_bytes()
        ),
        NtStatus::SUCCESS
    );
    assert_eq!(streams(&mut c, file)[1], (":renamed:$DATA".to_owned(), 14));
    // Delete-on-close of the stream removes the stream, not the file.
    let disp = FileDispositionInformation {
        delete_pending: true,
    };
    assert_eq!(
        set_info(
            &mut c,
            s,
            FileInformationClass::FileDispositionInformation,
            disp.to_bytes()
        ),
        NtStatus::SUCCESS
    );
    c.close(s);
    assert_eq!(streams(&mut c, file), vec![("::$DATA".to_owned(), 9)]);
    assert!(d.path().join("doc.txt").exists());
}

#[test]
fn bad_names_missing_streams_and_the_size_limit() {
    let (d, mut c) = setup();
    c.create("f", CREATE, 0);
    assert_eq!(
        c.try_create("f:missing", OPEN, 0).0,
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    for bad in [
        "f:..\\..\\etc",
        "f:a/b",
        "f:s:$INDEX_ALLOCATION",
        "f:",
        "dir:x\\f",
    ] {
        assert_ne!(c.try_create(bad, OPEN_IF, 0).0, NtStatus::SUCCESS, "{bad}");
    }
    assert!(!d.path().join("dir:x").exists());
    let s = c.create("f:big", OPEN_IF, 0);
    assert_eq!(write(&mut c, s, 65_536, b"x"), NtStatus::DISK_FULL);
    // ext4 keeps one file's xattrs in one 4 KiB block (without ea_inode): 8 KiB does not fit.
    let st = write(&mut c, s, 0, &vec![1u8; 8192]);
    assert!(
        st == NtStatus::SUCCESS || st == NtStatus::DISK_FULL,
        "{st:?}"
    );
    assert_eq!(write(&mut c, s, 0, &[2u8; 1000]), NtStatus::SUCCESS);
}

fn xattr(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    let n = rustix::fs::getxattr(path, name, &mut buf[..]).ok()?;
    buf.truncate(n);
    Some(buf)
}
