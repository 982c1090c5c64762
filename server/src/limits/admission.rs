//! Connection admission: the server-wide counts behind `max_connections`,
//! `max_connections_per_client` and `max_unauthenticated`. A connection holds a [`Ticket`]
//! for its lifetime; dropping it gives the slots back, whatever way the connection ended.
//!
//! When a limit is reached, the newcomer is not simply refused: that would let a few idle
//! sockets lock every real client out until they time out. Instead the oldest
//! *unauthenticated* connection is evicted (told to close through its ticket) and the newcomer
//! takes its slot: for the per-client limit, the oldest of that client's own; for the others,
//! the oldest of the client holding the most unauthenticated connections, so a flood from a
//! few addresses evicts itself. Authenticated connections are never evicted; with nothing to
//! evict the newcomer is refused.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::{Limit, Limits};

#[derive(Debug, Default)]
struct Client {
    /// Connections open from this address.
    total: usize,
    /// Its unauthenticated connections, oldest first, with the way to tell each to close.
    unauthenticated: BTreeMap<u64, Arc<Notify>>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    unauthenticated: usize,
    clients: HashMap<IpAddr, Client>,
    next_seq: u64,
}

impl Counts {
    /// Evicts the oldest unauthenticated connection of `from` (or, without it, of the client
    /// holding the most): its slots are freed now, and it is told to close.
    fn evict(&mut self, from: Option<IpAddr>) -> Option<IpAddr> {
        let victim = match from {
            Some(ip) => ip,
            None => self
                .clients
                .iter()
                .max_by_key(|(_, c)| c.unauthenticated.len())
                .filter(|(_, c)| !c.unauthenticated.is_empty())
                .map(|(ip, _)| *ip)?,
        };
        let client = self.clients.get_mut(&victim)?;
        let (_, notify) = client.unauthenticated.pop_first()?;
        notify.notify_one();
        client.total = client.total.saturating_sub(1);
        if client.total == 0 {
            self.clients.remove(&victim);
        }
        self.total = self.total.saturating_sub(1);
        self.unauthenticated = self.unauthenticated.saturating_sub(1);
        Some(victim)
    }

    fn client_total(&self, ip: &IpAddr) -> usize {
        self.clients.get(ip).map_or(0, |c| c.total)
    }
}

/// The counters every listener shares.
#[derive(Debug, Default)]
pub struct Admission {
    counts: Mutex<Counts>,
}

/// Why a connection was refused at accept, or whom it displaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Which limit.
    pub limit: Limit,
    /// "4096 connections open" and the like.
    pub detail: String,
}

/// A connection admitted at a limit by evicting an unauthenticated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evicted {
    /// The limit that was full.
    pub limit: Limit,
    /// The address whose oldest unauthenticated connection was closed.
    pub victim: IpAddr,
}

impl Admission {
    /// Empty counters.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Integer and map updates only; a poisoned lock still holds consistent counts.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a new (unauthenticated) connection from `client`, evicting an unauthenticated
    /// one at a full limit (reported in the second value), or says which limit refuses it.
    pub fn admit(
        self: &Arc<Self>,
        client: IpAddr,
        limits: &Limits,
    ) -> Result<(Ticket, Vec<Evicted>), Refused> {
        let mut c = self.lock();
        let mut evicted = Vec::new();
        if c.client_total(&client) >= limits.max_connections_per_client {
            match c.evict(Some(client)) {
                Some(victim) => evicted.push(Evicted {
                    limit: Limit::ConnectionsPerClient,
                    victim,
                }),
                None => {
                    return Err(Refused {
                        limit: Limit::ConnectionsPerClient,
                        detail: format!(
                            "{} authenticated connections open from {client}",
                            c.client_total(&client)
                        ),
                    });
                }
            }
        }
        for (limit, full) in [
            (Limit::Connections, c.total >= limits.max_connections),
            (
                Limit::Unauthenticated,
                c.unauthenticated >= limits.max_unauthenticated,
            ),
        ] {
            if !full {
                continue;
            }
            match c.evict(None) {
                Some(victim) => evicted.push(Evicted { limit, victim }),
                None => {
                    return Err(Refused {
                        limit,
                        detail: format!("{} connections open, all authenticated", c.total),
                    });
                }
            }
        }
        c.total += 1;
        c.unauthenticated += 1;
        c.next_seq += 1;
        let seq = c.next_seq;
        let evict = Arc::new(Notify::new());
        let entry = c.clients.entry(client).or_default();
        entry.total += 1;
        entry.unauthenticated.insert(seq, Arc::clone(&evict));
        Ok((
            Ticket {
                admission: Arc::clone(self),
                client,
                unauthenticated: Some(seq),
                evict,
                evicted: false,
            },
            evicted,
        ))
    }

    /// (total, unauthenticated) connections now.
    pub fn counts(&self) -> (usize, usize) {
        let c = self.lock();
        (c.total, c.unauthenticated)
    }
}

/// One admitted connection's hold on the counters.
#[derive(Debug)]
pub struct Ticket {
    admission: Arc<Admission>,
    client: IpAddr,
    /// Its place in the client's eviction order while unauthenticated.
    unauthenticated: Option<u64>,
    evict: Arc<Notify>,
    /// Evicted: the admission already gave its slots back.
    evicted: bool,
}

