//! SPNEGO ASN.1 types: RFC 4178 §4.2 (module SpnegoASNOneSpec, EXPLICIT TAGS) and the
//! NegTokenInit2 / NegHints extension of MS-SPNG §2.2.1.

use rasn::prelude::*;

/// RFC 4178 §4.2 MechTypeList ::= SEQUENCE OF MechType (OBJECT IDENTIFIER).
pub type MechTypeList = SequenceOf<ObjectIdentifier>;

/// RFC 4178 §4.2 NegotiationToken ::= CHOICE.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum NegotiationToken {
    /// negTokenInit \[0\] (sent by the initiator first).
    #[rasn(tag(explicit(0)))]
    NegTokenInit(NegTokenInit),
    /// negTokenResp \[1\] (every later token, both directions).
    #[rasn(tag(explicit(1)))]
    NegTokenResp(NegTokenResp),
}

/// RFC 4178 §4.2.1 NegTokenInit.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct NegTokenInit {
    /// mechTypes \[0\] MechTypeList, the initiator's preference order.
    #[rasn(tag(explicit(0)))]
    pub mech_types: MechTypeList,
    /// reqFlags \[1\] ContextFlags OPTIONAL (ignored by acceptors, RFC 4178 §4.2.1).
    #[rasn(tag(explicit(1)))]
    pub req_flags: Option<BitString>,
    /// mechToken \[2\] OCTET STRING OPTIONAL: the optimistic token for mechTypes\[0\].
    #[rasn(tag(explicit(2)))]
    pub mech_token: Option<OctetString>,
    /// mechListMIC \[3\] OCTET STRING OPTIONAL.
    #[rasn(tag(explicit(3)))]
    pub mech_list_mic: Option<OctetString>,
}

/// MS-SPNG §2.2.1 NegHints.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct NegHints {
    /// hintName \[0\] GeneralString OPTIONAL ("not_defined_in_RFC4178@please_ignore").
    #[rasn(tag(explicit(0)))]
    pub hint_name: Option<crate::asn1::kerberos::KerberosString>,
    /// hintAddress \[1\] OCTET STRING OPTIONAL.
    #[rasn(tag(explicit(1)))]
    pub hint_address: Option<OctetString>,
}

/// MS-SPNG §2.2.1 NegTokenInit2: what a server puts in the SMB2 NEGOTIATE response.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct NegTokenInit2 {
    /// mechTypes \[0\] MechTypeList OPTIONAL.
    #[rasn(tag(explicit(0)))]
    pub mech_types: Option<MechTypeList>,
    /// reqFlags \[1\] ContextFlags OPTIONAL.
    #[rasn(tag(explicit(1)))]
    pub req_flags: Option<BitString>,
    /// mechToken \[2\] OCTET STRING OPTIONAL.
    #[rasn(tag(explicit(2)))]
    pub mech_token: Option<OctetString>,
    /// negHints \[3\] NegHints OPTIONAL.
    #[rasn(tag(explicit(3)))]
    pub neg_hints: Option<NegHints>,
    /// mechListMIC \[4\] OCTET STRING OPTIONAL.
    #[rasn(tag(explicit(4)))]
    pub mech_list_mic: Option<OctetString>,
}

/// The NegotiationToken CHOICE as a server sends it in NEGOTIATE (init2 in the \[0\] arm).
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(choice)]
pub enum NegotiationToken2 {
    /// negTokenInit \[0\] carrying a NegTokenInit2.
    #[rasn(tag(explicit(0)))]
    NegTokenInit2(NegTokenInit2),
}

/// RFC 4178 §4.2.2 negState.
#[derive(AsnType, Decode, Encode, Debug, Clone, Copy, PartialEq, Eq)]
#[rasn(enumerated)]
pub enum NegState {
    /// accept-completed (0).
    AcceptCompleted = 0,
    /// accept-incomplete (1).
    AcceptIncomplete = 1,
    /// reject (2).
    Reject = 2,
    /// request-mic (3).
    RequestMic = 3,
}

/// RFC 4178 §4.2.2 NegTokenResp.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq, Default)]
pub struct NegTokenResp {
    /// negState \[0\] OPTIONAL.
    #[rasn(tag(explicit(0)))]
    pub neg_state: Option<NegState>,
    /// supportedMech \[1\] MechType OPTIONAL (only in the acceptor's first reply).
    #[rasn(tag(explicit(1)))]
    pub supported_mech: Option<ObjectIdentifier>,
    /// responseToken \[2\] OCTET STRING OPTIONAL.
    #[rasn(tag(explicit(2)))]
    pub response_token: Option<OctetString>,
    /// mechListMIC \[3\] OCTET STRING OPTIONAL.
    #[rasn(tag(explicit(3)))]
    pub mech_list_mic: Option<OctetString>,
}
