//! The PAC (MS-PAC §2.4) in a ticket's authorization data: found inside AD-IF-RELEVANT (1,
//! RFC 4120 §5.2.6.1) as AD-WIN2K-PAC (128), and its server signature (MS-PAC §2.8.1) checked
//! with the service key. Best effort: a missing, undecodable or unverifiable PAC never fails a
//! logon (R8; MIT ≥ 1.20 issues minimal PACs), it is just not trusted.

use subtle::ConstantTimeEq;

use crate::asn1::kerberos::AuthorizationData;
use crate::crypto::Key;

/// AD-IF-RELEVANT.
const AD_IF_RELEVANT: i32 = 1;
/// AD-WIN2K-PAC.
const AD_WIN2K_PAC: i32 = 128;
/// Nesting limit for AD-IF-RELEVANT containers (a hostile ticket could nest deeply).
const MAX_DEPTH: usize = 4;
/// MS-PAC §2.4 PAC_INFO_BUFFER ulType of the server checksum.
const PAC_SERVER_CHECKSUM: u32 = 6;
/// ulType of the KDC (privilege server) checksum.
const PAC_PRIVSVR_CHECKSUM: u32 = 7;
/// MS-PAC §2.8: key usage KERB_NON_KERB_CKSUM_SALT.
const KERB_NON_KERB_CKSUM_SALT: u32 = 17;
/// Far more buffers than any real PAC has.
const MAX_BUFFERS: u32 = 256;

/// Raw PAC bytes, if the authorization data carries one.
pub fn find_pac(ad: &AuthorizationData) -> Option<Vec<u8>> {
    find(ad, 0)
}

