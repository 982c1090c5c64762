//! Oracles for hostile input (issue 6), shared by the cargo-fuzz targets in `fuzz/` and the
//! corpus replay test `tests/tests/fuzz_corpus.rs`, so every input a fuzzer ever kept is
//! re-checked by `cargo test` on stable. Each oracle takes arbitrary bytes and panics only
//! when an invariant breaks: a decoder panics, a decode→encode→decode round trip changes a
//! value, an acceptor step after the end is not refused, the engine answers with bytes that do
//! not decode, or a file appears outside the share root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use rsmbd::engine::Connection;
use rsmbd_auth::asn1::spnego::{NegTokenInit, NegotiationToken};
use rsmbd_auth::gss::{self, oid};
use rsmbd_auth::{Acceptor, AcceptorConfig, Keytab, ReplayCache, Step};
use rsmbd_protocol::create_context::{decode_create_contexts, encode_create_contexts};
use rsmbd_protocol::messages::change_notify::ChangeNotifyRequest;
use rsmbd_protocol::messages::close::CloseRequest;
use rsmbd_protocol::messages::create::CreateRequest;
use rsmbd_protocol::messages::echo::EchoRequest;
use rsmbd_protocol::messages::flush::FlushRequest;
use rsmbd_protocol::messages::ioctl::IoctlRequest;
use rsmbd_protocol::messages::lock::{LockElement, LockRequest};
use rsmbd_protocol::messages::logoff::LogoffRequest;
use rsmbd_protocol::messages::negotiate::{Dialect, NegotiateRequest};
use rsmbd_protocol::messages::query_directory::QueryDirectoryRequest;
use rsmbd_protocol::messages::query_info::QueryInfoRequest;
use rsmbd_protocol::messages::read::ReadRequest;
use rsmbd_protocol::messages::session_setup::SessionSetupRequest;
use rsmbd_protocol::messages::set_info::SetInfoRequest;
use rsmbd_protocol::messages::tree_connect::TreeConnectRequest;
use rsmbd_protocol::messages::tree_disconnect::TreeDisconnectRequest;
use rsmbd_protocol::messages::write::WriteRequest;
use rsmbd_protocol::negotiate_context::{decode_negotiate_contexts, encode_negotiate_contexts};
use rsmbd_protocol::{
    Command, Encode, FileId, Header, HeaderFlags, Message, NtStatus, Request, Response,
    TransformHeader, Writer, pad_to_8, split_compound,
};
use rsmbd_share::ipc::pipe::MAX_QUEUED_OUTPUT;
use rsmbd_share::ipc::{PipeServerInfo, PipeShareInfo, STYPE_DISKTREE, STYPE_IPC, open_pipe};
use zeroize::Zeroizing;

use crate::kdc::{HOST, TestKdc};

/// An oracle: panics when `data` breaks an invariant.
pub type Oracle = fn(&[u8]);

/// Every oracle by target name (the names of the `fuzz/fuzz_targets/*.rs` files and of the
/// `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` directories).
pub const TARGETS: &[(&str, Oracle)] = &[
    ("smb2_decode", smb2_decode),
    ("transform_header", transform_header),
    ("compound_split", compound_split),
    ("negotiate_contexts", negotiate_contexts),
    ("create_contexts", create_contexts),
    ("spnego", spnego),
    ("ap_req", ap_req),
    ("keytab", keytab),
    ("dcerpc", dcerpc),
    ("engine", engine),
];

/// A cursor that turns fuzz bytes into choices; reads past the end yield zeros, so every
/// input maps to some run.
#[derive(Debug)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }
    /// True when every byte was used.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// Up to `n` bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }
    /// The remaining bytes.
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }
    /// One byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }
    /// A little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    /// A little-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from(self.u16()) | (u32::from(self.u16()) << 16)
    }
    /// A little-endian u64.
    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }
    /// One element of `list` (non-empty).
    pub fn pick<T: Copy>(&mut self, list: &[T]) -> T {
        let i = usize::from(self.u8()) % list.len();
        list[i]
    }
    /// One element of `list`, or `other` read from the input.
    pub fn pick_or<T: Copy>(&mut self, list: &[T], other: impl FnOnce(&mut Self) -> T) -> T {
        let i = usize::from(self.u8()) % (list.len() + 1);
        match list.get(i) {
            Some(v) => *v,
            None => other(self),
        }
    }
    /// A length-prefixed (u16) byte string.
    pub fn chunk(&mut self) -> &'a [u8] {
        let n = usize::from(self.u16());
        self.bytes(n)
    }
}

