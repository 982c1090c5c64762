//! QUERY_INFO and SET_INFO, decoded with the protocol crate's structures (round trip).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::borrow::Cow;

use common::*;
use rsmbd_protocol::NtStatus;
use rsmbd_protocol::dtyp::{SecurityDescriptor, Sid};
use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::fscc::{
    FileAllInformation, FileAttributeTagInformation, FileBasicInformation,
    FileDispositionInformation, FileEndOfFileInformation, FileFsAttributeInformation,
    FileFsDeviceInformation, FileFsFullSizeInformation, FileFsObjectIdInformation,
    FileFsSectorSizeInformation, FileFsSizeInformation, FileFsVolumeInformation, FileIdInformation,
    FileInformationClass as C, FileInternalInformation, FileNameInformation,
    FileNetworkOpenInformation, FileRenameInformation, FileStandardInformation,
    FileStreamInformation, FsInformationClass as F, FsccStruct,
};
use rsmbd_protocol::messages::query_info::{InfoType, QueryInfoRequest, SecurityInformation};
use rsmbd_protocol::messages::set_info::SetInfoRequest;
use rsmbd_share::handlers::{self, Reply, TreeCx};

fn qi(
    cx: &TreeCx,
    id: FileId,
    info_type: u8,
    class: u8,
    max: u32,
) -> Result<Reply<Vec<u8>>, NtStatus> {
    let req = QueryInfoRequest {
        info_type,
        file_info_class: class,
        output_buffer_length: max,
        additional_information: SecurityInformation::OWNER
            | SecurityInformation::GROUP
            | SecurityInformation::DACL,
        file_id: id,
        ..Default::default()
    };
    handlers::query_info::handle(cx, &req).map(|r| Reply {
        status: r.status,
        body: r.body.buffer.into_owned(),
    })
}

fn file<T: FsccStruct>(cx: &TreeCx, id: FileId, class: C) -> T {
    let r = qi(cx, id, InfoType::FILE, class.0, 65536).unwrap();
    assert_eq!(r.status, NtStatus::SUCCESS);
    T::decode(&r.body).unwrap()
}

fn fs<T: FsccStruct>(cx: &TreeCx, id: FileId, class: F) -> T {
    let r = qi(cx, id, InfoType::FILESYSTEM, class.0, 65536).unwrap();
    assert_eq!(r.status, NtStatus::SUCCESS);
    T::decode(&r.body).unwrap()
}

fn si(cx: &TreeCx, id: FileId, class: C, buffer: Vec<u8>) -> Result<(), NtStatus> {
    let req = SetInfoRequest {
        info_type: InfoType::FILE,
        file_info_class: class.0,
        buffer: Cow::Owned(buffer),
        additional_information: 0,
        file_id: id,
    };
    handlers::set_info::handle(cx, &req).map(|_| ())
}

