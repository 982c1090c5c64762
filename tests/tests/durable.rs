//! Durable handles across connections of one server ([MS-SMB2 3.3.5.9.6], 3.3.5.9.7,
//! 3.3.5.9.10, 3.3.5.9.12, 3.3.7.1, 3.3.4.6): an open made durable on connection A survives
//! A's loss (not a LOGOFF), is reconnected on connection B by the same user with the same
//! FileId and its data, is refused to another user, is closed when its timeout passes, and is
//! given up when another open needs a break the disconnected holder cannot acknowledge.
//! Clients log on with real Kerberos tickets minted by the test KDC.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use rsmbd_protocol::create_context::{
    CreateContext, CreateContextName, DurableHandleReconnectV2, DurableHandleRequestV2,
    DurableHandleResponseV2, LeaseContext, LeaseV2,
};
use rsmbd_protocol::file_id::FileId;
use rsmbd_protocol::messages::create::{CreateRequest, CreateResponse, OplockLevel};
use rsmbd_protocol::messages::logoff::LogoffRequest;
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::tree_disconnect::TreeDisconnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::{Command, NtStatus, Response};
use rsmbd_tests::client::{Client, OPEN_IF};
use rsmbd_tests::kdc::{TestKdc, TicketSpec};
use rsmbd_tests::{Answer, context};

const RWH: u32 = 7;

fn create_req(
    name: &str,
    oplock: u8,
    share_access: u32,
    contexts: Vec<CreateContext<'static>>,
) -> CreateRequest<'static> {
    CreateRequest {
        requested_oplock_level: oplock,
        impersonation_level: 2,
        desired_access: 0x0012_019F,
        share_access,
        create_disposition: OPEN_IF,
        name: rsmbd_protocol::codec::string_to_utf16le(name).into(),
        create_contexts: contexts,
        ..Default::default()
    }
}

/// A reconnect request: as smbtorture's reopen2, every field but the contexts (and, for a
/// lease open, the name) is garbage.
fn reconnect_named(name: &str, contexts: Vec<CreateContext<'static>>) -> CreateRequest<'static> {
    CreateRequest {
        name: rsmbd_protocol::codec::string_to_utf16le(name).into(),
        ..reconnect_req(contexts)
    }
}

fn reconnect_req(contexts: Vec<CreateContext<'static>>) -> CreateRequest<'static> {
    CreateRequest {
        requested_oplock_level: 0x78,
        impersonation_level: 0x1234_5678,
        desired_access: 0x1234_5678,
        share_access: 0x1234_5678,
        create_disposition: 0x1234_5678,
        create_options: 0x1234_5678,
        name: rsmbd_protocol::codec::string_to_utf16le("__non_existing_fname__").into(),
        create_contexts: contexts,
        ..Default::default()
    }
}

fn dhnq() -> CreateContext<'static> {
    CreateContext::new(CreateContextName::DHNQ, vec![0; 16])
}

fn dhnc(id: FileId) -> CreateContext<'static> {
    let mut data = Vec::new();
    data.extend_from_slice(&id.persistent.to_le_bytes());
    data.extend_from_slice(&id.volatile.to_le_bytes());
    CreateContext::new(CreateContextName::DHNC, data)
}

fn lease_v2(key: u8, state: u32) -> CreateContext<'static> {
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

fn created(a: &Answer) -> CreateResponse {
    assert_eq!(a.header.status, NtStatus::SUCCESS, "create failed");
    match a.body() {
        Response::Create(r) => r.clone(),
        other => panic!("{other:?}"),
    }
}

fn has(r: &CreateResponse, name: &[u8]) -> Option<Vec<u8>> {
    CreateContext::find(&r.create_contexts, name).map(|c| c.data.to_vec())
}

fn write(c: &mut Client, file_id: FileId, data: &[u8]) {
    let w = WriteRequest {
        offset: 0,
        file_id,
        data: data.to_vec().into(),
        ..Default::default()
    };
    assert_eq!(c.call(Command::WRITE, &w).header.status, NtStatus::SUCCESS);
}

fn read(c: &mut Client, file_id: FileId) -> (NtStatus, Vec<u8>) {
    let r = ReadRequest {
        length: 4096,
        offset: 0,
        file_id,
        ..Default::default()
    };
    let a = c.call(Command::READ, &r);
    match a.body() {
        Response::Read(r) => (a.header.status, r.data.to_vec()),
        _ => (a.header.status, Vec::new()),
    }
}

