//! Directory change notification for CHANGE_NOTIFY ([MS-SMB2 3.3.5.19], [MS-FSA 2.1.5.10]),
//! backed by one Linux inotify instance per share.
//!
//! A [`Watch`] belongs to one directory open: it is created by the open's first CHANGE_NOTIFY
//! (its CompletionFilter and WATCH_TREE flag stay for the life of the open, as on Windows) and
//! from then on collects changes until the open closes, so changes made between two
//! CHANGE_NOTIFY requests are returned by the next one. Because the kernel reports every change
//! to the watched inodes, changes made by rsmbd itself (any connection or session) and by other
//! processes on the host are reported alike.
//!
//! No thread of ours waits on inotify: the fd is non-blocking and is drained by whoever asks
//! ([`Notifier::drain`], called from the CHANGE_NOTIFY handler, which the engine retries while
//! the request pends), so `share` stays free of threads and async runtimes. One drainer at a
//! time (`try_lock`, nobody waits for it) keeps the kernel's event order.
//!
//! Bounds: at most [`MAX_TREE_DIRS`] directories per tree watch and [`MAX_BUFFERED`] bytes of
//! buffered changes per watch; past either, the next request gets STATUS_NOTIFY_ENUM_DIR
//! ("re-read the directory"), as it does when the kernel queue overflows.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, Weak};

use rsmbd_protocol::fscc::{FileNotifyInformation, NotifyAction};
use rsmbd_protocol::messages::change_notify::CompletionFilter;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::fs::{Mode, OFlags};

use crate::disk::path::validate_component;
use crate::open::lock;

/// Most directories one WATCH_TREE request watches; a bigger tree overflows (ENUM_DIR).
pub const MAX_TREE_DIRS: usize = 4096;
/// Deepest subdirectory a tree watch descends to.
pub const MAX_TREE_DEPTH: usize = 64;
/// Most bytes of FILE_NOTIFY_INFORMATION one watch buffers between requests.
pub const MAX_BUFFERED: usize = 1024 * 1024;

/// What the watches ask the kernel for.
fn kernel_mask() -> WatchFlags {
    WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::MODIFY
        | WatchFlags::ATTRIB
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::EXCL_UNLINK
        // No DONT_FOLLOW: the path is the /proc magic link that must be followed to the inode.
        | WatchFlags::ONLYDIR
}

/// One change as the kernel reported it (name relative to the watched inode).
#[derive(Debug)]
struct RawEvent {
    wd: i32,
    flags: ReadFlags,
    cookie: u32,
    name: String,
}

/// The changes one watch has seen and not yet returned.
#[derive(Debug, Default)]
struct WatchState {
    changes: Vec<FileNotifyInformation>,
    /// Encoded size of `changes` (a bound on memory).
    bytes: usize,
    /// Too many changes, too big a tree or a kernel overflow: report NOTIFY_ENUM_DIR.
    overflow: bool,
    /// Watch descriptor -> the directory's path relative to the watched one ("" for itself).
    dirs: HashMap<i32, String>,
    stopped: bool,
}

/// The change notification state of one directory open ([MS-FSA 2.1.5.10]).
#[derive(Debug)]
pub struct Watch {
    /// CompletionFilter of the first request.
    filter: u32,
    /// SMB2_WATCH_TREE of the first request.
    tree: bool,
    /// The watched directory (a duplicate of the open's fd), to reach new subdirectories.
    dir: OwnedFd,
    /// OutputBufferLength of the first request, which stays a bound, as the filter does.
    first_buffer: std::sync::OnceLock<u32>,
    state: Mutex<WatchState>,
}

/// What a CHANGE_NOTIFY request gets from [`Watch::take`].
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// Nothing changed yet: the request keeps waiting.
    Nothing,
    /// These changes (the buffer is now empty).
    Changes(Vec<FileNotifyInformation>),
    /// More changed than could be kept or returned: STATUS_NOTIFY_ENUM_DIR.
    Overflow,
}

impl Watch {
    /// CompletionFilter this watch was created with.
    pub fn filter(&self) -> u32 {
        self.filter
    }

    /// Whether it watches the whole subtree.
    pub fn tree(&self) -> bool {
        self.tree
    }

