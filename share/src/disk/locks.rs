//! Byte-range locks ([MS-SMB2 3.3.5.14], [MS-FSA 2.1.5.7]) kept in process, per file.
//!
//! Locks are owned by an open (session id + volatile FileId) and are mandatory for other opens'
//! READs and WRITEs, as on Windows. The table itself never waits: a conflict is
//! `STATUS_LOCK_NOT_GRANTED`, and the LOCK handler turns that into a pending (blocking) request
//! when the client did not ask to fail immediately; the engine retries it until [`LockTable::lock`]
//! succeeds. Locks are not visible to processes on the host.

use std::collections::HashMap;
use std::sync::Mutex;

use rsmbd_protocol::NtStatus;

/// STATUS_INVALID_LOCK_RANGE ([MS-ERREF]): the range's last byte lies past 2^64.
pub const STATUS_INVALID_LOCK_RANGE: NtStatus = NtStatus(0xC000_01A1);

/// Most byte-range locks one file may carry: every lock is checked on each READ and WRITE, so
/// the table must stay small enough to scan (Windows also fails with INSUFFICIENT_RESOURCES).
pub const MAX_LOCKS_PER_FILE: usize = 4096;

/// Who holds a lock: one open of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockOwner {
    /// SessionId.
    pub session_id: u64,
    /// FileId.Volatile of the open.
    pub volatile_id: u64,
}

/// A file, by device and inode.
pub type FileKey = (u64, u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    offset: u64,
    length: u64,
    exclusive: bool,
    owner: LockOwner,
}

fn overlaps(a_off: u64, a_len: u64, b_off: u64, b_len: u64) -> bool {
    // Zero-length ranges never conflict (MS-FSA 2.1.5.7).
    if a_len == 0 || b_len == 0 {
        return false;
    }
    // Inclusive last bytes: a range may end at the very last byte (offset u64::MAX, length 1).
    let a_last = a_off.saturating_add(a_len - 1);
    let b_last = b_off.saturating_add(b_len - 1);
    a_off <= b_last && b_off <= a_last
}

/// Does a requested lock conflict-test against a held range? As [`overlaps`], except that a
/// zero-length lock is a point: it meets a range that holds its offset strictly inside
/// (`start < offset < end`), as Windows decides (smbtorture smb2.lock.zerobytelength: a
/// 0-byte lock at 10 meets [9, 11) but not [10, 12) or [9, 10)); two points never meet.
fn lock_overlaps(a_off: u64, a_len: u64, b_off: u64, b_len: u64) -> bool {
    let inside =
        |point: u64, off: u64, len: u64| off < point && point <= off.saturating_add(len - 1);
    match (a_len == 0, b_len == 0) {
        (true, true) => false,
        (true, false) => inside(a_off, b_off, b_len),
        (false, true) => inside(b_off, a_off, a_len),
        (false, false) => overlaps(a_off, a_len, b_off, b_len),
    }
}

/// One element of a LOCK request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRequest {
    /// Offset.
    pub offset: u64,
    /// Length.
    pub length: u64,
    /// Exclusive (else shared).
    pub exclusive: bool,
}

/// All byte-range locks of one share.
#[derive(Debug, Default)]
pub struct LockTable {
    files: Mutex<HashMap<FileKey, Vec<Range>>>,
}

