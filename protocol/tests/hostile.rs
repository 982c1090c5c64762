//! Hostile structure: truncation at every length, offsets and lengths pointing outside the
//! message, create-context and compound chains that loop or run past the end, and random
//! bodies behind a valid header. Nothing may panic; structural errors must be reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::borrow::Cow;

use common::{load_vectors, request_bytes};
use proptest::prelude::*;
use rsmbd_protocol::codec::{DecodeError, Message};
use rsmbd_protocol::compound::split_compound;
use rsmbd_protocol::create_context::decode_create_contexts;
use rsmbd_protocol::messages::*;
use rsmbd_protocol::negotiate_context::{Dialect, NegotiateContext};
use rsmbd_protocol::{Command, CreateContext, FileId, NtStatus};

fn b(v: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(v)
}

/// One valid, non-trivial instance of every request.
fn sample_requests() -> Vec<Request<'static>> {
    let fid = FileId::new(1, 2);
    vec![
        Request::Negotiate(NegotiateRequest {
            security_mode: 1,
            capabilities: 0x7F,
            client_guid: [1; 16],
            dialects: vec![Dialect::SMB3_0, Dialect::SMB3_1_1],
            negotiate_contexts: vec![
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms: vec![1],
                    salt: vec![2; 32],
                },
                NegotiateContext::Encryption {
                    ciphers: vec![1, 2],
                },
            ],
        }),
        Request::SessionSetup(SessionSetupRequest {
            security_buffer: Cow::Owned(vec![0x60; 40]),
            ..SessionSetupRequest::default()
        }),
        Request::Logoff(LogoffRequest),
        Request::TreeConnect(TreeConnectRequest {
            flags: TreeConnectFlags::EXTENSION_PRESENT,
            path: "\\\\srv\\share".into(),
            tree_connect_contexts: vec![TreeConnectContext {
                context_type: 1,
                data: vec![3; 9],
            }],
        }),
        Request::TreeDisconnect(TreeDisconnectRequest),
        Request::Create(CreateRequest {
            name: Cow::Owned(vec![b'a', 0, b'b', 0]),
            create_contexts: vec![
                CreateContext::new(b"MxAc", vec![]),
                CreateContext::new(b"DH2Q", vec![7; 32]),
            ],
            ..CreateRequest::default()
        }),
        Request::Close(CloseRequest {
            flags: 1,
            file_id: fid,
        }),
        Request::Flush(FlushRequest { file_id: fid }),
        Request::Read(ReadRequest {
            length: 100,
            file_id: fid,
            ..ReadRequest::default()
        }),
        Request::Write(WriteRequest {
            data: Cow::Owned(vec![9; 33]),
            file_id: fid,
            ..WriteRequest::default()
        }),
        Request::Lock(LockRequest {
            lock_sequence: 0,
            file_id: fid,
            locks: vec![
                LockElement {
                    offset: 1,
                    length: 2,
                    flags: 2
                };
                3
            ],
        }),
        Request::Ioctl(IoctlRequest {
            ctl_code: FsctlCode::PIPE_TRANSCEIVE.0,
            input: Cow::Owned(vec![5; 20]),
            output: Cow::Owned(vec![6; 4]),
            ..IoctlRequest::default()
        }),
        Request::Cancel(CancelRequest),
        Request::Echo(EchoRequest),
        Request::QueryDirectory(QueryDirectoryRequest {
            file_name: Cow::Owned(vec![b'*', 0]),
            output_buffer_length: 1000,
            ..QueryDirectoryRequest::default()
        }),
        Request::ChangeNotify(ChangeNotifyRequest {
            file_id: fid,
            ..ChangeNotifyRequest::default()
        }),
        Request::QueryInfo(QueryInfoRequest {
            input: Cow::Owned(vec![1; 8]),
            ..QueryInfoRequest::default()
        }),
        Request::SetInfo(SetInfoRequest {
            buffer: Cow::Owned(vec![1; 40]),
            ..SetInfoRequest::default()
        }),
        Request::OplockBreak(OplockBreakRequest::Lease(
            LeaseBreakAcknowledgment::default(),
        )),
        Request::OplockBreak(OplockBreakRequest::Oplock(OplockBreakAcknowledgment {
            oplock_level: 1,
            file_id: fid,
        })),
    ]
}

