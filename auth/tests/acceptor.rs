//! Acceptor tests without a KDC: tickets minted in-test (see `common`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use rasn::types::OctetString;
use rsmbd_auth::asn1::kerberos::{AuthorizationData, AuthorizationDataEntry};
use rsmbd_auth::asn1::spnego::NegState;
use rsmbd_auth::crypto::Enctype;
use rsmbd_auth::gss::oid;
use rsmbd_auth::kerberos::{mic, reply::parse_krb_error};
use rsmbd_auth::keytab::Keytab;
use rsmbd_auth::{Acceptor, AuthError, Mechanism, Step, negotiate_hint};

fn acceptor() -> Acceptor {
    Acceptor::new(config(keytab()), replay())
}

/// Accept via SPNEGO with `mechs` (krb5 first) and an optimistic token; return (session, resp).
fn accept_one_leg(
    m: &Mint,
    mech_oid: &[u8],
    mechs: &[&'static [u32]],
) -> (rsmbd_auth::Authenticated, Minted) {
    let minted = m.mint();
    let tok = spnego_init(mechs, Some(krb5_token(&minted.ap_req, mech_oid)));
    let mut a = acceptor();
    match a.step(&tok, now()) {
        Step::Done { output, session } => {
            let r = decode_resp(&output);
            assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
            assert_eq!(
                r.supported_mech.as_ref().map(|o| o.to_vec()),
                Some(mechs[0].to_vec()),
                "echo first krb5 OID"
            );
            assert!(
                r.mech_list_mic.is_none(),
                "no unsolicited mechListMIC (R12)"
            );
            check_ap_rep(&r.response_token.unwrap(), &minted);
            (session, minted)
        }
        other => panic!("expected Done, got {other:?}"),
    }
}

fn refused(step: Step) -> (Option<Vec<u8>>, AuthError, bool) {
    let mp = step.more_processing_required();
    match step {
        Step::Refused { output, error } => {
            // The engine relies on this: a token exactly when there is a KRB-ERROR.
            assert_eq!(
                output.is_some(),
                error.krb_error_code().is_some(),
                "{error}"
            );
            assert_eq!(mp, output.is_some());
            (output, error, mp)
        }
        other => panic!("expected Refused, got {other:?}"),
    }
}

/// The KRB-ERROR code inside a NegTokenResp reject.
fn krb_error_code_in(output: &[u8]) -> i32 {
    let r = decode_resp(output);
    assert_eq!(r.neg_state, Some(NegState::Reject));
    parse_krb_error(&r.response_token.expect("KRB-ERROR token"))
        .unwrap()
        .error_code
}

#[test]
fn accepts_aes256_ms_krb5_without_subkey() {
    let (s, minted) = accept_one_leg(
        &Mint::default(),
        oid::MS_KRB5,
        &[oid::MS_KRB5_ARCS, oid::KRB5_ARCS],
    );
    assert_eq!(s.principal, "alice@EXAMPLE.TEST");
    assert_eq!(s.spn, "cifs/smb1.example.test@EXAMPLE.TEST");
    assert_eq!(
        s.mechanism,
        Mechanism::Kerberos {
            oid: "1.2.840.48018.1.2.2"
        }
    );
    assert_eq!(
        (s.kvno, s.kvno_fallback, s.ticket_enctype, s.session_enctype),
        (3, false, 18, 18)
    );
    assert_eq!(
        s.session_key.as_bytes(),
        minted.ticket_session_key.as_bytes()
    );
    assert_eq!(s.session_key.as_bytes().len(), 32);
    assert!(s.pac.is_none());
    assert_eq!(
        s.ticket_end,
        now() + std::time::Duration::from_secs(9 * 3600)
    );
}

#[test]
fn accepts_aes128_krb5_oid_with_subkey() {
    let m = Mint {
        ticket_key: service_key(Enctype::Aes128CtsHmacSha196, HOST, PASSWORD),
        session_enctype: Enctype::Aes128CtsHmacSha196,
        subkey: Some(Enctype::Aes128CtsHmacSha196),
        ..Mint::default()
    };
    let (s, minted) = accept_one_leg(&m, oid::KRB5, &[oid::KRB5_ARCS, oid::NTLMSSP_ARCS]);
    assert_eq!(
        s.mechanism,
        Mechanism::Kerberos {
            oid: "1.2.840.113554.1.2.2"
        }
    );
    assert_eq!((s.ticket_enctype, s.session_enctype), (17, 17));
    assert_eq!(
        s.session_key.as_bytes(),
        minted.subkey.as_ref().unwrap().as_bytes(),
        "subkey wins"
    );
    assert_ne!(
        s.session_key.as_bytes(),
        minted.ticket_session_key.as_bytes()
    );
}

#[test]
fn accepts_aes256_ticket_with_aes256_subkey_and_no_seq() {
    let m = Mint {
        subkey: Some(Enctype::Aes256CtsHmacSha196),
        seq: None,
        ..Mint::default()
    };
    let (s, minted) = accept_one_leg(&m, oid::KRB5, &[oid::KRB5_ARCS]);
    assert_eq!(
        s.session_key.as_bytes(),
        minted.expected_session_key().as_bytes()
    );
}

#[test]
fn accepts_rfc8009_enctypes() {
    for e in [
        Enctype::Aes128CtsHmacSha256128,
        Enctype::Aes256CtsHmacSha384192,
    ] {
        let key = service_key(e, HOST, PASSWORD);
        let kt = Keytab::from_entries(vec![entry(HOST, 3, &key)]);
        let minted = Mint {
            ticket_key: key,
            session_enctype: e,
            ..Mint::default()
        }
        .mint();
        let mut a = Acceptor::new(config(kt), replay());
        match a.step(
            &spnego_init(
                &[oid::KRB5_ARCS],
                Some(krb5_token(&minted.ap_req, oid::KRB5)),
            ),
            now(),
        ) {
            Step::Done { session, .. } => {
                assert_eq!(session.ticket_enctype, e.number());
                assert_eq!(
                    session.session_key.as_bytes(),
                    minted.ticket_session_key.as_bytes()
                );
            }
            other => panic!("{e:?}: {other:?}"),
        }
    }
}

#[test]
fn raw_krb5_gets_raw_gss_ap_rep() {
    let minted = Mint::default().mint();
    let mut a = acceptor();
    match a.step(&krb5_token(&minted.ap_req, oid::KRB5), now()) {
        Step::Done { output, session } => {
            check_ap_rep(&output, &minted)
                .expect("seq-number echoed because the authenticator had one");
            assert_eq!(
                session.mechanism,
                Mechanism::Kerberos { oid: oid::KRB5_STR }
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_key_is_krb_ap_err_modified() {
    let m = Mint {
        ticket_key: service_key(Enctype::Aes256CtsHmacSha196, HOST, "other-password"),
        ..Mint::default()
    };
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
    );
    let (out, err, mp) = refused(acceptor().step(&tok, now()));
    assert!(matches!(err, AuthError::TicketModified { .. }), "{err}");
    assert_eq!(err.krb_error_code(), Some(41));
    assert_eq!(krb_error_code_in(&out.unwrap()), 41);
    assert!(mp, "KRB-ERROR present → MORE_PROCESSING_REQUIRED, as Samba");
    assert!(
        err.to_string()
            .contains("cifs/smb1.example.test@EXAMPLE.TEST")
    );
}

#[test]
fn spn_missing_from_keytab_names_it_and_the_keytab() {
    let m = Mint {
        host: "data2.example.test".into(),
        kvno: Some(7),
        ..Mint::default()
    };
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
    );
    let (out, err, _) = refused(acceptor().step(&tok, now()));
    assert_eq!(err.krb_error_code(), Some(45));
    assert_eq!(krb_error_code_in(&out.unwrap()), 45);
    let line = err.to_string();
    assert!(!line.contains('\n'));
    assert!(line.starts_with(
        "no key in keytab for cifs/data2.example.test@EXAMPLE.TEST (ticket kvno 7, aes256-cts-hmac-sha1-96); keytab holds: cifs/smb1.example.test@EXAMPLE.TEST kvno 3 [aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96]"
    ), "{line}");
}

#[test]
fn skew_beyond_five_minutes_returns_krb_ap_err_skew_with_server_time() {
    for offset in [301i64, -301, 3600] {
        let m = Mint {
            ctime_offset: offset,
            ..Mint::default()
        };
        let tok = spnego_init(
            &[oid::KRB5_ARCS],
            Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
        );
        let (out, err, mp) = refused(acceptor().step(&tok, now()));
        assert!(
            matches!(err, AuthError::Skew { offset_secs, .. } if offset_secs == offset),
            "{err}"
        );
        assert!(mp);
        let r = decode_resp(&out.unwrap());
        let e = parse_krb_error(&r.response_token.unwrap()).unwrap();
        assert_eq!(e.error_code, 37);
        assert_eq!(e.stime, rsmbd_auth::asn1::kerberos::kerberos_time(now()));
        assert!(e.ctime.is_some());
    }
    // Within the window is fine.
    let m = Mint {
        ctime_offset: 299,
        ..Mint::default()
    };
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
    );
    assert!(matches!(acceptor().step(&tok, now()), Step::Done { .. }));
}

/// [MS-KILE 3.4.5] Clock skew recovery: the first KRB_AP_ERR_SKEW keeps the exchange open
/// (accept-incomplete, KERB-ERROR-DATA KERB_AP_ERR_TYPE_SKEW_RECOVERY in e-data); an AP-REQ with
/// a corrected time then logs on; a second skewed one ends the exchange with reject.
#[test]
fn skew_recovery_allows_one_corrected_ap_req() {
    let skewed = || Mint {
        ctime_offset: 600,
        ..Mint::default()
    };
    let mut a = acceptor();
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&skewed().mint().ap_req, oid::KRB5)),
    );
    let (out, err, mp) = refused(a.step(&tok, now()));
    assert!(matches!(err, AuthError::Skew { .. }), "{err}");
    assert!(mp && a.awaits_retry());
    let r = decode_resp(&out.unwrap());
    assert_eq!(r.neg_state, Some(NegState::AcceptIncomplete));
    let e = parse_krb_error(&r.response_token.unwrap()).unwrap();
    assert_eq!(e.error_code, 37);
    assert_eq!(
        e.e_data.as_deref(),
        Some(&[0x30, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x02][..]),
        "KERB-ERROR-DATA {{ data-type 2 }}"
    );
    // The corrected AP-REQ, as the mechToken of a NegTokenResp: AP-REP and our MIC (the
    // optimistic token was not the accepted one, so RFC 4178 §5 wants the MIC exchange).
    let minted = Mint::default().mint();
    let retry = spnego_resp(Some(krb5_token(&minted.ap_req, oid::KRB5)), None);
    let out = match a.step(&retry, now()) {
        Step::Continue { output } => output,
        other => panic!("{other:?}"),
    };
    let r = decode_resp(&out);
    assert_eq!(r.neg_state, Some(NegState::AcceptIncomplete));
    let seq = check_ap_rep(&r.response_token.unwrap(), &minted).unwrap();
    let mech_types_der = rasn::der::encode(&vec![oid_arcs(oid::KRB5_ARCS)]).unwrap();
    let key = minted.expected_session_key();
    assert_eq!(
        r.mech_list_mic.unwrap().to_vec(),
        mic::acceptor_mic(key, &mech_types_der, u64::from(seq)).unwrap()
    );
    let client_mic = mic::initiator_mic(key, &mech_types_der, 1).unwrap();
    match a.step(&spnego_resp(None, Some(client_mic)), now()) {
        Step::Done { output, session } => {
            assert_eq!(
                decode_resp(&output).neg_state,
                Some(NegState::AcceptCompleted)
            );
            assert_eq!(session.session_key.as_bytes(), key.as_bytes());
        }
        other => panic!("{other:?}"),
    }

    // Skewed twice: the second refusal is final.
    let mut a = acceptor();
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&skewed().mint().ap_req, oid::KRB5)),
    );
    let _ = refused(a.step(&tok, now()));
    let again = spnego_resp(Some(krb5_token(&skewed().mint().ap_req, oid::KRB5)), None);
    let (out, err, _) = refused(a.step(&again, now()));
    assert!(matches!(err, AuthError::Skew { .. }), "{err}");
    assert!(!a.awaits_retry());
    assert_eq!(krb_error_code_in(&out.unwrap()), 37);
    // Raw krb5 (no SPNEGO) has no second round: no recovery, no e-data.
    let mut a = acceptor();
    let (out, _, _) = refused(a.step(&krb5_token(&skewed().mint().ap_req, oid::KRB5), now()));
    assert!(!a.awaits_retry());
    assert!(parse_krb_error(&out.unwrap()).unwrap().e_data.is_none());
}

