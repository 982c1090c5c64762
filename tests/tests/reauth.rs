//! Session expiry and re-authentication ([MS-SMB2 3.3.5.2.9], 3.3.5.5.2/3) with a hand-set
//! clock: a 60-second ticket expires without anyone waiting 60 seconds. Also the identity a
//! session gets: realm allow-list, `[[identity]]` owner of new files, `valid_users` by
//! `@group` and by PAC SID.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rsmbd::config::Config;
use rsmbd::engine::clock::ManualClock;
use rsmbd::engine::context::ServerContext;
use rsmbd_auth::kerberos::pac_logon::{LogonInfo, Sid, encode_logon_info};
use rsmbd_protocol::create_context::CreateContext;
use rsmbd_protocol::messages::close::CloseRequest;
use rsmbd_protocol::messages::create::CreateRequest;
use rsmbd_protocol::messages::echo::EchoRequest;
use rsmbd_protocol::messages::lock::{LockElement, LockFlags, LockRequest};
use rsmbd_protocol::messages::logoff::LogoffRequest;
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::{Command, FileId, NtStatus, Response};
use rsmbd_share::crypto::signing;
use rsmbd_tests::client::Client;
use rsmbd_tests::kdc::{HOST, TestKdc, TicketSpec};
use rsmbd_tests::*;

/// SESSION_SETUP on this session with a fresh ticket (re-authentication).
fn reauth(c: &mut Client, kdc: &TestKdc, spec: &TicketSpec) -> Answer {
    let (token, _) = kdc.spnego_ap_req_with(spec);
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: token.into(),
        ..Default::default()
    };
    let msg = c.signed_on(Command::SESSION_SETUP, 0, &setup);
    one(&mut c.conn, &msg).unwrap()
}

fn tree_connect(c: &mut Client, share: &str) -> Answer {
    let tc = TreeConnectRequest {
        path: format!("\\\\{HOST}\\{share}"),
        ..Default::default()
    };
    c.call_signed_on(Command::TREE_CONNECT, 0, &tc)
}

fn create(c: &mut Client, tree: u32, name: &str, options: u32) -> Answer {
    let req = CreateRequest {
        impersonation_level: 2,
        desired_access: 0x001F_01FF, // FILE_ALL_ACCESS (DELETE for delete-on-close)
        share_access: 7,
        create_disposition: 5, // OVERWRITE_IF
        create_options: options,
        name: rsmbd_protocol::codec::string_to_utf16le(name).into(),
        create_contexts: Vec::<CreateContext<'_>>::new(),
        ..Default::default()
    };
    c.call_signed_on(Command::CREATE, tree, &req)
}

fn file_id(a: &Answer) -> FileId {
    match a.body() {
        Response::Create(r) => r.file_id,
        other => panic!("{other:?}"),
    }
}

fn read(c: &mut Client, tree: u32, file: FileId) -> Answer {
    let req = ReadRequest {
        length: 64,
        offset: 0,
        file_id: file,
        ..Default::default()
    };
    c.call_signed_on(Command::READ, tree, &req)
}

fn lock(c: &mut Client, tree: u32, file: FileId, flags: u32) -> NtStatus {
    let req = LockRequest {
        lock_sequence: 0,
        file_id: file,
        locks: vec![LockElement {
            offset: 0,
            length: 1,
            flags,
        }],
    };
    c.call_signed_on(Command::LOCK, tree, &req).header.status
}

/// A server whose clock starts at `t0`, a KDC and a share directory.
fn setup(
    tweak: impl FnOnce(&mut Config),
) -> (
    tempfile::TempDir,
    Arc<ServerContext>,
    TestKdc,
    Arc<ManualClock>,
    SystemTime,
) {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let t0 = SystemTime::now();
    let clock = Arc::new(ManualClock::new(t0));
    let ctx = context_with_clock(dir.path(), &kdc.keytab_bytes(), tweak, Some(clock.clone()));
    (dir, ctx, kdc, clock, t0)
}

