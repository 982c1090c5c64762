//! The codec machinery shared by every wire type: the [`Decode`] / [`Encode`] pair, the
//! structural [`DecodeError`], nom helpers, and a [`Writer`] that knows where the SMB2 header
//! starts so it can compute offsets.
//!
//! Rules every message follows (see `ARCHITECTURE.md`):
//! - decoding *is* structural validation: StructureSize, offsets and lengths are checked while
//!   decoding, against the bytes actually present; a handler only ever sees a checked value;
//! - values the spec says to ignore (reserved fields, unknown flags, unknown enum values) are
//!   kept, never asserted: the server is liberal in values and strict in structure;
//! - every type implements both directions, and a round-trip test holds them together.

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};
use nom::IResult;

/// A structural decoding failure. Handlers never see one: the connection turns it into
/// `STATUS_INVALID_PARAMETER` (or drops the connection if the header itself is broken).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the structure needs.
    Truncated {
        /// Which structure or field.
        what: &'static str,
    },
    /// The StructureSize field did not hold the value MS-SMB2 prescribes.
    BadStructureSize {
        /// Which structure.
        what: &'static str,
        /// The value found.
        got: u16,
    },
    /// An offset/length pair points outside the message.
    OutOfBounds {
        /// Which field.
        what: &'static str,
    },
    /// A value that cannot be represented (e.g. a count that overflows).
    Invalid {
        /// Which field.
        what: &'static str,
    },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { what } => write!(f, "{what}: truncated"),
            Self::BadStructureSize { what, got } => write!(f, "{what}: bad StructureSize {got}"),
            Self::OutOfBounds { what } => write!(f, "{what}: offset/length outside the message"),
            Self::Invalid { what } => write!(f, "{what}: invalid value"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Result of a decode.
pub type DecodeResult<T> = Result<T, DecodeError>;

/// A message being decoded. `msg` is the whole SMB2 message starting at its 64-byte header
/// (MS-SMB2 offsets are "from the beginning of the SMB2 header"); the body starts at
/// [`crate::header::HEADER_SIZE`]. For a compound member, `msg` ends where the next member starts.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    msg: &'a [u8],
}

impl<'a> Message<'a> {
    /// Wraps a whole message (header included).
    pub fn new(msg: &'a [u8]) -> Self {
        Self { msg }
    }

