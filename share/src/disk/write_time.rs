//! LastWriteTime of an open file as Windows maintains it, not as Linux does.
//!
//! Linux moves mtime on every `write`. Windows (what smbtorture's `smb2.timestamps` checks, and
//! MS-FSA 2.1.5.3 lets the object store do) updates it lazily, per open:
//!
//! - the first WRITE on an open schedules one update [`DELAY`] later; until then the file shows
//!   its old write time;
//! - when the update is due (seen at the next request on the open: QUERY_INFO, WRITE, CLOSE)
//!   the write time becomes the due time; later writes on the open do not move it again ...
//! - ... until CLOSE, which sets it to the close time if the open wrote after the update, and
//!   applies a still-pending update;
//! - FLUSH, and a SET_INFO of FileBasic/EndOfFile/Allocation information, apply a pending update
//!   at once;
//! - a client that sets LastWriteTime (or freezes it with -1, [MS-FSA 2.1.5.14.2]
//!   Open.UserSetModificationTime) makes that value stick: this open's writes no longer move it;
//!   -2 thaws it.
//!
//! The kernel's own update is undone with `futimens` right after each write, so the time other
//! opens and `stat` see is the one above. The state is a small per-open mutex, never held
//! across a system call.

use std::fs::File;
use std::io;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};

use crate::open::lock;

/// How long after an open's first write its write time is updated (Windows: 2 s).
pub const DELAY: Duration = Duration::from_secs(2);

/// A Unix time (seconds, nanoseconds).
type UnixTime = (i64, i64);

#[derive(Debug, Default, Clone, Copy)]
struct State {
    /// Open.UserSetModificationTime: the client set (or froze) the write time.
    sticky: bool,
    /// The write time this open keeps the file at after its writes.
    shown: Option<UnixTime>,
    /// A scheduled update (set by the first write).
    due: Option<SystemTime>,
    /// The scheduled update happened (later writes only mark `dirty`).
    fired: bool,
    /// Written since the update: CLOSE sets the write time.
    dirty: bool,
}

/// Per-open write-time state (see the module note).
#[derive(Debug, Default)]
pub struct WriteTime {
    state: Mutex<State>,
}

fn mtime_of(file: &File) -> io::Result<UnixTime> {
    let st = rustix::fs::fstat(file)?;
    #[allow(clippy::unnecessary_cast)]
    Ok((st.st_mtime as i64, st.st_mtime_nsec as i64))
}

fn set_mtime(file: &File, t: Option<UnixTime>) -> io::Result<()> {
    let last_modification = match t {
        Some((s, ns)) => Timespec {
            tv_sec: s,
            tv_nsec: ns as _,
        },
        None => Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_NOW,
        },
    };
    let times = Timestamps {
        last_access: Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
        last_modification,
    };
    rustix::fs::futimens(file, &times).map_err(io::Error::from)
}

/// Sets the write time to the current time, read from the precise clock: the kernel's own
/// "now" (`UTIME_NOW`) is the coarse tick, which can lag a client's clock reading taken just
/// before. Not the owner (so only `UTIME_NOW` is allowed): the coarse time it is.
fn set_now(file: &File) -> io::Result<UnixTime> {
    let now = unix(SystemTime::now());
    match set_mtime(file, Some(now)) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            set_mtime(file, None)?;
            mtime_of(file)
        }
        other => other.map(|()| now),
    }
}

fn unix(t: SystemTime) -> UnixTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            i64::from(d.subsec_nanos()),
        ),
        Err(_) => (0, 0),
    }
}

impl WriteTime {
    fn get(&self) -> State {
        *lock(&self.state)
    }

    fn put(&self, f: impl FnOnce(&mut State)) {
        f(&mut lock(&self.state));
    }

    /// Applies a due update (QUERY_INFO, WRITE and CLOSE call this first).
    pub fn refresh(&self, file: &File) -> io::Result<()> {
        let s = self.get();
        let Some(due) = s.due else { return Ok(()) };
        if SystemTime::now() < due {
            return Ok(());
        }
        let t = unix(due);
        set_mtime(file, Some(t))?;
        self.put(|s| {
            s.due = None;
            s.fired = true;
            s.shown = Some(t);
        });
        Ok(())
    }

    /// Before a WRITE: remembers the write time to keep showing.
    pub fn before_write(&self, file: &File) -> io::Result<()> {
        self.refresh(file)?;
        if self.get().shown.is_none() {
            let t = mtime_of(file)?;
            self.put(|s| {
                s.shown.get_or_insert(t);
            });
        }
        Ok(())
    }

    /// After a WRITE: undoes the kernel's update and schedules (or records) ours.
    pub fn after_write(&self, file: &File) -> io::Result<()> {
        let s = self.get();
        set_mtime(file, s.shown.or(Some(mtime_of(file)?)))?;
        if s.sticky {
            return Ok(());
        }
        self.put(|s| {
            if s.fired {
                s.dirty = true;
            } else if s.due.is_none() {
                s.due = SystemTime::now().checked_add(DELAY);
            }
        });
        Ok(())
    }

