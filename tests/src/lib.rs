//! Support for cross-crate scenarios: a server context over a temporary share, and a tiny
//! client that builds requests with the `protocol` encoders and reads the engine's answers.
//! Scenarios live in `tests/tests/`; they drive [`rsmbd::engine::Connection`] with bytes, and
//! a few go over real TCP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod client;
pub mod fuzzing;
pub mod kdc;

use std::net::SocketAddr;
use std::sync::Arc;

use rsmbd::config::{Config, ShareSection};
use rsmbd::engine::context::ServerContext;
use rsmbd::engine::{Connection, Disconnect};
use rsmbd_auth::{AcceptorConfig, Keytab};
use rsmbd_protocol::messages::negotiate::{Dialect, NegotiateContext, NegotiateRequest};
use rsmbd_protocol::{
    Command, Encode, Header, HeaderFlags, HeaderKind, Message, NtStatus, Response, Writer,
};
use rsmbd_share::registry::{ShareConfig, ShareKind, ShareRegistry};

/// An empty MIT keytab (format 0x0502, no entries): enough for everything before a logon.
pub const EMPTY_KEYTAB: [u8; 2] = [0x05, 0x02];

/// A server context over `share_dir` with the given keytab.
pub fn context(share_dir: &std::path::Path, keytab: &[u8]) -> Arc<ServerContext> {
    context_with(share_dir, keytab, |_| {})
}

/// Like [`context`], with the configuration adjusted by `tweak` first.
pub fn context_with(
    share_dir: &std::path::Path,
    keytab: &[u8],
    tweak: impl FnOnce(&mut Config),
) -> Arc<ServerContext> {
    context_with_clock(share_dir, keytab, tweak, None)
}

/// Like [`context_with`], reading the time from `clock` (the system clock when `None`). Every
/// `[[share]]` of the tweaked configuration is served (the first over `share_dir`).
pub fn context_with_clock(
    share_dir: &std::path::Path,
    keytab: &[u8],
    tweak: impl FnOnce(&mut Config),
    clock: Option<Arc<dyn rsmbd::engine::clock::Clock>>,
) -> Arc<ServerContext> {
    let mut config = Config {
        keytab: Some("/unused".into()),
        shares: vec![ShareSection {
            name: "data".into(),
            path: share_dir.to_path_buf(),
            comment: "test share".into(),
            read_only: false,
            valid_users: None,
            encrypt_data: false,
        }],
        ..Config::default()
    };
    tweak(&mut config);
    config.validate().unwrap();
    let shares = config
        .shares
        .iter()
        .map(|s| ShareConfig {
            name: s.name.clone(),
            kind: ShareKind::Disk {
                path: s.path.clone(),
            },
            comment: s.comment.clone(),
            valid_users: s.valid_users.clone(),
            read_only: s.read_only,
            encrypt_data: s.encrypt_data,
        })
        .collect();
    let registry = ShareRegistry::new(config.server_name.clone(), shares).unwrap();
    let acceptor = AcceptorConfig::new(Arc::new(Keytab::parse(keytab).unwrap()));
    let mut ctx = ServerContext::new(config, Arc::new(registry), Arc::new(acceptor)).unwrap();
    if let Some(clock) = clock {
        ctx.clock = clock;
    }
    Arc::new(ctx)
}

/// A test peer address.
pub fn peer() -> SocketAddr {
    "192.0.2.1:50000".parse().unwrap()
}

/// A sync request header as clients send it, with the fields scenarios vary.
pub fn request_header(
    command: Command,
    message_id: u64,
    session_id: u64,
    tree_id: u32,
    flags: u32,
) -> Header {
    Header {
        credit_charge: 1,
        status: NtStatus::SUCCESS,
        command,
        credits: 31,
        flags: HeaderFlags(flags),
        next_command: 0,
        message_id,
        kind: HeaderKind::Sync {
            process_id: 0xFEFF,
            tree_id,
        },
        session_id,
        signature: [0; 16],
    }
}

/// One whole request message: `header`, then `body`.
pub fn message(header: &Header, body: &impl Encode) -> Vec<u8> {
    let mut w = Writer::new();
    w.start_message();
    header.encode(&mut w);
    body.encode(&mut w);
    w.as_slice().to_vec()
}

/// One request message outside any tree.
pub fn request(command: Command, message_id: u64, session_id: u64, body: &impl Encode) -> Vec<u8> {
    message(&request_header(command, message_id, session_id, 0, 0), body)
}

/// A 3.1.1-capable NEGOTIATE offering every dialect, with the usual contexts.
pub fn negotiate_request() -> NegotiateRequest {
    NegotiateRequest {
        security_mode: 1,
        capabilities: 0x7F,
        client_guid: [0x11; 16],
        dialects: vec![
            Dialect::SMB2_0_2,
            Dialect::SMB2_1,
            Dialect::SMB3_0,
            Dialect::SMB3_0_2,
            Dialect::SMB3_1_1,
        ],
        negotiate_contexts: vec![
            NegotiateContext::PreauthIntegrity {
                hash_algorithms: vec![1],
                salt: vec![7; 32],
            },
            NegotiateContext::Encryption {
                ciphers: vec![2, 1],
            },
            NegotiateContext::Signing {
                algorithms: vec![1, 0],
            },
        ],
    }
}

/// What the engine answered to one member.
#[derive(Debug)]
pub struct Answer {
    /// Its header.
    pub header: Header,
    /// Its raw bytes (header included).
    pub raw: Vec<u8>,
}

impl Answer {
    /// Decodes the body as the response to `command`.
    pub fn body(&self) -> Response<'_> {
        Response::decode(
            self.header.command,
            self.header.status,
            Message::new(&self.raw),
        )
        .unwrap()
    }
}

/// Splits one reply message into its compound members.
pub fn answers(msg: &[u8]) -> Vec<Answer> {
    rsmbd_protocol::split_compound(msg)
        .map(|m| {
            let m = m.unwrap();
            Answer {
                header: Header::decode(m).unwrap(),
                raw: m.to_vec(),
            }
        })
        .collect()
}

/// Feeds one frame; returns every message sent back (each a list of compound members).
pub fn exchange_messages(
    conn: &mut Connection,
    frame: &[u8],
) -> Result<Vec<Vec<Answer>>, Disconnect> {
    let mut buf = frame.to_vec();
    Ok(conn
        .handle_message(&mut buf)?
        .iter()
        .map(|m| answers(m))
        .collect())
}

/// Feeds one frame; returns the answers (one per compound member) or the disconnect.
pub fn exchange(conn: &mut Connection, frame: &[u8]) -> Result<Vec<Answer>, Disconnect> {
    let mut messages = exchange_messages(conn, frame)?;
    assert!(
        messages.len() <= 1,
        "one reply message expected, got {}",
        messages.len()
    );
    Ok(messages.pop().unwrap_or_default())
}

/// Feeds one single-message frame and expects exactly one answer.
pub fn one(conn: &mut Connection, frame: &[u8]) -> Result<Answer, Disconnect> {
    let mut answers = exchange(conn, frame)?;
    assert_eq!(answers.len(), 1, "one answer expected");
    Ok(answers.remove(0))
}

/// A connection that has negotiated 3.1.1 (MessageId 0 used).
pub fn negotiated(ctx: &Arc<ServerContext>) -> Connection {
    let mut conn = Connection::new(ctx.clone(), peer());
    let a = one(
        &mut conn,
        &request(Command::NEGOTIATE, 0, 0, &negotiate_request()),
    )
    .unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    conn
}