    /// How many bytes of changes a request with OutputBufferLength `requested` may get: as
    /// on Windows, the first request's length also bounds every later one (smb2.notify.
    /// valid-req: after a first answer of NOTIFY_ENUM_DIR for a 1-byte buffer, a large buffer
    /// still gets NOTIFY_ENUM_DIR).
    pub fn output_limit(&self, requested: u32) -> u32 {
        (*self.first_buffer.get_or_init(|| requested)).min(requested)
    }

    /// Takes the buffered changes.
    pub fn take(&self) -> Taken {
        let mut st = lock(&self.state);
        if st.overflow {
            st.overflow = false;
            st.changes.clear();
            st.bytes = 0;
            return Taken::Overflow;
        }
        if st.changes.is_empty() {
            return Taken::Nothing;
        }
        st.bytes = 0;
        Taken::Changes(std::mem::take(&mut st.changes))
    }

    fn push(&self, st: &mut WatchState, action: u32, name: String) {
        if st.overflow {
            return;
        }
        // 12 bytes of header plus UTF-16 name, aligned to 4 (MS-FSCC 2.7.1).
        let size = (12 + name.encode_utf16().count() * 2).div_ceil(4) * 4;
        st.bytes = st.bytes.saturating_add(size);
        if st.bytes > MAX_BUFFERED {
            st.overflow = true;
            st.changes.clear();
            return;
        }
        st.changes.push(FileNotifyInformation {
            action,
            file_name: name,
        });
    }

    fn overflow(&self) {
        let mut st = lock(&self.state);
        st.overflow = true;
        st.changes.clear();
    }
}

#[derive(Debug, Default)]
struct NotifierState {
    /// The inotify fd, created on first use (a share nobody watches costs nothing).
    fd: Option<Arc<OwnedFd>>,
    /// Watch descriptor -> the watches that see it.
    subscribers: HashMap<i32, Vec<Weak<Watch>>>,
}

/// The inotify instance of one share and the watches on it.
#[derive(Debug, Default)]
pub struct Notifier {
    state: Mutex<NotifierState>,
    /// Held (with `try_lock`) by the one thread draining the kernel queue.
    draining: Mutex<()>,
}

impl Notifier {
    /// An idle notifier.
    pub fn new() -> Self {
        Self::default()
    }

