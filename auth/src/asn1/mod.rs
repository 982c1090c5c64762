//! ASN.1 types (rasn derive): Kerberos (RFC 4120 §5) and SPNEGO (RFC 4178, MS-SPNG).
//! Decoding uses BER (a superset of DER, liberal on read); encoding uses DER.

pub mod kerberos;
pub mod spnego;

/// Decode a BER value, requiring that it uses the whole input.
pub fn decode<T: rasn::Decode>(bytes: &[u8]) -> Result<T, rasn::error::DecodeError> {
    rasn::ber::decode(bytes)
}

/// Encode a value as DER.
pub fn encode<T: rasn::Encode>(value: &T) -> Result<Vec<u8>, rasn::error::EncodeError> {
    rasn::der::encode(value)
}
