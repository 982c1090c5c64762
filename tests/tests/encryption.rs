//! SMB3 encryption driven with bytes (MS-SMB2 3.1.4.3, 3.3.5.2.1.1, 3.3.4.1.4): a Kerberos
//! logon per cipher (3.1.1 ENCRYPTION context, and 3.0 with SMB2_GLOBAL_CAP_ENCRYPTION), then
//! encrypted TREE_CONNECT/CREATE/WRITE/READ/CLOSE whose replies must be transform messages the
//! client opens with keys it derived itself; a whole compound as one transform; tampered and
//! wrongly addressed transforms disconnect and never reach the disk; `encrypt = required`,
//! the SESSION_FLAG_ENCRYPT_DATA flag and an `encrypt_data` share refusing plaintext clients.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use rsmbd::config::{Config, ShareSection};
use rsmbd::engine::Connection;
use rsmbd::engine::context::ServerContext;
use rsmbd_auth::{AcceptorConfig, Keytab};
use rsmbd_protocol::messages::close::CloseRequest;
use rsmbd_protocol::messages::create::CreateRequest;
use rsmbd_protocol::messages::negotiate::{Dialect, NegotiateContext, NegotiateRequest};
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::session_setup::{SessionFlags, SessionSetupRequest};
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::transform::{TRANSFORM_HEADER_SIZE, TransformHeader};
use rsmbd_protocol::{Command, Encode, FileId, HeaderFlags, NtStatus, Response};
use rsmbd_share::crypto::encryption::{Cipher, CipherKey, NonceSequence, open, seal};
use rsmbd_share::crypto::keys::KeyDialect;
use rsmbd_share::crypto::{PreauthHash, SessionKeys, SigningAlgorithm, signing};
use rsmbd_share::registry::{ShareConfig, ShareKind, ShareRegistry};
use rsmbd_tests::kdc::{HOST, TestKdc};
use rsmbd_tests::*;

/// A server whose "data" share has `encrypt_data` as given, with the config tweaked.
fn server(
    dir: &std::path::Path,
    kdc: &TestKdc,
    encrypt_data: bool,
    tweak: impl FnOnce(&mut Config),
) -> Arc<ServerContext> {
    let mut config = Config {
        keytab: Some("/unused".into()),
        shares: vec![ShareSection {
            name: "data".into(),
            path: dir.to_path_buf(),
            comment: String::new(),
            read_only: false,
            valid_users: None,
            encrypt_data,
        }],
        ..Config::default()
    };
    tweak(&mut config);
    config.validate().unwrap();
    let registry = ShareRegistry::new(
        config.server_name.clone(),
        vec![ShareConfig {
            name: "data".into(),
            kind: ShareKind::Disk {
                path: dir.to_path_buf(),
            },
            comment: String::new(),
            valid_users: None,
            read_only: false,
            encrypt_data,
        }],
    )
    .unwrap();
    let acceptor = AcceptorConfig::new(Arc::new(Keytab::parse(&kdc.keytab_bytes()).unwrap()));
    Arc::new(ServerContext::new(config, Arc::new(registry), Arc::new(acceptor)).unwrap())
}

