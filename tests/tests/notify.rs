//! CHANGE_NOTIFY ([MS-SMB2 3.3.5.19]) through the engine: two connections on one server, one
//! watching a directory and the other changing it; the request goes async and completes with
//! FILE_NOTIFY_INFORMATION entries ([MS-FSCC 2.7.1]); changes between requests are buffered;
//! too small a buffer is STATUS_NOTIFY_ENUM_DIR; CLOSE completes a waiting request with
//! STATUS_NOTIFY_CLEANUP and CANCEL with STATUS_CANCELLED.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rsmbd_protocol::fscc::{
    FileBasicInformation, FileNotifyInformation, FileRenameInformation, NotifyAction,
    decode_notify_entries,
};
use rsmbd_protocol::messages::change_notify::{
    ChangeNotifyFlags, ChangeNotifyRequest, CompletionFilter,
};
use rsmbd_protocol::messages::create::CreateRequest;
use rsmbd_protocol::messages::logoff::LogoffRequest;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::messages::set_info::SetInfoRequest;
use rsmbd_protocol::{Command, Encode, FileId, NtStatus, Response};
use rsmbd_tests::client::{CREATE, Client, DIRECTORY, OPEN};
use rsmbd_tests::kdc::TestKdc;
use rsmbd_tests::{Answer, context};

const NAMES: u32 = CompletionFilter::FILE_NAME | CompletionFilter::DIR_NAME;

fn notify(c: &mut Client, dir: FileId, flags: u16, filter: u32, len: u32) -> Vec<Answer> {
    let req = ChangeNotifyRequest {
        flags,
        output_buffer_length: len,
        file_id: dir,
        completion_filter: filter,
    };
    c.send(Command::CHANGE_NOTIFY, &req)
}

fn entries(a: &Answer) -> Vec<(u32, String)> {
    assert_eq!(a.header.command, Command::CHANGE_NOTIFY);
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    match a.body() {
        Response::ChangeNotify(r) => decode_notify_entries(&r.buffer)
            .unwrap()
            .into_iter()
            .map(|FileNotifyInformation { action, file_name }| (action, file_name))
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// Two clients on one server; "w" exists.
fn setup() -> (tempfile::TempDir, Client, Client) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("w")).unwrap();
    let kdc = TestKdc::new();
    let ctx = context(dir.path(), &kdc.keytab_bytes());
    let a = Client::logon(&ctx, &kdc, "data");
    let b = Client::logon(&ctx, &kdc, "data");
    (dir, a, b)
}

/// Polls `c` until its waiting request completes.
fn pending_id(answers: &[Answer]) -> u64 {
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].header.status, NtStatus::PENDING, "goes async");
    answers[0]
        .header
        .async_id()
        .expect("async interim response")
}

#[test]
fn a_change_by_another_connection_completes_a_waiting_notify_and_later_ones_are_buffered() {
    let (_d, mut a, mut b) = setup();
    let dir = a.create("w", OPEN, DIRECTORY);
    let async_id = pending_id(&notify(&mut a, dir, 0, NAMES, 4096));

    let f = b.create("w\\new.txt", CREATE, 0);
    let fin = a.wait();
    assert_eq!(fin.header.async_id(), Some(async_id));
    assert_eq!(entries(&fin), vec![(NotifyAction::ADDED, "new.txt".into())]);

    // No request waits now: the change is kept and the next request returns it at once.
    b.close(f);
    b.create("w\\sub", CREATE, DIRECTORY);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let got = notify(&mut a, dir, 0, NAMES, 4096);
    assert_eq!(got.len(), 1, "answered at once, no interim");
    assert_eq!(entries(&got[0]), vec![(NotifyAction::ADDED, "sub".into())]);
}

#[test]
fn watch_tree_reports_changes_below_and_the_filter_holds() {
    let (d, mut a, mut b) = setup();
    std::fs::create_dir(d.path().join("w").join("deep")).unwrap();
    let dir = a.create("w", OPEN, DIRECTORY);
    pending_id(&notify(
        &mut a,
        dir,
        ChangeNotifyFlags::WATCH_TREE,
        CompletionFilter::FILE_NAME,
        4096,
    ));
    // A directory is not a FILE_NAME change; the file below is.
    b.create("w\\deep\\sub", CREATE, DIRECTORY);
    b.create("w\\deep\\f", CREATE, 0);
    assert_eq!(
        entries(&a.wait()),
        vec![(NotifyAction::ADDED, "deep\\f".into())]
    );
    // Not a directory: 3.3.5.19 says INVALID_PARAMETER.
    let file = b.create("w\\plain", CREATE, 0);
    let got = notify(&mut b, file, 0, NAMES, 4096);
    assert_eq!(got[0].header.status, NtStatus::INVALID_PARAMETER);
}