    fn fd(&self) -> io::Result<Arc<OwnedFd>> {
        let mut st = lock(&self.state);
        if let Some(fd) = &st.fd {
            return Ok(Arc::clone(fd));
        }
        let fd = Arc::new(inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC)?);
        st.fd = Some(Arc::clone(&fd));
        Ok(fd)
    }

    /// Starts watching the open directory `dir` (and, with `tree`, every directory below it).
    pub fn watch(&self, dir: BorrowedFd<'_>, filter: u32, tree: bool) -> io::Result<Arc<Watch>> {
        let watch = Arc::new(Watch {
            filter,
            tree,
            dir: rustix::io::fcntl_dupfd_cloexec(dir, 3)?,
            first_buffer: std::sync::OnceLock::new(),
            state: Mutex::new(WatchState::default()),
        });
        let mut budget = MAX_TREE_DIRS;
        self.add_dir(&watch, watch.dir.as_fd(), String::new(), &mut budget)?;
        if tree {
            self.add_subtree(&watch, watch.dir.as_fd(), "", 0, &mut budget);
        }
        Ok(watch)
    }

    /// Adds one directory to `watch` under `prefix`.
    fn add_dir(
        &self,
        watch: &Arc<Watch>,
        dir: BorrowedFd<'_>,
        prefix: String,
        budget: &mut usize,
    ) -> io::Result<()> {
        if *budget == 0 {
            watch.overflow();
            return Ok(());
        }
        *budget -= 1;
        let fd = self.fd()?;
        // The kernel takes a path; the /proc magic link names exactly the inode we hold open,
        // so nothing is resolved by name. Add and register under the lock so that a concurrent
        // stop cannot remove a descriptor another watch just started to share.
        let path = format!("/proc/self/fd/{}", dir.as_raw_fd());
        let mut st = lock(&self.state);
        let wd = inotify::add_watch(fd.as_fd(), path, kernel_mask())?;
        let subs = st.subscribers.entry(wd).or_default();
        subs.retain(|w| w.strong_count() > 0);
        if !subs.iter().any(|w| w.as_ptr() == Arc::as_ptr(watch)) {
            subs.push(Arc::downgrade(watch));
        }
        drop(st);
        lock(&watch.state).dirs.insert(wd, prefix);
        Ok(())
    }

    /// Adds every directory below `dir` (at `prefix`) to a tree watch.
    fn add_subtree(
        &self,
        watch: &Arc<Watch>,
        dir: BorrowedFd<'_>,
        prefix: &str,
        depth: usize,
        budget: &mut usize,
    ) {
        if depth >= MAX_TREE_DEPTH {
            watch.overflow();
            return;
        }
        let mut subdirs = Vec::new();
        if let Ok(mut d) = rustix::fs::Dir::read_from(dir) {
            while let Some(Ok(entry)) = d.read() {
                if entry.file_type() != rustix::fs::FileType::Directory {
                    continue;
                }
                let Ok(name) = entry.file_name().to_str() else {
                    continue;
                };
                if name != "." && name != ".." && validate_component(name).is_ok() {
                    subdirs.push(name.to_owned());
                }
            }
        }
        for name in subdirs {
            let Ok(sub) = open_subdir(dir, &name) else {
                continue;
            };
            let path = join(prefix, &name);
            if self
                .add_dir(watch, sub.as_fd(), path.clone(), budget)
                .is_err()
            {
                continue;
            }
            self.add_subtree(watch, sub.as_fd(), &path, depth + 1, budget);
        }
    }

    /// Stops `watch`: its kernel watches go when no other watch shares them.
    pub fn stop(&self, watch: &Arc<Watch>) {
        let wds: Vec<i32> = {
            let mut ws = lock(&watch.state);
            ws.stopped = true;
            ws.changes.clear();
            ws.dirs.drain().map(|(wd, _)| wd).collect()
        };
        let mut st = lock(&self.state);
        let fd = st.fd.clone();
        for wd in wds {
            let Some(subs) = st.subscribers.get_mut(&wd) else {
                continue;
            };
            subs.retain(|w| w.strong_count() > 0 && w.as_ptr() != Arc::as_ptr(watch));
            if subs.is_empty() {
                st.subscribers.remove(&wd);
                if let Some(fd) = &fd {
                    // A descriptor the kernel already dropped (directory deleted) is EINVAL.
                    let _ = inotify::remove_watch(fd.as_fd(), wd);
                }
            }
        }
    }

    /// Reads what the kernel queued and hands each change to the watches that asked for it.
    pub fn drain(&self) {
        let Ok(_draining) = self.draining.try_lock() else {
            // Another thread is draining; it delivers to every watch, ours included.
            return;
        };
        let Some(fd) = lock(&self.state).fd.clone() else {
            return;
        };
        let mut events = Vec::new();
        let mut overflowed = false;
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 8192];
        let mut reader = inotify::Reader::new(fd.as_fd(), &mut buf);
        // Bounded: one drain takes what is queued now (the kernel caps its queue).
        while let Ok(ev) = reader.next() {
            if ev.events().contains(ReadFlags::QUEUE_OVERFLOW) {
                overflowed = true;
                continue;
            }
            let name = ev
                .file_name()
                .and_then(|n| n.to_str().ok())
                .unwrap_or("")
                .to_owned();
            events.push(RawEvent {
                wd: ev.wd(),
                flags: ev.events(),
                cookie: ev.cookie(),
                name,
            });
        }
        let new_dirs = self.deliver(&events, overflowed);
        drop(_draining);
        // Tree watches follow directories created (or moved in) while they watch.
        for (watch, path) in new_dirs {
            let Ok(sub) = open_path(watch.dir.as_fd(), &path) else {
                continue;
            };
            let mut budget = MAX_TREE_DIRS.saturating_sub(lock(&watch.state).dirs.len());
            if self
                .add_dir(&watch, sub.as_fd(), path.clone(), &mut budget)
                .is_ok()
            {
                self.add_subtree(&watch, sub.as_fd(), &path, 1, &mut budget);
            }
        }
    }

    /// Delivers a batch; returns the new subdirectories tree watches must follow.
    fn deliver(&self, events: &[RawEvent], overflowed: bool) -> Vec<(Arc<Watch>, String)> {
        let mut st = lock(&self.state);
        let watches_of = |st: &NotifierState, wd: i32| -> Vec<Arc<Watch>> {
            st.subscribers
                .get(&wd)
                .map(|v| v.iter().filter_map(Weak::upgrade).collect())
                .unwrap_or_default()
        };
        if overflowed {
            for w in st.subscribers.values().flatten().filter_map(Weak::upgrade) {
                w.overflow();
            }
        }
        let mut new_dirs = Vec::new();
        let mut i = 0;
        while let Some(ev) = events.get(i) {
            i += 1;
            if ev.flags.contains(ReadFlags::IGNORED) {
                // The directory is gone (or the watch removed): forget the descriptor.
                for w in watches_of(&st, ev.wd) {
                    lock(&w.state).dirs.remove(&ev.wd);
                }
                st.subscribers.remove(&ev.wd);
                continue;
            }
            if ev.name.is_empty() || validate_component(&ev.name).is_err() {
                // An event on the watched directory itself, or a name no client can see.
                continue;
            }
            let is_dir = ev.flags.contains(ReadFlags::ISDIR);
            let name_filter = if is_dir {
                CompletionFilter::DIR_NAME
            } else {
                CompletionFilter::FILE_NAME
            };
            let from = watches_of(&st, ev.wd);
            if ev.flags.contains(ReadFlags::MOVED_FROM) {
                // A rename is MOVED_FROM then MOVED_TO with one cookie; a watch that sees both
                // halves reports OLD_NAME/NEW_NAME, one that sees one half REMOVED or ADDED.
                let pair = events
                    .get(i)
                    .filter(|n| n.flags.contains(ReadFlags::MOVED_TO) && n.cookie == ev.cookie);
                let to = pair.map(|n| watches_of(&st, n.wd)).unwrap_or_default();
                for w in &from {
                    let both = to.iter().any(|t| Arc::ptr_eq(t, w));
                    let action = if both {
                        NotifyAction::RENAMED_OLD_NAME
                    } else {
                        NotifyAction::REMOVED
                    };
                    record(w, ev.wd, &ev.name, action, name_filter);
                }
                if let Some(next) = pair {
                    i += 1;
                    if validate_component(&next.name).is_ok() {
                        for w in &to {
                            let both = from.iter().any(|f| Arc::ptr_eq(f, w));
                            let action = if both {
                                NotifyAction::RENAMED_NEW_NAME
                            } else {
                                NotifyAction::ADDED
                            };
                            if let Some(p) = record(w, next.wd, &next.name, action, name_filter)
                                && is_dir
                                && w.tree
                            {
                                new_dirs.push((Arc::clone(w), p));
                            }
                        }
                    }
                }
                continue;
            }
            // A MOVED_TO without its MOVED_FROM came from outside every watch: an addition.
            let (action, filter) = if ev.flags.intersects(ReadFlags::CREATE | ReadFlags::MOVED_TO) {
                (NotifyAction::ADDED, name_filter)
            } else if ev.flags.contains(ReadFlags::DELETE) {
                (NotifyAction::REMOVED, name_filter)
            } else if ev.flags.contains(ReadFlags::MODIFY) {
                (
                    NotifyAction::MODIFIED,
                    CompletionFilter::SIZE | CompletionFilter::LAST_WRITE,
                )
            } else if ev.flags.contains(ReadFlags::ATTRIB) {
                // Mode, times, owner, link count or xattrs (DOS attributes, streams, ACLs).
                (
                    NotifyAction::MODIFIED,
                    CompletionFilter::ATTRIBUTES
                        | CompletionFilter::LAST_WRITE
                        | CompletionFilter::LAST_ACCESS
                        | CompletionFilter::CREATION
                        | CompletionFilter::EA
                        | CompletionFilter::SECURITY,
                )
            } else {
                continue;
            };
            let added = action == NotifyAction::ADDED && is_dir;
            for w in &from {
                if let Some(p) = record(w, ev.wd, &ev.name, action, filter)
                    && added
                    && w.tree
                {
                    new_dirs.push((Arc::clone(w), p));
                }
            }
        }
        drop(st);
        new_dirs
    }
}

