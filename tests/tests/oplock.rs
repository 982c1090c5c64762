//! Oplocks and leases across two connections of one server ([MS-SMB2 3.3.5.9], 3.3.4.6,
//! 3.3.4.7, 3.3.5.22): connection A holds a batch oplock or an RWH lease, connection B opens the
//! same file, B's CREATE goes async (STATUS_PENDING), A receives the unsolicited break
//! notification (MessageId 0xFFFFFFFFFFFFFFFF, SessionId 0), acknowledges it, and B's CREATE
//! completes. Both clients log on with real Kerberos tickets minted by the test KDC.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rsmbd::engine::Connection;
use rsmbd::engine::context::ServerContext;
use rsmbd_protocol::create_context::{CreateContext, LeaseContext, LeaseV2};
use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::fscc::{FileInformationClass, FileRenameInformation, FsccStruct};
use rsmbd_protocol::messages::close::CloseRequest;
use rsmbd_protocol::messages::create::{CreateRequest, CreateResponse, OplockLevel};
use rsmbd_protocol::messages::negotiate::Capabilities;
use rsmbd_protocol::messages::oplock_break::{
    LeaseBreakAcknowledgment, LeaseBreakFlags, OplockBreakAcknowledgment, OplockBreakRequest,
    OplockBreakResponse,
};
use rsmbd_protocol::messages::query_info::InfoType;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::messages::set_info::SetInfoRequest;
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::{Command, Encode, HeaderFlags, NtStatus, Response};
use rsmbd_share::crypto::keys::KeyDialect;
use rsmbd_share::crypto::{PreauthHash, SessionKeys, SigningAlgorithm, signing};
use rsmbd_tests::kdc::{HOST, TestKdc};
use rsmbd_tests::*;

const RWH: u32 = 7;
const RH: u32 = 3;

/// A logged-on client with one tree connect to `data`.
struct Client {
    conn: Connection,
    session_id: u64,
    keys: SessionKeys,
    next_id: u64,
    tree: u32,
}

impl Client {
    fn connect(ctx: &Arc<ServerContext>, kdc: &TestKdc, guid: u8) -> Self {
        let mut conn = Connection::new(ctx.clone(), peer());
        let mut preauth = PreauthHash::default();
        let mut neg = negotiate_request();
        neg.client_guid = [guid; 16];
        let negotiate = request(Command::NEGOTIATE, 0, 0, &neg);
        let a = one(&mut conn, &negotiate).unwrap();
        match a.body() {
            Response::Negotiate(n) => assert_ne!(
                n.capabilities & Capabilities::LEASING,
                0,
                "SMB2_GLOBAL_CAP_LEASING is advertised"
            ),
            other => panic!("{other:?}"),
        }
        preauth.update(&negotiate);
        preauth.update(&a.raw);
        let (token, session_key) = kdc.spnego_ap_req("alice");
        let setup = SessionSetupRequest {
            security_mode: 1,
            security_buffer: token.into(),
            ..Default::default()
        };
        let setup = request(Command::SESSION_SETUP, 1, 0, &setup);
        preauth.update(&setup);
        let a = one(&mut conn, &setup).unwrap();
        assert_eq!(a.header.status, NtStatus::SUCCESS);
        let keys = SessionKeys::derive(
            KeyDialect::Smb311,
            session_key.as_bytes(),
            Some(&preauth),
            SigningAlgorithm::AesCmac,
            16,
        );
        let mut c = Self {
            conn,
            session_id: a.header.session_id,
            keys,
            next_id: 2,
            tree: 0,
        };
        let tc = TreeConnectRequest {
            path: format!("\\\\{HOST}\\data"),
            ..Default::default()
        };
        let a = c.call(Command::TREE_CONNECT, &tc);
        assert_eq!(a.header.status, NtStatus::SUCCESS);
        c.tree = a.header.tree_id();
        c
    }

    fn signed(&mut self, command: Command, body: &impl Encode) -> Vec<u8> {
        let header = request_header(command, self.next_id, self.session_id, self.tree, 0);
        self.next_id += 1;
        let mut msg = message(&header, body);
        msg[16] |= HeaderFlags::SIGNED as u8;
        signing::sign(
            self.keys.signing_algorithm,
            &self.keys.signing_key,
            &mut msg,
        );
        msg
    }

    fn call(&mut self, command: Command, body: &impl Encode) -> Answer {
        let msg = self.signed(command, body);
        one(&mut self.conn, &msg).unwrap()
    }

