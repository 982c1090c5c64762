//! Kerberos V5 ASN.1 types, RFC 4120 §5 (module KerberosV5Spec2, EXPLICIT TAGS), written for
//! this crate. Differences from rasn-kerberos: [`KerberosString`] accepts any bytes (MS-KILE
//! §3.1.5.7 says UTF-8; rasn's GeneralString alphabet rejects 0x80-0xA0, i.e. `€`), and
//! sequence numbers decode as i64 because some implementations encode them signed.

use rasn::prelude::*;

/// RFC 4120 §5.2.1 KerberosString: GeneralString tag, content kept as raw (UTF-8) bytes.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Hash)]
#[rasn(tag(universal, 27), delegate)]
pub struct KerberosString(pub OctetString);

impl KerberosString {
    /// From UTF-8 text.
    pub fn new(s: &str) -> Self {
        Self(OctetString::from_slice(s.as_bytes()))
    }
    /// Raw bytes as sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Text, replacing invalid UTF-8 (names are UTF-8 per MS-KILE; this is for display).
    pub fn to_text(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

/// RFC 4120 §5.2.2 Realm.
pub type Realm = KerberosString;

/// RFC 4120 §5.2.3 KerberosTime: GeneralizedTime, whole seconds (use [`kerberos_time`]).
pub type KerberosTime = GeneralizedTime;

/// RFC 4120 §5.2.4 Microseconds (0..999999).
pub type Microseconds = u32;

/// RFC 4120 §5.2.2 PrincipalName.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PrincipalName {
    /// name-type \[0\] Int32 (NT-PRINCIPAL 1, NT-SRV-INST 2, NT-SRV-HST 3, ...).
    #[rasn(tag(explicit(0)))]
    pub name_type: i32,
    /// name-string \[1\] SEQUENCE OF KerberosString.
    #[rasn(tag(explicit(1)))]
    pub name_string: SequenceOf<KerberosString>,
}

impl PrincipalName {
    /// Components joined with '/', as written in keytabs and logs (`cifs/host`).
    pub fn to_text(&self) -> String {
        self.name_string
            .iter()
            .map(KerberosString::to_text)
            .collect::<Vec<_>>()
            .join("/")
    }
    /// A principal from text components.
    pub fn new(name_type: i32, components: &[&str]) -> Self {
        Self {
            name_type,
            name_string: components.iter().map(|c| KerberosString::new(c)).collect(),
        }
    }
}

/// RFC 4120 §5.2.5 HostAddress.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct HostAddress {
    /// addr-type \[0\] Int32.
    #[rasn(tag(explicit(0)))]
    pub addr_type: i32,
    /// address \[1\] OCTET STRING.
    #[rasn(tag(explicit(1)))]
    pub address: OctetString,
}

/// RFC 4120 §5.2.6 AuthorizationData element.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationDataEntry {
    /// ad-type \[0\] Int32 (AD-IF-RELEVANT 1, AD-WIN2K-PAC 128).
    #[rasn(tag(explicit(0)))]
    pub ad_type: i32,
    /// ad-data \[1\] OCTET STRING.
    #[rasn(tag(explicit(1)))]
    pub ad_data: OctetString,
}

/// RFC 4120 §5.2.6 AuthorizationData (also the content of AD-IF-RELEVANT, §5.2.6.1).
pub type AuthorizationData = SequenceOf<AuthorizationDataEntry>;

/// RFC 4120 §5.2.9 EncryptedData.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EncryptedData {
    /// etype \[0\] Int32.
    #[rasn(tag(explicit(0)))]
    pub etype: i32,
    /// kvno \[1\] UInt32 OPTIONAL (decoded wide: some encoders sign it; see [`EncryptedData::kvno_u32`]).
    #[rasn(tag(explicit(1)))]
    pub kvno: Option<i64>,
    /// cipher \[2\] OCTET STRING.
    #[rasn(tag(explicit(2)))]
    pub cipher: OctetString,
}

