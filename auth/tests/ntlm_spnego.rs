//! NTLMv2 through SPNEGO (RFC 4178, MS-SPNG 3.3.5.1): the three legs with both mechListMICs, the
//! per-exchange switch, and the NEGOTIATE hint. The initiator is `rsmbd_auth::ntlm::client`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::*;
use rsmbd_auth::asn1::spnego::NegState;
use rsmbd_auth::gss::oid;
use rsmbd_auth::ntlm::client::{self, ClientInput};
use rsmbd_auth::ntlm::keys::{Side, first_signature};
use rsmbd_auth::ntlm::{NtUsers, nt_hash};
use rsmbd_auth::{
    Acceptor, AcceptorConfig, AuthError, Mechanism, Step, TargetNames, negotiate_hint,
    negotiate_hint_for,
};

fn ntlm_config() -> Arc<AcceptorConfig> {
    let hash: String = nt_hash("pw").iter().map(|b| format!("{b:02x}")).collect();
    let mut c = AcceptorConfig::new(Arc::new(keytab()));
    c.ntlm_users = Some(Arc::new(
        NtUsers::parse(&format!("alice@EXAMPLE.TEST:{hash}")).unwrap(),
    ));
    Arc::new(c)
}

fn names() -> TargetNames {
    TargetNames::new("NAS1", "data2.example.test")
}

fn input(password: &str) -> ClientInput<'static> {
    ClientInput {
        user: "alice",
        domain: "EXAMPLE",
        nt_hash: nt_hash(password),
        client_challenge: [7; 8],
        random_session_key: [9; 16],
        timestamp: None,
        target_name: Some("cifs/data2.example.test"),
        with_mic: true,
    }
}

