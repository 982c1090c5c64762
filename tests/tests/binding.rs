//! Multichannel session binding ([MS-SMB2 3.3.5.5]) through the engine: a second Connection
//! binds to the session of the first with SMB2_SESSION_FLAG_BINDING, a request signed with
//! Session.SigningKey and a new Kerberos AP-REQ of the same user; the channel then signs with
//! its own key (derived from the new session key and its own preauth hash), serves the
//! session's trees and opens, and a LOGOFF on either ends the session on both, while a dropped
//! channel leaves the session to the other. The refusals: unsigned, badly signed, unknown
//! session, 2.x connection, another user, multichannel off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use rsmbd::engine::Connection;
use rsmbd::engine::context::ServerContext;
use rsmbd_protocol::messages::logoff::LogoffRequest;
use rsmbd_protocol::messages::negotiate::{Capabilities, Dialect, NegotiateRequest};
use rsmbd_protocol::messages::query_info::QueryInfoRequest;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::{Command, FileId, HeaderFlags, NtStatus, Response};
use rsmbd_share::crypto::keys::KeyDialect;
use rsmbd_share::crypto::{PreauthHash, SessionKeys, SigningAlgorithm, signing};
use rsmbd_tests::client::{Client, OPEN_IF};
use rsmbd_tests::kdc::TestKdc;
use rsmbd_tests::*;

/// FilePositionInformation, what smbtorture's bind tests query on the other channel.
const FILE_POSITION_INFORMATION: u8 = 14;
/// SMB2_SESSION_FLAG_BINDING.
const BINDING: u8 = 1;

fn setup() -> (tempfile::TempDir, Arc<ServerContext>, TestKdc) {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = context(dir.path(), &kdc.keytab_bytes());
    (dir, ctx, kdc)
}

/// A negotiated connection and its preauth hash after NEGOTIATE; the NEGOTIATE answer.
fn negotiate(ctx: &Arc<ServerContext>, req: &NegotiateRequest) -> (Connection, PreauthHash, u32) {
    let mut conn = Connection::new(ctx.clone(), peer());
    let mut preauth = PreauthHash::default();
    let negotiate = request(Command::NEGOTIATE, 0, 0, req);
    let a = one(&mut conn, &negotiate).unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    preauth.update(&negotiate);
    preauth.update(&a.raw);
    let caps = match a.body() {
        Response::Negotiate(n) => n.capabilities,
        other => panic!("{other:?}"),
    };
    (conn, preauth, caps)
}

/// A binding SESSION_SETUP for `session` (MessageId 1), signed with `key` when given.
fn bind_request(
    session_id: u64,
    token: Vec<u8>,
    key: Option<(SigningAlgorithm, &[u8; 16])>,
) -> Vec<u8> {
    let setup = SessionSetupRequest {
        flags: BINDING,
        security_mode: 1,
        security_buffer: token.into(),
        ..Default::default()
    };
    let mut msg = request(Command::SESSION_SETUP, 1, session_id, &setup);
    if let Some((alg, key)) = key {
        msg[16] |= HeaderFlags::SIGNED as u8;
        signing::sign(alg, key, &mut msg);
    }
    msg
}

fn verifies(a: &Answer, alg: SigningAlgorithm, key: &[u8; 16]) -> bool {
    let mut raw = a.raw.clone();
    a.header.flags.has(HeaderFlags::SIGNED) && signing::verify(alg, key, &mut raw)
}

/// Binds a new 3.1.1 connection to `first`'s session as `user`: the channel as a client.
fn bind(ctx: &Arc<ServerContext>, kdc: &TestKdc, first: &Client) -> Client {
    let (mut conn, mut preauth, caps) = negotiate(ctx, &negotiate_request());
    assert_ne!(
        caps & Capabilities::MULTI_CHANNEL,
        0,
        "MULTI_CHANNEL offered"
    );
    let (token, new_key) = kdc.spnego_ap_req("alice");
    let msg = bind_request(
        first.session_id,
        token,
        Some((first.keys.signing_algorithm, &first.keys.signing_key)),
    );
    preauth.update(&msg);
    let a = one(&mut conn, &msg).unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS, "binding succeeds");
    assert_eq!(a.header.session_id, first.session_id);
    // 3.3.5.5.3: the channel's key comes from the new authentication and this connection's
    // binding preauth hash; the final response is signed with it.
    let keys = SessionKeys::derive(
        KeyDialect::Smb311,
        new_key.as_bytes(),
        Some(&preauth),
        SigningAlgorithm::AesCmac,
        16,
    );
    assert_ne!(*keys.signing_key, *first.keys.signing_key);
    assert!(
        verifies(&a, keys.signing_algorithm, &keys.signing_key),
        "the final binding response is signed with the channel key"
    );
    Client {
        conn,
        session_id: first.session_id,
        keys,
        next_id: 2,
        tree: first.tree,
    }
}

