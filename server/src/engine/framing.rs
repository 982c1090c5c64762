//! [MS-SMB2 2.1] Direct TCP transport framing: every SMB2 message (or compound chain, or
//! transform message) is preceded by a 4-byte header, a zero byte and a 24-bit big-endian
//! length. The length is checked against a limit before any buffer is allocated.

use bytes::{BufMut, Bytes, BytesMut};

/// Size of the Direct TCP header.
pub const TRANSPORT_HEADER_SIZE: usize = 4;

/// What the 4 header bytes announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameHeader {
    /// An SMB message of this many bytes follows.
    Message(usize),
    /// A NetBIOS keep-alive (type 0x85) with `len` bytes to skip: tolerated, never answered.
    KeepAlive(usize),
}

/// Why a frame header is refused (the connection is then closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// First byte is neither 0x00 (session message) nor 0x85 (keep-alive).
    BadType(u8),
    /// Longer than the limit.
    TooLong {
        /// Announced length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Zero-length message.
    Empty,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadType(t) => {
                write!(f, "transport header type {t:#04x} is not a session message")
            }
            Self::TooLong { len, limit } => {
                write!(f, "frame of {len} bytes exceeds the {limit}-byte limit")
            }
            Self::Empty => f.write_str("empty frame"),
        }
    }
}

/// Parses the 4-byte header.
pub fn parse_header(h: [u8; 4], limit: usize) -> Result<FrameHeader, FrameError> {
    let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
    match h[0] {
        0x00 if len == 0 => Err(FrameError::Empty),
        0x00 if len > limit => Err(FrameError::TooLong { len, limit }),
        0x00 => Ok(FrameHeader::Message(len)),
        0x85 => Ok(FrameHeader::KeepAlive(len)),
        t => Err(FrameError::BadType(t)),
    }
}

/// Prefixes `msg` with its transport header. Messages are bounded by the server's own limits,
/// far below the 24-bit maximum.
pub fn frame(msg: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(TRANSPORT_HEADER_SIZE + msg.len());
    out.put_u32(wire_len(msg.len()));
    out.put_slice(msg);
    out.freeze()
}

fn wire_len(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX).min(0x00FF_FFFF)
}

/// One outgoing transport frame, built in place: the message was encoded after
/// [`TRANSPORT_HEADER_SIZE`] bytes of room, which [`OutFrame::seal`] fills with the length, so
/// the socket writes the buffer the message was encoded (and encrypted) in.
#[derive(Debug)]
pub struct OutFrame(BytesMut);

impl OutFrame {
    /// Takes a buffer whose first [`TRANSPORT_HEADER_SIZE`] bytes are room for the header.
    pub fn seal(mut buf: BytesMut) -> Self {
        let len = wire_len(buf.len().saturating_sub(TRANSPORT_HEADER_SIZE));
        if let Some(h) = buf.get_mut(..TRANSPORT_HEADER_SIZE) {
            h.copy_from_slice(&len.to_be_bytes());
        }
        Self(buf)
    }

    /// Frames a message encoded without room in front (rare paths: a copy).
    pub fn from_message(msg: &[u8]) -> Self {
        Self(BytesMut::from(&frame(msg)[..]))
    }

    /// The bytes for the socket: header and message.
    pub fn wire(&self) -> &[u8] {
        &self.0
    }

    /// The SMB2 (or transform) message, without the transport header.
    pub fn message(&self) -> &[u8] {
        self.0.get(TRANSPORT_HEADER_SIZE..).unwrap_or_default()
    }
}

impl std::ops::Deref for OutFrame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rules() {
        assert_eq!(
            parse_header([0, 0, 1, 0], 1 << 20),
            Ok(FrameHeader::Message(256))
        );
        assert_eq!(
            parse_header([0x85, 0, 0, 0], 10),
            Ok(FrameHeader::KeepAlive(0))
        );
        assert_eq!(parse_header([0, 0, 0, 0], 10), Err(FrameError::Empty));
        assert_eq!(
            parse_header([0, 0xFF, 0xFF, 0xFF], 1 << 20),
            Err(FrameError::TooLong {
                len: 0xFF_FFFF,
                limit: 1 << 20
            })
        );
        assert_eq!(
            parse_header([0x81, 0, 0, 4], 10),
            Err(FrameError::BadType(0x81))
        );
        assert_eq!(&frame(b"abc")[..], &[0, 0, 0, 3, b'a', b'b', b'c']);
        let mut room = BytesMut::zeroed(TRANSPORT_HEADER_SIZE);
        room.extend_from_slice(b"abc");
        let out = OutFrame::seal(room);
        assert_eq!(out.wire(), &[0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(&out[..], b"abc");
        assert_eq!(OutFrame::from_message(b"abc").wire(), out.wire());
    }
}
