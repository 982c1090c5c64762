//! The `[limits]` keys, each hit on purpose: the engine driven with bytes for the per-session
//! and per-connection limits (the NTSTATUS each one answers, or the disconnect), and real TCP on
//! loopback for the listener's admission limits, the unauthenticated and idle timeouts, the
//! pre-logon frame limit and the graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsmbd::config::Config;
use rsmbd::engine::context::ServerContext;
use rsmbd_protocol::create_context::CreateContext;
use rsmbd_protocol::messages::create::CreateRequest;
use rsmbd_protocol::messages::echo::EchoRequest;
use rsmbd_protocol::messages::query_directory::QueryDirectoryRequest;
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::{Command, FileId, Header, NtStatus, Response};
use rsmbd_share::crypto::signing;
use rsmbd_tests::client::Client;
use rsmbd_tests::kdc::{HOST, TestKdc, TicketSpec};
use rsmbd_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---------------------------------------------------------------------------------------------
// Engine-level: a logged-on client driven with bytes.

fn setup(tweak: impl FnOnce(&mut Config)) -> (tempfile::TempDir, Arc<ServerContext>, TestKdc) {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = context_with(dir.path(), &kdc.keytab_bytes(), tweak);
    (dir, ctx, kdc)
}

fn logon(ctx: &Arc<ServerContext>, kdc: &TestKdc) -> Client {
    Client::try_logon(ctx, kdc, &TicketSpec::new("alice"))
        .unwrap_or_else(|a| panic!("logon refused: {:?}", a.header.status))
}

fn tree_connect(c: &mut Client, share: &str) -> Answer {
    let tc = TreeConnectRequest {
        path: format!("\\\\{HOST}\\{share}"),
        ..Default::default()
    };
    c.call_on(Command::TREE_CONNECT, 0, &tc)
}

fn create(c: &mut Client, tree: u32, name: &str, disposition: u32, options: u32) -> Answer {
    let req = CreateRequest {
        impersonation_level: 2,
        desired_access: 0x0012_019F,
        share_access: 7,
        create_disposition: disposition,
        create_options: options,
        name: rsmbd_protocol::codec::string_to_utf16le(name).into(),
        create_contexts: Vec::<CreateContext<'_>>::new(),
        ..Default::default()
    };
    c.call_on(Command::CREATE, tree, &req)
}

fn file_id(a: &Answer) -> FileId {
    match a.body() {
        Response::Create(r) => r.file_id,
        other => panic!("{other:?}"),
    }
}

#[test]
fn sessions_per_connection_past_the_limit_get_request_not_accepted() {
    let (_dir, ctx, kdc) = setup(|c| c.limits.max_sessions_per_connection = 2);
    let (mut conn, preauth) = Client::negotiate(&ctx);
    for id in 1..=2 {
        let (a, _) =
            Client::session_setup(&mut conn, &kdc, &TicketSpec::new("alice"), &preauth, id);
        assert_eq!(a.header.status, NtStatus::SUCCESS, "session {id}");
    }
    let (a, _) = Client::session_setup(&mut conn, &kdc, &TicketSpec::new("alice"), &preauth, 3);
    assert_eq!(a.header.status, NtStatus::REQUEST_NOT_ACCEPTED);
}

#[test]
fn an_oversized_spnego_token_is_refused_before_the_acceptor_sees_it() {
    let (_dir, ctx, kdc) = setup(|c| c.limits.max_spnego_token = 4096);
    let (mut conn, _) = Client::negotiate(&ctx);
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: vec![0x60; 4097].into(),
        ..Default::default()
    };
    let a = one(&mut conn, &request(Command::SESSION_SETUP, 1, 0, &setup)).unwrap();
    assert_eq!(a.header.status, NtStatus::INVALID_PARAMETER);
    // Before logon the frame limit is the token limit plus headroom; after it, max_io_size's.
    assert_eq!(conn.current_frame_limit(), 4096 + 64 * 1024);
    assert!(!conn.is_authenticated());
    let mut c = logon(&ctx, &kdc);
    assert!(c.conn.is_authenticated());
    assert_eq!(c.conn.current_frame_limit(), c.conn.frame_limit());
    assert_eq!(
        c.conn.frame_limit(),
        ctx.config.max_io_size as usize + 64 * 1024
    );
    let echo = c.call_on(Command::ECHO, 0, &EchoRequest);
    assert_eq!(echo.header.status, NtStatus::SUCCESS);
}

