//! Keytab reload (issue 4 "Keys"): when the keytab file changes (polled: inode, size, mtime) or
//! on SIGHUP, read and parse it outside any lock, then swap the acceptor's configuration in one
//! pointer store. Exchanges already under way keep the keytab they started with; established
//! sessions never look at it again, so nothing is dropped. A keytab that cannot be read or
//! parsed, or is empty, leaves the old one in place and the log says why.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::context::ServerContext;
use crate::startup::load_keytab;

/// What identifies a version of the file: a rename-into-place changes the inode, an in-place
/// rewrite (kadmin ktadd appends) the size or mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    inode: u64,
    size: u64,
    mtime_ns: i128,
}

/// The file's stamp, or `None` if it cannot be stat'ed (e.g. deleted for a moment).
pub fn stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        inode: m.ino(),
        size: m.size(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    })
}

/// Re-reads the keytab and installs it; returns the one-line summary that was logged, or the
/// reason the old keytab was kept.
pub fn reload(ctx: &ServerContext, path: &Path, why: &str) -> Result<String, String> {
    let result = load_keytab(path)
        .map_err(|e| format!("{e:#}"))
        .and_then(|kt| {
            if kt.entries().is_empty() {
                Err(format!("keytab {} is empty", path.display()))
            } else {
                Ok(kt)
            }
        });
    match result {
        Ok(keytab) => {
            let summary = keytab.summary().join("; ");
            let mut acceptor = (*ctx.acceptor()).clone();
            acceptor.keytab = Arc::new(keytab);
            ctx.set_acceptor(Arc::new(acceptor));
            tracing::info!(target: "rsmbd", "keytab reloaded ({why}): {} : {summary}", path.display());
            Ok(summary)
        }
        Err(e) => {
            tracing::warn!(target: "rsmbd", "keytab reload failed ({why}), keeping the previous keytab: {e}");
            Err(e)
        }
    }
}

/// Polls the keytab every `interval` (if non-zero) and reloads on change or SIGHUP, forever.
pub async fn watch(ctx: Arc<ServerContext>, path: PathBuf, interval: Duration) {
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(target: "rsmbd", "cannot catch SIGHUP ({e}); keytab reload on SIGHUP is off");
            None
        }
    };
    let mut last = stamp(&path);
    let poll = !interval.is_zero();
    let period = if poll {
        interval
    } else {
        Duration::from_secs(3600)
    };
    loop {
        let hupped = tokio::select! {
            Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => None } } => true,
            () = tokio::time::sleep(period) => false,
        };
        if hupped {
            last = stamp(&path);
            let _ = reload(&ctx, &path, "SIGHUP");
            continue;
        }
        if !poll {
            continue;
        }
        let now = stamp(&path);
        if now.is_none() || now == last {
            continue;
        }
        // Let a writer finish: reload once the file has stopped changing for a moment.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let settled = stamp(&path);
        if settled != now {
            continue;
        }
        last = settled;
        let _ = reload(&ctx, &path, "file changed");
    }
}