impl EncryptedData {
    /// The kvno as the 32-bit value it is (a negative encoding keeps its two's-complement bits).
    pub fn kvno_u32(&self) -> Option<u32> {
        self.kvno.map(|k| k as u32)
    }
}

/// RFC 4120 §5.2.9 EncryptionKey.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EncryptionKey {
    /// keytype \[0\] Int32 (an enctype number).
    #[rasn(tag(explicit(0)))]
    pub keytype: i32,
    /// keyvalue \[1\] OCTET STRING.
    #[rasn(tag(explicit(1)))]
    pub keyvalue: OctetString,
}

/// RFC 4120 §5.2.9 Checksum.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// cksumtype \[0\] Int32 (0x8003 = GSS checksum, RFC 4121 §4.1.1).
    #[rasn(tag(explicit(0)))]
    pub cksumtype: i32,
    /// checksum \[1\] OCTET STRING.
    #[rasn(tag(explicit(1)))]
    pub checksum: OctetString,
}

/// RFC 4120 §5.3 Ticket ::= \[APPLICATION 1\].
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(explicit(application, 1)))]
pub struct Ticket {
    /// tkt-vno \[0\] INTEGER (5).
    #[rasn(tag(explicit(0)))]
    pub tkt_vno: i32,
    /// realm \[1\] Realm (the service's realm).
    #[rasn(tag(explicit(1)))]
    pub realm: Realm,
    /// sname \[2\] PrincipalName (the service principal).
    #[rasn(tag(explicit(2)))]
    pub sname: PrincipalName,
    /// enc-part \[3\] EncryptedData (EncTicketPart, key usage 2).
    #[rasn(tag(explicit(3)))]
    pub enc_part: EncryptedData,
}

/// RFC 4120 §5.3 TransitedEncoding.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct TransitedEncoding {
    /// tr-type \[0\] Int32.
    #[rasn(tag(explicit(0)))]
    pub tr_type: i32,
    /// contents \[1\] OCTET STRING.
    #[rasn(tag(explicit(1)))]
    pub contents: OctetString,
}

/// RFC 4120 §5.3 EncTicketPart ::= \[APPLICATION 3\].
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(explicit(application, 3)))]
pub struct EncTicketPart {
    /// flags \[0\] TicketFlags.
    #[rasn(tag(explicit(0)))]
    pub flags: BitString,
    /// key \[1\] EncryptionKey (the ticket session key).
    #[rasn(tag(explicit(1)))]
    pub key: EncryptionKey,
    /// crealm \[2\] Realm.
    #[rasn(tag(explicit(2)))]
    pub crealm: Realm,
    /// cname \[3\] PrincipalName.
    #[rasn(tag(explicit(3)))]
    pub cname: PrincipalName,
    /// transited \[4\] TransitedEncoding.
    #[rasn(tag(explicit(4)))]
    pub transited: TransitedEncoding,
    /// authtime \[5\] KerberosTime.
    #[rasn(tag(explicit(5)))]
    pub authtime: KerberosTime,
    /// starttime \[6\] KerberosTime OPTIONAL.
    #[rasn(tag(explicit(6)))]
    pub starttime: Option<KerberosTime>,
    /// endtime \[7\] KerberosTime.
    #[rasn(tag(explicit(7)))]
    pub endtime: KerberosTime,
    /// renew-till \[8\] KerberosTime OPTIONAL.
    #[rasn(tag(explicit(8)))]
    pub renew_till: Option<KerberosTime>,
    /// caddr \[9\] HostAddresses OPTIONAL.
    #[rasn(tag(explicit(9)))]
    pub caddr: Option<SequenceOf<HostAddress>>,
    /// authorization-data \[10\] AuthorizationData OPTIONAL (carries the PAC).
    #[rasn(tag(explicit(10)))]
    pub authorization_data: Option<AuthorizationData>,
}

