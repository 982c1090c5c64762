//! rsmbd-auth: a pure GSS-API acceptor (SPNEGO, Kerberos against a keytab). Never contacts a KDC.

pub mod asn1;
pub mod crypto;
pub mod gss;
pub mod keytab;
