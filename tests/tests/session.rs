//! A whole logon driven with bytes, no socket and no KDC process: NEGOTIATE 3.1.1, SESSION_SETUP
//! with a Kerberos AP-REQ minted with the service key, the signed final response checked with
//! keys the client derives itself from the preauth hash, then signed TREE_CONNECT, CREATE,
//! WRITE, READ, CLOSE; a READ on an empty named pipe that goes async and is completed by a WRITE
//! or cancelled; and the signing rules (tampered and unsigned requests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use rsmbd::engine::Connection;
use rsmbd::engine::context::ServerContext;
use rsmbd_protocol::create_context::CreateContext;
use rsmbd_protocol::messages::cancel::CancelRequest;
use rsmbd_protocol::messages::close::CloseRequest;
use rsmbd_protocol::messages::create::CreateRequest;
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::{Command, Encode, FileId, HeaderFlags, NtStatus, Response, Writer};
use rsmbd_share::crypto::keys::KeyDialect;
use rsmbd_share::crypto::{PreauthHash, SessionKeys, SigningAlgorithm, signing};
use rsmbd_tests::kdc::{HOST, TestKdc};
use rsmbd_tests::*;

/// A logged-on client: the connection, its session id, keys and next MessageId.
struct Client {
    conn: Connection,
    session_id: u64,
    keys: SessionKeys,
    next_id: u64,
}

impl Client {
    /// Builds a signed request.
    fn signed(&mut self, command: Command, tree_id: u32, body: &impl Encode) -> Vec<u8> {
        let mut msg = self.unsigned(command, tree_id, body);
        msg[16] |= HeaderFlags::SIGNED as u8;
        signing::sign(
            self.keys.signing_algorithm,
            &self.keys.signing_key,
            &mut msg,
        );
        msg
    }

    fn unsigned(&mut self, command: Command, tree_id: u32, body: &impl Encode) -> Vec<u8> {
        let header = request_header(command, self.next_id, self.session_id, tree_id, 0);
        self.next_id += 1;
        message(&header, body)
    }

    /// Sends a signed request, expects one answer, and checks that answer's signature.
    fn call(&mut self, command: Command, tree_id: u32, body: &impl Encode) -> Answer {
        let msg = self.signed(command, tree_id, body);
        let a = one(&mut self.conn, &msg).unwrap();
        self.assert_signed(&a);
        a
    }

    fn assert_signed(&self, a: &Answer) {
        assert!(
            a.header.flags.has(HeaderFlags::SIGNED),
            "{:?} response is signed",
            a.header.command
        );
        let mut raw = a.raw.clone();
        assert!(
            signing::verify(
                self.keys.signing_algorithm,
                &self.keys.signing_key,
                &mut raw
            ),
            "signature verifies"
        );
    }
}

fn logon(ctx: &Arc<ServerContext>, kdc: &TestKdc) -> Client {
    let mut conn = Connection::new(ctx.clone(), peer());
    let mut preauth = PreauthHash::default();
    let negotiate = request(Command::NEGOTIATE, 0, 0, &negotiate_request());
    let a = one(&mut conn, &negotiate).unwrap();
    preauth.update(&negotiate);
    preauth.update(&a.raw);

    let (token, session_key) = kdc.spnego_ap_req("alice");
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: token.into(),
        ..Default::default()
    };
    let setup = request(Command::SESSION_SETUP, 1, 0, &setup);
    preauth.update(&setup);
    let a = one(&mut conn, &setup).unwrap();
    assert_eq!(
        a.header.status,
        NtStatus::SUCCESS,
        "Kerberos logon succeeds"
    );
    assert_ne!(a.header.session_id, 0);
    match a.body() {
        Response::SessionSetup(s) => assert!(!s.security_buffer.is_empty(), "an AP-REP goes back"),
        other => panic!("{other:?}"),
    }
    // The client offered AES-CMAC and HMAC-SHA256 signing; the server prefers CMAC of those.
    let keys = SessionKeys::derive(
        KeyDialect::Smb311,
        session_key.as_bytes(),
        Some(&preauth),
        SigningAlgorithm::AesCmac,
        16,
    );
    let client = Client {
        conn,
        session_id: a.header.session_id,
        keys,
        next_id: 2,
    };
    // MS-SMB2 3.2.5.3.1: the final 3.1.1 SESSION_SETUP response must be signed with the key
    // derived from the session's preauth hash; checking it proves both sides hashed the same.
    client.assert_signed(&a);
    client
}