    /// Every message the connection sends without being asked (break notifications, final
    /// async responses), one answer each.
    fn unsolicited(&mut self) -> Vec<Answer> {
        self.conn
            .poll_pending()
            .iter()
            .flat_map(|m| answers(m))
            .collect()
    }
}

fn open_req(
    name: &str,
    oplock: u8,
    contexts: Vec<CreateContext<'static>>,
) -> CreateRequest<'static> {
    CreateRequest {
        requested_oplock_level: oplock,
        impersonation_level: 2,
        desired_access: 0x0012_019F, // read, write, attributes
        share_access: 7,
        create_disposition: 3, // OPEN_IF
        name: rsmbd_protocol::codec::string_to_utf16le(name).into(),
        create_contexts: contexts,
        ..Default::default()
    }
}

fn created(a: &Answer) -> CreateResponse {
    assert_eq!(a.header.command, Command::CREATE);
    match a.body() {
        Response::Create(r) => r,
        other => panic!("{other:?}"),
    }
}

fn lease(key: u8, state: u32) -> CreateContext<'static> {
    LeaseContext {
        lease_key: [key; 16],
        lease_state: state,
        flags: 0,
        lease_duration: 0,
        v2: Some(LeaseV2 {
            parent_lease_key: [0; 16],
            epoch: 0,
        }),
    }
    .to_context()
}

fn lease_of(r: &CreateResponse) -> LeaseContext {
    let c = CreateContext::find(&r.create_contexts, b"RqLs").expect("a lease context");
    LeaseContext::from_data(&c.data).unwrap()
}

/// Checks the header of an unsolicited break (MS-SMB2 3.3.4.6/3.3.4.7) and returns its body.
fn break_body(a: &Answer) -> OplockBreakResponse {
    assert_eq!(a.header.command, Command::OPLOCK_BREAK);
    assert_eq!(a.header.message_id, u64::MAX);
    assert_eq!(a.header.session_id, 0);
    assert!(a.header.flags.has(HeaderFlags::SERVER_TO_REDIR));
    assert!(!a.header.flags.has(HeaderFlags::SIGNED));
    match a.body() {
        Response::OplockBreak(b) => b,
        other => panic!("{other:?}"),
    }
}

fn setup(timeout_ms: u64) -> (tempfile::TempDir, Arc<ServerContext>, TestKdc) {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = context_with(dir.path(), &kdc.keytab_bytes(), |c| {
        c.oplock_break_timeout_ms = timeout_ms;
    });
    (dir, ctx, kdc)
}

