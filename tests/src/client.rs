//! A logged-on, signing SMB 3.1.1 test client driven with bytes (no sockets): NEGOTIATE, a
//! Kerberos SESSION_SETUP with an AP-REQ from the test KDC, and usually a tree connect. Several
//! can share one `ServerContext`, as connections of one server do (oplock breaks, notify,
//! blocking locks). One client for every scenario file, so a protocol change is fixed once.

use std::sync::Arc;

use rsmbd::engine::Connection;
use rsmbd::engine::context::ServerContext;
use rsmbd_protocol::create_context::CreateContext;
use rsmbd_protocol::messages::cancel::CancelRequest;
use rsmbd_protocol::messages::close::CloseRequest;
use rsmbd_protocol::messages::create::CreateRequest;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::{Command, Encode, FileId, HeaderFlags, NtStatus, Response};
use rsmbd_share::crypto::keys::KeyDialect;
use rsmbd_share::crypto::{PreauthHash, SessionKeys, SigningAlgorithm, signing};

use crate::kdc::{HOST, TestKdc, TicketSpec};
use crate::{
    Answer, answers, exchange_messages, message, negotiate_request, one, peer, request,
    request_header,
};

/// FILE_OPEN.
pub const OPEN: u32 = 1;
/// FILE_CREATE.
pub const CREATE: u32 = 2;
/// FILE_OPEN_IF.
pub const OPEN_IF: u32 = 3;
/// FILE_DIRECTORY_FILE.
pub const DIRECTORY: u32 = 0x1;

/// One connection with one signed session.
pub struct Client {
    pub conn: Connection,
    pub session_id: u64,
    pub keys: SessionKeys,
    pub next_id: u64,
    pub tree: u32,
}

impl std::fmt::Debug for Client {
    /// The identifiers only: the connection and the keys stay out of test output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("session_id", &self.session_id)
            .field("tree", &self.tree)
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// NEGOTIATE 3.1.1 on a new connection; returns it with its preauth hash.
    pub fn negotiate(ctx: &Arc<ServerContext>) -> (Connection, PreauthHash) {
        let mut conn = Connection::new(ctx.clone(), peer());
        let mut preauth = PreauthHash::default();
        let negotiate = request(Command::NEGOTIATE, 0, 0, &negotiate_request());
        let a = one(&mut conn, &negotiate).unwrap();
        preauth.update(&negotiate);
        preauth.update(&a.raw);
        (conn, preauth)
    }

    /// A first SESSION_SETUP with a fresh AP-REQ shaped by `spec` on `conn` (whose hash after
    /// NEGOTIATE is `preauth`); returns the answer and the keys the client derives from it.
    pub fn session_setup(
        conn: &mut Connection,
        kdc: &TestKdc,
        spec: &TicketSpec,
        preauth: &PreauthHash,
        message_id: u64,
    ) -> (Answer, SessionKeys) {
        Self::session_setup_after(conn, kdc, spec, preauth, message_id, 0)
    }

    /// [`Client::session_setup`] naming `previous` in PreviousSessionId (MS-SMB2 3.3.5.5.3).
    pub fn session_setup_after(
        conn: &mut Connection,
        kdc: &TestKdc,
        spec: &TicketSpec,
        preauth: &PreauthHash,
        message_id: u64,
        previous: u64,
    ) -> (Answer, SessionKeys) {
        let (token, session_key) = kdc.spnego_ap_req_with(spec);
        let setup = SessionSetupRequest {
            security_mode: 1,
            security_buffer: token.into(),
            previous_session_id: previous,
            ..Default::default()
        };
        let setup = request(Command::SESSION_SETUP, message_id, 0, &setup);
        let mut preauth = preauth.clone();
        preauth.update(&setup);
        let a = one(conn, &setup).unwrap();
        let keys = SessionKeys::derive(
            KeyDialect::Smb311,
            session_key.as_bytes(),
            Some(&preauth),
            SigningAlgorithm::AesCmac,
            16,
        );
        (a, keys)
    }

    /// Negotiates and logs on with a ticket shaped by `spec`, without a tree; the refusal's
    /// answer when the logon fails.
    pub fn try_logon(
        ctx: &Arc<ServerContext>,
        kdc: &TestKdc,
        spec: &TicketSpec,
    ) -> Result<Client, Answer> {
        Self::try_logon_after(ctx, kdc, spec, 0)
    }

    /// [`Client::try_logon`] naming `previous` in PreviousSessionId: a client logging on again
    /// after losing its connection (MS-SMB2 3.3.5.5.3).
    pub fn try_logon_after(
        ctx: &Arc<ServerContext>,
        kdc: &TestKdc,
        spec: &TicketSpec,
        previous: u64,
    ) -> Result<Client, Answer> {
        let (mut conn, preauth) = Self::negotiate(ctx);
        let (a, keys) = Self::session_setup_after(&mut conn, kdc, spec, &preauth, 1, previous);
        if a.header.status != NtStatus::SUCCESS {
            return Err(a);
        }
        Ok(Client {
            conn,
            session_id: a.header.session_id,
            keys,
            next_id: 2,
            tree: 0,
        })
    }