fn find(ad: &AuthorizationData, depth: usize) -> Option<Vec<u8>> {
    for e in ad {
        match e.ad_type {
            AD_WIN2K_PAC => return Some(e.ad_data.to_vec()),
            AD_IF_RELEVANT if depth < MAX_DEPTH => {
                if let Ok(inner) = crate::asn1::decode::<AuthorizationData>(&e.ad_data)
                    && let Some(p) = find(&inner, depth + 1)
                {
                    return Some(p);
                }
            }
            _ => {}
        }
    }
    None
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// Signature length of a PAC_SIGNATURE_DATA SignatureType (MS-PAC §2.8, RFC 8009 for 19/20).
fn signature_len(sig_type: i32) -> Option<usize> {
    match sig_type {
        15 | 16 => Some(12),
        19 | -138 => Some(16),
        20 => Some(24),
        _ => None,
    }
}

/// MS-PAC §2.8 PAC_SIGNATURE_DATA in buffer `ty`: (SignatureType, range of Signature).
fn signature(pac: &[u8], ty: u32) -> Option<(i32, std::ops::Range<usize>)> {
    let count = u32_at(pac, 0)?;
    if count > MAX_BUFFERS {
        return None;
    }
    for i in 0..count as usize {
        let at = 8 + i * 16;
        if u32_at(pac, at)? != ty {
            continue;
        }
        let size = u32_at(pac, at + 4)? as usize;
        let off = usize::try_from(u64_at(pac, at + 8)?).ok()?;
        let sig_type = u32_at(pac, off)? as i32;
        let len = signature_len(sig_type)?;
        let start = off.checked_add(4)?;
        let end = start.checked_add(len)?;
        if end > off.checked_add(size)? || end > pac.len() {
            return None;
        }
        return Some((sig_type, start..end));
    }
    None
}

/// MS-PAC §2.8.1: verify the server signature with the key that decrypted the ticket.
/// `None` when there is no server checksum or it uses a checksum type other than the key's;
/// `Some(false)` when it does not verify.
pub fn verify_server_signature(pac: &[u8], service_key: &Key) -> Option<bool> {
    let (sig_type, range) = signature(pac, PAC_SERVER_CHECKSUM)?;
    if sig_type != service_key.enctype().checksum_type() {
        return None;
    }
    let want = pac.get(range.clone())?.to_vec();
    let mut zeroed = pac.to_vec();
    for r in [
        Some(range),
        signature(pac, PAC_PRIVSVR_CHECKSUM).map(|(_, r)| r),
    ]
    .into_iter()
    .flatten()
    {
        zeroed.get_mut(r)?.fill(0);
    }
    let got = service_key
        .checksum(KERB_NON_KERB_CKSUM_SALT, &zeroed)
        .ok()?;
    Some(bool::from(got.ct_eq(&want)))
}

/// Build a minimal PAC with server and KDC checksums signed by `key` (tests, and the shape
/// MIT ≥ 1.20 issues: checksums only).
pub fn sign_minimal_pac(key: &Key, kdc_sig_type: i32) -> Option<Vec<u8>> {
    let srv_len = signature_len(key.enctype().checksum_type())?;
    let kdc_len = signature_len(kdc_sig_type)?;
    let header = 8 + 2 * 16;
    let srv_off = header;
    let srv_size = 4 + srv_len;
    let kdc_off = (srv_off + srv_size).next_multiple_of(8);
    let kdc_size = 4 + kdc_len;
    let total = (kdc_off + kdc_size).next_multiple_of(8);
    let mut pac = vec![0u8; total];
    fn put(pac: &mut [u8], off: usize, bytes: &[u8]) -> Option<()> {
        pac.get_mut(off..off.checked_add(bytes.len())?)?
            .copy_from_slice(bytes);
        Some(())
    }
    put(&mut pac, 0, &2u32.to_le_bytes())?;
    for (i, (ty, size, off)) in [
        (PAC_SERVER_CHECKSUM, srv_size, srv_off),
        (PAC_PRIVSVR_CHECKSUM, kdc_size, kdc_off),
    ]
    .into_iter()
    .enumerate()
    {
        put(&mut pac, 8 + i * 16, &ty.to_le_bytes())?;
        put(&mut pac, 12 + i * 16, &(size as u32).to_le_bytes())?;
        put(&mut pac, 16 + i * 16, &(off as u64).to_le_bytes())?;
    }
    put(
        &mut pac,
        srv_off,
        &key.enctype().checksum_type().to_le_bytes(),
    )?;
    put(&mut pac, kdc_off, &kdc_sig_type.to_le_bytes())?;
    let sig = key.checksum(KERB_NON_KERB_CKSUM_SALT, &pac).ok()?;
    put(&mut pac, srv_off + 4, &sig)?;
    // A KDC signature we cannot check (no krbtgt key here): any bytes.
    put(&mut pac, kdc_off + 4, &vec![0xa5; kdc_len])?;
    Some(pac)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::crypto::Enctype;

    #[test]
    fn server_signature_verifies_and_detects_tampering() {
        for e in [
            Enctype::Aes256CtsHmacSha196,
            Enctype::Aes128CtsHmacSha256128,
            Enctype::Rc4Hmac,
        ] {
            let key = Key::new(e, &vec![3u8; e.key_len()]).unwrap();
            let pac = sign_minimal_pac(&key, 16).unwrap();
            assert_eq!(verify_server_signature(&pac, &key), Some(true), "{e:?}");
            // The KDC signature field is excluded from the server signature.
            let mut p = pac.clone();
            let last = p.len() - 5;
            p[last] ^= 1;
            assert_eq!(verify_server_signature(&p, &key), Some(true));
            // Anything else is covered.
            let mut p = pac.clone();
            p[4] ^= 1;
            assert_eq!(verify_server_signature(&p, &key), Some(false));
            let other = Key::new(e, &vec![4u8; e.key_len()]).unwrap();
            assert_eq!(verify_server_signature(&pac, &other), Some(false));
            for cut in 0..pac.len() {
                let _ = verify_server_signature(&pac[..cut], &key);
            }
        }
        assert_eq!(
            verify_server_signature(b"", &Key::new(Enctype::Rc4Hmac, &[0; 16]).unwrap()),
            None
        );
    }
}
