//! Names compare case-insensitively (as on Windows) while their case is preserved on disk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::borrow::Cow;

use common::*;
use rsmbd_protocol::NtStatus;
use rsmbd_protocol::fscc::{
    FileInformationClass as C, FileNameInformation, FileRenameInformation, FsccStruct,
};
use rsmbd_protocol::messages::query_info::{InfoType, QueryInfoRequest};
use rsmbd_protocol::messages::set_info::SetInfoRequest;
use rsmbd_share::handlers;

#[test]
fn open_create_and_delete_ignore_case() {
    let f = Fixture::new();
    std::fs::create_dir(f.root().join("Docs")).unwrap();
    std::fs::write(f.root().join("Docs/Report.docx"), b"content").unwrap();
    let cx = f.tree();
    let r = create(&cx, "DOCS\\report.DOCX", OPEN, 0, GENERIC_READ).unwrap();
    assert_eq!(read(&cx, r.file_id, 0, 100).unwrap(), b"content");
    // The open knows the name as it is on disk.
    let req = QueryInfoRequest {
        info_type: InfoType::FILE,
        file_info_class: C::FileNameInformation.0,
        output_buffer_length: 1024,
        file_id: r.file_id,
        ..Default::default()
    };
    let name =
        FileNameInformation::decode(&handlers::query_info::handle(&cx, &req).unwrap().body.buffer)
            .unwrap();
    assert_eq!(name.file_name, "\\Docs\\Report.docx");
    close(&cx, r.file_id).unwrap();
    // CREATE of another spelling collides; a new file in a respelled directory lands in it.
    assert_eq!(
        create(&cx, "docs\\REPORT.docx", CREATE, 0, GENERIC_ALL).unwrap_err(),
        NtStatus::OBJECT_NAME_COLLISION
    );
    let n = create(&cx, "docs\\New.txt", CREATE, 0, GENERIC_ALL).unwrap();
    close(&cx, n.file_id).unwrap();
    assert!(f.root().join("Docs/New.txt").exists());
    assert!(!f.root().join("docs").exists());
    // Delete-on-close through another spelling removes the real file.
    let d = create(&cx, "docs\\report.docx", OPEN, DELETE_ON_CLOSE, GENERIC_ALL).unwrap();
    close(&cx, d.file_id).unwrap();
    assert!(!f.root().join("Docs/Report.docx").exists());
}

#[test]
fn rename_that_only_changes_case() {
    let f = Fixture::new();
    std::fs::create_dir(f.root().join("Dir")).unwrap();
    let cx = f.tree();
    let r = create(&cx, "dir\\lower.txt", CREATE, 0, GENERIC_ALL).unwrap();
    let info = FileRenameInformation {
        replace_if_exists: false,
        root_directory: 0,
        file_name: "DIR\\Lower.TXT".into(),
    };
    let req = SetInfoRequest {
        info_type: InfoType::FILE,
        file_info_class: C::FileRenameInformation.0,
        buffer: Cow::Owned(info.to_bytes()),
        additional_information: 0,
        file_id: r.file_id,
    };
    handlers::set_info::handle(&cx, &req).unwrap();
    let names: Vec<String> = std::fs::read_dir(f.root().join("Dir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["Lower.TXT"]);
}
