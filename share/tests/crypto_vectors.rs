//! Known-answer tests for the session crypto against Microsoft's published vectors
//! (files in `tests/vectors/`, each naming its source).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rsmbd_share::crypto::{KeyDialect, PreauthHash, SessionKeys, SigningAlgorithm, signing};

fn vector_file(name: &str) -> Vec<(String, Vec<u8>)> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_string(), hex::decode(v.trim()).unwrap())
        })
        .collect()
}

fn get(v: &[(String, Vec<u8>)], key: &str) -> Vec<u8> {
    v.iter().find(|(k, _)| k == key).unwrap().1.clone()
}

#[test]
fn smb311_preauth_hash_chain_and_signing_key() {
    let v = vector_file("smb311_preauth.txt");
    let mut h = PreauthHash::default();
    let mut steps = 0;
    for (k, bytes) in &v {
        match k.as_str() {
            "msg" => h.update(bytes),
            "hash" => {
                assert_eq!(&h.value()[..], &bytes[..], "hash after message {steps}");
                steps += 1;
            }
            _ => {}
        }
    }
    assert_eq!(steps, 5);
    let keys = SessionKeys::derive(
        KeyDialect::Smb311,
        &get(&v, "session_key"),
        Some(&h),
        SigningAlgorithm::AesCmac,
        16,
    );
    assert_eq!(&keys.signing_key[..], &get(&v, "signing_key")[..]);
}

#[test]
fn smb30_key_derivation() {
    let v = vector_file("smb30_keys.txt");
    let keys = SessionKeys::derive(
        KeyDialect::Smb30,
        &get(&v, "session_key"),
        None,
        SigningAlgorithm::AesCmac,
        16,
    );
    assert_eq!(&keys.signing_key[..], &get(&v, "signing_key")[..]);
    let d3 = keys.dialect3.unwrap();
    assert_eq!(&d3.decryption[..], &get(&v, "server_in_key")[..]);
    assert_eq!(&d3.encryption[..], &get(&v, "server_out_key")[..]);
    assert_eq!(&d3.application[..], &get(&v, "application_key")[..]);
    assert_eq!(keys.signing_algorithm, SigningAlgorithm::AesCmac);
}

#[test]
fn smb311_cipher_key_derivation() {
    let v = vector_file("smb311_keys.txt");
    let mut preauth = PreauthHash::default();
    // The vector gives the final hash directly; rebuild a PreauthHash holding that value by
    // checking the derivation through a hash whose value we control is not possible, so
    // derive with the raw KDF for the context instead.
    let hash = get(&v, "preauth_hash");
    let key =
        rsmbd_share::crypto::kdf::derive(&get(&v, "session_key"), b"SMBC2SCipherKey\0", &hash, 16);
    assert_eq!(&key[..], &get(&v, "server_in_key")[..]);
    // And the session path agrees with the raw KDF for a hash it computed itself.
    preauth.update(b"any message");
    let keys = SessionKeys::derive(
        KeyDialect::Smb311,
        &get(&v, "session_key"),
        Some(&preauth),
        SigningAlgorithm::AesGmac,
        16,
    );
    let raw = rsmbd_share::crypto::kdf::derive(
        &get(&v, "session_key"),
        b"SMBC2SCipherKey\0",
        preauth.value(),
        16,
    );
    assert_eq!(&keys.dialect3.unwrap().decryption[..], &raw[..]);
}

#[test]
fn smb2_signing_key_is_the_session_key_truncated() {
    let gss = [7u8; 32];
    let keys = SessionKeys::derive(
        KeyDialect::Smb2,
        &gss,
        None,
        SigningAlgorithm::HmacSha256,
        16,
    );
    assert_eq!(&keys.signing_key[..], &gss[..16]);
    assert!(keys.dialect3.is_none());
}

#[test]
fn smb311_aes_cmac_signatures_from_the_published_walkthrough() {
    let v = vector_file("smb311_signing.txt");
    let mut checked = 0;
    for pair in v.chunks(2) {
        let [(k, key), (m, msg)] = pair else {
            panic!("key/msg pairs")
        };
        assert_eq!((k.as_str(), m.as_str()), ("key", "msg"));
        let key: [u8; 16] = key.as_slice().try_into().unwrap();
        let mut received = msg.clone();
        assert!(
            signing::verify(SigningAlgorithm::AesCmac, &key, &mut received),
            "vector {checked} verifies"
        );
        // Signing the message with its signature zeroed reproduces the published signature.
        let mut ours = msg.clone();
        ours[48..64].fill(0);
        signing::sign(SigningAlgorithm::AesCmac, &key, &mut ours);
        assert_eq!(ours, *msg, "vector {checked} re-signs identically");
        checked += 1;
    }
    assert_eq!(checked, 3);
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[test]
fn aes_cmac_rfc4493_examples() {
    // RFC 4493 section 4, examples 1-4 (AES-128 key, messages of 0, 16, 40 and 64 bytes).
    let key: [u8; 16] = h("2b7e151628aed2a6abf7158809cf4f3c").try_into().unwrap();
    let m = h(
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
               30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
    );
    for (len, tag) in [
        (0, "bb1d6929e95937287fa37d129b756746"),
        (16, "070a16b46b4d4144f79bdd9dd04a287c"),
        (40, "dfa66747de9ae63030ca32611497c827"),
        (64, "51f0bebf7e3b9d92fc49741779363cfe"),
    ] {
        let got = signing::mac(SigningAlgorithm::AesCmac, &key, &[0; 12], &m[..len]).unwrap();
        assert_eq!(hex::encode(got), tag, "RFC 4493 example with Mlen = {len}");
    }
}

#[test]
fn aes_gmac_nist_gcm_vectors() {
    // GMAC is GCM with no plaintext: these are NIST CAVP gcmEncryptExtIV128 (PTlen = 0) and the
    // GCM specification's test case 1 (empty AAD).
    let cases = [
        (
            "77be63708971c4e240d1cb79e8d77feb",
            "e0e00f19fed7ba0136a797f3",
            "7a43ec1d9c0a5a78a0b16533a6213cab",
            "209fcc8d3675ed938e9c7166709dd946",
        ),
        (
            "00000000000000000000000000000000",
            "000000000000000000000000",
            "",
            "58e2fccefa7e3061367f1d57a4e7455a",
        ),
    ];
    for (key, nonce, aad, tag) in cases {
        let key: [u8; 16] = h(key).try_into().unwrap();
        let nonce: [u8; 12] = h(nonce).try_into().unwrap();
        let got = signing::mac(SigningAlgorithm::AesGmac, &key, &nonce, &h(aad)).unwrap();
        assert_eq!(hex::encode(got), tag);
    }
}

#[test]
fn hmac_sha256_rfc4231_truncated_to_16_bytes() {
    // RFC 4231 test case 2 ("Jefe"), truncated as SMB 2.x signing truncates it. The key is
    // padded with zeros to 16 bytes, which HMAC treats as the same key.
    let mut key = [0u8; 16];
    key[..4].copy_from_slice(b"Jefe");
    let got = signing::mac(
        SigningAlgorithm::HmacSha256,
        &key,
        &[0; 12],
        b"what do ya want for nothing?",
    )
    .unwrap();
    assert_eq!(hex::encode(got), "5bdcc146bf60754e6a042426089575c7");
}