impl LockTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn files(&self) -> std::sync::MutexGuard<'_, HashMap<FileKey, Vec<Range>>> {
        // A panic while holding this lock leaves a consistent map (every update is one push or
        // retain), so a poisoned lock is safe to keep using.
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes every lock in `reqs` for `owner`, or none of them: the first conflict undoes the
    /// locks this request already took (MS-SMB2 3.3.5.14.2) and is `LOCK_NOT_GRANTED`.
    pub fn lock(
        &self,
        file: FileKey,
        owner: LockOwner,
        reqs: &[LockRequest],
    ) -> Result<(), NtStatus> {
        for r in reqs {
            // MS-FSA 2.1.5.7: only a last byte (offset + length - 1) past 2^64 is invalid.
            if r.length != 0 && r.offset.checked_add(r.length - 1).is_none() {
                return Err(STATUS_INVALID_LOCK_RANGE);
            }
        }
        let mut files = self.files();
        let ranges = files.entry(file).or_default();
        let before = ranges.len();
        for r in reqs {
            let conflict = ranges.iter().any(|h| {
                lock_overlaps(h.offset, h.length, r.offset, r.length)
                    && (r.exclusive || (h.exclusive && h.owner != owner))
            });
            if conflict {
                ranges.truncate(before);
                return Err(NtStatus::LOCK_NOT_GRANTED);
            }
            if ranges.len() >= MAX_LOCKS_PER_FILE {
                ranges.truncate(before);
                return Err(NtStatus::INSUFFICIENT_RESOURCES);
            }
            ranges.push(Range {
                offset: r.offset,
                length: r.length,
                exclusive: r.exclusive,
                owner,
            });
        }
        Ok(())
    }

    /// Releases exactly matching ranges; a range not held is `RANGE_NOT_LOCKED` (elements before
    /// it stay released, as on Windows).
    pub fn unlock(
        &self,
        file: FileKey,
        owner: LockOwner,
        reqs: &[LockRequest],
    ) -> Result<(), NtStatus> {
        let mut files = self.files();
        let ranges = files.entry(file).or_default();
        let mut result = Ok(());
        for r in reqs {
            let found = ranges
                .iter()
                .position(|h| h.owner == owner && h.offset == r.offset && h.length == r.length);
            match found {
                Some(i) => {
                    ranges.remove(i);
                }
                None => {
                    result = Err(NtStatus::RANGE_NOT_LOCKED);
                    break;
                }
            }
        }
        if ranges.is_empty() {
            files.remove(&file);
        }
        result
    }

    /// May `owner` read (or write) `length` bytes at `offset`? Reads conflict with other opens'
    /// exclusive locks; writes with any lock of another open and with our own shared locks.
    pub fn check_io(
        &self,
        file: FileKey,
        owner: LockOwner,
        offset: u64,
        length: u64,
        write: bool,
    ) -> Result<(), NtStatus> {
        let files = self.files();
        let Some(ranges) = files.get(&file) else {
            return Ok(());
        };
        let conflict = ranges.iter().any(|h| {
            overlaps(h.offset, h.length, offset, length)
                && if write {
                    h.owner != owner || !h.exclusive
                } else {
                    h.exclusive && h.owner != owner
                }
        });
        if conflict {
            Err(NtStatus::FILE_LOCK_CONFLICT)
        } else {
            Ok(())
        }
    }

    /// Drops every lock `owner` holds on `file` (CLOSE).
    pub fn release_all(&self, file: FileKey, owner: LockOwner) {
        let mut files = self.files();
        if let Some(ranges) = files.get_mut(&file) {
            ranges.retain(|h| h.owner != owner);
            if ranges.is_empty() {
                files.remove(&file);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const A: LockOwner = LockOwner {
        session_id: 1,
        volatile_id: 1,
    };
    const B: LockOwner = LockOwner {
        session_id: 1,
        volatile_id: 2,
    };
    const F: FileKey = (1, 42);

    fn ex(offset: u64, length: u64) -> LockRequest {
        LockRequest {
            offset,
            length,
            exclusive: true,
        }
    }
    fn sh(offset: u64, length: u64) -> LockRequest {
        LockRequest {
            offset,
            length,
            exclusive: false,
        }
    }

    #[test]
    fn exclusive_conflicts_and_shared_coexist() {
        let t = LockTable::new();
        t.lock(F, A, &[ex(0, 10)]).unwrap();
        assert_eq!(t.lock(F, B, &[ex(5, 10)]), Err(NtStatus::LOCK_NOT_GRANTED));
        assert_eq!(t.lock(F, B, &[sh(9, 1)]), Err(NtStatus::LOCK_NOT_GRANTED));
        t.lock(F, B, &[ex(10, 10)]).unwrap();
        t.lock(F, A, &[sh(100, 10)]).unwrap();
        t.lock(F, B, &[sh(100, 10)]).unwrap();
        assert_eq!(t.lock(F, A, &[ex(105, 1)]), Err(NtStatus::LOCK_NOT_GRANTED));
        // A zero-length lock is a point: it conflicts strictly inside another's range only.
        assert_eq!(t.lock(F, B, &[ex(5, 0)]), Err(NtStatus::LOCK_NOT_GRANTED));
        t.lock(F, B, &[ex(0, 0)]).unwrap();
        t.lock(F, B, &[ex(0, 0)]).unwrap();
    }

    #[test]
    fn a_range_may_end_at_the_last_byte() {
        // MS-FSA 2.1.5.7: offset + length - 1 must not overflow (smb2.lock.lock "max/1").
        let t = LockTable::new();
        t.lock(F, A, &[ex(u64::MAX, 1)]).unwrap();
        assert_eq!(
            t.lock(F, B, &[ex(u64::MAX, 1)]),
            Err(NtStatus::LOCK_NOT_GRANTED)
        );
        t.lock(F, B, &[ex(u64::MAX, 0)]).unwrap();
        assert_eq!(
            t.lock(F, B, &[ex(u64::MAX, 2)]),
            Err(STATUS_INVALID_LOCK_RANGE)
        );
    }

    #[test]
    fn lock_count_is_bounded() {
        let t = LockTable::new();
        let many: Vec<LockRequest> = (0..MAX_LOCKS_PER_FILE as u64).map(|i| sh(i, 1)).collect();
        t.lock(F, A, &many).unwrap();
        assert_eq!(
            t.lock(F, B, &[sh(u64::MAX - 10, 1)]),
            Err(NtStatus::INSUFFICIENT_RESOURCES)
        );
        t.unlock(F, A, &[sh(0, 1)]).unwrap();
        t.lock(F, B, &[sh(u64::MAX - 10, 1)]).unwrap();
    }

    #[test]
    fn failed_request_rolls_back() {
        let t = LockTable::new();
        t.lock(F, A, &[ex(50, 1)]).unwrap();
        assert_eq!(
            t.lock(F, B, &[ex(0, 10), ex(50, 1)]),
            Err(NtStatus::LOCK_NOT_GRANTED)
        );
        // The first element was undone: A can take it.
        t.lock(F, A, &[ex(0, 10)]).unwrap();
    }

    #[test]
    fn unlock_and_io_checks() {
        let t = LockTable::new();
        t.lock(F, A, &[ex(0, 10)]).unwrap();
        assert_eq!(
            t.check_io(F, B, 5, 1, false),
            Err(NtStatus::FILE_LOCK_CONFLICT)
        );
        assert_eq!(
            t.check_io(F, B, 5, 1, true),
            Err(NtStatus::FILE_LOCK_CONFLICT)
        );
        assert_eq!(t.check_io(F, A, 5, 1, true), Ok(()));
        assert_eq!(t.check_io(F, B, 10, 5, true), Ok(()));
        assert_eq!(
            t.unlock(F, B, &[ex(0, 10)]),
            Err(NtStatus::RANGE_NOT_LOCKED)
        );
        assert_eq!(t.unlock(F, A, &[ex(0, 9)]), Err(NtStatus::RANGE_NOT_LOCKED));
        t.unlock(F, A, &[ex(0, 10)]).unwrap();
        assert_eq!(t.check_io(F, B, 5, 1, true), Ok(()));
        assert_eq!(
            t.lock(F, A, &[ex(u64::MAX, 2)]),
            Err(STATUS_INVALID_LOCK_RANGE)
        );
        t.lock(F, A, &[sh(0, 10)]).unwrap();
        t.release_all(F, A);
        assert_eq!(t.check_io(F, B, 0, 10, true), Ok(()));
    }
}
