//! [MS-SMB2 2.2.30] CANCEL request: a 4-byte StructureSize + Reserved body. It has no response.

use crate::codec::{Decode, DecodeResult, Encode, Message, Reader, Writer};

/// [MS-SMB2 2.2.30] CancelRequest: StructureSize 4 and a reserved u16 (written as 0, ignored on read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CancelRequest;

impl<'a> Decode<'a> for CancelRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "CANCEL request");
        r.structure_size(4)?;
        r.skip(2)?;
        Ok(Self)
    }
}

impl Encode for CancelRequest {
    fn encode(&self, w: &mut Writer) {
        w.u16(4);
        w.u16(0);
    }
}
