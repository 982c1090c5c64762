//! The grant and break decisions, as pure functions of the states involved: what a new open may
//! be granted ([MS-SMB2 3.3.5.9] with the object store's rules, [MS-FSA 2.1.5.17] Server
//! Requests an Oplock) and what it breaks ([MS-FSA 2.1.4.12] Algorithm to Check for an Oplock
//! Break). Where the documents leave room, these follow what Samba does, since smbtorture is
//! the yardstick: an attribute-only ("stat") open breaks nothing, a sharing violation breaks
//! only handle caching (batch oplocks, H leases), an overwrite also drops read caching.
//!
//! ```text
//!  oplocks:  BATCH ──┐                          lease states (R required except NONE):
//!            EXCL ───┴─► LEVEL_II ──► NONE         RWH ─► RH ─► R ─► NONE
//!            (ack)        (no ack)                 RW ──► R        (ack iff W or H held)
//! ```

use rsmbd_protocol::messages::create::OplockLevel;
use rsmbd_protocol::messages::oplock_break::LeaseState;

use crate::disk::access::{FILE_READ_ATTRIBUTES, FILE_WRITE_ATTRIBUTES, READ_CONTROL, SYNCHRONIZE};

const R: u32 = LeaseState::READ_CACHING;
const H: u32 = LeaseState::HANDLE_CACHING;
const W: u32 = LeaseState::WRITE_CACHING;

/// What a CREATE is about to do to an existing file, as far as oplocks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenIntent {
    /// The access the open will hold (including FILE_WRITE_DATA an overwrite implies).
    pub access: u32,
    /// The share-mode check would fail against the opens there now.
    pub would_conflict: bool,
    /// SUPERSEDE / OVERWRITE / OVERWRITE_IF: the data is about to be thrown away.
    pub truncates: bool,
}

impl OpenIntent {
    /// An open that only reads or writes attributes (Samba's "stat open"): it does not
    /// touch data, so no cached data needs flushing.
    pub fn is_stat_open(&self) -> bool {
        self.access & !(FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE) == 0
    }

    /// The lease notion of a stat open also admits READ_CONTROL (smbtorture
    /// smb2.lease.statopen4 says yes where smb2.oplock.statopen1 says no).
    pub fn is_lease_stat_open(&self) -> bool {
        is_stat_access(self.access)
    }
}

/// Attributes, security descriptor and SYNCHRONIZE only: an open that caches nothing and that
/// no lease needs to make room for.
pub fn is_stat_access(access: u32) -> bool {
    access & !(FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE | READ_CONTROL) == 0
}

/// The oplock level an existing exclusive/batch/level II oplock must break to before `intent`
/// may proceed; `None` if it can stay.
pub fn oplock_break_to(held: u8, intent: &OpenIntent) -> Option<u8> {
    if intent.is_stat_open() {
        return None;
    }
    let to = if intent.truncates {
        OplockLevel::NONE
    } else {
        OplockLevel::II
    };
    match held {
        OplockLevel::BATCH => Some(to),
        // Exclusive caches no handle: with a sharing violation the open fails without a break.
        OplockLevel::EXCLUSIVE if !intent.would_conflict => Some(to),
        OplockLevel::II if intent.truncates => Some(OplockLevel::NONE),
        _ => None,
    }
}

/// The rights whose loss makes the new open wait for the acknowledgment ([MS-SMB2 3.3.5.9]
/// with [MS-FSA 2.1.4.12]): handle caching when the open would otherwise fail with a sharing
/// violation (closing cached handles may resolve it), write caching otherwise (dirty data
/// must reach the server first).
fn delay_mask(intent: &OpenIntent) -> u32 {
    if intent.would_conflict { H } else { W }
}

/// The state an existing lease (of another lease key) must break to; equal to `state` when
/// it can stay. The open takes away what [`delay_mask`] names; an overwrite also takes read
/// and handle caching, and once anything breaks it breaks to NONE at once (smbtorture
/// smb2.lease.breaking2/4: RWH and RH break straight to NONE). A sharing violation alone
/// takes only handle caching (smb2.lease.break_twice: RWH breaks to RW).
pub fn lease_break_to(state: u32, intent: &OpenIntent) -> u32 {
    if intent.is_lease_stat_open() {
        return state;
    }
    let mut to = state & !delay_mask(intent);
    if intent.truncates {
        to &= !(H | R);
    }
    if to == state {
        return state;
    }
    if intent.truncates { 0 } else { to }
}

/// Whether the open must wait for the acknowledgment of the break of a lease in `state`:
/// only when the lease loses a right of [`delay_mask`]. An overwrite of a file under an RH
/// lease proceeds at once while the client acknowledges (smb2.lease.breaking4).
pub fn lease_break_delays(state: u32, intent: &OpenIntent) -> bool {
    state & delay_mask(intent) != 0
}