impl Ticket {
    /// Resolves when the connection was evicted to make room for a newer one: it must close.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// The connection gained (`true`) or lost (`false`, last session logged off) its
    /// authenticated session: it leaves or rejoins the unauthenticated count.
    pub fn set_authenticated(&mut self, on: bool) {
        if self.evicted {
            return;
        }
        let mut c = self.admission.lock();
        match (on, self.unauthenticated) {
            (true, Some(seq)) => {
                self.unauthenticated = None;
                let removed = c
                    .clients
                    .get_mut(&self.client)
                    .and_then(|cl| cl.unauthenticated.remove(&seq));
                match removed {
                    Some(_) => c.unauthenticated = c.unauthenticated.saturating_sub(1),
                    // Evicted just before: its counts are already gone.
                    None => self.evicted = true,
                }
            }
            (false, None) => {
                c.next_seq += 1;
                let seq = c.next_seq;
                let evict = Arc::clone(&self.evict);
                let Some(cl) = c.clients.get_mut(&self.client) else {
                    return;
                };
                cl.unauthenticated.insert(seq, evict);
                c.unauthenticated += 1;
                self.unauthenticated = Some(seq);
            }
            _ => {}
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.evicted {
            return;
        }
        let mut c = self.admission.lock();
        let still_counted = match self.unauthenticated {
            // Evicted tickets were removed (and uncounted) by the eviction.
            Some(seq) => c
                .clients
                .get_mut(&self.client)
                .and_then(|cl| cl.unauthenticated.remove(&seq))
                .is_some(),
            None => true,
        };
        if !still_counted {
            return;
        }
        if self.unauthenticated.is_some() {
            c.unauthenticated = c.unauthenticated.saturating_sub(1);
        }
        c.total = c.total.saturating_sub(1);
        if let Some(cl) = c.clients.get_mut(&self.client) {
            cl.total = cl.total.saturating_sub(1);
            if cl.total == 0 {
                c.clients.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    fn limits(total: usize, per_client: usize, unauth: usize) -> Limits {
        Limits {
            max_connections: total,
            max_connections_per_client: per_client,
            max_unauthenticated: unauth,
            ..Limits::default()
        }
    }

    #[test]
    fn a_full_client_evicts_its_own_oldest_unauthenticated_connection() {
        let a = Admission::new();
        let l = limits(10, 2, 10);
        let (t1, _) = a.admit(ip(1), &l).unwrap();
        let (_t2, _) = a.admit(ip(1), &l).unwrap();
        let (_t3, ev) = a.admit(ip(1), &l).unwrap();
        assert_eq!(
            ev,
            vec![Evicted {
                limit: Limit::ConnectionsPerClient,
                victim: ip(1)
            }]
        );
        assert_eq!(a.counts(), (2, 2));
        // The evicted one learns it must close; dropping it changes no count.
        futures_now(t1.evicted());
        drop(t1);
        assert_eq!(a.counts(), (2, 2));
    }

    #[test]
    fn authenticated_connections_are_never_evicted() {
        let a = Admission::new();
        let l = limits(2, 2, 2);
        let (mut t1, _) = a.admit(ip(1), &l).unwrap();
        let (mut t2, _) = a.admit(ip(1), &l).unwrap();
        t1.set_authenticated(true);
        t2.set_authenticated(true);
        assert_eq!(
            a.admit(ip(1), &l).unwrap_err().limit,
            Limit::ConnectionsPerClient
        );
        assert_eq!(a.admit(ip(2), &l).unwrap_err().limit, Limit::Connections);
        drop(t1);
        assert_eq!(a.counts(), (1, 0));
        let (_t3, ev) = a.admit(ip(2), &l).unwrap();
        assert!(ev.is_empty());
    }

    #[test]
    fn a_flood_evicts_from_the_heaviest_client_not_from_others() {
        let a = Admission::new();
        let l = limits(100, 100, 3);
        let (_victim_of_nobody, _) = a.admit(ip(9), &l).unwrap();
        let (_f1, _) = a.admit(ip(1), &l).unwrap();
        let (_f2, _) = a.admit(ip(1), &l).unwrap();
        // The table is full; a newcomer from a third address displaces the flood's oldest.
        let (_n, ev) = a.admit(ip(5), &l).unwrap();
        assert_eq!(
            ev,
            vec![Evicted {
                limit: Limit::Unauthenticated,
                victim: ip(1)
            }]
        );
        assert_eq!(a.counts(), (3, 3));
    }

    #[test]
    fn logging_off_rejoins_the_unauthenticated_count() {
        let a = Admission::new();
        let l = limits(10, 10, 10);
        let (mut t, _) = a.admit(ip(1), &l).unwrap();
        t.set_authenticated(true);
        assert_eq!(a.counts(), (1, 0));
        t.set_authenticated(false);
        assert_eq!(a.counts(), (1, 1));
        drop(t);
        assert_eq!(a.counts(), (0, 0));
    }

    /// Polls a future once, asserting it is ready (a stored Notify permit).
    fn futures_now(f: impl std::future::Future<Output = ()>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_millis(10), f)
                .await
                .unwrap()
        });
    }
}
