//! [MS-SMB2 3.3.4.1.3] Building the response to a (possibly compounded) request: each member
//! encoded after its own 64-byte header, every member but the last padded to 8 bytes with
//! NextCommand pointing at the next, and then each member signed on its own
//! ([3.1.4.1]: the signature covers the padding).

use std::ops::Range;

use bytes::BytesMut;

use rsmbd_protocol::header::NEXT_COMMAND_OFFSET;
use rsmbd_protocol::messages::Response;
use rsmbd_protocol::{Encode, Header, Writer};
use rsmbd_share::crypto::SigningAlgorithm;
use rsmbd_share::crypto::signing;
use zeroize::Zeroizing;

/// One response member, ready to encode.
#[derive(Debug)]
pub struct ResponsePart {
    /// Its header (Flags final except SIGNED, which signing sets).
    pub header: Header,
    /// Its body.
    pub body: Response<'static>,
    /// Sign with this key.
    pub sign: Option<(SigningAlgorithm, Zeroizing<[u8; 16]>)>,
}

/// Encodes the parts as one message; returns it and each part's byte range.
pub fn assemble(parts: &[ResponsePart]) -> (BytesMut, Vec<Range<usize>>) {
    assemble_with_prefix(parts, 0)
}

/// Like [`assemble`], after `prefix` zero bytes of room (a transform header to be written in
/// place, so encryption never copies the message); ranges are positions in the whole buffer.
pub fn assemble_with_prefix(
    parts: &[ResponsePart],
    prefix: usize,
) -> (BytesMut, Vec<Range<usize>>) {
    let mut w = Writer::with_capacity(prefix + parts.len() * 128);
    w.zeros(prefix);
    let mut ranges = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let start = w.len();
        w.start_message();
        let mut header = part.header;
        header.next_command = 0;
        header.flags = header
            .flags
            .with(rsmbd_protocol::HeaderFlags::SIGNED, part.sign.is_some());
        header.signature = [0; 16];
        header.encode(&mut w);
        part.body.encode(&mut w);
        if i + 1 < parts.len() {
            w.align(8);
            let next = u32::try_from(w.len() - start).unwrap_or(0);
            w.patch_u32(start + NEXT_COMMAND_OFFSET, next);
        }
        ranges.push(start..w.len());
    }
    let mut out = w.into_inner();
    for (part, range) in parts.iter().zip(&ranges) {
        if let (Some((algorithm, key)), Some(bytes)) = (&part.sign, out.get_mut(range.clone())) {
            signing::sign(*algorithm, key, bytes);
        }
    }
    (out, ranges)
}
