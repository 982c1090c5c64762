//! RFC 4120 §3.2.3 replay cache: remembers authenticators for the skew window so a captured
//! AP-REQ cannot be replayed. Shared by all connections; bounded in size.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// (client principal, service principal, ctime seconds, cusec).
type Entry = (String, String, i64, u32);

#[derive(Debug, Default)]
struct Inner {
    seen: HashSet<Entry>,
    /// Insertion order with expiry; insertion order is close to time order, so the front
    /// holds the oldest entries.
    order: VecDeque<(SystemTime, Entry)>,
}

/// A bounded, thread-safe replay cache. Share one `Arc<ReplayCache>` across connections.
#[derive(Debug)]
pub struct ReplayCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for ReplayCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayCache {
    /// Default capacity: 100 000 authenticators (a few MB), far above any realistic login rate
    /// within a 5-minute window.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A cache with the default capacity.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A cache holding at most `capacity` entries; when full the oldest entry is dropped.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    /// Record an authenticator seen at `now`, valid for `window`. Returns false if it was
    /// already present (a replay).
    pub fn check_and_insert(
        &self,
        client: &str,
        service: &str,
        ctime: i64,
        cusec: u32,
        now: SystemTime,
        window: Duration,
    ) -> bool {
        // A poisoned lock only means another thread panicked mid-insert; the set is still usable.
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((exp, _)) = inner.order.front() {
            if *exp > now && inner.order.len() < self.capacity {
                break;
            }
            if let Some((_, old)) = inner.order.pop_front() {
                inner.seen.remove(&old);
            }
        }
        let key: Entry = (client.to_owned(), service.to_owned(), ctime, cusec);
        if inner.seen.contains(&key) {
            return false;
        }
        inner.seen.insert(key.clone());
        // Keep it for the skew on both sides of ctime, measured from now.
        inner.order.push_back((now + window * 2, key));
        true
    }

    /// Number of remembered authenticators.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn detects_replay_and_expires_and_stays_bounded() {
        let c = ReplayCache::with_capacity(3);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let w = Duration::from_secs(300);
        assert!(c.check_and_insert("a@R", "s@R", 1, 2, t0, w));
        assert!(!c.check_and_insert("a@R", "s@R", 1, 2, t0, w), "replay");
        assert!(
            c.check_and_insert("a@R", "s@R", 1, 3, t0, w),
            "different cusec"
        );
        assert!(
            c.check_and_insert("b@R", "s@R", 1, 2, t0, w),
            "different client"
        );
        // Full: inserting drops the oldest.
        assert!(c.check_and_insert("c@R", "s@R", 1, 2, t0, w));
        assert_eq!(c.len(), 3);
        // After the window everything expires.
        let later = t0 + Duration::from_secs(601);
        assert!(c.check_and_insert("a@R", "s@R", 1, 3, later, w));
        assert_eq!(c.len(), 1);
    }
}
