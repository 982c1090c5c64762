//! Replays every seed and regression input under `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` through the oracles of `rsmbd_tests::fuzzing` (the same
//! functions the cargo-fuzz targets call), so CI re-checks them on stable without cargo-fuzz.
//! `write_seed_corpus` (ignored) regenerates the `seed-*` files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use rsmbd::engine::Connection;
use rsmbd_protocol::create_context::{CreateContext, encode_create_contexts};
use rsmbd_protocol::messages::close::CloseRequest;
use rsmbd_protocol::messages::create::CreateRequest;
use rsmbd_protocol::messages::echo::EchoRequest;
use rsmbd_protocol::messages::negotiate::NegotiateContext;
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::negotiate_context::encode_negotiate_contexts;
use rsmbd_protocol::{Command, FileId, NtStatus, TransformHeader, Writer};
use rsmbd_tests::fuzzing::{self, STATUSES, TARGETS};
use rsmbd_tests::kdc::HOST;
use rsmbd_tests::*;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.is_file());
    out.sort();
    out
}

fn replay(kind: &str) -> usize {
    let mut n = 0;
    for (target, oracle) in TARGETS {
        for f in files(&fuzz_dir().join(kind).join(target)) {
            let data = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| oracle(&data));
            assert!(r.is_ok(), "{target}: {} fails its oracle", f.display());
            n += 1;
        }
    }
    n
}

#[test]
fn every_seed_corpus_input_passes_its_oracle() {
    let n = replay("corpus");
    // Each target has seeds; an empty walk would mean the path is wrong.
    assert!(n >= TARGETS.len(), "only {n} corpus files found");
}

#[test]
fn every_regression_input_passes_its_oracle() {
    replay("regressions");
}

#[test]
fn corpus_stays_small() {
    let mut total = 0u64;
    for kind in ["corpus", "regressions"] {
        for (target, _) in TARGETS {
            for f in files(&fuzz_dir().join(kind).join(target)) {
                total += std::fs::metadata(f).unwrap().len();
            }
        }
    }
    assert!(total < 2 * 1024 * 1024, "corpus is {total} bytes");
}

#[test]
fn oracles_accept_empty_and_short_inputs() {
    for (_, oracle) in TARGETS {
        for len in 0..4 {
            oracle(&vec![0u8; len]);
            oracle(&vec![0xFFu8; len]);
        }
    }
}

/// The engine seeds reach the states they were written for, so the fuzzer starts from
/// logged-on file, directory and pipe I/O rather than from the front door.
#[test]
fn engine_seeds_reach_post_logon_states() {
    let ok = NtStatus::SUCCESS;
    let seed = |name: &str| std::fs::read(fuzz_dir().join("corpus/engine").join(name)).unwrap();
    let trace = fuzzing::engine_trace(&seed("seed-file-io"));
    let commands: Vec<Command> = trace.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        commands,
        [
            Command::TREE_CONNECT,
            Command::CREATE,
            Command::WRITE,
            Command::READ,
            Command::QUERY_INFO,
            Command::CLOSE
        ]
    );
    assert!(trace.iter().all(|(_, s)| *s == ok), "{trace:?}");

    let trace = fuzzing::engine_trace(&seed("seed-directory"));
    assert_eq!(
        trace.get(2),
        Some(&(Command::QUERY_DIRECTORY, ok)),
        "{trace:?}"
    );
    assert_eq!(
        trace.get(3),
        Some(&(Command::QUERY_DIRECTORY, NtStatus::NO_MORE_FILES)),
        "{trace:?}"
    );

    let trace = fuzzing::engine_trace(&seed("seed-rename-escape"));
    assert_eq!(trace.get(1), Some(&(Command::CREATE, ok)), "{trace:?}");
    let rename = trace.get(2).unwrap();
    assert_eq!(rename.0, Command::SET_INFO);
    assert_ne!(rename.1, ok, "a rename out of the share is refused");

    let trace = fuzzing::engine_trace(&seed("seed-ipc"));
    assert_eq!(
        trace.get(1),
        Some(&(Command::TREE_CONNECT, ok)),
        "{trace:?}"
    );
    assert_eq!(
        trace.get(2),
        Some(&(Command::CREATE, ok)),
        "srvsvc opens: {trace:?}"
    );
}