    /// The whole message, header included.
    pub fn bytes(&self) -> &'a [u8] {
        self.msg
    }

    /// The bytes after the 64-byte header (empty if the message is shorter).
    pub fn body(&self) -> &'a [u8] {
        self.msg.get(crate::header::HEADER_SIZE..).unwrap_or(&[])
    }

    /// The `len` bytes at `offset` (from the start of the header), bounds-checked.
    /// A zero length yields an empty slice whatever the offset (clients send offset 0 or a
    /// dangling offset with length 0; both are legal).
    pub fn buffer(&self, offset: u32, len: u32, what: &'static str) -> DecodeResult<&'a [u8]> {
        if len == 0 {
            return Ok(&[]);
        }
        let start = offset as usize;
        let end = start
            .checked_add(len as usize)
            .ok_or(DecodeError::OutOfBounds { what })?;
        if start < crate::header::HEADER_SIZE {
            return Err(DecodeError::OutOfBounds { what });
        }
        self.msg
            .get(start..end)
            .ok_or(DecodeError::OutOfBounds { what })
    }

    /// Everything from `offset` (from the start of the header) to the end of the message.
    pub fn tail(&self, offset: u32, what: &'static str) -> DecodeResult<&'a [u8]> {
        let start = offset as usize;
        if start < crate::header::HEADER_SIZE {
            return Err(DecodeError::OutOfBounds { what });
        }
        self.msg
            .get(start..)
            .ok_or(DecodeError::OutOfBounds { what })
    }
}

/// A wire type that can be read from a message.
pub trait Decode<'a>: Sized {
    /// Decodes the body of `msg` (the header has already been read by the caller).
    fn decode(msg: Message<'a>) -> DecodeResult<Self>;
}

/// A wire type that can be written.
pub trait Encode {
    /// Appends the encoding to `w`. For message bodies, `w` already holds the 64-byte header of
    /// this message at [`Writer::base`], so offsets come from [`Writer::offset`].
    fn encode(&self, w: &mut Writer);
}

/// An output buffer that knows where the current SMB2 header starts, so message bodies can
/// write MS-SMB2 offsets ("from the beginning of the SMB2 header") and patch them later.
#[derive(Debug, Default)]
pub struct Writer {
    buf: BytesMut,
    base: usize,
}

impl Writer {
    /// An empty writer whose header starts at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `cap` bytes.
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(cap),
            base: 0,
        }
    }

    /// An empty writer over `buf`'s allocation (its contents are discarded). With
    /// [`Self::append_owned`] this lets a caller encode headers into room it reserved in front
    /// of a payload it already holds, so the payload is never copied.
    pub fn from_buffer(mut buf: BytesMut) -> Self {
        buf.clear();
        Self { buf, base: 0 }
    }

    /// Appends `tail` without copying it when it directly follows this writer's bytes in the
    /// same allocation (see [`Self::from_buffer`]); otherwise it is copied.
    pub fn append_owned(&mut self, tail: BytesMut) {
        self.buf.unsplit(tail);
    }

    /// Marks the current position as the start of a new SMB2 header (compound members).
    pub fn start_message(&mut self) {
        self.base = self.buf.len();
    }

    /// Where the current message's header starts in the buffer.
    pub fn base(&self) -> usize {
        self.base
    }

    /// The current position relative to the current header: the value to put in an Offset field.
    pub fn offset(&self) -> u32 {
        u32::try_from(self.buf.len() - self.base).unwrap_or(u32::MAX)
    }

    /// Bytes written so far (all messages).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.put_u8(v);
    }
    /// Appends a little-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.buf.put_u16_le(v);
    }
    /// Appends a little-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.buf.put_u32_le(v);
    }
    /// Appends a little-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.buf.put_u64_le(v);
    }
    /// Appends bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.buf.put_slice(v);
    }
    /// Appends `n` zero bytes.
    pub fn zeros(&mut self, n: usize) {
        self.buf.put_bytes(0, n);
    }
    /// Pads with zeros until the position relative to the current header is a multiple of `n`.
    pub fn align(&mut self, n: usize) {
        let rel = self.buf.len() - self.base;
        let pad = (n - rel % n) % n;
        self.zeros(pad);
    }

    /// Reserves a u16 to patch later; returns its absolute position.
    pub fn reserve_u16(&mut self) -> usize {
        let at = self.buf.len();
        self.u16(0);
        at
    }
    /// Reserves a u32 to patch later; returns its absolute position.
    pub fn reserve_u32(&mut self) -> usize {
        let at = self.buf.len();
        self.u32(0);
        at
    }
    /// Overwrites a u16 reserved with [`Writer::reserve_u16`].
    pub fn patch_u16(&mut self, at: usize, v: u16) {
        if let Some(dst) = self.buf.get_mut(at..at + 2) {
            dst.copy_from_slice(&v.to_le_bytes());
        }
    }
    /// Overwrites a u32 reserved with [`Writer::reserve_u32`].
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        if let Some(dst) = self.buf.get_mut(at..at + 4) {
            dst.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// Mutable access to everything written (for signing in place by the caller).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.buf[..]
    }

    /// Read access to everything written.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..]
    }

    /// The finished buffer.
    pub fn into_inner(self) -> BytesMut {
        self.buf
    }
}

/// Runs a nom parser over `input` and maps any nom failure to [`DecodeError::Truncated`]
/// (the only way our fixed-layout parsers fail). Returns the value and the rest.
pub fn parse<'a, T>(
    input: &'a [u8],
    what: &'static str,
    mut parser: impl FnMut(&'a [u8]) -> IResult<&'a [u8], T>,
) -> DecodeResult<(&'a [u8], T)> {
    parser(input).map_err(|_| DecodeError::Truncated { what })
}

/// Checks a StructureSize value.
pub fn expect_structure_size(got: u16, want: u16, what: &'static str) -> DecodeResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(DecodeError::BadStructureSize { what, got })
    }
}

/// A cursor over fixed-layout little-endian fields, built on nom's number parsers. Every read
/// fails with [`DecodeError::Truncated`] naming `what` instead of panicking, so a decoder can
/// read a structure field by field in spec order.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `input`; errors name `what`.
    pub fn new(input: &'a [u8], what: &'static str) -> Self {
        Self { rest: input, what }
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> DecodeResult<u8> {
        let (rest, v) = parse(self.rest, self.what, nom::number::complete::le_u8)?;
        self.rest = rest;
        Ok(v)
    }
    /// Reads a little-endian u16.
    pub fn u16(&mut self) -> DecodeResult<u16> {
        let (rest, v) = parse(self.rest, self.what, nom::number::complete::le_u16)?;
        self.rest = rest;
        Ok(v)
    }
    /// Reads a little-endian u32.
    pub fn u32(&mut self) -> DecodeResult<u32> {
        let (rest, v) = parse(self.rest, self.what, nom::number::complete::le_u32)?;
        self.rest = rest;
        Ok(v)
    }
    /// Reads a little-endian u64.
    pub fn u64(&mut self) -> DecodeResult<u64> {
        let (rest, v) = parse(self.rest, self.what, nom::number::complete::le_u64)?;
        self.rest = rest;
        Ok(v)
    }
    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        let (rest, v) = parse(self.rest, self.what, nom::bytes::complete::take(n))?;
        self.rest = rest;
        Ok(v)
    }
    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let v = self.take(N)?;
        v.try_into()
            .map_err(|_| DecodeError::Truncated { what: self.what })
    }
    /// Skips `n` bytes (reserved fields).
    pub fn skip(&mut self, n: usize) -> DecodeResult<()> {
        self.take(n).map(|_| ())
    }
    /// Reads a StructureSize field and checks it.
    pub fn structure_size(&mut self, want: u16) -> DecodeResult<()> {
        let got = self.u16()?;
        expect_structure_size(got, want, self.what)
    }
    /// The bytes not yet read.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }
}

