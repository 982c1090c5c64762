//! The acceptor's krb5 answers: AP-REP (RFC 4120 §5.5.2, key usage 12) and KRB-ERROR
//! (RFC 4120 §5.9.1), both GSS-wrapped with the standard krb5 OID (RFC 4121 §4.1, R10).

use std::time::SystemTime;

use super::verify::{Accepted, Rejection, split_now};
use crate::asn1::kerberos::{
    ApRep, EncApRepPart, EncryptedData, KerberosString, KrbError, PrincipalName, kerberos_time,
    whole_seconds,
};
use crate::crypto::usage;
use crate::error::AuthError;
use crate::gss;

/// GSS-wrapped AP-REP. `seq` is our initial sequence number (included when the client sent
/// one). No acceptor subkey: it breaks RC4 and mechListMIC handling (R11).
pub fn ap_rep(acc: &Accepted, seq: Option<u32>) -> Result<Vec<u8>, AuthError> {
    let part = EncApRepPart {
        ctime: whole_seconds(acc.ctime),
        cusec: acc.cusec,
        subkey: None,
        seq_number: seq,
    };
    let der = crate::asn1::encode(&part).map_err(|e| AuthError::Internal(e.to_string()))?;
    let cipher = acc
        .ticket_session_key
        .encrypt(usage::AP_REP_ENC_PART, &der)
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let rep = ApRep {
        pvno: 5,
        msg_type: 15,
        enc_part: EncryptedData {
            etype: acc.ticket_session_key.enctype().number(),
            kvno: None,
            cipher: cipher.into(),
        },
    };
    let der = crate::asn1::encode(&rep).map_err(|e| AuthError::Internal(e.to_string()))?;
    Ok(gss::wrap_krb5(gss::TOK_AP_REP, &der))
}

/// [MS-KILE 2.2.2] KERB-ERROR-DATA { data-type [1] KERB_AP_ERR_TYPE_SKEW_RECOVERY (2) }, no
/// data-value: the e-data of a KRB_AP_ERR_SKEW when clock skew recovery is attempted.
const KERB_ERROR_DATA_SKEW_RECOVERY: [u8; 7] = [0x30, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x02];

/// GSS-wrapped KRB-ERROR for a rejection that carries an error code, with our time in
/// stime/susec so a client can correct its clock (R9). `skew_recovery`: the exchange stays open
/// for a second AP-REQ, which a KRB_AP_ERR_SKEW announces in its e-data ([MS-KILE 3.4.5]).
pub fn krb_error(rej: &Rejection, now: SystemTime, skew_recovery: bool) -> Option<Vec<u8>> {
    let code = rej.error.krb_error_code()?;
    let (_, susec) = split_now(now);
    let (realm, sname) = rej
        .service
        .clone()
        .unwrap_or_else(|| (KerberosString::new(""), PrincipalName::new(0, &[])));
    let err = KrbError {
        pvno: 5,
        msg_type: 30,
        ctime: rej.client_time.map(|(t, _)| whole_seconds(t)),
        cusec: rej.client_time.map(|(_, u)| u),
        stime: kerberos_time(now),
        susec,
        error_code: code,
        crealm: None,
        cname: None,
        realm,
        sname,
        e_text: None,
        e_data: (skew_recovery && code == crate::error::code::KRB_AP_ERR_SKEW)
            .then(|| KERB_ERROR_DATA_SKEW_RECOVERY.to_vec().into()),
    };
    let der = crate::asn1::encode(&err).ok()?;
    Some(gss::wrap_krb5(gss::TOK_KRB_ERROR, &der))
}

/// Decode a GSS-wrapped KRB-ERROR (tests and diagnostics).
pub fn parse_krb_error(token: &[u8]) -> Option<KrbError> {
    let (_, inner) = gss::unwrap(token).ok()?;
    let (id, msg) = gss::split_tok_id(inner)?;
    if id != gss::TOK_KRB_ERROR {
        return None;
    }
    crate::asn1::decode(msg).ok()
}
