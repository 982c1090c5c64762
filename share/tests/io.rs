//! READ / WRITE / FLUSH / CLOSE round trips and byte-range locks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::close::{CloseFlags, CloseRequest};
use rsmbd_protocol::messages::flush::FlushRequest;
use rsmbd_protocol::messages::lock::{LockElement, LockFlags, LockRequest};
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_share::handlers;

#[test]
fn write_read_close_round_trip() {
    let f = Fixture::new();
    let cx = f.tree();
    let r = create(
        &cx,
        "rt.bin",
        CREATE,
        NON_DIRECTORY_FILE,
        GENERIC_READ | GENERIC_WRITE,
    )
    .unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(write(&cx, r.file_id, 0, &data).unwrap(), 100_000);
    assert_eq!(write(&cx, r.file_id, 200_000, b"tail").unwrap(), 4);
    assert_eq!(read(&cx, r.file_id, 0, 100_000).unwrap(), data);
    assert_eq!(
        read(&cx, r.file_id, 99_990, 20).unwrap(),
        [&data[99_990..], &[0u8; 10][..]].concat()
    );
    assert_eq!(read(&cx, r.file_id, 200_000, 100).unwrap(), b"tail");
    handlers::flush::handle(&cx, &FlushRequest { file_id: r.file_id }).unwrap();
    let closed = handlers::close::handle(
        &cx,
        &CloseRequest {
            flags: CloseFlags::POSTQUERY_ATTRIB,
            file_id: r.file_id,
        },
    )
    .unwrap()
    .body;
    assert_eq!(closed.flags, CloseFlags::POSTQUERY_ATTRIB);
    assert_eq!(closed.end_of_file, 200_004);
    assert_ne!(closed.last_write_time, 0);
    assert_eq!(
        std::fs::read(f.root().join("rt.bin")).unwrap().len(),
        200_004
    );
}

#[test]
fn close_without_postquery_returns_zeros() {
    let f = Fixture::new();
    let cx = f.tree();
    let r = create(&cx, "z", CREATE, 0, GENERIC_ALL).unwrap();
    let c = handlers::close::handle(
        &cx,
        &CloseRequest {
            flags: 0,
            file_id: r.file_id,
        },
    )
    .unwrap()
    .body;
    assert_eq!(
        (c.flags, c.end_of_file, c.last_write_time, c.file_attributes),
        (0, 0, 0, 0)
    );
}