/// [MS-SMB2 3.3.5.22.2] After an acknowledgment to `acked` of a lease that still has to go
/// down to `required` (a later open needed more than the notification asked for): the state
/// the next break names, or `None` when `acked` is enough. Windows steps through R when
/// handle or write caching is still held (RH, then R, then NONE: smb2.lease.breaking3).
pub fn lease_next_break(acked: u32, required: u32) -> Option<u32> {
    let mut next = acked & required;
    if next == acked {
        return None;
    }
    if acked & !R != 0 {
        next |= acked & R;
    }
    Some(next)
}

/// The state a lease holding `state` breaks to when another open writes or locks: nothing
/// (RH breaks to NONE with an acknowledgment, as smbtorture smb2.lease.lock1 expects).
pub fn lease_break_on_write(state: u32) -> u32 {
    if state & R != 0 { 0 } else { state }
}

/// A break from a state that caches writes or handles needs the client's acknowledgment
/// ([MS-SMB2 3.3.4.7]); a read-only one is final at once.
pub fn lease_break_needs_ack(current: u32) -> bool {
    current & (W | H) != 0
}

/// The requested lease state if it is one of the five the object store grants (NONE, R, RH,
/// RW, RWH); any other combination is granted NONE.
pub fn normalize_lease(requested: u32) -> u32 {
    match requested {
        0 => 0,
        s if s == R || s == R | H || s == R | W || s == R | W | H => s,
        _ => 0,
    }
}

/// What one other open of the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// An oplock level (NONE for a plain open).
    Oplock(u8),
    /// A lease of another key, in this state.
    Lease(u32),
}

impl Held {
    /// Excludes every other cache: an exclusive or batch oplock, a lease with W.
    fn is_exclusive(self) -> bool {
        match self {
            Self::Oplock(l) => l == OplockLevel::EXCLUSIVE || l == OplockLevel::BATCH,
            Self::Lease(s) => s & W != 0,
        }
    }
}

/// [MS-SMB2 3.3.5.9] The oplock a new open gets: exclusive or batch when it is the file's only
/// open, otherwise level II (3.3.5.9: "the server SHOULD" retry with level II), and nothing
/// while another open caches exclusively or holds a lease with handle caching (as Windows:
/// an oplock cannot be broken together with an H lease).
pub fn grant_oplock(requested: u8, others: &[Held]) -> u8 {
    let wants = matches!(
        requested,
        OplockLevel::II | OplockLevel::EXCLUSIVE | OplockLevel::BATCH
    );
    let blocked = others
        .iter()
        .any(|h| h.is_exclusive() || matches!(h, Held::Lease(s) if s & H != 0));
    if !wants || blocked {
        return OplockLevel::NONE;
    }
    if requested != OplockLevel::II && others.is_empty() {
        requested
    } else {
        OplockLevel::II
    }
}

/// The lease state a new lease gets, given the opens of the file that are not under this
/// lease: W only without other opens, R only next to an oplock, nothing next to an exclusive
/// cache.
pub fn grant_lease(requested: u32, others: &[Held]) -> u32 {
    let mut s = normalize_lease(requested);
    if others.iter().any(|h| h.is_exclusive()) {
        return 0;
    }
    if !others.is_empty() {
        s &= !W;
    }
    if others
        .iter()
        .any(|h| matches!(h, Held::Oplock(l) if *l != OplockLevel::NONE))
    {
        s &= R;
    }
    s
}