fn ticket(client: &str, now: SystemTime, secs: u64) -> TicketSpec {
    TicketSpec {
        now,
        lifetime: Duration::from_secs(secs),
        ..TicketSpec::new(client)
    }
}

#[test]
fn a_60_second_ticket_expires_and_reauth_keeps_keys_trees_and_opens() {
    let (_dir, ctx, kdc, clock, t0) = setup(|_| {});
    let mut c = Client::try_logon(&ctx, &kdc, &ticket("alice", t0, 60))
        .ok()
        .unwrap();
    let tree = tree_connect(&mut c, "data").header.tree_id();
    let file = file_id(&create(&mut c, tree, "keep.txt", 0));
    let write = WriteRequest {
        offset: 0,
        file_id: file,
        data: b"still here".to_vec().into(),
        ..Default::default()
    };
    assert_eq!(
        c.call_signed_on(Command::WRITE, tree, &write).header.status,
        NtStatus::SUCCESS
    );

    // 59 s in: still valid.
    clock.set(t0 + Duration::from_secs(59));
    assert_eq!(read(&mut c, tree, file).header.status, NtStatus::SUCCESS);

    // Past the endtime: Expired (3.3.5.2.9); the refusals are signed like any response.
    clock.set(t0 + Duration::from_secs(61));
    assert_eq!(
        read(&mut c, tree, file).header.status,
        NtStatus::NETWORK_SESSION_EXPIRED
    );
    assert_eq!(
        tree_connect(&mut c, "data").header.status,
        NtStatus::NETWORK_SESSION_EXPIRED
    );
    assert_eq!(
        create(&mut c, tree, "new.txt", 0).header.status,
        NtStatus::NETWORK_SESSION_EXPIRED
    );
    assert_eq!(
        lock(
            &mut c,
            tree,
            file,
            LockFlags::EXCLUSIVE_LOCK | LockFlags::FAIL_IMMEDIATELY
        ),
        NtStatus::NETWORK_SESSION_EXPIRED,
        "taking a lock is refused"
    );
    assert_eq!(
        lock(&mut c, tree, file, LockFlags::UNLOCK),
        NtStatus::RANGE_NOT_LOCKED,
        "unlocking is still processed (3.3.5.2.9)"
    );
    assert_eq!(
        c.call_signed_on(Command::ECHO, 0, &EchoRequest)
            .header
            .status,
        NtStatus::SUCCESS
    );

    // Re-authentication on the same SessionId with a fresh ticket: the response is signed with
    // the key of the first logon (keys are retained, 3.3.5.5.2), which `call` checks.
    let now = t0 + Duration::from_secs(62);
    clock.set(now);
    let msg = {
        let (token, _) = kdc.spnego_ap_req_with(&ticket("alice", now, 60));
        c.signed_on(
            Command::SESSION_SETUP,
            0,
            &SessionSetupRequest {
                security_mode: 1,
                security_buffer: token.into(),
                ..Default::default()
            },
        )
    };
    let a = one(&mut c.conn, &msg).unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS, "re-authenticated");
    assert_eq!(a.header.session_id, c.session_id, "same session");
    let mut raw = a.raw.clone();
    assert!(signing::verify(
        c.keys.signing_algorithm,
        &c.keys.signing_key,
        &mut raw
    ));
    match a.body() {
        Response::SessionSetup(s) => assert!(!s.security_buffer.is_empty(), "an AP-REP"),
        other => panic!("{other:?}"),
    }

    // The tree and the open survived; the session runs to the new ticket's endtime.
    let a = read(&mut c, tree, file);
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    match a.body() {
        Response::Read(r) => assert_eq!(&r.data[..], b"still here"),
        other => panic!("{other:?}"),
    }
    clock.set(now + Duration::from_secs(61));
    assert_eq!(
        read(&mut c, tree, file).header.status,
        NtStatus::NETWORK_SESSION_EXPIRED
    );
    // CLOSE and LOGOFF still work on an expired session.
    let close = CloseRequest {
        flags: 0,
        file_id: file,
    };
    assert_eq!(
        c.call_signed_on(Command::CLOSE, tree, &close).header.status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        c.call_signed_on(Command::LOGOFF, 0, &LogoffRequest)
            .header
            .status,
        NtStatus::SUCCESS
    );
}

