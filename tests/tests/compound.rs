//! Compounded requests ([MS-SMB2 3.3.5.2.7]) through the engine, as Windows answers them
//! (the cases of smbtorture's smb2.compound suite): a related chain inherits the session,
//! tree and FileId; only a failed CREATE fails the related members after it; a first member
//! marked related, or one after a member whose session was not found, is INVALID_PARAMETER;
//! only the last member may go async, any other that would wait fails with
//! STATUS_INTERNAL_ERROR and the rest of the chain goes on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rsmbd_protocol::messages::change_notify::{ChangeNotifyRequest, CompletionFilter};
use rsmbd_protocol::messages::close::CloseRequest;
use rsmbd_protocol::messages::create::CreateRequest;
use rsmbd_protocol::messages::ioctl::IoctlRequest;
use rsmbd_protocol::messages::query_info::QueryInfoRequest;
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::{Command, Encode, FileId, HeaderFlags, NtStatus};
use rsmbd_share::crypto::signing;
use rsmbd_tests::client::{Client, DIRECTORY, OPEN, OPEN_IF};
use rsmbd_tests::kdc::TestKdc;
use rsmbd_tests::{Answer, context, exchange_messages, message, request_header};

const RELATED: u32 = HeaderFlags::RELATED_OPERATIONS;

/// One member: command, header flags, session and tree (None: the client's own), body.
struct Member<'a> {
    command: Command,
    flags: u32,
    ids: Option<(u64, u32)>,
    body: &'a dyn Encode,
}

fn member<'a>(command: Command, flags: u32, body: &'a dyn Encode) -> Member<'a> {
    Member {
        command,
        flags,
        ids: None,
        body,
    }
}

/// Sends the members as one compound, each padded to 8 and signed; returns every message
/// that came back, each split into its members.
fn compound(c: &mut Client, members: &[Member<'_>]) -> Vec<Vec<Answer>> {
    let count = members.len();
    let mut frame = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let (session, tree) = m.ids.unwrap_or((c.session_id, c.tree));
        let header = request_header(m.command, c.next_id, session, tree, m.flags);
        c.next_id += 1;
        let mut msg = message(&header, &Body(m.body));
        if i + 1 < count {
            while msg.len() % 8 != 0 {
                msg.push(0);
            }
            let len = msg.len() as u32;
            msg[20..24].copy_from_slice(&len.to_le_bytes());
        }
        if session == c.session_id {
            msg[16] |= HeaderFlags::SIGNED as u8;
            signing::sign(c.keys.signing_algorithm, &c.keys.signing_key, &mut msg);
        }
        frame.extend_from_slice(&msg);
    }
    exchange_messages(&mut c.conn, &frame).unwrap()
}

/// `&dyn Encode` as an `Encode`.
struct Body<'a>(&'a dyn Encode);

impl Encode for Body<'_> {
    fn encode(&self, w: &mut rsmbd_protocol::Writer) {
        self.0.encode(w)
    }
}

fn statuses(answers: &[Answer]) -> Vec<NtStatus> {
    answers.iter().map(|a| a.header.status).collect()
}

fn setup() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    let kdc = TestKdc::new();
    let ctx = context(dir.path(), &kdc.keytab_bytes());
    let c = Client::logon(&ctx, &kdc, "data");
    (dir, c)
}

fn create_req(name: &str, disposition: u32, options: u32, access: u32) -> CreateRequest<'static> {
    CreateRequest {
        impersonation_level: 2,
        desired_access: access,
        share_access: 7,
        create_disposition: disposition,
        create_options: options,
        name: rsmbd_protocol::codec::string_to_utf16le(name).into(),
        ..Default::default()
    }
}

const ALL: u32 = 0x001F_01FF;
const READ_DATA: u32 = 0x0000_0001;

fn close_prev() -> CloseRequest {
    CloseRequest {
        flags: 0,
        file_id: FileId::COMPOUND_PREVIOUS,
    }
}