#[test]
fn every_request_truncated_at_every_length() {
    for req in sample_requests() {
        let bytes = request_bytes(&req);
        assert_eq!(
            Request::decode(req.command(), Message::new(&bytes)).as_ref(),
            Ok(&req)
        );
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            match Request::decode(req.command(), Message::new(cut)) {
                // A prefix may still be a valid message if only the trailing padding byte of
                // an odd StructureSize was cut; it must then decode to the same value.
                Ok(v) => assert_eq!(
                    v,
                    req,
                    "{:?} cut at {len} decoded to something else",
                    req.command()
                ),
                Err(DecodeError::Truncated { .. } | DecodeError::OutOfBounds { .. }) => {}
                Err(e) => panic!("{:?} cut at {len}: unexpected {e:?}", req.command()),
            }
        }
        // The fixed part alone, cut by one byte, is always an error.
        assert!(Request::decode(req.command(), Message::new(&bytes[..64 + 1])).is_err());
    }
}

#[test]
fn windows_captures_truncated_at_every_length() {
    let v = load_vectors("ms_blog_smb311_encryption_gcm.txt");
    for (name, bytes) in &v {
        let Ok(h) = rsmbd_protocol::Header::decode(bytes) else {
            continue;
        };
        for len in 0..bytes.len() {
            let m = Message::new(&bytes[..len]);
            if name.contains("request") {
                let _ = Request::decode(h.command, m);
            } else {
                let _ = Response::decode(h.command, h.status, m);
            }
        }
    }
}

