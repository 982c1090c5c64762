//! The administration commands, run as the built binary: output an administrator reads and the
//! exit status scripts test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

use rsmbd_auth::{Keytab, KeytabEntry};

fn entry(host: &str, kvno: u32, enctype: i32) -> KeytabEntry {
    KeytabEntry {
        realm: b"EXAMPLE.TEST".to_vec(),
        components: vec![b"cifs".to_vec(), host.as_bytes().to_vec()],
        name_type: 3,
        timestamp: 1_700_000_000,
        kvno,
        enctype,
        key: vec![7; if enctype == 18 { 32 } else { 16 }],
    }
}

fn rsmbd(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rsmbd"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// A config serving 127.0.0.2 and 127.0.0.3, a hosts file naming them, and a keytab.
fn setup(dir: &Path, entries: Vec<KeytabEntry>) -> (String, String, String) {
    let kt = dir.join("rsmbd.keytab");
    std::fs::write(&kt, Keytab::from_entries(entries).to_bytes()).unwrap();
    let share = dir.join("share");
    std::fs::create_dir_all(&share).unwrap();
    let hosts = dir.join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1 localhost\n127.0.0.2 smb1.example.test nokey.example.test\n127.0.0.3 smb2.example.test\n",
    )
    .unwrap();
    let conf = dir.join("rsmbd.toml");
    std::fs::write(
        &conf,
        format!(
            "listen = [\"127.0.0.2:445\", \"127.0.0.3:445\"]\nkeytab = \"{}\"\nstatus_file = \"{}\"\n[[share]]\nname = \"data\"\npath = \"{}\"\n",
            kt.display(),
            dir.join("sessions.json").display(),
            share.display()
        ),
    )
    .unwrap();
    (
        conf.display().to_string(),
        hosts.display().to_string(),
        kt.display().to_string(),
    )
}

#[test]
fn keytab_check_reports_a_missing_name_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let (conf, hosts, _) = setup(
        dir.path(),
        vec![
            entry("smb1.example.test", 2, 18),
            entry("smb2.example.test", 3, 18),
            entry("smb2.example.test", 3, 17),
        ],
    );
    let (code, out) = rsmbd(&["keytab", "check", "--config", &conf, "--hosts-file", &hosts]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.iter().any(|l| l
            .starts_with("WARN  cifs/nokey.example.test: no key for cifs/nokey.example.test")
            && l.contains("fix: kadmin.local")),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("ok    cifs/smb2.example.test@EXAMPLE.TEST: kvno 3 [aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96]")),
        "{out}"
    );
    assert!(out.contains("keytab check: problems found"), "{out}");
}

#[test]
fn keytab_check_passes_a_complete_keytab_and_flags_rc4_only() {
    let dir = tempfile::tempdir().unwrap();
    let (conf, hosts, _) = setup(
        dir.path(),
        vec![
            entry("smb1.example.test", 2, 18),
            entry("nokey.example.test", 2, 18),
            entry("smb2.example.test", 2, 18),
        ],
    );
    let (code, out) = rsmbd(&["keytab", "check", "--config", &conf, "--hosts-file", &hosts]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("keytab check: ok"), "{out}");

    let (conf, hosts, _) = setup(
        dir.path(),
        vec![
            entry("smb1.example.test", 2, 23),
            entry("nokey.example.test", 2, 18),
            entry("smb2.example.test", 2, 18),
        ],
    );
    let (code, out) = rsmbd(&["keytab", "check", "--config", &conf, "--hosts-file", &hosts]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("WARN  cifs/smb1.example.test: RC4-only")
                && l.contains("allow_rc4 is off")),
        "{out}"
    );
}