#[test]
fn a_member_that_would_wait_in_the_middle_fails_and_the_chain_goes_on() {
    // smb2.compound.interim2: CREATE dir, CHANGE_NOTIFY, QUERY_INFO, all related.
    let (_d, mut c) = setup();
    let create = create_req("d", OPEN, DIRECTORY, ALL);
    let notify = ChangeNotifyRequest {
        flags: 0,
        output_buffer_length: 4096,
        file_id: FileId::COMPOUND_PREVIOUS,
        completion_filter: CompletionFilter::FILE_NAME,
    };
    let info = QueryInfoRequest {
        info_type: 1,
        file_info_class: 4,
        output_buffer_length: 4096,
        file_id: FileId::COMPOUND_PREVIOUS,
        ..Default::default()
    };
    let got = compound(
        &mut c,
        &[
            member(Command::CREATE, 0, &create),
            member(Command::CHANGE_NOTIFY, RELATED, &notify),
            member(Command::QUERY_INFO, RELATED, &info),
        ],
    );
    assert_eq!(got.len(), 1, "one reply, nothing left waiting");
    assert_eq!(
        statuses(&got[0]),
        vec![
            NtStatus::SUCCESS,
            NtStatus::INTERNAL_ERROR,
            NtStatus::SUCCESS
        ]
    );
    assert!(!c.conn.has_pending());

    // smb2.compound.interim1: as the last member it goes async as usual.
    let got = compound(
        &mut c,
        &[
            member(Command::CREATE, 0, &create),
            member(Command::CHANGE_NOTIFY, RELATED, &notify),
        ],
    );
    assert_eq!(
        statuses(&got[0]),
        vec![NtStatus::SUCCESS, NtStatus::PENDING]
    );
    assert!(c.conn.has_pending());
}

#[test]
fn only_a_failed_create_fails_the_related_members_after_it() {
    // smb2.compound.related6: a read-only handle; WRITE fails, READ and CLOSE go on.
    let (d, mut c) = setup();
    std::fs::write(d.path().join("f"), [0u8; 64]).unwrap();
    let create = create_req("f", OPEN_IF, 0, READ_DATA);
    let read = ReadRequest {
        length: 1,
        file_id: FileId::COMPOUND_PREVIOUS,
        ..Default::default()
    };
    let write = WriteRequest {
        file_id: FileId::COMPOUND_PREVIOUS,
        data: vec![0u8; 64].into(),
        ..Default::default()
    };
    let close = close_prev();
    let got = compound(
        &mut c,
        &[
            member(Command::CREATE, 0, &create),
            member(Command::READ, RELATED, &read),
            member(Command::WRITE, RELATED, &write),
            member(Command::READ, RELATED, &read),
            member(Command::CLOSE, RELATED, &close),
        ],
    );
    assert_eq!(
        statuses(&got[0]),
        vec![
            NtStatus::SUCCESS,
            NtStatus::SUCCESS,
            NtStatus::ACCESS_DENIED,
            NtStatus::SUCCESS,
            NtStatus::SUCCESS
        ]
    );

    // smb2.compound.related8: a CREATE that fails takes the chain with it.
    let missing = create_req("missing", OPEN, 0, ALL);
    let got = compound(
        &mut c,
        &[
            member(Command::CREATE, 0, &missing),
            member(Command::CLOSE, RELATED, &close),
        ],
    );
    assert_eq!(
        statuses(&got[0]),
        vec![
            NtStatus::OBJECT_NAME_NOT_FOUND,
            NtStatus::OBJECT_NAME_NOT_FOUND
        ]
    );
}

#[test]
fn related_without_anything_to_inherit_is_invalid_parameter() {
    let (_d, mut c) = setup();
    let create = create_req("g", OPEN_IF, 0, ALL);
    let close = close_prev();
    // smb2.compound.invalid1: the first member marked related; the connection stays.
    let got = compound(
        &mut c,
        &[
            member(Command::CREATE, RELATED, &create),
            member(Command::CLOSE, RELATED, &close),
            member(Command::CLOSE, 0, &close),
        ],
    );
    assert_eq!(
        statuses(&got[0]),
        vec![
            NtStatus::INVALID_PARAMETER,
            NtStatus::INVALID_PARAMETER,
            NtStatus::FILE_CLOSED
        ]
    );
    // smb2.compound.invalid2: unrelated members naming no session, then a related one.
    let no_session = Member {
        ids: Some((u64::MAX, u32::MAX)),
        ..member(Command::CLOSE, 0, &close)
    };
    let got = compound(
        &mut c,
        &[
            member(Command::CREATE, 0, &create),
            Member {
                ids: Some((u64::MAX, u32::MAX)),
                ..member(Command::CLOSE, RELATED, &close)
            },
            no_session,
            Member {
                ids: Some((u64::MAX, u32::MAX)),
                ..member(Command::CLOSE, 0, &close)
            },
            Member {
                ids: Some((u64::MAX, u32::MAX)),
                ..member(Command::CLOSE, RELATED, &close)
            },
        ],
    );
    assert_eq!(
        statuses(&got[0]),
        vec![
            NtStatus::SUCCESS,
            NtStatus::SUCCESS,
            NtStatus::USER_SESSION_DELETED,
            NtStatus::USER_SESSION_DELETED,
            NtStatus::INVALID_PARAMETER
        ]
    );
}