#[test]
fn file_classes_decode_and_agree() {
    let f = Fixture::new();
    std::fs::create_dir(f.root().join("dir")).unwrap();
    std::fs::write(f.root().join("dir/f.txt"), b"hello world").unwrap();
    let cx = f.tree();
    let id = create(&cx, "dir\\f.txt", OPEN, 0, GENERIC_READ)
        .unwrap()
        .file_id;
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(f.root().join("dir/f.txt")).unwrap();

    let basic: FileBasicInformation = file(&cx, id, C::FileBasicInformation);
    assert_eq!(
        basic.last_write_time,
        (md.mtime() as u64 + 11_644_473_600) * 10_000_000 + md.mtime_nsec() as u64 / 100
    );
    let std_: FileStandardInformation = file(&cx, id, C::FileStandardInformation);
    assert_eq!(
        (
            std_.end_of_file,
            std_.number_of_links,
            std_.directory,
            std_.delete_pending
        ),
        (11, 1, false, false)
    );
    let internal: FileInternalInformation = file(&cx, id, C::FileInternalInformation);
    assert_eq!(internal.index_number, md.ino());
    let name: FileNameInformation = file(&cx, id, C::FileNameInformation);
    assert_eq!(name.file_name, "\\dir\\f.txt");
    let norm: FileNameInformation = file(&cx, id, C::FileNormalizedNameInformation);
    assert_eq!(norm.file_name, "dir\\f.txt");
    let all: FileAllInformation = file(&cx, id, C::FileAllInformation);
    assert_eq!(all.basic, basic);
    assert_eq!(all.standard, std_);
    assert_eq!(all.name.file_name, "\\dir\\f.txt");
    assert_eq!(all.access.access_flags, 0x0012_0089);
    let net: FileNetworkOpenInformation = file(&cx, id, C::FileNetworkOpenInformation);
    assert_eq!(
        (net.end_of_file, net.file_attributes, net.last_write_time),
        (11, basic.file_attributes, basic.last_write_time)
    );
    let tag: FileAttributeTagInformation = file(&cx, id, C::FileAttributeTagInformation);
    assert_eq!(tag.file_attributes, basic.file_attributes);
    let streams: FileStreamInformation = file(&cx, id, C::FileStreamInformation);
    assert_eq!(streams.entries.len(), 1);
    assert_eq!(streams.entries[0].stream_name, "::$DATA");
    assert_eq!(streams.entries[0].stream_size, 11);
    let fid: FileIdInformation = file(&cx, id, C::FileIdInformation);
    assert_eq!(fid.file_id[..8], md.ino().to_le_bytes());
    for class in [
        C::FileEaInformation,
        C::FileAccessInformation,
        C::FilePositionInformation,
        C::FileModeInformation,
        C::FileAlignmentInformation,
        C::FileCompressionInformation,
    ] {
        assert_eq!(
            qi(&cx, id, InfoType::FILE, class.0, 64).unwrap().status,
            NtStatus::SUCCESS,
            "{class:?}"
        );
    }
    let alt: FileNameInformation = file(&cx, id, C::FileAlternateNameInformation);
    assert_eq!(alt.file_name, "F.TXT");
    assert_eq!(
        qi(&cx, id, InfoType::FILE, 0xEE, 64).unwrap_err(),
        NtStatus::INVALID_INFO_CLASS
    );
    assert_eq!(
        qi(&cx, id, InfoType::QUOTA, 0, 64).unwrap_err(),
        NtStatus::NOT_SUPPORTED
    );

    // A directory: no streams, the directory flag, the root's name is "\".
    let root = create(&cx, "", OPEN, 0, GENERIC_READ).unwrap().file_id;
    let s: FileStandardInformation = file(&cx, root, C::FileStandardInformation);
    assert!(s.directory);
    assert!(
        qi(&cx, root, InfoType::FILE, C::FileStreamInformation.0, 64)
            .unwrap()
            .body
            .is_empty()
    );
    let n: FileNameInformation = file(&cx, root, C::FileNameInformation);
    assert_eq!(n.file_name, "\\");
}

#[test]
fn buffer_too_small_rules() {
    let f = Fixture::new();
    std::fs::write(f.root().join("a-long-name.txt"), b"x").unwrap();
    let cx = f.tree();
    let id = create(&cx, "a-long-name.txt", OPEN, 0, GENERIC_READ)
        .unwrap()
        .file_id;
    // Fixed-size class: anything short is INFO_LENGTH_MISMATCH.
    assert_eq!(
        qi(&cx, id, InfoType::FILE, C::FileBasicInformation.0, 39).unwrap_err(),
        NtStatus::INFO_LENGTH_MISMATCH
    );
    // Variable class: sizeof the Windows structure (fixed part + one name character, padded:
    // 104 for FILE_ALL_INFORMATION, 8 for FILE_NAME_INFORMATION) must fit, the name is then
    // truncated with BUFFER_OVERFLOW (MS-FSA 2.1.5.12, smbtorture qfile_buffercheck).
    assert_eq!(
        qi(&cx, id, InfoType::FILE, C::FileAllInformation.0, 103).unwrap_err(),
        NtStatus::INFO_LENGTH_MISMATCH
    );
    let r = qi(&cx, id, InfoType::FILE, C::FileAllInformation.0, 104).unwrap();
    assert_eq!(r.status, NtStatus::BUFFER_OVERFLOW);
    assert_eq!(r.body.len(), 104);
    assert_eq!(
        qi(&cx, id, InfoType::FILE, C::FileNameInformation.0, 7).unwrap_err(),
        NtStatus::INFO_LENGTH_MISMATCH
    );
    let r = qi(&cx, id, InfoType::FILE, C::FileNameInformation.0, 8).unwrap();
    assert_eq!(r.status, NtStatus::BUFFER_OVERFLOW);
    assert_eq!(
        &r.body[..4],
        &32u32.to_le_bytes(),
        "the length field still says the whole name"
    );
    assert_eq!(
        qi(&cx, id, InfoType::SECURITY, 0, 8).unwrap_err(),
        NtStatus::BUFFER_TOO_SMALL
    );
}

