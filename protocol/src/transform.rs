//! [MS-SMB2 2.2.41] SMB2 TRANSFORM_HEADER: the 52-byte header in front of an encrypted
//! message (`0xFD 'S' 'M' 'B'`). The AEAD's associated data is the 32 bytes from Nonce to
//! the end of the header ([MS-SMB2 3.1.4.3]).
//!
//! [MS-SMB2 2.2.41]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/d6ce2327-a4c9-4793-be66-7b5bad2175fa

use crate::codec::{DecodeError, DecodeResult, Reader, Writer};

/// `0xFD 'S' 'M' 'B'`.
pub const TRANSFORM_PROTOCOL_ID: [u8; 4] = [0xFD, b'S', b'M', b'B'];
/// `0xFC 'S' 'M' 'B'`: [MS-SMB2 2.2.42] SMB2_COMPRESSION_TRANSFORM_HEADER. We never
/// negotiate compression, so a frame starting with it is a protocol error.
pub const COMPRESSION_TRANSFORM_PROTOCOL_ID: [u8; 4] = [0xFC, b'S', b'M', b'B'];

/// True if `frame` starts with the compression transform ProtocolId.
pub fn is_compression_transform(frame: &[u8]) -> bool {
    frame.get(..4) == Some(&COMPRESSION_TRANSFORM_PROTOCOL_ID[..])
}

/// Size of the transform header.
pub const TRANSFORM_HEADER_SIZE: usize = 52;
/// Offset of the Nonce: the associated data runs from here to the end of the header.
pub const AAD_OFFSET: usize = 20;

/// [MS-SMB2 2.2.41] Flags (3.1.1) / EncryptionAlgorithm (3.0, 3.0.2) values.
#[derive(Debug, Clone, Copy)]
pub struct TransformFlags;
impl TransformFlags {
    /// Flags: the message is encrypted (3.1.1).
    pub const ENCRYPTED: u16 = 0x0001;
    /// EncryptionAlgorithm: SMB2_ENCRYPTION_AES128_CCM (3.0, 3.0.2); same value.
    pub const AES128_CCM: u16 = 0x0001;
}

/// [MS-SMB2 2.2.41] SMB2 TRANSFORM_HEADER (Reserved written as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransformHeader {
    /// Signature: the AEAD tag.
    pub signature: [u8; 16],
    /// Nonce: 11 bytes used for CCM, 12 for GCM, the rest zero.
    pub nonce: [u8; 16],
    /// OriginalMessageSize: the plaintext length.
    pub original_message_size: u32,
    /// Flags (3.1.1) / EncryptionAlgorithm (3.0, 3.0.2); 1 in both cases.
    pub flags: u16,
    /// SessionId.
    pub session_id: u64,
}

impl TransformHeader {
    /// True if `frame` starts with the transform ProtocolId.
    pub fn is_transform(frame: &[u8]) -> bool {
        frame.get(..4) == Some(&TRANSFORM_PROTOCOL_ID[..])
    }

    /// Decodes the first 52 bytes of `frame`; the ciphertext follows.
    pub fn decode(frame: &[u8]) -> DecodeResult<Self> {
        const WHAT: &str = "TRANSFORM_HEADER";
        let mut r = Reader::new(frame, WHAT);
        if r.array::<4>()? != TRANSFORM_PROTOCOL_ID {
            return Err(DecodeError::Invalid {
                what: "TRANSFORM_HEADER ProtocolId",
            });
        }
        let signature = r.array::<16>()?;
        let nonce = r.array::<16>()?;
        let original_message_size = r.u32()?;
        r.skip(2)?;
        let flags = r.u16()?;
        let session_id = r.u64()?;
        Ok(Self {
            signature,
            nonce,
            original_message_size,
            flags,
            session_id,
        })
    }

    /// Appends the 52 header bytes.
    pub fn encode(&self, w: &mut Writer) {
        w.bytes(&TRANSFORM_PROTOCOL_ID);
        w.bytes(&self.signature);
        w.bytes(&self.nonce);
        w.u32(self.original_message_size);
        w.u16(0);
        w.u16(self.flags);
        w.u64(self.session_id);
    }

    /// The 52 header bytes.
    pub fn to_bytes(&self) -> [u8; TRANSFORM_HEADER_SIZE] {
        let mut w = Writer::with_capacity(TRANSFORM_HEADER_SIZE);
        self.encode(&mut w);
        // encode writes exactly 52 bytes, so the conversion cannot fail.
        w.as_slice()
            .try_into()
            .unwrap_or([0u8; TRANSFORM_HEADER_SIZE])
    }

    /// The associated data for this header as it would be transmitted (Nonce..SessionId).
    pub fn aad_bytes(&self) -> [u8; 32] {
        let all = self.to_bytes();
        // 52 - 20 = 32 bytes, so the conversion cannot fail.
        all.get(AAD_OFFSET..)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0u8; 32])
    }
}

/// The AEAD associated data of a received transform frame: the 32 bytes from Nonce onwards,
/// exactly as transmitted (so reserved bytes the peer set are authenticated as sent).
pub fn aad(bytes: &[u8]) -> DecodeResult<&[u8]> {
    bytes
        .get(AAD_OFFSET..TRANSFORM_HEADER_SIZE)
        .ok_or(DecodeError::Truncated {
            what: "TRANSFORM_HEADER",
        })
}
