//! Bad input gets an error response or a closed connection, never a panic (issue: "Bad input:
//! truncated frames, lengths and offsets past the end, an oversized frame, unknown commands,
//! requests before negotiate/session"). These drive the engine with bytes; `loopback.rs`
//! checks over TCP that the server keeps serving others.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rsmbd::engine::Connection;
use rsmbd::engine::framing::{FrameError, parse_header};
use rsmbd_protocol::messages::echo::EchoRequest;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::{Command, NtStatus};
use rsmbd_tests::*;

fn setup() -> (
    tempfile::TempDir,
    std::sync::Arc<rsmbd::engine::context::ServerContext>,
) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    (dir, ctx)
}

#[test]
fn every_truncation_of_a_negotiate_is_refused_without_panic() {
    let (_d, ctx) = setup();
    let full = request(Command::NEGOTIATE, 0, 0, &negotiate_request());
    for len in 0..full.len() {
        let mut conn = Connection::new(ctx.clone(), peer());
        match exchange(&mut conn, &full[..len]) {
            Err(_) => {}
            Ok(answers) => {
                for a in answers {
                    assert!(
                        a.header.status.is_error(),
                        "a truncated NEGOTIATE ({len} bytes) never succeeds"
                    );
                }
            }
        }
    }
}

#[test]
fn every_truncation_of_a_session_setup_is_an_error_or_disconnect() {
    let (_d, ctx) = setup();
    let req = SessionSetupRequest {
        security_buffer: vec![0x60; 40].into(),
        ..SessionSetupRequest::default()
    };
    let full = request(Command::SESSION_SETUP, 1, 0, &req);
    for len in 0..full.len() {
        let mut conn = negotiated(&ctx);
        if let Ok(answers) = exchange(&mut conn, &full[..len]) {
            for a in answers {
                assert!(
                    a.header.status.is_error()
                        || a.header.status == NtStatus::MORE_PROCESSING_REQUIRED
                );
            }
        }
    }
}

#[test]
fn security_buffer_past_the_end_is_invalid_parameter() {
    let (_d, ctx) = setup();
    let req = SessionSetupRequest {
        security_buffer: vec![0x60; 40].into(),
        ..SessionSetupRequest::default()
    };
    let mut msg = request(Command::SESSION_SETUP, 1, 0, &req);
    // SecurityBufferLength (body offset 14) larger than what follows.
    msg[64 + 14..64 + 16].copy_from_slice(&1000u16.to_le_bytes());
    let mut conn = negotiated(&ctx);
    let a = one(&mut conn, &msg).unwrap();
    assert_eq!(a.header.status, NtStatus::INVALID_PARAMETER);
    // An offset pointing into the header is refused too.
    let mut msg = request(Command::SESSION_SETUP, 2, 0, &req);
    msg[64 + 12..64 + 14].copy_from_slice(&8u16.to_le_bytes());
    let a = one(&mut conn, &msg).unwrap();
    assert_eq!(a.header.status, NtStatus::INVALID_PARAMETER);
    // And the connection still answers.
    let a = one(&mut conn, &request(Command::ECHO, 3, 0, &EchoRequest)).unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS);
}

#[test]
fn negotiate_context_offset_past_the_end_is_refused() {
    let (_d, ctx) = setup();
    let mut msg = request(Command::NEGOTIATE, 0, 0, &negotiate_request());
    // NegotiateContextOffset is at body offset 28.
    msg[64 + 28..64 + 32].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let mut conn = Connection::new(ctx, peer());
    match exchange(&mut conn, &msg) {
        Err(_) => {}
        Ok(answers) => assert!(answers.iter().all(|a| a.header.status.is_error())),
    }
    assert_eq!(conn.dialect(), None);
}

#[test]
fn requests_before_negotiate_close_the_connection() {
    let (_d, ctx) = setup();
    for command in [
        Command::SESSION_SETUP,
        Command::TREE_CONNECT,
        Command::CREATE,
        Command::READ,
        Command::ECHO,
        Command(0x0042),
    ] {
        let mut conn = Connection::new(ctx.clone(), peer());
        let msg = request(command, 0, 0, &EchoRequest);
        assert!(
            exchange(&mut conn, &msg).is_err(),
            "{command:?} before NEGOTIATE must disconnect"
        );
    }
}

#[test]
fn a_second_negotiate_closes_the_connection() {
    let (_d, ctx) = setup();
    let mut conn = negotiated(&ctx);
    assert!(
        exchange(
            &mut conn,
            &request(Command::NEGOTIATE, 1, 0, &negotiate_request())
        )
        .is_err()
    );
}

