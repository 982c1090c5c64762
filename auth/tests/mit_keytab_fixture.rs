//! A keytab written by MIT krb5 1.20 (`kadmin.local addprinc -pw fixture-password
//! cifs/fixture.example.test; ktadd -norandkey`), kept as a fixture: our parser must read it and
//! its keys must equal our string-to-key of the same password for every enctype. Runs without
//! a KDC.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rsmbd_auth::Keytab;
use rsmbd_auth::crypto::Enctype;

const FIXTURE: &[u8] = include_bytes!("mit-fixture.keytab");

#[test]
fn mit_written_keytab_parses_and_matches_string_to_key() {
    let kt = Keytab::parse(FIXTURE).unwrap();
    assert_eq!(
        kt.summary(),
        vec![
            "cifs/fixture.example.test@EXAMPLE.TEST kvno 1 [aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192, aes128-cts-hmac-sha256-128, rc4-hmac]"
                .to_string()
        ]
    );
    // MIT's default salt: realm followed by the name components.
    let salt = b"EXAMPLE.TESTcifsfixture.example.test";
    for e in kt.entries() {
        assert_eq!(e.name_type, 1);
        let enctype = Enctype::from_i32(e.enctype).unwrap();
        let ours = enctype.string_to_key("fixture-password", salt).unwrap();
        assert_eq!(ours.as_bytes(), e.key.as_slice(), "{}", enctype.name());
    }
    assert!(!kt.is_rc4_only());
    // And truncating the real file anywhere never panics.
    for cut in 0..FIXTURE.len() {
        let _ = Keytab::parse(&FIXTURE[..cut]);
    }
}
