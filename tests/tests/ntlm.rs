//! NTLMv2 logon driven through the engine with bytes (MS-SMB2 3.3.5.5 with MS-NLMP and
//! MS-SPNG): on a listener with `ntlm = true` the NEGOTIATE hint lists NTLMSSP, the three-leg
//! exchange succeeds, the final 3.1.1 SESSION_SETUP response is signed with keys derived from
//! the NTLM exported session key and the preauth hash, and a signed file round trip works; on a
//! Kerberos-only listener the same client gets STATUS_LOGON_FAILURE. The initiator is
//! `rsmbd_auth::ntlm::client`, independent of the acceptor's code paths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use rasn::types::{ObjectIdentifier, OctetString};
use rsmbd::config::{Config, ListenerSection, ShareSection};
use rsmbd::engine::Connection;
use rsmbd::engine::context::ServerContext;
use rsmbd_auth::asn1::spnego::{NegState, NegTokenInit, NegTokenResp, NegotiationToken};
use rsmbd_auth::gss::{self, oid};
use rsmbd_auth::ntlm::client::{self, ClientInput};
use rsmbd_auth::ntlm::keys::{Side, first_signature};
use rsmbd_auth::ntlm::{NtUsers, nt_hash};
use rsmbd_auth::{AcceptorConfig, Keytab};
use rsmbd_protocol::messages::create::CreateRequest;
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::{Command, HeaderFlags, NtStatus, Response};
use rsmbd_share::crypto::keys::KeyDialect;
use rsmbd_share::crypto::{PreauthHash, SessionKeys, SigningAlgorithm, signing};
use rsmbd_share::registry::{ShareConfig, ShareKind, ShareRegistry};
use rsmbd_tests::kdc::TestKdc;
use rsmbd_tests::*;

fn ntlm_context(dir: &std::path::Path) -> Arc<ServerContext> {
    let config = Config {
        keytab: Some("/unused".into()),
        shares: vec![ShareSection {
            name: "data".into(),
            path: dir.to_path_buf(),
            comment: String::new(),
            read_only: false,
            valid_users: Some(vec!["alice@EXAMPLE.TEST".into()]),
            encrypt_data: false,
        }],
        ..Config::default()
    };
    let registry = ShareRegistry::new(
        config.server_name.clone(),
        vec![ShareConfig {
            name: "data".into(),
            kind: ShareKind::Disk {
                path: dir.to_path_buf(),
            },
            comment: String::new(),
            valid_users: Some(vec!["alice@EXAMPLE.TEST".into()]),
            read_only: false,
            encrypt_data: false,
        }],
    )
    .unwrap();
    let hash: String = nt_hash("s3cret")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut acceptor = AcceptorConfig::new(Arc::new(
        Keytab::parse(&TestKdc::new().keytab_bytes()).unwrap(),
    ));
    acceptor.ntlm_users = Some(Arc::new(
        NtUsers::parse(&format!("alice@EXAMPLE.TEST:{hash}")).unwrap(),
    ));
    Arc::new(ServerContext::new(config, Arc::new(registry), Arc::new(acceptor)).unwrap())
}

fn listener(ntlm: bool) -> Arc<ListenerSection> {
    Arc::new(ListenerSection {
        address: "127.0.0.3:445".parse().unwrap(),
        ntlm,
        names: vec!["data2.example.test".into()],
    })
}

fn contains(h: &[u8], needle: &[u8]) -> bool {
    h.windows(needle.len()).any(|w| w == needle)
}

fn setup_request(message_id: u64, session_id: u64, token: Vec<u8>) -> Vec<u8> {
    let req = SessionSetupRequest {
        security_mode: 1,
        security_buffer: token.into(),
        ..Default::default()
    };
    request(Command::SESSION_SETUP, message_id, session_id, &req)
}

fn ntlmssp_oid() -> ObjectIdentifier {
    ObjectIdentifier::new(oid::NTLMSSP_ARCS.to_vec()).unwrap()
}