#[test]
fn batch_oplock_breaks_to_level_ii_and_the_ack_completes_the_other_create() {
    let (_dir, ctx, kdc) = setup(35_000);
    let mut a = Client::connect(&ctx, &kdc, 0xA1);
    let mut b = Client::connect(&ctx, &kdc, 0xB2);
    let ra = created(&a.call(
        Command::CREATE,
        &open_req("f.txt", OplockLevel::BATCH, vec![]),
    ));
    assert_eq!(
        ra.oplock_level,
        OplockLevel::BATCH,
        "the only open gets batch"
    );

    // B's open must wait for A's break (MS-SMB2 3.3.4.2 interim response).
    let interim = b.call(Command::CREATE, &open_req("f.txt", OplockLevel::II, vec![]));
    assert_eq!(interim.header.status, NtStatus::PENDING);
    let async_id = interim.header.async_id().expect("async");
    assert!(b.unsolicited().is_empty(), "B still waits");

    let notes = a.unsolicited();
    assert_eq!(notes.len(), 1, "one break notification for A");
    match break_body(&notes[0]) {
        OplockBreakResponse::Oplock(n) => {
            assert_eq!(n.oplock_level, OplockLevel::II);
            assert_eq!(n.file_id, ra.file_id);
        }
        other => panic!("{other:?}"),
    }
    // 3.3.5.22.1: A accepts the level offered.
    let ack = OplockBreakRequest::Oplock(OplockBreakAcknowledgment {
        oplock_level: OplockLevel::II,
        file_id: ra.file_id,
    });
    let r = a.call(Command::OPLOCK_BREAK, &ack);
    assert_eq!(r.header.status, NtStatus::SUCCESS);
    match r.body() {
        Response::OplockBreak(OplockBreakResponse::Oplock(b)) => {
            assert_eq!(b.oplock_level, OplockLevel::II)
        }
        other => panic!("{other:?}"),
    }
    let fin = b.unsolicited();
    assert_eq!(fin.len(), 1, "B's CREATE completes after the ack");
    assert_eq!(fin[0].header.status, NtStatus::SUCCESS);
    assert_eq!(fin[0].header.async_id(), Some(async_id));
    let rb = created(&fin[0]);
    assert_eq!(
        rb.oplock_level,
        OplockLevel::II,
        "level II next to level II"
    );

    // A second ack has nothing to acknowledge (Windows: INVALID_OPLOCK_PROTOCOL).
    assert_eq!(
        a.call(Command::OPLOCK_BREAK, &ack).header.status,
        NtStatus::INVALID_OPLOCK_PROTOCOL
    );

    // B writes: every level II breaks to none with no ack, B's own included (self break).
    let w = WriteRequest {
        file_id: rb.file_id,
        data: b"x".to_vec().into(),
        ..Default::default()
    };
    let msg = b.signed(Command::WRITE, &w);
    let replies = exchange_messages(&mut b.conn, &msg).unwrap();
    assert_eq!(replies.len(), 2, "the WRITE response, then B's own break");
    assert_eq!(replies[0][0].header.status, NtStatus::SUCCESS);
    let notes = a.unsolicited();
    assert_eq!(notes.len(), 1);
    for (note, id) in [(&notes[0], ra.file_id), (&replies[1][0], rb.file_id)] {
        match break_body(note) {
            OplockBreakResponse::Oplock(n) => {
                assert_eq!(n.oplock_level, OplockLevel::NONE);
                assert_eq!(n.file_id, id);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn closing_the_handle_instead_of_acking_completes_the_waiting_create() {
    let (_dir, ctx, kdc) = setup(35_000);
    let mut a = Client::connect(&ctx, &kdc, 0xA1);
    let mut b = Client::connect(&ctx, &kdc, 0xB2);
    let ra = created(&a.call(
        Command::CREATE,
        &open_req("g.txt", OplockLevel::EXCLUSIVE, vec![]),
    ));
    assert_eq!(ra.oplock_level, OplockLevel::EXCLUSIVE);
    let interim = b.call(
        Command::CREATE,
        &open_req("g.txt", OplockLevel::BATCH, vec![]),
    );
    assert_eq!(interim.header.status, NtStatus::PENDING);
    assert_eq!(a.unsolicited().len(), 1);
    let close = CloseRequest {
        flags: 0,
        file_id: ra.file_id,
    };
    assert_eq!(
        a.call(Command::CLOSE, &close).header.status,
        NtStatus::SUCCESS
    );
    let fin = b.unsolicited();
    assert_eq!(fin.len(), 1);
    assert_eq!(
        created(&fin[0]).oplock_level,
        OplockLevel::BATCH,
        "the only open left gets the batch oplock"
    );
}

#[test]
fn an_unacknowledged_break_times_out() {
    let (_dir, ctx, kdc) = setup(300);
    let mut a = Client::connect(&ctx, &kdc, 0xA1);
    let mut b = Client::connect(&ctx, &kdc, 0xB2);
    created(&a.call(
        Command::CREATE,
        &open_req("t.txt", OplockLevel::BATCH, vec![]),
    ));
    let started = Instant::now();
    let interim = b.call(
        Command::CREATE,
        &open_req("t.txt", OplockLevel::NONE, vec![]),
    );
    assert_eq!(interim.header.status, NtStatus::PENDING);
    assert_eq!(a.unsolicited().len(), 1, "A is told and never answers");
    let fin = loop {
        let fin = b.unsolicited();
        if !fin.is_empty() {
            break fin;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "no timeout");
        std::thread::sleep(Duration::from_millis(20));
    };
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "completed after the timeout, not before ({waited:?})"
    );
    assert_eq!(fin[0].header.status, NtStatus::SUCCESS);
    assert_eq!(created(&fin[0]).oplock_level, OplockLevel::NONE);
}

#[test]
fn rwh_lease_breaks_to_rh_and_the_lease_ack_completes_the_other_create() {
    let (_dir, ctx, kdc) = setup(35_000);
    let mut a = Client::connect(&ctx, &kdc, 0xA1);
    let mut b = Client::connect(&ctx, &kdc, 0xB2);
    let ra = created(&a.call(
        Command::CREATE,
        &open_req("l.txt", OplockLevel::LEASE, vec![lease(0x11, RWH)]),
    ));
    assert_eq!(ra.oplock_level, OplockLevel::LEASE);
    let la = lease_of(&ra);
    assert_eq!(la.lease_state, RWH);
    assert_eq!(la.lease_key, [0x11; 16]);
    assert_eq!(
        la.v2.unwrap().epoch,
        1,
        "a new v2 lease starts at the client's epoch + 1"
    );

    // A second open under the same lease key (same client) shares it without a break.
    let ra2 = created(&a.call(
        Command::CREATE,
        &open_req("l.txt", OplockLevel::LEASE, vec![lease(0x11, RWH)]),
    ));
    assert_eq!(lease_of(&ra2).lease_state, RWH);
    assert!(a.unsolicited().is_empty());

    let interim = b.call(
        Command::CREATE,
        &open_req("l.txt", OplockLevel::LEASE, vec![lease(0x22, RWH)]),
    );
    assert_eq!(interim.header.status, NtStatus::PENDING);
    let notes = a.unsolicited();
    assert_eq!(notes.len(), 1);
    match break_body(&notes[0]) {
        OplockBreakResponse::LeaseNotification(n) => {
            assert_eq!(n.lease_key, [0x11; 16]);
            assert_eq!(n.current_lease_state, RWH);
            assert_eq!(n.new_lease_state, RH);
            assert_eq!(n.flags, LeaseBreakFlags::ACK_REQUIRED);
            assert_eq!(n.new_epoch, 2);
        }
        other => panic!("{other:?}"),
    }
    // 3.3.5.22.2: a state outside the one offered is refused, the right one accepted.
    let ack = |state| {
        OplockBreakRequest::Lease(LeaseBreakAcknowledgment {
            lease_key: [0x11; 16],
            lease_state: state,
            ..Default::default()
        })
    };
    assert_eq!(
        a.call(Command::OPLOCK_BREAK, &ack(RWH)).header.status,
        NtStatus::REQUEST_NOT_ACCEPTED
    );
    assert!(b.unsolicited().is_empty(), "still breaking");
    let r = a.call(Command::OPLOCK_BREAK, &ack(RH));
    assert_eq!(r.header.status, NtStatus::SUCCESS);
    match r.body() {
        Response::OplockBreak(OplockBreakResponse::Lease(l)) => {
            assert_eq!(l.lease_key, [0x11; 16]);
            assert_eq!(l.lease_state, RH);
        }
        other => panic!("{other:?}"),
    }
    let fin = b.unsolicited();
    assert_eq!(fin.len(), 1);
    let rb = created(&fin[0]);
    assert_eq!(rb.oplock_level, OplockLevel::LEASE);
    assert_eq!(
        lease_of(&rb).lease_state,
        RH,
        "no W next to another client's open"
    );
    // An unknown lease key is not found.
    assert_eq!(
        b.call(Command::OPLOCK_BREAK, &ack(0)).header.status,
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
}

#[test]
fn directories_get_no_oplock_and_no_lease() {
    let (dir, ctx, kdc) = setup(35_000);
    std::fs::create_dir(dir.path().join("d")).unwrap();
    let mut a = Client::connect(&ctx, &kdc, 0xA1);
    let mut req = open_req("d", OplockLevel::BATCH, vec![]);
    req.desired_access = 0x0012_0089;
    req.create_disposition = 1;
    let r = created(&a.call(Command::CREATE, &req));
    assert_eq!(r.oplock_level, OplockLevel::NONE);
    let mut req = open_req("d", OplockLevel::LEASE, vec![lease(0x33, RWH)]);
    req.desired_access = 0x0012_0089;
    req.create_disposition = 1;
    let r = created(&a.call(Command::CREATE, &req));
    assert_eq!(
        r.oplock_level,
        OplockLevel::NONE,
        "directory leases are declined"
    );
    assert!(CreateContext::find(&r.create_contexts, b"RqLs").is_none());
}

fn rename_req(file_id: FileId, to: &str) -> SetInfoRequest<'static> {
    let info = FileRenameInformation {
        replace_if_exists: true,
        root_directory: 0,
        file_name: to.into(),
    };
    SetInfoRequest {
        info_type: InfoType::FILE,
        file_info_class: FileInformationClass::FileRenameInformation.0,
        buffer: info.to_bytes().into(),
        file_id,
        ..Default::default()
    }
}

/// [MS-SMB2 3.3.5.21.1] with smbtorture smb2.lease.rename_wait/v2_rename: a rename of a file
/// another client caches a handle of (an RH lease) breaks that lease to R and goes async
/// until the break is acknowledged; the renamer's own lease is not broken; the file keeps its
/// old name meanwhile.
#[test]
fn a_rename_waits_for_other_handle_leases_to_break() {
    let (dir, ctx, kdc) = setup(35_000);
    let mut a = Client::connect(&ctx, &kdc, 0xA1);
    let mut b = Client::connect(&ctx, &kdc, 0xB2);
    let mut req = open_req("src.txt", OplockLevel::LEASE, vec![lease(0x11, RH)]);
    req.desired_access |= 0x0001_0000; // DELETE
    let ra = created(&a.call(Command::CREATE, &req));
    assert_eq!(lease_of(&ra).lease_state, RH);
    let rb = created(&b.call(
        Command::CREATE,
        &open_req("src.txt", OplockLevel::LEASE, vec![lease(0x22, RH)]),
    ));
    assert_eq!(lease_of(&rb).lease_state, RH, "RH leases coexist");
    assert!(a.unsolicited().is_empty());

    let interim = a.call(Command::SET_INFO, &rename_req(ra.file_id, "dst.txt"));
    assert_eq!(interim.header.status, NtStatus::PENDING);
    assert!(dir.path().join("src.txt").exists(), "not renamed yet");
    assert!(a.unsolicited().is_empty(), "A's own lease is not broken");
    let notes = b.unsolicited();
    assert_eq!(notes.len(), 1);
    match break_body(&notes[0]) {
        OplockBreakResponse::LeaseNotification(n) => {
            assert_eq!(n.lease_key, [0x22; 16]);
            assert_eq!(n.current_lease_state, RH);
            assert_eq!(n.new_lease_state, 1);
            assert_eq!(n.flags, LeaseBreakFlags::ACK_REQUIRED);
        }
        other => panic!("{other:?}"),
    }
    let ack = OplockBreakRequest::Lease(LeaseBreakAcknowledgment {
        lease_key: [0x22; 16],
        lease_state: 1,
        ..Default::default()
    });
    assert_eq!(
        b.call(Command::OPLOCK_BREAK, &ack).header.status,
        NtStatus::SUCCESS
    );
    let fin = a.unsolicited();
    assert_eq!(fin.len(), 1, "the rename completes after the ack");
    assert_eq!(fin[0].header.command, Command::SET_INFO);
    assert_eq!(fin[0].header.status, NtStatus::SUCCESS);
    assert!(dir.path().join("dst.txt").exists());
    assert!(!dir.path().join("src.txt").exists());
}

/// smbtorture smb2.rename.*delete_access and smb2.oplock.exclusive6: while the parent
/// directory is open with DELETE access a rename fails with SHARING_VIOLATION, and breaks
/// nothing; without DELETE on the parent it succeeds.
#[test]
fn a_rename_fails_while_the_parent_directory_is_open_for_delete() {
    let (dir, ctx, kdc) = setup(35_000);
    std::fs::create_dir(dir.path().join("d")).unwrap();
    let mut a = Client::connect(&ctx, &kdc, 0xA1);
    let mut b = Client::connect(&ctx, &kdc, 0xB2);
    let mut d = open_req("d", OplockLevel::NONE, vec![]);
    d.desired_access = 0x0001_0081; // DELETE, read attributes, list
    d.create_disposition = 1;
    let rd = created(&b.call(Command::CREATE, &d));
    let mut f = open_req("d\\f.txt", OplockLevel::EXCLUSIVE, vec![]);
    f.desired_access |= 0x0001_0000;
    let rf = created(&a.call(Command::CREATE, &f));
    assert_eq!(rf.oplock_level, OplockLevel::EXCLUSIVE);
    let r = a.call(Command::SET_INFO, &rename_req(rf.file_id, "d\\g.txt"));
    assert_eq!(r.header.status, NtStatus::SHARING_VIOLATION);
    assert!(a.unsolicited().is_empty() && b.unsolicited().is_empty());
    let close = CloseRequest {
        flags: 0,
        file_id: rd.file_id,
    };
    assert_eq!(
        b.call(Command::CLOSE, &close).header.status,
        NtStatus::SUCCESS
    );
    d.desired_access = 0x0000_0081;
    created(&b.call(Command::CREATE, &d));
    let r = a.call(Command::SET_INFO, &rename_req(rf.file_id, "d\\g.txt"));
    assert_eq!(r.header.status, NtStatus::SUCCESS);
    assert!(dir.path().join("d/g.txt").exists());
}
