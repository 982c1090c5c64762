//! MS-FSCC structures: FILETIME conversion, every information structure round trip with its
//! spec size, and the directory-entry encoder (chaining, alignment, the max_len cut-off).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, UNIX_EPOCH};

use rsmbd_protocol::fscc::*;

#[test]
fn filetime_unix_conversions() {
    assert_eq!(FileTime::from_unix(0, 0), FileTime(116_444_736_000_000_000));
    assert_eq!(
        FileTime::from_unix(1_000_000_000, 0),
        FileTime(126_444_736_000_000_000)
    );
    assert_eq!(
        FileTime::from_unix(1, 999_999_999).0,
        116_444_736_000_000_000 + 19_999_999
    );
    assert_eq!(
        FileTime(126_444_736_000_000_000).to_unix(),
        (1_000_000_000, 0)
    );
    assert_eq!(
        FileTime(116_444_735_999_999_999).to_unix(),
        (-1, 999_999_900)
    );
    assert_eq!(
        FileTime::from_unix(-20_000_000_000, 0),
        FileTime(0),
        "before 1601 clamps"
    );
    let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_700);
    assert_eq!(FileTime::from_system_time(t).to_system_time(), t);
    let before = UNIX_EPOCH - Duration::new(86_400, 500);
    assert_eq!(FileTime::from_system_time(before).to_system_time(), before);
}

fn check<T: FsccStruct + PartialEq + std::fmt::Debug>(v: T, size: usize) {
    let bytes = v.to_bytes();
    assert_eq!(bytes.len(), size, "{v:?}");
    assert_eq!(T::decode(&bytes).unwrap(), v);
    // A structure cut short is an error, never a panic.
    if size > 0 {
        assert!(T::decode(&bytes[..size - 1]).is_err(), "{v:?}");
    }
    for len in 0..size {
        let _ = T::decode(&bytes[..len]);
    }
}

#[test]
fn file_information_structures() {
    let basic = FileBasicInformation {
        creation_time: 1,
        last_access_time: 2,
        last_write_time: 3,
        change_time: 4,
        file_attributes: FileAttributes::ARCHIVE,
    };
    check(basic, 40);
    let standard = FileStandardInformation {
        allocation_size: 4096,
        end_of_file: 5,
        number_of_links: 1,
        delete_pending: false,
        directory: true,
    };
    check(standard, 24);
    check(FileInternalInformation { index_number: 77 }, 8);
    check(FileEaInformation { ea_size: 0 }, 4);
    check(
        FileAccessInformation {
            access_flags: 0x12_019F,
        },
        4,
    );
    check(
        FilePositionInformation {
            current_byte_offset: 9,
        },
        8,
    );
    check(FileModeInformation { mode: 0x20 }, 4);
    check(
        FileAlignmentInformation {
            alignment_requirement: 0,
        },
        4,
    );
    check(
        FileNameInformation {
            file_name: "\\dir\\ä.txt".into(),
        },
        4 + 20,
    );
    check(
        FileAllInformation {
            basic,
            standard,
            internal: FileInternalInformation { index_number: 77 },
            ea: FileEaInformation { ea_size: 0 },
            access: FileAccessInformation {
                access_flags: 0x1F01FF,
            },
            position: FilePositionInformation {
                current_byte_offset: 0,
            },
            mode: FileModeInformation { mode: 0 },
            alignment: FileAlignmentInformation {
                alignment_requirement: 0,
            },
            name: FileNameInformation {
                file_name: "\\a".into(),
            },
        },
        100 + 4,
    );
    check(
        FileNetworkOpenInformation {
            creation_time: 1,
            last_access_time: 2,
            last_write_time: 3,
            change_time: 4,
            allocation_size: 5,
            end_of_file: 6,
            file_attributes: 7,
        },
        56,
    );
    check(
        FileAttributeTagInformation {
            file_attributes: 0x10,
            reparse_tag: 0,
        },
        8,
    );
    check(
        FileCompressionInformation {
            compressed_file_size: 100,
            compression_format: 0,
            compression_unit_shift: 0,
            chunk_shift: 0,
            cluster_shift: 0,
        },
        16,
    );
    check(
        FileIdInformation {
            volume_serial_number: 0xABCD,
            file_id: [3; 16],
        },
        24,
    );
    check(
        FileRenameInformation {
            replace_if_exists: true,
            root_directory: 0,
            file_name: "new\\name".into(),
        },
        20 + 16,
    );
    check(
        FileDispositionInformation {
            delete_pending: true,
        },
        1,
    );
    check(
        FileEndOfFileInformation {
            end_of_file: 1 << 33,
        },
        8,
    );
    check(
        FileAllocationInformation {
            allocation_size: 8192,
        },
        8,
    );
}