/// Patches a little-endian u16 or u32 at `at` (from the header start).
fn patch(bytes: &mut [u8], at: usize, v: u32, width: usize) {
    bytes[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
}

#[test]
fn offsets_and_lengths_past_the_end_are_out_of_bounds() {
    // (request, field offset in the body, field width, what we set it to)
    let cases: Vec<(Request<'static>, usize, usize, u32)> = vec![
        // SESSION_SETUP SecurityBufferLength
        (sample_requests()[1].clone(), 14, 2, 0xFFFF),
        // SESSION_SETUP SecurityBufferOffset
        (sample_requests()[1].clone(), 12, 2, 0xFFF0),
        // TREE_CONNECT PathLength
        (
            Request::TreeConnect(TreeConnectRequest {
                flags: 0,
                path: "\\\\a\\b".into(),
                tree_connect_contexts: vec![],
            }),
            6,
            2,
            0x1000,
        ),
        // CREATE NameLength
        (sample_requests()[5].clone(), 46, 2, 0x2000),
        // CREATE CreateContextsLength
        (sample_requests()[5].clone(), 52, 4, 0x10_0000),
        // CREATE CreateContextsOffset
        (sample_requests()[5].clone(), 48, 4, u32::MAX - 2),
        // READ ReadChannelInfo offset+length
        (
            Request::Read(ReadRequest {
                read_channel_info: Cow::Owned(vec![1; 8]),
                ..ReadRequest::default()
            }),
            46,
            2,
            0x400,
        ),
        // WRITE Length
        (sample_requests()[9].clone(), 4, 4, 0x10_0000),
        // WRITE DataOffset
        (sample_requests()[9].clone(), 2, 2, 0xFFFF),
        // IOCTL InputCount
        (sample_requests()[11].clone(), 28, 4, u32::MAX),
        // IOCTL OutputOffset
        (sample_requests()[11].clone(), 36, 4, 0x8000_0000),
        // QUERY_DIRECTORY FileNameLength
        (sample_requests()[14].clone(), 26, 2, 0x800),
        // QUERY_INFO InputBufferLength
        (sample_requests()[16].clone(), 12, 4, 0x7FFF_FFFF),
        // SET_INFO BufferLength
        (sample_requests()[17].clone(), 4, 4, 41),
        // NEGOTIATE NegotiateContextOffset
        (sample_requests()[0].clone(), 28, 4, 0x1_0000),
    ];
    for (req, at, width, value) in cases {
        let mut bytes = request_bytes(&req);
        patch(&mut bytes, 64 + at, value, width);
        let got = Request::decode(req.command(), Message::new(&bytes));
        assert!(
            matches!(
                got,
                Err(DecodeError::OutOfBounds { .. } | DecodeError::Truncated { .. })
            ),
            "{:?} field at {at} = {value:#x}: {got:?}",
            req.command()
        );
    }
    // An offset pointing back into the header is refused too.
    let mut bytes = request_bytes(&sample_requests()[9]);
    patch(&mut bytes, 64 + 2, 0x10, 2);
    assert!(matches!(
        Request::decode(Command::WRITE, Message::new(&bytes)),
        Err(DecodeError::OutOfBounds { what: "DataOffset" })
    ));
}

#[test]
fn bad_structure_size_is_reported() {
    for req in sample_requests() {
        let mut bytes = request_bytes(&req);
        bytes[64] ^= 0x40;
        assert!(
            matches!(
                Request::decode(req.command(), Message::new(&bytes)),
                Err(DecodeError::BadStructureSize { .. })
            ),
            "{:?}",
            req.command()
        );
    }
}

#[test]
fn create_context_chains_that_loop_or_escape() {
    let mut w = rsmbd_protocol::Writer::new();
    rsmbd_protocol::create_context::encode_create_contexts(
        &mut w,
        &[
            CreateContext::new(b"MxAc", vec![]),
            CreateContext::new(b"QFid", vec![1; 3]),
        ],
    );
    let good = w.as_slice().to_vec();
    assert_eq!(decode_create_contexts(&good).unwrap().len(), 2);
    // Next pointing at itself (0 is "last", so a loop needs Next < 16).
    for next in [8u32, 4, 1, 12] {
        let mut bad = good.clone();
        bad[..4].copy_from_slice(&next.to_le_bytes());
        assert!(decode_create_contexts(&bad).is_err(), "Next={next}");
    }
    // Next past the end, or misaligned.
    for next in [good.len() as u32 + 8, 0xFFFF_FFF8, 17] {
        let mut bad = good.clone();
        bad[..4].copy_from_slice(&next.to_le_bytes());
        assert!(decode_create_contexts(&bad).is_err(), "Next={next}");
    }
    // Name or data outside the context.
    let mut bad = good.clone();
    bad[6..8].copy_from_slice(&200u16.to_le_bytes());
    assert!(matches!(
        decode_create_contexts(&bad),
        Err(DecodeError::OutOfBounds { .. })
    ));
    let mut bad = good.clone();
    bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode_create_contexts(&bad),
        Err(DecodeError::OutOfBounds { .. })
    ));
}

/// A compound of `n` ECHO requests, each padded to 8 with NextCommand set.
fn echo_compound(n: usize) -> Vec<u8> {
    let mut cw = rsmbd_protocol::CompoundWriter::new();
    for _ in 0..n {
        let w = cw.begin_member();
        common::request_header(Command::ECHO).encode(w);
        rsmbd_protocol::Encode::encode(&EchoRequest, w);
    }
    cw.finish().0.to_vec()
}

