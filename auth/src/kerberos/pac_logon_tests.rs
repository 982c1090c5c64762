#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use super::*;

/// An AD-shaped logon: a domain user in Domain Users (513) plus two domain groups, a
/// universal group from another domain and the "Authentication authority asserted identity"
/// SID as extra SIDs, and one resource group.
pub(crate) fn ad_logon() -> LogonInfo {
    let domain = Sid::parse("S-1-5-21-3623811015-3361044348-30300820").unwrap();
    LogonInfo {
        effective_name: "alice".into(),
        domain_name: "EXAMPLE".into(),
        domain_sid: Some(domain),
        user_rid: 1106,
        primary_group_rid: 513,
        group_rids: vec![513, 1110, 1111],
        extra_sids: vec![
            Sid::parse("S-1-5-21-1004336348-1177238915-682003330-1201").unwrap(),
            Sid::parse("S-1-18-1").unwrap(),
        ],
        resource_domain_sid: Some(Sid::parse("S-1-5-21-1-2-3").unwrap()),
        resource_group_rids: vec![2001],
    }
}

#[test]
fn sid_text_round_trips() {
    for s in [
        "S-1-5-21-3623811015-3361044348-30300820-1013",
        "S-1-18-1",
        "S-1-5-32-544",
    ] {
        assert_eq!(Sid::parse(s).unwrap().to_string(), s);
    }
    assert_eq!(Sid::parse("s-1-5-18").unwrap().to_string(), "S-1-5-18");
    for bad in [
        "",
        "S",
        "S-1",
        "X-1-5",
        "S-1-5-x",
        "S-1-281474976710656",
        "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
    ] {
        assert!(Sid::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn ad_shaped_logon_info_round_trips() {
    let info = ad_logon();
    let bytes = encode_logon_info(&info);
    let back = parse_logon_info(&bytes).unwrap();
    assert_eq!(back, info);
    assert_eq!(
        back.user_sid().unwrap().to_string(),
        "S-1-5-21-3623811015-3361044348-30300820-1106"
    );
    let groups: Vec<String> = back.group_sids().iter().map(|s| s.to_string()).collect();
    assert_eq!(
        groups,
        [
            "S-1-5-21-3623811015-3361044348-30300820-513",
            "S-1-5-21-3623811015-3361044348-30300820-1110",
            "S-1-5-21-3623811015-3361044348-30300820-1111",
            "S-1-5-21-1004336348-1177238915-682003330-1201",
            "S-1-18-1",
            "S-1-5-21-1-2-3-2001",
        ]
    );
}

#[test]
fn minimal_logon_info_without_groups() {
    let info = LogonInfo {
        effective_name: "bob".into(),
        domain_sid: Some(Sid::parse("S-1-5-21-1-2-3").unwrap()),
        user_rid: 1000,
        primary_group_rid: 513,
        ..Default::default()
    };
    let back = parse_logon_info(&encode_logon_info(&info)).unwrap();
    assert_eq!(back, info);
    assert_eq!(back.group_sids().len(), 1);
}

#[test]
fn every_truncation_and_corruption_is_an_error_not_a_panic() {
    let bytes = encode_logon_info(&ad_logon());
    for cut in 0..bytes.len() {
        let _ = parse_logon_info(&bytes[..cut]);
    }
    // With the ObjectBufferLength kept, any shorter buffer is an error.
    for cut in 0..bytes.len() - 8 {
        assert!(parse_logon_info(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    // Flip every byte to every interesting value: never a panic.
    for i in 0..bytes.len() {
        for v in [0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] = v;
            let _ = parse_logon_info(&b);
        }
    }
}

#[test]
fn hostile_counts_are_refused_before_allocating() {
    let mut bytes = encode_logon_info(&ad_logon());
    // GroupCount sits at stream offset 4 + 108 (after the referent and 108 bytes of fields).
    let at = 16 + 4 + 108;
    assert_eq!(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()), 3);
    bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = parse_logon_info(&bytes).unwrap_err();
    assert!(e.to_string().contains("group array"), "{e}");
    assert!(parse_logon_info(b"").is_err());
    assert!(parse_logon_info(&[2, 0x10, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
}

/// Samba's pidl-generated parser must read our encoding as the same KERB_VALIDATION_INFO
/// (ndrdump from samba-testsuite/samba; skipped with a reason when it is not installed).
/// Samba strips the MS-RPCE type serialization header at the PAC_INFO level, so ndrdump's
/// PAC_LOGON_INFO_CTR gets the NDR stream after the 16 header bytes.
#[test]
fn ndrdump_reads_the_same_logon_info() {
    let available = std::process::Command::new("ndrdump")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("skipped: ndrdump (samba) not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("rsmbd-pac-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("logon_info.bin");
    std::fs::write(&file, &encode_logon_info(&ad_logon())[16..]).unwrap();
    let out = std::process::Command::new("ndrdump")
        .args(["krb5pac", "PAC_LOGON_INFO_CTR", "struct"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if out.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        out.status.success(),
        "ndrdump failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "string                   : 'alice'",
        "string                   : 'EXAMPLE'",
        "rid                      : 0x00000452 (1106)",
        "primary_gid              : 0x00000201 (513)",
        "S-1-5-21-3623811015-3361044348-30300820",
        "S-1-5-21-1004336348-1177238915-682003330-1201",
        "S-1-18-1",
        "S-1-5-21-1-2-3",
        "0x000007d1 (2001)",
        "dump OK",
    ] {
        assert!(
            text.contains(want),
            "ndrdump output lacks {want:?}:\n{text}"
        );
    }
}
