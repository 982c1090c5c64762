//! A log throttle: at most one line per slot (one slot per limit) per [`LOG_INTERVAL`], and
//! the line that is written says how many were suppressed since the previous one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One line per limit per this long.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Slots the throttle keeps (at least as many as there are limits).
const SLOTS: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Slot {
    last: Option<Instant>,
    suppressed: u64,
}

/// The throttle's state: per slot, when it last logged and how many hits it has held back.
#[derive(Debug)]
pub struct RateLimitedLog {
    slots: Mutex<[Slot; SLOTS]>,
}

impl Default for RateLimitedLog {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimitedLog {
    /// Nothing logged yet.
    pub const fn new() -> Self {
        Self {
            slots: Mutex::new(
                [Slot {
                    last: None,
                    suppressed: 0,
                }; SLOTS],
            ),
        }
    }

    /// A hit on `slot` at `now`: `Some(n)` if a line should be written now (`n` hits were
    /// suppressed since the last line), `None` if this one is suppressed.
    pub fn admit(&self, slot: usize, now: Instant) -> Option<u64> {
        // The lock guards a few integer updates, never I/O; poisoning cannot leave them torn.
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let s = slots.get_mut(slot)?;
        match s.last {
            Some(last) if now.saturating_duration_since(last) < LOG_INTERVAL => {
                s.suppressed = s.suppressed.saturating_add(1);
                None
            }
            _ => {
                s.last = Some(now);
                Some(std::mem::take(&mut s.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_suppressed_count() {
        let log = RateLimitedLog::new();
        let t0 = Instant::now();
        assert_eq!(log.admit(3, t0), Some(0), "the first hit is logged");
        for i in 1..=5 {
            assert_eq!(log.admit(3, t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(
            log.admit(4, t0 + Duration::from_secs(1)),
            Some(0),
            "another limit has its own slot"
        );
        assert_eq!(
            log.admit(3, t0 + LOG_INTERVAL),
            Some(5),
            "the next line counts what was held back"
        );
        assert_eq!(
            log.admit(3, t0 + LOG_INTERVAL + Duration::from_secs(1)),
            None
        );
        assert_eq!(log.admit(99, t0), None, "an unknown slot never logs");
    }
}