/// RFC 4120 §5.5.1 AP-REQ ::= \[APPLICATION 14\].
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(explicit(application, 14)))]
pub struct ApReq {
    /// pvno \[0\] INTEGER (5).
    #[rasn(tag(explicit(0)))]
    pub pvno: i32,
    /// msg-type \[1\] INTEGER (14).
    #[rasn(tag(explicit(1)))]
    pub msg_type: i32,
    /// ap-options \[2\] APOptions (bit 1 use-session-key, bit 2 mutual-required).
    #[rasn(tag(explicit(2)))]
    pub ap_options: BitString,
    /// ticket \[3\] Ticket.
    #[rasn(tag(explicit(3)))]
    pub ticket: Ticket,
    /// authenticator \[4\] EncryptedData (Authenticator, key usage 11).
    #[rasn(tag(explicit(4)))]
    pub authenticator: EncryptedData,
}

/// RFC 4120 §5.5.1 Authenticator ::= \[APPLICATION 2\].
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(explicit(application, 2)))]
pub struct Authenticator {
    /// authenticator-vno \[0\] INTEGER (5).
    #[rasn(tag(explicit(0)))]
    pub authenticator_vno: i32,
    /// crealm \[1\] Realm.
    #[rasn(tag(explicit(1)))]
    pub crealm: Realm,
    /// cname \[2\] PrincipalName.
    #[rasn(tag(explicit(2)))]
    pub cname: PrincipalName,
    /// cksum \[3\] Checksum OPTIONAL (GSS checksum 0x8003 for RFC 4121).
    #[rasn(tag(explicit(3)))]
    pub cksum: Option<Checksum>,
    /// cusec \[4\] Microseconds.
    #[rasn(tag(explicit(4)))]
    pub cusec: Microseconds,
    /// ctime \[5\] KerberosTime.
    #[rasn(tag(explicit(5)))]
    pub ctime: KerberosTime,
    /// subkey \[6\] EncryptionKey OPTIONAL (initiator subkey).
    #[rasn(tag(explicit(6)))]
    pub subkey: Option<EncryptionKey>,
    /// seq-number \[7\] UInt32 OPTIONAL (decoded wide: some encoders sign it).
    #[rasn(tag(explicit(7)))]
    pub seq_number: Option<i64>,
    /// authorization-data \[8\] AuthorizationData OPTIONAL.
    #[rasn(tag(explicit(8)))]
    pub authorization_data: Option<AuthorizationData>,
}

/// RFC 4120 §5.5.2 AP-REP ::= \[APPLICATION 15\].
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(explicit(application, 15)))]
pub struct ApRep {
    /// pvno \[0\] INTEGER (5).
    #[rasn(tag(explicit(0)))]
    pub pvno: i32,
    /// msg-type \[1\] INTEGER (15).
    #[rasn(tag(explicit(1)))]
    pub msg_type: i32,
    /// enc-part \[2\] EncryptedData (EncAPRepPart, key usage 12).
    #[rasn(tag(explicit(2)))]
    pub enc_part: EncryptedData,
}

/// RFC 4120 §5.5.2 EncAPRepPart ::= \[APPLICATION 27\].
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(explicit(application, 27)))]
pub struct EncApRepPart {
    /// ctime \[0\] KerberosTime (echoed from the authenticator).
    #[rasn(tag(explicit(0)))]
    pub ctime: KerberosTime,
    /// cusec \[1\] Microseconds (echoed).
    #[rasn(tag(explicit(1)))]
    pub cusec: Microseconds,
    /// subkey \[2\] EncryptionKey OPTIONAL (we never send one: R11).
    #[rasn(tag(explicit(2)))]
    pub subkey: Option<EncryptionKey>,
    /// seq-number \[3\] UInt32 OPTIONAL (the acceptor's initial sequence number).
    #[rasn(tag(explicit(3)))]
    pub seq_number: Option<u32>,
}

