//! MS-DTYP (GUID, SID, ACL, security descriptor), the SMB1 negotiate, the transform header,
//! create-context helpers and negotiate-context ordering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rsmbd_protocol::create_context::{
    CreateContextName, MaximalAccessResponse, QueryOnDiskIdResponse,
};
use rsmbd_protocol::dtyp::{Ace, AceType, Acl, Guid, SdControl, SecurityDescriptor, Sid};
use rsmbd_protocol::messages::SecurityInformation;
use rsmbd_protocol::negotiate_context::{
    NegotiateContext, decode_negotiate_contexts, encode_negotiate_contexts,
};
use rsmbd_protocol::smb1::{Smb1Negotiate, is_smb1};
use rsmbd_protocol::transform::{TransformHeader, aad};
use rsmbd_protocol::{CreateContext, Encode, NtStatus, Writer};

#[test]
fn guid_text_and_wire_order() {
    // MS-DTYP 2.3.4.3: Data1..Data3 little-endian on the wire.
    let g = Guid::parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8").unwrap();
    assert_eq!(hex::encode(g.0), "10b8a76bad9dd11180b400c04fd430c8");
    assert_eq!(g.to_string(), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    assert_eq!(
        Guid::parse("{6BA7B810-9DAD-11D1-80B4-00C04FD430C8}"),
        Some(g)
    );
    assert_eq!(Guid::parse("6ba7b810-9dad-11d1-80b4"), None);
    assert_eq!(Guid::parse("zba7b810-9dad-11d1-80b4-00c04fd430c8"), None);
}

#[test]
fn sid_text_and_wire() {
    let s = Sid::builtin_administrators();
    assert_eq!(s.to_string(), "S-1-5-32-544");
    let mut w = Writer::new();
    s.encode(&mut w);
    // MS-DTYP 2.4.2.2: revision, count, 6-byte big-endian authority, LE sub-authorities.
    assert_eq!(
        hex::encode(w.as_slice()),
        "01020000000000052000000020020000"
    );
    assert_eq!(Sid::decode(w.as_slice()).unwrap(), s);
    let d = Sid::parse("S-1-5-21-3623811015-3361044348-30300820-1013").unwrap();
    assert_eq!(
        d.to_string(),
        "S-1-5-21-3623811015-3361044348-30300820-1013"
    );
    assert_eq!(Sid::unix_user(1000).to_string(), "S-1-22-1-1000");
    assert_eq!(
        Sid::parse("S-1-281474976710656-1"),
        None,
        "authority over 48 bits"
    );
    assert_eq!(Sid::parse("X-1-5"), None);
    assert!(
        Sid::decode(&[1, 5, 0, 0, 0, 0, 0, 5, 1, 0]).is_err(),
        "count beyond the data"
    );
}

#[test]
fn security_descriptor_round_trip_and_filter() {
    let sd = SecurityDescriptor {
        control: SdControl::SELF_RELATIVE | SdControl::DACL_PRESENT,
        owner: Some(Sid::unix_user(1000)),
        group: Some(Sid::unix_group(100)),
        dacl: Some(Acl {
            revision: 2,
            aces: vec![
                Ace::allow(Sid::unix_user(1000), 0x001F_01FF),
                Ace {
                    ace_type: AceType::ACCESS_DENIED,
                    ace_flags: 0x03,
                    mask: 0x2,
                    sid: Sid::everyone(),
                },
                Ace::allow(Sid::everyone(), 0x0012_00A9),
            ],
        }),
    };
    let bytes = sd.to_bytes();
    // Header: revision 1, control with SE_SELF_RELATIVE and SE_DACL_PRESENT, owner at 20.
    assert_eq!(&bytes[..4], &[1, 0, 0x04, 0x80]);
    assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 20);
    assert_eq!(SecurityDescriptor::decode(&bytes).unwrap(), sd);
    let acl_size = sd.dacl.as_ref().unwrap().size();
    assert_eq!(bytes.len(), 20 + 16 + 16 + acl_size);

    let owner_only = sd.filtered(SecurityInformation::OWNER);
    assert!(owner_only.group.is_none() && owner_only.dacl.is_none() && owner_only.owner.is_some());
    let b2 = owner_only.to_bytes();
    assert_eq!(b2[2] & 0x04, 0, "no DACL, no SE_DACL_PRESENT");
    let back = SecurityDescriptor::decode(&b2).unwrap();
    assert_eq!(back.owner, owner_only.owner);
    for len in 0..bytes.len() {
        let _ = SecurityDescriptor::decode(&bytes[..len]);
    }
}

#[test]
fn smb1_multi_protocol_negotiate() {
    let dialects = [
        "PC NETWORK PROGRAM 1.0",
        "LANMAN1.0",
        "Windows for Workgroups 3.1a",
        "LM1.2X002",
        "LANMAN2.1",
        "NT LM 0.12",
        "SMB 2.002",
        "SMB 2.???",
    ];
    let n = Smb1Negotiate {
        dialects: dialects.iter().map(|s| s.to_string()).collect(),
    };
    let bytes = n.encode();
    assert!(is_smb1(&bytes));
    assert!(!is_smb1(&[0xFE, b'S', b'M', b'B']));
    let back = Smb1Negotiate::decode(&bytes).unwrap();
    assert_eq!(back, n);
    assert!(back.offers_smb2_wildcard() && back.offers_smb2_002());
    let old = Smb1Negotiate {
        dialects: vec!["NT LM 0.12".into()],
    };
    let old = Smb1Negotiate::decode(&old.encode()).unwrap();
    assert!(!old.offers_smb2_wildcard() && !old.offers_smb2_002());
    for len in 0..bytes.len() {
        let _ = Smb1Negotiate::decode(&bytes[..len]);
    }
    let mut other = bytes.clone();
    other[4] = 0x73; // SESSION_SETUP_ANDX
    assert!(Smb1Negotiate::decode(&other).is_err());
    let mut bad = bytes.clone();
    bad[35] = 0x05; // BufferFormat of the first dialect
    assert!(Smb1Negotiate::decode(&bad).is_err());
}

