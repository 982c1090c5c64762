//! Finding the PAC (MS-PAC §2.4) in a ticket's authorization data: AD-IF-RELEVANT (1,
//! RFC 4120 §5.2.6.1) wrapping AD-WIN2K-PAC (128). Best effort: a missing or undecodable PAC
//! never fails a logon (R8; MIT ≥ 1.20 issues minimal PACs).

use crate::asn1::kerberos::AuthorizationData;

/// AD-IF-RELEVANT.
const AD_IF_RELEVANT: i32 = 1;
/// AD-WIN2K-PAC.
const AD_WIN2K_PAC: i32 = 128;
/// Nesting limit for AD-IF-RELEVANT containers (a hostile ticket could nest deeply).
const MAX_DEPTH: usize = 4;

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
