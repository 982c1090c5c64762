//! MS-NLMP 4.2.4 (NTLMv2) vectors, and hostile AUTHENTICATE messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::client::{self, ClientInput};
use super::keys::{self, Side};
use super::*;
use crate::error::AuthError;

fn h(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const SERVER_CHALLENGE: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];

/// MS-NLMP 4.2.4: the TargetInfo of the example (NbDomainName "Domain", NbComputerName
/// "Server") in a CHALLENGE_MESSAGE with the example's flags.
fn spec_challenge() -> Vec<u8> {
    let mut ti = Vec::new();
    av_pair::put(&mut ti, av_pair::id::NB_DOMAIN_NAME, &utf16le("Domain")).unwrap();
    av_pair::put(&mut ti, av_pair::id::NB_COMPUTER_NAME, &utf16le("Server")).unwrap();
    av_pair::put_eol(&mut ti);
    challenge::build(0xe28a_8233, &SERVER_CHALLENGE, &utf16le("Server"), &ti).unwrap()
}

fn users() -> NtUsers {
    NtUsers::parse(&format!(
        "# test users\nUser@DOMAIN.TEST:{}\n",
        hex(&nt_hash("Password"))
    ))
    .unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn spec_input() -> ClientInput<'static> {
    ClientInput {
        user: "User",
        domain: "Domain",
        nt_hash: nt_hash("Password"),
        client_challenge: [0xaa; 8],
        random_session_key: [0x55; 16],
        timestamp: Some(0),
        target_name: None,
        with_mic: false,
    }
}

const FOREVER: Duration = Duration::from_secs(u64::MAX / 4);

#[test]
fn ms_nlmp_4_2_4_ntlmv2_vectors() {
    // 4.2.2.1.2 NTOWFv1 (the NT hash) and 4.2.4.1.1 NTOWFv2.
    assert_eq!(
        nt_hash("Password").to_vec(),
        h("a4f49c406510bdcab6824ee7c30fd852")
    );
    let key = keys::ntowf_v2(&nt_hash("Password"), "User", "Domain");
    assert_eq!(key.to_vec(), h("0c868a403bfd7a93a3001ef22ef02e3f"));
    // 4.2.4.2.2: NTProofStr over the example's temp; 4.2.4.1.2 session base key; 4.2.4.2.3
    // encrypted session key.
    let chal = spec_challenge();
    let (auth, exported) =
        client::authenticate(&client::negotiate(0xe28a_8233), &chal, &spec_input()).unwrap();
    let a = authenticate::Authenticate::parse(&auth).unwrap();
    let v2 = authenticate::NtlmV2Response::parse(a.nt_response).unwrap();
    assert_eq!(v2.proof.to_vec(), h("68cd0ab851e51c96aabc927bebef6a1c"));
    let sbk = keys::session_base_key(&key, &v2.proof);
    assert_eq!(sbk.to_vec(), h("8de40ccadbc14a82f15cb0ad0de95ca3"));
    assert_eq!(
        a.encrypted_session_key.to_vec(),
        h("c5dad2544fc9799094ce1ce90bc9d03e")
    );
    assert_eq!(exported.to_vec(), vec![0x55; 16]);
}

#[test]
fn spec_exchange_is_accepted_with_the_exported_key() {
    let chal = spec_challenge();
    let neg = client::negotiate(0xe28a_8233);
    let (auth, exported) = client::authenticate(&neg, &chal, &spec_input()).unwrap();
    let server = NtlmServer::with_challenge(neg, chal, SERVER_CHALLENGE);
    let acc = server
        .authenticate(&auth, &users(), FOREVER, SystemTime::now())
        .unwrap();
    assert_eq!(acc.principal, "User@DOMAIN.TEST");
    assert_eq!(acc.client_name, "Domain\\User");
    assert_eq!(*acc.session_key, *exported);
    assert_eq!(acc.target_spn, None);
}

/// A fresh exchange through the real challenge builder: (server, negotiate, challenge, now).
fn live() -> (NtlmServer, Vec<u8>, Vec<u8>, SystemTime) {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let neg = client::negotiate(client::CLIENT_FLAGS);
    let names = TargetNames::new("nas1", "data2.example.test");
    let (server, chal) = NtlmServer::challenge(&neg, &names, now).unwrap();
    (server, neg, chal, now)
}

fn live_input() -> ClientInput<'static> {
    ClientInput {
        timestamp: None,
        target_name: Some("cifs/data2.example.test"),
        with_mic: true,
        ..spec_input()
    }
}

const SKEW: Duration = Duration::from_secs(300);

