//! Oplocks and leases ([MS-SMB2 3.3.1.4] GlobalLeaseTableList, [3.3.1.10] Open.OplockLevel /
//! Open.OplockState, [3.3.1.12] Per Lease): one server-wide table, keyed by file (device,
//! inode), shared by every share and connection, so a CREATE on connection B finds and breaks
//! the oplock an open on connection A holds.
//!
//! The CREATE path calls, in order:
//! 1. [`OplockTable::before_open`] once the existing file is identified and before the share-
//!    mode check and any truncation: it starts the breaks the new open causes and answers
//!    `STATUS_PENDING` while any break on the file waits for its acknowledgment (the engine then
//!    retries the CREATE until it passes, [MS-SMB2 3.3.4.2]);
//! 2. [`OplockTable::register`] after the open exists: records it and decides its grant.
//!
//! CLOSE (any path through `Open::close`) calls [`OplockTable::release`]; OPLOCK_BREAK calls
//! [`OplockTable::ack_oplock`] / [`OplockTable::ack_lease`]; WRITE calls
//! [`OplockTable::break_on_write`]. A break that is not acknowledged within the break timeout
//! (35 s as Windows, `oplock_break_timeout_ms`) is completed by the server: an oplock or a
//! lease drops to NONE. SET_INFO rename calls [`OplockTable::before_rename`] (other leases
//! lose handle caching first).
//!
//! Notifications are collected under the table lock and sent after it is released, onto the
//! [`BreakChannel`] of the connection that holds the open; nothing blocks under the lock.

pub mod channel;
pub mod create;
pub mod rules;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::messages::create::OplockLevel;
use rsmbd_protocol::messages::oplock_break::LeaseState;

pub use channel::{BreakChannel, BreakNotice, ClientLink};
pub use rules::OpenIntent;

use crate::disk::locks::{FileKey, LockOwner};
use crate::open::lock;
use rules::Held;

/// The default break acknowledgment timeout: Windows waits 35 seconds ([MS-SMB2 3.3.2.1],
/// 3.3.2.5 and their product notes).
pub const DEFAULT_BREAK_TIMEOUT: Duration = Duration::from_secs(35);

/// A lease's identity: (Connection.ClientGuid, LeaseKey) ([MS-SMB2 3.3.1.4]).
pub type LeaseId = ([u8; 16], [u8; 16]);

/// What a CREATE asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// RequestedOplockLevel NONE, II, EXCLUSIVE or BATCH.
    Oplock(u8),
    /// A lease (RqLs context with RequestedOplockLevel LEASE).
    Lease {
        /// Its identity.
        id: LeaseId,
        /// The requested LeaseState.
        state: u32,
        /// The v2 context's Epoch; `None` for a v1 lease.
        v2_epoch: Option<u16>,
    },
}

/// The open being registered.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Session and volatile FileId: unique server-wide.
    pub owner: LockOwner,
    /// The FileId the break notification names.
    pub file_id: FileId,
    /// Where its breaks go.
    pub channel: Arc<BreakChannel>,
    /// The session its break notifications name.
    pub session_id: u64,
    /// An attribute-only open ([`rules::is_stat_access`]): it does not count as another open
    /// when caching is granted.
    pub stat_open: bool,
}

/// What an open was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    /// The CREATE response's OplockLevel (LEASE when a lease context answers).
    pub oplock_level: u8,
    /// The lease, for the response context.
    pub lease: Option<LeaseGrant>,
}

/// The lease part of a grant ([MS-SMB2 2.2.14.2.10 / 2.2.14.2.11]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseGrant {
    /// Lease.LeaseState.
    pub state: u32,
    /// A break of this lease is in progress (SMB2_LEASE_FLAG_BREAK_IN_PROGRESS).
    pub breaking: bool,
    /// Lease.Epoch (v2).
    pub epoch: u16,
    /// The lease was created by a v2 context: every response about it is a v2 context.
    pub v2: bool,
}

#[derive(Debug)]
struct Holder {
    owner: LockOwner,
    /// The session its break notifications name (changes on a durable reconnect).
    session_id: u64,
    file_id: FileId,
    /// Open.OplockLevel; LEASE for an open under a lease.
    oplock: u8,
    lease: Option<LeaseId>,
    stat_open: bool,
    /// Open.OplockState == Breaking: the level the acknowledgment may name, and its deadline.
    breaking: Option<(u8, Instant)>,
    channel: Arc<BreakChannel>,
}