/// RFC 4120 §5.9.1 KRB-ERROR ::= \[APPLICATION 30\].
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(explicit(application, 30)))]
pub struct KrbError {
    /// pvno \[0\] INTEGER (5).
    #[rasn(tag(explicit(0)))]
    pub pvno: i32,
    /// msg-type \[1\] INTEGER (30).
    #[rasn(tag(explicit(1)))]
    pub msg_type: i32,
    /// ctime \[2\] KerberosTime OPTIONAL.
    #[rasn(tag(explicit(2)))]
    pub ctime: Option<KerberosTime>,
    /// cusec \[3\] Microseconds OPTIONAL.
    #[rasn(tag(explicit(3)))]
    pub cusec: Option<Microseconds>,
    /// stime \[4\] KerberosTime (server time; lets a client correct skew).
    #[rasn(tag(explicit(4)))]
    pub stime: KerberosTime,
    /// susec \[5\] Microseconds.
    #[rasn(tag(explicit(5)))]
    pub susec: Microseconds,
    /// error-code \[6\] Int32.
    #[rasn(tag(explicit(6)))]
    pub error_code: i32,
    /// crealm \[7\] Realm OPTIONAL.
    #[rasn(tag(explicit(7)))]
    pub crealm: Option<Realm>,
    /// cname \[8\] PrincipalName OPTIONAL.
    #[rasn(tag(explicit(8)))]
    pub cname: Option<PrincipalName>,
    /// realm \[9\] Realm (service realm).
    #[rasn(tag(explicit(9)))]
    pub realm: Realm,
    /// sname \[10\] PrincipalName (service name).
    #[rasn(tag(explicit(10)))]
    pub sname: PrincipalName,
    /// e-text \[11\] KerberosString OPTIONAL.
    #[rasn(tag(explicit(11)))]
    pub e_text: Option<KerberosString>,
    /// e-data \[12\] OCTET STRING OPTIONAL.
    #[rasn(tag(explicit(12)))]
    pub e_data: Option<OctetString>,
}

/// A KerberosTime for `t`, truncated to whole seconds (RFC 4120 §5.2.3 forbids fractions; rasn
/// would write them) and clamped into chrono's range.
pub fn kerberos_time(t: std::time::SystemTime) -> KerberosTime {
    let secs = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    };
    let utc = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    utc.fixed_offset()
}

/// `t` without its fraction of a second, for re-encoding a time a peer sent (RFC 4120 §5.2.3).
pub fn whole_seconds(t: KerberosTime) -> KerberosTime {
    chrono::DateTime::from_timestamp(t.timestamp(), 0).map_or(t, |utc| utc.fixed_offset())
}

/// Seconds since the epoch (may be negative) of a KerberosTime, ignoring sub-second parts.
pub fn unix_seconds(t: &KerberosTime) -> i64 {
    t.timestamp()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    /// `eur€` holds byte 0x82 that rasn's GeneralString rejects; ours round-trips it.
    #[test]
    fn kerberos_string_accepts_utf8_euro() {
        for name in ["eur€", "jürgen", "alice"] {
            let p = PrincipalName::new(1, &[name]);
            let der = crate::asn1::encode(&p).unwrap();
            let back: PrincipalName = crate::asn1::decode(&der).unwrap();
            assert_eq!(back.to_text(), name);
            // And the stock GeneralString type would refuse the euro sign.
            if name == "eur€" {
                assert!(rasn::types::GeneralString::from_bytes(name.as_bytes()).is_err());
            }
        }
    }

    #[test]
    fn echoed_times_lose_their_fraction() {
        let with_fraction: KerberosTime = crate::asn1::decode(
            b"\x18\x11\x32\x30\x32\x33\x31\x31\x31\x34\x32\x32\x31\x33\x32\x30\x2e\x35\x5a",
        )
        .unwrap();
        assert_ne!(with_fraction.timestamp_subsec_nanos(), 0);
        let der = crate::asn1::encode(&whole_seconds(with_fraction)).unwrap();
        assert_eq!(&der[2..], b"20231114221320Z");
    }

    #[test]
    fn kerberos_time_has_no_fraction() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 123_456_789);
        let der = crate::asn1::encode(&kerberos_time(t)).unwrap();
        // 0x18 len "20231114221320Z": 15 bytes, no ".123".
        assert_eq!(der[0], 0x18);
        assert_eq!(&der[2..], b"20231114221320Z");
    }
}
