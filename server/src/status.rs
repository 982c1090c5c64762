//! Live sessions (issue 4 "Audit"; field research R1, R20): who is logged on, from where, through
//! which listener and server name, with which mechanism, key and ticket. The engine records
//! session start, tree connects and session end here; when `status_file` is set, one writer task
//! keeps a JSON copy on disk (written to a temporary file and renamed, never under the lock),
//! which `rsmbd sessions` prints as a table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One live session, as written to the status file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// SMB2 SessionId (hex).
    pub session_id: String,
    /// Client address and port.
    pub client: String,
    /// The listener (local address) the connection came in on.
    pub listener: String,
    /// The server name the client dialled: NETNAME negotiate context, else "-".
    pub netname: String,
    /// Host part of the first tree connect (`\\host\share`), once there is one.
    pub tree_host: Option<String>,
    /// Authentication mechanism ("kerberos", ...).
    pub mechanism: String,
    /// Ticket enctype.
    pub enctype: String,
    /// Session key enctype.
    pub session_enctype: String,
    /// Ticket service principal.
    pub spn: String,
    /// kvno of the key that decrypted the ticket.
    pub kvno: u32,
    /// Client principal.
    pub principal: String,
    /// Dialect.
    pub dialect: String,
    /// Session start, seconds since the epoch.
    pub start: u64,
    /// Ticket end time, seconds since the epoch.
    pub ticket_end: u64,
}

/// The status file's contents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatusSnapshot {
    /// When this was written (seconds since the epoch).
    pub written: u64,
    /// Server process id.
    pub pid: u32,
    /// Live sessions by SessionId.
    pub sessions: Vec<SessionRecord>,
}

/// The live-session table shared by every connection.
#[derive(Debug, Default)]
pub struct StatusBoard {
    sessions: Mutex<BTreeMap<u64, SessionRecord>>,
    /// Wakes the writer task; a stored permit means "something changed since the last write".
    changed: tokio::sync::Notify,
}

impl StatusBoard {
    /// A session was established.
    pub fn started(&self, id: u64, record: SessionRecord) {
        if let Ok(mut s) = self.sessions.lock() {
            s.insert(id, record);
        }
        self.changed.notify_one();
    }

    /// A tree connect succeeded: remember the host the client typed (first one wins).
    pub fn tree_connected(&self, id: u64, host: &str) {
        if let Ok(mut s) = self.sessions.lock()
            && let Some(r) = s.get_mut(&id)
            && r.tree_host.is_none()
        {
            r.tree_host = Some(host.to_string());
        }
        self.changed.notify_one();
    }

    /// A session ended (logoff, connection lost, refused re-authentication).
    pub fn ended(&self, id: u64) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(&id);
        }
        self.changed.notify_one();
    }

    /// A copy of the table.
    pub fn snapshot(&self) -> StatusSnapshot {
        let sessions = self
            .sessions
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        StatusSnapshot {
            written: unix_now(),
            pid: std::process::id(),
            sessions,
        }
    }

    /// Writes the status file after every change, until the process ends. The lock is only
    /// held to copy the table; the file is written to `path.tmp` and renamed, so readers never
    /// see half a file.
    pub async fn write_loop(&self, path: PathBuf) {
        loop {
            if let Err(e) = write_snapshot(&path, &self.snapshot()) {
                tracing::warn!(target: "rsmbd", "status file {}: {e}", path.display());
            }
            self.changed.notified().await;
        }
    }
}

/// Writes `snap` as JSON to `path` atomically (temporary file + rename).
pub fn write_snapshot(path: &Path, snap: &StatusSnapshot) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let json = serde_json::to_vec_pretty(snap).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}

/// `rsmbd sessions`: the status file as a table.
pub fn table(snap: &StatusSnapshot, now: u64) -> Vec<String> {
    let mut out = vec![format!(
        "{} session(s), written {} by pid {}",
        snap.sessions.len(),
        fmt_utc(snap.written),
        snap.pid
    )];
    if snap.sessions.is_empty() {
        return out;
    }
    let rows: Vec<[String; 13]> = snap
        .sessions
        .iter()
        .map(|r| {
            [
                r.session_id.clone(),
                r.client.clone(),
                r.listener.clone(),
                match &r.tree_host {
                    Some(t) if *t != r.netname && r.netname != "-" => format!("{}/{t}", r.netname),
                    Some(t) => t.clone(),
                    None => r.netname.clone(),
                },
                r.mechanism.clone(),
                r.enctype.clone(),
                r.spn.clone(),
                r.kvno.to_string(),
                r.principal.clone(),
                r.dialect.clone(),
                fmt_utc(r.start),
                fmt_utc(r.ticket_end),
                if r.ticket_end <= now {
                    "expired".to_string()
                } else {
                    format!("{}m", (r.ticket_end - now) / 60)
                },
            ]
        })
        .collect();
    let header = [
        "session",
        "client",
        "listener",
        "server name",
        "mech",
        "enctype",
        "spn",
        "kvno",
        "principal",
        "dialect",
        "start",
        "ticket end",
        "left",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    out.push(line(header.to_vec()));
    for r in &rows {
        out.push(line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// Seconds since the epoch, now.
pub fn unix_now() -> u64 {
    unix(SystemTime::now())
}

/// Seconds since the epoch.
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `2026-11-23T15:12:39Z` (proleptic Gregorian, UTC; H. Hinnant's days-to-civil algorithm).
pub fn fmt_utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn record(id: u64) -> SessionRecord {
        SessionRecord {
            session_id: format!("{id:#x}"),
            client: "127.0.0.1:50000".into(),
            listener: "127.0.0.2:445".into(),
            netname: "smb1.example.test".into(),
            tree_host: None,
            mechanism: "kerberos".into(),
            enctype: "aes256-cts-hmac-sha1-96".into(),
            session_enctype: "aes256-cts-hmac-sha1-96".into(),
            spn: "cifs/smb1.example.test@EXAMPLE.TEST".into(),
            kvno: 2,
            principal: "jürgen@EXAMPLE.TEST".into(),
            dialect: "3.1.1".into(),
            start: 1_700_000_000,
            ticket_end: 1_700_036_000,
        }
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(fmt_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(fmt_utc(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn board_tracks_start_tree_and_end_and_the_file_round_trips() {
        let b = StatusBoard::default();
        b.started(1, record(1));
        b.started(2, record(2));
        b.tree_connected(1, "smb1.example.test");
        b.tree_connected(1, "other");
        b.ended(2);
        let snap = b.snapshot();
        assert_eq!(snap.sessions.len(), 1);
        assert_eq!(
            snap.sessions[0].tree_host.as_deref(),
            Some("smb1.example.test")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.json");
        write_snapshot(&path, &snap).unwrap();
        let back: StatusSnapshot = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back.sessions, snap.sessions);
        let t = table(&back, 1_700_000_060);
        assert!(t[1].starts_with("session"), "{t:?}");
        assert!(
            t[2].contains("jürgen@EXAMPLE.TEST") && t[2].contains("599m"),
            "{t:?}"
        );
    }
}
