//! One TCP connection: read Direct-TCP frames, feed them to the [`Connection`] engine, write
//! what it answers. Frames are processed in order; the socket is the only thing awaited.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::engine::context::ServerContext;
use crate::engine::framing::{self, FrameHeader, TRANSPORT_HEADER_SIZE};
use crate::engine::{Connection, Disconnect};

/// Serves one client until it disconnects or breaks the protocol.
pub async fn serve(ctx: Arc<ServerContext>, mut stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let mut conn = Connection::new(ctx, peer);
    let result = run(&mut conn, &mut stream).await;
    conn.close();
    match result {
        Ok(()) => tracing::debug!(target: "rsmbd::connection", "client={peer} disconnected"),
        Err(reason) => {
            tracing::info!(target: "rsmbd::connection", "client={peer} connection closed: {reason}")
        }
    }
}

async fn run(conn: &mut Connection, stream: &mut TcpStream) -> Result<(), Disconnect> {
    let mut header = [0u8; TRANSPORT_HEADER_SIZE];
    loop {
        match stream.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(Disconnect(format!("read error: {e}"))),
        }
        let len = match framing::parse_header(header, conn.frame_limit()) {
            Ok(FrameHeader::Message(len)) => len,
            Ok(FrameHeader::KeepAlive(len)) => {
                skip(stream, len).await?;
                continue;
            }
            Err(e) => return Err(Disconnect(e.to_string())),
        };
        // The length was checked against the limit before this allocation.
        let mut frame = BytesMut::zeroed(len);
        stream
            .read_exact(&mut frame)
            .await
            .map_err(|e| Disconnect(format!("truncated frame: {e}")))?;
        if let Some(reply) = conn.handle_message(&mut frame)? {
            let framed = framing::frame(&reply);
            stream
                .write_all(&framed)
                .await
                .map_err(|e| Disconnect(format!("write error: {e}")))?;
        }
    }
}

async fn skip(stream: &mut TcpStream, mut len: usize) -> Result<(), Disconnect> {
    let mut buf = [0u8; 1];
    // Keep-alives carry no payload in practice; skip whatever is announced a byte at a time.
    while len > 0 {
        stream
            .read_exact(&mut buf)
            .await
            .map_err(|e| Disconnect(format!("truncated keep-alive: {e}")))?;
        len -= 1;
    }
    Ok(())
}