#[test]
fn attributes_need_read_attributes_access() {
    let f = Fixture::new();
    std::fs::write(f.root().join("x"), b"x").unwrap();
    let cx = f.tree();
    let id = create(&cx, "x", OPEN, 0, 0x0002_0000 /* READ_CONTROL only */)
        .unwrap()
        .file_id;
    assert_eq!(
        qi(&cx, id, InfoType::FILE, C::FileBasicInformation.0, 64).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        qi(&cx, id, InfoType::FILE, C::FileStandardInformation.0, 64)
            .unwrap()
            .status,
        NtStatus::SUCCESS
    );
}

#[test]
fn filesystem_classes() {
    let f = Fixture::new();
    let cx = f.tree();
    let id = create(&cx, "", OPEN, 0, GENERIC_READ).unwrap().file_id;
    let vol: FileFsVolumeInformation = fs(&cx, id, F::FileFsVolumeInformation);
    assert_eq!(vol.volume_label, "data");
    let attr: FileFsAttributeInformation = fs(&cx, id, F::FileFsAttributeInformation);
    assert_eq!(attr.file_system_name, "NTFS");
    assert_eq!(attr.maximum_component_name_length, 255);
    assert_ne!(attr.file_system_attributes & 0x2, 0, "case preserved");
    assert_eq!(attr.file_system_attributes & 0x8, 0, "no persistent ACLs");
    let size: FileFsSizeInformation = fs(&cx, id, F::FileFsSizeInformation);
    assert!(size.total_allocation_units >= size.available_allocation_units);
    assert!(size.total_allocation_units > 0);
    let full: FileFsFullSizeInformation = fs(&cx, id, F::FileFsFullSizeInformation);
    assert_eq!(full.total_allocation_units, size.total_allocation_units);
    assert_eq!(
        u64::from(full.sectors_per_allocation_unit) * u64::from(full.bytes_per_sector),
        u64::from(size.sectors_per_allocation_unit) * u64::from(size.bytes_per_sector)
    );
    let dev: FileFsDeviceInformation = fs(&cx, id, F::FileFsDeviceInformation);
    assert_eq!(dev.device_type, 7);
    let ss: FileFsSectorSizeInformation = fs(&cx, id, F::FileFsSectorSizeInformation);
    assert_eq!(ss.logical_bytes_per_sector, 512);
    let _: FileFsObjectIdInformation = fs(&cx, id, F::FileFsObjectIdInformation);
    assert_eq!(
        qi(&cx, id, InfoType::FILESYSTEM, 0x7F, 64).unwrap_err(),
        NtStatus::INVALID_INFO_CLASS
    );
}

#[test]
fn security_descriptor_from_the_owner() {
    let f = Fixture::new();
    std::fs::write(f.root().join("s"), b"").unwrap();
    let cx = f.tree();
    let id = create(&cx, "s", OPEN, 0, GENERIC_READ).unwrap().file_id;
    let r = qi(&cx, id, InfoType::SECURITY, 0, 4096).unwrap();
    let sd = SecurityDescriptor::decode(&r.body).unwrap();
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(f.root().join("s")).unwrap();
    assert_eq!(sd.owner, Some(Sid::unix_user(md.uid())));
    assert_eq!(sd.group, Some(Sid::unix_group(md.gid())));
    let dacl = sd.dacl.unwrap();
    assert_eq!(dacl.aces[0].mask, 0x001F_01FF);
}

