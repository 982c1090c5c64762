//! RFC 4120 §3.2.3 "Receipt of KRB_AP_REQ Message": decrypt the ticket with a keytab key (usage
//! 2), the authenticator with the ticket session key (usage 11), and check names, times and
//! replays. Never contacts a KDC (R6).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rasn::types::OctetString;
use zeroize::Zeroize;

use super::keys;
use super::replay::ReplayCache;
use crate::asn1::kerberos::{
    ApReq, Authenticator, EncTicketPart, EncryptionKey, KerberosTime, PrincipalName, Realm,
    unix_seconds,
};
use crate::config::AcceptorConfig;
use crate::crypto::{CryptoError, Enctype, Key, usage};
use crate::error::AuthError;

/// AP-REQ that passed every check.
#[derive(Debug)]
pub struct Accepted {
    /// Client `name@REALM`.
    pub client: String,
    /// Ticket `sname@realm`.
    pub spn: String,
    /// kvno of the keytab key that decrypted the ticket.
    pub kvno: u32,
    /// True when that kvno differs from the ticket's.
    pub kvno_fallback: bool,
    /// Ticket enctype.
    pub ticket_enctype: i32,
    /// Initiator subkey if present, else the ticket session key (R11).
    pub session_key: Key,
    /// The ticket session key (encrypts the AP-REP).
    pub ticket_session_key: Key,
    /// Raw PAC, if any (dropped when its server signature is wrong).
    pub pac: Option<Vec<u8>>,
    /// MS-PAC §2.8.1 server signature check: `None` when absent or not checkable.
    pub pac_server_signature: Option<bool>,
    /// Ticket end time.
    pub ticket_end: SystemTime,
    /// Authenticator ctime (echoed in the AP-REP).
    pub ctime: KerberosTime,
    /// Authenticator cusec (echoed).
    pub cusec: u32,
    /// Authenticator seq-number (initiator's initial sequence number).
    pub initiator_seq: Option<u32>,
    /// The client asked for mutual authentication (APOptions mutual-required).
    pub mutual: bool,
}

/// A refused AP-REQ with what is known for the KRB-ERROR (RFC 4120 §5.9.1).
#[derive(Debug)]
pub struct Rejection {
    /// The cause.
    pub error: AuthError,
    /// Service realm and name, when the ticket was decoded.
    pub service: Option<(Realm, PrincipalName)>,
    /// Authenticator ctime/cusec, when decrypted.
    pub client_time: Option<(KerberosTime, u32)>,
}

impl From<AuthError> for Box<Rejection> {
    fn from(error: AuthError) -> Self {
        Box::new(Rejection {
            error,
            service: None,
            client_time: None,
        })
    }
}

/// `now` as (seconds, microseconds) since the epoch.
pub fn split_now(now: SystemTime) -> (i64, u32) {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_micros(),
        ),
        Err(_) => (0, 0),
    }
}

fn to_system_time(t: &KerberosTime) -> SystemTime {
    u64::try_from(unix_seconds(t)).map_or(UNIX_EPOCH, |s| UNIX_EPOCH + Duration::from_secs(s))
}

fn principal(name: &PrincipalName, realm: &Realm) -> String {
    format!("{}@{}", name.to_text(), realm.to_text())
}

/// An enctype we implement and the configuration allows.
fn allowed(cfg: &AcceptorConfig, n: i32) -> Option<Enctype> {
    cfg.accepts(n)
}

/// Wipe a decoded key's bytes (rasn holds them in a `Bytes`, which has no zeroize-on-drop).
fn wipe(k: &mut EncryptionKey) {
    let bytes: bytes::Bytes =
        std::mem::replace(&mut k.keyvalue, OctetString::from_static(b"")).into();
    if let Ok(mut unique) = bytes.try_into_mut() {
        unique.as_mut().zeroize();
    }
}

fn key_from(cfg: &AcceptorConfig, k: &EncryptionKey, spn: &str) -> Result<Key, AuthError> {
    let e = allowed(cfg, k.keytype).ok_or_else(|| AuthError::EnctypeNotAllowed {
        spn: spn.to_owned(),
        enctype: k.keytype,
    })?;
    Key::new(e, &k.keyvalue).map_err(|_| AuthError::Malformed {
        what: "session key",
        detail: format!("{} key of {} bytes", e.name(), k.keyvalue.len()),
    })
}