    /// Negotiates 3.1.1, logs on as alice with Kerberos and connects to `share`.
    pub fn logon(ctx: &Arc<ServerContext>, kdc: &TestKdc, share: &str) -> Client {
        let mut c = Self::try_logon(ctx, kdc, &TicketSpec::new("alice"))
            .unwrap_or_else(|a| panic!("logon refused: {:?}", a.header.status));
        let a = c.tree_connect(share);
        assert_eq!(a.header.status, NtStatus::SUCCESS);
        c.tree = a.header.tree_id();
        c
    }

    /// TREE_CONNECT to `share` on the server's test host name (the client's tree is unchanged).
    pub fn tree_connect(&mut self, share: &str) -> Answer {
        let tc = TreeConnectRequest {
            path: format!("\\\\{HOST}\\{share}"),
            ..Default::default()
        };
        self.call_on(Command::TREE_CONNECT, 0, &tc)
    }

    /// A signed request on tree `tree_id`.
    pub fn signed_on(&mut self, command: Command, tree_id: u32, body: &impl Encode) -> Vec<u8> {
        let header = request_header(command, self.next_id, self.session_id, tree_id, 0);
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

    /// A signed request on tree `tree_id` that gets exactly one answer.
    pub fn call_on(&mut self, command: Command, tree_id: u32, body: &impl Encode) -> Answer {
        let msg = self.signed_on(command, tree_id, body);
        one(&mut self.conn, &msg).unwrap()
    }

    /// Like [`Client::call_on`], and the answer must carry the session's signature.
    pub fn call_signed_on(&mut self, command: Command, tree_id: u32, body: &impl Encode) -> Answer {
        let a = self.call_on(command, tree_id, body);
        assert!(
            self.signed_by_session(&a),
            "{:?} ({:?}) response is signed with the session key",
            a.header.command,
            a.header.status
        );
        a
    }

    /// Whether `a` is flagged signed and its signature verifies with the session's key.
    pub fn signed_by_session(&self, a: &Answer) -> bool {
        let mut raw = a.raw.clone();
        a.header.flags.has(HeaderFlags::SIGNED)
            && signing::verify(
                self.keys.signing_algorithm,
                &self.keys.signing_key,
                &mut raw,
            )
    }

    /// A signed request on the client's tree.
    pub fn signed(&mut self, command: Command, body: &impl Encode) -> Vec<u8> {
        self.signed_on(command, self.tree, body)
    }

    /// Sends a request; returns every message that came back (each one answer here).
    pub fn send(&mut self, command: Command, body: &impl Encode) -> Vec<Answer> {
        let msg = self.signed(command, body);
        exchange_messages(&mut self.conn, &msg)
            .unwrap()
            .into_iter()
            .flatten()
            .collect()
    }

    /// Sends a request that gets exactly one answer.
    pub fn call(&mut self, command: Command, body: &impl Encode) -> Answer {
        let msg = self.signed(command, body);
        one(&mut self.conn, &msg).unwrap()
    }

    /// Runs the engine's retry of waiting requests (what the 20 ms tick does).
    pub fn poll(&mut self) -> Vec<Answer> {
        self.conn
            .poll_pending()
            .iter()
            .flat_map(|m| answers(m))
            .collect()
    }

    /// Polls until a final response arrives (at most ~2 s).
    pub fn wait(&mut self) -> Answer {
        for _ in 0..200 {
            let mut got = self.poll();
            if let Some(a) = got.pop() {
                return a;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no final response");
    }

    /// CANCEL of the async request `async_id` (3.3.5.16): returns what came back.
    pub fn cancel(&mut self, async_id: u64) -> Vec<Answer> {
        let header = request_header(Command::CANCEL, self.next_id, self.session_id, self.tree, 0);
        let mut msg = message(&header, &CancelRequest);
        msg[16] |= (HeaderFlags::ASYNC_COMMAND | HeaderFlags::SIGNED) as u8;
        msg[32..40].copy_from_slice(&async_id.to_le_bytes());
        signing::sign(
            self.keys.signing_algorithm,
            &self.keys.signing_key,
            &mut msg,
        );
        exchange_messages(&mut self.conn, &msg)
            .unwrap()
            .into_iter()
            .flatten()
            .collect()
    }

    /// CREATE with `options`; returns the status and the FileId.
    pub fn try_create(&mut self, name: &str, disposition: u32, options: u32) -> (NtStatus, FileId) {
        let req = CreateRequest {
            impersonation_level: 2,
            desired_access: 0x0012_019F | 0x0001_0000,
            share_access: 7,
            create_disposition: disposition,
            create_options: options,
            name: rsmbd_protocol::codec::string_to_utf16le(name).into(),
            create_contexts: Vec::<CreateContext<'_>>::new(),
            ..Default::default()
        };
        let a = self.call(Command::CREATE, &req);
        match a.body() {
            Response::Create(r) => (a.header.status, r.file_id),
            _ => (a.header.status, FileId::default()),
        }
    }

    /// CREATE that must succeed.
    pub fn create(&mut self, name: &str, disposition: u32, options: u32) -> FileId {
        let (status, id) = self.try_create(name, disposition, options);
        assert_eq!(status, NtStatus::SUCCESS, "create {name}");
        id
    }

    /// CLOSE; returns every message that came back (the CLOSE response first).
    pub fn close(&mut self, file_id: FileId) -> Vec<Answer> {
        let close = CloseRequest {
            file_id,
            ..Default::default()
        };
        self.send(Command::CLOSE, &close)
    }
}
