//! A KDC inside the test: it knows the service's key, so it can mint a ticket and an AP-REQ the
//! way MIT's KDC and client library would (RFC 4120 5.3, 5.5.1), with our own ASN.1 types and
//! crypto. The real-KDC path is covered by `interop/`; this one lets engine scenarios log on
//! without any process outside the test.

use std::time::{Duration, SystemTime};

use rasn::types::{BitString, ObjectIdentifier, OctetString};
use rsmbd_auth::asn1::kerberos::*;
use rsmbd_auth::asn1::spnego::{NegTokenInit, NegotiationToken};
use rsmbd_auth::crypto::{Enctype, Key, random_bytes, usage};
use rsmbd_auth::gss::{self, oid};
use rsmbd_auth::keytab::{Keytab, KeytabEntry};

/// The realm of every minted ticket.
pub const REALM: &str = "EXAMPLE.TEST";
/// The service host: the SPN is `cifs/HOST@REALM`.
pub const HOST: &str = "smb1.example.test";
/// The service key's kvno.
pub const KVNO: u32 = 2;

/// The service key and the keytab that holds it.
pub struct TestKdc {
    service_key: Key,
}

impl TestKdc {
    /// A KDC with a random aes256 key for `cifs/HOST`.
    pub fn new() -> Self {
        Self {
            service_key: random_key(Enctype::Aes256CtsHmacSha196),
        }
    }

    /// The keytab as a value ([`TestKdc::keytab_bytes`] is the same entry as a file).
    pub fn keytab(&self) -> Keytab {
        Keytab::from_entries(vec![KeytabEntry {
            realm: REALM.as_bytes().to_vec(),
            components: vec![b"cifs".to_vec(), HOST.as_bytes().to_vec()],
            name_type: 3,
            timestamp: 0,
            kvno: KVNO,
            enctype: self.service_key.enctype().number(),
            key: self.service_key.as_bytes().to_vec(),
        }])
    }

    /// The MIT keytab file (format 0x0502) holding the service key.
    pub fn keytab_bytes(&self) -> Vec<u8> {
        let mut entry = Vec::new();
        entry.extend_from_slice(&2u16.to_be_bytes()); // components
        put_data(&mut entry, REALM.as_bytes());
        put_data(&mut entry, b"cifs");
        put_data(&mut entry, HOST.as_bytes());
        entry.extend_from_slice(&3u32.to_be_bytes()); // KRB5_NT_SRV_HST
        entry.extend_from_slice(&0u32.to_be_bytes()); // timestamp
        entry.push(KVNO as u8);
        entry.extend_from_slice(&(self.service_key.enctype().number() as u16).to_be_bytes());
        put_data(&mut entry, self.service_key.as_bytes());
        let mut out = vec![0x05, 0x02];
        out.extend_from_slice(&(entry.len() as i32).to_be_bytes());
        out.extend_from_slice(&entry);
        out
    }

    /// A SPNEGO NegTokenInit carrying an AP-REQ from `client@REALM` for `cifs/HOST`, as
    /// smbclient sends it; returns the token and the session key both sides will hold.
    pub fn spnego_ap_req(&self, client: &str) -> (Vec<u8>, Key) {
        self.spnego_ap_req_with(&TicketSpec::new(client))
    }