#[test]
fn set_basic_times_and_read_only() {
    let f = Fixture::new();
    std::fs::write(f.root().join("t"), b"x").unwrap();
    let cx = f.tree();
    let id = create(&cx, "t", OPEN, 0, GENERIC_ALL).unwrap().file_id;
    let before: FileBasicInformation = file(&cx, id, C::FileBasicInformation);
    let when = 130_000_000_000_000_000u64; // 2012-12-11
    let set = FileBasicInformation {
        last_write_time: when,
        last_access_time: u64::MAX,
        ..Default::default()
    };
    si(&cx, id, C::FileBasicInformation, set.to_bytes()).unwrap();
    let after: FileBasicInformation = file(&cx, id, C::FileBasicInformation);
    assert_eq!(after.last_write_time, when);
    assert_eq!(
        after.last_access_time, before.last_access_time,
        "-1 leaves the time alone"
    );
    assert_eq!(
        after.file_attributes, before.file_attributes,
        "attributes 0: unchanged"
    );
    let ro = FileBasicInformation {
        file_attributes: 0x1,
        ..Default::default()
    };
    si(&cx, id, C::FileBasicInformation, ro.to_bytes()).unwrap();
    let b: FileBasicInformation = file(&cx, id, C::FileBasicInformation);
    assert_eq!(b.file_attributes & 0x1, 0x1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(f.root().join("t"))
            .unwrap()
            .permissions()
            .mode()
            & 0o222,
        0
    );
    let rw = FileBasicInformation {
        file_attributes: 0x20,
        ..Default::default()
    };
    si(&cx, id, C::FileBasicInformation, rw.to_bytes()).unwrap();
    let b: FileBasicInformation = file(&cx, id, C::FileBasicInformation);
    assert_eq!(b.file_attributes & 0x1, 0);
    assert_eq!(
        si(&cx, id, C::FileBasicInformation, vec![0; 10]).unwrap_err(),
        NtStatus::INFO_LENGTH_MISMATCH
    );
    let dir = FileBasicInformation {
        file_attributes: 0x10,
        ..Default::default()
    };
    assert_eq!(
        si(&cx, id, C::FileBasicInformation, dir.to_bytes()).unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
}

#[test]
fn set_end_of_file_and_allocation() {
    let f = Fixture::new();
    let cx = f.tree();
    let id = create(&cx, "e", CREATE, 0, GENERIC_ALL).unwrap().file_id;
    si(
        &cx,
        id,
        C::FileEndOfFileInformation,
        FileEndOfFileInformation { end_of_file: 1000 }.to_bytes(),
    )
    .unwrap();
    assert_eq!(std::fs::metadata(f.root().join("e")).unwrap().len(), 1000);
    si(
        &cx,
        id,
        C::FileEndOfFileInformation,
        FileEndOfFileInformation { end_of_file: 10 }.to_bytes(),
    )
    .unwrap();
    assert_eq!(std::fs::metadata(f.root().join("e")).unwrap().len(), 10);
    si(
        &cx,
        id,
        C::FileAllocationInformation,
        1_000_000u64.to_le_bytes().to_vec(),
    )
    .unwrap();
    assert_eq!(
        std::fs::metadata(f.root().join("e")).unwrap().len(),
        10,
        "a larger allocation keeps the size"
    );
    si(
        &cx,
        id,
        C::FileAllocationInformation,
        4u64.to_le_bytes().to_vec(),
    )
    .unwrap();
    assert_eq!(std::fs::metadata(f.root().join("e")).unwrap().len(), 4);
    let ro = create(&cx, "e", OPEN, 0, GENERIC_READ).unwrap().file_id;
    assert_eq!(
        si(
            &cx,
            ro,
            C::FileEndOfFileInformation,
            0u64.to_le_bytes().to_vec()
        )
        .unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        si(&cx, id, C::FileFullEaInformation, vec![0; 16]).unwrap_err(),
        NtStatus::EAS_NOT_SUPPORTED
    );
    assert_eq!(
        si(&cx, id, C(0xEE), vec![0; 16]).unwrap_err(),
        NtStatus::INVALID_INFO_CLASS
    );
}

fn rename_info(to: &str, replace: bool) -> Vec<u8> {
    FileRenameInformation {
        replace_if_exists: replace,
        root_directory: 0,
        file_name: to.into(),
    }
    .to_bytes()
}

#[test]
fn rename_within_the_share() {
    let f = Fixture::new();
    std::fs::create_dir(f.root().join("dir")).unwrap();
    std::fs::write(f.root().join("taken"), b"other").unwrap();
    let cx = f.tree();
    let id = create(&cx, "old.txt", CREATE, 0, GENERIC_ALL)
        .unwrap()
        .file_id;
    write(&cx, id, 0, b"payload").unwrap();
    si(
        &cx,
        id,
        C::FileRenameInformation,
        rename_info("dir\\new.txt", false),
    )
    .unwrap();
    assert!(!f.root().join("old.txt").exists());
    assert_eq!(
        std::fs::read(f.root().join("dir/new.txt")).unwrap(),
        b"payload"
    );
    let n: FileNameInformation = file(&cx, id, C::FileNameInformation);
    assert_eq!(n.file_name, "\\dir\\new.txt", "the open follows the rename");
    // Leading backslash tolerated.
    si(
        &cx,
        id,
        C::FileRenameInformation,
        rename_info("\\moved.txt", false),
    )
    .unwrap();
    assert!(f.root().join("moved.txt").exists());
    // Collision without and with ReplaceIfExists.
    assert_eq!(
        si(
            &cx,
            id,
            C::FileRenameInformation,
            rename_info("taken", false)
        )
        .unwrap_err(),
        NtStatus::OBJECT_NAME_COLLISION
    );
    si(
        &cx,
        id,
        C::FileRenameInformation,
        rename_info("taken", true),
    )
    .unwrap();
    assert_eq!(std::fs::read(f.root().join("taken")).unwrap(), b"payload");
    // A directory is never replaced.
    assert_eq!(
        si(&cx, id, C::FileRenameInformation, rename_info("dir", true)).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    // Escapes are refused like CREATE names.
    for bad in ["..\\escaped", "dir\\..\\..\\x", "C:\\x", "a:stream", ""] {
        assert!(
            si(&cx, id, C::FileRenameInformation, rename_info(bad, true)).is_err(),
            "{bad:?}"
        );
    }
    assert!(!f.dir.path().join("escaped").exists());
    assert_eq!(
        si(
            &cx,
            id,
            C::FileRenameInformation,
            rename_info("nodir\\x", false)
        )
        .unwrap_err(),
        NtStatus::OBJECT_PATH_NOT_FOUND
    );
    // RootDirectory must be 0; DELETE access is needed.
    let with_root = FileRenameInformation {
        replace_if_exists: false,
        root_directory: 5,
        file_name: "y".into(),
    }
    .to_bytes();
    assert_eq!(
        si(&cx, id, C::FileRenameInformation, with_root).unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    let no_delete = create(&cx, "taken", OPEN, 0, GENERIC_READ | GENERIC_WRITE)
        .unwrap()
        .file_id;
    assert_eq!(
        si(
            &cx,
            no_delete,
            C::FileRenameInformation,
            rename_info("z", false)
        )
        .unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
}

#[test]
fn rename_a_directory_and_a_symlink_target_outside() {
    let f = Fixture::new();
    std::fs::create_dir(f.dir.path().join("outside")).unwrap();
    std::os::unix::fs::symlink("../outside", f.root().join("out")).unwrap();
    let cx = f.tree();
    let d = create(&cx, "d1", CREATE, DIRECTORY_FILE, GENERIC_ALL)
        .unwrap()
        .file_id;
    si(&cx, d, C::FileRenameInformation, rename_info("d2", false)).unwrap();
    assert!(f.root().join("d2").is_dir());
    assert_eq!(
        si(
            &cx,
            d,
            C::FileRenameInformation,
            rename_info("out\\d3", false)
        )
        .unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    assert!(!f.dir.path().join("outside/d3").exists());
}

#[test]
fn disposition_deletes_at_close() {
    let f = Fixture::new();
    std::fs::create_dir(f.root().join("full")).unwrap();
    std::fs::write(f.root().join("full/x"), b"").unwrap();
    let cx = f.tree();
    let id = create(&cx, "gone", CREATE, 0, GENERIC_ALL).unwrap().file_id;
    si(
        &cx,
        id,
        C::FileDispositionInformation,
        FileDispositionInformation {
            delete_pending: true,
        }
        .to_bytes(),
    )
    .unwrap();
    let s: FileStandardInformation = file(&cx, id, C::FileStandardInformation);
    assert!(s.delete_pending);
    assert!(f.root().join("gone").exists(), "deleted only at close");
    close(&cx, id).unwrap();
    assert!(!f.root().join("gone").exists());
    // Clearing the flag cancels it.
    let id = create(&cx, "stays", CREATE, 0, GENERIC_ALL)
        .unwrap()
        .file_id;
    si(&cx, id, C::FileDispositionInformation, vec![1]).unwrap();
    si(&cx, id, C::FileDispositionInformation, vec![0]).unwrap();
    close(&cx, id).unwrap();
    assert!(f.root().join("stays").exists());
    // A non-empty directory cannot be marked.
    let d = create(&cx, "full", OPEN, DIRECTORY_FILE, GENERIC_ALL)
        .unwrap()
        .file_id;
    assert_eq!(
        si(&cx, d, C::FileDispositionInformation, vec![1]).unwrap_err(),
        NtStatus::DIRECTORY_NOT_EMPTY
    );
    // An empty one can.
    let e = create(&cx, "empty", CREATE, DIRECTORY_FILE, GENERIC_ALL)
        .unwrap()
        .file_id;
    si(
        &cx,
        e,
        C::FileDispositionInformationEx,
        1u32.to_le_bytes().to_vec(),
    )
    .unwrap();
    close(&cx, e).unwrap();
    assert!(!f.root().join("empty").exists());
    // A read-only file: CANNOT_DELETE, unless IGNORE_READONLY_ATTRIBUTE.
    let ro = create(&cx, "ro", CREATE, 0, GENERIC_ALL).unwrap().file_id;
    si(
        &cx,
        ro,
        C::FileBasicInformation,
        FileBasicInformation {
            file_attributes: 1,
            ..Default::default()
        }
        .to_bytes(),
    )
    .unwrap();
    assert_eq!(
        si(&cx, ro, C::FileDispositionInformation, vec![1]).unwrap_err(),
        NtStatus::CANNOT_DELETE
    );
    si(
        &cx,
        ro,
        C::FileDispositionInformationEx,
        0x11u32.to_le_bytes().to_vec(),
    )
    .unwrap();
    close(&cx, ro).unwrap();
    assert!(!f.root().join("ro").exists());
    // The share root cannot be deleted.
    let root = create(&cx, "", OPEN, 0, GENERIC_ALL).unwrap().file_id;
    assert_eq!(
        si(&cx, root, C::FileDispositionInformation, vec![1]).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
}

#[test]
fn directory_with_open_files_below_cannot_be_renamed() {
    let f = Fixture::new();
    let cx = f.tree();
    let d = create(&cx, "d", CREATE, DIRECTORY_FILE, GENERIC_ALL)
        .unwrap()
        .file_id;
    let inner = create(&cx, "d\\f", CREATE, 0, GENERIC_ALL).unwrap().file_id;
    assert_eq!(
        si(&cx, d, C::FileRenameInformation, rename_info("e", false)).unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    close(&cx, inner).unwrap();
    si(&cx, d, C::FileRenameInformation, rename_info("e", false)).unwrap();
    assert!(f.root().join("e/f").exists());
}

#[test]
fn delete_pending_is_per_file_and_waits_for_the_last_open() {
    let f = Fixture::new();
    std::fs::write(f.root().join("shared"), b"x").unwrap();
    let cx = f.tree();
    let a = create(&cx, "shared", OPEN, 0, GENERIC_ALL).unwrap().file_id;
    let b = create(&cx, "shared", OPEN, 0, GENERIC_READ)
        .unwrap()
        .file_id;
    si(&cx, a, C::FileDispositionInformation, vec![1]).unwrap();
    // Every open sees the file's DeletePending; new opens are refused.
    let s: FileStandardInformation = file(&cx, b, C::FileStandardInformation);
    assert!(s.delete_pending);
    assert_eq!(
        create(&cx, "shared", OPEN, 0, FILE_READ_ATTRIBUTES).unwrap_err(),
        NtStatus::DELETE_PENDING
    );
    close(&cx, a).unwrap();
    assert!(f.root().join("shared").exists(), "another open remains");
    close(&cx, b).unwrap();
    assert!(
        !f.root().join("shared").exists(),
        "the last close deleted it"
    );

    // The same through a delete-on-close open that closes first.
    std::fs::write(f.root().join("doc"), b"x").unwrap();
    let keep = create(&cx, "doc", OPEN, 0, GENERIC_READ).unwrap().file_id;
    let doc = create(&cx, "doc", OPEN, DELETE_ON_CLOSE, GENERIC_ALL)
        .unwrap()
        .file_id;
    close(&cx, doc).unwrap();
    assert!(f.root().join("doc").exists());
    assert_eq!(
        create(&cx, "doc", OPEN, 0, GENERIC_READ).unwrap_err(),
        NtStatus::DELETE_PENDING
    );
    close(&cx, keep).unwrap();
    assert!(!f.root().join("doc").exists());
}

/// FILETIME of a Unix second (MS-DTYP 2.3.3), negative seconds included.
fn nt(secs: i64) -> u64 {
    ((secs + 11_644_473_600) * 10_000_000) as u64
}

#[test]
fn set_times_read_back_exactly_before_1970_and_after_2038() {
    // smbtorture smb2.timestamps.time_t_*: CreationTime, LastWriteTime and ChangeTime set by
    // FileBasicInformation come back exactly, through the handle, after reopening, and in a
    // directory listing's view (FileMeta::at).
    let f = Fixture::new();
    let cx = f.tree();
    for (i, secs) in [-63_158_400i64, -2, -1, 0, 1, 4_294_967_295, 10_000_000_000]
        .into_iter()
        .enumerate()
    {
        let name = format!("t{i}");
        let id = create(&cx, &name, CREATE, 0, GENERIC_ALL).unwrap().file_id;
        let t = nt(secs);
        let set = FileBasicInformation {
            creation_time: t,
            last_access_time: 0,
            last_write_time: t,
            change_time: t,
            file_attributes: 0,
        };
        si(&cx, id, C::FileBasicInformation, set.to_bytes()).unwrap();
        let got: FileBasicInformation = file(&cx, id, C::FileBasicInformation);
        assert_eq!(
            (got.creation_time, got.last_write_time, got.change_time),
            (t, t, t),
            "{secs}"
        );
        // -1 (freeze) and -2 (thaw) change nothing.
        let keep = FileBasicInformation {
            creation_time: u64::MAX,
            last_write_time: u64::MAX - 1,
            ..set
        };
        si(&cx, id, C::FileBasicInformation, keep.to_bytes()).unwrap();
        close(&cx, id).unwrap();
        let id = create(&cx, &name, OPEN, 0, GENERIC_READ).unwrap().file_id;
        let got: FileBasicInformation = file(&cx, id, C::FileBasicInformation);
        assert_eq!((got.creation_time, got.last_write_time), (t, t), "{secs}");
        let dir = std::fs::File::open(f.root()).unwrap();
        let listed = rsmbd_share::disk::meta::FileMeta::at(&dir, &name).unwrap();
        assert_eq!((listed.creation_time, listed.last_write_time), (t, t));
        close(&cx, id).unwrap();
    }
}

#[test]
fn write_time_is_delayed_and_flushed_like_windows() {
    let f = Fixture::new();
    let cx = f.tree();
    let id = create(&cx, "w", CREATE, 0, GENERIC_ALL).unwrap().file_id;
    let before: FileBasicInformation = file(&cx, id, C::FileBasicInformation);
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(&cx, id, 0, b"s").unwrap();
    let after: FileBasicInformation = file(&cx, id, C::FileBasicInformation);
    assert_eq!(
        after.last_write_time, before.last_write_time,
        "the first write's update is due 2 s later"
    );
    // Any FileBasicInformation (even all zero) applies the pending update now.
    si(
        &cx,
        id,
        C::FileBasicInformation,
        FileBasicInformation {
            creation_time: 0,
            last_access_time: 0,
            last_write_time: 0,
            change_time: 0,
            file_attributes: 0,
        }
        .to_bytes(),
    )
    .unwrap();
    let flushed: FileBasicInformation = file(&cx, id, C::FileBasicInformation);
    assert!(flushed.last_write_time > before.last_write_time);
    close(&cx, id).unwrap();
}
