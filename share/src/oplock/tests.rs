#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use super::*;
use crate::disk::access::{FILE_READ_DATA, FILE_WRITE_DATA};
use rsmbd_protocol::messages::oplock_break::LeaseState;

const F: FileKey = (1, 2);
const RWH: u32 = 7;
const RH: u32 = LeaseState::READ_CACHING | LeaseState::HANDLE_CACHING;

fn reg(volatile: u64, ch: &Arc<BreakChannel>) -> Registration {
    Registration {
        owner: LockOwner {
            session_id: 1,
            volatile_id: volatile,
        },
        file_id: FileId::new(volatile, volatile),
        channel: Arc::clone(ch),
        session_id: 1,
        stat_open: false,
    }
}

fn read() -> OpenIntent {
    OpenIntent {
        access: FILE_READ_DATA,
        ..Default::default()
    }
}

#[test]
fn batch_breaks_to_level_ii_and_waits_for_the_ack() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    let g = t
        .register(F, reg(1, &a), Requested::Oplock(OplockLevel::BATCH))
        .unwrap();
    assert_eq!(g.oplock_level, OplockLevel::BATCH);
    let now = Instant::now();
    assert_eq!(
        t.before_open(F, &read(), None, now, false),
        Err(NtStatus::PENDING)
    );
    assert_eq!(
        a.drain(),
        vec![BreakNotice::Oplock {
            session_id: 1,
            file_id: FileId::new(1, 1),
            level: OplockLevel::II
        }]
    );
    // Still waiting: no second notification.
    assert_eq!(
        t.before_open(F, &read(), None, now, false),
        Err(NtStatus::PENDING)
    );
    assert!(a.drain().is_empty());
    let owner = reg(1, &a).owner;
    assert_eq!(
        t.ack_oplock(F, owner, OplockLevel::BATCH),
        Err(NtStatus::INVALID_OPLOCK_PROTOCOL)
    );
    assert_eq!(t.held(F, owner), Some((OplockLevel::NONE, None)));
    assert_eq!(
        t.ack_oplock(F, owner, OplockLevel::II),
        Err(NtStatus::INVALID_OPLOCK_PROTOCOL),
        "no break in progress any more"
    );
    assert_eq!(t.before_open(F, &read(), None, now, false), Ok(vec![]));
    let g = t
        .register(F, reg(2, &a), Requested::Oplock(OplockLevel::BATCH))
        .unwrap();
    assert_eq!(g.oplock_level, OplockLevel::II, "another open exists");
}

#[test]
fn ack_to_level_ii_then_a_write_breaks_it_without_ack() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    t.register(F, reg(1, &a), Requested::Oplock(OplockLevel::EXCLUSIVE))
        .unwrap();
    assert!(
        t.before_open(F, &read(), None, Instant::now(), false)
            .is_err()
    );
    a.drain();
    assert_eq!(
        t.ack_oplock(F, reg(1, &a).owner, OplockLevel::II),
        Ok(OplockLevel::II)
    );
    assert_eq!(
        t.before_open(F, &read(), None, Instant::now(), false),
        Ok(vec![])
    );
    t.register(F, reg(2, &a), Requested::Oplock(OplockLevel::II))
        .unwrap();
    t.break_on_write(F, reg(2, &a).owner);
    let notes = a.drain();
    assert_eq!(notes.len(), 2, "both level II holders, the writer too");
    assert!(notes.contains(&BreakNotice::Oplock {
        session_id: 1,
        file_id: FileId::new(1, 1),
        level: OplockLevel::NONE
    }));
    assert_eq!(t.held(F, reg(2, &a).owner), Some((OplockLevel::NONE, None)));
}

#[test]
fn unacknowledged_break_times_out() {
    let t = OplockTable::new();
    t.set_break_timeout(Duration::from_millis(100));
    let a = Arc::new(BreakChannel::new());
    t.register(F, reg(1, &a), Requested::Oplock(OplockLevel::BATCH))
        .unwrap();
    let now = Instant::now();
    assert!(t.before_open(F, &read(), None, now, false).is_err());
    assert!(
        t.before_open(F, &read(), None, now + Duration::from_millis(50), false)
            .is_err()
    );
    assert_eq!(
        t.before_open(F, &read(), None, now + Duration::from_millis(150), false),
        Ok(vec![])
    );
    assert_eq!(t.held(F, reg(1, &a).owner), Some((OplockLevel::NONE, None)));
}