/// A length or offset for a u16 wire field; saturates instead of wrapping (an encoder never
/// panics; a buffer that large is a caller bug the peer will reject).
pub fn sat_u16(v: impl TryInto<u16>) -> u16 {
    v.try_into().unwrap_or(u16::MAX)
}

/// A length or offset for a u32 wire field; saturates instead of wrapping.
pub fn sat_u32(v: impl TryInto<u32>) -> u32 {
    v.try_into().unwrap_or(u32::MAX)
}

/// Rounds `v` up to a multiple of 8 (`None` on overflow).
pub fn align8(v: usize) -> Option<usize> {
    v.checked_add(7).map(|x| x & !7)
}

/// A byte buffer that is borrowed when decoded and owned when built by the server.
pub type Buf<'a> = Cow<'a, [u8]>;

/// Decodes UTF-16LE wire text. `None` if the byte length is odd or it holds unpaired surrogates
/// (the handler decides the status, usually `STATUS_OBJECT_NAME_INVALID`).
pub fn utf16le_to_string(bytes: &[u8]) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    char::decode_utf16(utf16le_units(bytes))
        .collect::<Result<String, _>>()
        .ok()
}

/// The UTF-16 code units of little-endian wire text (a trailing odd byte is ignored).
pub fn utf16le_units(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .map(|c| <[u8; 2]>::try_from(c).map(u16::from_le_bytes).unwrap_or(0))
}

/// Encodes text as UTF-16LE.
pub fn string_to_utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn append_owned_reuses_the_payload_allocation() {
        let mut whole = BytesMut::zeroed(8 + 5);
        let mut payload = whole.split_off(8);
        payload.copy_from_slice(b"hello");
        let payload_at = payload.as_ptr();
        let mut w = Writer::from_buffer(whole);
        w.u32(0xAABB_CCDD);
        w.u32(7);
        w.append_owned(payload);
        let out = w.into_inner();
        assert_eq!(&out[..], b"\xDD\xCC\xBB\xAA\x07\0\0\0hello");
        // Same allocation: the payload was not copied.
        assert_eq!(out[8..].as_ptr(), payload_at);
        // A writer that outgrew its room still produces the right bytes (by copying).
        let mut w = Writer::new();
        w.u8(1);
        w.append_owned(BytesMut::from(&b"xy"[..]));
        assert_eq!(&w.into_inner()[..], b"\x01xy");
    }

    #[test]
    fn buffer_bounds() {
        let msg = [0u8; 80];
        let m = Message::new(&msg);
        assert_eq!(m.buffer(64, 16, "x").map(<[u8]>::len), Ok(16));
        assert!(m.buffer(64, 17, "x").is_err());
        assert!(
            m.buffer(10, 4, "x").is_err(),
            "offsets into the header are refused"
        );
        assert!(m.buffer(u32::MAX, u32::MAX, "x").is_err());
        assert_eq!(m.buffer(9999, 0, "x").map(<[u8]>::len), Ok(0));
    }

    #[test]
    fn utf16_round_trip_and_rejects_lone_surrogate() {
        let s = "dir\\fïle€.txt";
        assert_eq!(utf16le_to_string(&string_to_utf16le(s)).as_deref(), Some(s));
        assert_eq!(utf16le_to_string(&[0x00, 0xD8]), None);
        assert_eq!(utf16le_to_string(&[0x41]), None);
    }

    #[test]
    fn writer_offsets_follow_the_message_base() {
        let mut w = Writer::new();
        w.zeros(100);
        w.start_message();
        w.zeros(64);
        assert_eq!(w.offset(), 64);
        let at = w.reserve_u16();
        w.patch_u16(at, 0xBEEF);
        assert_eq!(&w.as_slice()[164..166], &[0xEF, 0xBE]);
        w.align(8);
        assert_eq!(w.offset() % 8, 0);
    }
}
