//! Share modes: the ShareAccess of CREATE ([MS-SMB2 2.2.13]) checked against the other opens of
//! the same file, as the object store does in [MS-FSA 2.1.5.1.2.1] (the share-access check).
//!
//! Only the data rights take part: read (FILE_READ_DATA, FILE_EXECUTE) against
//! FILE_SHARE_READ, write (FILE_WRITE_DATA, FILE_APPEND_DATA) against FILE_SHARE_WRITE, and
//! DELETE against FILE_SHARE_DELETE. An open with none of them (attributes only) never
//! conflicts. The table is in process: host processes are not affected.
//!
//! The same per-file record carries File.DeletePending ([MS-FSA 2.1.5.4], 2.1.5.15.3): once
//! set, new opens fail with `DELETE_PENDING`, and the file is deleted when its *last* open
//! closes, not when the open that asked for it does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rsmbd_protocol::NtStatus;

use super::access::{DELETE, FILE_APPEND_DATA, FILE_EXECUTE, FILE_READ_DATA, FILE_WRITE_DATA};
use super::locks::FileKey;

/// FILE_SHARE_READ.
pub const FILE_SHARE_READ: u32 = 0x1;
/// FILE_SHARE_WRITE.
pub const FILE_SHARE_WRITE: u32 = 0x2;
/// FILE_SHARE_DELETE.
pub const FILE_SHARE_DELETE: u32 = 0x4;

const READ_RIGHTS: u32 = FILE_READ_DATA | FILE_EXECUTE;
const WRITE_RIGHTS: u32 = FILE_WRITE_DATA | FILE_APPEND_DATA;
const DATA_RIGHTS: u32 = READ_RIGHTS | WRITE_RIGHTS | DELETE;

#[derive(Debug, Clone, Copy)]
struct Entry {
    token: u64,
    access: u32,
    share: u32,
}

/// Does a new open (`access`, `share`) conflict with an existing one? Opens without data
/// rights take no part on either side.
fn conflicts(existing: &Entry, access: u32, share: u32) -> bool {
    if access & DATA_RIGHTS == 0 || existing.access & DATA_RIGHTS == 0 {
        return false;
    }
    let uses = |a: u32, rights: u32| a & rights != 0;
    let pairs = [
        (READ_RIGHTS, FILE_SHARE_READ),
        (WRITE_RIGHTS, FILE_SHARE_WRITE),
        (DELETE, FILE_SHARE_DELETE),
    ];
    pairs.iter().any(|&(rights, bit)| {
        (uses(access, rights) && existing.share & bit == 0)
            || (uses(existing.access, rights) && share & bit == 0)
    })
}

/// One open file: its opens and whether it is to be deleted.
#[derive(Debug, Default)]
struct FileRecord {
    entries: Vec<Entry>,
    delete_pending: bool,
}

/// The share modes (and delete-pending state) of the open files of one share.
#[derive(Debug, Default)]
pub struct ShareModeTable {
    files: Mutex<HashMap<FileKey, FileRecord>>,
    next_token: AtomicU64,
}

/// A registration to hand back to [`ShareModeTable::release`] when the open closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareModeToken {
    file: FileKey,
    token: u64,
}

impl ShareModeTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn files(&self) -> std::sync::MutexGuard<'_, HashMap<FileKey, FileRecord>> {
        // Every update is a push, a retain or a flag store: a poisoned map is still consistent.
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks a new open of `file` against the opens already registered and, if it is
    /// compatible, registers it. A conflict is `SHARING_VIOLATION`; a file whose delete is
    /// pending is `DELETE_PENDING`.
    pub fn acquire(
        &self,
        file: FileKey,
        access: u32,
        share: u32,
    ) -> Result<ShareModeToken, NtStatus> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let mut files = self.files();
        let record = files.entry(file).or_default();
        if record.delete_pending {
            return Err(NtStatus::DELETE_PENDING);
        }
        if record.entries.iter().any(|e| conflicts(e, access, share)) {
            return Err(NtStatus::SHARING_VIOLATION);
        }
        record.entries.push(Entry {
            token,
            access,
            share,
        });
        Ok(ShareModeToken { file, token })
    }

    /// Would an open with `access` and `share` conflict with the opens registered now? (The
    /// oplock code asks before [`Self::acquire`]: a sharing violation breaks handle caching.)
    pub fn would_conflict(&self, file: FileKey, access: u32, share: u32) -> bool {
        self.files()
            .get(&file)
            .is_some_and(|r| r.entries.iter().any(|e| conflicts(e, access, share)))
    }

    /// Does any open of `file` hold one of `rights`? (A rename fails with a sharing violation
    /// while its parent directory is open with DELETE access.)
    pub fn any_open_with(&self, file: FileKey, rights: u32) -> bool {
        self.files()
            .get(&file)
            .is_some_and(|r| r.entries.iter().any(|e| e.access & rights != 0))
    }

    /// Sets or clears File.DeletePending (FileDispositionInformation, or a delete-on-close
    /// open closing). Only files with a registered open have a record.
    pub fn set_delete_pending(&self, file: FileKey, on: bool) {
        if let Some(record) = self.files().get_mut(&file) {
            record.delete_pending = on;
        }
    }

    /// File.DeletePending.
    pub fn delete_pending(&self, file: FileKey) -> bool {
        self.files().get(&file).is_some_and(|r| r.delete_pending)
    }

    /// Forgets a registration (CLOSE). Returns true if that was the file's last open and its
    /// delete is pending: the caller then deletes it.
    pub fn release(&self, t: ShareModeToken) -> bool {
        let mut files = self.files();
        let Some(record) = files.get_mut(&t.file) else {
            return false;
        };
        record.entries.retain(|e| e.token != t.token);
        if !record.entries.is_empty() {
            return false;
        }
        let delete = record.delete_pending;
        files.remove(&t.file);
        delete
    }
}

