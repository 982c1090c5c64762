//! TREE_CONNECT / TREE_DISCONNECT against the registry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use rsmbd_protocol::NtStatus;
use rsmbd_protocol::messages::tree_connect::{ShareFlags, ShareType, TreeConnectRequest};
use rsmbd_share::handlers;

fn connect(
    f: &Fixture,
    path: &str,
) -> Result<
    (
        u32,
        rsmbd_protocol::messages::tree_connect::TreeConnectResponse,
    ),
    NtStatus,
> {
    let req = TreeConnectRequest {
        path: path.into(),
        ..Default::default()
    };
    handlers::tree_connect::handle(&f.session, &f.registry, &req).map(|r| r.body)
}

#[test]
fn disk_and_ipc_shares_case_insensitive() {
    let f = Fixture::new();
    let (id1, disk) = connect(&f, "\\\\srv\\DATA").unwrap();
    assert_eq!(disk.share_type, ShareType::DISK);
    assert_eq!(disk.maximal_access, 0x001F_01FF);
    assert_eq!(disk.share_flags & ShareFlags::ENCRYPT_DATA, 0);
    let (id2, ipc) = connect(&f, "\\\\SRV.example.com\\ipc$").unwrap();
    assert_eq!(ipc.share_type, ShareType::PIPE);
    assert_ne!(id1, id2);
    assert_eq!(id1, 1, "tree ids start at 1");
    assert!(f.session.tree(id1).is_some());
}

#[test]
fn unknown_or_malformed_share_is_bad_network_name() {
    let f = Fixture::new();
    assert_eq!(
        connect(&f, "\\\\srv\\nope").unwrap_err(),
        NtStatus::BAD_NETWORK_NAME
    );
    assert_eq!(connect(&f, "data").unwrap_err(), NtStatus::BAD_NETWORK_NAME);
    assert_eq!(
        connect(&f, "\\\\srv\\data\\sub").unwrap_err(),
        NtStatus::BAD_NETWORK_NAME
    );
    assert_eq!(
        connect(&f, "\\\\srv\\").unwrap_err(),
        NtStatus::BAD_NETWORK_NAME
    );
}

#[test]
fn valid_users_admits_only_listed_principals() {
    let f = Fixture::with(|c| c.valid_users = Some(vec!["bob@EXAMPLE.COM".into()]));
    assert_eq!(
        connect(&f, "\\\\srv\\data").unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    // Kerberos principals are case-sensitive: another spelling is another principal.
    let f = Fixture::with(|c| c.valid_users = Some(vec!["ALICE@example.com".into()]));
    assert_eq!(
        connect(&f, "\\\\srv\\data").unwrap_err(),
        NtStatus::ACCESS_DENIED
    );
    let f = Fixture::with(|c| c.valid_users = Some(vec!["alice@EXAMPLE.COM".into()]));
    assert!(connect(&f, "\\\\srv\\data").is_ok());
}

#[test]
fn read_only_and_encrypted_share_flags() {
    let f = Fixture::with(|c| {
        c.read_only = true;
        c.encrypt_data = true;
    });
    let (_, r) = connect(&f, "\\\\srv\\data").unwrap();
    assert_eq!(r.maximal_access, 0x0012_00A9, "read + execute only");
    assert_ne!(r.share_flags & ShareFlags::ENCRYPT_DATA, 0);
}

#[test]
fn disconnect_closes_the_trees_opens() {
    let f = Fixture::new();
    let cx = f.tree();
    let other = f.tree();
    let a = create(&cx, "a.txt", CREATE, DELETE_ON_CLOSE, GENERIC_ALL).unwrap();
    let b = create(&other, "b.txt", CREATE, 0, GENERIC_ALL).unwrap();
    assert!(f.root().join("a.txt").exists());
    handlers::tree_disconnect::handle(&f.session, cx.tree.id).unwrap();
    assert!(
        !f.root().join("a.txt").exists(),
        "delete-on-close ran at tree disconnect"
    );
    assert!(f.session.open(a.file_id).is_none());
    assert!(
        f.session.open(b.file_id).is_some(),
        "the other tree's open stays"
    );
    assert_eq!(
        handlers::tree_disconnect::handle(&f.session, cx.tree.id).unwrap_err(),
        NtStatus::NETWORK_NAME_DELETED
    );
    // The open of the other tree is not reachable through a different tree.
    let third = f.tree();
    assert_eq!(close(&third, b.file_id).unwrap_err(), NtStatus::FILE_CLOSED);
    close(&other, b.file_id).unwrap();
}

#[test]
fn logoff_closes_everything() {
    let f = Fixture::new();
    let cx = f.tree();
    create(&cx, "x", CREATE, DELETE_ON_CLOSE, GENERIC_ALL).unwrap();
    create(&cx, "y", CREATE, 0, GENERIC_ALL).unwrap();
    assert_eq!(f.session.open_count(), 2);
    f.session.close_all();
    assert_eq!(f.session.open_count(), 0);
    assert!(!f.root().join("x").exists());
    assert!(f.root().join("y").exists());
    assert!(f.session.tree(cx.tree.id).is_none());
}
