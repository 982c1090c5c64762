//! [MS-FSCC 2.4] file information classes and [MS-FSCC 2.5] file system information classes.

// The constants keep the MS-FSCC names (FileBasicInformation, ...) so code reads like the spec.
#![allow(non_upper_case_globals)]

crate::wire_newtype! {
    /// [MS-FSCC 2.4] FileInformationClass values (QUERY_DIRECTORY, QUERY_INFO, SET_INFO).
    FileInformationClass(u8) {
        FileDirectoryInformation = 1,
        FileFullDirectoryInformation = 2,
        FileBothDirectoryInformation = 3,
        FileBasicInformation = 4,
        FileStandardInformation = 5,
        FileInternalInformation = 6,
        FileEaInformation = 7,
        FileAccessInformation = 8,
        FileNameInformation = 9,
        FileRenameInformation = 10,
        FileLinkInformation = 11,
        FileNamesInformation = 12,
        FileDispositionInformation = 13,
        FilePositionInformation = 14,
        FileFullEaInformation = 15,
        FileModeInformation = 16,
        FileAlignmentInformation = 17,
        FileAllInformation = 18,
        FileAllocationInformation = 19,
        FileEndOfFileInformation = 20,
        FileAlternateNameInformation = 21,
        FileStreamInformation = 22,
        FilePipeInformation = 23,
        FilePipeLocalInformation = 24,
        FilePipeRemoteInformation = 25,
        FileCompressionInformation = 28,
        FileNetworkOpenInformation = 34,
        FileAttributeTagInformation = 35,
        FileIdBothDirectoryInformation = 37,
        FileIdFullDirectoryInformation = 38,
        FileValidDataLengthInformation = 39,
        FileShortNameInformation = 40,
        FileNormalizedNameInformation = 48,
        FileIdInformation = 59,
        FileIdExtdDirectoryInformation = 60,
        FileDispositionInformationEx = 64,
        FileRenameInformationEx = 65,
    }
}

crate::wire_newtype! {
    /// [MS-FSCC 2.5] FsInformationClass values (QUERY_INFO with InfoType FILESYSTEM).
    FsInformationClass(u8) {
        FileFsVolumeInformation = 1,
        FileFsLabelInformation = 2,
        FileFsSizeInformation = 3,
        FileFsDeviceInformation = 4,
        FileFsAttributeInformation = 5,
        FileFsControlInformation = 6,
        FileFsFullSizeInformation = 7,
        FileFsObjectIdInformation = 8,
        FileFsSectorSizeInformation = 11,
    }
}
