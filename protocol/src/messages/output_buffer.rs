//! The body shared by the QUERY_DIRECTORY [MS-SMB2 2.2.34], CHANGE_NOTIFY [2.2.36] and
//! QUERY_INFO [2.2.38] responses: StructureSize 9, OutputBufferOffset (u16),
//! OutputBufferLength (u32), Buffer.

use std::borrow::Cow;

use crate::codec::{Buf, DecodeResult, Message, Reader, Writer, sat_u16, sat_u32};

/// Decodes the body; the buffer is bounds-checked against the message.
pub(crate) fn decode<'a>(msg: Message<'a>, what: &'static str) -> DecodeResult<Buf<'a>> {
    let mut r = Reader::new(msg.body(), what);
    r.structure_size(9)?;
    let off = r.u16()?;
    let len = r.u32()?;
    Ok(Cow::Borrowed(msg.buffer(
        off.into(),
        len,
        "OutputBufferOffset",
    )?))
}

/// Encodes the body with the buffer right after the fixed part (0x48); an empty buffer is
/// one zero byte (StructureSize 9 is odd) with OutputBufferOffset still pointing at it.
pub(crate) fn encode(w: &mut Writer, buffer: &[u8]) {
    w.u16(9);
    let off_at = w.reserve_u16();
    w.u32(sat_u32(buffer.len()));
    w.patch_u16(off_at, sat_u16(w.offset()));
    w.bytes(buffer);
    if buffer.is_empty() {
        w.u8(0);
    }
}