// ------------------------------------------------------------------ seed generation

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = fuzz_dir().join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
}

fn status_index(s: NtStatus) -> u8 {
    STATUSES.iter().position(|x| *x == s).unwrap_or(0) as u8
}

fn chunk(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u16).to_le_bytes());
    out.extend_from_slice(b);
}

fn smb2_seeds() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    let mut conn = Connection::new(ctx, peer());
    let token = fuzzing::minted_token();
    let reqs: Vec<(&str, Command, Vec<u8>)> = vec![
        (
            "negotiate",
            Command::NEGOTIATE,
            request(Command::NEGOTIATE, 0, 0, &negotiate_request()),
        ),
        (
            "session_setup",
            Command::SESSION_SETUP,
            request(
                Command::SESSION_SETUP,
                1,
                0,
                &SessionSetupRequest {
                    security_mode: 1,
                    security_buffer: token.into(),
                    ..Default::default()
                },
            ),
        ),
        (
            "tree_connect",
            Command::TREE_CONNECT,
            request(
                Command::TREE_CONNECT,
                2,
                0,
                &TreeConnectRequest {
                    path: format!("\\\\{HOST}\\data"),
                    ..Default::default()
                },
            ),
        ),
        (
            "create",
            Command::CREATE,
            request(
                Command::CREATE,
                3,
                0,
                &CreateRequest {
                    impersonation_level: 2,
                    desired_access: 0x0012_019F,
                    share_access: 7,
                    create_disposition: 5,
                    name: rsmbd_protocol::codec::string_to_utf16le("a\\b.txt").into(),
                    create_contexts: vec![
                        CreateContext::new(b"MxAc", Vec::new()),
                        CreateContext::new(b"QFid", Vec::new()),
                    ],
                    ..Default::default()
                },
            ),
        ),
        (
            "write",
            Command::WRITE,
            request(
                Command::WRITE,
                4,
                0,
                &WriteRequest {
                    file_id: FileId {
                        persistent: 1,
                        volatile: 2,
                    },
                    data: b"hello".to_vec().into(),
                    ..Default::default()
                },
            ),
        ),
        (
            "read",
            Command::READ,
            request(
                Command::READ,
                5,
                0,
                &ReadRequest {
                    length: 100,
                    ..Default::default()
                },
            ),
        ),
        (
            "close",
            Command::CLOSE,
            request(Command::CLOSE, 6, 0, &CloseRequest::default()),
        ),
        (
            "echo",
            Command::ECHO,
            request(Command::ECHO, 7, 0, &EchoRequest),
        ),
    ];
    for (name, command, msg) in &reqs {
        let mut seed = vec![command.0 as u8, 0];
        seed.extend_from_slice(msg);
        write("smb2_decode", &format!("req-{name}"), &seed);
        // The engine's answers (negotiate response, logon failure errors, ...) seed the
        // response decoders.
        if let Ok(answers) = exchange(&mut conn, msg) {
            for a in answers {
                let mut seed = vec![a.header.command.0 as u8, status_index(a.header.status)];
                seed.extend_from_slice(&a.raw);
                write("smb2_decode", &format!("resp-{name}"), &seed);
            }
        }
    }
    // A 2-member compound for the splitter.
    let mut w = Writer::new();
    w.bytes(&reqs[2].2);
    rsmbd_protocol::pad_to_8(&mut w);
    w.start_message();
    w.bytes(&reqs[7].2);
    w.as_slice().to_vec()
}

