//! A KDC in a test: mints tickets and AP-REQs with our own ASN.1 types and crypto, plus a
//! client-side view of the acceptor's answers. No network, no real KDC.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    dead_code
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rasn::types::{BitString, ObjectIdentifier, OctetString};
use rsmbd_auth::asn1::kerberos::*;
use rsmbd_auth::asn1::spnego::*;
use rsmbd_auth::crypto::{Enctype, Key, usage};
use rsmbd_auth::gss::{self, oid};
use rsmbd_auth::keytab::{Keytab, KeytabEntry};
use rsmbd_auth::{AcceptorConfig, ReplayCache};

pub const REALM: &str = "EXAMPLE.TEST";
pub const HOST: &str = "smb1.example.test";
pub const PASSWORD: &str = "service-password";

/// A fixed "now" so tests are reproducible.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

/// The service key for `cifs/<host>@REALM` derived by string-to-key, as the KDC holds it.
/// Memoised: PBKDF2 is slow in debug builds and the tests derive the same keys many times.
pub fn service_key(e: Enctype, host: &str, password: &str) -> Key {
    type Cache = Vec<((Enctype, String, String), Key)>;
    static CACHE: Mutex<Cache> = Mutex::new(Vec::new());
    let id = (e, host.to_string(), password.to_string());
    let mut cache = CACHE.lock().unwrap();
    if let Some((_, k)) = cache.iter().find(|(i, _)| *i == id) {
        return k.clone();
    }
    let salt = format!("{REALM}cifs{host}");
    let k = e.string_to_key(password, salt.as_bytes()).unwrap();
    cache.push((id, k.clone()));
    k
}

pub fn entry(host: &str, kvno: u32, key: &Key) -> KeytabEntry {
    KeytabEntry {
        realm: REALM.as_bytes().to_vec(),
        components: vec![b"cifs".to_vec(), host.as_bytes().to_vec()],
        name_type: 3,
        timestamp: 0,
        kvno,
        enctype: key.enctype().number(),
        key: key.as_bytes().to_vec(),
    }
}

/// Keytab with cifs/HOST kvno 3 in aes256 and aes128.
pub fn keytab() -> Keytab {
    Keytab::from_entries(vec![
        entry(
            HOST,
            3,
            &service_key(Enctype::Aes256CtsHmacSha196, HOST, PASSWORD),
        ),
        entry(
            HOST,
            3,
            &service_key(Enctype::Aes128CtsHmacSha196, HOST, PASSWORD),
        ),
    ])
}

pub fn config(kt: Keytab) -> Arc<AcceptorConfig> {
    Arc::new(AcceptorConfig::new(Arc::new(kt)))
}

pub fn replay() -> Arc<ReplayCache> {
    Arc::new(ReplayCache::new())
}

fn ktime(t: SystemTime) -> KerberosTime {
    kerberos_time(t)
}

fn bits(set: &[usize]) -> BitString {
    let mut b = BitString::repeat(false, 32);
    for i in set {
        b.set(*i, true);
    }
    b
}

fn random_key(e: Enctype) -> Key {
    let mut b = vec![0u8; e.key_len()];
    rsmbd_auth::crypto::random_bytes(&mut b).unwrap();
    Key::new(e, &b).unwrap()
}

/// What to mint. Defaults: alice@EXAMPLE.TEST → cifs/HOST, aes256 ticket and session key,
/// ticket valid from now-1h to now+9h, authenticator at now, mutual, seq-number present.
#[derive(Clone)]
pub struct Mint {
    pub client: String,
    pub crealm: String,
    pub auth_client: Option<String>,
    pub host: String,
    pub ticket_key: Key,
    pub kvno: Option<u32>,
    pub session_enctype: Enctype,
    pub subkey: Option<Enctype>,
    pub seq: Option<i64>,
    pub start_offset: i64,
    pub end_offset: i64,
    pub ctime_offset: i64,
    pub cusec: u32,
    pub mutual: bool,
    pub auth_data: Option<AuthorizationData>,
}

impl Default for Mint {
    fn default() -> Self {
        Self {
            client: "alice".into(),
            crealm: REALM.into(),
            auth_client: None,
            host: HOST.into(),
            ticket_key: service_key(Enctype::Aes256CtsHmacSha196, HOST, PASSWORD),
            kvno: Some(3),
            session_enctype: Enctype::Aes256CtsHmacSha196,
            subkey: None,
            seq: Some(12345),
            start_offset: -3600,
            end_offset: 9 * 3600,
            ctime_offset: 0,
            cusec: 4242,
            mutual: true,
            auth_data: None,
        }
    }
}

/// The client's side of a minted AP-REQ.
pub struct Minted {
    pub ap_req: Vec<u8>,
    pub ticket_session_key: Key,
    pub subkey: Option<Key>,
    pub ctime: KerberosTime,
    pub cusec: u32,
}

impl Minted {
    /// The key both sides should end up with.
    pub fn expected_session_key(&self) -> &Key {
        self.subkey.as_ref().unwrap_or(&self.ticket_session_key)
    }
}

fn at(offset: i64) -> SystemTime {
    if offset >= 0 {
        now() + Duration::from_secs(offset as u64)
    } else {
        now() - Duration::from_secs((-offset) as u64)
    }
}