#[test]
fn expired_and_not_yet_valid_tickets() {
    let m = Mint {
        start_offset: -7200,
        end_offset: -400,
        ..Mint::default()
    };
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
    );
    let (out, err, _) = refused(acceptor().step(&tok, now()));
    assert!(
        matches!(
            err,
            AuthError::TicketExpired {
                expired_secs_ago: 400,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(krb_error_code_in(&out.unwrap()), 32);

    let m = Mint {
        start_offset: 600,
        end_offset: 3600,
        ..Mint::default()
    };
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
    );
    let (out, err, _) = refused(acceptor().step(&tok, now()));
    assert!(
        matches!(
            err,
            AuthError::TicketNotYetValid {
                starts_in_secs: 600,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(krb_error_code_in(&out.unwrap()), 33);

    // Expired less than the skew ago still passes (RFC 4120 allows the skew on endtime).
    let m = Mint {
        start_offset: -7200,
        end_offset: -200,
        ..Mint::default()
    };
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
    );
    assert!(matches!(acceptor().step(&tok, now()), Step::Done { .. }));
}

#[test]
fn replay_is_refused_across_acceptors_sharing_the_cache() {
    let cfg = config(keytab());
    let cache = replay();
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&Mint::default().mint().ap_req, oid::KRB5)),
    );
    assert!(matches!(
        Acceptor::new(cfg.clone(), cache.clone()).step(&tok, now()),
        Step::Done { .. }
    ));
    let (out, err, _) = refused(Acceptor::new(cfg, cache).step(&tok, now()));
    assert!(matches!(err, AuthError::Replay { .. }), "{err}");
    assert_eq!(krb_error_code_in(&out.unwrap()), 34);
}

