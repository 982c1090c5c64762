//! [MS-DTYP 2.3.3] FILETIME: 100-nanosecond intervals since 1601-01-01 UTC, and conversions
//! from and to Unix time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A FILETIME value as carried on the wire (u64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileTime(pub u64);

impl FileTime {
    /// FILETIME of the Unix epoch (1970-01-01T00:00:00Z).
    pub const UNIX_EPOCH: u64 = 116_444_736_000_000_000;
    /// Ticks per second.
    pub const TICKS_PER_SECOND: u64 = 10_000_000;

    /// From Unix seconds and nanoseconds (times before 1601 clamp to 0).
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        let ticks = i128::from(secs) * i128::from(Self::TICKS_PER_SECOND)
            + i128::from(nanos / 100)
            + i128::from(Self::UNIX_EPOCH);
        Self(u64::try_from(ticks.max(0)).unwrap_or(u64::MAX))
    }

    /// To Unix seconds and nanoseconds.
    pub fn to_unix(self) -> (i64, u32) {
        let rel = i128::from(self.0) - i128::from(Self::UNIX_EPOCH);
        let tps = i128::from(Self::TICKS_PER_SECOND);
        let secs = rel.div_euclid(tps);
        let rem = rel.rem_euclid(tps);
        (
            i64::try_from(secs).unwrap_or(i64::MAX),
            u32::try_from(rem * 100).unwrap_or(0),
        )
    }

    /// From a [`SystemTime`].
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self::from_unix(
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            Err(e) => {
                let d = e.duration();
                let (mut secs, mut nanos) = (
                    -i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    d.subsec_nanos(),
                );
                if nanos > 0 {
                    secs -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                Self::from_unix(secs, nanos)
            }
        }
    }

    /// To a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let (secs, nanos) = self.to_unix();
        if secs >= 0 {
            UNIX_EPOCH + Duration::new(secs.unsigned_abs(), nanos)
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
                + Duration::from_nanos(u64::from(nanos))
        }
    }
}