fn position(c: &mut Client, file: FileId) -> NtStatus {
    let q = QueryInfoRequest {
        info_type: 1,
        file_info_class: FILE_POSITION_INFORMATION,
        output_buffer_length: 64,
        file_id: file,
        ..Default::default()
    };
    let a = c.call(Command::QUERY_INFO, &q);
    if a.header.status == NtStatus::SUCCESS {
        assert!(
            verifies(&a, c.keys.signing_algorithm, &c.keys.signing_key),
            "answers on a channel are signed with that channel's key"
        );
    }
    a.header.status
}

#[test]
fn a_bound_channel_serves_the_session_with_its_own_key() {
    let (_dir, ctx, kdc) = setup();
    let mut first = Client::logon(&ctx, &kdc, "data");
    let file = first.create("bind1.txt", OPEN_IF, 0);
    let mut second = bind(&ctx, &kdc, &first);
    // The open and the tree of the first connection answer on the second, and vice versa.
    assert_eq!(position(&mut second, file), NtStatus::SUCCESS);
    assert_eq!(position(&mut first, file), NtStatus::SUCCESS);
    let other = second.create("bind2.txt", OPEN_IF, 0);
    assert_eq!(position(&mut first, other), NtStatus::SUCCESS);
    // A request on the channel signed with the session's first key does not verify there.
    let mut wrong = Client {
        conn: Connection::new(ctx.clone(), peer()),
        session_id: first.session_id,
        keys: first.keys.clone(),
        next_id: second.next_id,
        tree: first.tree,
    };
    std::mem::swap(&mut wrong.conn, &mut second.conn);
    assert_eq!(position(&mut wrong, file), NtStatus::ACCESS_DENIED);
    std::mem::swap(&mut wrong.conn, &mut second.conn);
    second.next_id = wrong.next_id;
    // Binding the same connection again is refused with the channel's key unused.
    let (token, _) = kdc.spnego_ap_req("alice");
    let msg = bind_request(
        first.session_id,
        token,
        Some((first.keys.signing_algorithm, &first.keys.signing_key)),
    );
    let mut msg = msg;
    msg[24..32].copy_from_slice(&second.next_id.to_le_bytes());
    signing::sign(
        first.keys.signing_algorithm,
        &first.keys.signing_key,
        &mut msg,
    );
    second.next_id += 1;
    assert_eq!(
        one(&mut second.conn, &msg).unwrap().header.status,
        NtStatus::ACCESS_DENIED
    );
}

#[test]
fn logoff_on_one_channel_ends_the_session_on_both() {
    let (_dir, ctx, kdc) = setup();
    let mut first = Client::logon(&ctx, &kdc, "data");
    let file = first.create("logoff.txt", OPEN_IF, 0);
    let mut second = bind(&ctx, &kdc, &first);
    assert_eq!(ctx.session_table.len(), 1);
    let a = second.call(Command::LOGOFF, &LogoffRequest);
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    assert_eq!(
        position(&mut first, file),
        NtStatus::USER_SESSION_DELETED,
        "the first channel sees the LOGOFF made on the second"
    );
    assert!(ctx.session_table.is_empty());
}

#[test]
fn a_dropped_channel_leaves_the_session_to_the_other() {
    let (_dir, ctx, kdc) = setup();
    let mut first = Client::logon(&ctx, &kdc, "data");
    let mut second = bind(&ctx, &kdc, &first);
    let file = second.create("drop.txt", OPEN_IF, 0);
    // The session's first connection goes away: the open lives on through the channel.
    first.conn.close();
    assert_eq!(position(&mut second, file), NtStatus::SUCCESS);
    assert_eq!(ctx.session_table.len(), 1);
    // The last channel goes: the session ends.
    second.conn.close();
    assert!(ctx.session_table.is_empty());
}

