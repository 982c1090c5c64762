//! [MS-FSCC 2.4] The directory entry classes of QUERY_DIRECTORY: FileDirectoryInformation
//! (2.4.10), FileFullDirectoryInformation (2.4.14), FileBothDirectoryInformation (2.4.8),
//! FileIdBothDirectoryInformation (2.4.17), FileIdFullDirectoryInformation (2.4.18),
//! FileNamesInformation (2.4.28) and FileIdExtdDirectoryInformation (2.4.16), all built from
//! one [`DirEntry`].
//!
//! Entries are chained by NextEntryOffset; each starts 8-byte aligned; the last has
//! NextEntryOffset 0 and no trailing padding.

use super::FileInformationClass;
use super::info::read_name;
use crate::codec::{DecodeError, DecodeResult, Reader, Writer, align8, sat_u32, string_to_utf16le};

/// One directory entry, with every field any directory class needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirEntry {
    /// FileIndex (0: no meaning on our file systems).
    pub file_index: u32,
    /// CreationTime (FILETIME).
    pub creation_time: u64,
    /// LastAccessTime (FILETIME).
    pub last_access_time: u64,
    /// LastWriteTime (FILETIME).
    pub last_write_time: u64,
    /// ChangeTime (FILETIME).
    pub change_time: u64,
    /// EndOfFile.
    pub end_of_file: u64,
    /// AllocationSize.
    pub allocation_size: u64,
    /// FileAttributes.
    pub file_attributes: u32,
    /// EaSize.
    pub ea_size: u32,
    /// FileId (the inode number; 128-bit classes carry it in the low 8 bytes).
    pub file_id: u64,
    /// ShortName (8.3), usually empty; at most 12 UTF-16 characters are written.
    pub short_name: String,
    /// FileName.
    pub name: String,
}

impl FileInformationClass {
    /// True for the classes [`encode_dir_entries`] produces.
    pub fn is_directory_class(self) -> bool {
        matches!(
            self,
            Self::FileDirectoryInformation
                | Self::FileFullDirectoryInformation
                | Self::FileBothDirectoryInformation
                | Self::FileIdBothDirectoryInformation
                | Self::FileIdFullDirectoryInformation
                | Self::FileNamesInformation
                | Self::FileIdExtdDirectoryInformation
        )
    }
}

/// Writes the entry's body for `class` (NextEntryOffset written as 0; the caller patches it).
fn write_entry(w: &mut Writer, class: FileInformationClass, e: &DirEntry) {
    let name = string_to_utf16le(&e.name);
    w.u32(0);
    w.u32(e.file_index);
    if class == FileInformationClass::FileNamesInformation {
        w.u32(sat_u32(name.len()));
        w.bytes(&name);
        return;
    }
    w.u64(e.creation_time);
    w.u64(e.last_access_time);
    w.u64(e.last_write_time);
    w.u64(e.change_time);
    w.u64(e.end_of_file);
    w.u64(e.allocation_size);
    w.u32(e.file_attributes);
    w.u32(sat_u32(name.len()));
    let short = || {
        let mut s = string_to_utf16le(&e.short_name);
        s.truncate(24);
        s
    };
    match class {
        FileInformationClass::FileFullDirectoryInformation => w.u32(e.ea_size),
        FileInformationClass::FileBothDirectoryInformation
        | FileInformationClass::FileIdBothDirectoryInformation => {
            let s = short();
            w.u32(e.ea_size);
            w.u8(u8::try_from(s.len()).unwrap_or(24));
            w.u8(0);
            w.bytes(&s);
            w.zeros(24 - s.len());
            if class == FileInformationClass::FileIdBothDirectoryInformation {
                w.u16(0);
                w.u64(e.file_id);
            }
        }
        FileInformationClass::FileIdFullDirectoryInformation => {
            w.u32(e.ea_size);
            w.u32(0);
            w.u64(e.file_id);
        }
        FileInformationClass::FileIdExtdDirectoryInformation => {
            w.u32(e.ea_size);
            w.u32(0); // ReparsePointTag
            w.u64(e.file_id);
            w.u64(0);
        }
        _ => {}
    }
    w.bytes(&name);
}

