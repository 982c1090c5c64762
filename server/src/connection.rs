//! One TCP connection: a reader task cuts the byte stream into Direct-TCP frames, the main loop
//! feeds them to the [`Connection`] engine in order, and a writer task sends what it answers (so
//! the engine handles the next request while a large READ response is still going out). While
//! requests wait (STATUS_PENDING), a timer tick lets the engine retry them between frames.
//!
//! The connection's time limits live here: `limits.unauth_timeout_secs` (no authenticated
//! session yet, whatever the client trickles in: slow-loris included) and
//! `limits.idle_timeout_secs` (authenticated, no complete frame, no open file, nothing
//! waiting; it also bounds how long any one frame may take to arrive). Until a session is authenticated the frame limit is the small pre-logon one
//! ([`Connection::current_frame_limit`]). On shutdown the reader stops at the next frame
//! boundary (a frame already arriving is read whole), the engine answers what it has, and the
//! connection closes its handles.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::ListenerSection;
use crate::engine::context::ServerContext;
use crate::engine::framing::{self, FrameError, FrameHeader, OutFrame, TRANSPORT_HEADER_SIZE};
use crate::engine::{Connection, Disconnect};
use crate::limits::admission::Ticket;
use crate::limits::{Limit, hit};
use crate::shutdown::Shutdown;

/// Frames the engine has answered but the socket has not taken yet: the engine works on the
/// next request while the writer sends, and a slow reader stalls the engine after this many.
const WRITE_QUEUE: usize = 4;

/// How long answered frames may take to drain once the connection is ending.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How often waiting requests are retried.
const PENDING_TICK: Duration = Duration::from_millis(20);

/// Serves one client until it disconnects or breaks the protocol (no admission ticket, no
/// shutdown signal).
pub async fn serve(ctx: Arc<ServerContext>, stream: TcpStream, peer: SocketAddr) {
    let any = SocketAddr::from(([0, 0, 0, 0], 0));
    let listener = Arc::new(ListenerSection::plain(any));
    serve_until(ctx, listener, stream, peer, None, Shutdown::never()).await;
}

/// Serves one admitted client until it disconnects, breaks the protocol, hits a time limit,
/// or `stop` fires and its in-flight requests are answered.
pub async fn serve_until(
    ctx: Arc<ServerContext>,
    listener: Arc<ListenerSection>,
    stream: TcpStream,
    peer: SocketAddr,
    ticket: Option<Ticket>,
    stop: Shutdown,
) {
    let _ = stream.set_nodelay(true);
    let mut conn = Connection::on_listener(ctx, listener, peer);
    // Another connection's CREATE may queue an oplock break for this one: wake the loop.
    let breaks = Arc::new(tokio::sync::Notify::new());
    let waker = Arc::clone(&breaks);
    conn.set_break_waker(move || waker.notify_one());
    let (read, write) = stream.into_split();
    // One frame in flight between reader and engine: backpressure on the socket, and a
    // bounded amount of memory per connection.
    let (tx, mut rx) = mpsc::channel(1);
    let limit = Arc::new(AtomicUsize::new(conn.current_frame_limit()));
    let full = conn.frame_limit();
    let frame_timeout = conn.context().config.limits.idle_timeout();
    let reader = tokio::spawn(read_frames(
        read,
        (limit.clone(), full),
        frame_timeout,
        tx,
        stop.clone(),
        peer,
    ));
    let mut state = State {
        ticket,
        limit,
        stop,
        timed_out: false,
        breaks,
    };
    let (out_tx, out_rx) = mpsc::channel(WRITE_QUEUE);
    let writer = tokio::spawn(write_frames(write, out_rx));
    let result = run(&mut conn, &mut rx, &out_tx, &mut state).await;
    reader.abort();
    // Closing the handles may block on the file system (delete-on-close).
    crate::engine::dispatch::run_blocking(|| conn.on_disconnect());
    // What was answered is still sent, for a bounded time (a peer that stopped reading must
    // not keep the task), then the socket is shut down.
    drop(out_tx);
    let written = match tokio::time::timeout(DRAIN_TIMEOUT, writer).await {
        Ok(Ok(w)) => w,
        Ok(Err(e)) => Err(Disconnect(format!("writer: {e}"))),
        Err(_) => Err(Disconnect("peer stopped reading".into())),
    };
    match result.and(written) {
        Ok(()) => tracing::debug!(target: "rsmbd::connection", "client={peer} disconnected"),
        // The rate-limited `limit reached` line already tells; a flood must not flood the log.
        Err(reason) if state.timed_out => {
            tracing::debug!(target: "rsmbd::connection", "client={peer} connection closed: {reason}")
        }
        Err(reason) => {
            tracing::info!(target: "rsmbd::connection", "client={peer} connection closed: {reason}")
        }
    }
}