/// An open under a held lease asks for `requested`: the lease grows to it only if the whole
/// state can be granted next to the other opens and contains the old one (R to RH, RH to RWH;
/// never RH to RW, never down), as Windows does.
pub fn upgrade_lease(current: u32, requested: u32, others: &[Held]) -> u32 {
    if current == 0 {
        // A lease broken to nothing caches nothing: this is a fresh grant (nobreakself).
        return grant_lease(requested, others);
    }
    let want = normalize_lease(requested);
    // All of it or nothing: RHW next to another lease (W not grantable) keeps R, RH gets RH
    // (smbtorture smb2.lease.upgrade3).
    if grant_lease(want, others) == want && want & current == current {
        want
    } else {
        current
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::disk::access::{FILE_READ_DATA, FILE_WRITE_DATA};
    use OplockLevel as L;

    fn data(access: u32) -> OpenIntent {
        OpenIntent {
            access,
            ..Default::default()
        }
    }

    #[test]
    fn second_open_breaks_batch_and_exclusive_to_level_ii() {
        let i = data(FILE_READ_DATA);
        assert_eq!(oplock_break_to(L::BATCH, &i), Some(L::II));
        assert_eq!(oplock_break_to(L::EXCLUSIVE, &i), Some(L::II));
        assert_eq!(oplock_break_to(L::II, &i), None);
        assert_eq!(oplock_break_to(L::NONE, &i), None);
    }

    #[test]
    fn overwrite_breaks_everything_to_none_and_stat_opens_break_nothing() {
        let i = OpenIntent {
            access: FILE_WRITE_DATA,
            truncates: true,
            would_conflict: false,
        };
        assert_eq!(oplock_break_to(L::BATCH, &i), Some(L::NONE));
        assert_eq!(oplock_break_to(L::II, &i), Some(L::NONE));
        let stat = data(FILE_READ_ATTRIBUTES | SYNCHRONIZE);
        assert!(stat.is_stat_open());
        assert_eq!(oplock_break_to(L::BATCH, &stat), None);
        assert_eq!(lease_break_to(R | W | H, &stat), R | W | H);
    }

    #[test]
    fn sharing_violation_breaks_handle_caching_only() {
        let i = OpenIntent {
            access: FILE_READ_DATA,
            would_conflict: true,
            truncates: false,
        };
        assert_eq!(oplock_break_to(L::BATCH, &i), Some(L::II));
        assert_eq!(oplock_break_to(L::EXCLUSIVE, &i), None);
        assert_eq!(lease_break_to(R | H, &i), R);
        assert_eq!(
            lease_break_to(R | W | H, &i),
            R | W,
            "the open fails: W may stay"
        );
        assert_eq!(lease_break_to(R | W | H, &data(FILE_READ_DATA)), R | H);
    }

    #[test]
    fn overwrite_breaks_leases_to_none_and_waits_only_for_write_caching() {
        let ow = OpenIntent {
            access: FILE_WRITE_DATA,
            truncates: true,
            would_conflict: false,
        };
        // smbtorture smb2.lease.breaking2 (RWH) and breaking4 (RH): straight to NONE.
        assert_eq!(lease_break_to(R | W | H, &ow), 0);
        assert_eq!(lease_break_to(R | H, &ow), 0);
        assert_eq!(lease_break_to(R, &ow), 0);
        assert!(lease_break_delays(R | W | H, &ow));
        assert!(
            !lease_break_delays(R | H, &ow),
            "breaking4: the open is not blocked"
        );
        let conflict = OpenIntent {
            access: FILE_READ_DATA,
            would_conflict: true,
            truncates: false,
        };
        assert!(lease_break_delays(R | H, &conflict));
        assert!(!lease_break_delays(R | W, &conflict));
    }

    #[test]
    fn an_acknowledgment_continues_a_break_through_read_caching() {
        // smb2.lease.breaking3: acked RH, NONE needed: RH -> R, then R -> NONE.
        assert_eq!(lease_next_break(R | H, 0), Some(R));
        assert_eq!(lease_next_break(R, 0), Some(0));
        assert_eq!(lease_next_break(R | H, R | H), None);
        assert_eq!(lease_next_break(0, R | H), None, "acked less than asked");
        assert_eq!(lease_next_break(R | W | H, R), Some(R));
    }

    #[test]
    fn lease_states() {
        for (asked, got) in [(0, 0), (R, R), (R | H, R | H), (R | W, R | W), (7, 7)] {
            assert_eq!(normalize_lease(asked), got);
        }
        for bad in [W, H, W | H] {
            assert_eq!(normalize_lease(bad), 0);
        }
        assert!(lease_break_needs_ack(R | H));
        assert!(!lease_break_needs_ack(R));
        assert_eq!(lease_break_on_write(R | H), 0);
    }

    #[test]
    fn grants() {
        assert_eq!(grant_oplock(L::BATCH, &[]), L::BATCH);
        assert_eq!(grant_oplock(L::EXCLUSIVE, &[]), L::EXCLUSIVE);
        assert_eq!(grant_oplock(L::BATCH, &[Held::Oplock(L::NONE)]), L::II);
        assert_eq!(grant_oplock(L::II, &[Held::Oplock(L::II)]), L::II);
        assert_eq!(grant_oplock(L::II, &[Held::Oplock(L::BATCH)]), L::NONE);
        assert_eq!(grant_oplock(L::LEASE, &[]), L::NONE);
        assert_eq!(grant_oplock(L::BATCH, &[Held::Lease(R)]), L::II);
        assert_eq!(grant_oplock(L::BATCH, &[Held::Lease(R | W)]), L::NONE);
        assert_eq!(grant_lease(7, &[]), 7);
        assert_eq!(grant_lease(7, &[Held::Oplock(L::BATCH)]), 0);
        assert_eq!(grant_lease(R | W, &[Held::Lease(R)]), R);
        // Oplocks and H leases do not mix (smbtorture smb2.lease.oplock).
        assert_eq!(grant_oplock(L::II, &[Held::Lease(R | H)]), L::NONE);
        assert_eq!(grant_lease(7, &[Held::Oplock(L::II)]), R);
        assert_eq!(grant_lease(7, &[Held::Oplock(L::NONE)]), R | H);
        // Upgrades: only alone, only to a superset.
        assert_eq!(upgrade_lease(R | H, R | W, &[]), R | H);
        assert_eq!(upgrade_lease(R, 7, &[]), 7);
        assert_eq!(upgrade_lease(R, 7, &[Held::Lease(R)]), R);
        assert_eq!(upgrade_lease(R, R | H, &[Held::Lease(R)]), R | H);
        assert_eq!(upgrade_lease(7, R, &[]), 7);
        assert_eq!(
            upgrade_lease(0, R, &[Held::Lease(R)]),
            R,
            "broken to nothing: fresh"
        );
    }
}