struct World {
    _dir: tempfile::TempDir,
    kdc: TestKdc,
    ctx: std::sync::Arc<rsmbd::engine::context::ServerContext>,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let kdc = TestKdc::new();
        let ctx = context(dir.path(), &kdc.keytab_bytes());
        Self {
            _dir: dir,
            kdc,
            ctx,
        }
    }

    /// A logged-on client with a tree connect to `data` (every test client negotiates the
    /// same ClientGuid).
    fn client(&self, user: &str) -> Client {
        let mut c = Client::try_logon(&self.ctx, &self.kdc, &TicketSpec::new(user))
            .unwrap_or_else(|a| panic!("logon refused: {:?}", a.header.status));
        let a = c.tree_connect("data");
        assert_eq!(a.header.status, NtStatus::SUCCESS);
        c.tree = a.header.tree_id();
        c
    }
}

/// Open f with DHnQ and a batch oplock, write to it; returns the FileId.
fn durable_v1(c: &mut Client, name: &str, data: &[u8]) -> FileId {
    let r = created(&c.call(
        Command::CREATE,
        &create_req(name, OplockLevel::BATCH, 0, vec![dhnq()]),
    ));
    assert_eq!(r.oplock_level, OplockLevel::BATCH);
    assert_eq!(
        has(&r, CreateContextName::DHNQ),
        Some(vec![0; 8]),
        "DHnQ response"
    );
    write(c, r.file_id, data);
    r.file_id
}

#[test]
fn v2_with_a_lease_survives_the_connection_and_reconnects_with_its_file_id() {
    let w = World::new();
    let mut a = w.client("alice");
    let guid = [0x42; 16];
    let dh2q = DurableHandleRequestV2 {
        timeout: 0,
        flags: DurableHandleRequestV2::PERSISTENT,
        create_guid: guid,
    };
    let r = created(&a.call(
        Command::CREATE,
        &create_req(
            "v2.txt",
            OplockLevel::LEASE,
            7,
            vec![lease_v2(9, RWH), dh2q.to_context()],
        ),
    ));
    assert_eq!(r.oplock_level, OplockLevel::LEASE);
    let granted =
        DurableHandleResponseV2::from_data(&has(&r, CreateContextName::DH2Q).unwrap()).unwrap();
    // 0 asks for the server default (60 s); persistent handles are never granted.
    assert_eq!(
        granted,
        DurableHandleResponseV2 {
            timeout: 60_000,
            flags: 0
        }
    );
    let id = r.file_id;
    write(&mut a, id, b"kept across the reconnect");

    // The TCP connection drops (no LOGOFF): the open is kept, disconnected.
    a.conn.on_disconnect();
    assert_eq!(w.ctx.registry.durables().disconnected_count(), 1);

    let mut b = w.client("alice");
    let dh2c = |create_guid| {
        DurableHandleReconnectV2 {
            file_id: id,
            create_guid,
            flags: 0,
        }
        .to_context()
    };
    // The wrong CreateGuid or no lease context: not this open (3.3.5.9.12).
    let wrong = b.call(
        Command::CREATE,
        &reconnect_named("v2.txt", vec![lease_v2(9, RWH), dh2c([0x43; 16])]),
    );
    assert_eq!(wrong.header.status, NtStatus::OBJECT_NAME_NOT_FOUND);
    let no_lease = b.call(
        Command::CREATE,
        &reconnect_named("v2.txt", vec![dh2c(guid)]),
    );
    assert_eq!(no_lease.header.status, NtStatus::OBJECT_NAME_NOT_FOUND);

    let r = created(&b.call(
        Command::CREATE,
        &reconnect_named("v2.txt", vec![lease_v2(9, RWH), dh2c(guid)]),
    ));
    assert_eq!(r.file_id, id, "the same FileId");
    assert_eq!(r.create_action, 1, "FILE_OPENED");
    assert_eq!(r.oplock_level, OplockLevel::LEASE);
    let lease = LeaseContext::from_data(&has(&r, CreateContextName::RQLS).unwrap()).unwrap();
    assert_eq!((lease.lease_key, lease.lease_state), ([9; 16], RWH));
    assert_eq!(r.end_of_file, 25);
    assert_eq!(
        read(&mut b, id),
        (NtStatus::SUCCESS, b"kept across the reconnect".to_vec())
    );
    assert_eq!(w.ctx.registry.durables().disconnected_count(), 0);

    // While connected it cannot be reconnected again.
    let again = b.call(
        Command::CREATE,
        &reconnect_named("v2.txt", vec![lease_v2(9, RWH), dh2c(guid)]),
    );
    assert_eq!(again.header.status, NtStatus::OBJECT_NAME_NOT_FOUND);
    // CLOSE ends it for good.
    b.close(id);
    b.conn.on_disconnect();
    let mut c = w.client("alice");
    let gone = c.call(
        Command::CREATE,
        &reconnect_named("v2.txt", vec![lease_v2(9, RWH), dh2c(guid)]),
    );
    assert_eq!(gone.header.status, NtStatus::OBJECT_NAME_NOT_FOUND);
}