/// Buffers one change for `w` if its filter asks for it; returns the path relative to the
/// watched directory (even when filtered out, so tree watches still follow new directories).
fn record(w: &Watch, wd: i32, name: &str, action: u32, filter: u32) -> Option<String> {
    let mut st = lock(&w.state);
    if st.stopped {
        return None;
    }
    let prefix = st.dirs.get(&wd)?;
    let path = join(prefix, name);
    if w.filter & filter != 0 {
        w.push(&mut st, action, path.clone());
    }
    Some(path)
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}\\{name}")
    }
}

/// Opens the directory `name` (one component, from readdir or the kernel) in `dir`, refusing
/// symlinks.
fn open_subdir(dir: BorrowedFd<'_>, name: &str) -> io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)
}

/// Opens the directory at the backslash-separated `path` below `dir`, one component at a time.
fn open_path(dir: BorrowedFd<'_>, path: &str) -> io::Result<OwnedFd> {
    let mut cur: Option<OwnedFd> = None;
    for comp in path.split('\\') {
        validate_component(comp).map_err(|_| io::Error::from(rustix::io::Errno::INVAL))?;
        let at = cur.as_ref().map_or(dir, |fd| fd.as_fd());
        cur = Some(open_subdir(at, comp)?);
    }
    cur.ok_or_else(|| io::Error::from(rustix::io::Errno::INVAL))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::fs::File;

    const ALL: u32 = 0xFFF;

    fn wait(n: &Notifier, w: &Watch) -> Taken {
        for _ in 0..100 {
            n.drain();
            match w.take() {
                Taken::Nothing => std::thread::sleep(std::time::Duration::from_millis(10)),
                other => return other,
            }
        }
        Taken::Nothing
    }

    fn names(t: Taken) -> Vec<(u32, String)> {
        match t {
            Taken::Changes(c) => c.into_iter().map(|e| (e.action, e.file_name)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_rename_delete_in_one_directory() {
        let d = tempfile::tempdir().unwrap();
        let dir = File::open(d.path()).unwrap();
        let n = Notifier::new();
        let w = n.watch(dir.as_fd(), ALL, false).unwrap();
        std::fs::write(d.path().join("a.txt"), b"x").unwrap();
        std::fs::rename(d.path().join("a.txt"), d.path().join("b.txt")).unwrap();
        std::fs::remove_file(d.path().join("b.txt")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let got = names(wait(&n, &w));
        assert_eq!(got[0], (NotifyAction::ADDED, "a.txt".into()));
        assert!(got.contains(&(NotifyAction::RENAMED_OLD_NAME, "a.txt".into())));
        assert!(got.contains(&(NotifyAction::RENAMED_NEW_NAME, "b.txt".into())));
        assert_eq!(
            got.last().unwrap(),
            &(NotifyAction::REMOVED, "b.txt".into())
        );
        n.stop(&w);
        assert!(lock(&n.state).subscribers.is_empty());
    }

    #[test]
    fn filter_and_tree() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        let dir = File::open(d.path()).unwrap();
        let n = Notifier::new();
        let names_only = n
            .watch(dir.as_fd(), CompletionFilter::DIR_NAME, false)
            .unwrap();
        let tree = n
            .watch(dir.as_fd(), CompletionFilter::FILE_NAME, true)
            .unwrap();
        std::fs::write(d.path().join("sub").join("f"), b"x").unwrap();
        std::fs::create_dir(d.path().join("new")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(
            names(wait(&n, &tree)),
            vec![(NotifyAction::ADDED, "sub\\f".into())]
        );
        assert_eq!(
            names(wait(&n, &names_only)),
            vec![(NotifyAction::ADDED, "new".into())]
        );
        // The tree watch follows the new directory.
        std::fs::write(d.path().join("new").join("g"), b"x").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(
            names(wait(&n, &tree)),
            vec![(NotifyAction::ADDED, "new\\g".into())]
        );
        assert_eq!(names_only.take(), Taken::Nothing);
    }

    #[test]
    fn overflow_reports_enum_dir() {
        let d = tempfile::tempdir().unwrap();
        let dir = File::open(d.path()).unwrap();
        let n = Notifier::new();
        let w = n.watch(dir.as_fd(), ALL, false).unwrap();
        let mut st = lock(&w.state);
        for i in 0..(MAX_BUFFERED / 16 + 1) {
            w.push(&mut st, NotifyAction::ADDED, format!("{i}"));
        }
        drop(st);
        assert_eq!(w.take(), Taken::Overflow);
        assert_eq!(w.take(), Taken::Nothing);
    }
}