#[test]
fn close_ends_the_wait() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    t.register(F, reg(1, &a), Requested::Oplock(OplockLevel::BATCH))
        .unwrap();
    assert!(
        t.before_open(F, &read(), None, Instant::now(), false)
            .is_err()
    );
    t.release(F, reg(1, &a).owner);
    assert_eq!(
        t.before_open(F, &read(), None, Instant::now(), false),
        Ok(vec![])
    );
}

#[test]
fn leases_share_a_key_break_other_keys_and_ack() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    let k1: LeaseId = ([1; 16], [0xAA; 16]);
    let k2: LeaseId = ([2; 16], [0xBB; 16]);
    let lease = |id, e| Requested::Lease {
        id,
        state: RWH,
        v2_epoch: e,
    };
    let g = t.register(F, reg(1, &a), lease(k1, Some(4))).unwrap();
    assert_eq!(g.oplock_level, OplockLevel::LEASE);
    assert_eq!(
        g.lease,
        Some(LeaseGrant {
            state: RWH,
            breaking: false,
            epoch: 5,
            v2: true
        })
    );
    // Same key: no break, the open shares the lease.
    assert_eq!(
        t.before_open(F, &read(), Some(k1), Instant::now(), false),
        Ok(vec![])
    );
    let g = t.register(F, reg(2, &a), lease(k1, Some(4))).unwrap();
    assert_eq!(g.lease.unwrap().state, RWH);
    // The same key on another file is refused.
    assert_eq!(
        t.register((9, 9), reg(3, &a), lease(k1, None)),
        Err(NtStatus::INVALID_PARAMETER)
    );
    // Another key: W must go.
    assert_eq!(
        t.before_open(F, &read(), Some(k2), Instant::now(), false),
        Err(NtStatus::PENDING)
    );
    assert_eq!(
        a.drain(),
        vec![BreakNotice::Lease {
            session_id: 1,
            new_epoch: 6,
            ack_required: true,
            lease_key: [0xAA; 16],
            current: RWH,
            new: RH
        }]
    );
    assert_eq!(t.ack_lease(k2, RH), Err(NtStatus::OBJECT_NAME_NOT_FOUND));
    assert_eq!(t.ack_lease(k1, RWH), Err(NtStatus::REQUEST_NOT_ACCEPTED));
    assert_eq!(t.ack_lease(k1, RH), Ok(RH));
    assert_eq!(t.ack_lease(k1, RH), Err(NtStatus::UNSUCCESSFUL));
    assert_eq!(
        t.before_open(F, &read(), Some(k2), Instant::now(), false),
        Ok(vec![])
    );
    let g = t.register(F, reg(4, &a), lease(k2, None)).unwrap();
    assert_eq!(g.lease.unwrap().state, RH, "W only without other opens");
    // A write through k2's open takes read caching from k1 (RH: ack required).
    t.break_on_write(F, reg(4, &a).owner);
    let notes = a.drain();
    assert!(matches!(
        notes.as_slice(),
        [BreakNotice::Lease { lease_key, current: RH, new: 0, ack_required: true, .. }]
            if *lease_key == [0xAA; 16]
    ));
    // Closing every open of a lease forgets it.
    t.release(F, reg(1, &a).owner);
    t.release(F, reg(2, &a).owner);
    assert_eq!(t.ack_lease(k1, 0), Err(NtStatus::OBJECT_NAME_NOT_FOUND));
}

#[test]
fn overwrite_breaks_level_ii_without_waiting() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    t.register(F, reg(1, &a), Requested::Oplock(OplockLevel::II))
        .unwrap();
    let overwrite = OpenIntent {
        access: FILE_WRITE_DATA,
        truncates: true,
        would_conflict: false,
    };
    assert_eq!(
        t.before_open(F, &overwrite, None, Instant::now(), false),
        Ok(vec![])
    );
    assert_eq!(a.drain().len(), 1);
    assert_eq!(t.held(F, reg(1, &a).owner), Some((OplockLevel::NONE, None)));
}