#[test]
fn v1_needs_a_batch_oplock_and_only_its_user_reconnects() {
    let w = World::new();
    let mut a = w.client("alice");
    // No batch oplock, no lease: DHnQ is ignored (3.3.5.9.6).
    let r = created(&a.call(
        Command::CREATE,
        &create_req("plain.txt", OplockLevel::II, 7, vec![dhnq()]),
    ));
    assert_eq!(has(&r, CreateContextName::DHNQ), None);
    let id = durable_v1(&mut a, "v1.txt", b"batch");
    a.conn.on_disconnect();
    assert_eq!(
        w.ctx.registry.durables().disconnected_count(),
        1,
        "only the durable open is kept; the plain one closed"
    );

    // bob may not take alice's open (Open.Session.SecurityContext, 3.3.5.9.7).
    let mut bob = w.client("bob");
    let refused = bob.call(Command::CREATE, &reconnect_req(vec![dhnc(id)]));
    assert_eq!(refused.header.status, NtStatus::ACCESS_DENIED);
    // An unknown FileId is not found.
    let unknown = bob.call(
        Command::CREATE,
        &reconnect_req(vec![dhnc(FileId::new(0xDEAD, 0xDEAD))]),
    );
    assert_eq!(unknown.header.status, NtStatus::OBJECT_NAME_NOT_FOUND);

    let mut b = w.client("alice");
    let r = created(&b.call(Command::CREATE, &reconnect_req(vec![dhnc(id)])));
    assert_eq!((r.file_id, r.oplock_level), (id, OplockLevel::BATCH));
    assert_eq!(
        has(&r, CreateContextName::DHNQ),
        None,
        "no DHnQ response on a reconnect"
    );
    assert_eq!(read(&mut b, id), (NtStatus::SUCCESS, b"batch".to_vec()));
    // The oplock's breaks now go to B: another open of the file breaks B's batch oplock.
    let mut c = w.client("alice");
    let pending = c.send(
        Command::CREATE,
        &create_req("v1.txt", OplockLevel::NONE, 7, vec![]),
    );
    assert_eq!(pending[0].header.status, NtStatus::PENDING);
    let breaks = b.poll();
    assert!(
        breaks
            .iter()
            .any(|m| matches!(m.body(), Response::OplockBreak(_))),
        "{breaks:?}"
    );
}

#[test]
fn a_disconnected_open_is_closed_when_its_timeout_passes() {
    let w = World::new();
    let mut a = w.client("alice");
    let id = durable_v1(&mut a, "t.txt", b"x");
    a.conn.on_disconnect();
    // Before the timeout nothing happens; after it, the open is closed and its share mode
    // (share_access 0) is gone, so an exclusive open succeeds.
    assert_eq!(w.ctx.registry.durables().expire(Instant::now()), 0);
    let later = Instant::now() + Duration::from_secs(61);
    assert_eq!(w.ctx.registry.durables().expire(later), 1);
    let mut b = w.client("alice");
    let r = b.call(Command::CREATE, &reconnect_req(vec![dhnc(id)]));
    assert_eq!(r.header.status, NtStatus::OBJECT_NAME_NOT_FOUND);
    let excl = b.call(
        Command::CREATE,
        &create_req("t.txt", OplockLevel::NONE, 0, vec![]),
    );
    assert_eq!(excl.header.status, NtStatus::SUCCESS);
}

#[test]
fn a_conflicting_open_takes_the_file_from_a_disconnected_holder() {
    let w = World::new();
    let mut a = w.client("alice");
    let id = durable_v1(&mut a, "c.txt", b"x");
    a.conn.on_disconnect();
    // The batch oplock would need a break nobody can acknowledge (3.3.4.6): the durable open
    // is closed instead, and the new open (share_access 0) goes through on its retry.
    let mut b = w.client("alice");
    let first = b.send(
        Command::CREATE,
        &create_req("c.txt", OplockLevel::BATCH, 0, vec![]),
    );
    assert_eq!(first[0].header.status, NtStatus::PENDING);
    assert_eq!(w.ctx.registry.durables().disconnected_count(), 0);
    // The engine retries after the frame: the final response follows at once.
    let r = match first.get(1) {
        Some(fin) => created(fin),
        None => created(&b.wait()),
    };
    assert_eq!(r.oplock_level, OplockLevel::BATCH);
    let mut c = w.client("alice");
    let gone = c.call(Command::CREATE, &reconnect_req(vec![dhnc(id)]));
    assert_eq!(gone.header.status, NtStatus::OBJECT_NAME_NOT_FOUND);
}