/// NEGOTIATE, then the first SESSION_SETUP leg; returns the connection, preauth hash, the
/// NTLM NEGOTIATE_MESSAGE sent and the answer.
fn first_leg(ctx: &Arc<ServerContext>, ntlm: bool) -> (Connection, PreauthHash, Vec<u8>, Answer) {
    let mut conn = Connection::on_listener(ctx.clone(), listener(ntlm), peer());
    let mut preauth = PreauthHash::default();
    let negotiate = request(Command::NEGOTIATE, 0, 0, &negotiate_request());
    let a = one(&mut conn, &negotiate).unwrap();
    preauth.update(&negotiate);
    preauth.update(&a.raw);
    match a.body() {
        Response::Negotiate(n) => assert_eq!(
            contains(&n.security_buffer, oid::NTLMSSP),
            ntlm,
            "the hint lists NTLMSSP exactly on NTLM listeners"
        ),
        other => panic!("{other:?}"),
    }
    let neg = client::negotiate(client::CLIENT_FLAGS);
    let init = NegotiationToken::NegTokenInit(NegTokenInit {
        mech_types: vec![ntlmssp_oid()],
        req_flags: None,
        mech_token: Some(OctetString::from(neg.clone())),
        mech_list_mic: None,
    });
    let token = gss::wrap(oid::SPNEGO, &rasn::der::encode(&init).unwrap());
    let setup = setup_request(1, 0, token);
    preauth.update(&setup);
    let a = one(&mut conn, &setup).unwrap();
    (conn, preauth, neg, a)
}

