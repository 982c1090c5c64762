//! Opens ([MS-SMB2 3.3.1.10] Per Open): a file, directory or named pipe opened by CREATE and
//! addressed by its FileId until CLOSE, TREE_DISCONNECT, LOGOFF or connection loss.

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rsmbd_protocol::file_id::FileId;

use crate::disk::enumerate::Enumeration;
use crate::disk::locks::{FileKey, LockOwner};
use crate::disk::meta::FileMeta;
use crate::disk::notify::Watch;
use crate::disk::path::RelPath;
use crate::disk::share_modes::ShareModeToken;
use crate::disk::write_time::WriteTime;
use crate::ipc::Pipe;
use crate::registry::Share;

/// Locks a mutex, keeping the data if a panicking thread poisoned it: every critical section
/// here is a plain field update, so the data stays consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Mutable state of a disk open.
#[derive(Debug)]
struct DiskState {
    /// Where the open's entry is now (updated by rename).
    path: RelPath,
    /// Open.DeleteOnClose (CREATE option): the file becomes delete-pending when this open
    /// closes.
    delete_on_close: bool,
}

/// A file or directory of a disk share.
#[derive(Debug)]
pub struct DiskOpen {
    file: File,
    /// Device and inode at open time: what rename and delete check the path still names.
    identity: FileMeta,
    state: Mutex<DiskState>,
    /// The share-mode registration, released at close.
    share_mode: Option<ShareModeToken>,
    /// The QUERY_DIRECTORY cursor. Held across the `stat` calls of one query: it serializes
    /// queries on *this handle only* (as the cursor semantics require), never other opens.
    enumeration: Mutex<Option<Enumeration>>,
    /// Created with FILE_WRITE_THROUGH: every WRITE reaches stable storage before its answer.
    write_through: bool,
    /// The change notification watch, started by the first CHANGE_NOTIFY on a directory.
    notify: Mutex<Option<Arc<Watch>>>,
    /// The named stream this open addresses (`file:stream`), stored in an xattr of `file`.
    stream: Mutex<Option<String>>,
    /// How this open moves the file's LastWriteTime (`disk::write_time`).
    write_time: WriteTime,
}

impl DiskOpen {
    /// Wraps a freshly opened file.
    pub fn new(
        file: File,
        identity: FileMeta,
        path: RelPath,
        delete_on_close: bool,
        share_mode: Option<ShareModeToken>,
    ) -> Self {
        Self {
            file,
            identity,
            state: Mutex::new(DiskState {
                path,
                delete_on_close,
            }),
            share_mode,
            enumeration: Mutex::new(None),
            write_through: false,
            notify: Mutex::new(None),
            stream: Mutex::new(None),
            write_time: WriteTime::default(),
        }
    }

    /// Marks the open FILE_WRITE_THROUGH ([MS-SMB2 2.2.13] CreateOptions).
    pub fn with_write_through(mut self, on: bool) -> Self {
        self.write_through = on;
        self
    }

    /// Opened with FILE_WRITE_THROUGH.
    pub fn write_through(&self) -> bool {
        self.write_through
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Directory or file.
    pub fn is_dir(&self) -> bool {
        self.identity.is_dir
    }

    /// Metadata captured at open (identity: device and inode).
    pub fn identity(&self) -> &FileMeta {
        &self.identity
    }

    /// The lock-table key of the file.
    pub fn key(&self) -> FileKey {
        (self.identity.dev, self.identity.file_id)
    }

    /// The current share-relative path.
    pub fn path(&self) -> RelPath {
        lock(&self.state).path.clone()
    }

    /// Records a rename.
    pub fn set_path(&self, path: RelPath) {
        lock(&self.state).path = path;
    }

    /// Open.DeleteOnClose.
    pub fn delete_on_close(&self) -> bool {
        lock(&self.state).delete_on_close
    }

    /// Sets Open.DeleteOnClose.
    pub fn set_delete_on_close(&self, on: bool) {
        lock(&self.state).delete_on_close = on;
    }

    /// Makes this an open of the named stream `name` of the file.
    pub fn with_stream(self, name: Option<String>) -> Self {
        *lock(&self.stream) = name;
        self
    }

    /// The named stream this open addresses (`None`: the file's unnamed data stream).
    pub fn stream(&self) -> Option<String> {
        lock(&self.stream).clone()
    }

    /// Records a stream rename.
    pub fn set_stream(&self, name: String) {
        *lock(&self.stream) = Some(name);
    }

    /// The open's write-time state (`disk::write_time`).
    pub fn write_time(&self) -> &WriteTime {
        &self.write_time
    }

    /// The change notification watch of this directory open, if one was started.
    pub fn watch(&self) -> Option<Arc<Watch>> {
        lock(&self.notify).clone()
    }

    /// Keeps `watch` unless one was started meanwhile; returns the one in place.
    pub fn set_watch(&self, watch: Arc<Watch>) -> Arc<Watch> {
        Arc::clone(lock(&self.notify).get_or_insert(watch))
    }

    /// Removes the watch (CLOSE).
    fn take_watch(&self) -> Option<Arc<Watch>> {
        lock(&self.notify).take()
    }

    /// The enumeration cursor (see the field's note on locking).
    pub fn enumeration(&self) -> MutexGuard<'_, Option<Enumeration>> {
        lock(&self.enumeration)
    }
}