/// What the client offers.
#[derive(Clone, Copy)]
enum Offer {
    /// 3.1.1 only, with an ENCRYPTION context listing these ids.
    Smb311(&'static [u16]),
    /// 3.0 only, with SMB2_GLOBAL_CAP_ENCRYPTION.
    Smb30,
    /// 2.1 only: no encryption possible.
    Smb21,
}

struct Client {
    conn: Connection,
    session_id: u64,
    keys: SessionKeys,
    /// Client-to-server key (the server's DecryptionKey) and server-to-client key.
    c2s: Option<CipherKey>,
    s2c: Option<CipherKey>,
    nonces: NonceSequence,
    next_id: u64,
    session_flags: u16,
}

fn negotiate_for(offer: Offer) -> NegotiateRequest {
    let mut req = negotiate_request();
    match offer {
        Offer::Smb311(ids) => {
            req.dialects = vec![Dialect::SMB3_1_1];
            for c in &mut req.negotiate_contexts {
                if let NegotiateContext::Encryption { ciphers } = c {
                    *ciphers = ids.to_vec();
                }
            }
        }
        Offer::Smb30 => {
            req.dialects = vec![Dialect::SMB3_0];
            req.negotiate_contexts.clear();
        }
        Offer::Smb21 => {
            req.dialects = vec![Dialect::SMB2_1];
            req.negotiate_contexts.clear();
            req.capabilities = 0x3F; // no SMB2_GLOBAL_CAP_ENCRYPTION
        }
    }
    req
}

/// Logs on; returns the client or the SESSION_SETUP status when refused.
fn try_logon(ctx: &Arc<ServerContext>, kdc: &TestKdc, offer: Offer) -> Result<Client, NtStatus> {
    let mut conn = Connection::new(ctx.clone(), peer());
    let mut preauth = PreauthHash::default();
    let negotiate = request(Command::NEGOTIATE, 0, 0, &negotiate_for(offer));
    let a = one(&mut conn, &negotiate).unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    preauth.update(&negotiate);
    preauth.update(&a.raw);
    let (dialect, cipher) = match (offer, a.body()) {
        (Offer::Smb311(_), Response::Negotiate(n)) => {
            let chosen = n.negotiate_contexts.iter().find_map(|c| match c {
                NegotiateContext::Encryption { ciphers } => {
                    assert_eq!(ciphers.len(), 1, "the response names one cipher");
                    Some(ciphers[0])
                }
                _ => None,
            });
            (KeyDialect::Smb311, chosen.and_then(Cipher::from_id))
        }
        (Offer::Smb30, Response::Negotiate(n)) => {
            assert_ne!(
                n.capabilities & 0x40,
                0,
                "SMB2_GLOBAL_CAP_ENCRYPTION answered"
            );
            (KeyDialect::Smb30, Some(Cipher::Aes128Ccm))
        }
        (Offer::Smb21, Response::Negotiate(n)) => {
            assert_eq!(n.capabilities & 0x40, 0);
            (KeyDialect::Smb2, None)
        }
        (_, other) => panic!("{other:?}"),
    };

    let (token, session_key) = kdc.spnego_ap_req("alice");
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: token.into(),
        ..Default::default()
    };
    let setup = request(Command::SESSION_SETUP, 1, 0, &setup);
    preauth.update(&setup);
    let a = one(&mut conn, &setup).unwrap();
    if a.header.status != NtStatus::SUCCESS {
        return Err(a.header.status);
    }
    let session_flags = match a.body() {
        Response::SessionSetup(s) => s.session_flags,
        other => panic!("{other:?}"),
    };
    let signing_algorithm = if dialect == KeyDialect::Smb2 {
        SigningAlgorithm::HmacSha256
    } else {
        SigningAlgorithm::AesCmac
    };
    let keys = SessionKeys::derive(
        dialect,
        session_key.as_bytes(),
        Some(&preauth),
        signing_algorithm,
        cipher.map_or(16, |c| c.key_len()),
    );
    let mut raw = a.raw.clone();
    assert!(
        signing::verify(keys.signing_algorithm, &keys.signing_key, &mut raw),
        "final SESSION_SETUP response signed with the key the client derived"
    );
    let (c2s, s2c) = match (cipher, &keys.dialect3) {
        (Some(c), Some(d3)) => (
            CipherKey::new(c, &d3.decryption),
            CipherKey::new(c, &d3.encryption),
        ),
        _ => (None, None),
    };
    Ok(Client {
        conn,
        session_id: a.header.session_id,
        keys,
        c2s,
        s2c,
        nonces: NonceSequence::new(),
        next_id: 2,
        session_flags,
    })
}

fn logon(ctx: &Arc<ServerContext>, kdc: &TestKdc, offer: Offer) -> Client {
    try_logon(ctx, kdc, offer).unwrap()
}

impl Client {
    fn plain(&mut self, command: Command, tree_id: u32, flags: u32, body: &impl Encode) -> Vec<u8> {
        let header = request_header(command, self.next_id, self.session_id, tree_id, flags);
        self.next_id += 1;
        message(&header, body)
    }

    fn signed(&mut self, command: Command, tree_id: u32, body: &impl Encode) -> Vec<u8> {
        let mut m = self.plain(command, tree_id, HeaderFlags::SIGNED, body);
        signing::sign(self.keys.signing_algorithm, &self.keys.signing_key, &mut m);
        m
    }

