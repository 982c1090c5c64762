//! [MS-ERREF 2.3] NTSTATUS values, as a newtype with named constants.
//!
//! [MS-ERREF 2.3]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-erref/596a1078-e883-4972-9bbc-49e60bebca55

crate::wire_newtype! {
    /// An NTSTATUS code as carried in the SMB2 header's Status field.
    NtStatus(u32) {
        SUCCESS = 0x0000_0000,
        PENDING = 0x0000_0103,
        NOTIFY_ENUM_DIR = 0x0000_010C,
        BUFFER_OVERFLOW = 0x8000_0005,
        NO_MORE_FILES = 0x8000_0006,
        STOPPED_ON_SYMLINK = 0x8000_002D,
        UNSUCCESSFUL = 0xC000_0001,
        NOT_IMPLEMENTED = 0xC000_0002,
        INVALID_INFO_CLASS = 0xC000_0003,
        INFO_LENGTH_MISMATCH = 0xC000_0004,
        INVALID_HANDLE = 0xC000_0008,
        INVALID_PARAMETER = 0xC000_000D,
        NO_SUCH_DEVICE = 0xC000_000E,
        NO_SUCH_FILE = 0xC000_000F,
        INVALID_DEVICE_REQUEST = 0xC000_0010,
        END_OF_FILE = 0xC000_0011,
        MORE_PROCESSING_REQUIRED = 0xC000_0016,
        NO_MEMORY = 0xC000_0017,
        ACCESS_DENIED = 0xC000_0022,
        BUFFER_TOO_SMALL = 0xC000_0023,
        OBJECT_TYPE_MISMATCH = 0xC000_0024,
        OBJECT_NAME_INVALID = 0xC000_0033,
        OBJECT_NAME_NOT_FOUND = 0xC000_0034,
        OBJECT_NAME_COLLISION = 0xC000_0035,
        OBJECT_PATH_INVALID = 0xC000_0039,
        OBJECT_PATH_NOT_FOUND = 0xC000_003A,
        OBJECT_PATH_SYNTAX_BAD = 0xC000_003B,
        DATA_ERROR = 0xC000_003E,
        SHARING_VIOLATION = 0xC000_0043,
        EAS_NOT_SUPPORTED = 0xC000_004F,
        EA_TOO_LARGE = 0xC000_0050,
        FILE_LOCK_CONFLICT = 0xC000_0054,
        LOCK_NOT_GRANTED = 0xC000_0055,
        DELETE_PENDING = 0xC000_0056,
        PRIVILEGE_NOT_HELD = 0xC000_0061,
        LOGON_FAILURE = 0xC000_006D,
        ACCOUNT_RESTRICTION = 0xC000_006E,
        PASSWORD_EXPIRED = 0xC000_0071,
        NONE_MAPPED = 0xC000_0073,
        RANGE_NOT_LOCKED = 0xC000_007E,
        DISK_FULL = 0xC000_007F,
        INSUFFICIENT_RESOURCES = 0xC000_009A,
        FILE_INVALID = 0xC000_0098,
        MEDIA_WRITE_PROTECTED = 0xC000_00A2,
        BAD_NETWORK_NAME = 0xC000_00CC,
        REQUEST_NOT_ACCEPTED = 0xC000_00D0,
        PIPE_NOT_AVAILABLE = 0xC000_00AC,
        INVALID_PIPE_STATE = 0xC000_00AD,
        PIPE_BUSY = 0xC000_00AE,
        PIPE_DISCONNECTED = 0xC000_00B0,
        PIPE_CLOSING = 0xC000_00B1,
        PIPE_EMPTY = 0xC000_00D9,
        FILE_IS_A_DIRECTORY = 0xC000_00BA,
        NOT_SUPPORTED = 0xC000_00BB,
        NETWORK_NAME_DELETED = 0xC000_00C9,
        NETWORK_ACCESS_DENIED = 0xC000_00CA,
        BAD_DEVICE_TYPE = 0xC000_00CB,
        TOO_MANY_OPENED_FILES = 0xC000_011F,
        CANCELLED = 0xC000_0120,
        CANNOT_DELETE = 0xC000_0121,
        FILE_DELETED = 0xC000_0123,
        FILE_CLOSED = 0xC000_0128,
        INVALID_LEVEL = 0xC000_0148,
        NOT_A_DIRECTORY = 0xC000_0103,
        DIRECTORY_NOT_EMPTY = 0xC000_0101,
        NAME_TOO_LONG = 0xC000_0106,
        IO_TIMEOUT = 0xC000_00B5,
        FILE_TOO_LARGE = 0xC000_0904,
        INVALID_NETWORK_RESPONSE = 0xC000_00C3,
        NETWORK_SESSION_EXPIRED = 0xC000_035C,
        USER_SESSION_DELETED = 0xC000_0203,
        TIME_DIFFERENCE_AT_DC = 0xC000_0133,
        BAD_TOKEN_TYPE = 0xC000_00A8,
        WRONG_PASSWORD = 0xC000_006A,
        NO_SUCH_USER = 0xC000_0064,
        FS_DRIVER_REQUIRED = 0xC000_019C,
        NOT_A_REPARSE_POINT = 0xC000_0275,
        DUPLICATE_OBJECTID = 0xC000_022A,
        OBJECTID_NOT_FOUND = 0xC000_02F0,
        INVALID_SIGNATURE = 0xC000_A000,
        SMB_BAD_CLUSTER_DIALECT = 0xC05D_0001,
        FILE_NOT_AVAILABLE = 0xC000_0467,
        NO_EAS_ON_FILE = 0xC000_0052,
        NOTIFY_CLEANUP = 0x0000_010B,
        IO_REPARSE_TAG_NOT_HANDLED = 0xC000_0279,
        INVALID_OPLOCK_PROTOCOL = 0xC000_00E3,
        OPLOCK_NOT_GRANTED = 0xC000_00E2,
        FILE_LOCKED_WITH_ONLY_READERS = 0x0000_012A,
        USER_MAPPED_FILE = 0xC000_0243,
        NOT_SAME_DEVICE = 0xC000_00D4,
        INTERNAL_ERROR = 0xC000_00E5,
        HANDLE_NOT_CLOSABLE = 0xC000_0235,
        INVALID_VIEW_SIZE = 0xC000_001F,
        // Added with the full codec: logon outcomes, negotiate and security descriptor
        // failures, EA and quota statuses.
        OBJECT_NAME_EXISTS = 0x4000_0000,
        NO_MORE_EAS = 0x8000_0012,
        INVALID_EA_NAME = 0x8000_0013,
        EA_LIST_INCONSISTENT = 0x8000_0014,
        DISK_QUOTA_EXCEEDED = 0xC000_0044,
        INVALID_OWNER = 0xC000_005A,
        NO_LOGON_SERVERS = 0xC000_005E,
        NO_SUCH_LOGON_SESSION = 0xC000_005F,
        INVALID_LOGON_HOURS = 0xC000_006F,
        INVALID_WORKSTATION = 0xC000_0070,
        ACCOUNT_DISABLED = 0xC000_0072,
        INVALID_ACL = 0xC000_0077,
        INVALID_SID = 0xC000_0078,
        INVALID_SECURITY_DESCR = 0xC000_0079,
        INVALID_DEVICE_STATE = 0xC000_0184,
        ACCOUNT_EXPIRED = 0xC000_0193,
        INSUFF_SERVER_RESOURCES = 0xC000_0205,
        PASSWORD_MUST_CHANGE = 0xC000_0224,
        NOT_FOUND = 0xC000_0225,
        OBJECTID_EXISTS = 0xC000_022B,
        ACCOUNT_LOCKED_OUT = 0xC000_0234,
        REQUEST_ABORTED = 0xC000_0240,
        DIRECTORY_IS_A_REPARSE_POINT = 0xC000_0281,
        REQUEST_OUT_OF_SEQUENCE = 0xC000_042A,
        SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP = 0xC05D_0000,
    }
}

impl NtStatus {
    /// Severity "error" (top two bits 11).
    pub fn is_error(self) -> bool {
        self.0 >> 30 == 3
    }

    /// Severity "warning" (top two bits 10), e.g. `BUFFER_OVERFLOW`: the response still has a body.
    pub fn is_warning(self) -> bool {
        self.0 >> 30 == 2
    }

    /// Not an error: success, informational or warning.
    pub fn is_success_or_warning(self) -> bool {
        !self.is_error()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::NtStatus;

    #[test]
    fn names_and_severity() {
        assert_eq!(format!("{:?}", NtStatus::ACCESS_DENIED), "ACCESS_DENIED");
        assert_eq!(
            format!("{:?}", NtStatus(0xC0DE_0001)),
            "NtStatus(0xc0de0001)"
        );
        assert!(NtStatus::LOGON_FAILURE.is_error());
        assert!(NtStatus::BUFFER_OVERFLOW.is_warning());
        assert!(!NtStatus::MORE_PROCESSING_REQUIRED.is_success_or_warning());
        assert!(NtStatus::PENDING.is_success_or_warning());
    }
}
