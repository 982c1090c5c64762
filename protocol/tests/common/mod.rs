//! Helpers shared by the integration tests: framing a body behind a header, and loading the
//! hex vectors under `tests/vectors/`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use rsmbd_protocol::codec::{Encode, Message, Writer};
use rsmbd_protocol::header::{Command, Header, HeaderFlags, HeaderKind};
use rsmbd_protocol::messages::{Request, Response};
use rsmbd_protocol::status::NtStatus;

/// A request header for `command`.
pub fn request_header(command: Command) -> Header {
    Header {
        credit_charge: 1,
        status: NtStatus::SUCCESS,
        command,
        credits: 1,
        flags: HeaderFlags(0),
        next_command: 0,
        message_id: 7,
        kind: HeaderKind::Sync {
            process_id: 0xFEFF,
            tree_id: 3,
        },
        session_id: 0x1000_0000_0025,
        signature: [0; 16],
    }
}

/// Header + body, as bytes.
pub fn frame(header: &Header, body: &impl Encode) -> Vec<u8> {
    let mut w = Writer::new();
    w.start_message();
    header.encode(&mut w);
    body.encode(&mut w);
    w.as_slice().to_vec()
}

/// Encodes a request behind a request header.
pub fn request_bytes(req: &Request<'_>) -> Vec<u8> {
    frame(&request_header(req.command()), req)
}

/// Encodes a response behind a response header for `command` with `status`.
pub fn response_bytes(command: Command, status: NtStatus, resp: &Response<'_>) -> Vec<u8> {
    let mut h = Header::response(command);
    h.status = status;
    frame(&h, resp)
}

/// Asserts `decode(encode(req)) == req` through the [`Request`] dispatcher.
pub fn assert_request_round_trip(req: Request<'_>) {
    let bytes = request_bytes(&req);
    let back = Request::decode(req.command(), Message::new(&bytes))
        .unwrap_or_else(|e| panic!("{:?} does not decode: {e}", req.command()));
    assert_eq!(back, req);
}

/// Asserts `decode(encode(resp)) == resp` through the [`Response`] dispatcher.
pub fn assert_response_round_trip(command: Command, status: NtStatus, resp: Response<'_>) {
    let bytes = response_bytes(command, status, &resp);
    let back = Response::decode(command, status, Message::new(&bytes))
        .unwrap_or_else(|e| panic!("{command:?} response does not decode: {e}"));
    assert_eq!(back, resp);
}

/// Loads `tests/vectors/<file>`: `name:` lines start entries, other lines are hex.
pub fn load_vectors(file: &str) -> HashMap<String, Vec<u8>> {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out: HashMap<String, String> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_suffix(':') {
            current = Some(name.to_string());
            out.insert(name.to_string(), String::new());
        } else {
            let name = current.as_ref().expect("hex before a name");
            out.get_mut(name).unwrap().push_str(line);
        }
    }
    out.into_iter()
        .map(|(k, v)| (k, hex::decode(v).expect("valid hex")))
        .collect()
}
