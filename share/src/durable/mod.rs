//! Durable opens ([MS-SMB2 3.3.1.10] Open.IsDurable, Open.DurableOpenTimeout, Open.CreateGuid;
//! [3.3.7.1] connection loss; [3.3.5.9.6], 3.3.5.9.7, 3.3.5.9.10, 3.3.5.9.12 the create
//! contexts): one server-wide table of the opens that survive the loss of their connection.
//!
//! Life of a durable open:
//! 1. CREATE grants it (`create::grant`, a batch oplock or a lease with handle caching) and
//!    [`DurableTable::register`]s it, connected.
//! 2. The connection drops (TCP closed, not LOGOFF): [`DurableTable::disconnect`] keeps the
//!    open itself (file descriptor, share-mode entry, byte-range locks, oplock/lease entry in
//!    `share::oplock`) and starts its timeout; every other open of the session is closed.
//! 3. Either a CREATE with DHnC/DH2C from the same user re-attaches it to the new session and
//!    tree with the same FileId ([`DurableTable::reclaim`]), or the timeout passes
//!    ([`DurableTable::expire`]), or another open needs a break the disconnected holder cannot
//!    acknowledge ([MS-SMB2 3.3.4.6], [`DurableTable::purge`]): both close it.
//!
//! CLOSE, TREE_DISCONNECT and LOGOFF close a durable open like any other (`Open::close` calls
//! [`DurableTable::forget`]). The table's mutex is never held while an open is closed.

pub mod create;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsmbd_protocol::NtStatus;

use crate::disk::locks::LockOwner;
use crate::open::{Open, lock};

/// How long a durable v1 open (and a v2 open that asks for 0) is kept after its connection
/// drops: 60 s, as Windows and Samba.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default cap on a v2 open's requested timeout (`durable_handle_timeout_secs`): 300 s,
/// Samba's limit.
pub const DEFAULT_MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// What makes an open durable, recorded when it was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableInfo {
    /// Open.CreateGuid of a v2 open (DH2Q); `None` for v1 (DHnQ).
    pub create_guid: Option<[u8; 16]>,
    /// Open.ClientGuid: the ClientGuid of the connection that created it.
    pub client_guid: [u8; 16],
    /// The principal of the session that created it: only the same user may reconnect
    /// (Open.Session.SecurityContext, [MS-SMB2 3.3.5.9.7]).
    pub principal: String,
    /// Open.DurableOpenTimeout.
    pub timeout: Duration,
}

#[derive(Debug)]
struct Entry {
    open: Arc<Open>,
    info: DurableInfo,
    /// Open.Connection is NULL since the connection dropped; closed at this deadline.
    disconnected: Option<Instant>,
}

/// The server-wide table of durable opens, keyed by FileId.Persistent (the
/// GlobalOpenTable lookup of [MS-SMB2 3.3.5.9.7]).
#[derive(Debug)]
pub struct DurableTable {
    inner: Mutex<HashMap<u64, Entry>>,
    max_timeout_ms: AtomicU64,
}

impl Default for DurableTable {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            max_timeout_ms: AtomicU64::new(millis(DEFAULT_MAX_TIMEOUT)),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl DurableTable {
    /// An empty table with the default cap.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the longest time any durable open is kept after a disconnect
    /// (`durable_handle_timeout_secs`).
    pub fn set_max_timeout(&self, max: Duration) {
        self.max_timeout_ms.store(millis(max), Ordering::Relaxed);
    }

    fn max_timeout(&self) -> Duration {
        Duration::from_millis(self.max_timeout_ms.load(Ordering::Relaxed))
    }

    /// Open.DurableOpenTimeout of a v1 open: 60 s, within the configured cap.
    pub fn v1_timeout(&self) -> Duration {
        DEFAULT_TIMEOUT.min(self.max_timeout())
    }

    /// [MS-SMB2 3.3.5.9.10] Open.DurableOpenTimeout of a v2 open: the client's Timeout (ms),
    /// 0 meaning the server default (60 s), capped by the configuration.
    pub fn v2_timeout(&self, requested_ms: u32) -> Duration {
        let asked = match requested_ms {
            0 => DEFAULT_TIMEOUT,
            ms => Duration::from_millis(u64::from(ms)),
        };
        asked.min(self.max_timeout())
    }

    /// Records a connected durable open.
    pub fn register(&self, open: Arc<Open>, info: DurableInfo) {
        let id = open.file_id.persistent;
        lock(&self.inner).insert(
            id,
            Entry {
                open,
                info,
                disconnected: None,
            },
        );
    }

    /// The open closed (CLOSE, TREE_DISCONNECT, LOGOFF, expiry): it cannot be reconnected.
    pub fn forget(&self, persistent: u64) {
        lock(&self.inner).remove(&persistent);
    }