/// Lease.Breaking: a break that waits for its acknowledgment.
#[derive(Debug, Clone, Copy)]
struct LeaseBreak {
    /// Lease.BreakToLeaseState: what the notification offered; an acknowledgment may name
    /// this state or less.
    to: u32,
    /// What the opens that met the break while it was outstanding still need: once it is
    /// acknowledged, the lease breaks on towards this ([`rules::lease_next_break`]).
    required: u32,
    /// Lease.LeaseBreakTimeout.
    deadline: Instant,
}

#[derive(Debug)]
struct Lease {
    id: LeaseId,
    state: u32,
    breaking: Option<LeaseBreak>,
    epoch: u16,
    v2: bool,
    /// The connection and session of the lease's latest open: where its breaks go.
    channel: Arc<BreakChannel>,
    session_id: u64,
}

#[derive(Debug, Default)]
struct FileState {
    holders: Vec<Holder>,
    leases: Vec<Lease>,
}

impl FileState {
    /// Completes every break whose acknowledgment timed out.
    fn expire(&mut self, now: Instant) {
        for h in &mut self.holders {
            if h.breaking.is_some_and(|(_, t)| now >= t) {
                tracing::debug!(file_id = ?h.file_id, "oplock break timed out: level NONE");
                h.breaking = None;
                h.oplock = OplockLevel::NONE;
            }
        }
        for l in &mut self.leases {
            if l.breaking.is_some_and(|b| now >= b.deadline) {
                // As Windows and Samba (smbtorture smb2.lease.timeout): a client that does not
                // answer loses the whole lease, not just what the break asked for.
                tracing::debug!(state = l.state, "lease break timed out: state NONE");
                l.breaking = None;
                l.state = 0;
            }
        }
    }

    /// The disconnected durable opens (their connection's channel is closed) that a break for
    /// `intent` would reach, or whose break is still waiting.
    fn disconnected_in_the_way(&self, intent: &OpenIntent, own: Option<LeaseId>) -> Vec<LockOwner> {
        self.holders
            .iter()
            .filter(|h| h.channel.is_closed())
            .filter(|h| {
                if h.breaking.is_some() {
                    return true;
                }
                match h.lease {
                    None => rules::oplock_break_to(h.oplock, intent).is_some(),
                    Some(id) if Some(id) == own => false,
                    Some(id) => self.leases.iter().any(|l| {
                        l.id == id
                            && (l.breaking.is_some()
                                || rules::lease_break_to(l.state, intent) != l.state)
                    }),
                }
            })
            .map(|h| h.owner)
            .collect()
    }

    /// What the opens not under `except` hold.
    fn others(&self, except: Option<LeaseId>) -> Vec<Held> {
        self.holders
            .iter()
            // A plain attribute-only open caches nothing and is not in the way, unless it was
            // granted an oplock as the file's first open (smb2.oplock.batch9a); one under a
            // lease counts through its lease.
            .filter(|h| !(h.stat_open && h.lease.is_none() && h.oplock == OplockLevel::NONE))
            .filter(|h| h.lease.is_none() || h.lease != except)
            .map(|h| match h.lease {
                Some(id) => Held::Lease(
                    self.leases
                        .iter()
                        .find(|l| l.id == id)
                        .map_or(0, |l| l.state),
                ),
                None => Held::Oplock(h.oplock),
            })
            .collect()
    }
}

#[derive(Debug, Default)]
struct Inner {
    files: HashMap<FileKey, FileState>,
    lease_files: HashMap<LeaseId, FileKey>,
}

/// The server-wide oplock and lease state.
#[derive(Debug)]
pub struct OplockTable {
    inner: Mutex<Inner>,
    timeout_ms: AtomicU64,
}

impl Default for OplockTable {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            timeout_ms: AtomicU64::new(DEFAULT_BREAK_TIMEOUT.as_millis() as u64),
        }
    }
}

type Outgoing = Vec<(Arc<BreakChannel>, BreakNotice)>;

fn deliver(out: Outgoing) {
    for (ch, notice) in out {
        ch.send(notice);
    }
}

impl OplockTable {
    /// An empty table with the default timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how long a break waits for its acknowledgment.
    pub fn set_break_timeout(&self, timeout: Duration) {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.timeout_ms.store(ms, Ordering::Relaxed);
    }

    fn deadline(&self, now: Instant) -> Instant {
        let t = Duration::from_millis(self.timeout_ms.load(Ordering::Relaxed));
        now.checked_add(t).unwrap_or(now)
    }