#[test]
fn stream_information_list() {
    let v = FileStreamInformation {
        entries: vec![
            FileStreamEntry {
                stream_size: 23,
                stream_allocation_size: 4096,
                stream_name: "::$DATA".into(),
            },
            FileStreamEntry {
                stream_size: 5,
                stream_allocation_size: 8,
                stream_name: ":meta:$DATA".into(),
            },
        ],
    };
    let bytes = v.to_bytes();
    let next = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
    assert_eq!(next, (24 + 14 + 7) & !7, "first entry padded to 8");
    assert_eq!(bytes.len(), next + 24 + 22, "last entry unpadded");
    assert_eq!(FileStreamInformation::decode(&bytes).unwrap(), v);
    let mut looped = bytes.clone();
    looped[..4].copy_from_slice(&4u32.to_le_bytes());
    assert!(FileStreamInformation::decode(&looped).is_err());
}

#[test]
fn file_system_information_structures() {
    check(
        FileFsVolumeInformation {
            volume_creation_time: 9,
            volume_serial_number: 0x1234,
            supports_objects: false,
            volume_label: "share".into(),
        },
        18 + 10,
    );
    check(
        FileFsSizeInformation {
            total_allocation_units: 100,
            available_allocation_units: 50,
            sectors_per_allocation_unit: 8,
            bytes_per_sector: 512,
        },
        24,
    );
    check(
        FileFsFullSizeInformation {
            total_allocation_units: 100,
            caller_available_allocation_units: 40,
            actual_available_allocation_units: 50,
            sectors_per_allocation_unit: 8,
            bytes_per_sector: 512,
        },
        32,
    );
    check(
        FileFsDeviceInformation {
            device_type: FileFsDeviceInformation::FILE_DEVICE_DISK,
            characteristics: 0x20,
        },
        8,
    );
    check(
        FileFsAttributeInformation {
            file_system_attributes: FileFsAttributeInformation::FILE_CASE_SENSITIVE_SEARCH
                | FileFsAttributeInformation::FILE_CASE_PRESERVED_NAMES
                | FileFsAttributeInformation::FILE_UNICODE_ON_DISK,
            maximum_component_name_length: 255,
            file_system_name: "NTFS".into(),
        },
        12 + 8,
    );
    check(
        FileFsSectorSizeInformation {
            logical_bytes_per_sector: 512,
            physical_bytes_per_sector_for_atomicity: 4096,
            physical_bytes_per_sector_for_performance: 4096,
            file_system_effective_physical_bytes_per_sector_for_atomicity: 4096,
            flags: 3,
            byte_offset_for_sector_alignment: 0,
            byte_offset_for_partition_alignment: 0,
        },
        28,
    );
    check(
        FileFsObjectIdInformation {
            object_id: [1; 16],
            extended_info: [2; 48],
        },
        64,
    );
}

fn entries() -> Vec<DirEntry> {
    ["a", "longer name.txt", "€uro"]
        .iter()
        .enumerate()
        .map(|(i, n)| DirEntry {
            file_index: 0,
            creation_time: 100 + i as u64,
            last_access_time: 200,
            last_write_time: 300,
            change_time: 400,
            end_of_file: 10 * i as u64,
            allocation_size: 4096,
            file_attributes: if i == 0 {
                FileAttributes::DIRECTORY
            } else {
                FileAttributes::ARCHIVE
            },
            ea_size: 0,
            file_id: 0x1000 + i as u64,
            short_name: if i == 1 {
                "LONGER~1.TXT".into()
            } else {
                String::new()
            },
            name: (*n).into(),
        })
        .collect()
}

/// What a class carries of a [`DirEntry`].
fn project(class: FileInformationClass, e: &DirEntry) -> DirEntry {
    use FileInformationClass as C;
    if class == C::FileNamesInformation {
        return DirEntry {
            file_index: e.file_index,
            name: e.name.clone(),
            ..DirEntry::default()
        };
    }
    let mut p = e.clone();
    if !matches!(
        class,
        C::FileIdBothDirectoryInformation
            | C::FileIdFullDirectoryInformation
            | C::FileIdExtdDirectoryInformation
    ) {
        p.file_id = 0;
    }
    if !matches!(
        class,
        C::FileBothDirectoryInformation | C::FileIdBothDirectoryInformation
    ) {
        p.short_name.clear();
    }
    p
}