    /// Seals a whole (possibly compound) message as the client would.
    fn seal(&mut self, message: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; TRANSFORM_HEADER_SIZE];
        f.extend_from_slice(message);
        seal(
            self.c2s.as_ref().unwrap(),
            &mut self.nonces,
            self.session_id,
            &mut f,
        )
        .unwrap();
        f
    }

    /// Opens a reply that must be a transform message; returns its members.
    fn open_reply(&self, reply: &[u8]) -> Vec<Answer> {
        assert!(
            TransformHeader::is_transform(reply),
            "the reply is encrypted"
        );
        let mut f = reply.to_vec();
        let h = open(self.s2c.as_ref().unwrap(), &mut f).expect("the client opens the reply");
        assert_eq!(h.session_id, self.session_id);
        let members = answers(&f[TRANSFORM_HEADER_SIZE..]);
        for m in &members {
            assert!(
                !m.header.flags.has(HeaderFlags::SIGNED),
                "encrypted replies are not signed"
            );
        }
        members
    }

    /// Sends one encrypted request and returns the single decrypted answer.
    fn call(&mut self, command: Command, tree_id: u32, body: &impl Encode) -> Answer {
        let m = self.plain(command, tree_id, 0, body);
        let mut frame = self.seal(&m);
        let out = self.conn.handle_message(&mut frame).unwrap();
        assert_eq!(out.len(), 1);
        let mut a = self.open_reply(&out[0]);
        assert_eq!(a.len(), 1);
        a.remove(0)
    }
}

fn tree_connect_req() -> TreeConnectRequest {
    TreeConnectRequest {
        path: format!("\\\\{HOST}\\data"),
        ..Default::default()
    }
}

fn create_req(name: &str) -> CreateRequest<'static> {
    CreateRequest {
        impersonation_level: 2,
        desired_access: 0x0012_019F,
        share_access: 7,
        create_disposition: 5, // OVERWRITE_IF
        name: rsmbd_protocol::codec::string_to_utf16le(name).into(),
        ..Default::default()
    }
}

fn file_id(a: &Answer) -> FileId {
    match a.body() {
        Response::Create(r) => r.file_id,
        other => panic!("{other:?}"),
    }
}

/// TREE_CONNECT, CREATE, WRITE, READ, CLOSE, all encrypted; the file is on disk.
fn encrypted_round_trip(c: &mut Client, dir: &std::path::Path, name: &str) {
    let a = c.call(Command::TREE_CONNECT, 0, &tree_connect_req());
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    let tree = a.header.tree_id();
    let a = c.call(Command::CREATE, tree, &create_req(name));
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    let file = file_id(&a);
    let data = format!("secret payload for {name}").into_bytes();
    let write = WriteRequest {
        file_id: file,
        data: data.clone().into(),
        ..Default::default()
    };
    assert_eq!(
        c.call(Command::WRITE, tree, &write).header.status,
        NtStatus::SUCCESS
    );
    let read = ReadRequest {
        length: 4096,
        file_id: file,
        ..Default::default()
    };
    match c.call(Command::READ, tree, &read).body() {
        Response::Read(r) => assert_eq!(&r.data[..], &data[..]),
        other => panic!("{other:?}"),
    }
    let close = CloseRequest {
        flags: 0,
        file_id: file,
    };
    assert_eq!(
        c.call(Command::CLOSE, tree, &close).header.status,
        NtStatus::SUCCESS
    );
    assert_eq!(std::fs::read(dir.join(name)).unwrap(), data);
}

#[test]
fn logoff_is_answered_encrypted_with_the_departing_sessions_key() {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = server(dir.path(), &kdc, false, |_| {});
    let mut c = logon(&ctx, &kdc, Offer::Smb311(&[4]));
    let a = c.call(
        Command::LOGOFF,
        0,
        &rsmbd_protocol::messages::logoff::LogoffRequest,
    );
    assert_eq!(a.header.status, NtStatus::SUCCESS);
}

#[test]
fn each_cipher_at_311_and_ccm_at_30_round_trips_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = server(dir.path(), &kdc, false, |_| {});
    for cipher in Cipher::ALL {
        // An unknown id (0x7777) first: it is skipped, not an error.
        let ids: &'static [u16] = Box::leak(vec![0x7777, cipher.id()].into_boxed_slice());
        let mut c = logon(&ctx, &kdc, Offer::Smb311(ids));
        assert_eq!(
            c.c2s.as_ref().unwrap().cipher(),
            cipher,
            "the only common cipher is chosen"
        );
        assert_eq!(
            c.session_flags & SessionFlags::ENCRYPT_DATA,
            0,
            "encrypt = enabled"
        );
        encrypted_round_trip(&mut c, dir.path(), &format!("{}.txt", cipher.name()));
    }
    let mut c = logon(&ctx, &kdc, Offer::Smb30);
    encrypted_round_trip(&mut c, dir.path(), "smb30.txt");
}