    /// [MS-SMB2 3.3.5.9] / [MS-FSA 2.1.4.12] before a new open of an existing file: starts the
    /// breaks `intent` causes (except on the lease `lease`, which the open will share) and
    /// answers `PENDING` while the open must wait for an acknowledgment. `retry` says the
    /// CREATE already waited once: it then waits until every lease it met finished breaking.
    ///
    /// A break that would go to a disconnected durable open ([MS-SMB2 3.3.4.6]: Open.Connection
    /// is NULL, nobody can acknowledge it) is not sent: `Ok` lists those opens instead, and the
    /// caller closes them and starts the CREATE over (as Windows and Samba give the file to the
    /// new open).
    pub fn before_open(
        &self,
        key: FileKey,
        intent: &OpenIntent,
        lease: Option<LeaseId>,
        now: Instant,
        retry: bool,
    ) -> Result<Vec<LockOwner>, NtStatus> {
        let deadline = self.deadline(now);
        let mut out = Outgoing::new();
        let result = {
            let mut inner = lock(&self.inner);
            match inner.files.get_mut(&key) {
                None => Ok(Vec::new()),
                Some(f) => {
                    f.expire(now);
                    let stale = f.disconnected_in_the_way(intent, lease);
                    if stale.is_empty() {
                        start_breaks(f, intent, lease, deadline, retry, &mut out)
                            .map(|()| Vec::new())
                    } else {
                        Ok(stale)
                    }
                }
            }
        };
        deliver(out);
        result
    }

    /// [MS-SMB2 3.3.5.21.1] / [MS-FSA 2.1.5.15.12] before `owner` renames its file: every
    /// other lease that caches handles breaks to drop H (the client must close the handles it
    /// kept open under the old name), and the rename waits (`PENDING`) until none is left or
    /// the breaks time out. The renamer's own lease stays (smbtorture smb2.lease.v2_rename).
    pub fn before_rename(
        &self,
        key: FileKey,
        owner: LockOwner,
        now: Instant,
    ) -> Result<(), NtStatus> {
        let deadline = self.deadline(now);
        let mut out = Outgoing::new();
        let mut wait = false;
        {
            let mut inner = lock(&self.inner);
            if let Some(f) = inner.files.get_mut(&key) {
                f.expire(now);
                let own = f
                    .holders
                    .iter()
                    .find(|h| h.owner == owner)
                    .and_then(|h| h.lease);
                for l in f.leases.iter_mut().filter(|l| Some(l.id) != own) {
                    if l.state & LeaseState::HANDLE_CACHING == 0 {
                        continue;
                    }
                    wait = true;
                    match &mut l.breaking {
                        Some(b) => b.required &= !LeaseState::HANDLE_CACHING,
                        None => {
                            let to = l.state & !LeaseState::HANDLE_CACHING;
                            out.push(break_lease(l, to, deadline, true));
                        }
                    }
                }
            }
        }
        deliver(out);
        if wait { Err(NtStatus::PENDING) } else { Ok(()) }
    }