#[test]
fn directory_entries_every_class() {
    use FileInformationClass as C;
    let all = entries();
    for (class, fixed) in [
        (C::FileDirectoryInformation, 64),
        (C::FileFullDirectoryInformation, 68),
        (C::FileBothDirectoryInformation, 94),
        (C::FileIdBothDirectoryInformation, 104),
        (C::FileIdFullDirectoryInformation, 80),
        (C::FileNamesInformation, 12),
        (C::FileIdExtdDirectoryInformation, 88),
    ] {
        let (bytes, n) = encode_dir_entries(class, &all, 65536);
        assert_eq!(n, 3, "{class:?}");
        // Walk the chain: 8-aligned starts, last NextEntryOffset 0, sizes from the spec.
        let mut pos = 0;
        for (i, e) in all.iter().enumerate() {
            let next = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
            let name_len = e.name.encode_utf16().count() * 2;
            if i + 1 < all.len() {
                assert_eq!(next, (fixed + name_len + 7) & !7, "{class:?} entry {i}");
                pos += next;
            } else {
                assert_eq!(next, 0);
                assert_eq!(
                    bytes.len(),
                    pos + fixed + name_len,
                    "{class:?}: last entry unpadded"
                );
            }
        }
        let back = decode_dir_entries(class, &bytes).unwrap();
        let want: Vec<_> = all.iter().map(|e| project(class, e)).collect();
        assert_eq!(back, want, "{class:?}");

        // max_len: room for exactly the first two entries.
        let first_two = {
            let (b2, _) = encode_dir_entries(class, &all[..2], 65536);
            b2.len()
        };
        let (cut, n) = encode_dir_entries(class, &all, first_two);
        assert_eq!((n, cut.len()), (2, first_two), "{class:?}");
        assert_eq!(
            &cut[..4],
            &bytes[..4],
            "the chain is patched only towards written entries"
        );
        let (none, n) = encode_dir_entries(class, &all, fixed);
        assert_eq!(
            (none.len(), n),
            (0, 0),
            "{class:?}: the first entry does not fit"
        );
    }
    assert_eq!(
        encode_dir_entries(C::FileBasicInformation, &all, 65536),
        (Vec::new(), 0)
    );
    assert!(decode_dir_entries(C::FileBasicInformation, &[]).is_err());
}

#[test]
fn class_names() {
    assert_eq!(
        FileInformationClass(37),
        FileInformationClass::FileIdBothDirectoryInformation
    );
    assert_eq!(
        format!("{:?}", FileInformationClass(18)),
        "FileAllInformation"
    );
    assert_eq!(FsInformationClass::FileFsSectorSizeInformation.0, 11);
    assert_eq!(FileInformationClass::FileRenameInformationEx.0, 65);
}

#[test]
fn change_notify_entries() {
    let all = vec![
        FileNotifyInformation {
            action: NotifyAction::RENAMED_OLD_NAME,
            file_name: "a.txt".into(),
        },
        FileNotifyInformation {
            action: NotifyAction::RENAMED_NEW_NAME,
            file_name: "bb.txt".into(),
        },
        FileNotifyInformation {
            action: NotifyAction::ADDED,
            file_name: "d\\€".into(),
        },
    ];
    let (bytes, n) = encode_notify_entries(&all, 4096);
    assert_eq!(n, 3);
    // 12 + 10 = 22 -> next at 24; 12 + 12 = 24 -> next 24; last unpadded: 12 + 6.
    assert_eq!(u32::from_le_bytes(bytes[..4].try_into().unwrap()), 24);
    assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 24);
    assert_eq!(bytes.len(), 48 + 18);
    assert_eq!(decode_notify_entries(&bytes).unwrap(), all);
    let (cut, n) = encode_notify_entries(&all, 47);
    assert_eq!((n, cut.len()), (1, 22));
    assert_eq!(
        &cut[..4],
        &[0, 0, 0, 0],
        "the single entry written is the last"
    );
    let mut looped = bytes.clone();
    looped[..4].copy_from_slice(&4u32.to_le_bytes());
    assert!(decode_notify_entries(&looped).is_err());
}