#[test]
fn server_preference_order_decides_at_311() {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = server(dir.path(), &kdc, false, |_| {});
    let c = logon(&ctx, &kdc, Offer::Smb311(&[1, 3, 4, 2]));
    assert_eq!(
        c.c2s.unwrap().cipher(),
        Cipher::Aes128Gcm,
        "Samba's default order"
    );
    let ctx = server(dir.path(), &kdc, false, |cfg| {
        cfg.encryption_ciphers = vec!["AES-256-GCM".into(), "AES-128-GCM".into()];
    });
    let c = logon(&ctx, &kdc, Offer::Smb311(&[1, 2, 4]));
    assert_eq!(
        c.c2s.unwrap().cipher(),
        Cipher::Aes256Gcm,
        "configured order"
    );
    // No common cipher: CipherId 0 in the response, no encryption on the connection.
    let c = logon(&ctx, &kdc, Offer::Smb311(&[3]));
    assert!(c.c2s.is_none());
}

#[test]
fn a_whole_compound_is_one_transform_each_way() {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = server(dir.path(), &kdc, false, |_| {});
    let mut c = logon(&ctx, &kdc, Offer::Smb311(&[4]));
    let tree = c
        .call(Command::TREE_CONNECT, 0, &tree_connect_req())
        .header
        .tree_id();
    let mut create = c.plain(Command::CREATE, tree, 0, &create_req("compound.txt"));
    let write = WriteRequest {
        file_id: FileId::COMPOUND_PREVIOUS,
        data: b"in one transform".to_vec().into(),
        ..Default::default()
    };
    let mut write = c.plain(
        Command::WRITE,
        tree,
        HeaderFlags::RELATED_OPERATIONS,
        &write,
    );
    let close = CloseRequest {
        flags: 0,
        file_id: FileId::COMPOUND_PREVIOUS,
    };
    let close = c.plain(
        Command::CLOSE,
        tree,
        HeaderFlags::RELATED_OPERATIONS,
        &close,
    );
    for m in [&mut create, &mut write] {
        while m.len() % 8 != 0 {
            m.push(0);
        }
        let len = m.len() as u32;
        m[20..24].copy_from_slice(&len.to_le_bytes());
    }
    let compound = [create, write, close].concat();
    let mut frame = c.seal(&compound);
    let out = c.conn.handle_message(&mut frame).unwrap();
    assert_eq!(out.len(), 1, "one reply message");
    let members = c.open_reply(&out[0]);
    let statuses: Vec<_> = members.iter().map(|m| m.header.status).collect();
    assert_eq!(statuses, vec![NtStatus::SUCCESS; 3]);
    assert_eq!(
        std::fs::read(dir.path().join("compound.txt")).unwrap(),
        b"in one transform"
    );
}

#[test]
fn tampered_replayed_or_misaddressed_transforms_disconnect_and_never_reach_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = server(dir.path(), &kdc, false, |_| {});
    let mut c = logon(&ctx, &kdc, Offer::Smb311(&[2]));
    let tree = c
        .call(Command::TREE_CONNECT, 0, &tree_connect_req())
        .header
        .tree_id();
    let file = file_id(&c.call(Command::CREATE, tree, &create_req("victim.txt")));
    let write = WriteRequest {
        file_id: file,
        data: b"original".to_vec().into(),
        ..Default::default()
    };
    assert_eq!(
        c.call(Command::WRITE, tree, &write).header.status,
        NtStatus::SUCCESS
    );

    let evil = WriteRequest {
        file_id: file,
        data: b"EVIL!!!!".to_vec().into(),
        ..Default::default()
    };
    let m = c.plain(Command::WRITE, tree, 0, &evil);
    let sealed = c.seal(&m);
    // Every position: header AAD, ciphertext of the header, of the payload.
    for at in [30, 50, 60, 140, sealed.len() - 1] {
        let mut conn_c = logon(&ctx, &kdc, Offer::Smb311(&[2]));
        // Re-seal under this client's own key so only the flipped byte is wrong.
        conn_c.next_id = 2;
        let tree = conn_c
            .call(Command::TREE_CONNECT, 0, &tree_connect_req())
            .header
            .tree_id();
        let mut open_req = create_req("victim.txt");
        open_req.create_disposition = 1; // OPEN
        let f = file_id(&conn_c.call(Command::CREATE, tree, &open_req));
        let evil = WriteRequest {
            file_id: f,
            data: b"EVIL!!!!".to_vec().into(),
            ..Default::default()
        };
        let m = conn_c.plain(Command::WRITE, tree, 0, &evil);
        let mut frame = conn_c.seal(&m);
        frame[at] ^= 0x01;
        let r = conn_c.conn.handle_message(&mut frame);
        assert!(r.is_err(), "flip at {at} disconnects");
    }
    assert_eq!(
        std::fs::read(dir.path().join("victim.txt")).unwrap(),
        b"original",
        "nothing from a tampered message reached the disk"
    );
    // The untampered message replayed: the MessageId was used, the credit window refuses it.
    let mut frame = sealed.clone();
    assert!(c.conn.handle_message(&mut frame).is_ok());
    let mut frame = sealed.clone();
    assert!(
        c.conn.handle_message(&mut frame).is_err(),
        "a replay disconnects"
    );
    assert_eq!(
        std::fs::read(dir.path().join("victim.txt")).unwrap(),
        b"EVIL!!!!"
    );

    // A transform naming another session, and one sealed with the wrong direction's key.
    let mut c = logon(&ctx, &kdc, Offer::Smb311(&[2]));
    let m = c.plain(
        Command::ECHO,
        0,
        0,
        &rsmbd_protocol::messages::echo::EchoRequest,
    );
    let mut f = c.seal(&m);
    f[44..52].copy_from_slice(&(c.session_id ^ 1).to_le_bytes());
    assert!(
        c.conn.handle_message(&mut f).is_err(),
        "unknown session disconnects"
    );
    let mut c = logon(&ctx, &kdc, Offer::Smb311(&[2]));
    c.c2s = c.s2c.clone();
    let m = c.plain(
        Command::ECHO,
        0,
        0,
        &rsmbd_protocol::messages::echo::EchoRequest,
    );
    let mut f = c.seal(&m);
    assert!(
        c.conn.handle_message(&mut f).is_err(),
        "wrongly keyed disconnects"
    );
}

