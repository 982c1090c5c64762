//! Byte-range locks ([MS-SMB2 3.3.5.14]) through the engine, across two connections: a
//! blocking lock goes async and completes when the other connection unlocks or closes;
//! CANCEL completes it with STATUS_CANCELLED; fail-immediately conflicts are
//! STATUS_LOCK_NOT_GRANTED, READ/WRITE on another open's lock STATUS_FILE_LOCK_CONFLICT, and
//! unlocking what is not held STATUS_RANGE_NOT_LOCKED.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rsmbd_protocol::messages::lock::{LockElement, LockFlags, LockRequest};
use rsmbd_protocol::messages::logoff::LogoffRequest;
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::tree_disconnect::TreeDisconnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::{Command, FileId, HeaderFlags, NtStatus};
use rsmbd_tests::client::{Client, OPEN_IF};
use rsmbd_tests::kdc::TestKdc;
use rsmbd_tests::{Answer, context};

fn lock(c: &mut Client, file: FileId, offset: u64, length: u64, flags: u32) -> Vec<Answer> {
    lock_in_sequence(c, file, offset, length, flags, 0)
}

/// LOCK with LockSequence `sequence` (index << 4 | number).
fn lock_in_sequence(
    c: &mut Client,
    file: FileId,
    offset: u64,
    length: u64,
    flags: u32,
    sequence: u32,
) -> Vec<Answer> {
    let req = LockRequest {
        lock_sequence: sequence,
        file_id: file,
        locks: vec![LockElement {
            offset,
            length,
            flags,
        }],
    };
    c.send(Command::LOCK, &req)
}

fn status(answers: &[Answer]) -> NtStatus {
    assert_eq!(answers.len(), 1, "{answers:?}");
    answers[0].header.status
}

fn setup() -> (tempfile::TempDir, Client, Client, FileId, FileId) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), [7u8; 100]).unwrap();
    let kdc = TestKdc::new();
    let ctx = context(dir.path(), &kdc.keytab_bytes());
    let mut a = Client::logon(&ctx, &kdc, "data");
    let mut b = Client::logon(&ctx, &kdc, "data");
    let fa = a.create("f", OPEN_IF, 0);
    let fb = b.create("f", OPEN_IF, 0);
    (dir, a, b, fa, fb)
}

const EX: u32 = LockFlags::EXCLUSIVE_LOCK;
const EX_NOW: u32 = LockFlags::EXCLUSIVE_LOCK | LockFlags::FAIL_IMMEDIATELY;

#[test]
fn a_blocking_lock_waits_until_the_other_connection_unlocks() {
    let (_d, mut a, mut b, fa, fb) = setup();
    assert_eq!(status(&lock(&mut a, fa, 0, 10, EX_NOW)), NtStatus::SUCCESS);
    assert_eq!(
        status(&lock(&mut b, fb, 5, 10, EX_NOW)),
        NtStatus::LOCK_NOT_GRANTED
    );
    // Without FAIL_IMMEDIATELY the request waits.
    let interim = lock(&mut b, fb, 5, 10, EX);
    assert_eq!(status(&interim), NtStatus::PENDING);
    let async_id = interim[0].header.async_id().unwrap();
    assert!(b.poll().is_empty(), "still waiting");

    // Meanwhile B's READ and WRITE over A's range conflict.
    let read = ReadRequest {
        length: 4,
        offset: 2,
        file_id: fb,
        ..Default::default()
    };
    assert_eq!(
        b.call(Command::READ, &read).header.status,
        NtStatus::FILE_LOCK_CONFLICT
    );
    let write = WriteRequest {
        offset: 2,
        file_id: fb,
        data: b"zz".as_slice().into(),
        ..Default::default()
    };
    assert_eq!(
        b.call(Command::WRITE, &write).header.status,
        NtStatus::FILE_LOCK_CONFLICT
    );

    // Unlocking something not held is RANGE_NOT_LOCKED; the real unlock releases B.
    assert_eq!(
        status(&lock(&mut a, fa, 0, 9, LockFlags::UNLOCK)),
        NtStatus::RANGE_NOT_LOCKED
    );
    assert_eq!(
        status(&lock(&mut a, fa, 0, 10, LockFlags::UNLOCK)),
        NtStatus::SUCCESS
    );
    let fin = b.wait();
    assert_eq!(fin.header.command, Command::LOCK);
    assert_eq!(fin.header.status, NtStatus::SUCCESS);
    assert_eq!(fin.header.async_id(), Some(async_id));
    // B holds it now.
    assert_eq!(
        status(&lock(&mut a, fa, 5, 1, EX_NOW)),
        NtStatus::LOCK_NOT_GRANTED
    );
}

