//! GSS-API framing: the RFC 2743 §3.1 InitialContextToken (`0x60 len 06 oid innerToken`) and the
//! RFC 4121 §4.1 krb5 token IDs. Hand-written because it is a 6-line header, and MIT rejects a
//! raw AP-REP (field research R10).

/// Mechanism OIDs we recognise, as DER content bytes (no 0x06 tag/length).
pub mod oid {
    /// SPNEGO 1.3.6.1.5.5.2 (RFC 4178).
    pub const SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
    /// Kerberos V5 1.2.840.113554.1.2.2 (RFC 4121 / RFC 1964).
    pub const KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
    /// Microsoft's mis-encoded Kerberos OID 1.2.840.48018.1.2.2 (MS-KILE §3.1.5.2).
    pub const MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
    /// NTLMSSP 1.3.6.1.4.1.311.2.2.10 (MS-NLMP).
    pub const NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

    /// Dotted forms, for logs and [`crate::Mechanism`].
    pub const SPNEGO_STR: &str = "1.3.6.1.5.5.2";
    /// Dotted KRB5.
    pub const KRB5_STR: &str = "1.2.840.113554.1.2.2";
    /// Dotted MS-KRB5.
    pub const MS_KRB5_STR: &str = "1.2.840.48018.1.2.2";
    /// Dotted NTLMSSP.
    pub const NTLMSSP_STR: &str = "1.3.6.1.4.1.311.2.2.10";

    /// Arcs, for comparing with decoded `ObjectIdentifier`s.
    pub const KRB5_ARCS: &[u32] = &[1, 2, 840, 113554, 1, 2, 2];
    /// MS-KRB5 arcs.
    pub const MS_KRB5_ARCS: &[u32] = &[1, 2, 840, 48018, 1, 2, 2];
    /// NTLMSSP arcs.
    pub const NTLMSSP_ARCS: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 2, 2, 10];
}

/// RFC 4121 §4.1 TOK_ID of a krb5 AP-REQ.
pub const TOK_AP_REQ: [u8; 2] = [0x01, 0x00];
/// RFC 4121 §4.1 TOK_ID of a krb5 AP-REP.
pub const TOK_AP_REP: [u8; 2] = [0x02, 0x00];
/// RFC 4121 §4.1 TOK_ID of a krb5 KRB-ERROR.
pub const TOK_KRB_ERROR: [u8; 2] = [0x03, 0x00];

/// Why a GSS token could not be unframed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GssError {
    /// Not an InitialContextToken (first byte is not 0x60).
    #[error("not a GSS InitialContextToken")]
    NotInitialToken,
    /// Length fields inconsistent with the buffer.
    #[error("malformed GSS token length")]
    BadLength,
    /// Missing or malformed mechanism OID.
    #[error("malformed GSS mechanism OID")]
    BadOid,
}

/// DER length octets for `n` (X.690 §8.1.3).
pub fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let sig = bytes.get(skip..).unwrap_or_default();
    let mut out = vec![0x80 | sig.len() as u8];
    out.extend_from_slice(sig);
    out
}

/// Parse BER definite length octets; returns (length, rest). At most 4 length bytes.
pub fn parse_len(input: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first < 0x80 {
        return Some((usize::from(first), rest));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None; // indefinite or absurd lengths are not GSS
    }
    let (len_bytes, rest) = rest.split_at_checked(n)?;
    let len = len_bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some((len, rest))
}

/// Wrap `inner` in an InitialContextToken for mechanism `mech_oid` (DER content bytes).
pub fn wrap(mech_oid: &[u8], inner: &[u8]) -> Vec<u8> {
    let mut body = vec![0x06];
    body.extend(der_len(mech_oid.len()));
    body.extend_from_slice(mech_oid);
    body.extend_from_slice(inner);
    let mut out = vec![0x60];
    out.extend(der_len(body.len()));
    out.extend(body);
    out
}