/// What the main loop tracks beside the engine.
struct State {
    ticket: Option<Ticket>,
    limit: Arc<AtomicUsize>,
    stop: Shutdown,
    /// Closed by the unauthenticated or idle timeout.
    timed_out: bool,
    /// Woken when another connection queues an oplock/lease break for this one.
    breaks: Arc<tokio::sync::Notify>,
}

async fn run(
    conn: &mut Connection,
    frames: &mut mpsc::Receiver<Result<BytesMut, Disconnect>>,
    out: &mpsc::Sender<OutFrame>,
    state: &mut State,
) -> Result<(), Disconnect> {
    let limits = conn.context().config.limits.clone();
    let mut tick = tokio::time::interval(PENDING_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut authenticated = false;
    // When the connection (last) became unauthenticated, and when a frame last arrived.
    let mut unauth_since = Instant::now();
    let mut last_frame = Instant::now();
    loop {
        let deadline = if authenticated {
            limits
                .idle_timeout()
                .filter(|_| !conn.has_pending() && !conn.has_open_files())
                .map(|t| last_frame + t)
        } else {
            Some(unauth_since + limits.unauth_timeout())
        };
        let replies = tokio::select! {
            frame = frames.recv() => match frame {
                None => return Ok(()),
                Some(Err(e)) => return Err(e),
                Some(Ok(mut frame)) => {
                    last_frame = Instant::now();
                    conn.handle_message(&mut frame)?
                }
            },
            _ = tick.tick(), if conn.has_pending() && !state.stop.is_requested() => conn.poll_pending(),
            _ = evicted(state.ticket.as_ref()) => {
                state.timed_out = true;
                return Err(Disconnect(
                    "evicted: a connection limit was full and this one had not logged on".into(),
                ));
            }
            _ = sleep_until(deadline) => {
                state.timed_out = true;
                return Err(timed_out(conn.peer(), authenticated, &limits));
            }
            () = state.breaks.notified() => conn.poll_pending(),
        };
        for reply in replies {
            out.send(reply)
                .await
                .map_err(|_| Disconnect("socket closed while answering".into()))?;
        }
        let now_authenticated = conn.is_authenticated();
        if now_authenticated != authenticated {
            authenticated = now_authenticated;
            if !authenticated {
                unauth_since = Instant::now();
            }
            if let Some(t) = state.ticket.as_mut() {
                t.set_authenticated(authenticated);
            }
            state
                .limit
                .store(conn.current_frame_limit(), Ordering::Relaxed);
        }
    }
}

/// Resolves when the admission evicted this connection (never without a ticket).
async fn evicted(ticket: Option<&Ticket>) {
    match ticket {
        Some(t) => t.evicted().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The disconnect (and rate-limited log line) for a connection whose time ran out.
fn timed_out(peer: SocketAddr, authenticated: bool, limits: &crate::limits::Limits) -> Disconnect {
    if authenticated {
        hit(
            Limit::IdleTimeout,
            peer,
            format_args!("idle for {} s", limits.idle_timeout_secs),
        );
        Disconnect(format!(
            "idle for {} s (limits.idle_timeout_secs)",
            limits.idle_timeout_secs
        ))
    } else {
        hit(
            Limit::UnauthTimeout,
            peer,
            format_args!(
                "no authenticated session after {} s",
                limits.unauth_timeout_secs
            ),
        );
        Disconnect(format!(
            "no authenticated session after {} s (limits.unauth_timeout_secs)",
            limits.unauth_timeout_secs
        ))
    }
}

/// Writes answered frames in order, then shuts the socket down; each frame was encoded (and
/// encrypted) in place behind its transport header, so this is the only time its bytes move.
async fn write_frames(
    mut write: OwnedWriteHalf,
    mut frames: mpsc::Receiver<OutFrame>,
) -> Result<(), Disconnect> {
    while let Some(frame) = frames.recv().await {
        write
            .write_all(frame.wire())
            .await
            .map_err(|e| Disconnect(format!("write error: {e}")))?;
    }
    let _ = write.shutdown().await;
    Ok(())
}

/// Reads frames until EOF, a framing error (forwarded as the last item) or shutdown (between
/// frames: a frame already arriving is read whole and handed over first).
async fn read_frames(
    mut read: OwnedReadHalf,
    (limit, full): (Arc<AtomicUsize>, usize),
    frame_timeout: Option<Duration>,
    tx: mpsc::Sender<Result<BytesMut, Disconnect>>,
    mut stop: Shutdown,
    peer: SocketAddr,
) {
    let mut header = [0u8; TRANSPORT_HEADER_SIZE];
    loop {
        let got = tokio::select! {
            biased;
            _ = stop.requested() => return,
            got = read.read_exact(&mut header) => got,
        };
        let item = match got {
            Ok(_) => match framing::parse_header(header, limit.load(Ordering::Relaxed)) {
                Ok(FrameHeader::Message(len)) => {
                    // The length was checked against the limit before this allocation.
                    let mut frame = BytesMut::zeroed(len);
                    match read_body(&mut read, &mut frame, frame_timeout).await {
                        Ok(()) => Ok(frame),
                        Err((reason, timed_out)) => {
                            if timed_out {
                                hit(Limit::IdleTimeout, peer, &reason);
                            }
                            Err(reason)
                        }
                    }
                }
                Ok(FrameHeader::KeepAlive(len)) => match skip(&mut read, len).await {
                    Ok(()) => continue,
                    Err(e) => Err(e),
                },
                Err(e) => {
                    match e {
                        FrameError::TooLong { len, .. } if len > full => {
                            hit(Limit::IoSize, peer, format_args!("a frame of {len} bytes"))
                        }
                        FrameError::TooLong { len, limit } => hit(
                            Limit::SpnegoToken,
                            peer,
                            format_args!("a frame of {len} bytes before logon (limit {limit})"),
                        ),
                        _ => {}
                    }
                    Err(Disconnect(e.to_string()))
                }
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

/// Reads a frame's body. The idle timeout also bounds how long one frame may take to arrive
/// (slow-loris by a logged-on client; before logon the unauthenticated timeout ends it
/// sooner). The flag says whether the time limit ended it.
async fn read_body(
    read: &mut OwnedReadHalf,
    frame: &mut [u8],
    within: Option<Duration>,
) -> Result<(), (Disconnect, bool)> {
    let len = frame.len();
    let body = read.read_exact(frame);
    let done = match within {
        Some(t) => match tokio::time::timeout(t, body).await {
            Ok(r) => r,
            Err(_) => {
                return Err((
                    Disconnect(format!(
                        "a {len}-byte frame not complete after {} s (limits.idle_timeout_secs)",
                        t.as_secs()
                    )),
                    true,
                ));
            }
        },
        None => body.await,
    };
    done.map(|_| ())
        .map_err(|e| (Disconnect(format!("truncated frame: {e}")), false))
}

async fn skip(read: &mut OwnedReadHalf, mut len: usize) -> Result<(), Disconnect> {
    // Keep-alives carry no payload in practice; whatever is announced is read and dropped in
    // small chunks, so a 16 MiB "keep-alive" costs a few thousand reads, not 16 million. The
    // buffer is on the heap and only while skipping: an array here would sit in every
    // connection's reader future (4 KiB × thousands of idle connections, test_flood.py).
    let mut buf = vec![0u8; len.min(4096)];
    while len > 0 {
        let n = len.min(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        read.read_exact(chunk)
            .await
            .map_err(|e| Disconnect(format!("truncated keep-alive: {e}")))?;
        len -= n;
    }
    Ok(())
}