/// A named pipe on IPC$.
#[derive(Debug)]
pub struct PipeOpen {
    /// The pipe name as opened (`srvsvc`, `wkssvc`).
    pub name: String,
    pipe: Mutex<Pipe>,
}

impl PipeOpen {
    /// Wraps an opened pipe.
    pub fn new(name: String, pipe: Pipe) -> Self {
        Self {
            name,
            pipe: Mutex::new(pipe),
        }
    }

    /// The pipe (in-memory DCE/RPC state: no I/O happens under this lock).
    pub fn pipe(&self) -> MutexGuard<'_, Pipe> {
        lock(&self.pipe)
    }
}

/// What an open refers to.
#[derive(Debug)]
pub enum OpenKind {
    /// A file or directory.
    Disk(DiskOpen),
    /// A named pipe.
    Pipe(PipeOpen),
}

/// One open.
#[derive(Debug)]
pub struct Open {
    /// Open.FileId (persistent = volatile, unique server-wide, so a durable open keeps it
    /// when it is reconnected on another session, [MS-SMB2 3.3.5.9.7]).
    pub file_id: FileId,
    /// The tree connect it is attached to (changes when a durable open is reconnected).
    tree_id: AtomicU32,
    /// The session that owns it (changes when a durable open is reconnected).
    session_id: AtomicU64,
    /// The owner of its byte-range locks and oplock: fixed at open, so both survive a
    /// durable reconnect.
    owner: LockOwner,
    /// Open.GrantedAccess.
    pub granted_access: u32,
    /// The share (for the lock table and the disk root).
    pub share: Arc<Share>,
    /// File or pipe.
    pub kind: OpenKind,
    closed: AtomicBool,
    /// Open.LockSequenceArray ([MS-SMB2 3.3.1.10]): for LockSequenceIndex 1..=64, the
    /// LockSequenceNumber of the last LOCK that succeeded with it, or [`NO_LOCK_SEQUENCE`].
    lock_sequences: [AtomicU8; LOCK_SEQUENCES],
}

/// Entries of Open.LockSequenceArray (LockSequenceIndex 1 to 64).
const LOCK_SEQUENCES: usize = 64;
/// An entry that is not valid (a LockSequenceNumber has 4 bits, so this is never one).
const NO_LOCK_SEQUENCE: u8 = 0xFF;

impl Open {
    /// A new open.
    pub fn new(
        file_id: FileId,
        tree_id: u32,
        session_id: u64,
        granted_access: u32,
        share: Arc<Share>,
        kind: OpenKind,
    ) -> Self {
        Self {
            file_id,
            tree_id: AtomicU32::new(tree_id),
            session_id: AtomicU64::new(session_id),
            owner: LockOwner {
                session_id,
                volatile_id: file_id.volatile,
            },
            granted_access,
            share,
            kind,
            closed: AtomicBool::new(false),
            lock_sequences: std::array::from_fn(|_| AtomicU8::new(NO_LOCK_SEQUENCE)),
        }
    }

    /// The disk part, if this is a disk open.
    pub fn disk(&self) -> Option<&DiskOpen> {
        match &self.kind {
            OpenKind::Disk(d) => Some(d),
            OpenKind::Pipe(_) => None,
        }
    }

    /// The pipe part, if this is a pipe open.
    pub fn pipe(&self) -> Option<&PipeOpen> {
        match &self.kind {
            OpenKind::Pipe(p) => Some(p),
            OpenKind::Disk(_) => None,
        }
    }

    /// Does the open hold every bit of `access`?
    pub fn has_access(&self, access: u32) -> bool {
        self.granted_access & access == access
    }

    /// Does the open hold any bit of `access`?
    pub fn has_any_access(&self, access: u32) -> bool {
        self.granted_access & access != 0
    }