#[test]
fn reauth_before_expiry_extends_the_session() {
    let (_dir, ctx, kdc, clock, t0) = setup(|_| {});
    let mut c = Client::try_logon(&ctx, &kdc, &ticket("alice", t0, 60))
        .ok()
        .unwrap();
    let tree = tree_connect(&mut c, "data").header.tree_id();
    // Windows renews proactively, before the session expires.
    let now = t0 + Duration::from_secs(50);
    clock.set(now);
    let a = reauth(&mut c, &kdc, &ticket("alice", now, 600));
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    clock.set(t0 + Duration::from_secs(300));
    let file = create(&mut c, tree, "late.txt", 0);
    assert_eq!(
        file.header.status,
        NtStatus::SUCCESS,
        "valid until the new endtime"
    );
}

#[test]
fn reauth_as_another_principal_ends_the_session() {
    let (dir, ctx, kdc, clock, t0) = setup(|_| {});
    let mut c = Client::try_logon(&ctx, &kdc, &ticket("alice", t0, 60))
        .ok()
        .unwrap();
    let tree = tree_connect(&mut c, "data").header.tree_id();
    let doomed = create(
        &mut c,
        tree,
        "doomed.txt",
        0x1000, /* DELETE_ON_CLOSE */
    );
    assert_eq!(doomed.header.status, NtStatus::SUCCESS);
    assert!(dir.path().join("doomed.txt").exists());
    clock.set(t0 + Duration::from_secs(61));
    let a = reauth(
        &mut c,
        &kdc,
        &ticket("bob", t0 + Duration::from_secs(61), 60),
    );
    assert_eq!(a.header.status, NtStatus::ACCESS_DENIED);
    // The session is gone, with its opens (delete-on-close ran).
    assert!(!dir.path().join("doomed.txt").exists());
    let msg = c.signed_on(Command::ECHO, 0, &EchoRequest);
    assert_eq!(
        one(&mut c.conn, &msg).unwrap().header.status,
        NtStatus::USER_SESSION_DELETED
    );
}

#[test]
fn reauth_with_a_bad_signature_is_refused_and_the_session_stays() {
    let (_dir, ctx, kdc, _clock, t0) = setup(|_| {});
    let mut c = Client::try_logon(&ctx, &kdc, &ticket("alice", t0, 60))
        .ok()
        .unwrap();
    let (token, _) = kdc.spnego_ap_req_with(&ticket("alice", t0, 60));
    let mut msg = c.signed_on(
        Command::SESSION_SETUP,
        0,
        &SessionSetupRequest {
            security_mode: 1,
            security_buffer: token.into(),
            ..Default::default()
        },
    );
    let last = msg.len() - 1;
    msg[last] ^= 1;
    assert_eq!(
        one(&mut c.conn, &msg).unwrap().header.status,
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        tree_connect(&mut c, "data").header.status,
        NtStatus::SUCCESS
    );
}

#[test]
fn realm_allow_list_refuses_other_realms() {
    let (_dir, ctx, kdc, _clock, t0) = setup(|c| c.realms = vec!["OTHER.TEST".into()]);
    let a = Client::try_logon(&ctx, &kdc, &ticket("alice", t0, 60))
        .err()
        .unwrap();
    assert_eq!(a.header.status, NtStatus::LOGON_FAILURE);
}

fn pac(user_rid: u32, groups: &[u32]) -> Vec<u8> {
    encode_logon_info(&LogonInfo {
        effective_name: "x".into(),
        domain_name: "EXAMPLE".into(),
        domain_sid: Sid::parse("S-1-5-21-1-2-3"),
        user_rid,
        primary_group_rid: 513,
        group_rids: groups.to_vec(),
        ..Default::default()
    })
}

