//! Round trips and hostile input for the PDU codec (kept beside `pdu.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use super::*;
use crate::ipc::rpc::{NDR20, NDR64, SRVSVC};

fn round_trip(pdu: Pdu) {
    let bytes = pdu.encode().unwrap();
    let back = Pdu::decode(&bytes).unwrap();
    assert_eq!(usize::from(back.header.frag_length), bytes.len());
    assert_eq!(back.body, pdu.body);
    assert_eq!(back.auth_verifier, pdu.auth_verifier);
    assert_eq!(back.header.call_id, pdu.header.call_id);
    assert_eq!(back.encode().unwrap(), bytes);
    // Every truncation fails cleanly; never panics.
    for n in 0..bytes.len() {
        assert!(Pdu::decode(&bytes[..n]).is_err(), "prefix {n} decoded");
    }
}

fn hdr(call_id: u32) -> CommonHeader {
    CommonHeader::new(0, pfc::FIRST_FRAG | pfc::LAST_FRAG, call_id)
}

#[test]
fn bind_and_alter_context_round_trip() {
    let bind = Bind {
        max_xmit_frag: 4280,
        max_recv_frag: 4280,
        assoc_group_id: 0,
        contexts: vec![
            ContextElem {
                context_id: 0,
                abstract_syntax: SRVSVC,
                transfer_syntaxes: vec![NDR20],
            },
            ContextElem {
                context_id: 1,
                abstract_syntax: SRVSVC,
                transfer_syntaxes: vec![NDR64, NDR20],
            },
        ],
    };
    round_trip(Pdu {
        header: hdr(1),
        body: PduBody::Bind(bind.clone()),
        auth_verifier: None,
    });
    round_trip(Pdu {
        header: hdr(2),
        body: PduBody::AlterContext(bind),
        auth_verifier: None,
    });
}

#[test]
fn bind_ack_nak_round_trip() {
    let ack = BindAck {
        max_xmit_frag: 4280,
        max_recv_frag: 4280,
        assoc_group_id: 0x1234,
        sec_addr: b"\\PIPE\\srvsvc\0".to_vec(),
        results: vec![
            ContextResult {
                result: result::ACCEPTANCE,
                reason: 0,
                transfer_syntax: NDR20,
            },
            ContextResult {
                result: result::PROVIDER_REJECTION,
                reason: provider_reason::PROPOSED_TRANSFER_SYNTAXES_NOT_SUPPORTED,
                transfer_syntax: SyntaxId::default(),
            },
        ],
    };
    let bytes = Pdu {
        header: hdr(1),
        body: PduBody::BindAck(ack.clone()),
        auth_verifier: None,
    }
    .encode()
    .unwrap();
    // 16 header + 8 + 2 + 13 address bytes = 39, padded to 40 before the result list.
    assert_eq!(bytes[40], 2);
    assert_eq!(bytes.len(), 40 + 4 + 2 * 24);
    round_trip(Pdu {
        header: hdr(1),
        body: PduBody::BindAck(ack.clone()),
        auth_verifier: None,
    });
    let empty = BindAck {
        sec_addr: Vec::new(),
        ..ack
    };
    round_trip(Pdu {
        header: hdr(3),
        body: PduBody::AlterContextResp(empty),
        auth_verifier: None,
    });
    let nak = BindNak {
        reason: reject_reason::PROTOCOL_VERSION_NOT_SUPPORTED,
        versions: vec![(5, 0)],
    };
    round_trip(Pdu {
        header: hdr(4),
        body: PduBody::BindNak(nak),
        auth_verifier: None,
    });
}

#[test]
fn request_response_fault_round_trip() {
    let req = Request {
        alloc_hint: 8,
        context_id: 0,
        opnum: 15,
        object: None,
        stub: vec![1, 2, 3, 4, 5, 6, 7, 8],
    };
    round_trip(Pdu {
        header: hdr(5),
        body: PduBody::Request(req.clone()),
        auth_verifier: None,
    });
    let with_obj = Request {
        object: Some(SRVSVC.uuid),
        ..req.clone()
    };
    round_trip(Pdu {
        header: hdr(6),
        body: PduBody::Request(with_obj),
        auth_verifier: None,
    });
    let mut auth = vec![10, 2, 0, 0, 0, 0, 0, 0];
    auth.extend_from_slice(&[0xaa; 16]);
    round_trip(Pdu {
        header: hdr(7),
        body: PduBody::Request(req),
        auth_verifier: Some(auth),
    });
    let resp = Response {
        alloc_hint: 4,
        context_id: 1,
        cancel_count: 0,
        stub: vec![0, 0, 0, 0],
    };
    round_trip(Pdu {
        header: hdr(8),
        body: PduBody::Response(resp),
        auth_verifier: None,
    });
    let fault = Fault {
        alloc_hint: 0,
        context_id: 0,
        cancel_count: 0,
        status: 0x1c01_0002,
    };
    let bytes = Pdu {
        header: hdr(9),
        body: PduBody::Fault(fault.clone()),
        auth_verifier: None,
    }
    .encode()
    .unwrap();
    assert_eq!(bytes.len(), 32);
    round_trip(Pdu {
        header: hdr(9),
        body: PduBody::Fault(fault),
        auth_verifier: None,
    });
}

#[test]
fn header_rejects_version_and_short_frag() {
    let mut b = Pdu {
        header: hdr(1),
        body: PduBody::Other(vec![]),
        auth_verifier: None,
    }
    .encode()
    .unwrap();
    assert_eq!(b.len(), 16);
    b[0] = 4;
    assert_eq!(CommonHeader::decode(&b), Err(PduError::Version(4, 0)));
    b[0] = 5;
    b[8] = 15;
    assert_eq!(CommonHeader::decode(&b), Err(PduError::FragLength(15)));
}

#[test]
fn big_endian_header_is_framed_but_body_refused() {
    // drep 0x00: big-endian integers; frag_length 0x0010 and call_id 7 in network order.
    let b = [5, 0, 11, 3, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 7];
    let h = CommonHeader::decode(&b).unwrap();
    assert_eq!((h.frag_length, h.call_id), (16, 7));
    assert!(!h.is_supported_drep());
    assert_eq!(Pdu::decode(&b), Err(PduError::Drep([0, 0, 0, 0])));
}