fn tree_connect(c: &mut Client, share: &str) -> u32 {
    let tc = TreeConnectRequest {
        path: format!("\\\\{HOST}\\{share}"),
        ..Default::default()
    };
    let a = c.call(Command::TREE_CONNECT, 0, &tc);
    assert_eq!(
        a.header.status,
        NtStatus::SUCCESS,
        "tree connect to {share}"
    );
    a.header.tree_id()
}

fn create(c: &mut Client, tree: u32, name: &str, disposition: u32) -> FileId {
    let req = CreateRequest {
        impersonation_level: 2,
        desired_access: 0x0012_019F,
        share_access: 7,
        create_disposition: disposition,
        name: rsmbd_protocol::codec::string_to_utf16le(name).into(),
        create_contexts: Vec::<CreateContext<'_>>::new(),
        ..Default::default()
    };
    let a = c.call(Command::CREATE, tree, &req);
    assert_eq!(a.header.status, NtStatus::SUCCESS, "create {name}");
    match a.body() {
        Response::Create(r) => r.file_id,
        other => panic!("{other:?}"),
    }
}

fn setup() -> (tempfile::TempDir, Arc<ServerContext>, TestKdc) {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = context(dir.path(), &kdc.keytab_bytes());
    (dir, ctx, kdc)
}

#[test]
fn kerberos_logon_signed_file_round_trip() {
    let (dir, ctx, kdc) = setup();
    let mut c = logon(&ctx, &kdc);
    let tree = tree_connect(&mut c, "data");
    let file = create(&mut c, tree, "hello.txt", 5 /* OVERWRITE_IF */);
    let write = WriteRequest {
        offset: 0,
        file_id: file,
        data: b"hello, kerberos".to_vec().into(),
        ..Default::default()
    };
    assert_eq!(
        c.call(Command::WRITE, tree, &write).header.status,
        NtStatus::SUCCESS
    );
    let read = ReadRequest {
        length: 1024,
        offset: 0,
        file_id: file,
        ..Default::default()
    };
    let a = c.call(Command::READ, tree, &read);
    match a.body() {
        Response::Read(r) => assert_eq!(&r.data[..], b"hello, kerberos"),
        other => panic!("{other:?}"),
    }
    let close = CloseRequest {
        flags: 0,
        file_id: file,
    };
    assert_eq!(
        c.call(Command::CLOSE, tree, &close).header.status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        std::fs::read(dir.path().join("hello.txt")).unwrap(),
        b"hello, kerberos"
    );
}

#[test]
fn tampered_requests_are_denied_and_unsigned_tree_connect_on_311_disconnects() {
    let (_dir, ctx, kdc) = setup();
    let mut c = logon(&ctx, &kdc);
    let tc = TreeConnectRequest {
        path: format!("\\\\{HOST}\\data"),
        ..Default::default()
    };
    let mut msg = c.signed(Command::TREE_CONNECT, 0, &tc);
    let last = msg.len() - 1;
    msg[last] ^= 0x20; // one flipped bit in the share name
    let a = one(&mut c.conn, &msg).unwrap();
    assert_eq!(
        a.header.status,
        NtStatus::ACCESS_DENIED,
        "a bad signature is refused"
    );

    let msg = c.unsigned(Command::TREE_CONNECT, 0, &tc);
    assert!(
        exchange(&mut c.conn, &msg).is_err(),
        "MS-SMB2 3.3.5.7: unsigned 3.1.1 TREE_CONNECT disconnects"
    );
}

/// A hand-built DCE/RPC bind for srvsvc v3.0 with NDR (C706 12.6.4.3).
fn srvsvc_bind() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&4280u16.to_le_bytes()); // max_xmit_frag
    body.extend_from_slice(&4280u16.to_le_bytes()); // max_recv_frag
    body.extend_from_slice(&0u32.to_le_bytes()); // assoc_group_id
    body.extend_from_slice(&[1, 0, 0, 0]); // one context, padding
    body.extend_from_slice(&0u16.to_le_bytes()); // context id
    body.extend_from_slice(&[1, 0]); // one transfer syntax, padding
    body.extend_from_slice(&hex::decode("c84f324b7016d30112785a47bf6ee188").unwrap());
    body.extend_from_slice(&[3, 0, 0, 0]); // srvsvc 3.0
    body.extend_from_slice(&hex::decode("045d888aeb1cc9119fe808002b104860").unwrap());
    body.extend_from_slice(&2u32.to_le_bytes()); // NDR version 2
    let mut pdu = vec![5, 0, 11, 3, 0x10, 0, 0, 0];
    pdu.extend_from_slice(&((16 + body.len()) as u16).to_le_bytes());
    pdu.extend_from_slice(&0u16.to_le_bytes()); // auth_length
    pdu.extend_from_slice(&1u32.to_le_bytes()); // call_id
    pdu.extend_from_slice(&body);
    pdu
}