#[test]
fn an_open_under_a_breaking_lease_proceeds_and_is_told() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    let k1: LeaseId = ([1; 16], [0xAA; 16]);
    let k2: LeaseId = ([2; 16], [0xBB; 16]);
    let lease = |id| Requested::Lease {
        id,
        state: RWH,
        v2_epoch: None,
    };
    t.register(F, reg(1, &a), lease(k1)).unwrap();
    let now = Instant::now();
    assert!(t.before_open(F, &read(), Some(k2), now, false).is_err());
    // The lease's own client opens again while its break is in progress.
    assert_eq!(t.before_open(F, &read(), Some(k1), now, false), Ok(vec![]));
    let g = t.register(F, reg(2, &a), lease(k1)).unwrap();
    assert_eq!(
        g.lease,
        Some(LeaseGrant {
            state: RWH,
            breaking: true,
            epoch: 0,
            v2: false
        })
    );
    // Others still wait.
    assert!(t.before_open(F, &read(), Some(k2), now, false).is_err());
}

#[test]
fn lease_upgrades_only_to_a_superset() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    let k: LeaseId = ([1; 16], [0xAA; 16]);
    let ask = |state| Requested::Lease {
        id: k,
        state,
        v2_epoch: None,
    };
    let st = |g: Granted| g.lease.unwrap().state;
    assert_eq!(st(t.register(F, reg(1, &a), ask(RH)).unwrap()), RH);
    assert_eq!(
        st(t.register(F, reg(2, &a), ask(5)).unwrap()),
        RH,
        "RH + RW stays RH"
    );
    assert_eq!(st(t.register(F, reg(3, &a), ask(RWH)).unwrap()), RWH);
    assert_eq!(
        st(t.register(F, reg(4, &a), ask(RH)).unwrap()),
        RWH,
        "never down"
    );
    assert_eq!(t.lease_file(k), Some(F));
}

fn lease_of(id: LeaseId, state: u32, v2_epoch: Option<u16>) -> Requested {
    Requested::Lease {
        id,
        state,
        v2_epoch,
    }
}

fn overwrite() -> OpenIntent {
    OpenIntent {
        access: FILE_WRITE_DATA,
        truncates: true,
        would_conflict: false,
    }
}

fn lease_notices(ch: &BreakChannel) -> Vec<(u16, bool, u32, u32)> {
    ch.drain()
        .into_iter()
        .filter_map(|n| match n {
            BreakNotice::Lease {
                new_epoch,
                ack_required,
                current,
                new,
                ..
            } => Some((new_epoch, ack_required, current, new)),
            BreakNotice::Oplock { .. } => None,
        })
        .collect()
}

/// smbtorture smb2.lease.v2_breaking3: a second open that needs more than the outstanding
/// break asked for sends nothing, waits, and the acknowledgment continues the break (RH, then
/// R, then NONE) without moving the epoch again; both opens then proceed.
#[test]
fn a_break_continues_after_the_ack_for_an_open_that_needs_more() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    let k1: LeaseId = ([1; 16], [0xAA; 16]);
    t.register(F, reg(1, &a), lease_of(k1, RWH, Some(0x10)))
        .unwrap();
    let now = Instant::now();
    assert!(t.before_open(F, &read(), None, now, false).is_err());
    assert_eq!(lease_notices(&a), vec![(0x12, true, RWH, RH)]);
    assert!(t.before_open(F, &overwrite(), None, now, false).is_err());
    assert!(a.drain().is_empty(), "no second notification");
    assert_eq!(t.ack_lease(k1, RH), Ok(RH));
    assert_eq!(
        lease_notices(&a),
        vec![(0x12, true, RH, LeaseState::READ_CACHING)]
    );
    assert!(
        t.before_open(F, &read(), None, now, true).is_err(),
        "still breaking"
    );
    assert!(t.before_open(F, &overwrite(), None, now, true).is_err());
    assert_eq!(
        t.ack_lease(k1, LeaseState::READ_CACHING),
        Ok(LeaseState::READ_CACHING)
    );
    assert_eq!(
        lease_notices(&a),
        vec![(0x12, false, LeaseState::READ_CACHING, 0)],
        "R to NONE needs no acknowledgment"
    );
    assert_eq!(t.before_open(F, &read(), None, now, true), Ok(vec![]));
    assert_eq!(t.before_open(F, &overwrite(), None, now, true), Ok(vec![]));
    assert_eq!(
        t.held(F, reg(1, &a).owner),
        Some((OplockLevel::LEASE, Some(0)))
    );
}

