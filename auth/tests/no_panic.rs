//! Property tests: arbitrary bytes never panic the keytab parser, the GSS unframer or the
//! acceptor, and mutations of valid tokens are refused (never accepted with wrong data).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use proptest::prelude::*;
use rsmbd_auth::gss::oid;
use rsmbd_auth::{Acceptor, Keytab, Step};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn keytab_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Keytab::parse(&bytes);
        let mut v = vec![0x05, 0x02];
        v.extend_from_slice(&bytes);
        let _ = Keytab::parse(&v);
    }

    #[test]
    fn keytab_roundtrips(kvno in any::<u32>(), enctype in prop_oneof![Just(17i32), Just(18), Just(23)], key in proptest::collection::vec(any::<u8>(), 0..40), comps in proptest::collection::vec("[a-z€ü./]{0,12}", 1..4)) {
        let e = rsmbd_auth::KeytabEntry {
            realm: b"EXAMPLE.TEST".to_vec(),
            components: comps.iter().map(|c| c.as_bytes().to_vec()).collect(),
            name_type: 1,
            timestamp: 7,
            kvno,
            enctype,
            key,
        };
        let kt = Keytab::from_entries(vec![e]);
        let back = Keytab::parse(&kt.to_bytes()).unwrap();
        // A zero 32-bit kvno falls back to the 8-bit field, which is then 0 too.
        prop_assert_eq!(back, kt);
    }

    #[test]
    fn acceptor_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..600), prefix in 0usize..3) {
        let mut input = match prefix {
            0 => Vec::new(),
            1 => vec![0x60, 0x82, 0x02, 0x00, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x82, 0x01, 0xf0],
            _ => vec![0x60, 0x82, 0x02, 0x00, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00],
        };
        input.extend_from_slice(&bytes);
        let mut a = Acceptor::new(config(keytab()), replay());
        let first = a.step(&input, now());
        let done = matches!(first, Step::Done { .. });
        prop_assert!(!done, "garbage accepted");
        let _ = a.step(&bytes, now());
    }

    #[test]
    fn mutated_ap_req_is_never_accepted_with_other_data(pos in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let minted = Mint::default().mint();
        let mut req = minted.ap_req.clone();
        let i = pos.index(req.len());
        req[i] ^= xor;
        let mut a = Acceptor::new(config(keytab()), replay());
        // Either refused, or (a flip in a field the acceptor does not use) accepted for alice
        // with the minted session key: never some other identity or key.
        if let Step::Done { session, .. } = a.step(&krb5_token(&req, oid::KRB5), now()) {
            prop_assert_eq!(session.principal, "alice@EXAMPLE.TEST");
            prop_assert_eq!(session.session_key.as_bytes(), minted.ticket_session_key.as_bytes());
        }
    }
}