/// DER of the mechTypes list `spnego_init` puts in the NegTokenInit.
fn mech_types_der(mechs: &[&'static [u32]]) -> Vec<u8> {
    let list: Vec<_> = mechs.iter().map(|m| oid_arcs(m)).collect();
    rsmbd_auth::asn1::encode(&list).unwrap()
}

/// Runs the exchange; returns the final step and the key the client derived.
fn exchange(
    a: &mut Acceptor,
    mechs: &[&'static [u32]],
    password: &str,
    send_mic: bool,
) -> (Step, [u8; 16]) {
    let neg = client::negotiate(client::CLIENT_FLAGS);
    let out = match a.step(&spnego_init(mechs, Some(neg.clone())), now()) {
        Step::Continue { output } => output,
        other => panic!("{other:?}"),
    };
    let r = decode_resp(&out);
    assert_eq!(r.neg_state, Some(NegState::AcceptIncomplete));
    assert_eq!(
        r.supported_mech.unwrap().to_vec(),
        oid::NTLMSSP_ARCS.to_vec()
    );
    let challenge = r.response_token.unwrap().to_vec();
    let (auth, key) = client::authenticate(&neg, &challenge, &input(password)).unwrap();
    let flags = u32::from_le_bytes(auth[60..64].try_into().unwrap());
    let mic = send_mic
        .then(|| first_signature(&key, Side::Client, flags, &mech_types_der(mechs)).to_vec());
    (a.step(&spnego_resp(Some(auth), mic), now()), *key)
}

#[test]
fn ntlm_three_legs_with_mech_list_mic() {
    let mechs: &[&'static [u32]] = &[oid::NTLMSSP_ARCS];
    let mut a = Acceptor::new(ntlm_config(), replay()).allow_ntlm(names());
    let (step, key) = exchange(&mut a, mechs, "pw", true);
    let Step::Done { output, session } = step else {
        panic!("{step:?}")
    };
    assert_eq!(session.mechanism, Mechanism::Ntlm);
    assert_eq!(session.principal, "alice@EXAMPLE.TEST");
    assert_eq!(session.spn, "cifs/data2.example.test");
    assert_eq!(session.session_key.as_bytes(), &key);
    let r = decode_resp(&output);
    assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
    // Our mechListMIC is the server's first NTLMSSP signature over the same list.
    let flags = client::CLIENT_FLAGS;
    let want = first_signature(&key, Side::Server, flags, &mech_types_der(mechs));
    assert_eq!(r.mech_list_mic.unwrap().to_vec(), want.to_vec());
}

#[test]
fn ntlm_first_then_krb5_runs_ntlm_when_enabled() {
    let mechs: &[&'static [u32]] = &[oid::NTLMSSP_ARCS, oid::KRB5_ARCS];
    let mut a = Acceptor::new(ntlm_config(), replay()).allow_ntlm(names());
    let (step, _) = exchange(&mut a, mechs, "pw", false);
    assert!(
        matches!(step, Step::Done { ref session, .. } if session.mechanism == Mechanism::Ntlm),
        "{step:?}"
    );
}

#[test]
fn bad_mech_list_mic_and_wrong_password_are_refused() {
    let mechs: &[&'static [u32]] = &[oid::NTLMSSP_ARCS];
    let mut a = Acceptor::new(ntlm_config(), replay()).allow_ntlm(names());
    let neg = client::negotiate(client::CLIENT_FLAGS);
    let Step::Continue { output } = a.step(&spnego_init(mechs, Some(neg.clone())), now()) else {
        panic!()
    };
    let challenge = decode_resp(&output).response_token.unwrap().to_vec();
    let (auth, _) = client::authenticate(&neg, &challenge, &input("pw")).unwrap();
    let step = a.step(&spnego_resp(Some(auth), Some(vec![1; 16])), now());
    assert!(
        matches!(
            step,
            Step::Refused {
                error: AuthError::MicMismatch { .. },
                output: None
            }
        ),
        "{step:?}"
    );

    let mut a = Acceptor::new(ntlm_config(), replay()).allow_ntlm(names());
    let (step, _) = exchange(&mut a, mechs, "not-pw", true);
    assert!(
        matches!(
            step,
            Step::Refused {
                error: AuthError::NtlmBadResponse { .. },
                output: None
            }
        ),
        "{step:?}"
    );
}

#[test]
fn ntlm_needs_both_the_listener_switch_and_a_password_file() {
    let tok = spnego_init(
        &[oid::NTLMSSP_ARCS],
        Some(client::negotiate(client::CLIENT_FLAGS)),
    );
    // Password file loaded but this listener has NTLM off.
    let step = Acceptor::new(ntlm_config(), replay()).step(&tok, now());
    assert!(
        matches!(
            step,
            Step::Refused {
                error: AuthError::NtlmDisabled { .. },
                ..
            }
        ),
        "{step:?}"
    );
    // Listener switch on but no password file: still off.
    let step = Acceptor::new(config(keytab()), replay())
        .allow_ntlm(names())
        .step(&tok, now());
    assert!(
        matches!(
            step,
            Step::Refused {
                error: AuthError::NtlmDisabled { .. },
                ..
            }
        ),
        "{step:?}"
    );
}

#[test]
fn raw_ntlmssp_without_spnego() {
    let mut a = Acceptor::new(ntlm_config(), replay()).allow_ntlm(names());
    let neg = client::negotiate(client::CLIENT_FLAGS);
    let Step::Continue { output: challenge } = a.step(&neg, now()) else {
        panic!()
    };
    assert!(challenge.starts_with(b"NTLMSSP\0\x02\0\0\0"));
    let (auth, key) = client::authenticate(&neg, &challenge, &input("pw")).unwrap();
    match a.step(&auth, now()) {
        Step::Done { output, session } => {
            assert!(output.is_empty());
            assert_eq!(session.session_key.as_bytes(), &*key);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hint_lists_ntlmssp_only_when_enabled() {
    let contains = |h: &[u8], needle: &[u8]| h.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&negotiate_hint(), oid::NTLMSSP));
    assert_eq!(negotiate_hint(), negotiate_hint_for(false));
    assert!(contains(&negotiate_hint_for(true), oid::NTLMSSP));
    // An empty first token gets the hint of this exchange's policy.
    let mut a = Acceptor::new(ntlm_config(), replay()).allow_ntlm(names());
    let Step::Continue { output } = a.step(&[], now()) else {
        panic!()
    };
    assert_eq!(output, negotiate_hint_for(true));
}

mod garbage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Arbitrary bytes as the NTLM AUTHENTICATE_MESSAGE (raw, after a real CHALLENGE) never
        /// panic and never log anyone on.
        #[test]
        fn random_authenticate_is_refused(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut a = Acceptor::new(ntlm_config(), replay()).allow_ntlm(names());
            let neg = client::negotiate(client::CLIENT_FLAGS);
            let Step::Continue { .. } = a.step(&neg, now()) else { panic!() };
            let mut msg = b"NTLMSSP\0\x03\0\0\0".to_vec();
            msg.extend_from_slice(&tail);
            let done = matches!(a.step(&msg, now()), Step::Done { .. });
            prop_assert!(!done);
        }

        /// Arbitrary bytes as the NEGOTIATE_MESSAGE never panic.
        #[test]
        fn random_negotiate_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut msg = b"NTLMSSP\0".to_vec();
            msg.extend_from_slice(&tail);
            let mut a = Acceptor::new(ntlm_config(), replay()).allow_ntlm(names());
            let _ = a.step(&msg, now());
        }
    }
}