#[test]
fn challenge_carries_target_info_and_a_random_challenge() {
    let (_, neg, chal, now) = live();
    let (_, chal2, _) = {
        let (s, c) = NtlmServer::challenge(&neg, &TargetNames::new("nas1", "x.y"), now).unwrap();
        (s, c, ())
    };
    assert_ne!(chal[24..32], chal2[24..32], "server challenge is random");
    let ti = av_pair::parse(fields::payload(&chal, 40, "ti").unwrap()).unwrap();
    let get = |id| from_utf16le(av_pair::find(&ti, id).unwrap()).unwrap();
    assert_eq!(get(av_pair::id::NB_COMPUTER_NAME), "NAS1");
    assert_eq!(get(av_pair::id::NB_DOMAIN_NAME), "NAS1");
    assert_eq!(get(av_pair::id::DNS_COMPUTER_NAME), "data2.example.test");
    assert_eq!(get(av_pair::id::DNS_DOMAIN_NAME), "example.test");
    let ts = av_pair::find(&ti, av_pair::id::TIMESTAMP).unwrap();
    assert_eq!(
        u64::from_le_bytes(ts.try_into().unwrap()),
        server::filetime(now)
    );
    let flags = fields::u32_at(&chal, 20).unwrap();
    assert!(flags & flags::KEY_EXCH != 0 && flags & flags::TARGET_INFO != 0);
}

#[test]
fn live_exchange_with_mic_and_target_name() {
    let (server, neg, chal, now) = live();
    let (auth, exported) = client::authenticate(&neg, &chal, &live_input()).unwrap();
    let acc = server.authenticate(&auth, &users(), SKEW, now).unwrap();
    assert_eq!(*acc.session_key, *exported);
    assert_eq!(acc.target_spn.as_deref(), Some("cifs/data2.example.test"));
    // The SPNEGO mechListMIC: the client's signature verifies, a changed list does not.
    let der = b"mechTypes DER";
    let client_mic = keys::first_signature(&exported, Side::Client, acc.flags, der);
    assert!(acc.verify_client_mic(der, &client_mic));
    assert!(!acc.verify_client_mic(b"other list", &client_mic));
    assert_ne!(acc.server_mic(der), client_mic.to_vec());
}

#[test]
fn tampered_mic_or_message_is_refused() {
    let (server, neg, chal, now) = live();
    let (mut auth, _) = client::authenticate(&neg, &chal, &live_input()).unwrap();
    auth[authenticate::MIC_OFFSET] ^= 1;
    let e = server.authenticate(&auth, &users(), SKEW, now).unwrap_err();
    assert!(matches!(e, AuthError::NtlmMicMismatch { .. }), "{e}");
    // A relay stripping the SIGN flag breaks the MIC, not the NTLMv2 proof.
    let (mut auth, _) = client::authenticate(&neg, &chal, &live_input()).unwrap();
    auth[60] &= !(flags::SIGN as u8);
    let e = server.authenticate(&auth, &users(), SKEW, now).unwrap_err();
    assert!(matches!(e, AuthError::NtlmMicMismatch { .. }), "{e}");
}

#[test]
fn wrong_password_and_unknown_user_are_named() {
    let (server, neg, chal, now) = live();
    let input = ClientInput {
        nt_hash: nt_hash("wrong"),
        ..live_input()
    };
    let (auth, _) = client::authenticate(&neg, &chal, &input).unwrap();
    let e = server.authenticate(&auth, &users(), SKEW, now).unwrap_err();
    assert_eq!(
        e,
        AuthError::NtlmBadResponse {
            client: "Domain\\User".into()
        }
    );
    let input = ClientInput {
        user: "mallory",
        ..live_input()
    };
    let (auth, _) = client::authenticate(&neg, &chal, &input).unwrap();
    let e = server.authenticate(&auth, &users(), SKEW, now).unwrap_err();
    assert!(
        e.to_string()
            .contains("Domain\\mallory is not in ntlm_users"),
        "{e}"
    );
}

#[test]
fn user_names_match_case_insensitively() {
    let (server, neg, chal, now) = live();
    let input = ClientInput {
        user: "USER",
        ..live_input()
    };
    let (auth, _) = client::authenticate(&neg, &chal, &input).unwrap();
    assert!(server.authenticate(&auth, &users(), SKEW, now).is_ok());
}

#[test]
fn stale_timestamp_is_refused_as_skew() {
    let (server, neg, chal, now) = live();
    let ten_min_ago = server::filetime(now) - 600 * 10_000_000;
    let input = ClientInput {
        timestamp: Some(ten_min_ago),
        ..live_input()
    };
    let (auth, _) = client::authenticate(&neg, &chal, &input).unwrap();
    let e = server.authenticate(&auth, &users(), SKEW, now).unwrap_err();
    assert_eq!(
        e,
        AuthError::NtlmSkew {
            client: "Domain\\User".into(),
            offset_secs: -600,
            max_skew_secs: 300
        }
    );
    assert!(e.to_string().contains("-600 s"), "{e}");
}