// ---------------------------------------------------------------- protocol decoders

/// Statuses whose response bodies differ (MS-SMB2 3.3.4.4): the ERROR body, the normal body,
/// and the exceptions for MORE_PROCESSING_REQUIRED and BUFFER_OVERFLOW.
pub const STATUSES: &[NtStatus] = &[
    NtStatus::SUCCESS,
    NtStatus::PENDING,
    NtStatus::MORE_PROCESSING_REQUIRED,
    NtStatus::BUFFER_OVERFLOW,
    NtStatus::NO_MORE_FILES,
    NtStatus::INVALID_PARAMETER,
    NtStatus::ACCESS_DENIED,
    NtStatus::NOTIFY_ENUM_DIR,
];

/// Re-encodes a decoded body behind the original 64 header bytes (zero-padded).
fn reencode(msg: &[u8], body: &impl Encode) -> Vec<u8> {
    let mut header = [0u8; 64];
    for (d, s) in header.iter_mut().zip(msg) {
        *d = *s;
    }
    let mut w = Writer::new();
    w.start_message();
    w.bytes(&header);
    body.encode(&mut w);
    w.as_slice().to_vec()
}

/// [MS-SMB2 2.2] Input: command selector, status selector, then one message (header and
/// body). Request and response decoders must not panic, and what they accept must survive
/// encode→decode with equal values; the same for the 64-byte header.
pub fn smb2_decode(data: &[u8]) {
    let mut inp = Input::new(data);
    let command = Command(u16::from(inp.u8() % 20));
    let status = inp.pick(STATUSES);
    let msg = inp.rest();
    if let Ok(req) = Request::decode(command, Message::new(msg)) {
        assert_eq!(req.command(), command);
        let again = reencode(msg, &req);
        match Request::decode(command, Message::new(&again)) {
            Ok(req2) => assert_eq!(req, req2, "{command:?} request round trip"),
            Err(e) => panic!("{command:?} request re-encoded does not decode: {e:?}\n{req:?}"),
        }
    }
    if let Ok(resp) = Response::decode(command, status, Message::new(msg)) {
        let again = reencode(msg, &resp);
        match Response::decode(command, status, Message::new(&again)) {
            Ok(resp2) => assert_eq!(resp, resp2, "{command:?}/{status:?} response round trip"),
            Err(e) => panic!("{command:?} response re-encoded does not decode: {e:?}\n{resp:?}"),
        }
    }
    if let Ok(h) = Header::decode(msg) {
        let mut w = Writer::new();
        w.start_message();
        h.encode(&mut w);
        assert_eq!(
            Header::decode(w.as_slice()).ok(),
            Some(h),
            "header round trip"
        );
    }
}

/// [MS-SMB2 2.2.41] TRANSFORM_HEADER: decode, and what decodes re-encodes to the same bytes
/// apart from Reserved.
pub fn transform_header(data: &[u8]) {
    let Ok(t) = TransformHeader::decode(data) else {
        return;
    };
    let bytes = t.to_bytes();
    assert_eq!(TransformHeader::decode(&bytes).ok(), Some(t));
    assert_eq!(bytes.get(..40), data.get(..40));
    assert_eq!(bytes.get(42..52), data.get(42..52));
}

/// [MS-SMB2 3.3.5.2.7] compound splitting: members are at least one header long, 8-aligned,
/// contiguous, cover the frame when no error is reported, and an error ends the iteration.
pub fn compound_split(data: &[u8]) {
    let mut pos = 0usize;
    let mut members = 0usize;
    let mut errored = false;
    for m in split_compound(data) {
        assert!(!errored, "nothing follows an error");
        members += 1;
        assert!(members <= data.len() / 64 + 1, "bounded member count");
        match m {
            Ok(member) => {
                assert!(member.len() >= 64, "a member holds a header");
                assert!(pos.is_multiple_of(8), "member starts 8-aligned");
                assert_eq!(data.get(pos..pos + member.len()), Some(member));
                pos += member.len();
            }
            Err(_) => errored = true,
        }
    }
    if !errored && members > 0 {
        assert_eq!(pos, data.len(), "members cover the frame");
    }
}

