//! Keytab reload (issue 4 "Keys"): a new keytab is swapped in without touching established
//! sessions, new logons use the new keys, and a keytab that cannot be parsed keeps the old one.
//! The status board lists the session before and after the swap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use rsmbd::engine::Connection;
use rsmbd::engine::context::ServerContext;
use rsmbd::keytab_reload::reload;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::{Command, NtStatus};
use rsmbd_tests::kdc::TestKdc;
use rsmbd_tests::{context, negotiate_request, one, peer, request};

/// NEGOTIATE and one SESSION_SETUP with `kdc`'s AP-REQ; returns the connection and the status.
fn logon(ctx: &Arc<ServerContext>, kdc: &TestKdc) -> (Connection, NtStatus, u64) {
    let mut conn = Connection::new(ctx.clone(), peer());
    one(
        &mut conn,
        &request(Command::NEGOTIATE, 0, 0, &negotiate_request()),
    )
    .unwrap();
    let (token, _) = kdc.spnego_ap_req("alice");
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: token.into(),
        ..Default::default()
    };
    let a = one(&mut conn, &request(Command::SESSION_SETUP, 1, 0, &setup)).unwrap();
    (conn, a.header.status, a.header.session_id)
}

#[test]
fn reload_swaps_keys_keeps_sessions_and_refuses_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let old = TestKdc::new();
    let ctx = context(dir.path(), &old.keytab_bytes());
    let (mut first, status, id) = logon(&ctx, &old);
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(ctx.status.snapshot().sessions.len(), 1);

    // The key is rotated: the new keytab holds only the new key.
    let new = TestKdc::new();
    let path = dir.path().join("rsmbd.keytab");
    std::fs::write(&path, new.keytab_bytes()).unwrap();
    let summary = reload(&ctx, &path, "test").unwrap();
    assert!(
        summary.contains("cifs/smb1.example.test@EXAMPLE.TEST kvno 2"),
        "{summary}"
    );
    assert_eq!(logon(&ctx, &new).1, NtStatus::SUCCESS, "new tickets work");
    assert_ne!(
        logon(&ctx, &old).1,
        NtStatus::SUCCESS,
        "a ticket for the removed key is refused"
    );
    // The session established before the swap is still there.
    let snap = ctx.status.snapshot();
    assert!(
        snap.sessions
            .iter()
            .any(|s| s.session_id == format!("{id:#x}")),
        "{snap:?}"
    );

    // A torn or empty file keeps the current keys.
    let good = new.keytab_bytes();
    std::fs::write(&path, &good[..good.len() - 5]).unwrap();
    let err = reload(&ctx, &path, "test").unwrap_err();
    assert!(err.contains("truncated"), "{err}");
    std::fs::write(&path, [0x05, 0x02]).unwrap();
    assert!(reload(&ctx, &path, "test").unwrap_err().contains("empty"));
    std::fs::remove_file(&path).unwrap();
    assert!(reload(&ctx, &path, "test").is_err());
    assert_eq!(logon(&ctx, &new).1, NtStatus::SUCCESS, "still the new keys");

    // Connection lost: its session leaves the status board.
    first.close();
    assert!(
        !ctx.status
            .snapshot()
            .sessions
            .iter()
            .any(|s| s.session_id == format!("{id:#x}"))
    );
}
