//! Little-endian readers and the 8-byte payload field descriptor (Len, MaxLen, BufferOffset)
//! every NTLM message uses (MS-NLMP 2.2.1.1-2.2.1.3). Every offset and length is checked
//! against the message before a byte is read.

use super::{WireError, wire};

/// `u16` at `at`, little-endian.
pub fn u16_at(msg: &[u8], at: usize) -> Result<u16, WireError> {
    let end = at.checked_add(2).ok_or_else(|| wire("offset overflow"))?;
    match msg.get(at..end) {
        Some([a, b]) => Ok(u16::from_le_bytes([*a, *b])),
        _ => Err(wire(format!("message too short for a u16 at {at}"))),
    }
}

/// `u32` at `at`, little-endian.
pub fn u32_at(msg: &[u8], at: usize) -> Result<u32, WireError> {
    let end = at.checked_add(4).ok_or_else(|| wire("offset overflow"))?;
    match msg.get(at..end) {
        Some([a, b, c, d]) => Ok(u32::from_le_bytes([*a, *b, *c, *d])),
        _ => Err(wire(format!("message too short for a u32 at {at}"))),
    }
}

/// `N` bytes at `at`.
pub fn array_at<const N: usize>(msg: &[u8], at: usize) -> Result<[u8; N], WireError> {
    let end = at.checked_add(N).ok_or_else(|| wire("offset overflow"))?;
    msg.get(at..end)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or_else(|| wire(format!("message too short for {N} bytes at {at}")))
}

/// The payload a field descriptor at `at` points to: `Len` bytes at `BufferOffset` (MaxLen is
/// ignored, as the spec says). Empty when Len is 0, whatever the offset.
pub fn payload<'a>(msg: &'a [u8], at: usize, name: &str) -> Result<&'a [u8], WireError> {
    let len = usize::from(u16_at(msg, at)?);
    let offset = u32_at(
        msg,
        at.checked_add(4).ok_or_else(|| wire("offset overflow"))?,
    )?;
    if len == 0 {
        return Ok(&[]);
    }
    let start = usize::try_from(offset).map_err(|_| wire("offset overflow"))?;
    let end = start
        .checked_add(len)
        .ok_or_else(|| wire("offset overflow"))?;
    msg.get(start..end).ok_or_else(|| {
        wire(format!(
            "{name} field ({len} bytes at offset {offset}) lies outside the {}-byte message",
            msg.len()
        ))
    })
}

/// Appends a field descriptor for `len` bytes at `offset` (both must fit their widths).
pub fn put_field(out: &mut Vec<u8>, len: usize, offset: usize) -> Result<(), WireError> {
    let l = u16::try_from(len).map_err(|_| wire("field longer than 65535 bytes"))?;
    let o = u32::try_from(offset).map_err(|_| wire("offset beyond 4 GiB"))?;
    out.extend_from_slice(&l.to_le_bytes());
    out.extend_from_slice(&l.to_le_bytes());
    out.extend_from_slice(&o.to_le_bytes());
    Ok(())
}