/// [MS-SMB2 2.2.3.1] negotiate context lists: no panic; an accepted list re-encodes to a list
/// that decodes to the same contexts.
pub fn negotiate_contexts(data: &[u8]) {
    let mut inp = Input::new(data);
    let list_offset = 64 + u32::from(inp.u8() % 16) * 4;
    let count = u16::from(inp.u8());
    let list = inp.rest();
    let Ok(contexts) = decode_negotiate_contexts(list, list_offset, count) else {
        return;
    };
    let mut w = Writer::new();
    w.start_message();
    w.zeros(64 + 36);
    let first = encode_negotiate_contexts(&mut w, &contexts);
    let bytes = w.as_slice().get(first as usize..).unwrap_or_default();
    let n = u16::try_from(contexts.len()).unwrap_or(u16::MAX);
    let again = decode_negotiate_contexts(bytes, first, n);
    assert_eq!(
        again.as_ref().ok(),
        Some(&contexts),
        "negotiate contexts round trip"
    );
}

/// [MS-SMB2 2.2.13.2] create context chains: no panic or loop; an accepted chain re-encodes
/// to one that decodes to the same contexts.
pub fn create_contexts(data: &[u8]) {
    let Ok(contexts) = decode_create_contexts(data) else {
        return;
    };
    let mut w = Writer::new();
    encode_create_contexts(&mut w, &contexts);
    let again = decode_create_contexts(w.as_slice());
    assert_eq!(
        again.as_ref().ok(),
        Some(&contexts),
        "create contexts round trip"
    );
}

// ---------------------------------------------------------------- auth

/// The test KDC shared by the auth and engine oracles (one random service key per process).
fn kdc() -> &'static (TestKdc, Arc<AcceptorConfig>) {
    static KDC: OnceLock<(TestKdc, Arc<AcceptorConfig>)> = OnceLock::new();
    KDC.get_or_init(|| {
        let kdc = TestKdc::new();
        let config = Arc::new(AcceptorConfig::new(Arc::new(kdc.keytab())));
        (kdc, config)
    })
}

/// A valid SPNEGO AP-REQ from the test KDC and its session key, minted again once a minute so
/// it stays inside the clock-skew window of a long fuzzing run.
fn fresh_ticket() -> (Vec<u8>, Zeroizing<Vec<u8>>) {
    type Minted = (Instant, Vec<u8>, Zeroizing<Vec<u8>>);
    static TOKEN: Mutex<Option<Minted>> = Mutex::new(None);
    let mut guard = TOKEN.lock().unwrap_or_else(|p| p.into_inner());
    match &*guard {
        Some((at, t, k)) if at.elapsed() < Duration::from_secs(60) => (t.clone(), k.clone()),
        _ => {
            let (t, key) = kdc().0.spnego_ap_req("alice");
            let k = Zeroizing::new(key.as_bytes().to_vec());
            *guard = Some((Instant::now(), t.clone(), k.clone()));
            (t, k)
        }
    }
}

fn fresh_token() -> Vec<u8> {
    fresh_ticket().0
}

/// Feeds `legs` to one fresh acceptor. Once a step has completed or refused the exchange,
/// every later token is refused. A logon may only succeed as the client the KDC issued the
/// ticket to, with the session key it issued (`minted_key`): fields outside the encrypted
/// parts (e.g. the mechTypes list) are not integrity protected, so an edited token may
/// legitimately authenticate, but never as anyone else or with another key.
fn run_acceptor(legs: &[Vec<u8>], minted_key: &[u8]) {
    let mut acceptor = Acceptor::new(kdc().1.clone(), Arc::new(ReplayCache::new()));
    let mut ended = false;
    for leg in legs {
        let step = acceptor.step(leg, SystemTime::now());
        let more = step.more_processing_required();
        match &step {
            Step::Continue { output } => {
                assert!(!ended, "Continue after the exchange ended");
                assert!(more);
                assert!(output.len() < 64 * 1024);
            }
            Step::Done { session, .. } => {
                assert!(!ended, "Done after the exchange ended");
                assert_eq!(session.principal, "alice@EXAMPLE.TEST", "{leg:02x?}");
                assert!(
                    session.session_key.as_bytes() == minted_key,
                    "authenticated with a session key the KDC did not issue: {leg:02x?}"
                );
                ended = true;
            }
            Step::Refused { output, .. } => {
                assert!(output.as_ref().is_none_or(|o| o.len() < 64 * 1024));
                ended = true;
            }
        }
    }
}