/// Encodes as many `entries` as fit in `max_len` bytes for the directory `class`, chaining
/// NextEntryOffset with 8-byte alignment. Returns the buffer and how many entries it holds
/// (0 if even the first does not fit, or if `class` is not a directory class).
pub fn encode_dir_entries(
    class: FileInformationClass,
    entries: &[DirEntry],
    max_len: usize,
) -> (Vec<u8>, usize) {
    if !class.is_directory_class() {
        return (Vec::new(), 0);
    }
    let mut out: Vec<u8> = Vec::new();
    let mut last_start: Option<usize> = None;
    let mut count = 0;
    for e in entries {
        let mut w = Writer::new();
        write_entry(&mut w, class, e);
        let entry = w.as_slice();
        let start = align8(out.len()).unwrap_or(usize::MAX);
        if start.saturating_add(entry.len()) > max_len {
            break;
        }
        if let Some(prev) = last_start {
            let next = sat_u32(start - prev).to_le_bytes();
            if let Some(dst) = out.get_mut(prev..prev + 4) {
                dst.copy_from_slice(&next);
            }
        }
        out.resize(start, 0);
        out.extend_from_slice(entry);
        last_start = Some(start);
        count += 1;
    }
    (out, count)
}

/// Decodes a QUERY_DIRECTORY output buffer of class `class` (for the test client and round
/// trips). NextEntryOffset must move forward by at least the fixed entry size.
pub fn decode_dir_entries(
    class: FileInformationClass,
    bytes: &[u8],
) -> DecodeResult<Vec<DirEntry>> {
    const WHAT: &str = "directory entry";
    if !class.is_directory_class() {
        return Err(DecodeError::Invalid {
            what: "directory information class",
        });
    }
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let mut r = Reader::new(bytes.get(pos..).unwrap_or(&[]), WHAT);
        let next = r.u32()? as usize;
        let mut e = DirEntry {
            file_index: r.u32()?,
            ..DirEntry::default()
        };
        let name_len;
        if class == FileInformationClass::FileNamesInformation {
            name_len = r.u32()?;
        } else {
            e.creation_time = r.u64()?;
            e.last_access_time = r.u64()?;
            e.last_write_time = r.u64()?;
            e.change_time = r.u64()?;
            e.end_of_file = r.u64()?;
            e.allocation_size = r.u64()?;
            e.file_attributes = r.u32()?;
            name_len = r.u32()?;
            match class {
                FileInformationClass::FileFullDirectoryInformation => e.ea_size = r.u32()?,
                FileInformationClass::FileBothDirectoryInformation
                | FileInformationClass::FileIdBothDirectoryInformation => {
                    e.ea_size = r.u32()?;
                    let short_len = usize::from(r.u8()?).min(24);
                    r.skip(1)?;
                    let short = r.take(24)?;
                    e.short_name =
                        crate::codec::utf16le_to_string(short.get(..short_len).unwrap_or(&[]))
                            .ok_or(DecodeError::Invalid { what: "ShortName" })?;
                    if class == FileInformationClass::FileIdBothDirectoryInformation {
                        r.skip(2)?;
                        e.file_id = r.u64()?;
                    }
                }
                FileInformationClass::FileIdFullDirectoryInformation => {
                    e.ea_size = r.u32()?;
                    r.skip(4)?;
                    e.file_id = r.u64()?;
                }
                FileInformationClass::FileIdExtdDirectoryInformation => {
                    e.ea_size = r.u32()?;
                    r.skip(4)?;
                    e.file_id = r.u64()?;
                    r.skip(8)?;
                }
                _ => {}
            }
        }
        let fixed = bytes
            .len()
            .saturating_sub(pos)
            .saturating_sub(r.remaining());
        e.name = read_name(&mut r, name_len, WHAT)?;
        out.push(e);
        if next == 0 {
            break;
        }
        if next < fixed {
            return Err(DecodeError::Invalid {
                what: "NextEntryOffset",
            });
        }
        pos = pos
            .checked_add(next)
            .ok_or(DecodeError::OutOfBounds { what: WHAT })?;
    }
    Ok(out)
}