#[test]
fn end_of_file_and_minimum_count() {
    let f = Fixture::new();
    std::fs::write(f.root().join("small"), b"12345").unwrap();
    let cx = f.tree();
    let r = create(&cx, "small", OPEN, 0, GENERIC_READ).unwrap();
    assert_eq!(
        read(&cx, r.file_id, 5, 10).unwrap_err(),
        NtStatus::END_OF_FILE
    );
    assert_eq!(
        read(&cx, r.file_id, 1_000_000, 10).unwrap_err(),
        NtStatus::END_OF_FILE
    );
    assert_eq!(read(&cx, r.file_id, 3, 10).unwrap(), b"45");
    let req = ReadRequest {
        offset: 3,
        length: 10,
        minimum_count: 3,
        file_id: r.file_id,
        ..Default::default()
    };
    assert_eq!(
        handlers::read::handle(&cx, &req).unwrap_err(),
        NtStatus::END_OF_FILE
    );
    // No write access: WRITE is denied, FLUSH too.
    assert_eq!(
        write(&cx, r.file_id, 0, b"x").unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        handlers::flush::handle(&cx, &FlushRequest { file_id: r.file_id }).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    close(&cx, r.file_id).unwrap();
    // Attribute-only opens cannot read data.
    let a = create(&cx, "small", OPEN, 0, FILE_READ_ATTRIBUTES).unwrap();
    assert_eq!(
        read(&cx, a.file_id, 0, 1).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
}

#[test]
fn directories_cannot_be_read_or_written() {
    let f = Fixture::new();
    let cx = f.tree();
    let d = create(&cx, "d", CREATE, DIRECTORY_FILE, GENERIC_ALL).unwrap();
    assert_eq!(
        read(&cx, d.file_id, 0, 1).unwrap_err(),
        NtStatus::INVALID_DEVICE_REQUEST
    );
    assert_eq!(
        write(&cx, d.file_id, 0, b"x").unwrap_err(),
        NtStatus::INVALID_DEVICE_REQUEST
    );
}

#[test]
fn offsets_past_i64_max_are_invalid() {
    // SMB2 has no "write at end of file" offset (MS-FSA FILE_WRITE_TO_END_OF_FILE is SMB1's):
    // Windows answers INVALID_PARAMETER for -1, -2 and any range past i64::MAX or MAXFILESIZE
    // (smbtorture smb2.rw.invalid).
    let f = Fixture::new();
    let cx = f.tree();
    let r = create(&cx, "app", CREATE, 0, GENERIC_ALL).unwrap();
    write(&cx, r.file_id, 0, b"abc").unwrap();
    for offset in [u64::MAX, u64::MAX - 1, 1 << 63] {
        assert_eq!(
            write(&cx, r.file_id, offset, b"def").unwrap_err(),
            NtStatus::INVALID_PARAMETER
        );
    }
    assert_eq!(
        write(&cx, r.file_id, 0xFFF_FFFF_0000, b"x").unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(read(&cx, r.file_id, 0, 10).unwrap(), b"abc");
    assert_eq!(
        read(&cx, r.file_id, i64::MAX as u64, 1).unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(
        read(&cx, r.file_id, (i64::MAX - 1) as u64, 1).unwrap_err(),
        NtStatus::END_OF_FILE
    );
}

fn lock(
    cx: &rsmbd_share::handlers::TreeCx,
    file_id: rsmbd_protocol::file_id::FileId,
    offset: u64,
    length: u64,
    flags: u32,
) -> Result<(), NtStatus> {
    let req = LockRequest {
        lock_sequence: 0,
        file_id,
        locks: vec![LockElement {
            offset,
            length,
            flags,
        }],
    };
    handlers::lock::handle(cx, &req).map(|_| ())
}

#[test]
fn byte_range_locks_between_opens() {
    let f = Fixture::new();
    let cx = f.tree();
    let a = create(&cx, "l", CREATE, 0, GENERIC_ALL).unwrap();
    let b = create(&cx, "l", OPEN, 0, GENERIC_ALL).unwrap();
    write(&cx, a.file_id, 0, &[7u8; 100]).unwrap();
    let ex = LockFlags::EXCLUSIVE_LOCK | LockFlags::FAIL_IMMEDIATELY;
    lock(&cx, a.file_id, 10, 10, ex).unwrap();
    assert_eq!(
        lock(&cx, b.file_id, 15, 1, ex).unwrap_err(),
        NtStatus::LOCK_NOT_GRANTED
    );
    assert_eq!(
        lock(
            &cx,
            b.file_id,
            15,
            1,
            LockFlags::SHARED_LOCK | LockFlags::FAIL_IMMEDIATELY
        )
        .unwrap_err(),
        NtStatus::LOCK_NOT_GRANTED
    );
    // Without FAIL_IMMEDIATELY a conflict is a blocking lock: the request pends (the engine
    // retries it until it is granted; tests/tests/locks.rs).
    assert_eq!(
        lock(&cx, b.file_id, 15, 1, LockFlags::SHARED_LOCK).unwrap_err(),
        NtStatus::PENDING
    );
    assert_eq!(
        read(&cx, b.file_id, 12, 2).unwrap_err(),
        NtStatus::FILE_LOCK_CONFLICT
    );
    assert_eq!(
        write(&cx, b.file_id, 12, b"x").unwrap_err(),
        NtStatus::FILE_LOCK_CONFLICT
    );
    assert_eq!(read(&cx, a.file_id, 12, 2).unwrap(), [7, 7]);
    assert_eq!(read(&cx, b.file_id, 0, 10).unwrap(), [7; 10]);
    // Invalid flag combinations.
    assert_eq!(
        lock(
            &cx,
            b.file_id,
            0,
            1,
            LockFlags::SHARED_LOCK | LockFlags::EXCLUSIVE_LOCK
        )
        .unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(
        lock(
            &cx,
            b.file_id,
            0,
            1,
            LockFlags::UNLOCK | LockFlags::FAIL_IMMEDIATELY
        )
        .unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(
        lock(&cx, b.file_id, 10, 10, LockFlags::UNLOCK).unwrap_err(),
        NtStatus::RANGE_NOT_LOCKED
    );
    lock(&cx, a.file_id, 10, 10, LockFlags::UNLOCK).unwrap();
    assert_eq!(read(&cx, b.file_id, 12, 2).unwrap(), [7, 7]);
    // Closing an open releases its locks.
    lock(&cx, a.file_id, 50, 1, ex).unwrap();
    close(&cx, a.file_id).unwrap();
    lock(&cx, b.file_id, 50, 1, ex).unwrap();
}

#[test]
fn pipe_opens_refuse_disk_only_commands() {
    let f = Fixture::new();
    let cx = f.connect("IPC$").unwrap();
    let p = create(&cx, "srvsvc", OPEN, 0, GENERIC_READ | GENERIC_WRITE).unwrap();
    assert_eq!(
        lock(&cx, p.file_id, 0, 1, LockFlags::EXCLUSIVE_LOCK).unwrap_err(),
        NtStatus::INVALID_DEVICE_REQUEST
    );
    handlers::flush::handle(&cx, &FlushRequest { file_id: p.file_id }).unwrap();
    close(&cx, p.file_id).unwrap();
}