#[test]
fn transform_header_layout() {
    let t = TransformHeader {
        signature: [1; 16],
        nonce: [2; 16],
        original_message_size: 0x87,
        flags: 1,
        session_id: 0x1000_0000_0025,
    };
    let bytes = t.to_bytes();
    assert_eq!(bytes.len(), 52);
    assert_eq!(&bytes[..4], &[0xFD, b'S', b'M', b'B']);
    assert_eq!(TransformHeader::decode(&bytes).unwrap(), t);
    assert_eq!(aad(&bytes).unwrap(), &bytes[20..]);
    assert_eq!(&t.aad_bytes()[..16], &[2; 16]);
    assert!(TransformHeader::decode(&bytes[..51]).is_err());
    assert!(aad(&bytes[..51]).is_err());
    let mut smb2 = bytes;
    smb2[0] = 0xFE;
    assert!(TransformHeader::decode(&smb2).is_err());
}

#[test]
fn create_context_helpers() {
    let mx = MaximalAccessResponse {
        query_status: NtStatus::SUCCESS,
        maximal_access: 0x001F_01FF,
    };
    let c = mx.to_context();
    assert_eq!(c.name.as_ref(), CreateContextName::MXAC);
    assert_eq!(c.data.len(), 8);
    assert_eq!(MaximalAccessResponse::from_data(&c.data).unwrap(), mx);
    let q = QueryOnDiskIdResponse {
        disk_file_id: 0xDEAD,
        volume_id: 0xBEEF,
    };
    let c2 = q.to_context();
    assert_eq!(c2.data.len(), 32);
    assert_eq!(QueryOnDiskIdResponse::from_data(&c2.data).unwrap(), q);
    let list = vec![c, c2];
    assert!(CreateContext::find(&list, b"QFid").is_some());
    assert!(CreateContext::find(&list, b"DHnQ").is_none());
}

#[test]
fn negotiate_contexts_any_order_and_alignment() {
    let contexts = vec![
        NegotiateContext::Unknown {
            context_type: 0x0100,
            data: vec![1],
        },
        NegotiateContext::Signing {
            algorithms: vec![2],
        },
        NegotiateContext::Encryption {
            ciphers: vec![0x0042, 4],
        },
        NegotiateContext::PreauthIntegrity {
            hash_algorithms: vec![1],
            salt: vec![3; 5],
        },
    ];
    let mut w = Writer::new();
    w.zeros(100); // as if after a header and fixed part
    let first = encode_negotiate_contexts(&mut w, &contexts);
    assert_eq!(first, 104);
    let list = &w.as_slice()[first as usize..];
    // Second context starts at the next 8-byte boundary after 8 + 1 bytes.
    assert_eq!(&list[16..18], &8u16.to_le_bytes());
    assert_eq!(decode_negotiate_contexts(list, first, 4).unwrap(), contexts);
    assert!(
        decode_negotiate_contexts(list, first, 5).is_err(),
        "count beyond the list"
    );
}

#[test]
fn lease_and_durable_contexts() {
    use rsmbd_protocol::create_context::*;
    let v1 = LeaseContext {
        lease_key: [1; 16],
        lease_state: 7,
        flags: 0,
        lease_duration: 0,
        v2: None,
    };
    let c = v1.to_context();
    assert_eq!(
        (c.name.as_ref(), c.data.len()),
        (CreateContextName::RQLS, 32)
    );
    assert_eq!(LeaseContext::from_data(&c.data).unwrap(), v1);
    let v2 = LeaseContext {
        flags: LeaseContext::PARENT_LEASE_KEY_SET,
        v2: Some(LeaseV2 {
            parent_lease_key: [2; 16],
            epoch: 3,
        }),
        ..v1
    };
    let c = v2.to_context();
    assert_eq!(c.data.len(), 52);
    assert_eq!(LeaseContext::from_data(&c.data).unwrap(), v2);
    assert!(LeaseContext::from_data(&c.data[..40]).is_err());

    let dh2q = DurableHandleRequestV2 {
        timeout: 60_000,
        flags: DurableHandleRequestV2::PERSISTENT,
        create_guid: [9; 16],
    };
    let c = dh2q.to_context();
    assert_eq!(c.data.len(), 32);
    assert_eq!(DurableHandleRequestV2::from_data(&c.data).unwrap(), dh2q);
    let r = DurableHandleResponseV2 {
        timeout: 60_000,
        flags: 0,
    };
    assert_eq!(
        DurableHandleResponseV2::from_data(&r.to_context().data).unwrap(),
        r
    );
    let dh2c = DurableHandleReconnectV2 {
        file_id: rsmbd_protocol::FileId::new(1, 2),
        create_guid: [4; 16],
        flags: 0,
    };
    let c = dh2c.to_context();
    assert_eq!(c.data.len(), 36);
    assert_eq!(DurableHandleReconnectV2::from_data(&c.data).unwrap(), dh2c);
    assert_eq!(durable_handle_response().data.len(), 8);
    let mut fid = Writer::new();
    rsmbd_protocol::FileId::new(5, 6).write(&mut fid);
    assert_eq!(
        durable_handle_reconnect_file_id(fid.as_slice()).unwrap(),
        rsmbd_protocol::FileId::new(5, 6)
    );
    assert_eq!(context_u64(&4096u64.to_le_bytes(), "AlSi").unwrap(), 4096);
    assert!(context_u64(&[1, 2], "AlSi").is_err());
}
