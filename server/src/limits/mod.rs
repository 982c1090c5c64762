//! Resource limits: the `[limits]` configuration table, and the rate-limited log line every
//! limit writes when a client hits it.
//!
//! Port 445 is attacked before anyone is authenticated, so every resource a client can make
//! the server hold (connections, sessions, tree connects, opens, waiting requests, frame and
//! token sizes, time spent unauthenticated) has a bound here with a safe default. Hitting one
//! gets the NTSTATUS Windows uses for it, or a closed connection, and a log line that names the
//! key to raise and the client: at most one per limit per [`LOG_INTERVAL`], with a count of the
//! hits it suppressed, so a flood cannot flood the log too.

pub mod admission;
pub mod ratelog;
pub mod rlimit;

use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

pub use ratelog::{LOG_INTERVAL, RateLimitedLog};

/// The `[limits]` table. Every key has a default; a config without the table gets them all.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Connections open at once, server-wide. Past it a new connection is accepted and closed
    /// at once.
    pub max_connections: usize,
    /// Connections open at once from one client IP address.
    pub max_connections_per_client: usize,
    /// Connections with no authenticated session, server-wide (new ones are closed at once).
    pub max_unauthenticated: usize,
    /// Seconds a connection may stay without an authenticated session, whatever it sends
    /// (slow-loris: a frame trickled in byte by byte counts as unauthenticated time too).
    pub unauth_timeout_secs: u64,
    /// Seconds an authenticated connection may send nothing (no complete frame) before it is
    /// closed; a connection with open files or waiting requests is never idle (as Windows'
    /// autodisconnect). It also bounds how long any one frame may take to arrive, open files
    /// or not (a logged-on slow-loris). 0 = never.
    pub idle_timeout_secs: u64,
    /// Sessions (in progress or established) on one connection: past it SESSION_SETUP gets
    /// STATUS_REQUEST_NOT_ACCEPTED.
    pub max_sessions_per_connection: usize,
    /// Tree connects per session: past it TREE_CONNECT gets STATUS_INSUFFICIENT_RESOURCES.
    pub max_trees_per_session: usize,
    /// Opens per session: past it CREATE gets STATUS_TOO_MANY_OPENED_FILES.
    pub max_opens_per_session: usize,
    /// Requests one connection may have waiting (STATUS_PENDING, MS-SMB2 3.3.4.2): past it a
    /// request fails with STATUS_INSUFFICIENT_RESOURCES instead of waiting.
    pub max_async_requests: usize,
    /// Commands in one compound chain: a longer chain closes the connection.
    pub max_compound: usize,
    /// Bytes of the SPNEGO/GSS token in one SESSION_SETUP: a bigger one gets
    /// STATUS_INVALID_PARAMETER before any of it is parsed. Before the first logon the frame
    /// limit is this plus 64 KiB, so a bigger frame closes the connection before allocation.
    pub max_spnego_token: usize,
    /// Bytes of QUERY_DIRECTORY output one request may produce: larger OutputBufferLength
    /// values are clamped to it (the client gets fewer entries per round trip).
    pub max_query_directory_output: u32,
    /// Seconds a graceful shutdown (SIGTERM/SIGINT) waits for in-flight requests before the
    /// remaining connections are dropped.
    pub shutdown_grace_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_connections_per_client: 256,
            max_unauthenticated: 512,
            unauth_timeout_secs: 30,
            idle_timeout_secs: 900,
            max_sessions_per_connection: 64,
            max_trees_per_session: rsmbd_share::session::MAX_TREES_PER_SESSION,
            max_opens_per_session: rsmbd_share::session::MAX_OPENS_PER_SESSION,
            max_async_requests: 64,
            max_compound: 64,
            max_spnego_token: 64 * 1024,
            max_query_directory_output: 1024 * 1024,
            shutdown_grace_secs: 10,
        }
    }
}

/// Headroom above a payload limit for the SMB2 header, the request's fixed part, a compound
/// and a transform header.
pub const FRAME_HEADROOM: usize = 64 * 1024;

impl Limits {
    /// Checks the values make sense (every count at least 1, timeouts positive).
    pub fn validate(&self) -> anyhow::Result<()> {
        let counts = [
            ("max_connections", self.max_connections),
            (
                "max_connections_per_client",
                self.max_connections_per_client,
            ),
            ("max_unauthenticated", self.max_unauthenticated),
            (
                "max_sessions_per_connection",
                self.max_sessions_per_connection,
            ),
            ("max_trees_per_session", self.max_trees_per_session),
            ("max_opens_per_session", self.max_opens_per_session),
            ("max_async_requests", self.max_async_requests),
            ("max_compound", self.max_compound),
        ];
        for (key, value) in counts {
            if value == 0 {
                bail!("limits.{key} must be at least 1");
            }
        }
        if self.unauth_timeout_secs == 0 {
            bail!("limits.unauth_timeout_secs must be at least 1");
        }
        if self.max_spnego_token < 1024 {
            bail!("limits.max_spnego_token must be at least 1024 (Kerberos tickets are larger)");
        }
        if self.max_query_directory_output < 4096 {
            bail!("limits.max_query_directory_output must be at least 4096");
        }
        Ok(())
    }

    /// `unauth_timeout_secs` as a duration.
    pub fn unauth_timeout(&self) -> Duration {
        Duration::from_secs(self.unauth_timeout_secs)
    }

