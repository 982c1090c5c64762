//! One TCP connection: a reader task cuts the byte stream into Direct-TCP frames, the main loop
//! feeds them to the [`Connection`] engine in order and writes what it answers. While requests
//! wait (STATUS_PENDING), a timer tick lets the engine retry them between frames.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use crate::engine::context::ServerContext;
use crate::engine::framing::{self, FrameHeader, TRANSPORT_HEADER_SIZE};
use crate::engine::{Connection, Disconnect};

/// How often waiting requests are retried.
const PENDING_TICK: Duration = Duration::from_millis(20);

/// Serves one client until it disconnects or breaks the protocol.
pub async fn serve(ctx: Arc<ServerContext>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let mut conn = Connection::new(ctx, peer);
    let (read, mut write) = stream.into_split();
    // One frame in flight between reader and engine: backpressure on the socket, and a
    // bounded amount of memory per connection.
    let (tx, mut rx) = mpsc::channel(1);
    let limit = conn.frame_limit();
    let reader = tokio::spawn(read_frames(read, limit, tx));
    let result = run(&mut conn, &mut rx, &mut write).await;
    reader.abort();
    conn.close();
    match result {
        Ok(()) => tracing::debug!(target: "rsmbd::connection", "client={peer} disconnected"),
        Err(reason) => {
            tracing::info!(target: "rsmbd::connection", "client={peer} connection closed: {reason}")
        }
    }
}

async fn run(
    conn: &mut Connection,
    frames: &mut mpsc::Receiver<Result<BytesMut, Disconnect>>,
    write: &mut OwnedWriteHalf,
) -> Result<(), Disconnect> {
    let mut tick = tokio::time::interval(PENDING_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let replies = tokio::select! {
            frame = frames.recv() => match frame {
                None => return Ok(()),
                Some(Err(e)) => return Err(e),
                Some(Ok(mut frame)) => conn.handle_message(&mut frame)?,
            },
            _ = tick.tick(), if conn.has_pending() => conn.poll_pending(),
        };
        for reply in replies {
            write
                .write_all(&framing::frame(&reply))
                .await
                .map_err(|e| Disconnect(format!("write error: {e}")))?;
        }
    }
}

/// Reads frames until EOF or a framing error, which it forwards as the last item.
async fn read_frames(
    mut read: OwnedReadHalf,
    limit: usize,
    tx: mpsc::Sender<Result<BytesMut, Disconnect>>,
) {
    let mut header = [0u8; TRANSPORT_HEADER_SIZE];
    loop {
        let item = match read.read_exact(&mut header).await {
            Ok(_) => match framing::parse_header(header, limit) {
                Ok(FrameHeader::Message(len)) => {
                    // The length was checked against the limit before this allocation.
                    let mut frame = BytesMut::zeroed(len);
                    match read.read_exact(&mut frame).await {
                        Ok(_) => Ok(frame),
                        Err(e) => Err(Disconnect(format!("truncated frame: {e}"))),
                    }
                }
                Ok(FrameHeader::KeepAlive(len)) => match skip(&mut read, len).await {
                    Ok(()) => continue,
                    Err(e) => Err(e),
                },
                Err(e) => Err(Disconnect(e.to_string())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return,
            Err(e) => Err(Disconnect(format!("read error: {e}"))),
        };
        let last = item.is_err();
        if tx.send(item).await.is_err() || last {
            return;
        }
    }
}

async fn skip(read: &mut OwnedReadHalf, mut len: usize) -> Result<(), Disconnect> {
    let mut buf = [0u8; 1];
    // Keep-alives carry no payload in practice; skip whatever is announced a byte at a time.
    while len > 0 {
        read.read_exact(&mut buf)
            .await
            .map_err(|e| Disconnect(format!("truncated keep-alive: {e}")))?;
        len -= 1;
    }
    Ok(())
}