#[test]
fn valid_users_by_group_and_pac_sid() {
    let (_dir, ctx, kdc, _clock, t0) = setup(|c| {
        c.groups = vec![rsmbd::identity::GroupSection {
            name: "backup".into(),
            members: vec!["carol@EXAMPLE.TEST".into()],
        }];
        c.shares[0].valid_users = Some(vec!["@backup".into(), "S-1-5-21-1-2-3-512".into()]);
    });
    let connect = |client: &str, pac_info: Option<Vec<u8>>| {
        let spec = TicketSpec {
            pac_logon_info: pac_info,
            ..ticket(client, t0, 600)
        };
        let mut c = Client::try_logon(&ctx, &kdc, &spec).ok().unwrap();
        tree_connect(&mut c, "data").header.status
    };
    assert_eq!(
        connect("carol", None),
        NtStatus::SUCCESS,
        "carol is in @backup"
    );
    assert_eq!(
        connect("dave", None),
        NtStatus::ACCESS_DENIED,
        "dave is not"
    );
    assert_eq!(
        connect("dave", Some(pac(1107, &[513]))),
        NtStatus::ACCESS_DENIED,
        "Domain Users is not enough"
    );
    assert_eq!(
        connect("dave", Some(pac(1107, &[513, 512]))),
        NtStatus::SUCCESS,
        "Domain Admins (…-512) from the PAC"
    );
    // A PAC whose logon info does not decode never fails the logon (R8).
    let mut broken = pac(1107, &[512]);
    broken.truncate(60);
    assert_eq!(connect("carol", Some(broken)), NtStatus::SUCCESS);
}

#[test]
fn new_files_and_directories_belong_to_the_mapped_uid() {
    use std::os::unix::fs::MetadataExt;
    let (dir, ctx, kdc, _clock, t0) = setup(|c| {
        c.identities = vec![rsmbd::identity::IdentityRule {
            principal: Some("alice@EXAMPLE.TEST".into()),
            realm: None,
            user: None,
            uid: Some(4321),
            gid: Some(4322),
        }];
    });
    let mut c = Client::try_logon(&ctx, &kdc, &ticket("alice", t0, 600))
        .ok()
        .unwrap();
    let tree = tree_connect(&mut c, "data").header.tree_id();
    assert_eq!(
        create(&mut c, tree, "owned.txt", 0).header.status,
        NtStatus::SUCCESS
    );
    let req = CreateRequest {
        impersonation_level: 2,
        desired_access: 0x0012_0089,
        share_access: 7,
        create_disposition: 2, // CREATE
        create_options: 1,     // DIRECTORY_FILE
        name: rsmbd_protocol::codec::string_to_utf16le("owned.dir").into(),
        ..Default::default()
    };
    assert_eq!(
        c.call_signed_on(Command::CREATE, tree, &req).header.status,
        NtStatus::SUCCESS
    );
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    for name in ["owned.txt", "owned.dir"] {
        let m = std::fs::metadata(dir.path().join(name)).unwrap();
        if is_root {
            assert_eq!((m.uid(), m.gid()), (4321, 4322), "{name}");
        } else {
            eprintln!("not root: fchown is not permitted, ownership of {name} not checked");
        }
    }
}

/// The krb5 mechToken of a GSS-wrapped SPNEGO NegTokenInit, re-sent in a NegTokenResp (a
/// client's later leg), and the DER of the init's mechTypes (what the mechListMICs cover).
fn as_neg_token_resp(init: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use rsmbd_auth::asn1::spnego::NegotiationToken;
    let (_, inner) = rsmbd_auth::gss::unwrap(init).unwrap();
    let NegotiationToken::NegTokenInit(init) = rasn::der::decode(inner).unwrap() else {
        panic!("not a NegTokenInit");
    };
    let mech_types = rasn::der::encode(&init.mech_types).unwrap();
    (neg_token_resp(init.mech_token, None), mech_types)
}