    /// Records a new open of `key` and decides its grant. A lease key already in use on another
    /// file is `INVALID_PARAMETER` ([MS-SMB2 3.3.5.9.8]).
    pub fn register(
        &self,
        key: FileKey,
        open: Registration,
        requested: Requested,
    ) -> Result<Granted, NtStatus> {
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        if let Requested::Lease { id, .. } = requested
            && inner.lease_files.get(&id).is_some_and(|k| *k != key)
        {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let f = inner.files.entry(key).or_default();
        let session_id = open.session_id;
        let mut holder = Holder {
            owner: open.owner,
            session_id: open.session_id,
            file_id: open.file_id,
            oplock: OplockLevel::NONE,
            lease: None,
            stat_open: open.stat_open,
            breaking: None,
            channel: Arc::clone(&open.channel),
        };
        let granted = match requested {
            Requested::Oplock(level) => {
                holder.oplock = rules::grant_oplock(level, &f.others(None));
                Granted {
                    oplock_level: holder.oplock,
                    lease: None,
                }
            }
            Requested::Lease {
                id,
                state,
                v2_epoch,
            } => {
                let others = f.others(Some(id));
                let lease = match f.leases.iter_mut().position(|l| l.id == id) {
                    Some(at) => {
                        let Some(l) = f.leases.get_mut(at) else {
                            return Err(NtStatus::INTERNAL_ERROR);
                        };
                        // No upgrade while a break is in progress.
                        let upgraded = rules::upgrade_lease(l.state, state, &others);
                        if l.breaking.is_none() && upgraded != l.state {
                            l.state = upgraded;
                            if l.v2 {
                                l.epoch = l.epoch.wrapping_add(1);
                            }
                        }
                        l.channel = Arc::clone(&open.channel);
                        l.session_id = session_id;
                        l
                    }
                    None => {
                        inner.lease_files.insert(id, key);
                        f.leases.push(Lease {
                            id,
                            state: rules::grant_lease(state, &others),
                            breaking: None,
                            // [MS-SMB2 3.3.5.9.11] a new v2 lease starts one past the client's.
                            epoch: v2_epoch.map_or(0, |e| e.wrapping_add(1)),
                            v2: v2_epoch.is_some(),
                            channel: Arc::clone(&open.channel),
                            session_id,
                        });
                        f.leases.last_mut().ok_or(NtStatus::INTERNAL_ERROR)?
                    }
                };
                holder.oplock = OplockLevel::LEASE;
                holder.lease = Some(id);
                Granted {
                    oplock_level: OplockLevel::LEASE,
                    lease: Some(LeaseGrant {
                        state: lease.state,
                        breaking: lease.breaking.is_some(),
                        epoch: lease.epoch,
                        v2: lease.v2,
                    }),
                }
            }
        };
        f.holders.push(holder);
        Ok(granted)
    }

    /// The file a lease key is bound to, if it is in use ([MS-SMB2 3.3.5.9.8]: one key, one
    /// file).
    pub fn lease_file(&self, id: LeaseId) -> Option<FileKey> {
        lock(&self.inner).lease_files.get(&id).copied()
    }

    /// The open closed: forgets it, and its lease once the lease has no open left. A break
    /// waiting on it is over.
    pub fn release(&self, key: FileKey, owner: LockOwner) {
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        let Some(f) = inner.files.get_mut(&key) else {
            return;
        };
        let Some(at) = f.holders.iter().position(|h| h.owner == owner) else {
            return;
        };
        let h = f.holders.swap_remove(at);
        if let Some(id) = h.lease
            && !f.holders.iter().any(|o| o.lease == Some(id))
        {
            f.leases.retain(|l| l.id != id);
            inner.lease_files.remove(&id);
        }
        if f.holders.is_empty() {
            inner.files.remove(&key);
        }
    }

    /// [MS-SMB2 3.3.5.22.1] An oplock break acknowledgment: the new level, or the error the
    /// section prescribes.
    pub fn ack_oplock(&self, key: FileKey, owner: LockOwner, level: u8) -> Result<u8, NtStatus> {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        let f = inner
            .files
            .get_mut(&key)
            .ok_or(NtStatus::INVALID_OPLOCK_PROTOCOL)?;
        f.expire(now);
        let h = f
            .holders
            .iter_mut()
            .find(|h| h.owner == owner)
            .ok_or(NtStatus::INVALID_OPLOCK_PROTOCOL)?;
        // 3.3.5.22.1 says INVALID_DEVICE_STATE here; Windows (and Samba) answer an
        // acknowledgment nobody asked for, such as one of a level II to none break, with
        // INVALID_OPLOCK_PROTOCOL, which smbtorture (smb2.oplock.levelii500) checks.
        let Some((to, _)) = h.breaking else {
            return Err(NtStatus::INVALID_OPLOCK_PROTOCOL);
        };
        h.breaking = None;
        if level == OplockLevel::LEASE {
            h.oplock = OplockLevel::NONE;
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let acceptable = level == OplockLevel::NONE || (level == OplockLevel::II && to != 0);
        if !acceptable {
            h.oplock = OplockLevel::NONE;
            return Err(NtStatus::INVALID_OPLOCK_PROTOCOL);
        }
        h.oplock = level;
        Ok(level)
    }

    /// [MS-SMB2 3.3.5.22.2] A lease break acknowledgment: the state now held. When an open
    /// that arrived during the break needs less than that, the next break starts at once.
    pub fn ack_lease(&self, id: LeaseId, state: u32) -> Result<u32, NtStatus> {
        let now = Instant::now();
        let deadline = self.deadline(now);
        let mut out = Outgoing::new();
        let result = self.ack_lease_locked(id, state, now, deadline, &mut out);
        deliver(out);
        result
    }

    fn ack_lease_locked(
        &self,
        id: LeaseId,
        state: u32,
        now: Instant,
        deadline: Instant,
        out: &mut Outgoing,
    ) -> Result<u32, NtStatus> {
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        let key = inner
            .lease_files
            .get(&id)
            .copied()
            .ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
        let f = inner
            .files
            .get_mut(&key)
            .ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
        f.expire(now);
        let l = f
            .leases
            .iter_mut()
            .find(|l| l.id == id)
            .ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
        let Some(b) = l.breaking else {
            return Err(NtStatus::UNSUCCESSFUL);
        };
        if state & !b.to != 0 {
            return Err(NtStatus::REQUEST_NOT_ACCEPTED);
        }
        l.state = state;
        l.breaking = None;
        if let Some(next) = rules::lease_next_break(state, b.required) {
            // The same break continues: the epoch does not move again (smb2.lease.v2_breaking3).
            out.push(break_lease(l, next, deadline, false));
            if let Some(nb) = &mut l.breaking {
                nb.required = b.required;
            }
        }
        Ok(state)
    }

    /// [MS-FSA 2.1.4.12] A write, size change or byte-range lock through `writer`: every level
    /// II oplock drops to NONE (the writer's own too, a "self break", as Windows and smbtorture
    /// expect) and other leases lose read caching. Nothing waits for these breaks. An exclusive
    /// or batch holder is alone on the file, so it is not affected.
    pub fn break_on_write(&self, key: FileKey, writer: LockOwner) {
        let now = Instant::now();
        let deadline = self.deadline(now);
        let mut out = Outgoing::new();
        {
            let mut inner = lock(&self.inner);
            let Some(f) = inner.files.get_mut(&key) else {
                return;
            };
            f.expire(now);
            let own_lease = f
                .holders
                .iter()
                .find(|h| h.owner == writer)
                .and_then(|h| h.lease);
            for h in &mut f.holders {
                if h.oplock == OplockLevel::II && h.breaking.is_none() {
                    h.oplock = OplockLevel::NONE;
                    out.push((Arc::clone(&h.channel), oplock_notice(h, OplockLevel::NONE)));
                }
            }
            for l in f.leases.iter_mut().filter(|l| Some(l.id) != own_lease) {
                let new = rules::lease_break_on_write(l.state);
                match &mut l.breaking {
                    Some(b) => b.required &= new,
                    None if new != l.state => out.push(break_lease(l, new, deadline, true)),
                    None => {}
                }
            }
        }
        deliver(out);
    }

    /// A durable open reconnected ([MS-SMB2 3.3.5.9.7]): its breaks (and its lease's) now go to
    /// `channel`, naming `session_id`. Returns the oplock level and lease state it holds.
    pub fn reattach(
        &self,
        key: FileKey,
        owner: LockOwner,
        channel: &Arc<BreakChannel>,
        session_id: u64,
    ) -> Option<(u8, Option<LeaseGrant>)> {
        let mut inner = lock(&self.inner);
        let f = inner.files.get_mut(&key)?;
        let h = f.holders.iter_mut().find(|h| h.owner == owner)?;
        h.channel = Arc::clone(channel);
        h.session_id = session_id;
        let (level, lease) = (h.oplock, h.lease);
        let grant = match lease {
            Some(id) => {
                let l = f.leases.iter_mut().find(|l| l.id == id)?;
                l.channel = Arc::clone(channel);
                l.session_id = session_id;
                Some(LeaseGrant {
                    state: l.state,
                    breaking: l.breaking.is_some(),
                    epoch: l.epoch,
                    v2: l.v2,
                })
            }
            None => None,
        };
        Some((level, grant))
    }

    /// A durable open lost its connection or session ([MS-SMB2 3.3.7.1], 3.3.5.6): its breaks
    /// can no longer be delivered. It is routed to a closed channel, which
    /// [`Self::before_open`] reports as disconnected; its lease's breaks go to another open
    /// of the lease that is still connected, if any.
    pub fn detach(&self, key: FileKey, owner: LockOwner) {
        let dead = Arc::new(BreakChannel::new());
        dead.close();
        let mut inner = lock(&self.inner);
        let Some(f) = inner.files.get_mut(&key) else {
            return;
        };
        let Some(h) = f.holders.iter_mut().find(|h| h.owner == owner) else {
            return;
        };
        h.channel = Arc::clone(&dead);
        let Some(id) = h.lease else { return };
        let live = f
            .holders
            .iter()
            .find(|o| o.lease == Some(id) && !o.channel.is_closed())
            .map(|o| (Arc::clone(&o.channel), o.session_id));
        if let Some(l) = f.leases.iter_mut().find(|l| l.id == id) {
            match live {
                Some((channel, session_id)) => {
                    l.channel = channel;
                    l.session_id = session_id;
                }
                None => l.channel = dead,
            }
        }
    }

    /// The lease an open holds, if any (the durable reconnect checks its key).
    pub fn lease_of(&self, key: FileKey, owner: LockOwner) -> Option<LeaseId> {
        let inner = lock(&self.inner);
        inner
            .files
            .get(&key)?
            .holders
            .iter()
            .find(|h| h.owner == owner)?
            .lease
    }

    /// The oplock level and lease state held now by `owner` (tests and diagnostics).
    pub fn held(&self, key: FileKey, owner: LockOwner) -> Option<(u8, Option<u32>)> {
        let inner = lock(&self.inner);
        let f = inner.files.get(&key)?;
        let h = f.holders.iter().find(|h| h.owner == owner)?;
        let lease = h
            .lease
            .and_then(|id| f.leases.iter().find(|l| l.id == id).map(|l| l.state));
        Some((h.oplock, lease))
    }
}

fn oplock_notice(h: &Holder, level: u8) -> BreakNotice {
    BreakNotice::Oplock {
        session_id: h.session_id,
        file_id: h.file_id,
        level,
    }
}

/// Starts a lease break to `new`: with an acknowledgment required the lease is Breaking until
/// `deadline`, otherwise the new state holds at once. v2 leases count a new break in Epoch
/// (`new_epoch`), not the later steps of one that continues after an acknowledgment.
fn break_lease(
    l: &mut Lease,
    new: u32,
    deadline: Instant,
    new_epoch: bool,
) -> (Arc<BreakChannel>, BreakNotice) {
    let ack_required = rules::lease_break_needs_ack(l.state);
    if l.v2 && new_epoch {
        l.epoch = l.epoch.wrapping_add(1);
    }
    let notice = BreakNotice::Lease {
        session_id: l.session_id,
        new_epoch: if l.v2 { l.epoch } else { 0 },
        ack_required,
        lease_key: l.id.1,
        current: l.state,
        new,
    };
    if ack_required {
        l.breaking = Some(LeaseBreak {
            to: new,
            required: new,
            deadline,
        });
    } else {
        l.state = new;
    }
    (Arc::clone(&l.channel), notice)
}

/// Sends the breaks `intent` causes on `f`; `PENDING` if the open must wait for one.
///
/// An oplock already breaking is not told again; the open waits for it whenever the break
/// would have been needed. A lease already breaking is not told again either, but remembers
/// what this open needs (`required`), so the acknowledgment continues the break; the open
/// waits if the lease loses a right of the delay mask, and, on a retry, until the lease has
/// finished breaking (as Samba; smb2.lease.breaking3/4).
fn start_breaks(
    f: &mut FileState,
    intent: &OpenIntent,
    lease: Option<LeaseId>,
    deadline: Instant,
    retry: bool,
    out: &mut Outgoing,
) -> Result<(), NtStatus> {
    let mut wait = false;
    for h in f.holders.iter_mut().filter(|h| h.lease.is_none()) {
        let Some(to) = rules::oplock_break_to(h.oplock, intent) else {
            continue;
        };
        if h.breaking.is_some() {
            wait = true;
            continue;
        }
        out.push((Arc::clone(&h.channel), oplock_notice(h, to)));
        if h.oplock == OplockLevel::II {
            // Level II breaks need no acknowledgment (2.2.24.1).
            h.oplock = OplockLevel::NONE;
        } else {
            h.breaking = Some((to, deadline));
            wait = true;
        }
    }
    for l in f.leases.iter_mut().filter(|l| Some(l.id) != lease) {
        let to = rules::lease_break_to(l.state, intent);
        let was_breaking = l.breaking.is_some();
        if to == l.state {
            wait |= was_breaking && !intent.is_lease_stat_open();
            continue;
        }
        wait |= rules::lease_break_delays(l.state, intent) || (was_breaking && retry);
        match &mut l.breaking {
            Some(b) => b.required &= to,
            None => out.push(break_lease(l, to, deadline, true)),
        }
    }
    if wait { Err(NtStatus::PENDING) } else { Ok(()) }
}

#[cfg(test)]
mod tests;
