//! `rsmbd keytab list` and `rsmbd keytab check`: what the keytab holds, and whether it holds a
//! usable `cifs/<name>` key for every name the server answers to (field research R1-R5). Every
//! finding is one line an administrator can act on; the functions here are pure (text in, lines
//! out) so tests feed them a keytab and a hosts file.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use rsmbd_auth::crypto::Enctype;
use rsmbd_auth::{Keytab, KeytabEntry, enctype_name};

use crate::config::Config;
use crate::status::fmt_utc;

/// How serious a finding is. `Warn` and `Error` make `keytab check` exit non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// A name is served and its keys are fine.
    Ok,
    /// Worth knowing, not a problem.
    Info,
    /// Some clients will be refused or use weak crypto.
    Warn,
    /// Nothing can work (empty keytab).
    Error,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Info => "info",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }
}

/// One line of `keytab check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Severity.
    pub level: Level,
    /// The name or principal it is about.
    pub subject: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<5} {}: {}",
            self.level.label(),
            self.subject,
            self.message
        )
    }
}

/// A name the server answers to and where it comes from (for the report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedName {
    /// DNS name, lower case.
    pub name: String,
    /// "server_name", "/etc/hosts 127.0.0.2", ...
    pub source: String,
}

/// The names in a hosts file (`/etc/hosts` syntax) for `addr`.
pub fn hosts_names(hosts: &str, addr: IpAddr) -> Vec<String> {
    let mut out = Vec::new();
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(Ok(a)) = words.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        if a == addr {
            out.extend(words.map(str::to_ascii_lowercase));
        }
    }
    out
}

/// Every name the server answers to: `server_name` when it is a DNS name, each `[[listener]]`'s
/// `names`, and the hosts-file
/// names of each listen address (for a wildcard address, the host's own name and its aliases).
/// Names without a dot are reported separately: clients dialling them ask for an SPN that
/// depends on their resolver.
pub fn served_names(
    config: &Config,
    hosts: &str,
    hostname: Option<&str>,
) -> (Vec<ServedName>, Vec<String>) {
    let mut names: Vec<ServedName> = Vec::new();
    let mut short = Vec::new();
    let mut add = |name: &str, source: String, names: &mut Vec<ServedName>| {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() || name == "localhost" || name.starts_with("localhost.") {
            return;
        }
        if !name.contains('.') {
            if !short.contains(&name) {
                short.push(name);
            }
            return;
        }
        if !names.iter().any(|n| n.name == name) {
            names.push(ServedName { name, source });
        }
    };
    add(&config.server_name, "server_name".into(), &mut names);
    let listeners = config.listeners();
    for l in &listeners {
        for n in &l.names {
            add(n, format!("[[listener]] {} names", l.address), &mut names);
        }
    }
    for l in listeners.iter().map(|l| l.address) {
        let ip = l.ip();
        if ip.is_unspecified() {
            if let Some(h) = hostname {
                add(h, format!("host name (listening on {l})"), &mut names);
                // The aliases written on the host name's own hosts-file lines.
                for line in hosts.lines() {
                    let line = line.split('#').next().unwrap_or("");
                    let words: Vec<&str> = line.split_whitespace().skip(1).collect();
                    if words.iter().any(|w| w.eq_ignore_ascii_case(h)) {
                        for w in words {
                            add(w, format!("alias of host name {h}"), &mut names);
                        }
                    }
                }
            }
        } else {
            for n in hosts_names(hosts, ip) {
                add(&n, format!("hosts file {ip}"), &mut names);
            }
        }
    }
    (names, short)
}

/// `rsmbd keytab list`: one line per entry.
pub fn list(keytab: &Keytab) -> Vec<String> {
    let mut out = vec![format!(
        "{:<50} {:>5}  {:<28} {}",
        "principal", "kvno", "enctype", "timestamp"
    )];
    for e in keytab.entries() {
        out.push(format!(
            "{:<50} {:>5}  {:<28} {}",
            e.principal_text(),
            e.kvno,
            format!("{} ({})", enctype_name(e.enctype), e.enctype),
            fmt_utc(u64::from(e.timestamp)),
        ));
    }
    out
}