/// [RFC 4178] SPNEGO acceptor fed arbitrary tokens. Mode byte: 0 = up to four raw legs;
/// 1 = a valid AP-REQ then raw legs (post-logon tokens); 2 = the valid AP-REQ with bytes
/// overwritten at fuzz-chosen places (reaches the decrypt and verify paths).
pub fn spnego(data: &[u8]) {
    let mut inp = Input::new(data);
    let mode = inp.u8() % 3;
    let mut legs = Vec::new();
    let (token, key) = fresh_ticket();
    match mode {
        1 => legs.push(token),
        2 => {
            let mut t = token;
            let edits = inp.u8() % 8;
            for _ in 0..edits {
                let at = usize::from(inp.u16());
                let v = inp.u8();
                if !t.is_empty() {
                    let len = t.len();
                    if let Some(b) = t.get_mut(at % len) {
                        *b = v;
                    }
                }
            }
            if inp.u8() & 1 == 1 {
                let keep = usize::from(inp.u16()) % (t.len() + 1);
                t.truncate(keep);
            }
            legs.push(t);
        }
        _ => {}
    }
    while !inp.is_empty() && legs.len() < 4 {
        legs.push(inp.chunk().to_vec());
    }
    if legs.is_empty() {
        legs.push(Vec::new());
    }
    run_acceptor(&legs, &key);
}

/// [RFC 4120 5.5.1] arbitrary DER as the AP-REQ inside a well-formed SPNEGO NegTokenInit
/// (krb5 mechanism, RFC 4121 token id 01 00).
pub fn ap_req(data: &[u8]) {
    let mut krb5 = gss::TOK_AP_REQ.to_vec();
    krb5.extend_from_slice(data);
    let mech_token = gss::wrap(oid::KRB5, &krb5);
    let arcs = |a: &[u32]| rasn::types::ObjectIdentifier::new(a.to_vec());
    let init = NegotiationToken::NegTokenInit(NegTokenInit {
        mech_types: [arcs(oid::KRB5_ARCS), arcs(oid::MS_KRB5_ARCS)]
            .into_iter()
            .flatten()
            .collect(),
        req_flags: None,
        mech_token: Some(rasn::types::OctetString::from(mech_token)),
        mech_list_mic: None,
    });
    let Ok(der) = rasn::der::encode(&init) else {
        return;
    };
    run_acceptor(&[gss::wrap(oid::SPNEGO, &der)], &fresh_ticket().1);
}

/// Extracts the AP-REQ DER from a SPNEGO token as [`TestKdc::spnego_ap_req`] builds it (for
/// seeding the `ap_req` corpus).
pub fn ap_req_der(spnego_token: &[u8]) -> Option<Vec<u8>> {
    let (_, inner) = gss::unwrap(spnego_token).ok()?;
    let NegotiationToken::NegTokenInit(init) = rasn::der::decode(inner).ok()? else {
        return None;
    };
    let mech = init.mech_token?;
    let (_, krb5) = gss::unwrap(&mech).ok()?;
    let (_, der) = gss::split_tok_id(krb5)?;
    Some(der.to_vec())
}

/// A fresh SPNEGO AP-REQ from this process's test KDC (for seeding corpora).
pub fn minted_token() -> Vec<u8> {
    fresh_token()
}

/// MIT keytab files: the parser must not panic, and cannot produce more entries than bytes.
pub fn keytab(data: &[u8]) {
    if let Ok(k) = Keytab::parse(data) {
        assert!(k.entries().len() <= data.len() / 8 + 1);
    }
}

// ---------------------------------------------------------------- share: DCE/RPC pipes

