//! [MS-FSCC] File system control codes and structures: file attributes, FILETIME helpers,
//! the information classes, the query/set information structures and the directory entries
//! of QUERY_DIRECTORY.
//!
//! [MS-FSCC]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-fscc/efbfe127-73ad-4140-9967-ec6500e66d5e

mod classes;
mod dir;
mod fs_info;
mod info;
mod notify;
mod time;

pub use classes::{FileInformationClass, FsInformationClass};
pub use dir::{DirEntry, decode_dir_entries, encode_dir_entries};
pub use fs_info::{
    FileFsAttributeInformation, FileFsDeviceInformation, FileFsFullSizeInformation,
    FileFsObjectIdInformation, FileFsSectorSizeInformation, FileFsSizeInformation,
    FileFsVolumeInformation,
};
pub use info::{
    FileAccessInformation, FileAlignmentInformation, FileAllInformation, FileAllocationInformation,
    FileAttributeTagInformation, FileBasicInformation, FileCompressionInformation,
    FileDispositionInformation, FileEaInformation, FileEndOfFileInformation, FileIdInformation,
    FileInternalInformation, FileModeInformation, FileNameInformation, FileNetworkOpenInformation,
    FilePositionInformation, FileRenameInformation, FileStandardInformation, FileStreamEntry,
    FileStreamInformation, FsccStruct,
};
pub use notify::{
    FileNotifyInformation, NotifyAction, decode_notify_entries, encode_notify_entries,
};
pub use time::FileTime;

/// [MS-FSCC 2.6] File attribute bits.
#[derive(Debug, Clone, Copy)]
pub struct FileAttributes;
impl FileAttributes {
    /// FILE_ATTRIBUTE_READONLY.
    pub const READONLY: u32 = 0x0000_0001;
    /// FILE_ATTRIBUTE_HIDDEN.
    pub const HIDDEN: u32 = 0x0000_0002;
    /// FILE_ATTRIBUTE_SYSTEM.
    pub const SYSTEM: u32 = 0x0000_0004;
    /// FILE_ATTRIBUTE_DIRECTORY.
    pub const DIRECTORY: u32 = 0x0000_0010;
    /// FILE_ATTRIBUTE_ARCHIVE.
    pub const ARCHIVE: u32 = 0x0000_0020;
    /// FILE_ATTRIBUTE_NORMAL: no other attribute set.
    pub const NORMAL: u32 = 0x0000_0080;
    /// FILE_ATTRIBUTE_TEMPORARY.
    pub const TEMPORARY: u32 = 0x0000_0100;
    /// FILE_ATTRIBUTE_SPARSE_FILE.
    pub const SPARSE_FILE: u32 = 0x0000_0200;
    /// FILE_ATTRIBUTE_REPARSE_POINT.
    pub const REPARSE_POINT: u32 = 0x0000_0400;
    /// FILE_ATTRIBUTE_COMPRESSED.
    pub const COMPRESSED: u32 = 0x0000_0800;
    /// FILE_ATTRIBUTE_OFFLINE.
    pub const OFFLINE: u32 = 0x0000_1000;
    /// FILE_ATTRIBUTE_NOT_CONTENT_INDEXED.
    pub const NOT_CONTENT_INDEXED: u32 = 0x0000_2000;
    /// FILE_ATTRIBUTE_ENCRYPTED.
    pub const ENCRYPTED: u32 = 0x0000_4000;
    /// FILE_ATTRIBUTE_INTEGRITY_STREAM.
    pub const INTEGRITY_STREAM: u32 = 0x0000_8000;
    /// FILE_ATTRIBUTE_NO_SCRUB_DATA.
    pub const NO_SCRUB_DATA: u32 = 0x0002_0000;
    /// FILE_ATTRIBUTE_RECALL_ON_OPEN.
    pub const RECALL_ON_OPEN: u32 = 0x0004_0000;
    /// FILE_ATTRIBUTE_PINNED.
    pub const PINNED: u32 = 0x0008_0000;
    /// FILE_ATTRIBUTE_UNPINNED.
    pub const UNPINNED: u32 = 0x0010_0000;
    /// FILE_ATTRIBUTE_RECALL_ON_DATA_ACCESS.
    pub const RECALL_ON_DATA_ACCESS: u32 = 0x0040_0000;
}
