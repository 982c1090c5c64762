//! [MS-SMB2 2.2.14.1] SMB2_FILEID: the 16-byte handle of an open, carried by most requests.
//!
//! [MS-SMB2 2.2.14.1]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/f1d9b40d-e335-45fc-9d0b-199a31ede4c3

use crate::codec::{DecodeResult, Reader, Writer};

/// [MS-SMB2 2.2.14.1] SMB2_FILEID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct FileId {
    /// Persistent: survives a reconnect (durable handles).
    pub persistent: u64,
    /// Volatile: may change across a reconnect.
    pub volatile: u64,
}

impl FileId {
    /// All 0xFF: in a related compound member, "the FileId of the previous operation"
    /// ([MS-SMB2 3.2.4.1.4 / 3.3.5.2.7.2]).
    pub const COMPOUND_PREVIOUS: FileId = FileId {
        persistent: u64::MAX,
        volatile: u64::MAX,
    };

    /// Builds one from its two halves.
    pub const fn new(persistent: u64, volatile: u64) -> Self {
        Self {
            persistent,
            volatile,
        }
    }

    /// True for [`FileId::COMPOUND_PREVIOUS`].
    pub fn is_compound_previous(&self) -> bool {
        *self == Self::COMPOUND_PREVIOUS
    }

    /// Reads 16 bytes.
    pub fn read(r: &mut Reader<'_>) -> DecodeResult<Self> {
        Ok(Self {
            persistent: r.u64()?,
            volatile: r.u64()?,
        })
    }

    /// Writes 16 bytes.
    pub fn write(&self, w: &mut Writer) {
        w.u64(self.persistent);
        w.u64(self.volatile);
    }
}