/// smb2.lease.breaking4: an overwrite of a file under an RH lease breaks it to NONE but does
/// not wait, nor does a second overwrite while that break is outstanding.
#[test]
fn overwrite_of_a_handle_lease_does_not_wait() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    let k1: LeaseId = ([1; 16], [0xAA; 16]);
    t.register(F, reg(1, &a), lease_of(k1, RH, None)).unwrap();
    let now = Instant::now();
    assert_eq!(t.before_open(F, &overwrite(), None, now, false), Ok(vec![]));
    assert_eq!(lease_notices(&a), vec![(0, true, RH, 0)]);
    assert_eq!(t.before_open(F, &overwrite(), None, now, false), Ok(vec![]));
    assert!(a.drain().is_empty());
    assert_eq!(t.ack_lease(k1, RH), Err(NtStatus::REQUEST_NOT_ACCEPTED));
    assert_eq!(t.ack_lease(k1, 0), Ok(0));
    assert!(a.drain().is_empty());
}

/// smb2.lease.timeout: an unanswered lease break leaves the lease with nothing.
#[test]
fn an_unanswered_lease_break_times_out_to_none() {
    let t = OplockTable::new();
    t.set_break_timeout(Duration::from_millis(100));
    let a = Arc::new(BreakChannel::new());
    let k1: LeaseId = ([1; 16], [0xAA; 16]);
    t.register(F, reg(1, &a), lease_of(k1, RWH, None)).unwrap();
    let now = Instant::now();
    assert!(t.before_open(F, &read(), None, now, false).is_err());
    let later = now + Duration::from_millis(150);
    assert_eq!(t.before_open(F, &read(), None, later, true), Ok(vec![]));
    assert_eq!(
        t.held(F, reg(1, &a).owner),
        Some((OplockLevel::LEASE, Some(0)))
    );
    assert_eq!(t.ack_lease(k1, RH), Err(NtStatus::UNSUCCESSFUL));
}

/// smb2.lease.v2_rename: a rename breaks handle caching of the other leases (not the
/// renamer's) and waits for the acknowledgment.
#[test]
fn rename_breaks_other_handle_leases_and_waits() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    let k1: LeaseId = ([1; 16], [0xAA; 16]);
    let k2: LeaseId = ([1; 16], [0xBB; 16]);
    t.register(F, reg(1, &a), lease_of(k1, RWH, None)).unwrap();
    let now = Instant::now();
    assert_eq!(
        t.before_rename(F, reg(1, &a).owner, now),
        Ok(()),
        "own lease"
    );
    assert!(a.drain().is_empty());
    assert!(t.before_open(F, &read(), Some(k2), now, false).is_err());
    assert_eq!(t.ack_lease(k1, RH), Ok(RH));
    a.drain();
    t.register(F, reg(2, &a), lease_of(k2, RH, None)).unwrap();
    assert_eq!(
        t.before_rename(F, reg(1, &a).owner, now),
        Err(NtStatus::PENDING)
    );
    assert_eq!(
        lease_notices(&a),
        vec![(0, true, RH, LeaseState::READ_CACHING)]
    );
    assert_eq!(
        t.before_rename(F, reg(1, &a).owner, now),
        Err(NtStatus::PENDING)
    );
    assert!(a.drain().is_empty());
    assert_eq!(
        t.ack_lease(k2, LeaseState::READ_CACHING),
        Ok(LeaseState::READ_CACHING)
    );
    assert_eq!(t.before_rename(F, reg(1, &a).owner, now), Ok(()));
}

/// smb2.oplock.batch9/9a: an attribute-only open that was granted an oplock (as the file's
/// first open) counts as another open: a later open gets level II, not batch.
#[test]
fn a_stat_open_holding_an_oplock_counts() {
    let t = OplockTable::new();
    let a = Arc::new(BreakChannel::new());
    let mut stat = reg(1, &a);
    stat.stat_open = true;
    let g = t
        .register(F, stat, Requested::Oplock(OplockLevel::BATCH))
        .unwrap();
    assert_eq!(g.oplock_level, OplockLevel::BATCH);
    let mut stat2 = reg(2, &a);
    stat2.stat_open = true;
    let g = t
        .register(F, stat2, Requested::Oplock(OplockLevel::BATCH))
        .unwrap();
    assert_eq!(g.oplock_level, OplockLevel::NONE, "batch9a");
    assert!(
        t.before_open(F, &read(), None, Instant::now(), false)
            .is_err()
    );
    t.ack_oplock(F, reg(1, &a).owner, OplockLevel::II).unwrap();
    let g = t
        .register(F, reg(3, &a), Requested::Oplock(OplockLevel::BATCH))
        .unwrap();
    assert_eq!(g.oplock_level, OplockLevel::II);
}