/// Check a DER AP-REQ (already unwrapped from GSS).
pub fn verify_ap_req(
    cfg: &AcceptorConfig,
    replay: &ReplayCache,
    der: &[u8],
    now: SystemTime,
) -> Result<Accepted, Box<Rejection>> {
    let req: ApReq = crate::asn1::decode(der).map_err(|e| AuthError::Malformed {
        what: "AP-REQ",
        detail: e.to_string(),
    })?;
    if req.pvno != 5 || req.msg_type != 14 {
        return Err(AuthError::BadVersion {
            pvno: req.pvno,
            msg_type: req.msg_type,
        }
        .into());
    }
    let ticket = &req.ticket;
    let service = Some((ticket.realm.clone(), ticket.sname.clone()));
    let reject = |error: AuthError| {
        Box::new(Rejection {
            error,
            service: service.clone(),
            client_time: None,
        })
    };
    let spn = principal(&ticket.sname, &ticket.realm);
    let etype_n = ticket.enc_part.etype;
    let tkt_kvno = ticket.enc_part.kvno_u32();

    // 1. Decrypt the ticket with a keytab key (usage 2).
    let Some(etype) = allowed(cfg, etype_n) else {
        return Err(reject(AuthError::EnctypeNotAllowed {
            spn,
            enctype: etype_n,
        }));
    };
    let cands = keys::candidates(&cfg.keytab, &ticket.realm, &ticket.sname, etype_n, tkt_kvno);
    if cands.is_empty() {
        return Err(reject(AuthError::NoKey {
            spn,
            kvno: tkt_kvno,
            enctype: etype_n,
            keytab: cfg.keytab.summary(),
        }));
    }
    let mut tried = Vec::new();
    let mut found = None;
    for c in &cands {
        tried.push(c.entry.kvno);
        let Ok(key) = Key::new(etype, &c.entry.key) else {
            continue;
        };
        match key.decrypt(usage::TICKET, &ticket.enc_part.cipher) {
            Ok(plain) => {
                found = Some((plain, c.entry.kvno, c.fallback, key));
                break;
            }
            Err(CryptoError::Integrity | CryptoError::TooShort | CryptoError::BadKeyLength) => {}
            Err(e) => return Err(reject(AuthError::Internal(e.to_string()))),
        }
    }
    let Some((plain, kvno, kvno_fallback, service_key)) = found else {
        let kvno_known = tkt_kvno.is_some_and(|k| tried.contains(&k));
        return Err(reject(match tkt_kvno {
            Some(k) if !kvno_known => AuthError::BadKeyVersion {
                spn,
                kvno: k,
                enctype: etype_n,
                tried,
            },
            _ => AuthError::TicketModified {
                spn,
                kvno: tkt_kvno,
                enctype: etype_n,
                tried,
            },
        }));
    };
    let mut enc: EncTicketPart = crate::asn1::decode(&plain).map_err(|e| {
        reject(AuthError::Malformed {
            what: "EncTicketPart",
            detail: e.to_string(),
        })
    })?;
    let ticket_key = key_from(cfg, &enc.key, &spn);
    wipe(&mut enc.key);
    let ticket_key = ticket_key.map_err(reject)?;

    // 2. Decrypt the authenticator with the ticket session key (usage 11).
    let auth_plain = ticket_key
        .decrypt(usage::AP_REQ_AUTHENTICATOR, &req.authenticator.cipher)
        .map_err(|_| reject(AuthError::AuthenticatorIntegrity { spn: spn.clone() }))?;
    let mut auth: Authenticator = crate::asn1::decode(&auth_plain).map_err(|e| {
        reject(AuthError::Malformed {
            what: "Authenticator",
            detail: e.to_string(),
        })
    })?;
    // Take the initiator subkey out now so its decoded bytes are wiped on every path.
    let subkey = auth.subkey.as_mut().map(|sk| {
        let k = key_from(cfg, sk, &spn);
        wipe(sk);
        k
    });
    let client_time = Some((auth.ctime, auth.cusec));
    let reject = |error: AuthError| {
        Box::new(Rejection {
            error,
            service: service.clone(),
            client_time,
        })
    };

    // 3. The authenticator must name the ticket's client.
    let client = principal(&enc.cname, &enc.crealm);
    if auth.crealm != enc.crealm || auth.cname.name_string != enc.cname.name_string {
        return Err(reject(AuthError::ClientMismatch {
            ticket: client,
            authenticator: principal(&auth.cname, &auth.crealm),
        }));
    }

    // 4. Times: authenticator within the skew, ticket inside its validity (± skew).
    let (now_s, _) = split_now(now);
    let skew = i64::try_from(cfg.max_skew.as_secs()).unwrap_or(i64::MAX);
    let offset = unix_seconds(&auth.ctime).saturating_sub(now_s);
    if offset.saturating_abs() > skew {
        return Err(reject(AuthError::Skew {
            client,
            offset_secs: offset,
            max_skew_secs: cfg.max_skew.as_secs(),
        }));
    }
    let start = unix_seconds(enc.starttime.as_ref().unwrap_or(&enc.authtime));
    // TicketFlags bit 7 "invalid": a postdated ticket not yet validated by the KDC.
    let invalid = enc.flags.get(7).is_some_and(|b| *b);
    if start.saturating_sub(now_s) > skew || invalid {
        return Err(reject(AuthError::TicketNotYetValid {
            client,
            starts_in_secs: start.saturating_sub(now_s),
        }));
    }
    let end = unix_seconds(&enc.endtime);
    if now_s.saturating_sub(end) > skew {
        return Err(reject(AuthError::TicketExpired {
            client,
            expired_secs_ago: now_s.saturating_sub(end),
        }));
    }

    // 5. Replay cache, last, so refused requests do not fill it.
    if !replay.check_and_insert(
        &client,
        &spn,
        unix_seconds(&auth.ctime),
        auth.cusec,
        now,
        cfg.max_skew,
    ) {
        return Err(reject(AuthError::Replay { client, spn }));
    }

    let session_key = match subkey {
        Some(k) => k.map_err(reject)?,
        None => ticket_key.clone(),
    };
    // A PAC is kept only when its server signature verifies or cannot be checked; it never
    // decides the logon (R8).
    let mut pac = enc
        .authorization_data
        .as_ref()
        .and_then(super::pac::find_pac);
    let pac_server_signature = pac
        .as_deref()
        .and_then(|p| super::pac::verify_server_signature(p, &service_key));
    if pac_server_signature == Some(false) {
        pac = None;
    }
    // APOptions bit 2: mutual-required.
    let mutual = req.ap_options.get(2).is_some_and(|b| *b);
    Ok(Accepted {
        client,
        spn,
        kvno,
        kvno_fallback,
        ticket_enctype: etype_n,
        session_key,
        ticket_session_key: ticket_key,
        pac,
        pac_server_signature,
        ticket_end: to_system_time(&enc.endtime),
        ctime: auth.ctime,
        cusec: auth.cusec,
        // Sequence numbers are 32-bit; a negative encoding is the same bits (two's complement).
        initiator_seq: auth.seq_number.map(|s| s as u32),
        mutual,
    })
}