#[test]
fn requests_without_a_session_get_user_session_deleted() {
    let (_d, ctx) = setup();
    let mut conn = negotiated(&ctx);
    let tc = TreeConnectRequest {
        path: "\\\\srv\\data".into(),
        ..TreeConnectRequest::default()
    };
    let a = one(&mut conn, &request(Command::TREE_CONNECT, 1, 0, &tc)).unwrap();
    assert_eq!(a.header.status, NtStatus::USER_SESSION_DELETED);
    let a = one(
        &mut conn,
        &request(Command::TREE_CONNECT, 2, 0x1234_5678, &tc),
    )
    .unwrap();
    assert_eq!(
        a.header.status,
        NtStatus::USER_SESSION_DELETED,
        "an unknown SessionId"
    );
    let a = one(
        &mut conn,
        &request(Command::CREATE, 3, 0x1234_5678, &EchoRequest),
    )
    .unwrap();
    assert_eq!(a.header.status, NtStatus::USER_SESSION_DELETED);
}

#[test]
fn unknown_commands_get_an_error_and_the_connection_lives_on() {
    let (_d, ctx) = setup();
    let mut conn = negotiated(&ctx);
    for (i, command) in [0x0013u16, 0x00FF, 0xFFFF].into_iter().enumerate() {
        let a = one(
            &mut conn,
            &request(Command(command), 1 + i as u64, 0, &EchoRequest),
        )
        .unwrap();
        assert!(a.header.status.is_error(), "command {command:#x}");
    }
    let a = one(&mut conn, &request(Command::ECHO, 4, 0, &EchoRequest)).unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS);
}

#[test]
fn message_ids_outside_the_credit_window_close_the_connection() {
    let (_d, ctx) = setup();
    let mut conn = negotiated(&ctx);
    assert!(
        exchange(
            &mut conn,
            &request(Command::ECHO, 1_000_000, 0, &EchoRequest)
        )
        .is_err()
    );
    let mut conn = negotiated(&ctx);
    let echo = request(Command::ECHO, 1, 0, &EchoRequest);
    one(&mut conn, &echo).unwrap();
    assert!(
        exchange(&mut conn, &echo).is_err(),
        "a MessageId is used once"
    );
}

#[test]
fn compound_chains_that_loop_misalign_or_overrun_close_the_connection() {
    let (_d, ctx) = setup();
    let echo = request(Command::ECHO, 1, 0, &EchoRequest);
    for next in [
        0u32.wrapping_sub(8),
        4,
        65,
        0x1000_0000,
        echo.len() as u32 + 8,
    ] {
        let mut conn = negotiated(&ctx);
        let mut frame = echo.clone();
        frame.resize(72, 0);
        frame[20..24].copy_from_slice(&next.to_le_bytes());
        assert!(
            exchange(&mut conn, &frame).is_err(),
            "NextCommand {next:#x}"
        );
    }
    // NextCommand 0 marks the last member: trailing bytes belong to it, which is valid.
    let mut conn = negotiated(&ctx);
    let mut frame = echo.clone();
    frame.resize(72, 0);
    assert!(exchange(&mut conn, &frame).is_ok());
}

#[test]
fn a_response_sent_by_a_client_closes_the_connection() {
    let (_d, ctx) = setup();
    let mut conn = negotiated(&ctx);
    let mut msg = request(Command::ECHO, 1, 0, &EchoRequest);
    msg[16] |= 1; // SMB2_FLAGS_SERVER_TO_REDIR
    assert!(exchange(&mut conn, &msg).is_err());
}

#[test]
fn garbage_frames_never_panic() {
    let (_d, ctx) = setup();
    // A deterministic xorshift stream of frames, some starting with real protocol ids.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let valid = request(Command::NEGOTIATE, 0, 0, &negotiate_request());
    for i in 0..3000 {
        let mut conn = negotiated(&ctx);
        let len = (next() % 300) as usize;
        let mut frame: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        match i % 4 {
            0 if frame.len() >= 4 => frame[..4].copy_from_slice(&[0xFE, b'S', b'M', b'B']),
            1 if frame.len() >= 4 => frame[..4].copy_from_slice(&[0xFF, b'S', b'M', b'B']),
            2 => {
                // A valid message with a few bytes flipped.
                frame = valid.clone();
                for _ in 0..4 {
                    let at = (next() as usize) % frame.len();
                    frame[at] = next() as u8;
                }
            }
            _ => {}
        }
        let _ = exchange(&mut conn, &frame);
    }
}

#[test]
fn frame_headers_over_the_limit_or_of_the_wrong_type_are_refused() {
    assert_eq!(
        parse_header([0, 0xFF, 0xFF, 0xFF], 8 << 20),
        Err(FrameError::TooLong {
            len: 0xFF_FFFF,
            limit: 8 << 20
        })
    );
    assert!(matches!(
        parse_header([0x81, 0, 0, 1], 8 << 20),
        Err(FrameError::BadType(0x81))
    ));
    assert_eq!(parse_header([0, 0, 0, 0], 8 << 20), Err(FrameError::Empty));
}