    /// The durability of open `persistent`, if it is durable.
    pub fn info(&self, persistent: u64) -> Option<DurableInfo> {
        lock(&self.inner).get(&persistent).map(|e| e.info.clone())
    }

    /// The connected v2 open with this (ClientGuid, CreateGuid), for replay detection
    /// ([MS-SMB2 3.3.5.9.10]).
    pub fn by_create_guid(
        &self,
        client_guid: [u8; 16],
        create_guid: [u8; 16],
    ) -> Option<Arc<Open>> {
        lock(&self.inner)
            .values()
            .find(|e| {
                e.disconnected.is_none()
                    && e.info.client_guid == client_guid
                    && e.info.create_guid == Some(create_guid)
            })
            .map(|e| Arc::clone(&e.open))
    }

    /// [MS-SMB2 3.3.7.1] The connection of `opens` dropped, or (3.3.5.6) their session logged
    /// off: durable ones are kept until `now` plus their timeout, every other one is closed.
    /// Returns how many were kept.
    pub fn disconnect(&self, opens: Vec<Arc<Open>>, now: Instant) -> usize {
        let mut closing = Vec::new();
        let mut kept = Vec::new();
        {
            let mut inner = lock(&self.inner);
            for open in opens {
                match inner.get_mut(&open.file_id.persistent) {
                    Some(e) if Arc::ptr_eq(&e.open, &open) => {
                        e.disconnected = Some(now.checked_add(e.info.timeout).unwrap_or(now));
                        kept.push(open);
                    }
                    _ => closing.push(open),
                }
            }
        }
        for open in closing {
            open.close();
        }
        // Their breaks can no longer reach anyone (3.3.4.6): the oplock table sees them as
        // disconnected from now on.
        for open in &kept {
            if let Some(d) = open.disk() {
                open.share.oplocks().detach(d.key(), open.lock_owner());
            }
        }
        kept.len()
    }

    /// [MS-SMB2 3.3.5.9.7 / 3.3.5.9.12] Takes back the disconnected open `persistent` if
    /// `check` accepts it: it is connected again and handed to the caller, who attaches it to
    /// the new session. `OBJECT_NAME_NOT_FOUND` if there is no such open or it is still
    /// connected.
    pub fn reclaim(
        &self,
        persistent: u64,
        check: impl FnOnce(&Open, &DurableInfo) -> Result<(), NtStatus>,
    ) -> Result<(Arc<Open>, DurableInfo), NtStatus> {
        let mut inner = lock(&self.inner);
        let e = inner
            .get_mut(&persistent)
            .ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
        if e.disconnected.is_none() || e.open.is_closed() {
            return Err(NtStatus::OBJECT_NAME_NOT_FOUND);
        }
        check(&e.open, &e.info)?;
        e.disconnected = None;
        Ok((Arc::clone(&e.open), e.info.clone()))
    }

    /// Puts a reclaimed open back to disconnected (its re-attachment failed), keeping its
    /// original deadline budget from `now`.
    pub fn release(&self, persistent: u64, now: Instant) {
        if let Some(e) = lock(&self.inner).get_mut(&persistent) {
            e.disconnected = Some(now.checked_add(e.info.timeout).unwrap_or(now));
        }
    }

    /// Closes the disconnected opens among `owners` (a break they cannot acknowledge,
    /// [MS-SMB2 3.3.4.6]). Connected opens are left alone.
    pub fn purge(&self, owners: &[LockOwner]) {
        let closing: Vec<Arc<Open>> = {
            let mut inner = lock(&self.inner);
            let ids: Vec<u64> = inner
                .iter()
                .filter(|(_, e)| e.disconnected.is_some() && owners.contains(&e.open.lock_owner()))
                .map(|(id, _)| *id)
                .collect();
            ids.iter()
                .filter_map(|id| inner.remove(id))
                .map(|e| e.open)
                .collect()
        };
        for open in closing {
            tracing::debug!(file_id = ?open.file_id, "disconnected durable open closed for a conflicting open");
            open.close();
        }
    }

    /// Closes every disconnected open whose timeout passed by `now`; returns how many.
    pub fn expire(&self, now: Instant) -> usize {
        let closing: Vec<Arc<Open>> = {
            let mut inner = lock(&self.inner);
            let ids: Vec<u64> = inner
                .iter()
                .filter(|(_, e)| e.disconnected.is_some_and(|t| now >= t))
                .map(|(id, _)| *id)
                .collect();
            ids.iter()
                .filter_map(|id| inner.remove(id))
                .map(|e| e.open)
                .collect()
        };
        let n = closing.len();
        for open in closing {
            tracing::debug!(file_id = ?open.file_id, "durable open timed out");
            open.close();
        }
        n
    }

    /// Durable opens waiting for their client to come back.
    pub fn disconnected_count(&self) -> usize {
        lock(&self.inner)
            .values()
            .filter(|e| e.disconnected.is_some())
            .count()
    }
}
