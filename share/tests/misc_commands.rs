//! IOCTL, CHANGE_NOTIFY and OPLOCK_BREAK: what this server answers, and a DCE/RPC bind through
//! FSCTL_PIPE_TRANSCEIVE on IPC$.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::borrow::Cow;

use common::*;
use rsmbd_protocol::NtStatus;
use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::messages::change_notify::ChangeNotifyRequest;
use rsmbd_protocol::messages::ioctl::{FsctlCode, IoctlFlags, IoctlRequest};
use rsmbd_protocol::messages::oplock_break::OplockBreakAcknowledgment;
use rsmbd_share::handlers::{self, TreeCx};

fn ioctl(
    cx: &TreeCx,
    code: FsctlCode,
    file_id: FileId,
    input: Vec<u8>,
    fsctl: bool,
) -> Result<(NtStatus, Vec<u8>), NtStatus> {
    let req = IoctlRequest {
        ctl_code: code.0,
        file_id,
        input: Cow::Owned(input),
        max_input_response: 0,
        output: Cow::Borrowed(&[]),
        max_output_response: 65536,
        flags: if fsctl { IoctlFlags::IS_FSCTL } else { 0 },
    };
    handlers::ioctl::handle(cx, &req).map(|r| (r.status, r.body.output.into_owned()))
}