/// Split an InitialContextToken into (mechanism OID content bytes, innerToken).
/// Trailing bytes after the declared length are ignored (some encoders pad).
pub fn unwrap(token: &[u8]) -> Result<(&[u8], &[u8]), GssError> {
    let rest = match token.split_first() {
        Some((0x60, rest)) => rest,
        _ => return Err(GssError::NotInitialToken),
    };
    let (len, rest) = parse_len(rest).ok_or(GssError::BadLength)?;
    let body = rest.get(..len).ok_or(GssError::BadLength)?;
    let rest = match body.split_first() {
        Some((0x06, rest)) => rest,
        _ => return Err(GssError::BadOid),
    };
    let (oid_len, rest) = parse_len(rest).ok_or(GssError::BadOid)?;
    let (oid, inner) = rest.split_at_checked(oid_len).ok_or(GssError::BadOid)?;
    Ok((oid, inner))
}

/// Dotted form of DER OID content bytes (X.690 §8.19), for logs; "?" parts for malformed arcs.
pub fn oid_to_dotted(der: &[u8]) -> String {
    let mut arcs: Vec<String> = Vec::new();
    let mut acc: u64 = 0;
    let mut first = true;
    for b in der {
        acc = match acc.checked_mul(128) {
            Some(v) => v | u64::from(b & 0x7f),
            None => return format!("{}.?", arcs.join(".")),
        };
        if b & 0x80 == 0 {
            if first {
                let (x, y) = match acc {
                    0..=39 => (0, acc),
                    40..=79 => (1, acc - 40),
                    _ => (2, acc - 80),
                };
                arcs.push(x.to_string());
                arcs.push(y.to_string());
                first = false;
            } else {
                arcs.push(acc.to_string());
            }
            acc = 0;
        }
    }
    arcs.join(".")
}

/// RFC 4121 §4.1: wrap a krb5 message with the standard krb5 OID and a TOK_ID.
pub fn wrap_krb5(tok_id: [u8; 2], msg: &[u8]) -> Vec<u8> {
    let mut inner = tok_id.to_vec();
    inner.extend_from_slice(msg);
    wrap(oid::KRB5, &inner)
}

/// Split a krb5 innerToken into (TOK_ID, message).
pub fn split_tok_id(inner: &[u8]) -> Option<([u8; 2], &[u8])> {
    let (id, msg) = inner.split_at_checked(2)?;
    Some((id.try_into().ok()?, msg))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn wrap_unwrap_roundtrip_short_and_long() {
        for n in [0usize, 10, 127, 128, 300, 70000] {
            let inner = vec![0xabu8; n];
            let t = wrap_krb5(TOK_AP_REQ, &inner);
            let (o, i) = unwrap(&t).unwrap();
            assert_eq!(o, oid::KRB5);
            let (id, msg) = split_tok_id(i).unwrap();
            assert_eq!(id, TOK_AP_REQ);
            assert_eq!(msg, &inner[..]);
        }
    }

    #[test]
    fn oids_print_dotted() {
        assert_eq!(oid_to_dotted(oid::KRB5), oid::KRB5_STR);
        assert_eq!(oid_to_dotted(oid::MS_KRB5), oid::MS_KRB5_STR);
        assert_eq!(oid_to_dotted(oid::NTLMSSP), oid::NTLMSSP_STR);
        assert_eq!(oid_to_dotted(oid::SPNEGO), oid::SPNEGO_STR);
        let _ = oid_to_dotted(&[0xff; 40]);
    }

    #[test]
    fn malformed_never_panics() {
        let t = wrap_krb5(TOK_AP_REQ, &[1, 2, 3, 4, 5]);
        for cut in 0..t.len() {
            let _ = unwrap(&t[..cut]);
        }
        assert_eq!(
            unwrap(&[0x60, 0x84, 0xff, 0xff, 0xff, 0xff]),
            Err(GssError::BadLength)
        );
        assert_eq!(unwrap(&[0x60, 0x80]), Err(GssError::BadLength));
        assert_eq!(unwrap(&[0x61, 0x00]), Err(GssError::NotInitialToken));
        assert_eq!(unwrap(&[0x60, 0x02, 0x06, 0x05]), Err(GssError::BadOid));
    }
}
