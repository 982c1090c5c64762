//! Listeners: one accept loop per configured address, each connection in its own task.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::connection;
use crate::engine::context::ServerContext;

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

/// Binds the configured addresses and serves until the process is stopped.
pub async fn run(ctx: Arc<ServerContext>) -> anyhow::Result<()> {
    let listeners = bind(&ctx.config.listen).await?;
    serve(ctx, listeners).await;
    Ok(())
}

/// Accepts on every listener; returns only if all accept loops end (they do not, normally).
pub async fn serve(ctx: Arc<ServerContext>, listeners: Vec<TcpListener>) {
    let mut tasks = tokio::task::JoinSet::new();
    for l in listeners {
        let ctx = ctx.clone();
        tasks.spawn(async move {
            loop {
                match l.accept().await {
                    Ok((stream, peer)) => {
                        tokio::spawn(connection::serve(ctx.clone(), stream, peer));
                    }
                    Err(e) => {
                        // Out of descriptors and similar: keep serving the others.
                        tracing::warn!(target: "rsmbd", "accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}