/// A DCE/RPC bind to srvsvc v3.0 with NDR 2.0 (C706 12.6.4.3), call id 1.
fn srvsvc_bind() -> Vec<u8> {
    let mut b = vec![5, 0, 11, 0x03, 0x10, 0, 0, 0];
    b.extend_from_slice(&72u16.to_le_bytes()); // frag_length
    b.extend_from_slice(&0u16.to_le_bytes()); // auth_length
    b.extend_from_slice(&1u32.to_le_bytes()); // call_id
    b.extend_from_slice(&4280u16.to_le_bytes());
    b.extend_from_slice(&4280u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // assoc_group_id
    b.extend_from_slice(&[1, 0, 0, 0]); // one context
    b.extend_from_slice(&[0, 0, 1, 0]); // context id 0, one transfer syntax
    b.extend_from_slice(&[
        0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1,
        0x88,
    ]);
    b.extend_from_slice(&[3, 0, 0, 0]);
    b.extend_from_slice(&[
        0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48,
        0x60,
    ]);
    b.extend_from_slice(&[2, 0, 0, 0]);
    assert_eq!(b.len(), 72);
    b
}

#[test]
fn pipe_transceive_carries_a_dcerpc_bind() {
    let f = Fixture::new();
    let cx = f.connect("IPC$").unwrap();
    let p = create(&cx, "srvsvc", OPEN, 0, GENERIC_READ | GENERIC_WRITE).unwrap();
    let (status, out) = ioctl(
        &cx,
        FsctlCode::PIPE_TRANSCEIVE,
        p.file_id,
        srvsvc_bind(),
        true,
    )
    .unwrap();
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(out[0], 5, "DCE/RPC version");
    assert_eq!(out[2], 12, "bind_ack");
    assert_eq!(
        u32::from_le_bytes(out[12..16].try_into().unwrap()),
        1,
        "call id echoed"
    );
    // The same through WRITE then READ.
    let p2 = create(&cx, "srvsvc", OPEN, 0, GENERIC_READ | GENERIC_WRITE).unwrap();
    assert_eq!(write(&cx, p2.file_id, 0, &srvsvc_bind()).unwrap(), 72);
    let out = read(&cx, p2.file_id, 0, 4096).unwrap();
    assert_eq!(out[2], 12);
    close(&cx, p.file_id).unwrap();
    close(&cx, p2.file_id).unwrap();
}

fn pipe_wait_input(name: &str) -> Vec<u8> {
    let n = rsmbd_protocol::codec::string_to_utf16le(name);
    let mut v = 0u64.to_le_bytes().to_vec();
    v.extend_from_slice(&(n.len() as u32).to_le_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&n);
    v
}

#[test]
fn pipe_wait_on_ipc() {
    let f = Fixture::new();
    let cx = f.connect("IPC$").unwrap();
    let any = FileId::new(u64::MAX, u64::MAX);
    let (status, _) = ioctl(
        &cx,
        FsctlCode::PIPE_WAIT,
        any,
        pipe_wait_input("srvsvc"),
        true,
    )
    .unwrap();
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(
        ioctl(
            &cx,
            FsctlCode::PIPE_WAIT,
            any,
            pipe_wait_input("nope"),
            true
        )
        .unwrap_err(),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    assert_eq!(
        ioctl(&cx, FsctlCode::PIPE_WAIT, any, vec![0; 5], true).unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    let mut lying = pipe_wait_input("srvsvc");
    lying[8] = 200; // NameLength past the buffer
    assert_eq!(
        ioctl(&cx, FsctlCode::PIPE_WAIT, any, lying, true).unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    let disk = f.tree();
    assert_eq!(
        ioctl(
            &disk,
            FsctlCode::PIPE_WAIT,
            any,
            pipe_wait_input("srvsvc"),
            true
        )
        .unwrap_err(),
        NtStatus::INVALID_DEVICE_REQUEST
    );
}

#[test]
fn ioctl_refusals() {
    let f = Fixture::new();
    let cx = f.tree();
    let file = create(&cx, "x", CREATE, 0, GENERIC_ALL).unwrap().file_id;
    let any = FileId::new(u64::MAX, u64::MAX);
    assert_eq!(
        ioctl(&cx, FsctlCode::DFS_GET_REFERRALS, any, vec![0; 8], true).unwrap_err(),
        NtStatus::FS_DRIVER_REQUIRED
    );
    assert_eq!(
        ioctl(&cx, FsctlCode::DFS_GET_REFERRALS_EX, any, vec![0; 8], true).unwrap_err(),
        NtStatus::FS_DRIVER_REQUIRED
    );
    assert_eq!(
        ioctl(
            &cx,
            FsctlCode::QUERY_NETWORK_INTERFACE_INFO,
            any,
            vec![],
            true
        )
        .unwrap_err(),
        NtStatus::NOT_SUPPORTED
    );
    assert_eq!(
        ioctl(&cx, FsctlCode::PIPE_TRANSCEIVE, file, vec![1], true).unwrap_err(),
        NtStatus::INVALID_DEVICE_REQUEST
    );
    assert_eq!(
        ioctl(&cx, FsctlCode::SRV_ENUMERATE_SNAPSHOTS, file, vec![], true).unwrap_err(),
        NtStatus::INVALID_DEVICE_REQUEST
    );
    assert_eq!(
        ioctl(&cx, FsctlCode::GET_REPARSE_POINT, file, vec![], true).unwrap_err(),
        NtStatus::NOT_A_REPARSE_POINT
    );
    assert_eq!(
        ioctl(&cx, FsctlCode::SRV_ENUMERATE_SNAPSHOTS, file, vec![], false).unwrap_err(),
        NtStatus::NOT_SUPPORTED
    );
    assert_eq!(
        ioctl(
            &cx,
            FsctlCode::SRV_ENUMERATE_SNAPSHOTS,
            FileId::new(9, 9),
            vec![],
            true
        )
        .unwrap_err(),
        NtStatus::FILE_CLOSED
    );
}

#[test]
fn change_notify_and_oplock_break() {
    let f = Fixture::new();
    let cx = f.tree();
    let dir = create(&cx, "", OPEN, 0, GENERIC_READ).unwrap().file_id;
    let file = create(&cx, "x", CREATE, 0, GENERIC_ALL).unwrap().file_id;
    let notify = |id| ChangeNotifyRequest {
        flags: 0,
        output_buffer_length: 4096,
        file_id: id,
        completion_filter: 0x17,
    };
    // Nothing changed yet: the request waits (the engine turns this into an async response).
    assert_eq!(
        handlers::change_notify::handle(&cx, &notify(dir)).unwrap_err(),
        NtStatus::PENDING
    );
    assert_eq!(
        handlers::change_notify::handle(&cx, &notify(file)).unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(
        handlers::change_notify::handle(&cx, &notify(FileId::new(5, 5))).unwrap_err(),
        NtStatus::FILE_CLOSED
    );
    let ack = |id| OplockBreakAcknowledgment {
        oplock_level: 0,
        file_id: id,
    };
    assert_eq!(
        handlers::oplock_break::handle(&cx, &ack(file)).unwrap_err(),
        NtStatus::INVALID_OPLOCK_PROTOCOL
    );
    assert_eq!(
        handlers::oplock_break::handle(&cx, &ack(FileId::new(5, 5))).unwrap_err(),
        NtStatus::FILE_CLOSED
    );
}