fn dcerpc_pdu(ptype: u8, call_id: u32, body: &[u8]) -> Vec<u8> {
    let mut v = vec![5, 0, ptype, 3, 0x10, 0, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(&call_id.to_le_bytes());
    v.extend_from_slice(body);
    let n = v.len() as u16;
    v[8..10].copy_from_slice(&n.to_le_bytes());
    v
}

fn dcerpc_seed(abstract_uuid: [u8; 16], major: u32, opnum: u16, stub: &[u8]) -> Vec<u8> {
    const NDR: [u8; 16] = [
        0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48,
        0x60,
    ];
    // C706 12.6.4.3 bind: max frags 4280, new group, one context (id 0, NDR 2.0).
    let mut bind = Vec::new();
    bind.extend_from_slice(&4280u16.to_le_bytes());
    bind.extend_from_slice(&4280u16.to_le_bytes());
    bind.extend_from_slice(&0u32.to_le_bytes());
    bind.extend_from_slice(&[1, 0, 0, 0, 0, 0, 1, 0]);
    bind.extend_from_slice(&abstract_uuid);
    bind.extend_from_slice(&major.to_le_bytes());
    bind.extend_from_slice(&NDR);
    bind.extend_from_slice(&2u32.to_le_bytes());
    let bind = dcerpc_pdu(11, 1, &bind);
    // C706 12.6.4.9 request: alloc hint, context 0, opnum, stub.
    let mut req = (stub.len() as u32).to_le_bytes().to_vec();
    req.extend_from_slice(&0u16.to_le_bytes());
    req.extend_from_slice(&opnum.to_le_bytes());
    req.extend_from_slice(stub);
    let req = dcerpc_pdu(0, 2, &req);
    let mut seed = vec![u8::from(major == 1)]; // 0 = srvsvc, 1 = wkssvc
    seed.push(2);
    chunk(&mut seed, &bind);
    seed.extend_from_slice(&4280u16.to_le_bytes());
    seed.push(0);
    chunk(&mut seed, &req);
    seed.push(1);
    seed.extend_from_slice(&4280u16.to_le_bytes());
    seed
}

/// NDR `[in]` of NetrShareEnum level 1 / NetrWkstaGetInfo level 100 (unique server name).
fn ndr_level_stub(server: &str, level: u32, container: bool) -> Vec<u8> {
    let mut v = 0x0002_0000u32.to_le_bytes().to_vec();
    let units: Vec<u16> = server.encode_utf16().chain([0]).collect();
    let n = units.len() as u32;
    for x in [n, 0, n] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    for u in units {
        v.extend_from_slice(&u.to_le_bytes());
    }
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
    v.extend_from_slice(&level.to_le_bytes());
    if container {
        for x in [level, 0x0002_0004, 0, 0, 0xffff_ffff, 0x0002_0008, 0] {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }
    v
}

/// Engine seeds in the layout `fuzzing::engine` reads: per frame, an op byte (>= 8: built
/// frame), member count byte (0: one), raw byte (>= 16: built), command selector, fields, then
/// credit charge and tree choice.
fn engine_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let tc_data = [0x10, 0, 0x10, 0, 0, 1, 0];
    let tc_ipc = [0x10, 0, 0x10, 0, 1, 1, 1];
    // CREATE: selector 1, oplock, access (pick 0), attrs (pick 0), disposition, options (pick),
    // name (byte < 224, then NAMES index), credit, tree.
    let create = |disp: u8, opts: u8, name: u8, tree: u8| {
        vec![0x10, 0, 0x10, 1, 0, 0, 0, disp, opts, 0, name, 1, tree]
    };
    let write = |file: u8| {
        let mut v = vec![0x10, 0, 0x10, 5, 0, 0, file];
        chunk(&mut v, b"hello fuzz");
        v.extend_from_slice(&[1, 0]);
        v
    };
    let read = |file: u8| vec![0x10, 0, 0x10, 4, 0, 1, 0, 0, file, 1, 0];
    let close = |file: u8| vec![0x10, 0, 0x10, 9, 0, file, 1, 0];
    // QUERY_DIRECTORY "*" class 37 (FileIdBothDirectoryInformation is index 4).
    let qdir = |file: u8| vec![0x10, 0, 0x10, 6, 0, 0, 4, 0, file, 0, 0x10, 1, 0];
    let qinfo = |file: u8| {
        let mut v = vec![0x10, 0, 0x10, 7, 1, 18, 0, 0x10];
        chunk(&mut v, b"");
        v.extend_from_slice(&[0, 0, 0, 0, file, 1, 0]);
        v
    };
    // SET_INFO rename (class pick index 1 = 10) to "..\escape.txt" (NAMES index 7).
    let rename = |file: u8| vec![0x10, 0, 0x10, 8, 1, 0, 7, 1, 0, 0, 0, 0, 0, file, 1, 0];
    let cat = |parts: &[&[u8]]| parts.concat();
    vec![
        (
            "file-io",
            cat(&[
                &tc_data,
                &create(5, 0, 1, 0),
                &write(0),
                &read(0),
                &qinfo(0),
                &close(0),
            ]),
        ),
        (
            "directory",
            cat(&[
                &tc_data,
                &create(1, 1, 0, 0),
                &qdir(0),
                &qdir(0),
                &create(2, 1, 2, 0),
            ]),
        ),
        (
            "rename-escape",
            cat(&[&tc_data, &create(5, 0, 1, 0), &rename(0), &close(0)]),
        ),
        (
            "ipc",
            cat(&[&tc_data, &tc_ipc, &create(1, 0, 5, 1), &write(0), &read(0)]),
        ),
    ]
}

/// Regenerates the `seed-*` files: `cargo test -p rsmbd-tests --test fuzz_corpus --
/// --ignored write_seed_corpus`.
#[test]
#[ignore = "writes fuzz/corpus; run by hand"]
fn write_seed_corpus() {
    let compound = smb2_seeds();
    write("compound_split", "two-members", &compound);

    let mut t = TransformHeader {
        signature: [0xAB; 16],
        nonce: [0x11; 16],
        original_message_size: 0x68,
        flags: 1,
        session_id: 0x0000_1000_0000_0041,
    }
    .to_bytes()
    .to_vec();
    t.extend_from_slice(&[0x55; 32]);
    write("transform_header", "gcm", &t);

    let mut w = Writer::new();
    w.start_message();
    w.zeros(64 + 36);
    let first = encode_negotiate_contexts(&mut w, &negotiate_request().negotiate_contexts);
    let mut ctx = vec![((first - 64) / 4) as u8, 3];
    ctx.extend_from_slice(&w.as_slice()[first as usize..]);
    write("negotiate_contexts", "311", &ctx);
    let _ = NegotiateContext::Encryption { ciphers: vec![1] };

    let mut w = Writer::new();
    encode_create_contexts(
        &mut w,
        &[
            CreateContext::new(b"MxAc", Vec::new()),
            CreateContext::new(b"QFid", Vec::new()),
            CreateContext::new(b"DH2Q", vec![0; 32]),
        ],
    );
    write("create_contexts", "mxac-qfid-dh2q", w.as_slice());

    let token = fuzzing::minted_token();
    let mut s = vec![0];
    chunk(&mut s, &token);
    write("spnego", "ap-req", &s);
    write("spnego", "minted-then-more", &[1, 0, 0]);
    write("spnego", "minted-edited", &[2, 2, 40, 0, 0, 200, 0, 0, 1]);
    let mut s = vec![0];
    chunk(&mut s, b"");
    chunk(&mut s, &rsmbd_auth::negotiate_hint());
    write("spnego", "empty-then-hint", &s);
    let mut s = vec![0];
    chunk(&mut s, b"NTLMSSP\0\x01\0\0\0");
    write("spnego", "ntlmssp", &s);
    write("ap_req", "minted", &fuzzing::ap_req_der(&token).unwrap());

    let kdc = rsmbd_tests::kdc::TestKdc::new();
    write("keytab", "aes256", &kdc.keytab_bytes());
    write("keytab", "empty", &EMPTY_KEYTAB);

    const SRVSVC: [u8; 16] = [
        0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1,
        0x88,
    ];
    const WKSSVC: [u8; 16] = [
        0x98, 0xd0, 0xff, 0x6b, 0x12, 0xa1, 0x10, 0x36, 0x98, 0x33, 0x46, 0xc3, 0xf8, 0x7e, 0x34,
        0x5a,
    ];
    write(
        "dcerpc",
        "srvsvc-share-enum",
        &dcerpc_seed(SRVSVC, 3, 15, &ndr_level_stub("\\\\FUZZ", 1, true)),
    );
    write(
        "dcerpc",
        "wkssvc-get-info",
        &dcerpc_seed(WKSSVC, 1, 0, &ndr_level_stub("\\\\FUZZ", 100, false)),
    );

    for (name, seed) in engine_seeds() {
        write("engine", name, &seed);
    }
}
