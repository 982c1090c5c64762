//! [MS-SMB2 2.2.2] SMB2 ERROR Response, and the [2.2.2.1] error context helpers.
//!
//! [MS-SMB2 2.2.2]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/d4da8b67-c180-47e3-ba7a-d24214ac4aaa
//! [2.2.2.1]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/9ff8837c-c4f8-4ce7-8c1a-4b2fbe3fc5d9

use std::borrow::Cow;

use crate::codec::{Buf, Decode, DecodeResult, Encode, Message, Reader, Writer, sat_u32};

/// [MS-SMB2 2.2.2] SMB2 ERROR Response. ByteCount is computed on encode; an empty
/// `error_data` is written as ByteCount 0 followed by one zero byte, as the spec requires.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorResponse<'a> {
    /// ErrorContextCount (3.1.1; 0 otherwise).
    pub error_context_count: u8,
    /// ErrorData: error contexts (3.1.1) or command-specific data.
    pub error_data: Buf<'a>,
}

impl ErrorResponse<'static> {
    /// The plain error body: no contexts, no data.
    pub fn empty() -> Self {
        Self::default()
    }
}

impl<'a> Decode<'a> for ErrorResponse<'a> {
    fn decode(msg: Message<'a>) -> DecodeResult<Self> {
        let mut r = Reader::new(msg.body(), "ERROR response");
        r.structure_size(9)?;
        let error_context_count = r.u8()?;
        r.skip(1)?;
        let byte_count = r.u32()?;
        let data =
            r.take(byte_count as usize)
                .map_err(|_| crate::codec::DecodeError::OutOfBounds {
                    what: "ERROR ByteCount",
                })?;
        Ok(Self {
            error_context_count,
            error_data: Cow::Borrowed(data),
        })
    }
}

impl Encode for ErrorResponse<'_> {
    fn encode(&self, w: &mut Writer) {
        w.u16(9);
        w.u8(self.error_context_count);
        w.u8(0);
        w.u32(sat_u32(self.error_data.len()));
        if self.error_data.is_empty() {
            w.u8(0);
        } else {
            w.bytes(&self.error_data);
        }
    }
}

/// [MS-SMB2 2.2.2.1] One SMB2 ERROR Context (3.1.1): ErrorDataLength, ErrorId, data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorContext {
    /// ErrorId (0 = SMB2_ERROR_ID_DEFAULT, 0x72645253 = SMB2_ERROR_ID_SHARE_REDIRECT).
    pub error_id: u32,
    /// ErrorContextData.
    pub data: Vec<u8>,
}

impl ErrorContext {
    /// Encodes a list of contexts as ErrorData (each 8-byte aligned).
    pub fn encode_list(contexts: &[ErrorContext]) -> Vec<u8> {
        let mut w = Writer::new();
        for c in contexts {
            w.align(8);
            w.u32(sat_u32(c.data.len()));
            w.u32(c.error_id);
            w.bytes(&c.data);
        }
        w.into_inner().to_vec()
    }

    /// Decodes `count` contexts from ErrorData.
    pub fn decode_list(data: &[u8], count: u8) -> DecodeResult<Vec<ErrorContext>> {
        let mut out = Vec::new();
        let mut pos = 0usize;
        for i in 0..count {
            if i > 0 {
                pos = crate::codec::align8(pos).unwrap_or(usize::MAX);
            }
            let rest = data
                .get(pos..)
                .ok_or(crate::codec::DecodeError::OutOfBounds {
                    what: "error context",
                })?;
            let mut r = Reader::new(rest, "error context");
            let len = r.u32()? as usize;
            let error_id = r.u32()?;
            let d = r.take(len)?;
            out.push(ErrorContext {
                error_id,
                data: d.to_vec(),
            });
            pos = pos.saturating_add(8).saturating_add(len);
        }
        Ok(out)
    }
}
