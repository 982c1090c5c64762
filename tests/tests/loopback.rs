//! Over real TCP on loopback: a client that sends garbage, an oversized length, or stalls
//! mid-frame is dropped (or left waiting) while other clients are served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use rsmbd_protocol::{Command, Header, NtStatus};
use rsmbd_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start() -> (tempfile::TempDir, std::net::SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    let listeners = rsmbd::listener::bind(&["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let addr = listeners[0].local_addr().unwrap();
    tokio::spawn(rsmbd::listener::serve(ctx, listeners));
    (dir, addr)
}

/// Sends a framed NEGOTIATE and reads the framed answer.
async fn negotiate_over_tcp(addr: std::net::SocketAddr) -> Header {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let msg = request(Command::NEGOTIATE, 0, 0, &negotiate_request());
    s.write_all(&(msg.len() as u32).to_be_bytes())
        .await
        .unwrap();
    s.write_all(&msg).await.unwrap();
    let mut len = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut len))
        .await
        .unwrap()
        .unwrap();
    let mut reply = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut reply).await.unwrap();
    Header::decode(&reply).unwrap()
}

/// True once the server has closed `s` (read returns 0 or an error).
async fn closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_frames_close_only_their_connection() {
    let (_dir, addr) = start().await;

    // 16 MiB - 1 announced: over the limit, refused before any allocation.
    let mut big = TcpStream::connect(addr).await.unwrap();
    big.write_all(&[0x00, 0xFF, 0xFF, 0xFF]).await.unwrap();
    assert!(
        closed(&mut big).await,
        "an oversized frame closes the connection"
    );

    // Not a session message.
    let mut bad_type = TcpStream::connect(addr).await.unwrap();
    bad_type
        .write_all(&[0x81, 0, 0, 4, 1, 2, 3, 4])
        .await
        .unwrap();
    assert!(closed(&mut bad_type).await);

    // A frame holding a broken SMB2 header.
    let mut garbage = TcpStream::connect(addr).await.unwrap();
    garbage
        .write_all(&[0, 0, 0, 8, 0xFE, b'S', b'M', b'B', 0, 0, 0, 0])
        .await
        .unwrap();
    assert!(closed(&mut garbage).await);

    // A client that stalls mid-frame does not block anybody else.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(&[0, 0, 0x10, 0, 0xFE, b'S'])
        .await
        .unwrap();

    let h = negotiate_over_tcp(addr).await;
    assert_eq!(
        h.status,
        NtStatus::SUCCESS,
        "a normal client is still served"
    );
    assert_eq!(h.command, Command::NEGOTIATE);
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_frame_followed_by_eof_is_cleaned_up() {
    let (_dir, addr) = start().await;
    {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&[0, 0, 1, 0, 0xFE, b'S', b'M', b'B'])
            .await
            .unwrap();
    }
    assert_eq!(negotiate_over_tcp(addr).await.status, NtStatus::SUCCESS);
}