#[test]
fn a_create_waiting_for_an_oplock_break_takes_the_rest_of_its_compound_along() {
    // smb2.compound.compound-break: CREATE (breaks another client's batch oplock) + related
    // QUERY_INFO. The CREATE answers PENDING alone; once the break is resolved its final
    // response and the QUERY_INFO's, on the handle it opened, come back together.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("f"), b"x").unwrap();
    let kdc = TestKdc::new();
    let ctx = context(d.path(), &kdc.keytab_bytes());
    let mut a = Client::logon(&ctx, &kdc, "data");
    let mut b = Client::logon(&ctx, &kdc, "data");
    let batch = CreateRequest {
        requested_oplock_level: 0x09,
        ..create_req("f", OPEN_IF, 0, ALL)
    };
    let got = a.call(Command::CREATE, &batch);
    assert_eq!(got.header.status, NtStatus::SUCCESS);
    let fa = match got.body() {
        rsmbd_protocol::Response::Create(r) => {
            assert_eq!(
                r.oplock_level,
                rsmbd_protocol::messages::create::OplockLevel::BATCH
            );
            r.file_id
        }
        other => panic!("{other:?}"),
    };
    let open = create_req("f", OPEN, 0, READ_DATA);
    let info = QueryInfoRequest {
        info_type: 1,
        file_info_class: 0x16,
        output_buffer_length: 4096,
        file_id: FileId::COMPOUND_PREVIOUS,
        ..Default::default()
    };
    let got = compound(
        &mut b,
        &[
            member(Command::CREATE, 0, &open),
            member(Command::QUERY_INFO, RELATED, &info),
        ],
    );
    assert_eq!(got.len(), 1);
    assert_eq!(statuses(&got[0]), vec![NtStatus::PENDING], "the rest waits");
    a.close(fa);
    let mut fin = Vec::new();
    for _ in 0..200 {
        fin = b.conn.poll_pending();
        if !fin.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(fin.len(), 1, "one compound");
    let members = rsmbd_tests::answers(&fin[0]);
    assert_eq!(
        statuses(&members),
        vec![NtStatus::SUCCESS, NtStatus::SUCCESS]
    );
    assert_eq!(members[1].header.command, Command::QUERY_INFO);
    assert!(!b.conn.has_pending());
}

#[test]
fn the_object_id_of_a_related_handle() {
    // smb2.compound.related3: CREATE, FSCTL_CREATE_OR_GET_OBJECT_ID, CLOSE.
    let (_d, mut c) = setup();
    let create = create_req("o", OPEN_IF, 0, ALL);
    let ioctl = IoctlRequest {
        ctl_code: 0x0009_00C0,
        file_id: FileId::COMPOUND_PREVIOUS,
        input: Default::default(),
        max_input_response: 0,
        output: Default::default(),
        max_output_response: 64,
        flags: 1,
    };
    let close = close_prev();
    let got = compound(
        &mut c,
        &[
            member(Command::CREATE, 0, &create),
            member(Command::IOCTL, RELATED, &ioctl),
            member(Command::CLOSE, RELATED, &close),
        ],
    );
    assert_eq!(statuses(&got[0]), vec![NtStatus::SUCCESS; 3]);
    let first = match got[0][1].body() {
        rsmbd_protocol::Response::Ioctl(r) => r.output.to_vec(),
        other => panic!("{other:?}"),
    };
    assert_eq!(first.len(), 64);
    // Stable: asked again through a new handle, the same id.
    let got = compound(
        &mut c,
        &[
            member(Command::CREATE, 0, &create),
            member(Command::IOCTL, RELATED, &ioctl),
            member(Command::CLOSE, RELATED, &close),
        ],
    );
    match got[0][1].body() {
        rsmbd_protocol::Response::Ioctl(r) => assert_eq!(r.output.to_vec(), first),
        other => panic!("{other:?}"),
    }
}
