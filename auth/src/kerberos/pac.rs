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
/// MS-PAC §2.4 PAC_INFO_BUFFER ulType of the logon information (KERB_VALIDATION_INFO).
pub const PAC_LOGON_INFO: u32 = 1;
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

/// MS-PAC §2.4: the bytes of the first buffer of type `ty` (PAC_INFO_BUFFER Offset and
/// cbBufferSize checked against the PAC).
pub fn buffer(pac: &[u8], ty: u32) -> Option<&[u8]> {
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
        return pac.get(off..off.checked_add(size)?);
    }
    None
}

/// The PAC's logon information (MS-PAC §2.5): `Ok(None)` when the PAC has none (MIT ≥ 1.20
/// minimal PACs), an error when the buffer is there but does not decode.
pub fn logon_info(
    pac: &[u8],
) -> Result<Option<super::pac_logon::LogonInfo>, super::pac_logon::LogonInfoError> {
    if u32_at(pac, 0).is_none_or(|n| n > MAX_BUFFERS) {
        return Err(super::pac_logon::LogonInfoError(
            "PAC header unreadable".into(),
        ));
    }
    match buffer(pac, PAC_LOGON_INFO) {
        None => Ok(None),
        Some(b) => super::pac_logon::parse_logon_info(b).map(Some),
    }
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
    sign_pac(key, kdc_sig_type, &[])
}

/// Build a PAC holding `buffers` (ulType, bytes) then server and KDC checksums, the server one
/// made with `key` (for tests and test KDCs: an AD-shaped PAC).
pub fn sign_pac(key: &Key, kdc_sig_type: i32, buffers: &[(u32, &[u8])]) -> Option<Vec<u8>> {
    let srv_len = signature_len(key.enctype().checksum_type())?;
    let kdc_len = signature_len(kdc_sig_type)?;
    let mut srv_sig = key.enctype().checksum_type().to_le_bytes().to_vec();
    srv_sig.extend(std::iter::repeat_n(0, srv_len));
    let mut kdc_sig = kdc_sig_type.to_le_bytes().to_vec();
    // A KDC signature we cannot check (no krbtgt key here): any bytes.
    kdc_sig.extend(std::iter::repeat_n(0xa5, kdc_len));
    let mut all: Vec<(u32, &[u8])> = buffers.to_vec();
    all.push((PAC_SERVER_CHECKSUM, &srv_sig));
    all.push((PAC_PRIVSVR_CHECKSUM, &kdc_sig));
    let header = 8 + 16 * all.len();
    let mut offsets = Vec::with_capacity(all.len());
    let mut at = header.next_multiple_of(8);
    for (_, b) in &all {
        offsets.push(at);
        at = (at + b.len()).next_multiple_of(8);
    }
    let mut pac = vec![0u8; at];
    fn put(pac: &mut [u8], off: usize, bytes: &[u8]) -> Option<()> {
        pac.get_mut(off..off.checked_add(bytes.len())?)?
            .copy_from_slice(bytes);
        Some(())
    }
    put(&mut pac, 0, &(all.len() as u32).to_le_bytes())?;
    for (i, ((ty, b), off)) in all.iter().zip(&offsets).enumerate() {
        put(&mut pac, 8 + i * 16, &ty.to_le_bytes())?;
        put(&mut pac, 12 + i * 16, &(b.len() as u32).to_le_bytes())?;
        put(&mut pac, 16 + i * 16, &(*off as u64).to_le_bytes())?;
        put(&mut pac, *off, b)?;
    }
    let srv_off = *offsets.get(all.len() - 2)?;
    let sig = key
        .checksum(KERB_NON_KERB_CKSUM_SALT, &{
            let mut z = pac.clone();
            // The KDC signature is zeroed too while the server signature is computed.
            let kdc_off = *offsets.last()?;
            z.get_mut(kdc_off + 4..kdc_off + 4 + kdc_len)?.fill(0);
            z
        })
        .ok()?;
    put(&mut pac, srv_off + 4, &sig)?;
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

    #[test]
    fn logon_info_from_an_ad_shaped_and_a_minimal_pac() {
        use crate::kerberos::pac_logon::{LogonInfo, Sid, encode_logon_info};
        let key = Key::new(Enctype::Aes256CtsHmacSha196, &[5u8; 32]).unwrap();
        let info = LogonInfo {
            effective_name: "alice".into(),
            domain_sid: Sid::parse("S-1-5-21-1-2-3"),
            user_rid: 1106,
            primary_group_rid: 513,
            group_rids: vec![512],
            ..Default::default()
        };
        let logon = encode_logon_info(&info);
        let pac = sign_pac(&key, 16, &[(PAC_LOGON_INFO, &logon)]).unwrap();
        assert_eq!(verify_server_signature(&pac, &key), Some(true));
        assert_eq!(logon_info(&pac).unwrap(), Some(info));
        // MIT >= 1.20: checksums only.
        let minimal = sign_minimal_pac(&key, 16).unwrap();
        assert_eq!(logon_info(&minimal).unwrap(), None);
        // A logon info buffer that does not decode is an error for the caller to log.
        let pac = sign_pac(&key, 16, &[(PAC_LOGON_INFO, &logon[..40])]).unwrap();
        assert!(logon_info(&pac).is_err());
        assert!(logon_info(b"").is_err());
        for cut in 0..pac.len() {
            let _ = logon_info(&pac[..cut]);
        }
    }
}
