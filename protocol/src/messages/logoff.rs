//! [MS-SMB2 2.2.7] LOGOFF request and [MS-SMB2 2.2.8] LOGOFF response: both are a 4-byte StructureSize +
//! Reserved body.

use crate::codec::{Decode, DecodeResult, Encode, Message, Reader, Writer};

/// [MS-SMB2 2.2.7] LogoffRequest: StructureSize 4 and a reserved u16 (written as 0, ignored on read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogoffRequest;

impl<'a> Decode<'a> for LogoffRequest {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "LOGOFF request");
        r.structure_size(4)?;
        r.skip(2)?;
        Ok(Self)
    }
}

impl Encode for LogoffRequest {
    fn encode(&self, w: &mut Writer) {
        w.u16(4);
        w.u16(0);
    }
}

/// [MS-SMB2 2.2.8] LogoffResponse: StructureSize 4 and a reserved u16 (written as 0, ignored on read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogoffResponse;

impl<'a> Decode<'a> for LogoffResponse {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "LOGOFF response");
        r.structure_size(4)?;
        r.skip(2)?;
        Ok(Self)
    }
}

impl Encode for LogoffResponse {
    fn encode(&self, w: &mut Writer) {
        w.u16(4);
        w.u16(0);
    }
}
