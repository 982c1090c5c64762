//! [MS-SMB2 3.3.4.1.3] Building the response to a (possibly compounded) request: each member
//! encoded after its own 64-byte header, every member but the last padded to 8 bytes with
//! NextCommand pointing at the next, and then each member signed on its own
//! ([3.1.4.1]: the signature covers the padding).

use std::ops::Range;

use bytes::BytesMut;

use rsmbd_protocol::header::NEXT_COMMAND_OFFSET;
use rsmbd_protocol::messages::Response;
use rsmbd_protocol::messages::read::ReadResponse;
use rsmbd_protocol::{Encode, Header, Writer};
use rsmbd_share::crypto::SigningAlgorithm;
use rsmbd_share::crypto::signing;
use rsmbd_share::handlers::read::ReadPayload;
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
    /// A READ's data in its own buffer: the body is then only READ's fixed part, and the data
    /// follows it without a copy when this is the only member (see [`ReadPayload`]).
    pub payload: Option<ReadPayload>,
}

impl ResponsePart {
    /// A member without a separate payload.
    pub fn new(
        header: Header,
        body: Response<'static>,
        sign: Option<(SigningAlgorithm, Zeroizing<[u8; 16]>)>,
    ) -> Self {
        Self {
            header,
            body,
            sign,
            payload: None,
        }
    }
}

/// The SMB2 header and READ's fixed part, written in front of a READ payload.
pub const READ_HEADERS: usize = 64 + 16;

/// Encodes the parts as one message; returns it and each part's byte range.
pub fn assemble(parts: Vec<ResponsePart>) -> (BytesMut, Vec<Range<usize>>) {
    assemble_with_prefix(parts, 0)
}

/// Like [`assemble`], after `prefix` zero bytes of room (a transform header to be written in
/// place, so encryption never copies the message); ranges are positions in the whole buffer.
///
/// A lone member with a READ payload is encoded into the room reserved in front of its data,
/// so the data is not copied (that room must hold `prefix` plus the two headers).
pub fn assemble_with_prefix(
    parts: Vec<ResponsePart>,
    prefix: usize,
) -> (BytesMut, Vec<Range<usize>>) {
    let mut parts = parts;
    let room = match parts.as_mut_slice() {
        [only] => only.payload.as_mut().map(|p| std::mem::take(&mut p.room)),
        _ => None,
    };
    let mut w = match room {
        Some(room) if room.capacity() >= prefix + READ_HEADERS => Writer::from_buffer(room),
        _ => Writer::with_capacity(prefix + parts.len() * 128),
    };
    w.zeros(prefix);
    let mut ranges = Vec::with_capacity(parts.len());
    let count = parts.len();
    for (i, part) in parts.iter_mut().enumerate() {
        let start = w.len();
        w.start_message();
        let mut header = part.header;
        header.next_command = 0;
        header.flags = header
            .flags
            .with(rsmbd_protocol::HeaderFlags::SIGNED, part.sign.is_some());
        header.signature = [0; 16];
        header.encode(&mut w);
        match part.payload.take() {
            Some(p) => {
                ReadResponse::encode_fixed_part(&mut w, u32::try_from(p.data.len()).unwrap_or(0));
                if p.data.is_empty() {
                    // As READ's encoder does: the Buffer field is at least one byte.
                    w.u8(0);
                } else {
                    w.append_owned(p.data);
                }
            }
            None => part.body.encode(&mut w),
        }
        if i + 1 < count {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use rsmbd_protocol::{Command, Decode, Message};

    use super::*;

    fn read_part(room: usize, data: &[u8]) -> (ResponsePart, *const u8) {
        let mut whole = BytesMut::zeroed(room + data.len());
        let mut tail = whole.split_off(room);
        tail.copy_from_slice(data);
        whole.clear();
        let at = tail.as_ptr();
        let mut part = ResponsePart::new(
            Header::response(Command::READ),
            Response::Read(ReadResponse::default()),
            None,
        );
        part.payload = Some(ReadPayload {
            room: whole,
            data: tail,
        });
        (part, at)
    }

    #[test]
    fn a_lone_read_is_sent_from_the_buffer_it_was_read_into() {
        let prefix = 4 + 52;
        let (part, data_at) = read_part(prefix + READ_HEADERS, b"file bytes");
        let (out, ranges) = assemble_with_prefix(vec![part], prefix);
        assert_eq!(ranges, vec![prefix..out.len()]);
        let msg = &out[prefix..];
        let body = ReadResponse::decode(Message::new(msg)).unwrap();
        assert_eq!(&body.data[..], b"file bytes");
        assert_eq!(out[prefix + READ_HEADERS..].as_ptr(), data_at, "no copy");
    }

    #[test]
    fn a_read_without_enough_room_or_in_a_compound_is_copied_correctly() {
        let (part, _) = read_part(10, b"abc");
        let (out, _) = assemble(vec![part]);
        assert_eq!(
            &ReadResponse::decode(Message::new(&out)).unwrap().data[..],
            b"abc"
        );
        let (first, _) = read_part(READ_HEADERS, b"first");
        let (second, _) = read_part(READ_HEADERS, b"");
        let (out, ranges) = assemble(vec![first, second]);
        let m0 = &out[ranges[0].clone()];
        assert_eq!(
            &ReadResponse::decode(Message::new(m0)).unwrap().data[..],
            b"first"
        );
        assert_eq!(ranges[1].start % 8, 0);
        let m1 = &out[ranges[1].clone()];
        assert!(
            ReadResponse::decode(Message::new(m1))
                .unwrap()
                .data
                .is_empty()
        );
    }
}