/// The `cifs/<host>` of an entry, if it is one.
fn cifs_host(e: &KeytabEntry) -> Option<String> {
    match e.components.as_slice() {
        [svc, host] if svc.as_slice() == b"cifs" => {
            Some(String::from_utf8_lossy(host).into_owned())
        }
        _ => None,
    }
}

fn is_des(enctype: i32) -> bool {
    matches!(enctype, 1..=3 | 16)
}

/// `rsmbd keytab check`: findings for `names` against `keytab` with the accepted `enctypes`.
pub fn check(
    keytab: &Keytab,
    keytab_path: &str,
    names: &[ServedName],
    short: &[String],
    enctypes: &[Enctype],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let finding = |level, subject: &str, message: String| Finding {
        level,
        subject: subject.to_string(),
        message,
    };
    if keytab.entries().is_empty() {
        out.push(finding(
            Level::Error,
            keytab_path,
            format!("the keytab is empty: no client can log on; fix: kadmin.local -q \"ktadd -k {keytab_path} cifs/<name>\" for every name"),
        ));
    }
    let accepted = |n: i32| enctypes.iter().any(|e| e.number() == n);
    for n in names {
        let spn = format!("cifs/{}", n.name);
        let entries: Vec<&KeytabEntry> = keytab
            .entries()
            .iter()
            .filter(|e| cifs_host(e).as_deref() == Some(n.name.as_str()))
            .collect();
        if entries.is_empty() {
            let near: Vec<String> = keytab
                .entries()
                .iter()
                .filter(|e| cifs_host(e).is_some_and(|h| h.eq_ignore_ascii_case(&n.name)))
                .map(KeytabEntry::principal_text)
                .collect();
            let message = if let Some(p) = near.first() {
                format!(
                    "no key for {spn} (name from {}); the keytab has {p}, which differs in case and Kerberos compares names exactly; fix: re-create the principal in lower case and ktadd it",
                    n.source
                )
            } else {
                format!(
                    "no key for {spn} (name from {}): clients that dial {} are refused (or fall back to NTLM); fix: kadmin.local -q \"addprinc -randkey {spn}\" and kadmin.local -q \"ktadd -k {keytab_path} {spn}\" (or, for a CNAME, have clients use the host's own name)",
                    n.source, n.name
                )
            };
            out.push(finding(Level::Warn, &spn, message));
            continue;
        }
        // One ok line per (principal, kvno).
        let mut groups: BTreeMap<(String, u32), Vec<i32>> = BTreeMap::new();
        for e in &entries {
            groups
                .entry((e.principal_text(), e.kvno))
                .or_default()
                .push(e.enctype);
        }
        for ((p, kvno), types) in &groups {
            let names: Vec<&str> = types.iter().map(|t| enctype_name(*t)).collect();
            out.push(finding(
                Level::Ok,
                p,
                format!(
                    "kvno {kvno} [{}] (name from {})",
                    names.join(", "),
                    n.source
                ),
            ));
            if *kvno == 0 {
                out.push(finding(Level::Warn, p, "kvno 0 in the keytab: accepted as a fallback for any ticket kvno, but it hides stale keys; fix: re-export with kadmin ktadd so the real kvno is recorded".into()));
            }
        }
        let types: Vec<i32> = entries.iter().map(|e| e.enctype).collect();
        if types.iter().all(|t| *t == 23) {
            out.push(finding(Level::Warn, &spn, format!("RC4-only keys (rc4-hmac): modern Windows refuses RC4 tickets{}; fix: kadmin.local -q \"ktadd -k {keytab_path} -e aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal {spn}\"", if accepted(23) { "" } else { " and allow_rc4 is off, so every ticket is refused" })));
        } else if !types.iter().any(|t| accepted(*t)) {
            out.push(finding(Level::Warn, &spn, format!("none of its keys ({}) is an accepted enctype; fix: add one to `enctypes` or export AES keys", types.iter().map(|t| enctype_name(*t)).collect::<Vec<_>>().join(", "))));
        }
        if types.iter().any(|t| is_des(*t)) {
            out.push(finding(Level::Warn, &spn, "DES/3DES keys present: never accepted, and a KDC that still issues them is misconfigured; fix: remove them (ktutil delent) and re-export with -e aes256-cts-hmac-sha1-96:normal".to_string()));
        }
    }
    // Duplicates: the same (principal, kvno, enctype) twice.
    let mut seen: BTreeMap<(String, u32, i32), (usize, bool)> = BTreeMap::new();
    for e in keytab.entries() {
        let k = (e.principal_text(), e.kvno, e.enctype);
        match seen.get_mut(&k) {
            Some((count, same)) => {
                *count += 1;
                let first = keytab
                    .entries()
                    .iter()
                    .find(|x| x.principal_text() == k.0 && x.kvno == k.1 && x.enctype == k.2);
                // Constant-time comparison is moot here (both keys are local), but keep the habit.
                *same &= first.is_some_and(|f| subtle_eq(&f.key, &e.key));
            }
            None => {
                seen.insert(k, (1, true));
            }
        }
    }
    for ((p, kvno, t), (count, same)) in seen {
        if count > 1 {
            out.push(finding(
                Level::Warn,
                &p,
                format!(
                    "{count} entries for kvno {kvno} {}{}; fix: rebuild the keytab (ktutil: rkt, delent the extras, wkt) or re-export it",
                    enctype_name(t),
                    if same { " (identical keys)" } else { " with DIFFERENT keys: only one can be right" }
                ),
            ));
        }
    }
    // Keys for names nothing maps to.
    let mut extra: Vec<String> = Vec::new();
    for e in keytab.entries() {
        let served = cifs_host(e).is_some_and(|h| names.iter().any(|n| n.name == h));
        let p = e.principal_text();
        if !served && !extra.contains(&p) {
            extra.push(p);
        }
    }
    for p in extra {
        let is_short = short.iter().any(|s| p.starts_with(&format!("cifs/{s}@")));
        out.push(finding(Level::Info, &p, if is_short {
            "key for a short name the server answers to; clients that dial the short name use it".into()
        } else {
            "the keytab holds this key but no configured name or listen address maps to it (harmless; or a hosts/DNS entry is missing)".into()
        }));
    }
    for s in short {
        out.push(finding(Level::Info, s, "short name (no dot) not checked: clients dialling it ask for cifs/<what their resolver makes of it>".into()));
    }
    out
}

