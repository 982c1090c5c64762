//! Listeners: one accept loop per configured address, each connection in its own task.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::connection;
use crate::engine::context::ServerContext;

/// Binds every listen address (failing fast, naming the address) and serves until the
/// process is stopped.
pub async fn run(ctx: Arc<ServerContext>) -> anyhow::Result<()> {
    let mut listeners = Vec::new();
    for addr in &ctx.config.listen {
        let l = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(target: "rsmbd", "listening on {addr}");
        listeners.push(l);
    }
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
    Ok(())
}
