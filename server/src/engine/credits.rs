//! [MS-SMB2 3.3.1.1, 3.3.1.2, 3.3.5.2.3] The command sequence window: which MessageIds the
//! client may use, and how many credits each response grants.
//!
//! The window is `[base, high)`: every id below `base` is used, ids in the window may be used
//! once each, in any order. A request charging N credits consumes N consecutive ids. The
//! window never holds more than `max_credits` ids, so its bookkeeping is bounded.

use std::collections::VecDeque;

/// The per-connection credit state.
#[derive(Debug)]
pub struct CreditWindow {
    base: u64,
    /// used[i] tells whether id `base + i` was consumed.
    used: VecDeque<bool>,
    max_credits: u16,
}

/// A MessageId outside the window or reused: MS-SMB2 3.3.5.2.3 says to terminate the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfWindow {
    /// First id of the request.
    pub message_id: u64,
    /// Ids it charged.
    pub charge: u16,
}

impl CreditWindow {
    /// A fresh connection: only MessageId 0 is usable (one credit).
    pub fn new(max_credits: u16) -> Self {
        Self {
            base: 0,
            used: VecDeque::from([false]),
            max_credits: max_credits.max(1),
        }
    }

    /// Ids the client may still use.
    pub fn available(&self) -> usize {
        self.used.iter().filter(|u| !**u).count()
    }

    /// Consumes `[message_id, message_id + charge)`.
    pub fn consume(&mut self, message_id: u64, charge: u16) -> Result<(), OutOfWindow> {
        let err = OutOfWindow { message_id, charge };
        let charge = u64::from(charge.max(1));
        let start = message_id.checked_sub(self.base).ok_or(err)?;
        let end = start.checked_add(charge).ok_or(err)?;
        let (start, end) = (
            usize::try_from(start).map_err(|_| err)?,
            usize::try_from(end).map_err(|_| err)?,
        );
        if end > self.used.len() || self.used.range(start..end).any(|u| *u) {
            return Err(err);
        }
        for u in self.used.range_mut(start..end) {
            *u = true;
        }
        while self.used.front() == Some(&true) {
            self.used.pop_front();
            self.base += 1;
        }
        Ok(())
    }

    /// Grants credits for one response: what the client asked for (at least one, so it can never
    /// run dry), limited so the window stays within `max_credits`. Returns the number granted.
    pub fn grant(&mut self, requested: u16) -> u16 {
        let room = usize::from(self.max_credits).saturating_sub(self.used.len());
        let want = usize::from(requested.max(1));
        // A client left with no usable id would hang: always leave it at least one.
        let floor = usize::from(self.available() == 0);
        let n = want.min(room).max(floor);
        self.used.extend(std::iter::repeat_n(false, n));
        u16::try_from(n).unwrap_or(u16::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_with_id_zero_only() {
        let mut w = CreditWindow::new(8192);
        assert_eq!(
            w.consume(1, 1),
            Err(OutOfWindow {
                message_id: 1,
                charge: 1
            })
        );
        assert!(w.consume(0, 1).is_ok());
        assert!(w.consume(0, 1).is_err(), "an id is used once");
        assert_eq!(w.grant(10), 10);
        assert!(w.consume(5, 1).is_ok(), "out of order within the window");
        assert!(w.consume(1, 4).is_ok(), "multi-credit");
        assert!(w.consume(6, 5).is_ok());
        assert!(w.consume(11, 1).is_err(), "past the granted window");
        assert_eq!(w.available(), 0);
    }

    #[test]
    fn window_is_bounded() {
        let mut w = CreditWindow::new(16);
        w.consume(0, 1).unwrap_or_default();
        assert_eq!(w.grant(1000), 16);
        assert_eq!(w.grant(1000), 0, "no room left while the client holds 16");
        assert!(
            w.consume(u64::MAX, 2).is_err(),
            "overflowing ids are refused"
        );
        w.consume(1, 3).unwrap_or_default();
        assert_eq!(w.grant(3), 3);
    }

    #[test]
    fn never_leaves_the_client_dry() {
        let mut w = CreditWindow::new(1);
        w.consume(0, 1).unwrap_or_default();
        assert_eq!(w.grant(0), 1);
        w.consume(1, 1).unwrap_or_default();
        assert_eq!(w.grant(5), 1);
    }
}