/// [C706, MS-SRVS, MS-WKST] the srvsvc (or wkssvc) pipe fed arbitrary WRITE / READ /
/// TRANSCEIVE sequences: reads never return more than asked, and queued output stays bounded.
pub fn dcerpc(data: &[u8]) {
    let mut inp = Input::new(data);
    let info = Arc::new(PipeServerInfo {
        server_name: "FUZZ".into(),
        shares: vec![
            PipeShareInfo {
                name: "IPC$".into(),
                share_type: STYPE_IPC | rsmbd_share::ipc::STYPE_SPECIAL,
                comment: "IPC".into(),
            },
            PipeShareInfo {
                name: "data".into(),
                share_type: STYPE_DISKTREE,
                comment: "data".into(),
            },
        ],
    });
    let name = if inp.u8() & 1 == 0 {
        "srvsvc"
    } else {
        "wkssvc"
    };
    let Some(mut pipe) = open_pipe(name, info) else {
        panic!("{name} opens");
    };
    for _ in 0..32 {
        if inp.is_empty() {
            break;
        }
        match inp.u8() % 3 {
            0 => {
                let _ = pipe.write(inp.chunk());
            }
            1 => {
                let max = usize::from(inp.u16());
                if let Ok(r) = pipe.read(max) {
                    assert!(r.data.len() <= max, "read returned more than asked");
                }
            }
            _ => {
                let input = inp.chunk();
                let max = usize::from(inp.u16());
                if let Ok(r) = pipe.transceive(input, max) {
                    assert!(r.data.len() <= max, "transceive returned more than asked");
                }
            }
        }
        assert!(pipe.queued_len() <= MAX_QUEUED_OUTPUT + 64 * 1024);
    }
}

// ---------------------------------------------------------------- server: the engine

/// Names a fuzzed CREATE or rename may use: ordinary ones, streams, the IPC pipes, and
/// attempts to leave the share.
const NAMES: &[&str] = &[
    "",
    "a.txt",
    "dir",
    "dir\\b.txt",
    "a.txt:s",
    "srvsvc",
    "..",
    "..\\escape.txt",
    "dir\\..\\..\\escape2",
    "\\abs.txt",
    "/etc/passwd",
    "dir/../../escape3",
    "a*.txt",
    "x\u{0}y",
];

const PATHS: &[&str] = &["data", "IPC$", "nope", "..", "data\\dir"];

const IOCTLS: &[u32] = &[
    0x0011_C017, // FSCTL_PIPE_TRANSCEIVE
    0x0014_0204, // FSCTL_VALIDATE_NEGOTIATE_INFO
    0x0014_01FC, // FSCTL_QUERY_NETWORK_INTERFACE_INFO
    0x0014_0078, // FSCTL_SRV_REQUEST_RESUME_KEY
    0x0014_40F2, // FSCTL_SRV_COPYCHUNK
    0x0014_C0F2, // FSCTL_SRV_COPYCHUNK_WRITE
    0x0009_00A8, // FSCTL_GET_REPARSE_POINT
    0x0009_80C8, // FSCTL_SET_ZERO_DATA
    0x0009_40CF, // FSCTL_QUERY_ALLOCATED_RANGES
    0x0006_0194, // FSCTL_DFS_GET_REFERRALS
    0x0011_0018, // FSCTL_PIPE_WAIT
    0x0014_4064, // FSCTL_SRV_ENUMERATE_SNAPSHOTS
];

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// What the fuzzed client has learnt from the server's answers.
struct EngineState {
    conn: Connection,
    session_id: u64,
    next_id: u64,
    trees: Vec<u32>,
    files: Vec<FileId>,
    /// Every answer's command and status, in order.
    trace: Vec<(Command, NtStatus)>,
}

impl EngineState {
    fn tree(&self, inp: &mut Input<'_>) -> u32 {
        let b = inp.u8();
        match self.trees.get(usize::from(b) % (self.trees.len() + 1)) {
            Some(t) => *t,
            None => u32::from(b),
        }
    }

    fn file(&self, inp: &mut Input<'_>) -> FileId {
        let b = inp.u8();
        match self.files.get(usize::from(b) % (self.files.len() + 2)) {
            Some(f) => *f,
            // The compound "current file" id, then something arbitrary.
            None if b & 1 == 0 => FileId {
                persistent: u64::MAX,
                volatile: u64::MAX,
            },
            None => FileId {
                persistent: u64::from(b),
                volatile: u64::from(inp.u8()),
            },
        }
    }

