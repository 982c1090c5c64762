//! Access masks for files and directories ([MS-SMB2 2.2.13.1]; the values are the protocol
//! crate's `AccessMask`) and their generic mapping
//! ([MS-DTYP 2.4.3], with the file-object mapping of [MS-FSA 2.1.5.1.2.1]).

use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::create::AccessMask;

/// FILE_READ_DATA (FILE_LIST_DIRECTORY on a directory).
pub const FILE_READ_DATA: u32 = AccessMask::FILE_READ_DATA;
/// FILE_WRITE_DATA (FILE_ADD_FILE).
pub const FILE_WRITE_DATA: u32 = AccessMask::FILE_WRITE_DATA;
/// FILE_APPEND_DATA (FILE_ADD_SUBDIRECTORY).
pub const FILE_APPEND_DATA: u32 = AccessMask::FILE_APPEND_DATA;
/// FILE_READ_EA.
pub const FILE_READ_EA: u32 = AccessMask::FILE_READ_EA;
/// FILE_WRITE_EA.
pub const FILE_WRITE_EA: u32 = AccessMask::FILE_WRITE_EA;
/// FILE_EXECUTE (FILE_TRAVERSE).
pub const FILE_EXECUTE: u32 = AccessMask::FILE_EXECUTE;
/// FILE_DELETE_CHILD.
pub const FILE_DELETE_CHILD: u32 = AccessMask::FILE_DELETE_CHILD;
/// FILE_READ_ATTRIBUTES.
pub const FILE_READ_ATTRIBUTES: u32 = AccessMask::FILE_READ_ATTRIBUTES;
/// FILE_WRITE_ATTRIBUTES.
pub const FILE_WRITE_ATTRIBUTES: u32 = AccessMask::FILE_WRITE_ATTRIBUTES;
/// DELETE.
pub const DELETE: u32 = AccessMask::DELETE;
/// READ_CONTROL.
pub const READ_CONTROL: u32 = AccessMask::READ_CONTROL;
/// WRITE_DAC.
pub const WRITE_DAC: u32 = AccessMask::WRITE_DAC;
/// WRITE_OWNER.
pub const WRITE_OWNER: u32 = AccessMask::WRITE_OWNER;
/// SYNCHRONIZE.
pub const SYNCHRONIZE: u32 = AccessMask::SYNCHRONIZE;
/// ACCESS_SYSTEM_SECURITY.
pub const ACCESS_SYSTEM_SECURITY: u32 = AccessMask::ACCESS_SYSTEM_SECURITY;
/// MAXIMUM_ALLOWED.
pub const MAXIMUM_ALLOWED: u32 = AccessMask::MAXIMUM_ALLOWED;
/// GENERIC_ALL.
pub const GENERIC_ALL: u32 = AccessMask::GENERIC_ALL;
/// GENERIC_EXECUTE.
pub const GENERIC_EXECUTE: u32 = AccessMask::GENERIC_EXECUTE;
/// GENERIC_WRITE.
pub const GENERIC_WRITE: u32 = AccessMask::GENERIC_WRITE;
/// GENERIC_READ.
pub const GENERIC_READ: u32 = AccessMask::GENERIC_READ;

/// FILE_ALL_ACCESS: every specific and standard right.
pub const FILE_ALL_ACCESS: u32 = AccessMask::FILE_ALL_ACCESS;
/// FILE_GENERIC_READ.
pub const FILE_GENERIC_READ: u32 =
    READ_CONTROL | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE;
/// FILE_GENERIC_WRITE.
pub const FILE_GENERIC_WRITE: u32 = READ_CONTROL
    | FILE_WRITE_DATA
    | FILE_WRITE_ATTRIBUTES
    | FILE_WRITE_EA
    | FILE_APPEND_DATA
    | SYNCHRONIZE;
/// FILE_GENERIC_EXECUTE.
pub const FILE_GENERIC_EXECUTE: u32 =
    READ_CONTROL | FILE_READ_ATTRIBUTES | FILE_EXECUTE | SYNCHRONIZE;

/// Rights that modify the file or its metadata: refused on a read-only share.
pub const WRITE_RIGHTS: u32 = FILE_WRITE_DATA
    | FILE_APPEND_DATA
    | FILE_WRITE_EA
    | FILE_DELETE_CHILD
    | FILE_WRITE_ATTRIBUTES
    | DELETE
    | WRITE_DAC
    | WRITE_OWNER;

/// The maximal access of a share: everything, or read and execute on a read-only share.
pub fn share_maximal_access(read_only: bool) -> u32 {
    if read_only {
        FILE_GENERIC_READ | FILE_GENERIC_EXECUTE
    } else {
        FILE_ALL_ACCESS
    }
}

/// Replaces the GENERIC_* bits by the file rights they stand for.
pub fn map_generic(mask: u32) -> u32 {
    let mut out = mask & !(GENERIC_ALL | GENERIC_EXECUTE | GENERIC_WRITE | GENERIC_READ);
    if mask & GENERIC_READ != 0 {
        out |= FILE_GENERIC_READ;
    }
    if mask & GENERIC_WRITE != 0 {
        out |= FILE_GENERIC_WRITE;
    }
    if mask & GENERIC_EXECUTE != 0 {
        out |= FILE_GENERIC_EXECUTE;
    }
    if mask & GENERIC_ALL != 0 {
        out |= FILE_ALL_ACCESS;
    }
    out
}

/// The access an open is granted for `desired` against the tree's `maximal` access
/// ([MS-SMB2 3.3.5.9]: the server checks DesiredAccess against the share's permissions).
/// MAXIMUM_ALLOWED grants the maximal access; asking for more than it is `ACCESS_DENIED`;
/// ACCESS_SYSTEM_SECURITY needs a privilege no SMB user holds here.
pub fn grant(desired: u32, maximal: u32) -> Result<u32, NtStatus> {
    if desired & ACCESS_SYSTEM_SECURITY != 0 {
        return Err(NtStatus::PRIVILEGE_NOT_HELD);
    }
    let mut granted = map_generic(desired) & !MAXIMUM_ALLOWED;
    if granted & !maximal != 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if desired & MAXIMUM_ALLOWED != 0 {
        granted |= maximal;
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn generic_mapping_and_grants() {
        assert_eq!(FILE_GENERIC_READ, 0x0012_0089);
        assert_eq!(FILE_GENERIC_WRITE, 0x0012_0116);
        assert_eq!(FILE_GENERIC_EXECUTE, 0x0012_00A0);
        assert_eq!(map_generic(GENERIC_ALL), FILE_ALL_ACCESS);
        let ro = share_maximal_access(true);
        assert_eq!(grant(GENERIC_READ, ro), Ok(FILE_GENERIC_READ));
        assert_eq!(grant(GENERIC_WRITE, ro), Err(NtStatus::ACCESS_DENIED));
        assert_eq!(grant(DELETE, ro), Err(NtStatus::ACCESS_DENIED));
        assert_eq!(grant(MAXIMUM_ALLOWED, ro), Ok(ro));
        assert_eq!(grant(MAXIMUM_ALLOWED, FILE_ALL_ACCESS), Ok(FILE_ALL_ACCESS));
        assert_eq!(
            grant(ACCESS_SYSTEM_SECURITY, FILE_ALL_ACCESS),
            Err(NtStatus::PRIVILEGE_NOT_HELD)
        );
    }
}
