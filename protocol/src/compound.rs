//! [MS-SMB2 3.2.4.1.4 / 3.3.5.2.7] Compounded messages: splitting a received frame into its
//! members by NextCommand, and building a compound response with each member padded to 8
//! bytes and NextCommand patched.

use std::ops::Range;

use bytes::BytesMut;

use crate::codec::{DecodeError, DecodeResult, Writer};
use crate::header::{HEADER_SIZE, NEXT_COMMAND_OFFSET};

/// Iterator over the members of a compound frame; see [`split_compound`].
#[derive(Debug, Clone)]
pub struct CompoundIter<'a> {
    frame: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for CompoundIter<'a> {
    type Item = DecodeResult<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let res = self.step();
        if !matches!(res, Ok(Some(_))) {
            self.done = true;
        }
        res.transpose()
    }
}

impl<'a> CompoundIter<'a> {
    fn step(&mut self) -> DecodeResult<Option<&'a [u8]>> {
        const WHAT: &str = "compound member";
        let rest = self
            .frame
            .get(self.pos..)
            .ok_or(DecodeError::OutOfBounds { what: WHAT })?;
        if rest.len() < HEADER_SIZE {
            return Err(DecodeError::Truncated { what: WHAT });
        }
        let next = rest
            .get(NEXT_COMMAND_OFFSET..NEXT_COMMAND_OFFSET + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or(DecodeError::Truncated { what: WHAT })? as usize;
        if next == 0 {
            self.done = true;
            return Ok(Some(rest));
        }
        // Forward only, 8-byte aligned, and room for a whole next member: no loops, no
        // overlaps, nothing past the end.
        if !next.is_multiple_of(8) {
            return Err(DecodeError::Invalid {
                what: "NextCommand alignment",
            });
        }
        if next < HEADER_SIZE {
            return Err(DecodeError::Invalid {
                what: "NextCommand",
            });
        }
        let member = rest.get(..next).ok_or(DecodeError::OutOfBounds {
            what: "NextCommand",
        })?;
        if rest.len() - next < HEADER_SIZE {
            return Err(DecodeError::OutOfBounds {
                what: "NextCommand",
            });
        }
        self.pos += next;
        Ok(Some(member))
    }
}

/// Splits a frame (one NetBIOS/Direct-TCP payload) into its compound members by walking
/// NextCommand. Each member is at least 64 bytes and starts at an 8-byte aligned offset;
/// NextCommand must move forward; the last member (NextCommand 0) runs to the end of the
/// frame. A structural error is yielded once and ends the iteration. Each yielded slice
/// includes the member's padding, as signing requires.
pub fn split_compound(frame: &[u8]) -> CompoundIter<'_> {
    CompoundIter {
        frame,
        pos: 0,
        done: false,
    }
}

/// Ends the message starting at [`Writer::base`] as a non-last compound member: pads it to a
/// multiple of 8 bytes and sets its NextCommand to the padded length. Call
/// [`Writer::start_message`] before writing the next member's header.
pub fn pad_to_8(w: &mut Writer) {
    w.align(8);
    let base = w.base();
    let len = w.offset();
    w.patch_u32(base + NEXT_COMMAND_OFFSET, len);
}

/// Builds a compound response: call [`CompoundWriter::begin_member`] before writing each
/// member's header and body; [`CompoundWriter::finish`] returns the frame and each member's
/// byte range (padding included) so the caller can sign members in place.
#[derive(Debug, Default)]
pub struct CompoundWriter {
    w: Writer,
    starts: Vec<usize>,
}

impl CompoundWriter {
    /// An empty compound.
    pub fn new() -> Self {
        Self::default()
    }

    /// Closes the previous member (pad + NextCommand) if any, starts a new one, and returns
    /// the writer positioned at the new member's header.
    pub fn begin_member(&mut self) -> &mut Writer {
        if !self.starts.is_empty() {
            pad_to_8(&mut self.w);
        }
        self.w.start_message();
        self.starts.push(self.w.len());
        &mut self.w
    }

    /// The writer (positioned in the current member).
    pub fn writer(&mut self) -> &mut Writer {
        &mut self.w
    }

    /// Number of members begun.
    pub fn members(&self) -> usize {
        self.starts.len()
    }

    /// The finished frame and each member's range within it. The last member is not padded
    /// and keeps NextCommand 0.
    pub fn finish(self) -> (BytesMut, Vec<Range<usize>>) {
        let end = self.w.len();
        let mut ranges = Vec::with_capacity(self.starts.len());
        for (i, start) in self.starts.iter().enumerate() {
            let stop = self.starts.get(i + 1).copied().unwrap_or(end);
            ranges.push(*start..stop);
        }
        (self.w.into_inner(), ranges)
    }
}