fn neg_token_resp(
    token: Option<rasn::types::OctetString>,
    mic: Option<rasn::types::OctetString>,
) -> Vec<u8> {
    use rsmbd_auth::asn1::spnego::{NegTokenResp, NegotiationToken};
    rasn::der::encode(&NegotiationToken::NegTokenResp(NegTokenResp {
        neg_state: None,
        supported_mech: None,
        response_token: token,
        mech_list_mic: mic,
    }))
    .unwrap()
}

/// [MS-KILE 3.4.5] A client 10 minutes ahead gets KRB_AP_ERR_SKEW (with our time) and keeps its
/// half-built session: the AP-REQ it sends next with the corrected time logs on after the
/// mechListMIC exchange (RFC 4178 §5), and the 3.1.1 keys (preauth hash over every leg) sign
/// the tree connect.
#[test]
fn skew_recovery_second_ap_req_on_the_same_session_logs_on() {
    use rsmbd_auth::asn1::spnego::{NegState, NegotiationToken};
    let (_dir, ctx, kdc, _clock, t0) = setup(|_| {});
    let (mut conn, mut preauth) = Client::negotiate(&ctx);
    let mut leg =
        |conn: &mut rsmbd::engine::Connection, mid: u64, session_id: u64, token: Vec<u8>| {
            let msg = request(
                Command::SESSION_SETUP,
                mid,
                session_id,
                &SessionSetupRequest {
                    security_mode: 1,
                    security_buffer: token.into(),
                    ..Default::default()
                },
            );
            preauth.update(&msg);
            let a = one(conn, &msg).unwrap();
            if a.header.status == NtStatus::MORE_PROCESSING_REQUIRED {
                preauth.update(&a.raw);
            }
            a
        };
    let (skewed, _) = kdc.spnego_ap_req_with(&ticket("alice", t0 + Duration::from_secs(600), 3600));
    let a = leg(&mut conn, 1, 0, skewed);
    assert_eq!(a.header.status, NtStatus::MORE_PROCESSING_REQUIRED);
    let session_id = a.header.session_id;
    let Response::SessionSetup(s) = a.body() else {
        panic!("{:?}", a.body())
    };
    let NegotiationToken::NegTokenResp(r) = rasn::der::decode(&s.security_buffer).unwrap() else {
        panic!("not a NegTokenResp");
    };
    assert_eq!(r.neg_state, Some(NegState::AcceptIncomplete));
    let err = rsmbd_auth::kerberos::reply::parse_krb_error(&r.response_token.unwrap()).unwrap();
    assert_eq!(err.error_code, 37);
    assert_eq!(err.stime, rsmbd_auth::asn1::kerberos::kerberos_time(t0));

    // The corrected AP-REQ: AP-REP and our mechListMIC come back.
    let (good, session_key) = kdc.spnego_ap_req_with(&ticket("alice", t0, 3600));
    let (retry, mech_types) = as_neg_token_resp(&good);
    let a = leg(&mut conn, 2, session_id, retry);
    assert_eq!(a.header.status, NtStatus::MORE_PROCESSING_REQUIRED);
    assert_eq!(a.header.session_id, session_id, "same session");
    // Our mechListMIC (usage 25) completes it.
    let mic = rsmbd_auth::kerberos::mic::initiator_mic(&session_key, &mech_types, 1).unwrap();
    let a = leg(
        &mut conn,
        3,
        session_id,
        neg_token_resp(None, Some(mic.into())),
    );
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    assert_eq!(a.header.session_id, session_id, "same session");
    let keys = rsmbd_share::crypto::SessionKeys::derive(
        rsmbd_share::crypto::keys::KeyDialect::Smb311,
        session_key.as_bytes(),
        Some(&preauth),
        rsmbd_share::crypto::SigningAlgorithm::AesCmac,
        16,
    );
    let mut c = Client {
        conn,
        session_id,
        keys,
        next_id: 4,
        tree: 0,
    };
    assert_eq!(
        tree_connect(&mut c, "data").header.status,
        NtStatus::SUCCESS
    );
}