/// A registration that is released when dropped, unless [`ShareModeGuard::keep`] hands it to
/// the open (so every error path between the check and the open's registration undoes it).
#[derive(Debug)]
pub struct ShareModeGuard<'a> {
    table: &'a ShareModeTable,
    token: Option<ShareModeToken>,
}

impl<'a> ShareModeGuard<'a> {
    /// [`ShareModeTable::acquire`] wrapped in a guard.
    pub fn acquire(
        table: &'a ShareModeTable,
        file: FileKey,
        access: u32,
        share: u32,
    ) -> Result<Self, NtStatus> {
        let token = table.acquire(file, access, share)?;
        Ok(Self {
            table,
            token: Some(token),
        })
    }

    /// Keeps the registration: the caller releases it at close.
    pub fn keep(mut self) -> Option<ShareModeToken> {
        self.token.take()
    }
}

impl Drop for ShareModeGuard<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.token.take() {
            self.table.release(t);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const F: FileKey = (1, 2);

    #[test]
    fn fsa_share_access_rules() {
        let t = ShareModeTable::new();
        let reader = t.acquire(F, FILE_READ_DATA, FILE_SHARE_READ).unwrap();
        // A writer conflicts with a reader that did not share write.
        assert_eq!(
            t.acquire(F, FILE_WRITE_DATA, 7),
            Err(NtStatus::SHARING_VIOLATION)
        );
        // Another reader is fine if it shares read.
        let r2 = t
            .acquire(F, FILE_READ_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE)
            .unwrap();
        // A new open that does not share read conflicts with the existing readers.
        assert_eq!(
            t.acquire(F, FILE_READ_DATA, 0),
            Err(NtStatus::SHARING_VIOLATION)
        );
        // Attribute-only opens never conflict, whatever they share.
        let attrs = t.acquire(F, 0x80, 0).unwrap();
        t.release(attrs);
        t.release(reader);
        t.release(r2);
        t.acquire(F, FILE_WRITE_DATA | DELETE, 0).unwrap();
        assert_eq!(t.acquire(F, DELETE, 7), Err(NtStatus::SHARING_VIOLATION));
    }

    #[test]
    fn delete_pending_blocks_new_opens_and_waits_for_the_last_close() {
        let t = ShareModeTable::new();
        let a = t.acquire(F, DELETE, 7).unwrap();
        let b = t.acquire(F, FILE_READ_DATA, 7).unwrap();
        t.set_delete_pending(F, true);
        assert!(t.delete_pending(F));
        assert_eq!(t.acquire(F, 0x80, 7), Err(NtStatus::DELETE_PENDING));
        assert!(!t.release(a), "another open remains");
        assert!(t.release(b), "last close deletes");
        assert!(!t.delete_pending(F));
        let c = t.acquire(F, FILE_READ_DATA, 7).unwrap();
        t.set_delete_pending(F, true);
        t.set_delete_pending(F, false);
        assert!(!t.release(c));
    }

    #[test]
    fn guard_releases_unless_kept() {
        let t = ShareModeTable::new();
        {
            let _g = ShareModeGuard::acquire(&t, F, FILE_WRITE_DATA, 0).unwrap();
            assert!(ShareModeGuard::acquire(&t, F, FILE_WRITE_DATA, 0).is_err());
        }
        let kept = ShareModeGuard::acquire(&t, F, FILE_WRITE_DATA, 0)
            .unwrap()
            .keep()
            .unwrap();
        assert!(ShareModeGuard::acquire(&t, F, FILE_WRITE_DATA, 0).is_err());
        t.release(kept);
        assert!(ShareModeGuard::acquire(&t, F, FILE_WRITE_DATA, 0).is_ok());
    }
}