    fn name(inp: &mut Input<'_>) -> Vec<u8> {
        if inp.u8() < 224 {
            utf16(inp.pick(NAMES))
        } else {
            inp.chunk().to_vec()
        }
    }

    /// One request body built with the protocol encoders.
    fn body(&self, inp: &mut Input<'_>) -> (Command, Vec<u8>) {
        // Encoders write offsets relative to the header, so leave room for one.
        let mut w = Writer::new();
        w.start_message();
        w.zeros(64);
        let command = match inp.u8() % 17 {
            0 => {
                let share = inp.pick(PATHS);
                TreeConnectRequest {
                    path: format!("\\\\{HOST}\\{share}"),
                    ..Default::default()
                }
                .encode(&mut w);
                Command::TREE_CONNECT
            }
            1..=3 => {
                CreateRequest {
                    impersonation_level: 2,
                    requested_oplock_level: inp.u8(),
                    desired_access: inp
                        .pick_or(&[0x0012_019F, 0x0012_0089, 0x0001_0000, 0x8000_0000], |i| {
                            i.u32()
                        }),
                    file_attributes: inp.pick(&[0, 0x80, 0x10]),
                    share_access: 7,
                    create_disposition: u32::from(inp.u8() % 6),
                    create_options: inp.pick_or(&[0, 1, 0x40, 0x1000, 0x0020_0000], |i| i.u32()),
                    name: Self::name(inp).into(),
                    create_contexts: Vec::new(),
                    ..Default::default()
                }
                .encode(&mut w);
                Command::CREATE
            }
            4 => {
                ReadRequest {
                    length: u32::from(inp.u16()),
                    offset: u64::from(inp.u16()),
                    file_id: self.file(inp),
                    ..Default::default()
                }
                .encode(&mut w);
                Command::READ
            }
            5 => {
                WriteRequest {
                    offset: u64::from(inp.u16()),
                    file_id: self.file(inp),
                    data: inp.chunk().to_vec().into(),
                    ..Default::default()
                }
                .encode(&mut w);
                Command::WRITE
            }
            6 => {
                let pattern = if inp.u8() & 1 == 0 {
                    utf16(inp.pick(&["*", "a*", "a.txt", "<", ""]))
                } else {
                    inp.chunk().to_vec()
                };
                QueryDirectoryRequest {
                    file_information_class: inp.pick_or(&[1, 2, 3, 12, 37, 38, 60], |i| i.u8()),
                    flags: inp.u8(),
                    file_index: 0,
                    file_id: self.file(inp),
                    file_name: pattern.into(),
                    output_buffer_length: u32::from(inp.u16()),
                }
                .encode(&mut w);
                Command::QUERY_DIRECTORY
            }
            7 => {
                QueryInfoRequest {
                    info_type: inp.u8() % 5,
                    file_info_class: inp.u8() % 80,
                    output_buffer_length: u32::from(inp.u16()),
                    input: inp.chunk().to_vec().into(),
                    additional_information: inp.u32(),
                    flags: 0,
                    file_id: self.file(inp),
                }
                .encode(&mut w);
                Command::QUERY_INFO
            }
            8 => {
                let class = inp.pick_or(&[4, 10, 13, 14, 19, 20, 64], |i| i.u8());
                let buffer = match class {
                    10 => {
                        // FileRenameInformation (MS-FSCC 2.4.37.2).
                        let name = Self::name(inp);
                        let mut b = vec![inp.u8() & 1, 0, 0, 0, 0, 0, 0, 0];
                        b.extend_from_slice(&0u64.to_le_bytes());
                        b.extend_from_slice(&(name.len() as u32).to_le_bytes());
                        b.extend_from_slice(&name);
                        b
                    }
                    _ => inp.chunk().to_vec(),
                };
                SetInfoRequest {
                    info_type: inp.pick_or(&[1, 1, 2, 3], |i| i.u8()),
                    file_info_class: class,
                    buffer: buffer.into(),
                    additional_information: inp.u32(),
                    file_id: self.file(inp),
                }
                .encode(&mut w);
                Command::SET_INFO
            }
            9 => {
                CloseRequest {
                    flags: u16::from(inp.u8() & 1),
                    file_id: self.file(inp),
                }
                .encode(&mut w);
                Command::CLOSE
            }
            10 => {
                FlushRequest {
                    file_id: self.file(inp),
                }
                .encode(&mut w);
                Command::FLUSH
            }
            11 => {
                let n = inp.u8() % 4;
                LockRequest {
                    lock_sequence: inp.u32(),
                    file_id: self.file(inp),
                    locks: (0..n)
                        .map(|_| LockElement {
                            offset: u64::from(inp.u16()),
                            length: u64::from(inp.u16()),
                            flags: inp.pick_or(&[1, 2, 4, 0x11, 0x12], |i| i.u32()),
                        })
                        .collect(),
                }
                .encode(&mut w);
                Command::LOCK
            }
            12 => {
                IoctlRequest {
                    ctl_code: inp.pick(IOCTLS),
                    file_id: self.file(inp),
                    input: inp.chunk().to_vec().into(),
                    max_input_response: 0,
                    output: Vec::new().into(),
                    max_output_response: u32::from(inp.u16()),
                    flags: 1,
                }
                .encode(&mut w);
                Command::IOCTL
            }
            13 => {
                ChangeNotifyRequest {
                    flags: u16::from(inp.u8() & 1),
                    output_buffer_length: u32::from(inp.u16()),
                    file_id: self.file(inp),
                    completion_filter: inp.u32(),
                }
                .encode(&mut w);
                Command::CHANGE_NOTIFY
            }
            14 => {
                TreeDisconnectRequest.encode(&mut w);
                Command::TREE_DISCONNECT
            }
            15 => {
                EchoRequest.encode(&mut w);
                Command::ECHO
            }
            _ => {
                LogoffRequest.encode(&mut w);
                Command::LOGOFF
            }
        };
        (command, w.as_slice().get(64..).unwrap_or_default().to_vec())
    }

