//! Key usage numbers (RFC 4120 §7.5.1, RFC 4121 §2).

/// AS-REP/TGS-REP ticket, encrypted with the service key (RFC 4120 §7.5.1 usage 2).
pub const TICKET: u32 = 2;
/// AP-REQ Authenticator, encrypted with the ticket session key (usage 11).
pub const AP_REQ_AUTHENTICATOR: u32 = 11;
/// AP-REQ Authenticator checksum (usage 10).
pub const AP_REQ_AUTHENTICATOR_CKSUM: u32 = 10;
/// AP-REP encrypted part, encrypted with the ticket session key (usage 12).
pub const AP_REP_ENC_PART: u32 = 12;
/// GSS acceptor sign (RFC 4121 §2: KG-USAGE-ACCEPTOR-SIGN).
pub const KG_ACCEPTOR_SIGN: u32 = 23;
/// GSS initiator sign (RFC 4121 §2: KG-USAGE-INITIATOR-SIGN).
pub const KG_INITIATOR_SIGN: u32 = 25;