    /// FLUSH, SET_INFO: a pending update happens now.
    pub fn flush(&self, file: &File) -> io::Result<()> {
        if self.get().due.is_none() {
            return Ok(());
        }
        let now = set_now(file)?;
        self.put(|s| {
            s.due = None;
            s.fired = true;
            s.shown = Some(now);
        });
        Ok(())
    }

    /// After a size change (EndOfFile, Allocation): the kernel set the write time to now,
    /// which stands unless the client made the time sticky.
    pub fn after_resize(&self, file: &File) -> io::Result<()> {
        let s = self.get();
        if s.sticky {
            return set_mtime(file, s.shown);
        }
        self.flush(file)?;
        let now = mtime_of(file)?;
        self.put(|s| {
            if s.shown.is_some() {
                s.shown = Some(now);
            }
        });
        Ok(())
    }

    /// FileBasicInformation LastWriteTime ([MS-FSA 2.1.5.14.2]): `0` leaves everything,
    /// `-1` freezes the current time, `-2` thaws, any other value was just set and sticks.
    pub fn client_set(&self, file: &File, filetime: u64) -> io::Result<()> {
        match filetime {
            0 => Ok(()),
            u64::MAX => {
                let t = mtime_of(file)?;
                self.put(|s| {
                    *s = State {
                        sticky: true,
                        shown: Some(t),
                        ..State::default()
                    }
                });
                Ok(())
            }
            0xFFFF_FFFF_FFFF_FFFE => {
                self.put(|s| *s = State::default());
                Ok(())
            }
            _ => {
                let t = mtime_of(file)?;
                self.put(|s| {
                    *s = State {
                        sticky: true,
                        shown: Some(t),
                        ..State::default()
                    }
                });
                Ok(())
            }
        }
    }

    /// CLOSE (and any other end of the open): a pending update happens, and writes after the
    /// update set the write time to now. Runs once; later calls find nothing to do.
    pub fn close(&self, file: &File) -> io::Result<()> {
        let s = self.get();
        self.put(|s| *s = State::default());
        if s.sticky {
            return Ok(());
        }
        if s.due.is_some() || s.dirty {
            set_now(file)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::os::unix::fs::FileExt;

    fn file() -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("f"))
            .unwrap();
        set_mtime(&f, Some((1_000_000_000, 0))).unwrap();
        (dir, f)
    }

    fn write(w: &WriteTime, f: &File) {
        w.before_write(f).unwrap();
        f.write_all_at(b"x", 0).unwrap();
        w.after_write(f).unwrap();
    }

    #[test]
    fn first_write_is_delayed_then_flush_applies_it() {
        let (_d, f) = file();
        let w = WriteTime::default();
        write(&w, &f);
        assert_eq!(
            mtime_of(&f).unwrap(),
            (1_000_000_000, 0),
            "hidden until due"
        );
        w.refresh(&f).unwrap();
        assert_eq!(mtime_of(&f).unwrap(), (1_000_000_000, 0), "not due yet");
        w.flush(&f).unwrap();
        let flushed = mtime_of(&f).unwrap();
        assert!(flushed.0 > 1_000_000_000);
        // Nothing written since: CLOSE leaves it.
        w.close(&f).unwrap();
        assert_eq!(mtime_of(&f).unwrap(), flushed);
    }

    #[test]
    fn due_update_then_second_write_waits_for_close() {
        let (_d, f) = file();
        let w = WriteTime::default();
        write(&w, &f);
        // Pretend the delay passed.
        w.put(|s| s.due = Some(SystemTime::now() - Duration::from_secs(1)));
        w.refresh(&f).unwrap();
        let fired = mtime_of(&f).unwrap();
        assert!(fired.0 > 1_000_000_000);
        write(&w, &f);
        assert_eq!(
            mtime_of(&f).unwrap(),
            fired,
            "second write does not move it"
        );
        std::thread::sleep(Duration::from_millis(5));
        w.close(&f).unwrap();
        assert!(mtime_of(&f).unwrap() > fired, "close after a write sets it");
    }

    #[test]
    fn close_applies_a_pending_update() {
        let (_d, f) = file();
        let w = WriteTime::default();
        write(&w, &f);
        w.close(&f).unwrap();
        assert!(mtime_of(&f).unwrap().0 > 1_000_000_000);
    }

    #[test]
    fn client_set_time_sticks_until_thawed() {
        let (_d, f) = file();
        let w = WriteTime::default();
        set_mtime(&f, Some((1_500_000_000, 500))).unwrap();
        w.client_set(&f, 1).unwrap();
        write(&w, &f);
        w.close(&f).unwrap();
        assert_eq!(mtime_of(&f).unwrap(), (1_500_000_000, 500));
        // Freeze, then thaw: writes schedule an update again.
        w.client_set(&f, u64::MAX).unwrap();
        write(&w, &f);
        assert_eq!(mtime_of(&f).unwrap(), (1_500_000_000, 500));
        w.client_set(&f, 0xFFFF_FFFF_FFFF_FFFE).unwrap();
        write(&w, &f);
        w.close(&f).unwrap();
        assert!(mtime_of(&f).unwrap().0 > 1_500_000_000);
    }
}