/// Sends one binding request for `first`'s session on a fresh connection negotiated with
/// `req`; returns the answer.
fn try_bind(
    ctx: &Arc<ServerContext>,
    req: &NegotiateRequest,
    session_id: u64,
    token: Vec<u8>,
    key: Option<(SigningAlgorithm, &[u8; 16])>,
) -> Answer {
    let (mut conn, _, _) = negotiate(ctx, req);
    one(&mut conn, &bind_request(session_id, token, key)).unwrap()
}

#[test]
fn binding_refusals() {
    let (_dir, ctx, kdc) = setup();
    let mut first = Client::logon(&ctx, &kdc, "data");
    let file = first.create("neg.txt", OPEN_IF, 0);
    let alg = first.keys.signing_algorithm;
    let key = first.keys.signing_key.clone();
    let sid = first.session_id;
    let token = || kdc.spnego_ap_req("alice").0;

    // Unsigned (3.3.5.5): STATUS_INVALID_PARAMETER.
    let a = try_bind(&ctx, &negotiate_request(), sid, token(), None);
    assert_eq!(a.header.status, NtStatus::INVALID_PARAMETER);
    // Signed with another key: STATUS_ACCESS_DENIED.
    let a = try_bind(
        &ctx,
        &negotiate_request(),
        sid,
        token(),
        Some((alg, &[9; 16])),
    );
    assert_eq!(a.header.status, NtStatus::ACCESS_DENIED);
    // A session nobody has: STATUS_USER_SESSION_DELETED.
    let a = try_bind(
        &ctx,
        &negotiate_request(),
        sid ^ 0x55,
        token(),
        Some((alg, &key)),
    );
    assert_eq!(a.header.status, NtStatus::USER_SESSION_DELETED);
    // A 2.1 connection: STATUS_REQUEST_NOT_ACCEPTED, signed with Session.SigningKey (the
    // client has no channel key to check it with).
    let smb21 = NegotiateRequest {
        dialects: vec![Dialect::SMB2_1],
        negotiate_contexts: Vec::new(),
        ..negotiate_request()
    };
    let a = try_bind(&ctx, &smb21, sid, token(), Some((alg, &key)));
    assert_eq!(a.header.status, NtStatus::REQUEST_NOT_ACCEPTED);
    assert!(
        verifies(&a, alg, &key),
        "the refusal is signed with the session's key"
    );
    // A 3.0.2 connection to a 3.1.1 session: STATUS_INVALID_PARAMETER.
    let smb302 = NegotiateRequest {
        dialects: vec![Dialect::SMB3_0_2],
        negotiate_contexts: Vec::new(),
        ..negotiate_request()
    };
    let a = try_bind(&ctx, &smb302, sid, token(), Some((alg, &key)));
    assert_eq!(a.header.status, NtStatus::INVALID_PARAMETER);
    // Another user: STATUS_ACCESS_DENIED, and no channel.
    let bob = kdc.spnego_ap_req("bob").0;
    let a = try_bind(&ctx, &negotiate_request(), sid, bob, Some((alg, &key)));
    assert_eq!(a.header.status, NtStatus::ACCESS_DENIED);
    // A SESSION_SETUP without the flag on a connection that does not hold the session.
    let (mut conn, _, _) = negotiate(&ctx, &negotiate_request());
    let plain = SessionSetupRequest {
        security_mode: 1,
        security_buffer: token().into(),
        ..Default::default()
    };
    let a = one(&mut conn, &request(Command::SESSION_SETUP, 1, sid, &plain)).unwrap();
    assert_eq!(a.header.status, NtStatus::USER_SESSION_DELETED);
    // Signed with Session.SigningKey: the client holds the session and checks (as Samba's
    // client does for a channel it has not bound).
    assert!(verifies(&a, alg, &key));
    // So is a request of the session on a connection that is not its channel.
    let mut stranger = Client {
        conn,
        session_id: sid,
        keys: first.keys.clone(),
        next_id: 2,
        tree: first.tree,
    };
    let q = QueryInfoRequest {
        info_type: 1,
        file_info_class: FILE_POSITION_INFORMATION,
        output_buffer_length: 64,
        file_id: file,
        ..Default::default()
    };
    let a = stranger.call(Command::QUERY_INFO, &q);
    assert_eq!(a.header.status, NtStatus::USER_SESSION_DELETED);
    assert!(verifies(&a, alg, &key));
    // None of it touched the session.
    assert_eq!(position(&mut first, file), NtStatus::SUCCESS);
}

