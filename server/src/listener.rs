//! Listeners: one accept loop per configured address; each admitted connection in its own
//! task. Admission applies the connection limits (`max_connections`,
//! `max_connections_per_client`, `max_unauthenticated`): at a full limit the oldest
//! unauthenticated connection makes room (see [`crate::limits::admission`]); a connection that
//! cannot be admitted is accepted and closed at once, so it never waits in the kernel backlog.
//! On shutdown the accept loops stop (the listening sockets close) and the connections drain
//! within the grace time. Beside them run the keytab watcher and the status-file writer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::ListenerSection;
use crate::connection;
use crate::engine::context::ServerContext;
use crate::limits::admission::Admission;
use crate::shutdown::{self, Report, Shutdown};

/// Binds every configured address, failing fast and naming the address that failed.
pub async fn bind(addrs: &[SocketAddr]) -> anyhow::Result<Vec<TcpListener>> {
    let mut listeners = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let l = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(target: "rsmbd", "listening on {}", l.local_addr().unwrap_or(*addr));
        listeners.push(l);
    }
    Ok(listeners)
}

/// Binds the configured addresses and serves until SIGTERM or SIGINT, then shuts down
/// gracefully (see [`crate::shutdown`]) and returns.
pub async fn run(ctx: Arc<ServerContext>) -> anyhow::Result<()> {
    let (trigger, stop) = shutdown::channel();
    // Handlers before the sockets, so a SIGTERM right after start-up is a clean stop too.
    let mut signals = shutdown::Signals::install().context("cannot watch SIGTERM/SIGINT")?;
    let watcher = tokio::spawn(async move {
        let name = signals.recv().await;
        tracing::info!(target: "rsmbd", "shutdown: {name} received; no new connections, finishing in-flight requests");
        trigger.fire();
        // Later signals change nothing: the grace time bounds the drain.
        std::future::pending::<()>().await;
    });
    crate::limits::rlimit::raise_nofile(&ctx.config.limits);
    let sections = ctx.config.listeners();
    let addrs: Vec<SocketAddr> = sections.iter().map(|l| l.address).collect();
    let listeners = bind(&addrs).await?;
    for l in sections.iter().filter(|l| l.ntlm) {
        tracing::info!(target: "rsmbd", "listener {}: NTLMv2 enabled", l.address);
    }
    let with = listeners
        .into_iter()
        .zip(sections.into_iter().map(Arc::new))
        .collect();
    let mut helpers = Vec::new();
    if let Some(path) = ctx.config.keytab.clone() {
        let poll = std::time::Duration::from_secs(ctx.config.keytab_poll_secs);
        helpers.push(tokio::spawn(crate::keytab_reload::watch(
            ctx.clone(),
            path,
            poll,
        )));
    }
    if let Some(path) = ctx.config.status_file.clone() {
        let c = ctx.clone();
        helpers.push(tokio::spawn(async move { c.status.write_loop(path).await }));
    }
    // Durable opens whose client did not come back in time are closed (share::durable).
    let c = ctx.clone();
    helpers.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let registry = Arc::clone(&c.registry);
            // Closing may unlink (delete-on-close): off the reactor.
            let _ = tokio::task::spawn_blocking(move || {
                registry.durables().expire(std::time::Instant::now())
            })
            .await;
        }
    }));
    let report = serve_listeners_until(ctx.clone(), with, stop).await;
    watcher.abort();
    for h in helpers {
        h.abort();
    }
    shutdown::sync_shares(&ctx.registry);
    tracing::info!(target: "rsmbd", "{report}");
    Ok(())
}

/// Accepts on every listener until the process ends (no shutdown signal).
pub async fn serve(ctx: Arc<ServerContext>, listeners: Vec<TcpListener>) {
    serve_until(ctx, listeners, Shutdown::never()).await;
}

/// [`serve_listeners_until`] with every listener on the default policy (Kerberos only).
pub async fn serve_until(
    ctx: Arc<ServerContext>,
    listeners: Vec<TcpListener>,
    stop: Shutdown,
) -> Report {
    let with = listeners
        .into_iter()
        .map(|l| {
            let addr = l
                .local_addr()
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
            (l, Arc::new(ListenerSection::plain(addr)))
        })
        .collect();
    serve_listeners_until(ctx, with, stop).await
}

/// Accepts on every listener until `stop` fires, then stops accepting and waits up to
/// `limits.shutdown_grace_secs` for the connections to finish; the rest are dropped. Each
/// connection knows the listener (its NTLM policy and names) it arrived on.
pub async fn serve_listeners_until(
    ctx: Arc<ServerContext>,
    listeners: Vec<(TcpListener, Arc<ListenerSection>)>,
    mut stop: Shutdown,
) -> Report {
    let (accepted_tx, mut accepted) = mpsc::channel::<Accepted>(64);
    let mut accept_loops = JoinSet::new();
    for (l, section) in listeners {
        accept_loops.spawn(accept_loop(l, section, accepted_tx.clone()));
    }
    drop(accepted_tx);
    let admission = Admission::new();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // Shutdown first: every connection alive when it began is counted by the drain.
            biased;
            _ = stop.requested() => break,
            next = accepted.recv() => {
                let Some((stream, peer, section)) = next else { break };
                match admission.admit(peer.ip(), &ctx.config.limits) {
                    Ok((ticket, evicted)) => {
                        for e in evicted {
                            crate::limits::hit(
                                e.limit,
                                peer,
                                format_args!(
                                    "the oldest unauthenticated connection from {} was closed to admit this one",
                                    e.victim
                                ),
                            );
                        }
                        connections.spawn(connection::serve_until(
                            ctx.clone(),
                            section,
                            stream,
                            peer,
                            Some(ticket),
                            stop.clone(),
                        ));
                    }
                    Err(refused) => {
                        crate::limits::hit(refused.limit, peer, &refused.detail);
                        drop(stream);
                    }
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Stop accepting: the listening sockets close with their tasks.
    accept_loops.abort_all();
    while accept_loops.join_next().await.is_some() {}
    drain(connections, ctx.config.limits.shutdown_grace()).await
}

/// An accepted connection and the listener it came in on.
type Accepted = (TcpStream, SocketAddr, Arc<ListenerSection>);

/// Hands accepted connections to the serving loop.
async fn accept_loop(l: TcpListener, section: Arc<ListenerSection>, to: mpsc::Sender<Accepted>) {
    loop {
        match l.accept().await {
            Ok((stream, peer)) => {
                if to.send((stream, peer, section.clone())).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // Out of descriptors and similar: keep serving the others.
                tracing::warn!(target: "rsmbd", "accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Waits for the connections to end on their own (they stop at a request boundary once
/// shutdown began) until `grace` has passed; the rest are aborted.
async fn drain(mut connections: JoinSet<()>, grace: std::time::Duration) -> Report {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + grace;
    let mut drained = 0;
    while !connections.is_empty() {
        tokio::select! {
            _ = connections.join_next() => drained += 1,
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    let closed_after_grace = connections.len();
    connections.abort_all();
    // An aborted task ends at its next await point; a handler stuck in the file system is not
    // waited for long (the runtime's own shutdown timeout covers it).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Report {
        drained,
        closed_after_grace,
        elapsed: started.elapsed(),
    }
}