#[test]
fn opens_per_session_past_the_limit_get_too_many_opened_files() {
    let (_dir, ctx, kdc) = setup(|c| c.limits.max_opens_per_session = 2);
    let mut c = logon(&ctx, &kdc);
    let tree = tree_connect(&mut c, "data").header.tree_id();
    let a = create(&mut c, tree, "a", 5, 0);
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    assert_eq!(
        create(&mut c, tree, "b", 5, 0).header.status,
        NtStatus::SUCCESS
    );
    assert!(c.conn.has_open_files());
    assert_eq!(
        create(&mut c, tree, "c", 5, 0).header.status,
        NtStatus::TOO_MANY_OPENED_FILES
    );
    // Closing one frees its slot.
    let close = rsmbd_protocol::messages::close::CloseRequest {
        flags: 0,
        file_id: file_id(&a),
    };
    assert_eq!(
        c.call_on(Command::CLOSE, tree, &close).header.status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        create(&mut c, tree, "c", 5, 0).header.status,
        NtStatus::SUCCESS
    );
}

#[test]
fn trees_per_session_past_the_limit_get_insufficient_resources() {
    let (_dir, ctx, kdc) = setup(|c| c.limits.max_trees_per_session = 1);
    let mut c = logon(&ctx, &kdc);
    assert_eq!(
        tree_connect(&mut c, "data").header.status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        tree_connect(&mut c, "IPC$").header.status,
        NtStatus::INSUFFICIENT_RESOURCES
    );
}

#[test]
fn async_requests_past_the_limit_get_insufficient_resources() {
    let (_dir, ctx, kdc) = setup(|c| c.limits.max_async_requests = 1);
    let mut c = logon(&ctx, &kdc);
    let ipc = tree_connect(&mut c, "IPC$").header.tree_id();
    let pipe = file_id(&create(&mut c, ipc, "srvsvc", 1, 0));
    let read = ReadRequest {
        length: 4280,
        file_id: pipe,
        ..Default::default()
    };
    // An empty pipe: the first READ waits (interim STATUS_PENDING)...
    assert_eq!(
        c.call_on(Command::READ, ipc, &read).header.status,
        NtStatus::PENDING
    );
    // ...and the second finds the table full.
    assert_eq!(
        c.call_on(Command::READ, ipc, &read).header.status,
        NtStatus::INSUFFICIENT_RESOURCES
    );
}

#[test]
fn io_above_max_io_size_gets_invalid_parameter() {
    let (_dir, ctx, kdc) = setup(|c| c.max_io_size = 65536);
    let mut c = logon(&ctx, &kdc);
    let tree = tree_connect(&mut c, "data").header.tree_id();
    let f = file_id(&create(&mut c, tree, "big", 5, 0));
    let read = ReadRequest {
        length: 65537,
        file_id: f,
        ..Default::default()
    };
    let mut msg = c.signed_on(Command::READ, tree, &read);
    // Charge enough credits for the size, so only the size limit can refuse it.
    msg[6] = 2;
    signing::sign(c.keys.signing_algorithm, &c.keys.signing_key, &mut msg);
    c.next_id += 1;
    assert_eq!(
        one(&mut c.conn, &msg).unwrap().header.status,
        NtStatus::INVALID_PARAMETER
    );
    let write = WriteRequest {
        file_id: f,
        data: vec![7u8; 65537].into(),
        ..Default::default()
    };
    let mut msg = c.signed_on(Command::WRITE, tree, &write);
    msg[6] = 2;
    signing::sign(c.keys.signing_algorithm, &c.keys.signing_key, &mut msg);
    c.next_id += 1;
    assert_eq!(
        one(&mut c.conn, &msg).unwrap().header.status,
        NtStatus::INVALID_PARAMETER
    );
}

#[test]
fn query_directory_output_is_clamped_to_the_limit() {
    let (dir, ctx, kdc) = setup(|c| c.limits.max_query_directory_output = 4096);
    for i in 0..200 {
        std::fs::write(
            dir.path()
                .join(format!("a-rather-long-file-name-{i:04}.txt")),
            b"x",
        )
        .unwrap();
    }
    let mut c = logon(&ctx, &kdc);
    let tree = tree_connect(&mut c, "data").header.tree_id();
    let d = file_id(&create(&mut c, tree, "", 1, 1 /* DIRECTORY_FILE */));
    let q = QueryDirectoryRequest {
        file_information_class: 0x25, // FileIdBothDirectoryInformation
        flags: 0,
        file_index: 0,
        file_id: d,
        file_name: rsmbd_protocol::codec::string_to_utf16le("*").into(),
        output_buffer_length: 65536,
    };
    let a = c.call_on(Command::QUERY_DIRECTORY, tree, &q);
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    match a.body() {
        Response::QueryDirectory(r) => {
            assert!(!r.buffer.is_empty());
            assert!(
                r.buffer.len() <= 4096,
                "{} bytes of output for a 4096-byte limit",
                r.buffer.len()
            );
        }
        other => panic!("{other:?}"),
    }
}