#[test]
fn ntlm_logon_signs_and_round_trips_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ntlm_context(dir.path());
    let (mut conn, mut preauth, neg, a) = first_leg(&ctx, true);
    assert_eq!(a.header.status, NtStatus::MORE_PROCESSING_REQUIRED);
    preauth.update(&a.raw);
    let session_id = a.header.session_id;
    let resp = match a.body() {
        Response::SessionSetup(s) => {
            match rasn::ber::decode::<NegotiationToken>(&s.security_buffer).unwrap() {
                NegotiationToken::NegTokenResp(r) => r,
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(resp.neg_state, Some(NegState::AcceptIncomplete));
    let challenge = resp.response_token.unwrap().to_vec();
    assert!(challenge.starts_with(b"NTLMSSP\0\x02\0\0\0"));

    let input = ClientInput {
        user: "alice",
        domain: "EXAMPLE",
        nt_hash: nt_hash("s3cret"),
        client_challenge: [3; 8],
        random_session_key: [0x5a; 16],
        timestamp: None,
        target_name: Some("cifs/data2.example.test"),
        with_mic: true,
    };
    let (auth, key) = client::authenticate(&neg, &challenge, &input).unwrap();
    let flags = u32::from_le_bytes(auth[60..64].try_into().unwrap());
    let mech_types = rasn::der::encode(&vec![ntlmssp_oid()]).unwrap();
    let mic = first_signature(&key, Side::Client, flags, &mech_types);
    let resp = NegotiationToken::NegTokenResp(NegTokenResp {
        neg_state: None,
        supported_mech: None,
        response_token: Some(OctetString::from(auth)),
        mech_list_mic: Some(OctetString::from(mic.to_vec())),
    });
    let setup = setup_request(2, session_id, rasn::der::encode(&resp).unwrap());
    preauth.update(&setup);
    let a = one(&mut conn, &setup).unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS, "NTLMv2 logon succeeds");
    match a.body() {
        Response::SessionSetup(s) => {
            match rasn::ber::decode::<NegotiationToken>(&s.security_buffer).unwrap() {
                NegotiationToken::NegTokenResp(r) => {
                    assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
                    let want = first_signature(&key, Side::Server, flags, &mech_types);
                    assert_eq!(r.mech_list_mic.unwrap().to_vec(), want.to_vec());
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    // MS-SMB2 3.3.5.5.3: Session.SessionKey is the NTLM exported session key; the signed final
    // response proves both sides derived the same signing key from it and the preauth hash.
    let keys = SessionKeys::derive(
        KeyDialect::Smb311,
        &key[..],
        Some(&preauth),
        SigningAlgorithm::AesCmac,
        16,
    );
    assert!(a.header.flags.has(HeaderFlags::SIGNED));
    let mut raw = a.raw.clone();
    assert!(signing::verify(
        keys.signing_algorithm,
        &keys.signing_key,
        &mut raw
    ));

    // Signed TREE_CONNECT (valid_users names the NTLM user's principal), CREATE, WRITE, READ.
    let mut next = 3;
    let mut call = |conn: &mut Connection, command, tree, body: &dyn rsmbd_protocol::Encode| {
        let header = request_header(command, next, session_id, tree, HeaderFlags::SIGNED);
        next += 1;
        let mut w = rsmbd_protocol::Writer::new();
        w.start_message();
        header.encode(&mut w);
        body.encode(&mut w);
        let mut msg = w.as_slice().to_vec();
        signing::sign(keys.signing_algorithm, &keys.signing_key, &mut msg);
        let a = one(conn, &msg).unwrap();
        let mut raw = a.raw.clone();
        assert!(signing::verify(
            keys.signing_algorithm,
            &keys.signing_key,
            &mut raw
        ));
        a
    };
    let tc = TreeConnectRequest {
        path: "\\\\data2.example.test\\data".into(),
        ..Default::default()
    };
    let a = call(&mut conn, Command::TREE_CONNECT, 0, &tc);
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    let tree = a.header.tree_id();
    let create = CreateRequest {
        impersonation_level: 2,
        desired_access: 0x0012_019F,
        share_access: 7,
        create_disposition: 5,
        name: rsmbd_protocol::codec::string_to_utf16le("ntlm.txt").into(),
        ..Default::default()
    };
    let a = call(&mut conn, Command::CREATE, tree, &create);
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    let file_id = match a.body() {
        Response::Create(r) => r.file_id,
        other => panic!("{other:?}"),
    };
    let write = WriteRequest {
        offset: 0,
        file_id,
        data: b"over NTLMv2".to_vec().into(),
        ..Default::default()
    };
    assert_eq!(
        call(&mut conn, Command::WRITE, tree, &write).header.status,
        NtStatus::SUCCESS
    );
    let read = ReadRequest {
        length: 64,
        offset: 0,
        file_id,
        ..Default::default()
    };
    match call(&mut conn, Command::READ, tree, &read).body() {
        Response::Read(r) => assert_eq!(&r.data[..], b"over NTLMv2"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        std::fs::read(dir.path().join("ntlm.txt")).unwrap(),
        b"over NTLMv2"
    );
}

#[test]
fn kerberos_only_listener_refuses_ntlm_with_logon_failure() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ntlm_context(dir.path());
    let (_, _, _, a) = first_leg(&ctx, false);
    assert_eq!(a.header.status, NtStatus::LOGON_FAILURE);
}

#[test]
fn wrong_password_is_logon_failure() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ntlm_context(dir.path());
    let (mut conn, _, neg, a) = first_leg(&ctx, true);
    let session_id = a.header.session_id;
    let challenge = match a.body() {
        Response::SessionSetup(s) => {
            match rasn::ber::decode::<NegotiationToken>(&s.security_buffer).unwrap() {
                NegotiationToken::NegTokenResp(r) => r.response_token.unwrap().to_vec(),
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    };
    let input = ClientInput {
        user: "alice",
        domain: "EXAMPLE",
        nt_hash: nt_hash("guess"),
        client_challenge: [3; 8],
        random_session_key: [0x5a; 16],
        timestamp: None,
        target_name: None,
        with_mic: true,
    };
    let (auth, _) = client::authenticate(&neg, &challenge, &input).unwrap();
    let resp = NegotiationToken::NegTokenResp(NegTokenResp {
        neg_state: None,
        supported_mech: None,
        response_token: Some(OctetString::from(auth)),
        mech_list_mic: None,
    });
    let a = one(
        &mut conn,
        &setup_request(2, session_id, rasn::der::encode(&resp).unwrap()),
    )
    .unwrap();
    assert_eq!(a.header.status, NtStatus::LOGON_FAILURE);
}
