//! Signing, key derivation and encryption: pure functions, tested with the published vectors.
