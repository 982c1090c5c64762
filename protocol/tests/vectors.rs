//! Decoding real Windows messages: the captures Microsoft published with its SMB 3.1.1
//! encryption test vectors (see `vectors/ms_blog_smb311_encryption_gcm.txt`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::load_vectors;
use rsmbd_protocol::codec::{Encode, Message, Writer};
use rsmbd_protocol::messages::*;
use rsmbd_protocol::negotiate_context::{Dialect, NegotiateContext};
use rsmbd_protocol::transform::{TransformHeader, aad};
use rsmbd_protocol::{Command, FileId, Header, HeaderFlags, NtStatus};

const FILE: &str = "ms_blog_smb311_encryption_gcm.txt";
const CONTENT: &[u8] = b"Smb3 encryption testing";

fn reencode(header: &Header, body: &impl Encode) -> Vec<u8> {
    let mut w = Writer::new();
    header.encode(&mut w);
    body.encode(&mut w);
    w.as_slice().to_vec()
}

#[test]
fn windows_negotiate_request() {
    let v = load_vectors(FILE);
    let bytes = &v["negotiate_request"];
    let h = Header::decode(bytes).unwrap();
    assert_eq!(h.command, Command::NEGOTIATE);
    let Request::Negotiate(req) = Request::decode(h.command, Message::new(bytes)).unwrap() else {
        panic!()
    };
    assert_eq!(req.security_mode, SecurityMode::SIGNING_ENABLED);
    assert_eq!(req.capabilities, 0x66);
    assert_eq!(
        req.dialects,
        vec![
            Dialect::SMB2_0_2,
            Dialect::SMB2_1,
            Dialect::SMB3_0,
            Dialect::SMB3_0_2,
            Dialect::SMB3_1_1
        ]
    );
    assert_eq!(req.negotiate_contexts.len(), 2);
    let NegotiateContext::PreauthIntegrity {
        hash_algorithms,
        salt,
    } = &req.negotiate_contexts[0]
    else {
        panic!()
    };
    assert_eq!(hash_algorithms, &vec![1]);
    assert_eq!(
        hex::encode_upper(salt),
        "D1709D7196E1BD0B6EBF95213D76553435763514392649FD6F216ED8BF269CD8"
    );
    assert_eq!(
        req.negotiate_contexts[1],
        NegotiateContext::Encryption {
            ciphers: vec![2, 1]
        }
    );
    // Our encoder lays the message out exactly as Windows did.
    assert_eq!(&reencode(&h, &req), bytes);
}

#[test]
fn windows_negotiate_response() {
    let v = load_vectors(FILE);
    let bytes = &v["negotiate_response"];
    let h = Header::decode(bytes).unwrap();
    let Response::Negotiate(resp) =
        Response::decode(h.command, h.status, Message::new(bytes)).unwrap()
    else {
        panic!()
    };
    assert_eq!(resp.dialect_revision, Dialect::SMB3_1_1);
    assert_eq!(resp.capabilities, 0x27);
    assert_eq!(
        (
            resp.max_transact_size,
            resp.max_read_size,
            resp.max_write_size
        ),
        (0x80_0000, 0x80_0000, 0x80_0000)
    );
    assert_eq!(resp.security_buffer.len(), 0x140);
    assert_eq!(&resp.security_buffer[..2], &[0x60, 0x82]);
    assert_eq!(resp.negotiate_contexts.len(), 2);
    assert!(
        matches!(&resp.negotiate_contexts[0], NegotiateContext::PreauthIntegrity { salt, .. } if salt.len() == 32)
    );
    assert_eq!(
        resp.negotiate_contexts[1],
        NegotiateContext::Encryption { ciphers: vec![2] }
    );
    assert_eq!(&reencode(&h, &resp), bytes);
}

#[test]
fn windows_session_setup_exchange() {
    let v = load_vectors(FILE);
    for name in ["session_setup_request_1", "session_setup_request_2"] {
        let bytes = &v[name];
        let h = Header::decode(bytes).unwrap();
        let Request::SessionSetup(req) = Request::decode(h.command, Message::new(bytes)).unwrap()
        else {
            panic!()
        };
        assert_eq!(req.security_mode, 1);
        assert_eq!(req.capabilities, 1);
        assert_eq!(req.previous_session_id, 0);
        assert!(
            req.security_buffer
                .starts_with(&[if name.ends_with('1') { 0x60 } else { 0xA1 }])
        );
        assert_eq!(&reencode(&h, &req), bytes, "{name}");
    }
    let bytes = &v["session_setup_response_1"];
    let h = Header::decode(bytes).unwrap();
    assert_eq!(h.status, NtStatus::MORE_PROCESSING_REQUIRED);
    let Response::SessionSetup(resp) =
        Response::decode(h.command, h.status, Message::new(bytes)).unwrap()
    else {
        panic!("MORE_PROCESSING_REQUIRED keeps the SESSION_SETUP body")
    };
    assert_eq!(resp.security_buffer.len(), 0xB3);
    assert_eq!(&reencode(&h, &resp), bytes);

    let bytes = &v["session_setup_response_2"];
    let h = Header::decode(bytes).unwrap();
    assert!(h.flags.has(HeaderFlags::SIGNED));
    assert_eq!(h.session_id, 0x1000_0000_0025);
    let Response::SessionSetup(resp) =
        Response::decode(h.command, h.status, Message::new(bytes)).unwrap()
    else {
        panic!()
    };
    assert_eq!(resp.session_flags, 0);
    assert_eq!(resp.security_buffer.len(), 0x1D);
    assert_eq!(&reencode(&h, &resp), bytes);
}