#[test]
fn closing_the_holder_grants_a_waiting_lock_and_cancel_ends_another() {
    let (_d, mut a, mut b, fa, fb) = setup();
    assert_eq!(status(&lock(&mut a, fa, 0, 10, EX_NOW)), NtStatus::SUCCESS);
    let interim = lock(&mut b, fb, 0, 1, EX);
    let first = interim[0].header.async_id().unwrap();
    let interim = lock(&mut b, fb, 9, 1, LockFlags::SHARED_LOCK);
    let second = interim[0].header.async_id().unwrap();
    assert_ne!(first, second);

    let got = b.cancel(second);
    assert_eq!(status(&got), NtStatus::CANCELLED);
    assert_eq!(got[0].header.async_id(), Some(second));

    a.close(fa);
    let fin = b.wait();
    assert_eq!(fin.header.status, NtStatus::SUCCESS);
    assert_eq!(fin.header.async_id(), Some(first));
    assert!(!b.conn.has_pending());
}

#[test]
fn a_waiting_lock_whose_own_handle_closes_fails_with_range_not_locked() {
    // smb2.lock.cancel ("cancel by close"), as Windows answers.
    let (_d, mut a, mut b, fa, fb) = setup();
    assert_eq!(status(&lock(&mut a, fa, 0, 10, EX_NOW)), NtStatus::SUCCESS);
    lock(&mut b, fb, 0, 10, EX);
    let got = b.close(fb);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header.command, Command::LOCK);
    assert_eq!(got[1].header.status, NtStatus::RANGE_NOT_LOCKED);
}

/// Two opens of one file on one connection (smbtorture's h and h2).
fn same_connection() -> (tempfile::TempDir, Client, FileId, FileId) {
    let (d, mut a, _b, fa, _fb) = setup();
    let f2 = a.create("f", OPEN_IF, 0);
    (d, a, fa, f2)
}

#[test]
fn tree_disconnect_and_logoff_end_a_waiting_lock_with_success() {
    // smb2.lock.cancel-tdis: the tree's handles close, the holder's first.
    let (_d, mut a, h, h2) = same_connection();
    assert_eq!(status(&lock(&mut a, h, 100, 10, EX)), NtStatus::SUCCESS);
    let interim = lock(&mut a, h2, 100, 10, EX);
    assert_eq!(status(&interim), NtStatus::PENDING);
    let got = a.send(Command::TREE_DISCONNECT, &TreeDisconnectRequest);
    let fin = match got.iter().find(|x| x.header.command == Command::LOCK) {
        Some(f) => f.header.status,
        None => a.wait().header.status,
    };
    assert_eq!(fin, NtStatus::SUCCESS);
    assert!(!a.conn.has_pending());

    // smb2.lock.cancel-logoff: the answer comes with the LOGOFF response, signed.
    let (_d, mut a, h, h2) = same_connection();
    assert_eq!(status(&lock(&mut a, h, 100, 10, EX)), NtStatus::SUCCESS);
    let async_id = lock(&mut a, h2, 100, 10, EX)[0].header.async_id().unwrap();
    let got = a.send(Command::LOGOFF, &LogoffRequest);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].header.command, Command::LOGOFF);
    assert_eq!(got[1].header.command, Command::LOCK);
    assert_eq!(got[1].header.status, NtStatus::SUCCESS);
    assert_eq!(got[1].header.async_id(), Some(async_id));
    assert!(got[1].header.flags.has(HeaderFlags::SIGNED));
    assert!(!a.conn.has_pending());
}

#[test]
fn a_zero_length_lock_is_a_point_inside_other_ranges() {
    // smb2.lock.zerobytelength and errorcode: {10,0} meets [9,11) but not [10,12) or [9,10).
    let (_d, mut a, mut b, fa, fb) = setup();
    for (second, expected) in [
        ((10, 0), NtStatus::SUCCESS),
        ((9, 1), NtStatus::SUCCESS),
        ((10, 1), NtStatus::SUCCESS),
        ((11, 1), NtStatus::SUCCESS),
        ((9, 2), NtStatus::LOCK_NOT_GRANTED),
        ((10, 2), NtStatus::SUCCESS),
        ((9, 3), NtStatus::LOCK_NOT_GRANTED),
    ] {
        for reversed in [false, true] {
            let ((o1, l1), (o2, l2)) = if reversed {
                (second, (10, 0))
            } else {
                ((10, 0), second)
            };
            assert_eq!(status(&lock(&mut a, fa, o1, l1, EX_NOW)), NtStatus::SUCCESS);
            let got = status(&lock(&mut b, fb, o2, l2, EX_NOW));
            assert_eq!(got, expected, "{:?} then {:?}", (o1, l1), (o2, l2));
            if got == NtStatus::SUCCESS {
                assert_eq!(status(&lock(&mut b, fb, o2, l2, UNLOCK)), NtStatus::SUCCESS);
            }
            assert_eq!(status(&lock(&mut a, fa, o1, l1, UNLOCK)), NtStatus::SUCCESS);
        }
    }
    // A 0-byte lock inside another open's range is refused like any other.
    assert_eq!(
        status(&lock(&mut a, fa, 100, 10, EX_NOW)),
        NtStatus::SUCCESS
    );
    assert_eq!(
        status(&lock(&mut b, fb, 102, 0, EX_NOW)),
        NtStatus::LOCK_NOT_GRANTED
    );
}

