//! Graceful shutdown: SIGTERM or SIGINT stops the accept loops, lets every connection finish
//! the request it is processing (a WRITE being received is read whole, written and answered),
//! closes its handles, and ends the process within `limits.shutdown_grace_secs`; connections
//! still busy after the grace time are dropped. The data the server wrote is then pushed to
//! stable storage (`syncfs` on every share), so a clean stop never loses an acknowledged write.

use std::time::Duration;

use tokio::sync::watch;

/// Fires the shutdown (held by whoever watches the signals).
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

/// Tells listeners and connections that shutdown began. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
    /// For [`Shutdown::never`]: the sender nobody fires, kept so the channel stays open.
    _unfired: Option<std::sync::Arc<watch::Sender<bool>>>,
}

/// A trigger and the signal it fires.
pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger(tx), Shutdown { rx, _unfired: None })
}

impl Trigger {
    /// Starts the shutdown.
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}

impl Shutdown {
    /// A signal that never fires (servers that run until the process ends, tests).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        Self {
            rx,
            _unfired: Some(std::sync::Arc::new(tx)),
        }
    }

    /// True once shutdown began.
    pub fn is_requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves when shutdown begins (never, if the trigger is dropped unfired).
    pub async fn requested(&mut self) {
        if self.rx.wait_for(|on| *on).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// SIGTERM and SIGINT handlers, installed when this is created.
#[derive(Debug)]
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (from then on these signals no longer kill the process).
    pub fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for SIGTERM or SIGINT and names the one that came.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// What a shutdown did, for the one log line that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Connections that finished their in-flight work and closed within the grace time.
    pub drained: usize,
    /// Connections dropped when the grace time ran out.
    pub closed_after_grace: usize,
    /// How long the drain took.
    pub elapsed: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "shutdown: {} connections drained, {} closed after grace (drain took {:.1}s)",
            self.drained,
            self.closed_after_grace,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Flushes every disk share's file system (`syncfs`), so data written before the shutdown is
/// on stable storage when the process exits.
pub fn sync_shares(registry: &rsmbd_share::registry::ShareRegistry) {
    for share in registry.shares() {
        if let Some(root) = share.disk()
            && let Err(e) = rustix::fs::syncfs(root.fd())
        {
            tracing::warn!(target: "rsmbd", "shutdown: syncfs {} failed: {e}", root.path().display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_once_for_every_watcher() {
        let (trigger, shutdown) = channel();
        let mut a = shutdown.clone();
        let mut b = shutdown;
        assert!(!a.is_requested());
        trigger.fire();
        a.requested().await;
        b.requested().await;
        assert!(b.is_requested());
        let never = Shutdown::never();
        assert!(
            tokio::time::timeout(Duration::from_millis(20), never.clone().requested())
                .await
                .is_err()
        );
    }
}
