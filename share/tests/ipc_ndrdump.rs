//! Cross-check against Samba's pidl-generated NDR code: `ndrdump` parses our PDUs
//! (`dcerpc ncacn_packet`) and our srvsvc/wkssvc stubs, and with `--validate` pushes them
//! again and requires the bytes to be identical to ours. Skipped (with a reason) when
//! `ndrdump` is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use rsmbd_share::ipc::rpc::ndr::encode_stub;
use rsmbd_share::ipc::rpc::pdu::{Pdu, PduBody};
use rsmbd_share::ipc::srvsvc::types::{
    NetrServerGetInfoRequest, NetrShareEnumRequest, NetrShareGetInfoRequest, ShareEnumStruct,
    ShareEnumUnion, ShareInfoContainer,
};
use rsmbd_share::ipc::wkssvc::NetrWkstaGetInfoRequest;
use rsmbd_share::ipc::{
    Pipe, PipeServerInfo, PipeShareInfo, STYPE_DISKTREE, STYPE_IPC, STYPE_SPECIAL, open_pipe,
};

fn ndrdump_available() -> bool {
    Command::new("ndrdump")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn info() -> Arc<PipeServerInfo> {
    Arc::new(PipeServerInfo {
        server_name: "RSMBD".into(),
        shares: vec![
            PipeShareInfo {
                name: "IPC$".into(),
                share_type: STYPE_IPC | STYPE_SPECIAL,
                comment: "IPC Service".into(),
            },
            PipeShareInfo {
                name: "data".into(),
                share_type: STYPE_DISKTREE,
                comment: "Team data".into(),
            },
        ],
    })
}

/// Runs ndrdump with `--validate` and returns its stdout; fails the test on a parse or
/// re-push mismatch.
fn ndrdump(dir: &Path, args: &[&str], files: &[(&str, &[u8])]) -> String {
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let out = Command::new("ndrdump")
        .current_dir(dir)
        .args(args)
        .arg("--validate")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ndrdump {args:?} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("dump OK"),
        "ndrdump {args:?}:\n{stdout}\n{stderr}"
    );
    // ndrdump reports a re-push that differs from our bytes as "WARNING! orig ...".
    assert!(
        !stdout.contains("WARNING"),
        "validation complaint:\n{stdout}"
    );
    stdout
}

/// Binds `p` with a Windows-style bind and returns the bind_ack bytes.
fn bind(p: &mut Pipe, iface: rsmbd_share::ipc::rpc::SyntaxId) -> Vec<u8> {
    p.transceive(&ack_request_bytes(iface), 4280).unwrap().data
}

/// A Windows-style bind (NDR, NDR64, bind-time feature negotiation contexts).
fn ack_request_bytes(iface: rsmbd_share::ipc::rpc::SyntaxId) -> Vec<u8> {
    use rsmbd_share::ipc::rpc::pdu::{Bind, CommonHeader, ContextElem};
    use rsmbd_share::ipc::rpc::{NDR20, NDR64};
    let btfn = rsmbd_share::ipc::rpc::SyntaxId::new(
        rsmbd_share::ipc::rpc::Uuid::from_fields(
            0x6cb7_1c2c,
            0x9812,
            0x4540,
            [3, 0, 0, 0, 0, 0, 0, 0],
        ),
        1,
        0,
    );
    let contexts = [NDR20, NDR64, btfn]
        .iter()
        .enumerate()
        .map(|(i, ts)| ContextElem {
            context_id: i as u16,
            abstract_syntax: iface,
            transfer_syntaxes: vec![*ts],
        })
        .collect();
    let body = Bind {
        max_xmit_frag: 4280,
        max_recv_frag: 4280,
        assoc_group_id: 0,
        contexts,
    };
    let pdu = Pdu {
        header: CommonHeader::new(0, 3, 1),
        body: PduBody::Bind(body),
        auth_verifier: None,
    };
    pdu.encode().unwrap()
}

/// One request → (whole response PDU, response stub).
fn call(p: &mut Pipe, opnum: u16, stub: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use rsmbd_share::ipc::rpc::pdu::{CommonHeader, Request};
    let body = PduBody::Request(Request {
        alloc_hint: stub.len() as u32,
        context_id: 0,
        opnum,
        object: None,
        stub: stub.to_vec(),
    });
    let req = Pdu {
        header: CommonHeader::new(0, 3, 2),
        body,
        auth_verifier: None,
    };
    let out = p.transceive(&req.encode().unwrap(), 4280).unwrap();
    assert!(!out.more);
    let PduBody::Response(r) = Pdu::decode(&out.data).unwrap().body else {
        panic!("not a response")
    };
    (out.data, r.stub)
}

