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
    let len = u32::try_from(msg.len())
        .unwrap_or(u32::MAX)
        .min(0x00FF_FFFF);
    out.put_u32(len);
    out.put_slice(msg);
    out.freeze()
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
    }
}