#[test]
fn compound_next_command_loops_misaligned_or_past_the_end() {
    let good = echo_compound(3);
    let members: Vec<_> = split_compound(&good).collect();
    assert_eq!(members.len(), 3);
    assert!(members.iter().all(Result::is_ok));
    let second = 72usize; // 64 + 4 padded to 8 = 72

    let cases: [(usize, u32); 6] = [
        (0, 0),                // sanity: a 0 NextCommand makes the first member run to the end
        (second, 0x7FFF_FFF8), // past the end
        (second, 4),           // backwards / inside its own header (loop)
        (0, 70),               // misaligned
        (0, 8),                // smaller than a header
        (0, 200),              // aligned but not enough room for a member after it
    ];
    for (member_at, next) in cases {
        let mut bad = good.clone();
        bad[member_at + 20..member_at + 24].copy_from_slice(&next.to_le_bytes());
        let got: Vec<_> = split_compound(&bad).collect();
        if next == 0 {
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].as_ref().unwrap().len(), bad.len());
            continue;
        }
        assert!(
            got.iter().any(Result::is_err),
            "NextCommand {next} at {member_at}: {got:?}"
        );
        assert!(got.len() <= 3, "the walk terminates");
    }
    // A frame shorter than a header.
    let got: Vec<_> = split_compound(&good[..40]).collect();
    assert!(matches!(
        got.as_slice(),
        [Err(DecodeError::Truncated { .. })]
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random bodies behind a valid header never panic, for every command, request and
    /// response side, under success and error statuses.
    #[test]
    fn random_bodies_never_panic(cmd in 0u16..0x14, body in proptest::collection::vec(any::<u8>(), 0..300), status in prop_oneof![Just(0u32), Just(0xC000_0016), Just(0x8000_0005), Just(0xC000_0022)]) {
        let mut bytes = request_bytes(&Request::Echo(EchoRequest));
        bytes.truncate(64);
        bytes.extend_from_slice(&body);
        let _ = Request::decode(Command(cmd), Message::new(&bytes));
        let _ = Response::decode(Command(cmd), NtStatus(status), Message::new(&bytes));
    }

    /// Random frames never make the compound walk panic or loop.
    #[test]
    fn random_compound_frames_terminate(frame in proptest::collection::vec(any::<u8>(), 0..600)) {
        let n = split_compound(&frame).take(100).count();
        prop_assert!(n <= frame.len() / 64 + 1);
    }

    /// Random bytes in a body with a valid StructureSize never panic.
    #[test]
    fn random_bodies_with_valid_structure_size(idx in 0usize..19, tail in proptest::collection::vec(any::<u8>(), 0..200)) {
        let req = &sample_requests()[idx];
        let mut bytes = request_bytes(req);
        bytes.truncate(66);
        bytes.extend_from_slice(&tail);
        let _ = Request::decode(req.command(), Message::new(&bytes));
    }
}

#[test]
fn negotiate_context_with_counts_larger_than_data_is_an_error() {
    // PreauthIntegrity claiming 100 hash algorithms in 4 bytes of data.
    assert!(NegotiateContext::from_data(1, &[100, 0, 0, 0]).is_err());
    assert!(NegotiateContext::from_data(2, &[0xFF, 0xFF, 1, 0]).is_err());
    // Unknown types are kept whatever they hold.
    assert_eq!(
        NegotiateContext::from_data(0x99, &[1, 2]).unwrap(),
        NegotiateContext::Unknown {
            context_type: 0x99,
            data: vec![1, 2]
        }
    );
    let _ = b(&[]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Valid requests with random bytes overwritten never panic, and whatever still decodes
    /// re-encodes to something that decodes to the same value (decoder and encoder agree even
    /// on odd inputs).
    #[test]
    fn mutated_requests_decode_consistently(
        idx in 0usize..20,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let req = &sample_requests()[idx];
        let mut bytes = request_bytes(req);
        let body_len = bytes.len() - 64;
        for (at, v) in edits {
            bytes[64 + at % body_len] = v;
        }
        if let Ok(v) = Request::decode(req.command(), Message::new(&bytes)) {
            let again = request_bytes(&v);
            let back = Request::decode(req.command(), Message::new(&again));
            prop_assert_eq!(back, Ok(v));
        }
    }
}

/// One valid instance of every response body, with the status it is sent under.
fn sample_responses() -> Vec<(Command, NtStatus, Response<'static>)> {
    let fid = FileId::new(1, 2);
    vec![
        (
            Command::NEGOTIATE,
            NtStatus::SUCCESS,
            Response::Negotiate(NegotiateResponse {
                dialect_revision: Dialect::SMB3_1_1,
                security_buffer: Cow::Owned(vec![0x60; 30]),
                negotiate_contexts: vec![NegotiateContext::Encryption { ciphers: vec![2] }],
                ..NegotiateResponse::default()
            }),
        ),
        (
            Command::SESSION_SETUP,
            NtStatus::MORE_PROCESSING_REQUIRED,
            Response::SessionSetup(SessionSetupResponse {
                session_flags: 0,
                security_buffer: Cow::Owned(vec![0xA1; 20]),
            }),
        ),
        (
            Command::TREE_CONNECT,
            NtStatus::SUCCESS,
            Response::TreeConnect(TreeConnectResponse::default()),
        ),
        (
            Command::CREATE,
            NtStatus::SUCCESS,
            Response::Create(CreateResponse {
                file_id: fid,
                create_contexts: vec![CreateContext::new(b"MxAc", vec![0; 8])],
                ..CreateResponse::default()
            }),
        ),
        (
            Command::CLOSE,
            NtStatus::SUCCESS,
            Response::Close(CloseResponse::default()),
        ),
        (
            Command::READ,
            NtStatus::SUCCESS,
            Response::Read(ReadResponse {
                data_remaining: 0,
                data: Cow::Owned(vec![1; 30]),
            }),
        ),
        (
            Command::WRITE,
            NtStatus::SUCCESS,
            Response::Write(WriteResponse {
                count: 3,
                remaining: 0,
            }),
        ),
        (
            Command::IOCTL,
            NtStatus::SUCCESS,
            Response::Ioctl(IoctlResponse {
                output: Cow::Owned(vec![2; 24]),
                ..IoctlResponse::default()
            }),
        ),
        (
            Command::QUERY_DIRECTORY,
            NtStatus::SUCCESS,
            Response::QueryDirectory(QueryDirectoryResponse {
                buffer: Cow::Owned(vec![3; 50]),
            }),
        ),
        (
            Command::CHANGE_NOTIFY,
            NtStatus::SUCCESS,
            Response::ChangeNotify(ChangeNotifyResponse {
                buffer: Cow::Owned(vec![4; 16]),
            }),
        ),
        (
            Command::QUERY_INFO,
            NtStatus::SUCCESS,
            Response::QueryInfo(QueryInfoResponse {
                buffer: Cow::Owned(vec![5; 40]),
            }),
        ),
        (
            Command::OPLOCK_BREAK,
            NtStatus::SUCCESS,
            Response::OplockBreak(OplockBreakResponse::LeaseNotification(
                LeaseBreakNotification::default(),
            )),
        ),
        (
            Command::CREATE,
            NtStatus::ACCESS_DENIED,
            Response::Error(ErrorResponse {
                error_context_count: 0,
                error_data: Cow::Owned(vec![6; 12]),
            }),
        ),
    ]
}

#[test]
fn every_response_truncated_at_every_length() {
    for (cmd, status, resp) in sample_responses() {
        let bytes = common::response_bytes(cmd, status, &resp);
        assert_eq!(
            Response::decode(cmd, status, Message::new(&bytes)).as_ref(),
            Ok(&resp)
        );
        for len in 0..bytes.len() {
            match Response::decode(cmd, status, Message::new(&bytes[..len])) {
                Ok(v) => assert_eq!(v, resp, "{cmd:?} cut at {len}"),
                Err(DecodeError::Truncated { .. } | DecodeError::OutOfBounds { .. }) => {}
                Err(e) => panic!("{cmd:?} cut at {len}: unexpected {e:?}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The same mutation property for responses (what the test client decodes).
    #[test]
    fn mutated_responses_decode_consistently(
        idx in 0usize..13,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let (cmd, status, resp) = &sample_responses()[idx];
        let mut bytes = common::response_bytes(*cmd, *status, resp);
        let body_len = bytes.len() - 64;
        for (at, v) in edits {
            bytes[64 + at % body_len] = v;
        }
        if let Ok(v) = Response::decode(*cmd, *status, Message::new(&bytes)) {
            let again = common::response_bytes(*cmd, *status, &v);
            let back = Response::decode(*cmd, *status, Message::new(&again));
            prop_assert_eq!(back, Ok(v));
        }
    }
}