#[test]
fn samba_ndrdump_accepts_our_bytes() {
    if !ndrdump_available() {
        eprintln!("skipping ndrdump cross-check: ndrdump not installed (samba-testsuite / samba)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // bind_ack as a whole ncacn_packet.
    let mut p = open_pipe("srvsvc", info()).unwrap();
    let ack = bind(&mut p, rsmbd_share::ipc::rpc::SRVSVC);
    let out = ndrdump(
        d,
        &["dcerpc", "ncacn_packet", "struct", "ack.bin"],
        &[("ack.bin", &ack)],
    );
    assert!(out.contains("DCERPC_PKT_BIND_ACK"), "{out}");
    assert!(out.contains("\\PIPE\\srvsvc"), "{out}");
    assert!(
        out.contains("DCERPC_BIND_PROVIDER_REJECT")
            || out.contains("num_results              : 0x03"),
        "{out}"
    );

    // NetShareEnumAll level 1: request and response stubs, then the response PDU.
    let req = NetrShareEnumRequest {
        server_name: Some("\\\\RSMBD".into()),
        info_struct: ShareEnumStruct {
            level: 1,
            share_info: ShareEnumUnion::Level1(Some(ShareInfoContainer::empty())),
        },
        prefered_maximum_length: u32::MAX,
        resume_handle: Some(0),
    };
    let in_stub = encode_stub(&req);
    let (pdu, out_stub) = call(&mut p, 15, &in_stub);
    ndrdump(
        d,
        &["srvsvc", "srvsvc_NetShareEnumAll", "in", "in.bin"],
        &[("in.bin", &in_stub)],
    );
    let out = ndrdump(
        d,
        &[
            "srvsvc",
            "srvsvc_NetShareEnumAll",
            "out",
            "out.bin",
            "-c",
            "in.bin",
        ],
        &[("out.bin", &out_stub)],
    );
    for needle in [
        "IPC$",
        "IPC Service",
        "data",
        "Team data",
        "STYPE_IPC_HIDDEN",
        "WERR_OK",
    ] {
        assert!(out.contains(needle), "missing {needle}:\n{out}");
    }
    let out = ndrdump(
        d,
        &["dcerpc", "ncacn_packet", "struct", "resp.bin"],
        &[("resp.bin", &pdu)],
    );
    assert!(out.contains("DCERPC_PKT_RESPONSE"), "{out}");

    // NetShareGetInfo level 1.
    let req = NetrShareGetInfoRequest {
        server_name: None,
        net_name: "data".into(),
        level: 1,
    };
    let in_stub = encode_stub(&req);
    let (_, out_stub) = call(&mut p, 16, &in_stub);
    let out = ndrdump(
        d,
        &[
            "srvsvc",
            "srvsvc_NetShareGetInfo",
            "out",
            "gi_out.bin",
            "-c",
            "gi_in.bin",
        ],
        &[("gi_in.bin", &in_stub), ("gi_out.bin", &out_stub)],
    );
    assert!(
        out.contains("Team data") && out.contains("WERR_OK"),
        "{out}"
    );

    // NetSrvGetInfo level 101.
    let in_stub = encode_stub(&NetrServerGetInfoRequest {
        server_name: Some("\\\\RSMBD".into()),
        level: 101,
    });
    let (_, out_stub) = call(&mut p, 21, &in_stub);
    let out = ndrdump(
        d,
        &[
            "srvsvc",
            "srvsvc_NetSrvGetInfo",
            "out",
            "si_out.bin",
            "-c",
            "si_in.bin",
        ],
        &[("si_in.bin", &in_stub), ("si_out.bin", &out_stub)],
    );
    assert!(
        out.contains("PLATFORM_ID_NT") && out.contains("RSMBD") && out.contains("WERR_OK"),
        "{out}"
    );

    // A fault PDU (unknown opnum).
    let (fault, _) = {
        use rsmbd_share::ipc::rpc::pdu::{CommonHeader, Request};
        let body = PduBody::Request(Request {
            alloc_hint: 0,
            context_id: 0,
            opnum: 200,
            object: None,
            stub: vec![],
        });
        let req = Pdu {
            header: CommonHeader::new(0, 3, 3),
            body,
            auth_verifier: None,
        };
        (p.transceive(&req.encode().unwrap(), 4280).unwrap().data, ())
    };
    let out = ndrdump(
        d,
        &["dcerpc", "ncacn_packet", "struct", "fault.bin"],
        &[("fault.bin", &fault)],
    );
    assert!(out.contains("DCERPC_PKT_FAULT"), "{out}");

    // alter_context_resp (empty secondary address) and bind_nak PDUs.
    {
        let mut alter = ack_request_bytes(rsmbd_share::ipc::rpc::SRVSVC);
        alter[2] = 14; // alter_context
        let resp = p.transceive(&alter, 4280).unwrap().data;
        let out = ndrdump(
            d,
            &["dcerpc", "ncacn_packet", "struct", "alter.bin"],
            &[("alter.bin", &resp)],
        );
        assert!(out.contains("DCERPC_PKT_ALTER_RESP"), "{out}");
        let mut q = open_pipe("srvsvc", info()).unwrap();
        let mut v4 = ack_request_bytes(rsmbd_share::ipc::rpc::SRVSVC);
        v4[0] = 4;
        let nak = q.transceive(&v4, 4280).unwrap().data;
        let out = ndrdump(
            d,
            &["dcerpc", "ncacn_packet", "struct", "nak.bin"],
            &[("nak.bin", &nak)],
        );
        assert!(out.contains("DCERPC_PKT_BIND_NAK"), "{out}");
        assert!(out.contains("PROTOCOL_VERSION_NOT_SUPPORTED"), "{out}");
    }

    // wkssvc NetWkstaGetInfo level 100.
    let mut w = open_pipe("wkssvc", info()).unwrap();
    bind(&mut w, rsmbd_share::ipc::rpc::WKSSVC);
    let in_stub = encode_stub(&NetrWkstaGetInfoRequest {
        server_name: None,
        level: 100,
    });
    let (_, out_stub) = call(&mut w, 0, &in_stub);
    let out = ndrdump(
        d,
        &[
            "wkssvc",
            "wkssvc_NetWkstaGetInfo",
            "out",
            "wk_out.bin",
            "-c",
            "wk_in.bin",
        ],
        &[("wk_in.bin", &in_stub), ("wk_out.bin", &out_stub)],
    );
    assert!(
        out.contains("WORKGROUP") && out.contains("RSMBD") && out.contains("WERR_OK"),
        "{out}"
    );
}

/// Every level we answer — served, denied, unknown, missing share — as Samba's pidl sees it.
#[test]
fn samba_ndrdump_accepts_every_level() {
    if !ndrdump_available() {
        eprintln!("skipping ndrdump cross-check: ndrdump not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut p = open_pipe("srvsvc", info()).unwrap();
    bind(&mut p, rsmbd_share::ipc::rpc::SRVSVC);
    let check = |p: &mut Pipe, opnum: u16, func: &str, in_stub: Vec<u8>, want: &str| {
        let (_, out_stub) = call(p, opnum, &in_stub);
        let out = ndrdump(
            d,
            &["srvsvc", func, "out", "o.bin", "-c", "i.bin"],
            &[("i.bin", &in_stub), ("o.bin", &out_stub)],
        );
        assert!(out.contains(want), "{func} wants {want}:\n{out}");
    };
    for (name, level, want) in [
        ("data", 0, "WERR_OK"),
        ("data", 1, "WERR_OK"),
        ("data", 501, "WERR_OK"),
        ("data", 1004, "Team data"),
        ("data", 1005, "WERR_OK"),
        ("data", 1006, "0xffffffff"),
        ("data", 2, "WERR_ACCESS_DENIED"),
        ("data", 1501, "WERR_ACCESS_DENIED"),
        ("data", 9, "WERR_INVALID_LEVEL"),
        ("nope", 1, "WERR_NERR_NETNAMENOTFOUND"),
    ] {
        let req = NetrShareGetInfoRequest {
            server_name: None,
            net_name: name.into(),
            level,
        };
        check(
            &mut p,
            16,
            "srvsvc_NetShareGetInfo",
            encode_stub(&req),
            want,
        );
    }
    for level in [0u32, 1, 501] {
        let share_info = match level {
            0 => ShareEnumUnion::Level0(Some(ShareInfoContainer::empty())),
            1 => ShareEnumUnion::Level1(Some(ShareInfoContainer::empty())),
            _ => ShareEnumUnion::Level501(Some(ShareInfoContainer::empty())),
        };
        let req = NetrShareEnumRequest {
            server_name: None,
            info_struct: ShareEnumStruct { level, share_info },
            prefered_maximum_length: u32::MAX,
            resume_handle: None,
        };
        check(
            &mut p,
            15,
            "srvsvc_NetShareEnumAll",
            encode_stub(&req),
            "WERR_OK",
        );
    }
    for (level, want) in [
        (100, "WERR_OK"),
        (101, "WERR_OK"),
        (102, "WERR_ACCESS_DENIED"),
        (7, "WERR_INVALID_LEVEL"),
    ] {
        let req = NetrServerGetInfoRequest {
            server_name: None,
            level,
        };
        check(&mut p, 21, "srvsvc_NetSrvGetInfo", encode_stub(&req), want);
    }
    let mut w = open_pipe("wkssvc", info()).unwrap();
    bind(&mut w, rsmbd_share::ipc::rpc::WKSSVC);
    for (level, want) in [
        (100, "WERR_OK"),
        (101, "WERR_OK"),
        (102, "WERR_OK"),
        (502, "WERR_ACCESS_DENIED"),
        (3, "WERR_INVALID_LEVEL"),
    ] {
        let in_stub = encode_stub(&NetrWkstaGetInfoRequest {
            server_name: None,
            level,
        });
        let (_, out_stub) = call(&mut w, 0, &in_stub);
        let out = ndrdump(
            d,
            &[
                "wkssvc",
                "wkssvc_NetWkstaGetInfo",
                "out",
                "o.bin",
                "-c",
                "i.bin",
            ],
            &[("i.bin", &in_stub), ("o.bin", &out_stub)],
        );
        assert!(
            out.contains(want),
            "wkssvc level {level} wants {want}:\n{out}"
        );
    }
}