    /// `idle_timeout_secs` as a duration; `None` when off.
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_secs > 0).then(|| Duration::from_secs(self.idle_timeout_secs))
    }

    /// `shutdown_grace_secs` as a duration.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// The largest frame accepted before the connection has an authenticated session: a
    /// SESSION_SETUP with the largest token allowed, plus headroom.
    pub fn unauthenticated_frame_limit(&self) -> usize {
        self.max_spnego_token.saturating_add(FRAME_HEADROOM)
    }
}

/// The limits a client can hit, each named by its config key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// `max_connections`.
    Connections,
    /// `max_connections_per_client`.
    ConnectionsPerClient,
    /// `max_unauthenticated`.
    Unauthenticated,
    /// `unauth_timeout_secs`.
    UnauthTimeout,
    /// `idle_timeout_secs`.
    IdleTimeout,
    /// `max_sessions_per_connection`.
    SessionsPerConnection,
    /// `max_trees_per_session`.
    TreesPerSession,
    /// `max_opens_per_session`.
    OpensPerSession,
    /// `max_async_requests`.
    AsyncRequests,
    /// `max_compound`.
    Compound,
    /// `max_spnego_token`.
    SpnegoToken,
    /// `max_io_size` (top-level key): READ/WRITE/IOCTL/QUERY payloads and the frame size.
    IoSize,
}

impl Limit {
    /// Every limit, in a fixed order (index into the log state).
    pub const ALL: [Limit; 12] = [
        Limit::Connections,
        Limit::ConnectionsPerClient,
        Limit::Unauthenticated,
        Limit::UnauthTimeout,
        Limit::IdleTimeout,
        Limit::SessionsPerConnection,
        Limit::TreesPerSession,
        Limit::OpensPerSession,
        Limit::AsyncRequests,
        Limit::Compound,
        Limit::SpnegoToken,
        Limit::IoSize,
    ];

    /// The config key that raises it, as it appears in the TOML file.
    pub fn key(self) -> &'static str {
        match self {
            Limit::Connections => "limits.max_connections",
            Limit::ConnectionsPerClient => "limits.max_connections_per_client",
            Limit::Unauthenticated => "limits.max_unauthenticated",
            Limit::UnauthTimeout => "limits.unauth_timeout_secs",
            Limit::IdleTimeout => "limits.idle_timeout_secs",
            Limit::SessionsPerConnection => "limits.max_sessions_per_connection",
            Limit::TreesPerSession => "limits.max_trees_per_session",
            Limit::OpensPerSession => "limits.max_opens_per_session",
            Limit::AsyncRequests => "limits.max_async_requests",
            Limit::Compound => "limits.max_compound",
            Limit::SpnegoToken => "limits.max_spnego_token",
            Limit::IoSize => "max_io_size",
        }
    }

    fn index(self) -> usize {
        Limit::ALL.iter().position(|l| *l == self).unwrap_or(0)
    }
}

/// The server-wide log of limit hits (one line per limit per [`LOG_INTERVAL`]).
static LOG: RateLimitedLog = RateLimitedLog::new();

/// Records that `client` hit `limit`; `detail` says what happened ("128 connections open").
/// Logs at most one line per limit per [`LOG_INTERVAL`], naming the key to raise.
pub fn hit(limit: Limit, client: impl std::fmt::Display, detail: impl std::fmt::Display) {
    if let Some(suppressed) = LOG.admit(limit.index(), std::time::Instant::now()) {
        let more = if suppressed > 0 {
            format!(
                " ({suppressed} more hits of this limit not logged in the last {}s)",
                LOG_INTERVAL.as_secs()
            )
        } else {
            String::new()
        };
        tracing::warn!(target: "rsmbd::limits", "limit reached: {} client={client}: {detail}; raise {} to allow more{more}", limit.key(), limit.key());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn defaults_validate_and_zero_is_refused() {
        Limits::default().validate().unwrap();
        let l = Limits {
            max_sessions_per_connection: 0,
            ..Limits::default()
        };
        let e = l.validate().unwrap_err().to_string();
        assert!(e.contains("max_sessions_per_connection"), "{e}");
    }

    #[test]
    fn table_parses_with_partial_keys() {
        #[derive(Deserialize)]
        struct W {
            limits: Limits,
        }
        let w: W =
            toml::from_str("[limits]\nmax_connections = 7\nunauth_timeout_secs = 3\n").unwrap();
        assert_eq!(w.limits.max_connections, 7);
        assert_eq!(w.limits.unauth_timeout_secs, 3);
        assert_eq!(w.limits.max_compound, Limits::default().max_compound);
        assert!(toml::from_str::<W>("[limits]\nmax_conections = 7\n").is_err());
    }

    /// Collects what a tracing subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_flood_of_hits_logs_one_line_naming_the_key_and_the_client() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // Only this test hits Compound in this binary, so the slot starts fresh.
            for _ in 0..1000 {
                hit(
                    Limit::Compound,
                    "192.0.2.9:4000",
                    "a compound of 99 commands",
                );
            }
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains("WARN"), "{text}");
        assert!(
            lines[0].contains(
                "limit reached: limits.max_compound client=192.0.2.9:4000: a compound of 99 \
                 commands; raise limits.max_compound to allow more"
            ),
            "{text}"
        );
    }

    #[test]
    fn every_limit_has_its_own_slot_and_key() {
        for (i, l) in Limit::ALL.iter().enumerate() {
            assert_eq!(l.index(), i);
            assert!(!l.key().is_empty());
        }
    }
}
