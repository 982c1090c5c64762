//! Signing, key derivation and the preauth hash: pure functions over bytes and keys, tested with
//! Microsoft's published vectors (`share/tests/crypto_vectors.rs`). The connection pipeline in
//! `server` is the only caller; handlers and backends never see a key.

pub mod encryption;
pub mod kdf;
pub mod keys;
pub mod preauth;
pub mod signing;

pub use keys::{Dialect3Keys, KeyDialect, SessionKeys, SigningAlgorithm};
pub use preauth::PreauthHash;
