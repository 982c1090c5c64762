//! NEGOTIATE as real clients send it: SMB1 multi-protocol first, 3.1.1 contexts in any order
//! with unknown types and cipher ids, dialect ranges (MS-SMB2 3.3.5.3, 3.3.5.4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rsmbd::engine::Connection;
use rsmbd_protocol::messages::negotiate::{Capabilities, Dialect, NegotiateContext};
use rsmbd_protocol::{Command, NtStatus, Response, Smb1Negotiate};
use rsmbd_tests::*;

fn negotiate_body(a: &Answer) -> rsmbd_protocol::messages::negotiate::NegotiateResponse<'_> {
    match a.body() {
        Response::Negotiate(n) => n,
        other => panic!("expected a NEGOTIATE response, got {other:?}"),
    }
}

#[test]
fn smb311_with_contexts_in_any_order_unknown_types_and_unknown_ciphers() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    let mut conn = Connection::new(ctx.clone(), peer());
    let mut req = negotiate_request();
    req.negotiate_contexts = vec![
        NegotiateContext::Unknown {
            context_type: 0x0099,
            data: vec![1, 2, 3],
        },
        NegotiateContext::Signing {
            algorithms: vec![0x0007, 2, 1, 0],
        },
        NegotiateContext::Encryption {
            ciphers: vec![0x0004, 0x1234, 0x0002],
        },
        NegotiateContext::NetnameNegotiateContextId {
            netname: "smb1.example.test".into(),
        },
        NegotiateContext::PreauthIntegrity {
            hash_algorithms: vec![0x0009, 1],
            salt: vec![3; 32],
        },
    ];
    let a = one(&mut conn, &request(Command::NEGOTIATE, 0, 0, &req)).unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    assert!(a.header.credits >= 1, "the client is granted credits");
    let n = negotiate_body(&a);
    assert_eq!(n.dialect_revision, Dialect::SMB3_1_1);
    assert_eq!(n.max_read_size, 8 * 1024 * 1024);
    assert_eq!(n.max_write_size, 8 * 1024 * 1024);
    assert_eq!(n.max_transact_size, 8 * 1024 * 1024);
    assert_ne!(n.capabilities & Capabilities::LARGE_MTU, 0);
    assert!(!n.security_buffer.is_empty(), "the SPNEGO hint is sent");
    assert_eq!(n.security_buffer[0], 0x60, "GSS InitialContextToken");
    let preauth = n.negotiate_contexts.iter().find_map(|c| match c {
        NegotiateContext::PreauthIntegrity {
            hash_algorithms,
            salt,
        } => Some((hash_algorithms.clone(), salt.len())),
        _ => None,
    });
    assert_eq!(preauth, Some((vec![1], 32)), "SHA-512 with a 32-byte salt");
    let signing = n.negotiate_contexts.iter().find_map(|c| match c {
        NegotiateContext::Signing { algorithms } => Some(algorithms.clone()),
        _ => None,
    });
    assert_eq!(
        signing,
        Some(vec![2]),
        "AES-GMAC chosen, unknown 0x0007 skipped"
    );
    assert_eq!(conn.dialect(), Some(Dialect::SMB3_1_1));
    assert_eq!(n.server_guid, ctx.server_guid);
}

#[test]
fn server_guid_is_stable_for_a_server_name() {
    let dir = tempfile::tempdir().unwrap();
    let a = context(dir.path(), &EMPTY_KEYTAB);
    let b = context(dir.path(), &EMPTY_KEYTAB);
    assert_eq!(
        a.server_guid, b.server_guid,
        "same name, same GUID across restarts"
    );
    assert_ne!(a.server_guid, [0; 16]);
    assert_ne!(
        rsmbd::engine::context::stable_guid("nas1"),
        rsmbd::engine::context::stable_guid("nas2")
    );
}

#[test]
fn highest_common_dialect_is_chosen_and_unknown_dialects_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    for (offered, expected) in [
        (vec![0x0202u16], Dialect::SMB2_0_2),
        (vec![0x0202, 0x0210], Dialect::SMB2_1),
        (vec![0x0300, 0x0210, 0x0999], Dialect::SMB3_0),
        (vec![0x0302, 0x0300], Dialect::SMB3_0_2),
    ] {
        let mut conn = Connection::new(ctx.clone(), peer());
        let mut req = negotiate_request();
        req.dialects = offered.iter().map(|d| Dialect(*d)).collect();
        req.negotiate_contexts.clear();
        let a = one(&mut conn, &request(Command::NEGOTIATE, 0, 0, &req)).unwrap();
        assert_eq!(
            negotiate_body(&a).dialect_revision,
            expected,
            "offered {offered:x?}"
        );
        if expected == Dialect::SMB2_0_2 {
            assert_eq!(
                negotiate_body(&a).max_read_size,
                65536,
                "2.0.2 has no multi-credit I/O"
            );
        }
    }
}

