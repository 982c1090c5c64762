//! rsmbd-auth: who the peer is. A pure GSS-API acceptor: SPNEGO (RFC 4178, MS-SPNG), the
//! Kerberos V5 acceptor (RFC 4120/4121) against an MIT keytab, RFC 3961/3962/8009/4757 crypto.
//! It parses bytes and takes the current time as an argument: no files, sockets or KDC.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::SystemTime;
//! use rsmbd_auth::{Acceptor, AcceptorConfig, Keytab, ReplayCache, Step, negotiate_hint};
//!
//! // Once per process: the keytab bytes (the server reads the file) and a shared replay cache.
//! let keytab = Keytab::parse(&[0x05, 0x02]).expect("keytab");
//! let config = Arc::new(AcceptorConfig::new(Arc::new(keytab)));
//! let replay = Arc::new(ReplayCache::new());
//! // NEGOTIATE response security buffer.
//! let _hint = negotiate_hint();
//! // One Acceptor per SESSION_SETUP exchange; feed it each security buffer.
//! let mut acceptor = Acceptor::new(config, replay);
//! match acceptor.step(&[], SystemTime::now()) {
//!     Step::Continue { output } => assert!(!output.is_empty()), // MORE_PROCESSING_REQUIRED
//!     Step::Done { .. } => unreachable!(),
//!     Step::Refused { .. } => unreachable!(),
//! }
//! ```

pub mod asn1;
pub mod config;
pub mod crypto;
pub mod error;
pub mod gss;
pub mod kerberos;
pub mod keytab;
pub mod ntlm;
pub mod outcome;
pub mod spnego;

pub use config::AcceptorConfig;
pub use crypto::enctype_name;
pub use error::AuthError;
pub use kerberos::ReplayCache;
pub use keytab::{Keytab, KeytabEntry, KeytabError};
pub use ntlm::{NtUsers, TargetNames};
pub use outcome::{Authenticated, Mechanism, SessionKey, Step};
pub use spnego::{Acceptor, negotiate_hint, negotiate_hint_for};