#[test]
fn a_read_on_an_empty_pipe_goes_async_and_a_write_completes_it() {
    let (_dir, ctx, kdc) = setup();
    let mut c = logon(&ctx, &kdc);
    let ipc = tree_connect(&mut c, "IPC$");
    let pipe = create(&mut c, ipc, "srvsvc", 1 /* OPEN */);

    // MS-SMB2 3.3.4.2: the READ cannot complete, so an interim response comes back.
    let read = ReadRequest {
        length: 4280,
        file_id: pipe,
        ..Default::default()
    };
    let read_msg = c.signed(Command::READ, ipc, &read);
    let read_id = c.next_id - 1;
    let interim = one(&mut c.conn, &read_msg).unwrap();
    assert_eq!(interim.header.status, NtStatus::PENDING);
    let async_id = interim.header.async_id().expect("an async header");
    assert_ne!(async_id, 0);
    assert!(
        interim.header.credits >= 1,
        "the interim response grants the credits"
    );
    assert!(c.conn.has_pending());

    // The WRITE of a bind is answered, and the waiting READ completes with the bind_ack.
    let write = WriteRequest {
        file_id: pipe,
        data: srvsvc_bind().into(),
        ..Default::default()
    };
    let write_msg = c.signed(Command::WRITE, ipc, &write);
    let messages = exchange_messages(&mut c.conn, &write_msg).unwrap();
    assert_eq!(
        messages.len(),
        2,
        "the WRITE response, then the final READ response"
    );
    assert_eq!(messages[0][0].header.status, NtStatus::SUCCESS);
    let fin = &messages[1][0];
    assert_eq!(fin.header.command, Command::READ);
    assert_eq!(fin.header.message_id, read_id);
    assert_eq!(fin.header.async_id(), Some(async_id));
    assert_eq!(
        fin.header.credits, 0,
        "3.3.4.3: the final async response grants nothing"
    );
    c.assert_signed(fin);
    match fin.body() {
        Response::Read(r) => assert_eq!(&r.data[..4], &[5, 0, 12, 3], "a DCE/RPC bind_ack"),
        other => panic!("{other:?}"),
    }
    assert!(!c.conn.has_pending());
}

#[test]
fn cancel_completes_a_waiting_read_with_status_cancelled() {
    let (_dir, ctx, kdc) = setup();
    let mut c = logon(&ctx, &kdc);
    let ipc = tree_connect(&mut c, "IPC$");
    let pipe = create(&mut c, ipc, "srvsvc", 1);
    let read = ReadRequest {
        length: 4280,
        file_id: pipe,
        ..Default::default()
    };
    let read_msg = c.signed(Command::READ, ipc, &read);
    let interim = one(&mut c.conn, &read_msg).unwrap();
    let async_id = interim.header.async_id().unwrap();

    // 3.3.5.16: CANCEL names the request by AsyncId and consumes no credit.
    let mut cancel = c.signed(Command::CANCEL, ipc, &CancelRequest);
    c.next_id -= 1;
    cancel[16] |= HeaderFlags::ASYNC_COMMAND as u8;
    cancel[32..40].copy_from_slice(&async_id.to_le_bytes());
    signing::sign(c.keys.signing_algorithm, &c.keys.signing_key, &mut cancel);
    let messages = exchange_messages(&mut c.conn, &cancel).unwrap();
    assert_eq!(
        messages.len(),
        1,
        "CANCEL itself gets no answer; the READ's final response does"
    );
    let fin = &messages[0][0];
    assert_eq!(fin.header.status, NtStatus::CANCELLED);
    assert_eq!(fin.header.async_id(), Some(async_id));
    c.assert_signed(fin);
    assert!(!c.conn.has_pending());
    // The MessageId the CANCEL carried was not consumed: the next request may use it.
    let echo = c.call(
        Command::ECHO,
        0,
        &rsmbd_protocol::messages::echo::EchoRequest,
    );
    assert_eq!(echo.header.status, NtStatus::SUCCESS);
}