#[test]
fn cname_mismatch_is_badmatch() {
    let m = Mint {
        auth_client: Some("mallory".into()),
        ..Mint::default()
    };
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
    );
    let (out, err, _) = refused(acceptor().step(&tok, now()));
    assert!(matches!(err, AuthError::ClientMismatch { .. }), "{err}");
    assert!(err.to_string().contains("mallory@EXAMPLE.TEST"));
    assert_eq!(krb_error_code_in(&out.unwrap()), 36);
}

#[test]
fn utf8_principals_eur_and_jurgen() {
    for name in ["eur€", "jürgen"] {
        let m = Mint {
            client: name.into(),
            ..Mint::default()
        };
        let (s, _) = accept_one_leg(&m, oid::KRB5, &[oid::KRB5_ARCS]);
        assert_eq!(s.principal, format!("{name}@EXAMPLE.TEST"));
    }
}

#[test]
fn kvno_fallback_and_stale_keytab() {
    // Ticket says kvno 5, keytab only has kvno 4 with the right key: accepted, fallback noted.
    let key = service_key(Enctype::Aes256CtsHmacSha196, HOST, PASSWORD);
    let kt = Keytab::from_entries(vec![entry(HOST, 4, &key)]);
    let m = Mint {
        kvno: Some(5),
        ..Mint::default()
    };
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
    );
    match Acceptor::new(config(kt), replay()).step(&tok, now()) {
        Step::Done { session, .. } => assert_eq!((session.kvno, session.kvno_fallback), (4, true)),
        other => panic!("{other:?}"),
    }
    // kvno 0 entries act as wildcards too, tried after the others.
    let old = service_key(Enctype::Aes256CtsHmacSha196, HOST, "old-password");
    let kt = Keytab::from_entries(vec![entry(HOST, 0, &key), entry(HOST, 2, &old)]);
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
    );
    match Acceptor::new(config(kt), replay()).step(&tok, now()) {
        Step::Done { session, .. } => assert_eq!((session.kvno, session.kvno_fallback), (0, true)),
        other => panic!("{other:?}"),
    }
    // Stale keytab: only an old key at another kvno → BADKEYVER naming both kvnos.
    let kt = Keytab::from_entries(vec![entry(HOST, 2, &old)]);
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&m.mint().ap_req, oid::KRB5)),
    );
    let (out, err, _) = refused(Acceptor::new(config(kt), replay()).step(&tok, now()));
    assert!(
        matches!(err, AuthError::BadKeyVersion { kvno: 5, .. }),
        "{err}"
    );
    assert_eq!(krb_error_code_in(&out.unwrap()), 44);
}