#[test]
fn no_common_dialect_is_refused_with_not_supported() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    let mut conn = Connection::new(ctx, peer());
    let mut req = negotiate_request();
    req.dialects = vec![Dialect(0x0100), Dialect(0x0999)];
    let a = one(&mut conn, &request(Command::NEGOTIATE, 0, 0, &req)).unwrap();
    assert_eq!(a.header.status, NtStatus::NOT_SUPPORTED);
    assert_eq!(conn.dialect(), None);
}

#[test]
fn smb311_without_sha512_preauth_is_invalid_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    let mut conn = Connection::new(ctx, peer());
    let mut req = negotiate_request();
    req.negotiate_contexts = vec![NegotiateContext::Signing {
        algorithms: vec![1],
    }];
    let a = one(&mut conn, &request(Command::NEGOTIATE, 0, 0, &req)).unwrap();
    assert_eq!(a.header.status, NtStatus::INVALID_PARAMETER);
}

#[test]
fn smb1_multi_protocol_negotiate_gets_the_wildcard_then_smb2_negotiates() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    let mut conn = Connection::new(ctx, peer());
    let smb1 = Smb1Negotiate {
        dialects: vec!["NT LM 0.12".into(), "SMB 2.002".into(), "SMB 2.???".into()],
    };
    let a = one(&mut conn, &smb1.encode()).unwrap();
    assert_eq!(a.header.command, Command::NEGOTIATE);
    assert_eq!(negotiate_body(&a).dialect_revision, Dialect::SMB2_WILDCARD);
    assert_eq!(
        conn.dialect(),
        None,
        "the wildcard does not settle the dialect"
    );
    let b = one(
        &mut conn,
        &request(Command::NEGOTIATE, 1, 0, &negotiate_request()),
    )
    .unwrap();
    assert_eq!(negotiate_body(&b).dialect_revision, Dialect::SMB3_1_1);
}

#[test]
fn smb1_negotiate_offering_only_2_002_settles_2_002() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    let mut conn = Connection::new(ctx, peer());
    let smb1 = Smb1Negotiate {
        dialects: vec!["NT LM 0.12".into(), "SMB 2.002".into()],
    };
    let a = one(&mut conn, &smb1.encode()).unwrap();
    assert_eq!(negotiate_body(&a).dialect_revision, Dialect::SMB2_0_2);
    assert_eq!(conn.dialect(), Some(Dialect::SMB2_0_2));
}

#[test]
fn smb1_only_clients_are_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    let mut conn = Connection::new(ctx, peer());
    let smb1 = Smb1Negotiate {
        dialects: vec!["NT LM 0.12".into()],
    };
    assert!(exchange(&mut conn, &smb1.encode()).is_err());
}

#[test]
fn negotiate_then_echo_without_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path(), &EMPTY_KEYTAB);
    let mut conn = negotiated(&ctx);
    let a = one(
        &mut conn,
        &request(
            Command::ECHO,
            1,
            0,
            &rsmbd_protocol::messages::echo::EchoRequest,
        ),
    )
    .unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    assert!(matches!(a.body(), Response::Echo(_)));
}

#[test]
fn the_signing_preference_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    for (configured, expected) in [
        (vec!["HMAC-SHA256", "AES-128-CMAC"], 0u16),
        (vec!["AES-128-CMAC"], 1),
        (vec!["aes-128-gmac", "AES-128-CMAC"], 2),
    ] {
        let ctx = context_with(dir.path(), &EMPTY_KEYTAB, |c| {
            c.signing_algorithms = configured.iter().map(|s| s.to_string()).collect();
        });
        let mut conn = Connection::new(ctx, peer());
        let mut req = negotiate_request();
        req.negotiate_contexts = vec![
            NegotiateContext::PreauthIntegrity {
                hash_algorithms: vec![1],
                salt: vec![0; 32],
            },
            NegotiateContext::Signing {
                algorithms: vec![2, 1, 0],
            },
        ];
        let a = one(&mut conn, &request(Command::NEGOTIATE, 0, 0, &req)).unwrap();
        let chosen = negotiate_body(&a)
            .negotiate_contexts
            .iter()
            .find_map(|c| match c {
                NegotiateContext::Signing { algorithms } => Some(algorithms.clone()),
                _ => None,
            });
        assert_eq!(chosen, Some(vec![expected]), "preference {configured:?}");
    }
}

#[test]
fn unknown_or_repeated_signing_algorithms_are_config_errors() {
    let mut c = rsmbd::config::Config {
        keytab: Some("/k".into()),
        ..Default::default()
    };
    c.signing_algorithms = vec!["AES-256-CMAC".into()];
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .contains("signing_algorithms")
    );
    c.signing_algorithms = vec!["HMAC-SHA256".into(), "hmac-sha256".into()];
    assert!(c.validate().is_err());
    c.signing_algorithms = vec![];
    assert!(c.validate().is_err());
}
