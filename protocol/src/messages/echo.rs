//! [MS-SMB2 2.2.28] ECHO request and [MS-SMB2 2.2.29] ECHO response: both are a 4-byte StructureSize +
//! Reserved body.

use crate::codec::{Decode, DecodeResult, Encode, Message, Reader, Writer};

/// [MS-SMB2 2.2.28] EchoRequest: StructureSize 4 and a reserved u16 (written as 0, ignored on read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EchoRequest;

impl<'a> Decode<'a> for EchoRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "ECHO request");
        r.structure_size(4)?;
        r.skip(2)?;
        Ok(Self)
    }
}

impl Encode for EchoRequest {
    fn encode(&self, w: &mut Writer) {
        w.u16(4);
        w.u16(0);
    }
}

/// [MS-SMB2 2.2.29] EchoResponse: StructureSize 4 and a reserved u16 (written as 0, ignored on read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EchoResponse;

impl<'a> Decode<'a> for EchoResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "ECHO response");
        r.structure_size(4)?;
        r.skip(2)?;
        Ok(Self)
    }
}

impl Encode for EchoResponse {
    fn encode(&self, w: &mut Writer) {
        w.u16(4);
        w.u16(0);
    }
}