#[test]
fn windows_write_with_channel_info_offset_0x70_and_length_0() {
    let v = load_vectors(FILE);
    let bytes = &v["write_request"];
    assert_eq!(
        &bytes[64 + 40..64 + 44],
        &[0x70, 0, 0, 0],
        "the capture really has the quirk"
    );
    let h = Header::decode(bytes).unwrap();
    let Request::Write(req) = Request::decode(h.command, Message::new(bytes)).unwrap() else {
        panic!()
    };
    assert_eq!(&*req.data, CONTENT);
    assert_eq!(req.offset, 0);
    assert_eq!(
        req.file_id,
        FileId::new(0x0000_0004_0000_0006, 0x0000_0004_0000_0001)
    );
    assert!(req.write_channel_info.is_empty());
    // Re-encoded the way we write it (WriteChannelInfoOffset 0 when empty), it still decodes
    // to the same request.
    let again = reencode(&h, &req);
    let Request::Write(back) = Request::decode(h.command, Message::new(&again)).unwrap() else {
        panic!()
    };
    assert_eq!(back, req);

    let bytes = &v["write_response"];
    let h = Header::decode(bytes).unwrap();
    let Response::Write(resp) = Response::decode(h.command, h.status, Message::new(bytes)).unwrap()
    else {
        panic!()
    };
    assert_eq!(resp.count, CONTENT.len() as u32);
    assert_eq!(&reencode(&h, &resp), bytes);
}

#[test]
fn windows_read_exchange() {
    let v = load_vectors(FILE);
    let bytes = &v["read_request"];
    let h = Header::decode(bytes).unwrap();
    let Request::Read(req) = Request::decode(h.command, Message::new(bytes)).unwrap() else {
        panic!()
    };
    assert_eq!((req.length, req.offset, req.minimum_count), (23, 0, 0));
    assert_eq!(&reencode(&h, &req), bytes);

    let bytes = &v["read_response"];
    let h = Header::decode(bytes).unwrap();
    let Response::Read(resp) = Response::decode(h.command, h.status, Message::new(bytes)).unwrap()
    else {
        panic!()
    };
    assert_eq!(&*resp.data, CONTENT);
    assert_eq!(&reencode(&h, &resp), bytes);
}

#[test]
fn windows_transform_header() {
    let v = load_vectors(FILE);
    let bytes = &v["write_request_transformed"];
    assert!(TransformHeader::is_transform(bytes));
    let t = TransformHeader::decode(bytes).unwrap();
    assert_eq!(
        hex::encode_upper(t.signature),
        "BD73D97D2BC9001BCAFAC0FDFF5FEEBC"
    );
    assert_eq!(
        hex::encode_upper(t.nonce),
        "C7D6822D269CAF48904C664C00000000"
    );
    assert_eq!(t.original_message_size, v["write_request"].len() as u32);
    assert_eq!(t.flags, 1);
    assert_eq!(t.session_id, 0x1000_0000_0025);
    assert_eq!(aad(bytes).unwrap(), &bytes[20..52]);
    assert_eq!(&t.aad_bytes()[..], &bytes[20..52]);
    assert_eq!(&t.to_bytes()[..], &bytes[..52]);
    assert_eq!(
        bytes.len() - 52,
        v["write_request"].len(),
        "ciphertext is as long as the plaintext"
    );
}

#[test]
fn windows_create_requests_with_contexts() {
    let v = load_vectors("windows_create_captures.txt");
    let bytes = &v["create_request_mxac_qfid"];
    let h = Header::decode(bytes).unwrap();
    assert_eq!(h.command, Command::CREATE);
    assert_eq!(h.flags.0 & HeaderFlags::PRIORITY_MASK, 0x30);
    let Request::Create(req) = Request::decode(h.command, Message::new(bytes)).unwrap() else {
        panic!()
    };
    assert_eq!(
        rsmbd_protocol::codec::utf16le_to_string(&req.name).unwrap(),
        "RSX_DR-SF"
    );
    assert_eq!(req.desired_access, AccessMask::FILE_READ_ATTRIBUTES);
    assert_eq!(req.share_access, 7);
    assert_eq!(req.create_disposition, CreateDisposition::OPEN.0);
    assert_eq!(req.create_options, CreateOptions::OPEN_REPARSE_POINT);
    let names: Vec<&[u8]> = req
        .create_contexts
        .iter()
        .map(|c| c.name.as_ref())
        .collect();
    assert_eq!(names, vec![&b"MxAc"[..], &b"QFid"[..]]);
    assert!(req.create_contexts.iter().all(|c| c.data.is_empty()));
    // Our encoder produces the same bytes Windows sent.
    assert_eq!(&reencode(&h, &req), bytes);

    // A body captured alone: frame it behind a header.
    let body = &v["create_body_dhnq_mxac_qfid"];
    let mut msg = common::request_bytes(&Request::Echo(EchoRequest));
    msg.truncate(64);
    msg.extend_from_slice(body);
    let Request::Create(req) = Request::decode(Command::CREATE, Message::new(&msg)).unwrap() else {
        panic!()
    };
    assert!(
        req.name.is_empty(),
        "NameLength 0: the stale bytes in the slot are not the name"
    );
    assert_eq!(req.create_disposition, CreateDisposition::CREATE.0);
    assert_eq!(req.create_options, 0x0020_0021);
    assert_eq!(req.create_contexts.len(), 3);
    assert_eq!(req.create_contexts[0].name.as_ref(), b"DHnQ");
    assert_eq!(req.create_contexts[0].data.len(), 16);
    assert_eq!(req.create_contexts[2].name.as_ref(), b"QFid");
}