    /// A frame of 1–3 members (built requests, or raw bytes behind a plausible header).
    fn frame(&mut self, inp: &mut Input<'_>) -> Vec<u8> {
        let members = 1 + usize::from(inp.u8() % 8).saturating_sub(5);
        let mut w = Writer::new();
        for i in 0..members {
            w.start_message();
            let related = i > 0 && inp.u8() & 1 == 1;
            let raw = inp.u8() < 16;
            let (command, body) = if raw {
                (Command(u16::from(inp.u8() % 20)), inp.chunk().to_vec())
            } else {
                self.body(inp)
            };
            let credit_charge = u16::from(inp.u8() % 3);
            let flags = if related {
                HeaderFlags::RELATED_OPERATIONS
            } else {
                0
            };
            let session_id = if related { u64::MAX } else { self.session_id };
            let mut header =
                crate::request_header(command, self.next_id, session_id, self.tree(inp), flags);
            header.credit_charge = credit_charge;
            header.credits = 8;
            self.next_id += 1;
            header.encode(&mut w);
            w.bytes(&body);
            if i + 1 < members {
                pad_to_8(&mut w);
            }
        }
        w.as_slice().to_vec()
    }

    /// Sends one frame; checks that every answer decodes and learns tree and file ids.
    fn send(&mut self, frame: &mut [u8]) -> bool {
        let Ok(mut replies) = self.conn.handle_message(frame) else {
            return false;
        };
        replies.extend(self.conn.poll_pending());
        for reply in &replies {
            self.learn(reply);
        }
        true
    }

    fn learn(&mut self, reply: &[u8]) {
        for member in split_compound(reply) {
            let member = member.unwrap_or_else(|e| panic!("reply splits: {e:?} {reply:02x?}"));
            let h = Header::decode(member)
                .unwrap_or_else(|e| panic!("reply header decodes: {e:?} {member:02x?}"));
            let body = Response::decode(h.command, h.status, Message::new(member))
                .unwrap_or_else(|e| panic!("reply body decodes: {e:?} {h:?} {member:02x?}"));
            self.trace.push((h.command, h.status));
            if h.status != NtStatus::SUCCESS {
                continue;
            }
            match body {
                Response::TreeConnect(_) if self.trees.len() < 8 => self.trees.push(h.tree_id()),
                Response::Create(c) if self.files.len() < 16 => self.files.push(c.file_id),
                _ => {}
            }
        }
    }
}

/// A directory for one engine run: `<tmp>/rsmbd-fuzz-<pid>-<n>/` holding the share root
/// `share/` and a sentinel file next to it.
struct Sandbox {
    outer: PathBuf,
}

