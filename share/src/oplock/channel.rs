//! Break routing: the per-connection queue a break notification is put on, whichever
//! connection's request caused the break ([MS-SMB2 3.3.4.6]: "to the client identified by
//! Open.Connection"; [3.3.4.7]: to the connection of the lease's client).
//!
//! The share layer has no runtime, so the queue is a plain mutex-protected deque plus a waker the
//! engine installs (the server wakes its connection task with it). The lock is held only to
//! push or drain; no I/O happens under it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rsmbd_protocol::file_id::FileId;

use crate::open::lock;

/// Most notifications one connection may have queued: a client that stops reading cannot make
/// the server allocate without limit (a dropped notification ends as a break timeout).
pub const MAX_QUEUED_BREAKS: usize = 4096;

/// One unsolicited OPLOCK_BREAK message to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakNotice {
    /// [MS-SMB2 2.2.23.1] Oplock Break Notification.
    Oplock {
        /// The session of the open (its key encrypts the notification when the session does).
        session_id: u64,
        /// The open whose oplock breaks.
        file_id: FileId,
        /// The level the server will accept in the acknowledgment.
        level: u8,
    },
    /// [MS-SMB2 2.2.23.2] Lease Break Notification.
    Lease {
        /// A session that holds an open under the lease (for encryption).
        session_id: u64,
        /// NewEpoch (v2 leases; 0 for v1).
        new_epoch: u16,
        /// SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED.
        ack_required: bool,
        /// LeaseKey.
        lease_key: [u8; 16],
        /// CurrentLeaseState.
        current: u32,
        /// NewLeaseState.
        new: u32,
    },
}

type Waker = Arc<dyn Fn() + Send + Sync>;

/// The break queue of one connection.
#[derive(Default)]
pub struct BreakChannel {
    queue: Mutex<VecDeque<BreakNotice>>,
    waker: Mutex<Option<Waker>>,
    /// The connection is gone ([MS-SMB2 3.3.7.1]): its opens that are still registered are
    /// preserved durable opens (Open.Connection is NULL).
    closed: AtomicBool,
}

impl std::fmt::Debug for BreakChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakChannel")
            .field("queued", &lock(&self.queue).len())
            .finish()
    }
}

impl BreakChannel {
    /// An empty queue with no waker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs the function that wakes the connection's task when a notice is queued.
    pub fn set_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        *lock(&self.waker) = Some(Arc::new(waker));
    }

    /// The connection went away: nothing is queued any more, and the oplock table treats the
    /// opens still routed here as disconnected durable opens.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        lock(&self.queue).clear();
        *lock(&self.waker) = None;
    }

    /// True once [`Self::close`] ran.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Queues a notice and wakes the connection (nothing, once the connection is gone).
    pub fn send(&self, notice: BreakNotice) {
        if self.is_closed() {
            return;
        }
        {
            let mut q = lock(&self.queue);
            if q.len() >= MAX_QUEUED_BREAKS {
                tracing::warn!(?notice, "break queue full: notification dropped");
                return;
            }
            q.push_back(notice);
        }
        // Called outside the queue lock: the waker may run the connection's code.
        let waker = lock(&self.waker).clone();
        if let Some(w) = waker {
            w();
        }
    }

    /// Takes every queued notice, oldest first.
    pub fn drain(&self) -> Vec<BreakNotice> {
        lock(&self.queue).drain(..).collect()
    }
}

/// What a handler knows about the connection a request arrived on: where breaks for opens it
/// creates go, and the identity leases are keyed by.
#[derive(Debug, Clone)]
pub struct ClientLink {
    /// Connection.ClientGuid (the lease table key, [MS-SMB2 3.3.1.4] GlobalLeaseTableList).
    pub client_guid: [u8; 16],
    /// The connection's break queue.
    pub breaks: Arc<BreakChannel>,
    /// Leases may be granted: dialect 2.1 or later (SMB2_GLOBAL_CAP_LEASING was advertised).
    pub leasing: bool,
    /// Lease v2 contexts are honoured: dialect 3.x.
    pub lease_v2: bool,
    /// The request carries SMB2_FLAGS_REPLAY_OPERATION ([MS-SMB2 2.2.1.2]): a CREATE with a
    /// DH2Q context may be a replay of one already answered (3.3.5.9.10).
    pub replay: bool,
    /// Both sides advertised SMB2_GLOBAL_CAP_MULTI_CHANNEL (3.x): LOCK requests carry lock
    /// sequences the server must check ([MS-SMB2 3.3.5.14]).
    pub multichannel: bool,
}

impl ClientLink {
    /// A link to a connection nobody reads (share-layer tests): oplocks only.
    pub fn detached() -> Self {
        Self {
            client_guid: [0; 16],
            breaks: Arc::new(BreakChannel::new()),
            leasing: false,
            lease_v2: false,
            replay: false,
            multichannel: false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn wakes_and_drains_in_order_and_is_bounded() {
        let ch = BreakChannel::new();
        let woken = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&woken);
        ch.set_waker(move || {
            w.fetch_add(1, Ordering::Relaxed);
        });
        let n = |level| BreakNotice::Oplock {
            session_id: 1,
            file_id: FileId::new(1, 1),
            level,
        };
        ch.send(n(1));
        ch.send(n(0));
        assert_eq!(woken.load(Ordering::Relaxed), 2);
        assert_eq!(ch.drain(), vec![n(1), n(0)]);
        assert!(ch.drain().is_empty());
        for _ in 0..MAX_QUEUED_BREAKS + 10 {
            ch.send(n(0));
        }
        assert_eq!(ch.drain().len(), MAX_QUEUED_BREAKS);
    }
}
