//! RFC 3961 §5.1 n-fold: stretch or shrink a constant to a block-sized value.

/// Greatest common divisor (Euclid).
fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Bit `idx` (MSB-first) of `bytes`, 0 when out of range.
fn bit(bytes: &[u8], idx: usize) -> u8 {
    bytes.get(idx / 8).map_or(0, |b| (b >> (7 - (idx % 8))) & 1)
}

/// n-fold `input` to `out_len` bytes (RFC 3961 §5.1): concatenate copies of the input, each
/// rotated right by 13 more bits than the previous one, up to lcm(out, in) bytes, then add the
/// out-sized chunks with one's-complement (end-around carry) addition.
pub fn nfold(input: &[u8], out_len: usize) -> Vec<u8> {
    if input.is_empty() || out_len == 0 {
        return vec![0; out_len];
    }
    let in_bits = input.len() * 8;
    let lcm = input.len() / gcd(input.len(), out_len) * out_len;
    let copies = lcm / input.len();

    // The expanded bit string, built copy by copy.
    let mut expanded = Vec::with_capacity(lcm);
    for copy in 0..copies {
        let rot = (13 * copy) % in_bits;
        for byte_idx in 0..input.len() {
            let mut b = 0u8;
            for k in 0..8 {
                let out_bit = byte_idx * 8 + k;
                // Rotating right by `rot`: output bit i comes from input bit (i - rot) mod L.
                let src = (out_bit + in_bits - rot) % in_bits;
                b = (b << 1) | bit(input, src);
            }
            expanded.push(b);
        }
    }

    let mut acc = vec![0u8; out_len];
    for chunk in expanded.chunks(out_len) {
        ones_complement_add(&mut acc, chunk);
    }
    acc
}

/// `acc += chunk` as big-endian integers with end-around carry (one's-complement addition).
fn ones_complement_add(acc: &mut [u8], chunk: &[u8]) {
    let mut carry = 0u16;
    for (a, c) in acc.iter_mut().rev().zip(chunk.iter().rev()) {
        let sum = u16::from(*a) + u16::from(*c) + carry;
        *a = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    while carry != 0 {
        for a in acc.iter_mut().rev() {
            let sum = u16::from(*a) + carry;
            *a = (sum & 0xff) as u8;
            carry = sum >> 8;
            if carry == 0 {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::nfold;

    /// RFC 3961 Appendix A.1 n-fold vectors.
    #[test]
    fn rfc3961_a1_nfold_vectors() {
        let cases: &[(&str, usize, &str)] = &[
            ("012345", 64, "be072631276b1955"),
            ("password", 56, "78a07b6caf85fa"),
            ("Rough Consensus, and Running Code", 64, "bb6ed30870b7f0e0"),
            (
                "password",
                168,
                "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e",
            ),
            (
                "MASSACHVSETTS INSTITVTE OF TECHNOLOGY",
                192,
                "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b",
            ),
            ("Q", 168, "518a54a215a8452a518a54a215a8452a518a54a215"),
            ("ba", 168, "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"),
            ("kerberos", 64, "6b65726265726f73"),
            ("kerberos", 128, "6b65726265726f737b9b5b2b93132b93"),
            (
                "kerberos",
                168,
                "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4",
            ),
            (
                "kerberos",
                256,
                "6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4",
            ),
        ];
        for (input, bits, want) in cases {
            assert_eq!(
                hex::encode(nfold(input.as_bytes(), bits / 8)),
                *want,
                "{bits}-fold({input})"
            );
        }
    }
}