#[test]
fn encrypt_required_sets_the_session_flag_refuses_plaintext_and_non_encrypting_clients() {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = server(dir.path(), &kdc, false, |cfg| {
        cfg.encrypt = "required".into()
    });
    let mut c = logon(&ctx, &kdc, Offer::Smb311(&[1]));
    assert_ne!(
        c.session_flags & SessionFlags::ENCRYPT_DATA,
        0,
        "SMB2_SESSION_FLAG_ENCRYPT_DATA"
    );
    let m = c.signed(Command::TREE_CONNECT, 0, &tree_connect_req());
    let a = one(&mut c.conn, &m).unwrap();
    assert_eq!(
        a.header.status,
        NtStatus::ACCESS_DENIED,
        "plaintext on an encrypting session"
    );
    encrypted_round_trip(&mut c, dir.path(), "required.txt");

    assert_eq!(
        try_logon(&ctx, &kdc, Offer::Smb21).err(),
        Some(NtStatus::ACCESS_DENIED),
        "a client that cannot encrypt gets no session"
    );
    assert_eq!(
        try_logon(&ctx, &kdc, Offer::Smb311(&[0x55])).err(),
        Some(NtStatus::ACCESS_DENIED)
    );
}

#[test]
fn an_encrypt_data_share_refuses_plaintext_and_serves_an_encrypting_client() {
    let dir = tempfile::tempdir().unwrap();
    let kdc = TestKdc::new();
    let ctx = server(dir.path(), &kdc, true, |_| {});
    // SMB 2.1: cannot encrypt, refused at TREE_CONNECT (MS-SMB2 3.3.5.7).
    let mut c = logon(&ctx, &kdc, Offer::Smb21);
    let m = c.signed(Command::TREE_CONNECT, 0, &tree_connect_req());
    assert_eq!(
        one(&mut c.conn, &m).unwrap().header.status,
        NtStatus::ACCESS_DENIED
    );

    // 3.1.1 with a cipher: the share flag is set; plaintext requests on the tree are refused.
    let mut c = logon(&ctx, &kdc, Offer::Smb311(&[2]));
    let m = c.signed(Command::TREE_CONNECT, 0, &tree_connect_req());
    let a = one(&mut c.conn, &m).unwrap();
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    match a.body() {
        Response::TreeConnect(t) => assert_ne!(t.share_flags & 0x8000, 0, "SHAREFLAG_ENCRYPT_DATA"),
        other => panic!("{other:?}"),
    }
    let tree = a.header.tree_id();
    let m = c.signed(Command::CREATE, tree, &create_req("plain.txt"));
    assert_eq!(
        one(&mut c.conn, &m).unwrap().header.status,
        NtStatus::ACCESS_DENIED
    );
    assert!(!dir.path().join("plain.txt").exists());
    let a = c.call(Command::CREATE, tree, &create_req("enc.txt"));
    assert_eq!(a.header.status, NtStatus::SUCCESS);
    assert!(dir.path().join("enc.txt").exists());
}
