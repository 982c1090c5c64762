//! Known-answer tests for SMB3 encryption (MS-SMB2 3.1.4.3) against Microsoft's published
//! messages: the SMB 3.0 AES-128-CCM WRITE/READ exchange and the SMB 3.1.1 AES-128-GCM WRITE.
//! Each vector is opened with the server's key (request: ServerIn, response: ServerOut) and
//! re-sealed with the recorded nonce, which must reproduce the captured bytes exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rsmbd_protocol::transform::TRANSFORM_HEADER_SIZE;
use rsmbd_share::crypto::encryption::{Cipher, CipherKey, EncryptionError, open, seal_with_nonce};

/// `name hex` lines (this crate's vector format).
fn pairs(path: &str) -> Vec<(String, Vec<u8>)> {
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

/// `name:` followed by hex lines (the protocol crate's vector format).
fn blocks(path: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for l in std::fs::read_to_string(path).unwrap().lines() {
        let l = l.trim();
        if l.starts_with('#') || l.is_empty() {
            continue;
        }
        if let Some(name) = l.strip_suffix(':') {
            out.push((name.to_string(), String::new()));
        } else {
            out.last_mut().unwrap().1.push_str(l);
        }
    }
    out.into_iter()
        .map(|(k, v)| (k, hex::decode(v).unwrap()))
        .collect()
}

fn get(v: &[(String, Vec<u8>)], key: &str) -> Vec<u8> {
    v.iter().find(|(k, _)| k == key).unwrap().1.clone()
}

/// Opens `transformed` with `key`, expects `plain`, then re-seals `plain` with the captured
/// nonce and session id and expects the captured bytes back.
fn check(cipher: Cipher, key: &[u8], transformed: &[u8], plain: &[u8]) {
    let key = CipherKey::new(cipher, key).unwrap();
    let mut frame = transformed.to_vec();
    let header = open(&key, &mut frame).unwrap();
    assert_eq!(
        &frame[TRANSFORM_HEADER_SIZE..],
        plain,
        "decrypts to the message"
    );

    let mut sealed = vec![0u8; TRANSFORM_HEADER_SIZE];
    sealed.extend_from_slice(plain);
    seal_with_nonce(&key, header.nonce, header.session_id, &mut sealed).unwrap();
    assert_eq!(sealed, transformed, "re-sealing reproduces the capture");

    let mut tampered = transformed.to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x80;
    assert_eq!(
        open(&key, &mut tampered),
        Err(EncryptionError::Authentication)
    );
}

#[test]
fn smb30_ccm_write_and_read_exchange() {
    let v = pairs(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/smb30_ccm_encryption.txt"
    ));
    let c2s = get(&v, "server_in_key");
    let s2c = get(&v, "server_out_key");
    for (msg, key) in [
        ("write_request", &c2s),
        ("write_response", &s2c),
        ("read_request", &c2s),
        ("read_response", &s2c),
    ] {
        check(
            Cipher::Aes128Ccm,
            key,
            &get(&v, &format!("{msg}_transformed")),
            &get(&v, msg),
        );
    }
}

#[test]
fn smb311_gcm_write_request() {
    let keys = pairs(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/smb311_keys.txt"
    ));
    let msgs = blocks(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol/tests/vectors/ms_blog_smb311_encryption_gcm.txt"
    ));
    check(
        Cipher::Aes128Gcm,
        &get(&keys, "server_in_key"),
        &get(&msgs, "write_request_transformed"),
        &get(&msgs, "write_request"),
    );
}

#[test]
fn a_request_sealed_for_the_other_direction_does_not_open() {
    // The ServerOut key must not open what was sealed with ServerIn: the keys are per direction.
    let v = pairs(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/smb30_ccm_encryption.txt"
    ));
    let wrong = CipherKey::new(Cipher::Aes128Ccm, &get(&v, "server_out_key")).unwrap();
    let mut frame = get(&v, "write_request_transformed");
    assert_eq!(
        open(&wrong, &mut frame),
        Err(EncryptionError::Authentication)
    );
}
