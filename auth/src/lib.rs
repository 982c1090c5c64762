//! rsmbd-auth: who the peer is. A pure GSS-API acceptor: SPNEGO (RFC 4178, MS-SPNG), the
//! Kerberos V5 acceptor (RFC 4120/4121) against an MIT keytab, RFC 3961/3962/8009/4757 crypto.
//! It parses bytes and takes the current time as an argument: no files, sockets or KDC.

pub mod asn1;
pub mod config;
pub mod crypto;
pub mod error;
pub mod gss;
pub mod kerberos;
pub mod keytab;
pub mod outcome;
pub mod spnego;

pub use config::AcceptorConfig;
pub use crypto::enctype_name;
pub use error::AuthError;
pub use kerberos::ReplayCache;
pub use keytab::{Keytab, KeytabEntry, KeytabError};
pub use outcome::{Authenticated, Mechanism, SessionKey, Step};
pub use spnego::{Acceptor, negotiate_hint};