/// An AUTHENTICATE_MESSAGE whose NtChallengeResponse is `nt` and UserName `user`.
fn with_nt_response(nt: &[u8], user: &str) -> Vec<u8> {
    let user = utf16le(user);
    let fields: [&[u8]; 6] = [&[0u8; 24], nt, b"", &user, b"", b""];
    let mut m = SIGNATURE.to_vec();
    m.extend_from_slice(&3u32.to_le_bytes());
    let mut off = 88;
    for f in fields {
        fields::put_field(&mut m, f.len(), off).unwrap();
        off += f.len();
    }
    m.extend_from_slice(&client::CLIENT_FLAGS.to_le_bytes());
    m.extend_from_slice(&[0u8; 24]);
    for f in fields {
        m.extend_from_slice(f);
    }
    m
}

#[test]
fn ntlmv1_lm_and_anonymous_are_refused() {
    let (server, _, _, now) = live();
    let e = server
        .authenticate(&with_nt_response(&[7u8; 24], "User"), &users(), SKEW, now)
        .unwrap_err();
    assert!(matches!(e, AuthError::NtlmV1 { nt_len: 24, .. }), "{e}");
    assert!(e.to_string().contains("only NTLMv2 is accepted"));
    let e = server
        .authenticate(&with_nt_response(b"", "User"), &users(), SKEW, now)
        .unwrap_err();
    assert!(matches!(e, AuthError::NtlmV1 { nt_len: 0, .. }), "{e}");
    let e = server
        .authenticate(&with_nt_response(b"", ""), &users(), SKEW, now)
        .unwrap_err();
    assert!(matches!(e, AuthError::NtlmAnonymous { .. }), "{e}");
}

#[test]
fn hostile_authenticate_messages_never_panic() {
    let (server, neg, chal, now) = live();
    let (auth, _) = client::authenticate(&neg, &chal, &live_input()).unwrap();
    // Every truncation is refused (the MIC or a field no longer fits).
    for n in 0..auth.len() {
        assert!(
            server
                .authenticate(&auth[..n], &users(), SKEW, now)
                .is_err(),
            "truncated to {n}"
        );
    }
    // Every single-byte change is refused (or, in ignored bytes, still the same user).
    for i in 0..auth.len() {
        for v in [0x00, 0xff, 0x80] {
            let mut m = auth.clone();
            if m[i] == v {
                continue;
            }
            m[i] = v;
            if let Ok(acc) = server.authenticate(&m, &users(), SKEW, now) {
                assert_eq!(acc.principal, "User@DOMAIN.TEST", "byte {i}");
            }
        }
    }
    // Field descriptors pointing past the end, huge offsets, overlapping the header.
    for at in [12usize, 20, 28, 36, 44, 52] {
        for (len, off) in [
            (0xffffu16, 88u32),
            (16, u32::MAX),
            (16, u32::MAX - 8),
            (40, 0),
        ] {
            let mut m = auth.clone();
            m[at..at + 2].copy_from_slice(&len.to_le_bytes());
            m[at + 4..at + 8].copy_from_slice(&off.to_le_bytes());
            assert!(server.authenticate(&m, &users(), SKEW, now).is_err());
        }
    }
    // AV_PAIR lists that run off the end or lack MsvAvEOL.
    assert!(av_pair::parse(&[2, 0, 0xff, 0xff, 1]).is_err());
    assert!(av_pair::parse(&[2, 0, 2, 0, 1, 2]).is_err());
    assert!(av_pair::parse(&[]).is_err());
    assert!(negotiate::Negotiate::parse(b"NTLMSSP\0\x01\0\0").is_err());
    assert!(negotiate::Negotiate::parse(b"NTLMSSP\0\x03\0\0\0\0\0\0\0").is_err());
}

#[test]
fn password_file_format() {
    let u = NtUsers::parse("\n# c\nalice:a4f49c406510bdcab6824ee7c30fd852\nbob@EXAMPLE.TEST : A4F49C406510BDCAB6824EE7C30FD852\n").unwrap();
    assert_eq!(u.len(), 2);
    assert_eq!(u.lookup("ALICE").unwrap().0, "alice");
    assert_eq!(u.lookup("bob").unwrap().0, "bob@EXAMPLE.TEST");
    assert!(NtUsers::parse("alice:zz").unwrap_err().contains("line 1"));
    assert!(NtUsers::parse("alice").is_err());
    assert!(
        NtUsers::parse("a:a4f49c406510bdcab6824ee7c30fd852\nA:a4f49c406510bdcab6824ee7c30fd852")
            .unwrap_err()
            .contains("twice")
    );
}