#[test]
fn rename_and_delete_by_the_host_are_reported_too() {
    let (d, mut a, _b) = setup();
    std::fs::write(d.path().join("w").join("x"), b"1").unwrap();
    let dir = a.create("w", OPEN, DIRECTORY);
    pending_id(&notify(&mut a, dir, 0, NAMES, 4096));
    std::fs::rename(d.path().join("w").join("x"), d.path().join("w").join("y")).unwrap();
    std::fs::remove_file(d.path().join("w").join("y")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let got = entries(&a.wait());
    assert_eq!(
        got,
        vec![
            (NotifyAction::RENAMED_OLD_NAME, "x".into()),
            (NotifyAction::RENAMED_NEW_NAME, "y".into()),
            (NotifyAction::REMOVED, "y".into()),
        ]
    );
}

#[test]
fn too_small_a_buffer_is_notify_enum_dir() {
    let (_d, mut a, mut b) = setup();
    let dir = a.create("w", OPEN, DIRECTORY);
    pending_id(&notify(&mut a, dir, 0, NAMES, 8));
    b.create("w\\a-rather-long-name.txt", CREATE, 0);
    let fin = a.wait();
    assert_eq!(fin.header.status, NtStatus::NOTIFY_ENUM_DIR);
}

#[test]
fn close_completes_a_waiting_notify_with_cleanup_and_cancel_with_cancelled() {
    let (_d, mut a, _b) = setup();
    let dir = a.create("w", OPEN, DIRECTORY);
    let async_id = pending_id(&notify(&mut a, dir, 0, NAMES, 4096));
    let got = a.cancel(async_id);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header.status, NtStatus::CANCELLED);
    assert_eq!(got[0].header.async_id(), Some(async_id));

    let async_id = pending_id(&notify(&mut a, dir, 0, NAMES, 4096));
    let got = a.close(dir);
    assert_eq!(got.len(), 2, "the CLOSE response, then the notify's");
    assert_eq!(got[0].header.command, Command::CLOSE);
    assert_eq!(got[0].header.status, NtStatus::SUCCESS);
    assert_eq!(got[1].header.status, NtStatus::NOTIFY_CLEANUP);
    assert_eq!(got[1].header.async_id(), Some(async_id));
    assert!(!a.conn.has_pending());
}

#[test]
fn setting_dos_attributes_and_renaming_a_file_are_attribute_changes() {
    // smb2.notify.mask ("set path attribute") and mask-change: HIDDEN has no Linux
    // counterpart, yet watchers of FILE_NOTIFY_CHANGE_ATTRIBUTES see the file MODIFIED
    // (MS-FSA 2.1.5.15.1); a renamed file is MODIFIED under its new name, as on Windows.
    let (_d, mut a, mut b) = setup();
    // Without DELETE access: a parent open for DELETE would make the rename below a sharing
    // violation.
    let list_only = CreateRequest {
        impersonation_level: 2,
        desired_access: 0x0010_0081, // FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE
        share_access: 7,
        create_disposition: OPEN,
        create_options: DIRECTORY,
        name: rsmbd_protocol::codec::string_to_utf16le("w").into(),
        ..Default::default()
    };
    let dir = match a.call(Command::CREATE, &list_only).body() {
        Response::Create(r) => r.file_id,
        other => panic!("{other:?}"),
    };
    let f = b.create("w\\t", CREATE, 0);
    pending_id(&notify(&mut a, dir, 0, CompletionFilter::ATTRIBUTES, 4096));
    let basic = FileBasicInformation {
        file_attributes: 0x2, // HIDDEN
        ..Default::default()
    };
    let mut buf = rsmbd_protocol::Writer::new();
    basic.encode(&mut buf);
    let set = SetInfoRequest {
        info_type: 1,
        file_info_class: 4,
        buffer: buf.as_slice().to_vec().into(),
        additional_information: 0,
        file_id: f,
    };
    assert_eq!(
        b.call(Command::SET_INFO, &set).header.status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        entries(&a.wait()),
        vec![(NotifyAction::MODIFIED, "t".into())]
    );

    pending_id(&notify(&mut a, dir, 0, CompletionFilter::ATTRIBUTES, 4096));
    let mut buf = rsmbd_protocol::Writer::new();
    FileRenameInformation {
        replace_if_exists: true,
        root_directory: 0,
        file_name: "w\\t2".into(),
    }
    .encode(&mut buf);
    let rename = SetInfoRequest {
        file_info_class: 10,
        buffer: buf.as_slice().to_vec().into(),
        ..set
    };
    assert_eq!(
        b.call(Command::SET_INFO, &rename).header.status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        entries(&a.wait()),
        vec![(NotifyAction::MODIFIED, "t2".into())]
    );
}

