//! [MS-SMB2 2.2.11] TREE_DISCONNECT request and [MS-SMB2 2.2.12] TREE_DISCONNECT response: both are a 4-byte StructureSize +
//! Reserved body.

use crate::codec::{Decode, DecodeResult, Encode, Message, Reader, Writer};

/// [MS-SMB2 2.2.11] TreeDisconnectRequest: StructureSize 4 and a reserved u16 (written as 0, ignored on read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeDisconnectRequest;

impl<'a> Decode<'a> for TreeDisconnectRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "TREE_DISCONNECT request");
        r.structure_size(4)?;
        r.skip(2)?;
        Ok(Self)
    }
}

impl Encode for TreeDisconnectRequest {
    fn encode(&self, w: &mut Writer) {
        w.u16(4);
        w.u16(0);
    }
}

/// [MS-SMB2 2.2.12] TreeDisconnectResponse: StructureSize 4 and a reserved u16 (written as 0, ignored on read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeDisconnectResponse;

impl<'a> Decode<'a> for TreeDisconnectResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "TREE_DISCONNECT response");
        r.structure_size(4)?;
        r.skip(2)?;
        Ok(Self)
    }
}

impl Encode for TreeDisconnectResponse {
    fn encode(&self, w: &mut Writer) {
        w.u16(4);
        w.u16(0);
    }
}