/// ECHO requests chained into one compound frame (NextCommand on 8-byte boundaries).
fn echo_compound(first_id: u64, n: usize) -> Vec<u8> {
    let mut frame = Vec::new();
    for i in 0..n {
        let mut m = request(Command::ECHO, first_id + i as u64, 0, &EchoRequest);
        if i + 1 < n {
            m.resize(m.len().div_ceil(8) * 8, 0);
            let next = m.len() as u32;
            m[20..24].copy_from_slice(&next.to_le_bytes());
        }
        frame.extend_from_slice(&m);
    }
    frame
}

#[test]
fn a_compound_longer_than_max_compound_closes_the_connection() {
    let (_dir, ctx, _kdc) = setup(|c| c.limits.max_compound = 2);
    let (mut conn, _) = Client::negotiate(&ctx);
    let answers = exchange(&mut conn, &echo_compound(1, 2)).unwrap();
    assert_eq!(answers.len(), 2, "a chain at the limit is served");
    let e = exchange(&mut conn, &echo_compound(3, 3)).unwrap_err();
    assert!(e.0.contains("max_compound"), "{e}");
}

#[test]
fn write_through_opens_and_flush_succeed() {
    // The fsync itself is not observable from here (interop's SIGKILL test checks the bytes
    // survive); this proves the paths that call it answer success.
    let (dir, ctx, kdc) = setup(|_| {});
    let mut c = logon(&ctx, &kdc);
    let tree = tree_connect(&mut c, "data").header.tree_id();
    let f = file_id(&create(
        &mut c, tree, "wt", 5, 0x2, /* FILE_WRITE_THROUGH */
    ));
    let write = WriteRequest {
        file_id: f,
        data: b"durable".to_vec().into(),
        ..Default::default()
    };
    assert_eq!(
        c.call_on(Command::WRITE, tree, &write).header.status,
        NtStatus::SUCCESS
    );
    let flush = rsmbd_protocol::messages::flush::FlushRequest { file_id: f };
    assert_eq!(
        c.call_on(Command::FLUSH, tree, &flush).header.status,
        NtStatus::SUCCESS
    );
    assert_eq!(std::fs::read(dir.path().join("wt")).unwrap(), b"durable");
}

// ---------------------------------------------------------------------------------------------
// Over TCP on loopback: admission, timeouts, the pre-logon frame limit, shutdown.

struct Server {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    kdc: TestKdc,
    trigger: rsmbd::shutdown::Trigger,
    served: tokio::task::JoinHandle<rsmbd::shutdown::Report>,
}

async fn start(tweak: impl FnOnce(&mut Config)) -> Server {
    let (dir, ctx, kdc) = setup(tweak);
    let listeners = rsmbd::listener::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = listeners[0].local_addr().unwrap();
    let (trigger, stop) = rsmbd::shutdown::channel();
    let served = tokio::spawn(rsmbd::listener::serve_until(ctx, listeners, stop));
    Server {
        _dir: dir,
        addr,
        kdc,
        trigger,
        served,
    }
}

async fn send(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(&(msg.len() as u32).to_be_bytes())
        .await
        .unwrap();
    s.write_all(msg).await.unwrap();
}

async fn recv(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut len))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    let mut reply = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut reply).await.unwrap();
    reply
}

async fn negotiate_tcp(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    send(
        &mut s,
        &request(Command::NEGOTIATE, 0, 0, &negotiate_request()),
    )
    .await;
    let h = Header::decode(&recv(&mut s).await).unwrap();
    assert_eq!(h.status, NtStatus::SUCCESS);
    s
}