#[test]
fn multichannel_off_neither_offers_nor_binds() {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = context_with(dir.path(), &kdc.keytab_bytes(), |c| c.multichannel = false);
    let first = Client::logon(&ctx, &kdc, "data");
    let (mut conn, _, caps) = negotiate(&ctx, &negotiate_request());
    assert_eq!(caps & Capabilities::MULTI_CHANNEL, 0);
    let msg = bind_request(
        first.session_id,
        kdc.spnego_ap_req("alice").0,
        Some((first.keys.signing_algorithm, &first.keys.signing_key)),
    );
    assert_eq!(
        one(&mut conn, &msg).unwrap().header.status,
        NtStatus::REQUEST_NOT_ACCEPTED
    );
}

/// An unsigned SESSION_SETUP (re-authentication) on a bound channel.
fn unsigned_reauth(c: &mut Client, token: Vec<u8>) -> NtStatus {
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: token.into(),
        ..Default::default()
    };
    let msg = request(Command::SESSION_SETUP, c.next_id, c.session_id, &setup);
    c.next_id += 1;
    one(&mut c.conn, &msg).unwrap().header.status
}

#[test]
fn unsigned_reauth_on_a_channel_is_refused_and_a_failed_one_ends_the_session() {
    let (_dir, ctx, kdc) = setup();
    let mut first = Client::logon(&ctx, &kdc, "data");
    let file = first.create("reauth.txt", OPEN_IF, 0);
    let mut second = bind(&ctx, &kdc, &first);
    // A valid ticket, but unsigned: refused, and the session lives on.
    let token = kdc.spnego_ap_req("alice").0;
    assert_eq!(unsigned_reauth(&mut second, token), NtStatus::ACCESS_DENIED);
    assert_eq!(position(&mut first, file), NtStatus::SUCCESS);
    assert_eq!(position(&mut second, file), NtStatus::SUCCESS);
    // A token that does not authenticate: LOGON_FAILURE, and the session ends everywhere.
    assert_eq!(
        unsigned_reauth(&mut second, b"not a token".to_vec()),
        NtStatus::LOGON_FAILURE
    );
    let q = QueryInfoRequest {
        info_type: 1,
        file_info_class: FILE_POSITION_INFORMATION,
        output_buffer_length: 64,
        file_id: file,
        ..Default::default()
    };
    let a = first.call(Command::QUERY_INFO, &q);
    assert_eq!(a.header.status, NtStatus::USER_SESSION_DELETED);
    assert!(
        verifies(&a, first.keys.signing_algorithm, &first.keys.signing_key),
        "the other channel's USER_SESSION_DELETED is signed with its key"
    );
    assert!(ctx.session_table.is_empty());
}

#[test]
fn a_reauthentication_on_one_channel_renews_the_session_on_all() {
    use rsmbd::engine::clock::ManualClock;
    use rsmbd_tests::kdc::TicketSpec;
    use std::time::{Duration, SystemTime};
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let t0 = SystemTime::now();
    let clock = Arc::new(ManualClock::new(t0));
    let ctx = context_with_clock(dir.path(), &kdc.keytab_bytes(), |_| {}, Some(clock.clone()));
    let mut first = Client::logon(&ctx, &kdc, "data");
    let file = first.create("renew.txt", OPEN_IF, 0);
    let mut second = bind(&ctx, &kdc, &first);
    // Both tickets (one hour) are past: every channel answers NETWORK_SESSION_EXPIRED.
    clock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(
        position(&mut first, file),
        NtStatus::NETWORK_SESSION_EXPIRED
    );
    assert_eq!(
        position(&mut second, file),
        NtStatus::NETWORK_SESSION_EXPIRED
    );
    // The client re-authenticates on the second channel (signed with its key) ...
    let spec = TicketSpec {
        now: t0 + Duration::from_secs(2 * 3600),
        ..TicketSpec::new("alice")
    };
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: kdc.spnego_ap_req_with(&spec).0.into(),
        ..Default::default()
    };
    let a = second.call(Command::SESSION_SETUP, &setup);
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    // ... and the session is renewed on the first as well (Session.ExpirationTime is one).
    assert_eq!(position(&mut first, file), NtStatus::SUCCESS);
    assert_eq!(position(&mut second, file), NtStatus::SUCCESS);
}
