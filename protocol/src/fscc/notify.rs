//! [MS-FSCC 2.7.1] FILE_NOTIFY_INFORMATION: the entries of a CHANGE_NOTIFY response, chained
//! by NextEntryOffset and aligned to 4 bytes.

use super::info::read_name;
use crate::codec::{DecodeError, DecodeResult, Reader, Writer, sat_u32, string_to_utf16le};

/// [MS-FSCC 2.7.1] Action values.
#[derive(Debug, Clone, Copy)]
pub struct NotifyAction;
impl NotifyAction {
    /// FILE_ACTION_ADDED.
    pub const ADDED: u32 = 0x0000_0001;
    /// FILE_ACTION_REMOVED.
    pub const REMOVED: u32 = 0x0000_0002;
    /// FILE_ACTION_MODIFIED.
    pub const MODIFIED: u32 = 0x0000_0003;
    /// FILE_ACTION_RENAMED_OLD_NAME.
    pub const RENAMED_OLD_NAME: u32 = 0x0000_0004;
    /// FILE_ACTION_RENAMED_NEW_NAME.
    pub const RENAMED_NEW_NAME: u32 = 0x0000_0005;
}

/// [MS-FSCC 2.7.1] One FILE_NOTIFY_INFORMATION entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileNotifyInformation {
    /// Action ([`NotifyAction`]).
    pub action: u32,
    /// FileName, relative to the watched directory.
    pub file_name: String,
}

/// Encodes entries (each 4-byte aligned, NextEntryOffset chained, last 0) while they fit in
/// `max_len`; returns the buffer and how many entries it holds. If not all fit, the server
/// answers STATUS_NOTIFY_ENUM_DIR instead ([MS-SMB2 3.3.5.19]).
pub fn encode_notify_entries(
    entries: &[FileNotifyInformation],
    max_len: usize,
) -> (Vec<u8>, usize) {
    let mut out: Vec<u8> = Vec::new();
    let mut last: Option<usize> = None;
    let mut count = 0;
    for e in entries {
        let name = string_to_utf16le(&e.file_name);
        let start = out.len().div_ceil(4) * 4;
        if start.saturating_add(12 + name.len()) > max_len {
            break;
        }
        if let Some(prev) = last
            && let Some(dst) = out.get_mut(prev..prev + 4)
        {
            dst.copy_from_slice(&sat_u32(start - prev).to_le_bytes());
        }
        out.resize(start, 0);
        let mut w = Writer::new();
        w.u32(0);
        w.u32(e.action);
        w.u32(sat_u32(name.len()));
        w.bytes(&name);
        out.extend_from_slice(w.as_slice());
        last = Some(start);
        count += 1;
    }
    (out, count)
}

/// Decodes a CHANGE_NOTIFY output buffer (for the test client and round trips).
pub fn decode_notify_entries(bytes: &[u8]) -> DecodeResult<Vec<FileNotifyInformation>> {
    const WHAT: &str = "FILE_NOTIFY_INFORMATION";
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let mut r = Reader::new(bytes.get(pos..).unwrap_or(&[]), WHAT);
        let next = r.u32()? as usize;
        let action = r.u32()?;
        let len = r.u32()?;
        out.push(FileNotifyInformation {
            action,
            file_name: read_name(&mut r, len, WHAT)?,
        });
        if next == 0 {
            break;
        }
        if next < 12 {
            return Err(DecodeError::Invalid {
                what: "FILE_NOTIFY_INFORMATION NextEntryOffset",
            });
        }
        pos = pos
            .checked_add(next)
            .ok_or(DecodeError::OutOfBounds { what: WHAT })?;
    }
    Ok(out)
}