#[test]
fn keytab_list_prints_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (conf, _, kt) = setup(
        dir.path(),
        vec![
            entry("smb1.example.test", 2, 18),
            entry("smb1.example.test", 3, 17),
        ],
    );
    for args in [
        ["keytab", "list", "--keytab", &kt],
        ["keytab", "list", "--config", &conf],
    ] {
        let (code, out) = rsmbd(&args);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("2 entries"), "{out}");
        assert!(
            out.lines()
                .any(|l| l.contains("cifs/smb1.example.test@EXAMPLE.TEST")
                    && l.contains(" 3  aes128-cts-hmac-sha1-96 (17)")
                    && l.contains("2023-11-14T22:13:20Z")),
            "{out}"
        );
    }
    let (code, out) = rsmbd(&["keytab", "list", "--keytab", "/nonexistent/kt"]);
    assert_ne!(code, 0);
    assert!(out.contains("cannot read keytab /nonexistent/kt"), "{out}");
}

#[test]
fn config_check_summarises_and_names_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (conf, _, _) = setup(dir.path(), vec![entry("smb1.example.test", 2, 18)]);
    let (code, out) = rsmbd(&["config", "check", "--config", &conf]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("enctypes           aes256-cts-hmac-sha384-192, aes128-cts-hmac-sha256-128, aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96"), "{out}");
    assert!(out.contains("config check: ok"), "{out}");
    // Flags override the file, as for serve.
    let (code, out) = rsmbd(&["config", "check", "--config", &conf, "--allow-rc4"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("allow_rc4          true"), "{out}");
    assert!(out.contains("aes128-cts-hmac-sha1-96, rc4-hmac"), "{out}");

    std::fs::remove_dir(dir.path().join("share")).unwrap();
    let (code, out) = rsmbd(&["config", "check", "--config", &conf]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ERROR share data:") && out.contains("is not a directory"),
        "{out}"
    );

    let (code, out) = rsmbd(&[
        "config",
        "check",
        "--config",
        &conf,
        "--enctypes",
        "des-cbc-md5",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ERROR config:") && out.contains("DES"),
        "{out}"
    );
}

#[test]
fn sessions_prints_the_status_file() {
    let dir = tempfile::tempdir().unwrap();
    let (conf, _, _) = setup(dir.path(), vec![entry("smb1.example.test", 2, 18)]);
    let board = rsmbd::status::StatusBoard::default();
    board.started(
        0x10,
        rsmbd::status::SessionRecord {
            session_id: "0x10".into(),
            client: "127.0.0.1:40000".into(),
            listener: "127.0.0.3:445".into(),
            netname: "smb2.example.test".into(),
            tree_host: Some("smb2.example.test".into()),
            mechanism: "kerberos".into(),
            enctype: "aes256-cts-hmac-sha1-96".into(),
            session_enctype: "aes256-cts-hmac-sha1-96".into(),
            spn: "cifs/smb2.example.test@EXAMPLE.TEST".into(),
            kvno: 2,
            principal: "alice@EXAMPLE.TEST".into(),
            dialect: "3.1.1".into(),
            start: rsmbd::status::unix_now(),
            ticket_end: rsmbd::status::unix_now() + 3600,
        },
    );
    rsmbd::status::write_snapshot(&dir.path().join("sessions.json"), &board.snapshot()).unwrap();
    let (code, out) = rsmbd(&["sessions", "--config", &conf]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("1 session(s)"), "{out}");
    let row = out.lines().find(|l| l.starts_with("0x10")).expect(&out);
    for field in [
        "127.0.0.1:40000",
        "127.0.0.3:445",
        "smb2.example.test",
        "kerberos",
        "cifs/smb2.example.test@EXAMPLE.TEST",
        "alice@EXAMPLE.TEST",
        "3.1.1",
    ] {
        assert!(row.contains(field), "{field} missing from {row}");
    }
    let (code, out) = rsmbd(&["sessions", "--status-file", "/nonexistent/s.json"]);
    assert_ne!(code, 0);
    assert!(
        out.contains("is the server running with status_file set?"),
        "{out}"
    );
}