#[test]
fn logoff_completes_a_waiting_notify_with_cleanup() {
    // smb2.notify.logoff: the answer follows the LOGOFF response instead of never coming.
    let (_d, mut a, _b) = setup();
    let dir = a.create("w", OPEN, DIRECTORY);
    let async_id = pending_id(&notify(&mut a, dir, 0, NAMES, 4096));
    let got = a.send(Command::LOGOFF, &LogoffRequest);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].header.command, Command::LOGOFF);
    assert_eq!(got[1].header.status, NtStatus::NOTIFY_CLEANUP);
    assert_eq!(got[1].header.async_id(), Some(async_id));
    assert!(!a.conn.has_pending());
}

#[test]
fn a_new_session_naming_the_old_one_ends_it_and_its_waiting_notify() {
    // smb2.notify.session-reconnect (MS-SMB2 3.3.5.5.3, PreviousSessionId).
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("w")).unwrap();
    let kdc = TestKdc::new();
    let ctx = context(dir.path(), &kdc.keytab_bytes());
    let mut a = Client::logon(&ctx, &kdc, "data");
    let h = a.create("w", OPEN, DIRECTORY);
    let async_id = pending_id(&notify(&mut a, h, 0, NAMES, 4096));
    let (token, _) = kdc.spnego_ap_req("alice");
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: token.into(),
        previous_session_id: a.session_id,
        ..Default::default()
    };
    let msg = rsmbd_tests::request(Command::SESSION_SETUP, a.next_id, 0, &setup);
    a.next_id += 1;
    let got: Vec<Answer> = rsmbd_tests::exchange_messages(&mut a.conn, &msg)
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].header.command, Command::SESSION_SETUP);
    assert_eq!(got[0].header.status, NtStatus::SUCCESS);
    assert_ne!(got[0].header.session_id, a.session_id);
    assert_eq!(got[1].header.status, NtStatus::NOTIFY_CLEANUP);
    assert_eq!(got[1].header.async_id(), Some(async_id));
    // The old session is gone.
    let got = a.send(Command::LOGOFF, &LogoffRequest);
    assert_eq!(got[0].header.status, NtStatus::USER_SESSION_DELETED);
}

#[test]
fn buffer_sizes_as_windows_bounds_them() {
    // smb2.notify.valid-req: 512 KiB with CreditCharge 1 is accepted (the charge of a
    // CHANGE_NOTIFY is not sized by its buffer), one byte more is INVALID_PARAMETER; the
    // first request's buffer bounds the later ones.
    let (_d, mut a, mut b) = setup();
    let dir = a.create("w", OPEN, DIRECTORY);
    let got = notify(&mut a, dir, 0, NAMES, 0x0008_0001);
    assert_eq!(got[0].header.status, NtStatus::INVALID_PARAMETER);
    let other = a.create("w", OPEN, DIRECTORY);
    let id = pending_id(&notify(&mut a, other, 0, NAMES, 0x0008_0000));
    assert_eq!(a.cancel(id)[0].header.status, NtStatus::CANCELLED);

    pending_id(&notify(&mut a, dir, 0, NAMES, 1));
    b.create("w\\x", CREATE, 0);
    assert_eq!(a.wait().header.status, NtStatus::NOTIFY_ENUM_DIR);
    pending_id(&notify(&mut a, dir, 0, NAMES, 4096));
    b.create("w\\y", CREATE, 0);
    assert_eq!(a.wait().header.status, NtStatus::NOTIFY_ENUM_DIR);
}

#[test]
fn a_watched_directory_deleted_by_another_client_ends_the_notify_with_delete_pending() {
    // smb2.notify.rmdir1..4: the watcher's handle keeps the directory; the delete is pending.
    let (d, mut a, mut b) = setup();
    let dir = a.create("w", OPEN, DIRECTORY);
    pending_id(&notify(&mut a, dir, 0, NAMES, 4096));
    let h = b.create("w", OPEN, DIRECTORY | 0x1000); // FILE_DELETE_ON_CLOSE
    b.close(h);
    assert_eq!(a.wait().header.status, NtStatus::DELETE_PENDING);
    assert!(d.path().join("w").exists(), "still open on a");
    a.close(dir);
    assert!(!d.path().join("w").exists(), "gone with the last handle");
}

#[test]
fn the_share_root_can_be_watched() {
    // smb2.notify.valid-req watches the root handle (an empty name).
    let (_d, mut a, mut b) = setup();
    let root = a.create("", OPEN, DIRECTORY);
    let id = pending_id(&notify(&mut a, root, 0, NAMES, 0x0008_0000));
    b.create("top.txt", CREATE, 0);
    let fin = a.wait();
    assert_eq!(fin.header.async_id(), Some(id));
    assert_eq!(entries(&fin), vec![(NotifyAction::ADDED, "top.txt".into())]);
}