/// Byte equality without early exit.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True if any finding is a problem (exit status 1).
pub fn has_problem(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.level >= Level::Warn)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn entry(host: &str, kvno: u32, enctype: i32, key: u8) -> KeytabEntry {
        KeytabEntry {
            realm: b"EXAMPLE.TEST".to_vec(),
            components: vec![b"cifs".to_vec(), host.as_bytes().to_vec()],
            name_type: 3,
            timestamp: 1_700_000_000,
            kvno,
            enctype,
            key: vec![
                key;
                if enctype == 17 || enctype == 23 {
                    16
                } else {
                    32
                }
            ],
        }
    }

    const HOSTS: &str = "127.0.0.1 localhost\n127.0.0.2 smb1.example.test nokey.example.test # data\n127.0.0.3 smb2.example.test smb2\n";

    fn config() -> Config {
        Config::from_toml(
            r#"listen = ["127.0.0.2:445", "127.0.0.3:445"]
keytab = "/k""#,
        )
        .unwrap()
    }

    fn aes() -> Vec<Enctype> {
        rsmbd_auth::AcceptorConfig::DEFAULT_ENCTYPES.to_vec()
    }

    #[test]
    fn names_come_from_the_hosts_file_of_each_listen_address() {
        let (names, short) = served_names(&config(), HOSTS, None);
        let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "smb1.example.test",
                "nokey.example.test",
                "smb2.example.test"
            ]
        );
        assert_eq!(short, ["rsmbd", "smb2"]);
        let mut c = config();
        c.listen = vec!["0.0.0.0:445".parse().unwrap()];
        c.server_name = "nas.example.test".into();
        let (names, _) = served_names(&c, "10.0.0.1 box.example.test box\n", Some("box"));
        let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["nas.example.test", "box.example.test"]);
        let c = Config::from_toml(
            "keytab = \"/k\"\n[[listener]]\naddress = \"192.0.2.7:445\"\nnames = [\"data2.example.test\"]",
        )
        .unwrap();
        let (names, _) = served_names(&c, "", None);
        assert_eq!(names[0].name, "data2.example.test");
        assert!(names[0].source.contains("[[listener]]"));
    }

    #[test]
    fn missing_name_rc4_only_kvno0_duplicates_and_extras_are_reported() {
        let kt = Keytab::from_entries(vec![
            entry("smb1.example.test", 2, 18, 1),
            entry("smb1.example.test", 2, 17, 1),
            entry("smb2.example.test", 0, 23, 2),
            entry("smb2.example.test", 0, 23, 3),
            entry("old.example.test", 5, 18, 4),
        ]);
        let (names, short) = served_names(&config(), HOSTS, None);
        let f = check(&kt, "/k", &names, &short, &aes());
        let text: Vec<String> = f.iter().map(ToString::to_string).collect();
        let has = |level: Level, subject: &str, words: &str| {
            f.iter().any(|x| {
                x.level == level && x.subject.starts_with(subject) && x.message.contains(words)
            })
        };
        assert!(
            has(
                Level::Ok,
                "cifs/smb1.example.test@EXAMPLE.TEST",
                "kvno 2 [aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96]"
            ),
            "{text:#?}"
        );
        assert!(
            has(
                Level::Warn,
                "cifs/nokey.example.test",
                "no key for cifs/nokey.example.test"
            ),
            "{text:#?}"
        );
        assert!(
            has(Level::Warn, "cifs/smb2.example.test", "RC4-only"),
            "{text:#?}"
        );
        assert!(
            has(Level::Warn, "cifs/smb2.example.test@EXAMPLE.TEST", "kvno 0"),
            "{text:#?}"
        );
        assert!(
            has(
                Level::Warn,
                "cifs/smb2.example.test@EXAMPLE.TEST",
                "DIFFERENT keys"
            ),
            "{text:#?}"
        );
        assert!(
            has(
                Level::Info,
                "cifs/old.example.test@EXAMPLE.TEST",
                "no configured name"
            ),
            "{text:#?}"
        );
        assert!(has_problem(&f));
        // Every line names its subject and, for problems, the fix.
        for x in f.iter().filter(|x| x.level >= Level::Warn) {
            assert!(x.message.contains("fix:"), "{x}");
        }
    }

    #[test]
    fn a_good_keytab_has_no_problem_and_case_is_exact() {
        let kt = Keytab::from_entries(vec![
            entry("smb1.example.test", 2, 18, 1),
            entry("nokey.example.test", 2, 18, 1),
            entry("smb2.example.test", 3, 20, 1),
        ]);
        let (names, short) = served_names(&config(), HOSTS, None);
        assert!(!has_problem(&check(&kt, "/k", &names, &short, &aes())));
        let kt = Keytab::from_entries(vec![entry("SMB1.example.test", 2, 18, 1)]);
        let names = vec![ServedName {
            name: "smb1.example.test".into(),
            source: "test".into(),
        }];
        let f = check(&kt, "/k", &names, &[], &aes());
        assert!(
            f.iter().any(|x| x.message.contains("differs in case")),
            "{f:#?}"
        );
        assert!(has_problem(&check(
            &Keytab::default(),
            "/k",
            &[],
            &[],
            &aes()
        )));
    }

    #[test]
    fn list_shows_principal_kvno_enctype_and_time() {
        let kt = Keytab::from_entries(vec![entry("smb1.example.test", 7, 20, 1)]);
        let l = list(&kt);
        assert!(
            l[1].contains("cifs/smb1.example.test@EXAMPLE.TEST"),
            "{l:?}"
        );
        assert!(l[1].contains(" 7 "), "{l:?}");
        assert!(l[1].contains("aes256-cts-hmac-sha384-192 (20)"), "{l:?}");
        assert!(l[1].contains("2023-11-14T22:13:20Z"), "{l:?}");
    }
}