    /// [MS-SMB2 3.3.5.14] Lock sequence verification: true when LockSequenceIndex `index`
    /// (1 to 64) last succeeded with LockSequenceNumber `number`, so this LOCK is a replay the
    /// server answers with success without applying it again; otherwise the entry is
    /// invalidated until the request succeeds ([`Open::lock_sequence_done`]). Other indexes
    /// are not checked.
    pub fn lock_sequence_replayed(&self, index: u32, number: u8) -> bool {
        let Some(slot) = self.lock_sequence_slot(index) else {
            return false;
        };
        if slot.load(Ordering::Acquire) == number {
            return true;
        }
        slot.store(NO_LOCK_SEQUENCE, Ordering::Release);
        false
    }

    /// Records that a LOCK with this lock sequence succeeded (3.3.5.14).
    pub fn lock_sequence_done(&self, index: u32, number: u8) {
        if let Some(slot) = self.lock_sequence_slot(index) {
            slot.store(number & 0xF, Ordering::Release);
        }
    }

    fn lock_sequence_slot(&self, index: u32) -> Option<&AtomicU8> {
        let i = usize::try_from(index).ok()?.checked_sub(1)?;
        self.lock_sequences.get(i)
    }

    /// The owner of this open's byte-range locks (and its key in the oplock table).
    pub fn lock_owner(&self) -> LockOwner {
        self.owner
    }

    /// The tree connect the open is attached to.
    pub fn tree_id(&self) -> u32 {
        self.tree_id.load(Ordering::Acquire)
    }

    /// The session that owns the open now.
    pub fn session_id(&self) -> u64 {
        self.session_id.load(Ordering::Acquire)
    }

    /// A durable reconnect ([MS-SMB2 3.3.5.9.7]): the open now belongs to `session_id` and
    /// `tree_id`.
    pub fn rebind(&self, session_id: u64, tree_id: u32) {
        self.session_id.store(session_id, Ordering::Release);
        self.tree_id.store(tree_id, Ordering::Release);
    }

    /// Closes the open (once; later calls do nothing): releases its byte-range locks and its
    /// share-mode record; a delete-on-close open marks the file delete-pending; the last open of
    /// a delete-pending file deletes the entry ([MS-SMB2 3.3.5.10], [MS-FSA 2.1.5.4]). A directory
    /// that is not empty by then is left in place. The file descriptor itself is closed when the
    /// last reference to the open is dropped.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // A durable open that closes is no longer reconnectable.
        self.share.durables().forget(self.file_id.persistent);
        let Some(disk) = self.disk() else { return };
        if let Err(e) = disk.write_time().close(disk.file()) {
            tracing::debug!(error = %e, "write time update at close failed");
        }
        if let Some(watch) = disk.take_watch() {
            self.share.notifier().stop(&watch);
        }
        self.share
            .locks()
            .release_all(disk.key(), self.lock_owner());
        // A break waiting on this open is over; a lease with no open left is gone.
        self.share.oplocks().release(disk.key(), self.lock_owner());
        let table = self.share.share_modes();
        let delete = match disk.share_mode {
            Some(token) => {
                if disk.delete_on_close() {
                    table.set_delete_pending(disk.key(), true);
                }
                // Deleted when the file's last open closes, whichever that is.
                table.release(token)
            }
            None => disk.delete_on_close(),
        };
        if let (true, Some(stream)) = (delete, disk.stream()) {
            // Deleting a stream removes its xattr; the file stays.
            if let Err(status) = crate::disk::streams::remove(disk.file(), &stream) {
                tracing::debug!(stream, ?status, "stream delete on close failed");
            }
            return;
        }
        if let (true, Some(root)) = (delete, self.share.disk()) {
            let path = disk.path();
            if let Err(status) = crate::disk::file::unlink(root, &path, disk.identity()) {
                tracing::debug!(path = %path.to_smb(), ?status, "delete on close failed");
            }
        }
    }

    /// File.DeletePending of the open's file (a disk open without a share-mode record only
    /// knows its own delete-on-close flag).
    pub fn delete_pending(&self) -> bool {
        match self.disk() {
            Some(d) => match d.share_mode {
                Some(_) => self.share.share_modes().delete_pending(d.key()),
                None => d.delete_on_close(),
            },
            None => false,
        }
    }

    /// FileDispositionInformation: sets or clears File.DeletePending.
    pub fn set_delete_pending(&self, on: bool) {
        if let Some(d) = self.disk() {
            match d.share_mode {
                Some(_) => self.share.share_modes().set_delete_pending(d.key(), on),
                None => d.set_delete_on_close(on),
            }
        }
    }

    /// True once [`Open::close`] ran.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}