const SENTINEL: &[u8] = b"outside the share";

impl Sandbox {
    fn new() -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let outer = std::env::temp_dir().join(format!(
            "rsmbd-fuzz-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&outer);
        std::fs::create_dir_all(outer.join("share")).expect("create sandbox");
        std::fs::write(outer.join("sentinel"), SENTINEL).expect("write sentinel");
        Self { outer }
    }

    fn share(&self) -> PathBuf {
        self.outer.join("share")
    }

    /// Nothing was created, removed or changed next to the share root.
    fn assert_confined(&self) {
        let names: BTreeSet<_> = std::fs::read_dir(&self.outer)
            .expect("read sandbox")
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        let want: BTreeSet<_> = ["sentinel", "share"].iter().map(Into::into).collect();
        assert_eq!(
            names, want,
            "only the share root and sentinel live next to the share"
        );
        assert_eq!(
            std::fs::read(self.outer.join("sentinel")).ok().as_deref(),
            Some(SENTINEL)
        );
        let escaped: Vec<&Path> = ["escape.txt", "escape2", "escape3"]
            .iter()
            .map(Path::new)
            .filter(|p| {
                self.outer.parent().is_some_and(|t| t.join(p).exists()) && !p.as_os_str().is_empty()
            })
            .collect();
        assert!(escaped.is_empty(), "escaped the share: {escaped:?}");
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.outer);
    }
}

/// [MS-SMB2 3.3.5] the connection engine over a temporary share, logged on at dialect 2.1
/// with a ticket from the test KDC (unsigned requests allowed), then fed up to 48 frames
/// built from the input. Every answer must decode; nothing may appear outside the share.
pub fn engine(data: &[u8]) {
    engine_trace(data);
}

/// [`engine`], returning the command and status of every answer after the logon (so tests
/// can check that a seed reaches the state it was written for).
pub fn engine_trace(data: &[u8]) -> Vec<(Command, NtStatus)> {
    let mut inp = Input::new(data);
    let sandbox = Sandbox::new();
    let ctx = crate::context(&sandbox.share(), &kdc().0.keytab_bytes());
    let conn = Connection::new(ctx, crate::peer());
    let mut s = EngineState {
        conn,
        session_id: 0,
        next_id: 0,
        trees: Vec::new(),
        files: Vec::new(),
        trace: Vec::new(),
    };
    let negotiate = NegotiateRequest {
        security_mode: 1,
        capabilities: 0x7F,
        client_guid: [0x22; 16],
        dialects: vec![Dialect::SMB2_1],
        negotiate_contexts: Vec::new(),
    };
    let mut frame = crate::request(Command::NEGOTIATE, 0, 0, &negotiate);
    let a = crate::one(&mut s.conn, &frame).expect("negotiate 2.1");
    assert_eq!(a.header.status, NtStatus::SUCCESS, "negotiate 2.1");
    let setup = SessionSetupRequest {
        security_mode: 1,
        security_buffer: fresh_token().into(),
        ..Default::default()
    };
    frame = crate::request(Command::SESSION_SETUP, 1, 0, &setup);
    let a = crate::one(&mut s.conn, &frame).expect("session setup");
    assert_eq!(a.header.status, NtStatus::SUCCESS, "Kerberos logon");
    s.session_id = a.header.session_id;
    s.next_id = 2;

    for _ in 0..48 {
        if inp.is_empty() {
            break;
        }
        let mut frame = if inp.u8() < 8 {
            // A raw frame; keep its MessageId and SessionId plausible half of the time.
            let mut raw = inp.chunk().to_vec();
            if raw.len() >= 64 && inp.u8() & 1 == 0 {
                if let Some(m) = raw.get_mut(24..32) {
                    m.copy_from_slice(&s.next_id.to_le_bytes());
                }
                if let Some(m) = raw.get_mut(40..48) {
                    m.copy_from_slice(&s.session_id.to_le_bytes());
                }
                s.next_id += 1;
            }
            raw
        } else {
            s.frame(&mut inp)
        };
        if !s.send(&mut frame) {
            break;
        }
    }
    s.conn.close();
    let trace = std::mem::take(&mut s.trace);
    drop(s);
    sandbox.assert_confined();
    trace
}