const UNLOCK: u32 = LockFlags::UNLOCK;

fn locks(c: &mut Client, file: FileId, els: &[(u64, u64, u32)]) -> NtStatus {
    let req = LockRequest {
        lock_sequence: 0,
        file_id: file,
        locks: els
            .iter()
            .map(|&(offset, length, flags)| LockElement {
                offset,
                length,
                flags,
            })
            .collect(),
    };
    status(&c.send(Command::LOCK, &req))
}

#[test]
fn unlock_elements_apply_one_by_one() {
    // smb2.lock.multiple-unlock and valid-request.
    let (_d, mut a, h, _h2) = same_connection();
    // First not held: nothing is released.
    assert_eq!(locks(&mut a, h, &[(10, 10, EX_NOW)]), NtStatus::SUCCESS);
    assert_eq!(
        locks(&mut a, h, &[(0, 10, UNLOCK), (10, 10, UNLOCK)]),
        NtStatus::RANGE_NOT_LOCKED
    );
    assert_eq!(
        locks(&mut a, h, &[(10, 10, EX_NOW)]),
        NtStatus::LOCK_NOT_GRANTED,
        "still held"
    );
    assert_eq!(locks(&mut a, h, &[(10, 10, UNLOCK)]), NtStatus::SUCCESS);
    // Second not held: the first is released.
    assert_eq!(locks(&mut a, h, &[(0, 10, EX_NOW)]), NtStatus::SUCCESS);
    assert_eq!(
        locks(&mut a, h, &[(0, 10, UNLOCK), (10, 10, UNLOCK)]),
        NtStatus::RANGE_NOT_LOCKED
    );
    assert_eq!(locks(&mut a, h, &[(0, 10, EX_NOW)]), NtStatus::SUCCESS);
    // An unlock list stops at its first element that is not held, before bad flags after it.
    assert_eq!(
        locks(&mut a, h, &[(9999, 1, UNLOCK), (9999, 1, 0)]),
        NtStatus::RANGE_NOT_LOCKED
    );
    assert_eq!(
        locks(&mut a, h, &[(0, 10, UNLOCK | LockFlags::SHARED_LOCK)]),
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(
        locks(&mut a, h, &[(9999, 1, 0), (9999, 1, UNLOCK)]),
        NtStatus::INVALID_PARAMETER
    );
    // Only the first element may block.
    assert_eq!(
        locks(&mut a, h, &[(50, 1, EX_NOW), (60, 1, EX)]),
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(
        locks(&mut a, h, &[(50, 1, EX), (60, 1, EX_NOW)]),
        NtStatus::SUCCESS
    );
}

/// [MS-SMB2 3.3.5.14] On a multichannel connection a LOCK resent with the LockSequenceIndex and
/// LockSequenceNumber of one that succeeded is answered with success and not applied twice;
/// another number on the index, or index 0, is a new request.
#[test]
fn a_replayed_lock_sequence_succeeds_without_locking_twice() {
    let (_dir, mut a, _b, fa, _fb) = setup();
    let x = LockFlags::EXCLUSIVE_LOCK | LockFlags::FAIL_IMMEDIATELY;
    let seq = |index: u32, number: u32| index << 4 | number;
    assert_eq!(
        status(&lock_in_sequence(&mut a, fa, 0, 10, x, seq(1, 1))),
        NtStatus::SUCCESS
    );
    // The same request again (a replay after a lost channel): success, nothing taken twice.
    assert_eq!(
        status(&lock_in_sequence(&mut a, fa, 0, 10, x, seq(1, 1))),
        NtStatus::SUCCESS
    );
    // A new number on that index, or index 0 (never checked), is a new lock: it conflicts.
    assert_eq!(
        status(&lock_in_sequence(&mut a, fa, 0, 10, x, seq(1, 2))),
        NtStatus::LOCK_NOT_GRANTED
    );
    assert_eq!(
        status(&lock_in_sequence(&mut a, fa, 0, 10, x, seq(0, 1))),
        NtStatus::LOCK_NOT_GRANTED
    );
    // The failed request invalidated index 1: number 1 is not a replay any more.
    assert_eq!(
        status(&lock_in_sequence(&mut a, fa, 0, 10, x, seq(1, 1))),
        NtStatus::LOCK_NOT_GRANTED
    );
    // An unlock replayed is not RANGE_NOT_LOCKED, and the range was released once.
    let u = LockFlags::UNLOCK;
    assert_eq!(
        status(&lock_in_sequence(&mut a, fa, 0, 10, u, seq(2, 5))),
        NtStatus::SUCCESS
    );
    assert_eq!(
        status(&lock_in_sequence(&mut a, fa, 0, 10, u, seq(2, 5))),
        NtStatus::SUCCESS
    );
    assert_eq!(
        status(&lock(&mut a, fa, 0, 10, u)),
        NtStatus::RANGE_NOT_LOCKED
    );
}