    /// Like [`TestKdc::spnego_ap_req`], for a ticket shaped by `spec` (its time, lifetime and
    /// PAC).
    pub fn spnego_ap_req_with(&self, spec: &TicketSpec) -> (Vec<u8>, Key) {
        let client = spec.client.as_str();
        let now = spec.now;
        let authorization_data = spec.pac_logon_info.as_ref().map(|logon| {
            // AD-IF-RELEVANT { AD-WIN2K-PAC }, as an AD KDC sends it (RFC 4120 5.2.6.1).
            let pac = rsmbd_auth::kerberos::pac::sign_pac(
                &self.service_key,
                16,
                &[(rsmbd_auth::kerberos::pac::PAC_LOGON_INFO, logon)],
            )
            .unwrap_or_default();
            let inner: AuthorizationData = vec![AuthorizationDataEntry {
                ad_type: 128,
                ad_data: OctetString::from(pac),
            }];
            vec![AuthorizationDataEntry {
                ad_type: 1,
                ad_data: OctetString::from(der(&inner)),
            }]
        });
        let session_key = random_key(Enctype::Aes256CtsHmacSha196);
        let enc_part = EncTicketPart {
            flags: bits(&[1, 8]),
            key: EncryptionKey {
                keytype: session_key.enctype().number(),
                keyvalue: OctetString::from(session_key.as_bytes().to_vec()),
            },
            crealm: KerberosString::new(REALM),
            cname: PrincipalName::new(1, &[client]),
            transited: TransitedEncoding {
                tr_type: 1,
                contents: OctetString::from_static(b""),
            },
            authtime: kerberos_time(now - Duration::from_secs(60)),
            starttime: Some(kerberos_time(now - Duration::from_secs(60))),
            endtime: kerberos_time(now + spec.lifetime),
            renew_till: None,
            caddr: None,
            authorization_data,
        };
        let ticket = Ticket {
            tkt_vno: 5,
            realm: KerberosString::new(REALM),
            sname: PrincipalName::new(3, &["cifs", HOST]),
            enc_part: EncryptedData {
                etype: self.service_key.enctype().number(),
                kvno: Some(i64::from(KVNO)),
                cipher: self
                    .service_key
                    .encrypt(usage::TICKET, &der(&enc_part))
                    .unwrap_or_default()
                    .into(),
            },
        };
        let mut cusec = [0u8; 2];
        let _ = random_bytes(&mut cusec);
        let authenticator = Authenticator {
            authenticator_vno: 5,
            crealm: KerberosString::new(REALM),
            cname: PrincipalName::new(1, &[client]),
            cksum: Some(Checksum {
                cksumtype: 0x8003,
                checksum: OctetString::from(gss_checksum()),
            }),
            cusec: u32::from(u16::from_le_bytes(cusec)),
            ctime: kerberos_time(now),
            subkey: None,
            seq_number: Some(1),
            authorization_data: None,
        };
        let ap_req = ApReq {
            pvno: 5,
            msg_type: 14,
            ap_options: bits(&[2]), // mutual-required, as smbclient sends
            ticket,
            authenticator: EncryptedData {
                etype: session_key.enctype().number(),
                kvno: None,
                cipher: session_key
                    .encrypt(usage::AP_REQ_AUTHENTICATOR, &der(&authenticator))
                    .unwrap_or_default()
                    .into(),
            },
        };
        let mut krb5 = gss::TOK_AP_REQ.to_vec();
        krb5.extend_from_slice(&der(&ap_req));
        let mech_token = gss::wrap(oid::KRB5, &krb5);
        let init = NegotiationToken::NegTokenInit(NegTokenInit {
            mech_types: vec![arcs(oid::MS_KRB5_ARCS), arcs(oid::KRB5_ARCS)],
            req_flags: None,
            mech_token: Some(OctetString::from(mech_token)),
            mech_list_mic: None,
        });
        (gss::wrap(oid::SPNEGO, &der(&init)), session_key)
    }
}

/// What a minted ticket looks like.
#[derive(Debug, Clone)]
pub struct TicketSpec {
    /// The client name (in [`REALM`]).
    pub client: String,
    /// When the client sends it (authtime is a minute before).
    pub now: SystemTime,
    /// endtime - now.
    pub lifetime: Duration,
    /// An encoded PAC_LOGON_INFO buffer to put in a signed PAC; `None`: no PAC.
    pub pac_logon_info: Option<Vec<u8>>,
}

impl TicketSpec {
    /// A one-hour ticket for `client`, now, without a PAC.
    pub fn new(client: &str) -> Self {
        Self {
            client: client.to_string(),
            now: SystemTime::now(),
            lifetime: Duration::from_secs(3600),
            pac_logon_info: None,
        }
    }
}

impl std::fmt::Debug for TestKdc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestKdc(..)")
    }
}

impl Default for TestKdc {
    fn default() -> Self {
        Self::new()
    }
}

fn der<T: rasn::Encode>(v: &T) -> Vec<u8> {
    rasn::der::encode(v).unwrap_or_default()
}

fn arcs(a: &'static [u32]) -> ObjectIdentifier {
    ObjectIdentifier::new(a.to_vec())
        .unwrap_or_else(|| ObjectIdentifier::new_unchecked(a.to_vec().into()))
}

fn put_data(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
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
    let _ = random_bytes(&mut b);
    Key::new(e, &b).unwrap_or_else(|_| panic!("a {}-byte key is valid for {e:?}", b.len()))
}

/// RFC 4121 4.1.1 authenticator checksum: Lgth 16, no channel bindings, mutual|conf|integ.
fn gss_checksum() -> Vec<u8> {
    let mut c = 16u32.to_le_bytes().to_vec();
    c.extend_from_slice(&[0; 16]);
    c.extend_from_slice(&(0x02u32 | 0x20 | 0x10).to_le_bytes());
    c
}
