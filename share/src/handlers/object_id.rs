//! FSCTL_CREATE_OR_GET_OBJECT_ID ([MS-FSCC 2.3.7], [MS-SMB2 3.3.5.15]): the object id of a file
//! or directory, which Windows keeps in NTFS and clients use to track a file across renames.

use std::borrow::Cow;

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::ioctl::{IoctlRequest, IoctlResponse};

use super::{HandlerResult, Reply, TreeCx};

/// Size of FILE_OBJECTID_BUFFER ([MS-FSCC 2.1.3.1]): ObjectId, BirthVolumeId, BirthObjectId,
/// DomainId, 16 bytes each.
pub const FILE_OBJECTID_BUFFER_SIZE: usize = 64;

/// Answers with an object id derived from the file's identity (inode and device), so it is
/// stable for the life of the file and never needs storing: ObjectId = BirthObjectId = inode
/// then device, BirthVolumeId = device, DomainId zero. A MaxOutputResponse too small for the
/// buffer is `BUFFER_TOO_SMALL`; a pipe is `INVALID_DEVICE_REQUEST`.
pub fn create_or_get(cx: &TreeCx, req: &IoctlRequest<'_>) -> HandlerResult<IoctlResponse<'static>> {
    let open = cx.open(req.file_id)?;
    let disk = super::disk_of(&open).map_err(|_| NtStatus::INVALID_DEVICE_REQUEST)?;
    if (req.max_output_response as usize) < FILE_OBJECTID_BUFFER_SIZE {
        return Err(NtStatus::BUFFER_TOO_SMALL);
    }
    Ok(Reply::ok(IoctlResponse {
        ctl_code: req.ctl_code,
        file_id: req.file_id,
        input: Cow::Borrowed(&[]),
        output: Cow::Owned(object_id_buffer(disk.key())),
        flags: 0,
    }))
}

/// FILE_OBJECTID_BUFFER for the file `(device, inode)`.
fn object_id_buffer((dev, ino): (u64, u64)) -> Vec<u8> {
    let mut object_id = [0u8; 16];
    object_id[..8].copy_from_slice(&ino.to_le_bytes());
    object_id[8..].copy_from_slice(&dev.to_le_bytes());
    let mut volume = [0u8; 16];
    volume[..8].copy_from_slice(&dev.to_le_bytes());
    let mut out = Vec::with_capacity(FILE_OBJECTID_BUFFER_SIZE);
    out.extend_from_slice(&object_id);
    out.extend_from_slice(&volume);
    out.extend_from_slice(&object_id);
    out.extend_from_slice(&[0u8; 16]);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_buffer_is_64_bytes_and_names_the_file() {
        let b = object_id_buffer((0x0102, 0x0A0B));
        assert_eq!(b.len(), FILE_OBJECTID_BUFFER_SIZE);
        assert_eq!(&b[..2], &[0x0B, 0x0A]);
        assert_eq!(&b[8..10], &[0x02, 0x01]);
        assert_eq!(b[..16], b[32..48], "BirthObjectId = ObjectId");
        assert_eq!(&b[48..], &[0u8; 16]);
    }
}
