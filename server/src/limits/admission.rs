//! Connection admission: the server-wide counts behind `max_connections`,
//! `max_connections_per_client` and `max_unauthenticated`. A connection holds a [`Ticket`]
//! for its lifetime; dropping it gives the slots back, whatever way the connection ended.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Limit, Limits};

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    unauthenticated: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// The counters every listener shares.
#[derive(Debug, Default)]
pub struct Admission {
    counts: Mutex<Counts>,
}

/// Why a connection was refused at accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Which limit.
    pub limit: Limit,
    /// "4096 connections open" and the like.
    pub detail: String,
}

impl Admission {
    /// Empty counters.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Integer updates only; a poisoned lock still holds consistent counts.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a new (unauthenticated) connection from `client`, or says which limit refuses it.
    pub fn admit(self: &Arc<Self>, client: IpAddr, limits: &Limits) -> Result<Ticket, Refused> {
        let mut c = self.lock();
        if c.total >= limits.max_connections {
            return Err(Refused {
                limit: Limit::Connections,
                detail: format!("{} connections open", c.total),
            });
        }
        let from_client = c.per_client.get(&client).copied().unwrap_or(0);
        if from_client >= limits.max_connections_per_client {
            return Err(Refused {
                limit: Limit::ConnectionsPerClient,
                detail: format!("{from_client} connections open from {client}"),
            });
        }
        if c.unauthenticated >= limits.max_unauthenticated {
            return Err(Refused {
                limit: Limit::Unauthenticated,
                detail: format!("{} unauthenticated connections open", c.unauthenticated),
            });
        }
        c.total += 1;
        c.unauthenticated += 1;
        *c.per_client.entry(client).or_insert(0) += 1;
        Ok(Ticket {
            admission: Arc::clone(self),
            client,
            authenticated: false,
        })
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
    authenticated: bool,
}

impl Ticket {
    /// The connection gained (`true`) or lost (`false`, last session logged off) its
    /// authenticated session: it leaves or rejoins the unauthenticated count.
    pub fn set_authenticated(&mut self, on: bool) {
        if on == self.authenticated {
            return;
        }
        self.authenticated = on;
        let mut c = self.admission.lock();
        if on {
            c.unauthenticated = c.unauthenticated.saturating_sub(1);
        } else {
            c.unauthenticated += 1;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut c = self.admission.lock();
        c.total = c.total.saturating_sub(1);
        if !self.authenticated {
            c.unauthenticated = c.unauthenticated.saturating_sub(1);
        }
        if let Some(n) = c.per_client.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_client.remove(&self.client);
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

    #[test]
    fn each_limit_refuses_and_dropping_gives_the_slot_back() {
        let a = Admission::new();
        let limits = Limits {
            max_connections: 3,
            max_connections_per_client: 2,
            max_unauthenticated: 2,
            ..Limits::default()
        };
        let mut t1 = a.admit(ip(1), &limits).unwrap();
        let _t2 = a.admit(ip(1), &limits).unwrap();
        assert_eq!(
            a.admit(ip(1), &limits).unwrap_err().limit,
            Limit::ConnectionsPerClient
        );
        assert_eq!(
            a.admit(ip(2), &limits).unwrap_err().limit,
            Limit::Unauthenticated
        );
        t1.set_authenticated(true);
        let _t3 = a.admit(ip(2), &limits).unwrap();
        assert_eq!(a.counts(), (3, 2));
        assert_eq!(
            a.admit(ip(3), &limits).unwrap_err().limit,
            Limit::Connections
        );
        drop(t1);
        assert_eq!(a.counts(), (2, 2));
        assert!(a.admit(ip(1), &limits).is_err(), "still 2 unauthenticated");
    }
}