#[test]
fn ntlm_only_is_refused_when_ntlm_is_off() {
    let tok = spnego_init(&[oid::NTLMSSP_ARCS], Some(b"NTLMSSP\0\x01\0\0\0".to_vec()));
    let (out, err, mp) = refused(acceptor().step(&tok, now()));
    assert_eq!(
        err,
        AuthError::NtlmDisabled {
            offered: vec!["1.3.6.1.4.1.311.2.2.10".into()]
        }
    );
    assert!(err.to_string().contains("NTLM is off on this listener"));
    assert!(!mp, "no KRB-ERROR → LOGON_FAILURE");
    assert!(out.is_none(), "no token without a KRB-ERROR");
    // Raw NTLMSSP without SPNEGO too.
    let (_, err, _) = refused(acceptor().step(b"NTLMSSP\0\x01\0\0\0", now()));
    assert!(matches!(err, AuthError::NtlmDisabled { .. }));
    // A mechanism we do not know at all is still "unsupported".
    let tok = spnego_init(&[&[1, 2, 3, 4]], None);
    let (_, err, _) = refused(acceptor().step(&tok, now()));
    assert!(matches!(err, AuthError::UnsupportedMechanism { .. }));
}

#[test]
fn ntlm_first_then_krb5_exchanges_mechlistmic() {
    let mechs: &[&'static [u32]] = &[oid::NTLMSSP_ARCS, oid::KRB5_ARCS];
    let mut a = acceptor();
    // Leg 1: NTLM optimistic token ignored; we pick krb5 and request a MIC.
    let out = match a.step(
        &spnego_init(mechs, Some(b"NTLMSSP\0\x01\0\0\0".to_vec())),
        now(),
    ) {
        Step::Continue { output } => output,
        other => panic!("{other:?}"),
    };
    let r = decode_resp(&out);
    assert_eq!(r.neg_state, Some(NegState::RequestMic));
    assert_eq!(r.supported_mech.unwrap().to_vec(), oid::KRB5_ARCS.to_vec());
    assert!(r.response_token.is_none());

    // Leg 2: AP-REQ → AP-REP plus our MIC, accept-incomplete.
    let minted = Mint {
        subkey: Some(Enctype::Aes256CtsHmacSha196),
        ..Mint::default()
    }
    .mint();
    let out = match a.step(
        &spnego_resp(Some(krb5_token(&minted.ap_req, oid::KRB5)), None),
        now(),
    ) {
        Step::Continue { output } => output,
        other => panic!("{other:?}"),
    };
    let r = decode_resp(&out);
    assert_eq!(r.neg_state, Some(NegState::AcceptIncomplete));
    assert!(
        r.supported_mech.is_none(),
        "supportedMech only in the first reply"
    );
    let seq = check_ap_rep(&r.response_token.unwrap(), &minted).unwrap();
    let mech_types_der =
        rasn::der::encode(&mechs.iter().map(|m| oid_arcs(m)).collect::<Vec<_>>()).unwrap();
    let key = minted.expected_session_key();
    let want = mic::acceptor_mic(key, &mech_types_der, u64::from(seq)).unwrap();
    assert_eq!(
        r.mech_list_mic.unwrap().to_vec(),
        want,
        "our MIC: usage 23, SND_SEQ = AP-REP seq"
    );

    // Leg 3: the client's MIC (usage 25) → accept-completed.
    let client_mic = mic::initiator_mic(key, &mech_types_der, 12345).unwrap();
    match a.step(&spnego_resp(None, Some(client_mic)), now()) {
        Step::Done { output, session } => {
            assert_eq!(
                decode_resp(&output).neg_state,
                Some(NegState::AcceptCompleted)
            );
            assert_eq!(session.session_key.as_bytes(), key.as_bytes());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_client_mic_is_refused() {
    let mechs: &[&'static [u32]] = &[oid::NTLMSSP_ARCS, oid::MS_KRB5_ARCS];
    let mut a = acceptor();
    assert!(matches!(
        a.step(&spnego_init(mechs, None), now()),
        Step::Continue { .. }
    ));
    let minted = Mint::default().mint();
    assert!(matches!(
        a.step(
            &spnego_resp(Some(krb5_token(&minted.ap_req, oid::MS_KRB5)), None),
            now()
        ),
        Step::Continue { .. }
    ));
    // MIC over a different mech list (downgrade attempt).
    let other = rasn::der::encode(&vec![oid_arcs(oid::MS_KRB5_ARCS)]).unwrap();
    let bad = mic::initiator_mic(minted.expected_session_key(), &other, 12345).unwrap();
    let (_, err, _) = refused(a.step(&spnego_resp(None, Some(bad)), now()));
    assert!(matches!(err, AuthError::MicMismatch { .. }), "{err}");
}

#[test]
fn krb5_first_without_token_takes_two_legs_and_no_mic() {
    let mut a = acceptor();
    let out = match a.step(
        &spnego_init(&[oid::MS_KRB5_ARCS, oid::KRB5_ARCS], None),
        now(),
    ) {
        Step::Continue { output } => output,
        other => panic!("{other:?}"),
    };
    let r = decode_resp(&out);
    assert_eq!(r.neg_state, Some(NegState::AcceptIncomplete));
    assert_eq!(
        r.supported_mech.unwrap().to_vec(),
        oid::MS_KRB5_ARCS.to_vec()
    );
    let minted = Mint::default().mint();
    match a.step(
        &spnego_resp(Some(krb5_token(&minted.ap_req, oid::KRB5)), None),
        now(),
    ) {
        Step::Done { output, session } => {
            let r = decode_resp(&output);
            assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
            assert!(r.mech_list_mic.is_none());
            check_ap_rep(&r.response_token.unwrap(), &minted);
            assert_eq!(
                session.mechanism,
                Mechanism::Kerberos {
                    oid: oid::MS_KRB5_STR
                }
            );
        }
        other => panic!("{other:?}"),
    }
    // Anything after Done is unexpected.
    let (_, err, _) = refused(a.step(&spnego_resp(None, None), now()));
    assert!(matches!(err, AuthError::Unexpected { .. }));
}

#[test]
fn empty_input_gets_the_negotiate_hint() {
    let mut a = acceptor();
    match a.step(&[], now()) {
        Step::Continue { output } => assert_eq!(output, negotiate_hint()),
        other => panic!("{other:?}"),
    }
    // And the exchange can still proceed.
    let minted = Mint::default().mint();
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&minted.ap_req, oid::KRB5)),
    );
    assert!(matches!(a.step(&tok, now()), Step::Done { .. }));
}

#[test]
fn negotiate_hint_is_negtokeninit2_with_ms_krb5_first() {
    let h = negotiate_hint();
    let (mech, inner) = rsmbd_auth::gss::unwrap(&h).unwrap();
    assert_eq!(mech, oid::SPNEGO);
    let t: rsmbd_auth::asn1::spnego::NegotiationToken2 = rasn::ber::decode(inner).unwrap();
    let rsmbd_auth::asn1::spnego::NegotiationToken2::NegTokenInit2(init) = t;
    let mechs: Vec<Vec<u32>> = init
        .mech_types
        .unwrap()
        .iter()
        .map(|o| o.to_vec())
        .collect();
    assert_eq!(
        mechs,
        vec![oid::MS_KRB5_ARCS.to_vec(), oid::KRB5_ARCS.to_vec()]
    );
    assert_eq!(
        init.neg_hints.unwrap().hint_name.unwrap().as_bytes(),
        b"not_defined_in_RFC4178@please_ignore"
    );
}

#[test]
fn rc4_refused_by_default_accepted_when_allowed() {
    let key = service_key(Enctype::Rc4Hmac, HOST, PASSWORD);
    let kt = Keytab::from_entries(vec![entry(HOST, 3, &key)]);
    let minted = Mint {
        ticket_key: key,
        session_enctype: Enctype::Rc4Hmac,
        ..Mint::default()
    }
    .mint();
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&minted.ap_req, oid::KRB5)),
    );
    let (_, err, _) = refused(Acceptor::new(config(kt.clone()), replay()).step(&tok, now()));
    assert!(
        matches!(err, AuthError::EnctypeNotAllowed { enctype: 23, .. }),
        "{err}"
    );
    let mut cfg = rsmbd_auth::AcceptorConfig::new(std::sync::Arc::new(kt));
    cfg.allow_rc4 = true;
    match Acceptor::new(std::sync::Arc::new(cfg), replay()).step(&tok, now()) {
        Step::Done { output, session } => {
            assert_eq!((session.ticket_enctype, session.session_enctype), (23, 23));
            check_ap_rep(&decode_resp(&output).response_token.unwrap(), &minted);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pac_is_kept_raw_and_never_required() {
    let pac = vec![1u8, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad];
    let inner: AuthorizationData = vec![AuthorizationDataEntry {
        ad_type: 128,
        ad_data: OctetString::from(pac.clone()),
    }];
    let ad = vec![AuthorizationDataEntry {
        ad_type: 1,
        ad_data: OctetString::from(rasn::der::encode(&inner).unwrap()),
    }];
    let (s, _) = accept_one_leg(
        &Mint {
            auth_data: Some(ad),
            ..Mint::default()
        },
        oid::KRB5,
        &[oid::KRB5_ARCS],
    );
    assert_eq!(s.pac, Some(pac));
    // Undecodable AD-IF-RELEVANT content is ignored, not fatal.
    let ad = vec![AuthorizationDataEntry {
        ad_type: 1,
        ad_data: OctetString::from_static(b"\x30\x05garbage"),
    }];
    let (s, _) = accept_one_leg(
        &Mint {
            auth_data: Some(ad),
            ..Mint::default()
        },
        oid::KRB5,
        &[oid::KRB5_ARCS],
    );
    assert!(s.pac.is_none());
}

#[test]
fn non_mutual_request_gets_no_ap_rep() {
    let minted = Mint {
        mutual: false,
        ..Mint::default()
    }
    .mint();
    let tok = spnego_init(
        &[oid::KRB5_ARCS],
        Some(krb5_token(&minted.ap_req, oid::KRB5)),
    );
    match acceptor().step(&tok, now()) {
        Step::Done { output, .. } => assert!(decode_resp(&output).response_token.is_none()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_and_corrupted_tokens_never_panic() {
    let minted = Mint::default().mint();
    let tok = spnego_init(
        &[oid::NTLMSSP_ARCS, oid::KRB5_ARCS],
        Some(krb5_token(&minted.ap_req, oid::KRB5)),
    );
    for cut in 0..tok.len() {
        let _ = acceptor().step(&tok[..cut], now());
    }
    let krb = krb5_token(&minted.ap_req, oid::KRB5);
    for cut in 0..krb.len() {
        let _ = acceptor().step(&krb[..cut], now());
        let mut a = acceptor();
        let _ = a.step(
            &spnego_init(&[oid::NTLMSSP_ARCS, oid::KRB5_ARCS], None),
            now(),
        );
        let _ = a.step(&spnego_resp(Some(krb[..cut].to_vec()), None), now());
    }
    // Flip each byte of the AP-REQ: must be refused or (if the flip hits a don't-care bit) accepted, never panic.
    for i in 0..minted.ap_req.len() {
        let mut bad = minted.ap_req.clone();
        bad[i] ^= 0x55;
        let _ = Acceptor::new(config(keytab()), replay()).step(&krb5_token(&bad, oid::KRB5), now());
    }
    // Deterministic pseudo-random garbage.
    let mut x: u32 = 0x1234_5678;
    for len in 0..300usize {
        let g: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x & 0xff) as u8
            })
            .collect();
        let _ = acceptor().step(&g, now());
        let mut prefixed = vec![
            0x60, 0x82, 0x01, 0x00, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02,
        ];
        prefixed.extend_from_slice(&g);
        let _ = acceptor().step(&prefixed, now());
    }
}

#[test]
fn acceptor_and_shared_state_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Acceptor>();
    check::<rsmbd_auth::ReplayCache>();
    check::<rsmbd_auth::AcceptorConfig>();
    check::<rsmbd_auth::Authenticated>();
    check::<Step>();
}

#[test]
fn negative_kvno_encoding_is_read_as_32_bits() {
    // Some encoders write a kvno >= 2^31 (AD RODC numbers) as a negative INTEGER.
    let key = service_key(Enctype::Aes256CtsHmacSha196, HOST, PASSWORD);
    let big: u32 = 0x8001_0003;
    let kt = Keytab::from_entries(vec![entry(HOST, big, &key)]);
    let minted = Mint {
        kvno: None,
        ..Mint::default()
    }
    .mint();
    let mut req: rsmbd_auth::asn1::kerberos::ApReq = rasn::ber::decode(&minted.ap_req).unwrap();
    req.ticket.enc_part.kvno = Some(i64::from(big as i32));
    let der = rasn::der::encode(&req).unwrap();
    match Acceptor::new(config(kt), replay()).step(&krb5_token(&der, oid::KRB5), now()) {
        Step::Done { session, .. } => {
            assert_eq!((session.kvno, session.kvno_fallback), (big, false))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pac_server_signature_checked_with_the_service_key() {
    use rsmbd_auth::kerberos::pac::sign_minimal_pac;
    let wrap = |pac: Vec<u8>| {
        let inner: AuthorizationData = vec![AuthorizationDataEntry {
            ad_type: 128,
            ad_data: OctetString::from(pac),
        }];
        vec![AuthorizationDataEntry {
            ad_type: 1,
            ad_data: OctetString::from(rasn::der::encode(&inner).unwrap()),
        }]
    };
    let key = service_key(Enctype::Aes256CtsHmacSha196, HOST, PASSWORD);
    let good = sign_minimal_pac(&key, 16).unwrap();
    let (s, _) = accept_one_leg(
        &Mint {
            auth_data: Some(wrap(good.clone())),
            ..Mint::default()
        },
        oid::KRB5,
        &[oid::KRB5_ARCS],
    );
    assert_eq!((s.pac, s.pac_server_signature), (Some(good), Some(true)));
    // Signed with another key: the logon still succeeds, the PAC is dropped and flagged.
    let other = service_key(Enctype::Aes256CtsHmacSha196, HOST, "someone-else");
    let bad = sign_minimal_pac(&other, 16).unwrap();
    let (s, _) = accept_one_leg(
        &Mint {
            auth_data: Some(wrap(bad)),
            ..Mint::default()
        },
        oid::KRB5,
        &[oid::KRB5_ARCS],
    );
    assert_eq!((s.pac, s.pac_server_signature), (None, Some(false)));
}