/// Encodes `members` as one related compound chain, each signed (MS-SMB2 3.2.4.1.4).
fn related_chain(c: &mut Client, tree: u32, members: &[(Command, &dyn Encode)]) -> Vec<u8> {
    let mut w = Writer::new();
    let mut starts = Vec::new();
    for (i, (command, body)) in members.iter().enumerate() {
        let start = w.len();
        starts.push(start);
        w.start_message();
        let mut flags = HeaderFlags::SIGNED;
        if i > 0 {
            flags |= HeaderFlags::RELATED_OPERATIONS;
        }
        let header = if i == 0 {
            request_header(*command, c.next_id, c.session_id, tree, flags)
        } else {
            request_header(*command, c.next_id, u64::MAX, u32::MAX, flags)
        };
        c.next_id += 1;
        header.encode(&mut w);
        body.encode(&mut w);
        if i + 1 < members.len() {
            w.align(8);
            let next = (w.len() - start) as u32;
            w.patch_u32(start + 20, next);
        }
    }
    let mut frame = w.as_slice().to_vec();
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .copied()
        .chain([frame.len()])
        .collect();
    for (start, end) in starts.iter().zip(ends) {
        signing::sign(
            c.keys.signing_algorithm,
            &c.keys.signing_key,
            &mut frame[*start..end],
        );
    }
    frame
}

#[test]
fn a_related_compound_create_write_close_uses_the_new_handle() {
    let (dir, ctx, kdc) = setup();
    let mut c = logon(&ctx, &kdc);
    let tree = tree_connect(&mut c, "data");
    let create = CreateRequest {
        impersonation_level: 2,
        desired_access: 0x0012_019F,
        share_access: 7,
        create_disposition: 5,
        name: rsmbd_protocol::codec::string_to_utf16le("compound.txt").into(),
        ..Default::default()
    };
    // FileId all 0xFF: "the handle the previous member opened" (3.3.5.2.7.2).
    let write = WriteRequest {
        file_id: FileId::COMPOUND_PREVIOUS,
        data: b"one frame".to_vec().into(),
        ..Default::default()
    };
    let close = CloseRequest {
        flags: 0,
        file_id: FileId::COMPOUND_PREVIOUS,
    };
    let frame = related_chain(
        &mut c,
        tree,
        &[
            (Command::CREATE, &create),
            (Command::WRITE, &write),
            (Command::CLOSE, &close),
        ],
    );
    let answers = exchange(&mut c.conn, &frame).unwrap();
    assert_eq!(answers.len(), 3, "one response per member, in one compound");
    for a in &answers {
        assert_eq!(a.header.status, NtStatus::SUCCESS, "{:?}", a.header.command);
        assert!(
            a.header.flags.has(HeaderFlags::RELATED_OPERATIONS)
                || a.header.command == Command::CREATE
        );
        c.assert_signed(a);
    }
    assert_eq!(
        std::fs::read(dir.path().join("compound.txt")).unwrap(),
        b"one frame"
    );

    // A related chain whose first member fails passes that failure down the chain.
    let missing = CreateRequest {
        create_disposition: 1,
        name: rsmbd_protocol::codec::string_to_utf16le("nope.txt").into(),
        ..create
    };
    let frame = related_chain(
        &mut c,
        tree,
        &[(Command::CREATE, &missing), (Command::CLOSE, &close)],
    );
    let answers = exchange(&mut c.conn, &frame).unwrap();
    assert_eq!(answers[0].header.status, NtStatus::OBJECT_NAME_NOT_FOUND);
    assert_eq!(answers[1].header.status, NtStatus::OBJECT_NAME_NOT_FOUND);
}

#[test]
fn require_signing_refuses_unsigned_requests() {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = context_with(dir.path(), &kdc.keytab_bytes(), |c| {
        c.require_signing = true
    });
    let mut c = logon(&ctx, &kdc);
    let tree = tree_connect(&mut c, "data");
    let read = ReadRequest {
        length: 10,
        file_id: FileId::new(1, 1),
        ..Default::default()
    };
    let msg = c.unsigned(Command::READ, tree, &read);
    let a = one(&mut c.conn, &msg).unwrap();
    assert_eq!(
        a.header.status,
        NtStatus::ACCESS_DENIED,
        "unsigned request on a signing-required session"
    );
    c.assert_signed(&a);
}