impl Mint {
    pub fn mint(&self) -> Minted {
        let tsk = random_key(self.session_enctype);
        let enc = EncTicketPart {
            flags: bits(&[1, 8]),
            key: EncryptionKey {
                keytype: tsk.enctype().number(),
                keyvalue: OctetString::from(tsk.as_bytes().to_vec()),
            },
            crealm: KerberosString::new(&self.crealm),
            cname: PrincipalName::new(1, &[&self.client]),
            transited: TransitedEncoding {
                tr_type: 1,
                contents: OctetString::from_static(b""),
            },
            authtime: ktime(at(self.start_offset)),
            starttime: Some(ktime(at(self.start_offset))),
            endtime: ktime(at(self.end_offset)),
            renew_till: None,
            caddr: None,
            authorization_data: self.auth_data.clone(),
        };
        let enc_der = rasn::der::encode(&enc).unwrap();
        let ticket = Ticket {
            tkt_vno: 5,
            realm: KerberosString::new(REALM),
            sname: PrincipalName::new(3, &["cifs", &self.host]),
            enc_part: EncryptedData {
                etype: self.ticket_key.enctype().number(),
                kvno: self.kvno.map(i64::from),
                cipher: self
                    .ticket_key
                    .encrypt(usage::TICKET, &enc_der)
                    .unwrap()
                    .into(),
            },
        };
        let subkey = self.subkey.map(random_key);
        let ctime = ktime(at(self.ctime_offset));
        let auth_name = self
            .auth_client
            .clone()
            .unwrap_or_else(|| self.client.clone());
        let auth = Authenticator {
            authenticator_vno: 5,
            crealm: KerberosString::new(&self.crealm),
            cname: PrincipalName::new(1, &[&auth_name]),
            cksum: Some(Checksum {
                cksumtype: 0x8003,
                checksum: OctetString::from(gss_checksum()),
            }),
            cusec: self.cusec,
            ctime,
            subkey: subkey.as_ref().map(|k| EncryptionKey {
                keytype: k.enctype().number(),
                keyvalue: OctetString::from(k.as_bytes().to_vec()),
            }),
            seq_number: self.seq,
            authorization_data: None,
        };
        let auth_der = rasn::der::encode(&auth).unwrap();
        let req = ApReq {
            pvno: 5,
            msg_type: 14,
            ap_options: if self.mutual { bits(&[2]) } else { bits(&[]) },
            ticket,
            authenticator: EncryptedData {
                etype: tsk.enctype().number(),
                kvno: None,
                cipher: tsk
                    .encrypt(usage::AP_REQ_AUTHENTICATOR, &auth_der)
                    .unwrap()
                    .into(),
            },
        };
        Minted {
            ap_req: rasn::der::encode(&req).unwrap(),
            ticket_session_key: tsk,
            subkey,
            ctime,
            cusec: self.cusec,
        }
    }
}

/// RFC 4121 §4.1.1 checksum: Lgth 16, zero bindings, flags mutual|integ|conf.
fn gss_checksum() -> Vec<u8> {
    let mut c = 16u32.to_le_bytes().to_vec();
    c.extend_from_slice(&[0; 16]);
    c.extend_from_slice(&(0x02u32 | 0x20 | 0x10).to_le_bytes());
    c
}

/// GSS krb5 token (TOK_ID 01 00) with the given mech OID (DER content bytes).
pub fn krb5_token(ap_req: &[u8], mech: &[u8]) -> Vec<u8> {
    let mut inner = gss::TOK_AP_REQ.to_vec();
    inner.extend_from_slice(ap_req);
    gss::wrap(mech, &inner)
}

pub fn oid_arcs(a: &'static [u32]) -> ObjectIdentifier {
    ObjectIdentifier::new(a.to_vec()).unwrap()
}

/// SPNEGO NegTokenInit, GSS-wrapped.
pub fn spnego_init(mechs: &[&'static [u32]], token: Option<Vec<u8>>) -> Vec<u8> {
    let t = NegotiationToken::NegTokenInit(NegTokenInit {
        mech_types: mechs.iter().map(|m| oid_arcs(m)).collect(),
        req_flags: None,
        mech_token: token.map(OctetString::from),
        mech_list_mic: None,
    });
    gss::wrap(oid::SPNEGO, &rasn::der::encode(&t).unwrap())
}

/// SPNEGO NegTokenResp (bare).
pub fn spnego_resp(token: Option<Vec<u8>>, mic: Option<Vec<u8>>) -> Vec<u8> {
    let t = NegotiationToken::NegTokenResp(NegTokenResp {
        neg_state: None,
        supported_mech: None,
        response_token: token.map(OctetString::from),
        mech_list_mic: mic.map(OctetString::from),
    });
    rasn::der::encode(&t).unwrap()
}

pub fn decode_resp(out: &[u8]) -> NegTokenResp {
    match rasn::ber::decode::<NegotiationToken>(out).unwrap() {
        NegotiationToken::NegTokenResp(r) => r,
        other => panic!("expected NegTokenResp, got {other:?}"),
    }
}

/// Client-side check of a GSS AP-REP: standard krb5 OID, TOK_ID 02 00, decrypts with the ticket
/// session key (usage 12), echoes ctime/cusec, carries no subkey. Returns its seq-number.
pub fn check_ap_rep(token: &[u8], minted: &Minted) -> Option<u32> {
    let (mech, inner) = gss::unwrap(token).unwrap();
    assert_eq!(
        mech,
        oid::KRB5,
        "inner AP-REP must use the standard krb5 OID"
    );
    let (id, msg) = gss::split_tok_id(inner).unwrap();
    assert_eq!(id, gss::TOK_AP_REP);
    let rep: ApRep = rasn::ber::decode(msg).unwrap();
    assert_eq!((rep.pvno, rep.msg_type), (5, 15));
    let plain = minted
        .ticket_session_key
        .decrypt(usage::AP_REP_ENC_PART, &rep.enc_part.cipher)
        .unwrap();
    let part: EncApRepPart = rasn::ber::decode(&plain).unwrap();
    assert_eq!(part.ctime, minted.ctime);
    assert_eq!(part.cusec, minted.cusec);
    assert!(part.subkey.is_none(), "no acceptor subkey (R11)");
    part.seq_number
}