#[test]
fn logoff_keeps_durable_opens_and_tree_disconnect_closes_them() {
    let w = World::new();
    let mut a = w.client("alice");
    let id = durable_v1(&mut a, "l.txt", b"x");
    // MS-SMB2 3.3.5.6: LOGOFF keeps a durable open (Open.Session = NULL) for a reconnect.
    assert_eq!(
        a.call(Command::LOGOFF, &LogoffRequest).header.status,
        NtStatus::SUCCESS
    );
    assert_eq!(w.ctx.registry.durables().disconnected_count(), 1);
    let mut b = w.client("alice");
    let r = created(&b.call(Command::CREATE, &reconnect_req(vec![dhnc(id)])));
    assert_eq!(r.file_id, id);
    // 3.3.5.8: TREE_DISCONNECT closes it for good, and the file is free.
    let tdis = TreeDisconnectRequest;
    assert_eq!(
        b.call(Command::TREE_DISCONNECT, &tdis).header.status,
        NtStatus::SUCCESS
    );
    b.conn.on_disconnect();
    assert_eq!(w.ctx.registry.durables().disconnected_count(), 0);
    let mut c = w.client("alice");
    let gone = c.call(Command::CREATE, &reconnect_req(vec![dhnc(id)]));
    assert_eq!(gone.header.status, NtStatus::OBJECT_NAME_NOT_FOUND);
    let excl = c.call(
        Command::CREATE,
        &create_req("l.txt", OplockLevel::NONE, 0, vec![]),
    );
    assert_eq!(excl.header.status, NtStatus::SUCCESS);
}

#[test]
fn a_lease_open_is_reclaimed_only_by_its_name() {
    let w = World::new();
    let mut a = w.client("alice");
    let r = created(&a.call(
        Command::CREATE,
        &create_req(
            "named.txt",
            OplockLevel::LEASE,
            7,
            vec![lease_v2(5, RWH), dhnq()],
        ),
    ));
    assert!(has(&r, CreateContextName::DHNQ).is_some());
    let id = r.file_id;
    a.conn.on_disconnect();
    let mut b = w.client("alice");
    // 3.3.5.9.7: Open.Lease.FileName must match; an oplock open ignores the name.
    let mut wrong = reconnect_req(vec![lease_v2(5, 0), dhnc(id)]);
    assert_eq!(
        b.call(Command::CREATE, &wrong).header.status,
        NtStatus::INVALID_PARAMETER
    );
    wrong.name = rsmbd_protocol::codec::string_to_utf16le("NAMED.TXT").into();
    let r = created(&b.call(Command::CREATE, &wrong));
    assert_eq!((r.file_id, r.oplock_level), (id, OplockLevel::LEASE));
}

#[test]
fn a_logon_naming_the_previous_session_ends_it_and_keeps_its_durable_opens() {
    let w = World::new();
    let mut a = w.client("alice");
    let id = durable_v1(&mut a, "previous.txt", b"again");

    // bob naming alice's session changes nothing (3.3.5.5.3: same user only).
    let _bob = Client::try_logon_after(&w.ctx, &w.kdc, &TicketSpec::new("bob"), a.session_id)
        .unwrap_or_else(|a| panic!("bob refused: {:?}", a.header.status));
    assert_eq!(read(&mut a, id), (NtStatus::SUCCESS, b"again".to_vec()));

    // alice on a new connection names it while the old connection is still up.
    let mut b = Client::try_logon_after(&w.ctx, &w.kdc, &TicketSpec::new("alice"), a.session_id)
        .unwrap_or_else(|a| panic!("logon refused: {:?}", a.header.status));
    let t = b.tree_connect("data");
    b.tree = t.header.tree_id();
    assert_eq!(
        w.ctx.registry.durables().disconnected_count(),
        1,
        "the durable open waits for a reconnect"
    );
    let gone = a.call(
        Command::CREATE,
        &create_req("other.txt", OplockLevel::NONE, 7, vec![]),
    );
    assert_eq!(gone.header.status, NtStatus::USER_SESSION_DELETED);

    let r = created(&b.call(Command::CREATE, &reconnect_req(vec![dhnc(id)])));
    assert_eq!(r.file_id, id);
    assert_eq!(read(&mut b, id), (NtStatus::SUCCESS, b"again".to_vec()));
}
