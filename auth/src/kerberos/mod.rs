//! The Kerberos V5 acceptor (RFC 4120 §3.2, RFC 4121): AP-REQ verification against the keytab,
//! AP-REP and KRB-ERROR construction, the replay cache, mechListMIC tokens and PAC extraction.

pub mod keys;
pub mod mic;
pub mod pac;
pub mod pac_logon;
pub mod replay;
pub mod reply;
pub mod verify;

pub use replay::ReplayCache;