/// How long until the server closes `s` (read gives 0 or an error), up to `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut b = [0u8; 256];
    loop {
        match tokio::time::timeout(within.saturating_sub(start.elapsed()), s.read(&mut b)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_client_evicts_its_oldest_unauthenticated_connection_never_a_logged_on_one() {
    let srv = start(|c| c.limits.max_connections_per_client = 2).await;
    let mut a = negotiate_tcp(srv.addr).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut b = negotiate_tcp(srv.addr).await;
    // A third from the same address takes the slot of the oldest that has not logged on.
    let c = negotiate_tcp(srv.addr).await;
    assert!(
        closed_within(&mut a, Duration::from_secs(2))
            .await
            .is_some(),
        "the oldest unauthenticated connection is evicted"
    );
    send(&mut b, &request(Command::ECHO, 1, 0, &EchoRequest)).await;
    assert_eq!(
        Header::decode(&recv(&mut b).await).unwrap().status,
        NtStatus::SUCCESS,
        "the others are still served"
    );
    drop(b);
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Two logged-on connections fill the client's quota for good: a third is refused.
    let _l1 = logon_tcp(srv.addr, &srv.kdc).await;
    let _l2 = logon_tcp(srv.addr, &srv.kdc).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(srv.addr).await.unwrap();
    assert!(
        closed_within(&mut third, Duration::from_secs(2))
            .await
            .is_some(),
        "nothing to evict: refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_unauthenticated_table_evicts_from_the_heaviest_client() {
    let srv = start(|c| c.limits.max_unauthenticated = 2).await;
    // Two idle connections from 127.0.0.1 fill the table...
    let mut f1 = negotiate_tcp(srv.addr).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _f2 = negotiate_tcp(srv.addr).await;
    // ...a client from another address still gets in, displacing the flood's oldest.
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind("127.0.0.7:0".parse().unwrap()).unwrap();
    let mut newcomer = s.connect(srv.addr).await.unwrap();
    send(
        &mut newcomer,
        &request(Command::NEGOTIATE, 0, 0, &negotiate_request()),
    )
    .await;
    assert_eq!(
        Header::decode(&recv(&mut newcomer).await).unwrap().status,
        NtStatus::SUCCESS
    );
    assert!(
        closed_within(&mut f1, Duration::from_secs(2))
            .await
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_connections_time_out_even_when_trickling_a_frame() {
    let srv = start(|c| c.limits.unauth_timeout_secs = 1).await;
    // Silent after NEGOTIATE.
    let mut silent = negotiate_tcp(srv.addr).await;
    // Slow-loris: a frame header, then one byte every 200 ms, never finishing the frame.
    let mut loris = TcpStream::connect(srv.addr).await.unwrap();
    loris.write_all(&[0, 0, 0x10, 0]).await.unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..30 {
            if loris.write_all(&[0xFE]).await.is_err() {
                return Some(loris);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Some(loris)
    });
    let t = closed_within(&mut silent, Duration::from_secs(4))
        .await
        .expect("a silent unauthenticated connection is closed");
    assert!(
        t >= Duration::from_millis(700),
        "not before the timeout: {t:?}"
    );
    let mut loris = trickle.await.unwrap().unwrap();
    assert!(
        closed_within(&mut loris, Duration::from_millis(100))
            .await
            .is_some(),
        "the trickling one was closed too (its writes failed before 6 s)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_frame_before_logon_closes_the_connection() {
    let srv = start(|c| c.limits.max_spnego_token = 4096).await;
    let mut s = negotiate_tcp(srv.addr).await;
    // 4096 + 64 KiB is the pre-logon limit; announce one byte more.
    let len = (4096 + 64 * 1024 + 1) as u32;
    s.write_all(&len.to_be_bytes()).await.unwrap();
    assert!(
        closed_within(&mut s, Duration::from_secs(2))
            .await
            .is_some(),
        "closed on the length prefix alone"
    );
}

/// Logs on over TCP (NEGOTIATE + one SESSION_SETUP leg).
async fn logon_tcp(addr: SocketAddr, kdc: &TestKdc) -> TcpStream {
    let mut s = negotiate_tcp(addr).await;
    let (token, _) = kdc.spnego_ap_req("alice");
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: token.into(),
        ..Default::default()
    };
    send(&mut s, &request(Command::SESSION_SETUP, 1, 0, &setup)).await;
    let h = Header::decode(&recv(&mut s).await).unwrap();
    assert_eq!(h.status, NtStatus::SUCCESS);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_connections_outlive_the_unauth_timeout_and_close_when_idle() {
    let srv = start(|c| {
        c.limits.unauth_timeout_secs = 1;
        c.limits.idle_timeout_secs = 2;
    })
    .await;
    let mut s = logon_tcp(srv.addr, &srv.kdc).await;
    let t = closed_within(&mut s, Duration::from_secs(5))
        .await
        .expect("an idle authenticated connection is closed");
    assert!(
        t >= Duration::from_millis(1700),
        "closed by the 2 s idle timeout, not the 1 s unauthenticated one: {t:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_the_frame_in_flight_then_closes_and_stops_accepting() {
    let srv = start(|c| c.limits.shutdown_grace_secs = 5).await;
    let mut idle = negotiate_tcp(srv.addr).await;
    let mut busy = negotiate_tcp(srv.addr).await;
    // Half an ECHO frame is in flight when shutdown begins.
    let echo = request(Command::ECHO, 1, 0, &EchoRequest);
    busy.write_all(&(echo.len() as u32).to_be_bytes())
        .await
        .unwrap();
    busy.write_all(&echo[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    srv.trigger.fire();
    tokio::time::sleep(Duration::from_millis(100)).await;
    busy.write_all(&echo[10..]).await.unwrap();
    let h = Header::decode(&recv(&mut busy).await).unwrap();
    assert_eq!(
        (h.command, h.status),
        (Command::ECHO, NtStatus::SUCCESS),
        "the request in flight is answered"
    );
    assert!(
        closed_within(&mut busy, Duration::from_secs(2))
            .await
            .is_some()
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(2))
            .await
            .is_some()
    );
    let report = tokio::time::timeout(Duration::from_secs(5), srv.served)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.drained, 2);
    assert_eq!(report.closed_after_grace, 0);
    assert!(
        TcpStream::connect(srv.addr).await.is_err(),
        "no longer accepting"
    );
    assert!(
        report
            .to_string()
            .starts_with("shutdown: 2 connections drained, 0 closed after grace")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drops_what_is_still_busy_after_the_grace_time() {
    let srv = start(|c| c.limits.shutdown_grace_secs = 1).await;
    let mut stuck = negotiate_tcp(srv.addr).await;
    // A frame that never completes keeps its connection busy past the grace time.
    stuck.write_all(&[0, 0, 1, 0, 0xFE]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    srv.trigger.fire();
    let report = tokio::time::timeout(Duration::from_secs(4), srv.served)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((report.drained, report.closed_after_grace), (0, 1));
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert!(
        closed_within(&mut stuck, Duration::from_secs(2))
            .await
            .is_some()
    );
}

/// Logs on at SMB 2.1 over TCP (no signing required, so later requests may go unsigned), tree
/// connects to `data` and opens a file; returns the stream and the next MessageId.
async fn logon_with_open_file(addr: SocketAddr, kdc: &TestKdc) -> (TcpStream, u64) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut neg = negotiate_request();
    neg.dialects = vec![rsmbd_protocol::messages::negotiate::Dialect::SMB2_1];
    neg.negotiate_contexts.clear();
    send(&mut s, &request(Command::NEGOTIATE, 0, 0, &neg)).await;
    assert_eq!(
        Header::decode(&recv(&mut s).await).unwrap().status,
        NtStatus::SUCCESS
    );
    let (token, _) = kdc.spnego_ap_req("alice");
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: token.into(),
        ..Default::default()
    };
    send(&mut s, &request(Command::SESSION_SETUP, 1, 0, &setup)).await;
    let h = Header::decode(&recv(&mut s).await).unwrap();
    assert_eq!(h.status, NtStatus::SUCCESS);
    let sid = h.session_id;
    let tc = TreeConnectRequest {
        path: format!("\\\\{HOST}\\data"),
        ..Default::default()
    };
    send(&mut s, &request(Command::TREE_CONNECT, 2, sid, &tc)).await;
    let h = Header::decode(&recv(&mut s).await).unwrap();
    assert_eq!(h.status, NtStatus::SUCCESS);
    let create = CreateRequest {
        impersonation_level: 2,
        desired_access: 0x0012_019F,
        share_access: 7,
        create_disposition: 5,
        name: rsmbd_protocol::codec::string_to_utf16le("held-open").into(),
        create_contexts: Vec::<CreateContext<'_>>::new(),
        ..Default::default()
    };
    send(
        &mut s,
        &message(
            &request_header(Command::CREATE, 3, sid, h.tree_id(), 0),
            &create,
        ),
    )
    .await;
    assert_eq!(
        Header::decode(&recv(&mut s).await).unwrap().status,
        NtStatus::SUCCESS
    );
    (s, 4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_file_keeps_a_connection_but_a_frame_trickled_past_the_idle_timeout_ends_it() {
    let srv = start(|c| c.limits.idle_timeout_secs = 1).await;
    let (mut held, _) = logon_with_open_file(srv.addr, &srv.kdc).await;
    assert!(
        closed_within(&mut held, Duration::from_millis(2500))
            .await
            .is_none(),
        "a connection with an open file is not idle"
    );
    // Now a frame that starts and never finishes.
    held.write_all(&[0, 0, 1, 0, 0xFE, b'S']).await.unwrap();
    let t = closed_within(&mut held, Duration::from_secs(4))
        .await
        .expect("the trickled frame ends the connection");
    assert!(t >= Duration::from_millis(700), "{t:?}");
}
