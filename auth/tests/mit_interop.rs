//! Real MIT Kerberos interop (run with `RSMBD_MIT_KDC=1`): a throwaway MIT realm on loopback,
//! MIT's GSS initiator (Python `gssapi`) produces AP-REQs, our acceptor answers, and MIT must
//! reach `complete` with the same session key (GSS_C_INQ_SSPI_SESSION_KEY). Also checks
//! mechListMIC-style MIC tokens in both directions against MIT.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rsmbd_auth::asn1::kerberos::{ApRep, ApReq, EncApRepPart, EncTicketPart};
use rsmbd_auth::crypto::{Enctype, Key, usage};
use rsmbd_auth::gss;
use rsmbd_auth::kerberos::mic;
use rsmbd_auth::{Acceptor, AcceptorConfig, Authenticated, Keytab, ReplayCache, Step};

const REALM: &str = "EXAMPLE.TEST";

/// The initiator: speaks a line protocol on stdin/stdout.
/// Out: `TOKEN <hex|-> <complete 0/1>`, `ERR <msg>`, `KEY <hex>`, `MIC <hex>`, `OK`, `BAD <msg>`.
/// In:  `REPLY <hex|-> <acceptor-done 0/1>`, then `SIGN <hex>` / `VERIFY <hex> <hex>`.
const INITIATOR: &str = r#"
import sys, binascii, gssapi, gssapi.raw as raw
def out(*a): print(*a, flush=True)
hx = lambda b: binascii.hexlify(b).decode() if b else '-'
mech = raw.OID.from_int_seq(sys.argv[1])
name = gssapi.Name(sys.argv[2], gssapi.NameType.hostbased_service)
flags = gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.integrity
ctx = gssapi.SecurityContext(name=name, usage='initiate', mech=mech, flags=flags)
try:
    tok = ctx.step()
except Exception as e:
    out('ERR', repr(e).replace('\n', ' ')); sys.exit(0)
out('TOKEN', hx(tok), int(ctx.complete))
for line in sys.stdin:
    p = line.split()
    if p[0] == 'REPLY':
        reply = b'' if p[1] == '-' else binascii.unhexlify(p[1])
        try:
            if not ctx.complete:
                tok = ctx.step(reply)
                out('TOKEN', hx(tok), int(ctx.complete))
            else:
                out('TOKEN', '-', 1)
        except Exception as e:
            out('ERR', repr(e).replace('\n', ' ')); sys.exit(0)
        if p[2] == '1':
            key = raw.inquire_sec_context_by_oid(ctx, raw.OID.from_int_seq('1.2.840.113554.1.2.2.5.5'))
            out('KEY', hx(key[0]), int(ctx.complete))
    elif p[0] == 'SIGN':
        out('MIC', hx(ctx.get_signature(binascii.unhexlify(p[1]))))
    elif p[0] == 'VERIFY':
        try:
            ctx.verify_signature(binascii.unhexlify(p[1]), binascii.unhexlify(p[2])); out('OK')
        except Exception as e:
            out('BAD', repr(e).replace('\n', ' '))
"#;

struct Realm {
    dir: PathBuf,
    port: u16,
    kdc: Child,
}

impl Drop for Realm {
    fn drop(&mut self) {
        // Only the krb5kdc we started.
        let _ = self.kdc.kill();
        let _ = self.kdc.wait();
        if std::env::var_os("RSMBD_KEEP_REALM").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn free_port() -> u16 {
    for _ in 0..50 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

fn run(dir: &Path, cmd: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut c = Command::new(cmd)
        .args(args)
        .env("KRB5_CONFIG", dir.join("krb5.conf"))
        .env("KRB5_KDC_PROFILE", dir.join("kdc.conf"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    if let Some(s) = stdin {
        c.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let o = c.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{cmd} {args:?} failed: {text}");
    text
}

const SERVICES: &[(&str, &str)] = &[
    ("smb1.example.test", ""),
    ("smb17.example.test", "aes128-cts-hmac-sha1-96:normal"),
    ("smb18.example.test", "aes256-cts-hmac-sha1-96:normal"),
    ("smb19.example.test", "aes128-cts-hmac-sha256-128:normal"),
    ("smb20.example.test", "aes256-cts-hmac-sha384-192:normal"),
    ("smb23.example.test", "arcfour-hmac:normal"),
];
const USERS: &[(&str, &str)] = &[
    ("alice", "alice-Pw-1"),
    ("eur€", "euro-Pw-2"),
    ("jürgen", "juergen-Pw-3"),
];

fn setup() -> Realm {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!("rsmbd-mit-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let d = dir.display();
    let enctypes = "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128 arcfour-hmac";
    std::fs::write(
        dir.join("krb5.conf"),
        format!(
            "[libdefaults]\n default_realm = {REALM}\n dns_lookup_realm = false\n dns_lookup_kdc = false\n rdns = false\n dns_canonicalize_hostname = false\n default_tgs_enctypes = {enctypes}\n default_tkt_enctypes = {enctypes}\n permitted_enctypes = {enctypes}\n[realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n[domain_realm]\n .example.test = {REALM}\n example.test = {REALM}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("kdc.conf"),
        format!(
            "[kdcdefaults]\n kdc_listen = 127.0.0.1:{port}\n kdc_tcp_listen = 127.0.0.1:{port}\n[realms]\n {REALM} = {{\n  database_name = {d}/principal\n  key_stash_file = {d}/stash\n  acl_file = {d}/kadm5.acl\n  max_life = 10h\n  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal arcfour-hmac:normal\n }}\n[logging]\n kdc = FILE:{d}/kdc.log\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("kadm5.acl"), "").unwrap();
    run(
        &dir,
        "kdb5_util",
        &["create", "-s", "-r", REALM, "-P", "master-Pw-0"],
        None,
    );
    for (u, pw) in USERS {
        run(
            &dir,
            "kadmin.local",
            &["-q", &format!("addprinc -pw {pw} {u}")],
            None,
        );
    }
    let kt = dir.join("service.keytab");
    for (host, e) in SERVICES {
        let flag = if e.is_empty() {
            String::new()
        } else {
            format!("-e {e} ")
        };
        run(
            &dir,
            "kadmin.local",
            &["-q", &format!("addprinc -randkey {flag}cifs/{host}")],
            None,
        );
        if let Some(name) = e
            .strip_suffix(":normal")
            .filter(|n| !n.starts_with("arcfour"))
        {
            // Make the session key that enctype too, so session enctypes vary as well.
            run(
                &dir,
                "kadmin.local",
                &["-q", &format!("setstr cifs/{host} session_enctypes {name}")],
                None,
            );
        }
        run(
            &dir,
            "kadmin.local",
            &[
                "-q",
                &format!("ktadd -k {} -norandkey cifs/{host}", kt.display()),
            ],
            None,
        );
    }
    let kdc = Command::new("krb5kdc")
        .arg("-n")
        .env("KRB5_CONFIG", dir.join("krb5.conf"))
        .env("KRB5_KDC_PROFILE", dir.join("kdc.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("krb5kdc");
    let realm = Realm { dir, port, kdc };
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", realm.port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "krb5kdc did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for (u, pw) in USERS {
        let cc = realm.dir.join(format!(
            "cc_{}",
            USERS.iter().position(|(x, _)| x == u).unwrap()
        ));
        let mut c = Command::new("kinit")
            .arg(format!("{u}@{REALM}"))
            .env("KRB5_CONFIG", realm.dir.join("krb5.conf"))
            .env("KRB5CCNAME", format!("FILE:{}", cc.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(format!("{pw}\n").as_bytes())
            .unwrap();
        let o = c.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "kinit {u}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    realm
}

struct Initiator {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Initiator {
    fn start(realm: &Realm, user_idx: usize, mech: &str, host: &str) -> Self {
        let mut child = Command::new("python3")
            .args(["-c", INITIATOR, mech, &format!("cifs@{host}")])
            .env("KRB5_CONFIG", realm.dir.join("krb5.conf"))
            .env(
                "KRB5CCNAME",
                format!(
                    "FILE:{}",
                    realm.dir.join(format!("cc_{user_idx}")).display()
                ),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
        }
    }
    fn line(&mut self) -> Vec<String> {
        let mut l = String::new();
        self.stdout.read_line(&mut l).unwrap();
        l.split_whitespace().map(str::to_owned).collect()
    }
    fn send(&mut self, l: String) {
        writeln!(self.stdin, "{l}").unwrap();
        self.stdin.flush().unwrap();
    }
    /// Next token, or an error message from MIT.
    fn token(&mut self) -> Result<(Vec<u8>, bool), String> {
        let l = self.line();
        match l.first().map(String::as_str) {
            Some("TOKEN") => Ok((unhex(&l[1]), l[2] == "1")),
            _ => Err(l.join(" ")),
        }
    }
}

impl Drop for Initiator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        Vec::new()
    } else {
        hex::decode(s).unwrap()
    }
}
fn hx(b: &[u8]) -> String {
    if b.is_empty() {
        "-".into()
    } else {
        hex::encode(b)
    }
}

/// Drive one exchange; returns our session, MIT's session key, and MIT's first token.
fn exchange(
    realm: &Realm,
    kt: &Arc<Keytab>,
    user_idx: usize,
    mech: &str,
    host: &str,
) -> Result<(Authenticated, Vec<u8>, Vec<u8>, Initiator), String> {
    let mut cfg = AcceptorConfig::new(kt.clone());
    // RC4 only where the test asks for it (the service with only an arcfour key).
    cfg.allow_rc4 = host.starts_with("smb23.");
    let mut acc = Acceptor::new(Arc::new(cfg), Arc::new(ReplayCache::new()));
    let mut ini = Initiator::start(realm, user_idx, mech, host);
    let (mut tok, _) = ini.token()?;
    let first = tok.clone();
    for _ in 0..5 {
        match acc.step(&tok, SystemTime::now()) {
            Step::Continue { output } => {
                ini.send(format!("REPLY {} 0", hx(&output)));
                tok = ini.token()?.0;
            }
            Step::Done { output, session } => {
                ini.send(format!("REPLY {} 1", hx(&output)));
                let (_, complete) = ini.token()?;
                let k = ini.line();
                if k.first().map(String::as_str) != Some("KEY") || !complete {
                    return Err(format!("MIT did not complete: {k:?}"));
                }
                return Ok((session, unhex(&k[1]), first, ini));
            }
            Step::Refused { error, .. } => return Err(format!("we refused: {error}")),
        }
    }
    Err("too many legs".into())
}

/// Our AP-REP seq-number, recovered with the keytab (the test knows the service key).
fn our_seq(kt: &Keytab, first_token: &[u8], ap_rep_key_holder: &[u8]) -> u32 {
    let (_, inner) = gss::unwrap(first_token).unwrap();
    let (_, msg) = gss::split_tok_id(inner).unwrap();
    let req: ApReq = rasn::ber::decode(msg).unwrap();
    let e = kt
        .entries()
        .iter()
        .find(|e| {
            e.enctype == req.ticket.enc_part.etype
                && Some(e.kvno) == req.ticket.enc_part.kvno_u32()
                && e.components.last().map(|c| c.as_slice())
                    == req.ticket.sname.name_string.last().map(|c| c.as_bytes())
        })
        .unwrap();
    let key = Key::new(Enctype::from_i32(e.enctype).unwrap(), &e.key).unwrap();
    let enc: EncTicketPart = rasn::ber::decode(
        &key.decrypt(usage::TICKET, &req.ticket.enc_part.cipher)
            .unwrap(),
    )
    .unwrap();
    let tsk = Key::new(
        Enctype::from_i32(enc.key.keytype).unwrap(),
        &enc.key.keyvalue,
    )
    .unwrap();
    let (_, inner) = gss::unwrap(ap_rep_key_holder).unwrap();
    let (_, msg) = gss::split_tok_id(inner).unwrap();
    let rep: ApRep = rasn::ber::decode(msg).unwrap();
    let part: EncApRepPart = rasn::ber::decode(
        &tsk.decrypt(usage::AP_REP_ENC_PART, &rep.enc_part.cipher)
            .unwrap(),
    )
    .unwrap();
    part.seq_number.unwrap_or(0)
}

#[test]
fn mit_interop() {
    if std::env::var("RSMBD_MIT_KDC").as_deref() != Ok("1") {
        println!(
            "skipped: set RSMBD_MIT_KDC=1 to run against a throwaway MIT realm (needs krb5-kdc, krb5-admin-server, krb5-user, python3 gssapi)"
        );
        return;
    }
    let realm = setup();
    let kt =
        Arc::new(Keytab::parse(&std::fs::read(realm.dir.join("service.keytab")).unwrap()).unwrap());
    println!("keytab: {:#?}", kt.summary());
    let spnego = "1.3.6.1.5.5.2";
    let krb5 = "1.2.840.113554.1.2.2";
    let mut failures = Vec::new();
    let mut passed = 0;

    let mut cases: Vec<(usize, &str, &str)> = Vec::new();
    for (host, _) in SERVICES {
        for mech in [spnego, krb5] {
            cases.push((0, mech, host));
        }
    }
    for u in 1..USERS.len() {
        cases.push((u, spnego, "smb1.example.test"));
    }
    for (u, mech, host) in cases {
        let label = format!(
            "{} via {} to cifs/{host}",
            USERS[u].0,
            if mech == spnego { "SPNEGO" } else { "krb5" }
        );
        match exchange(&realm, &kt, u, mech, host) {
            Ok((s, mit_key, _, _)) => {
                let ok = s.session_key.as_bytes() == mit_key.as_slice()
                    && s.principal == format!("{}@{REALM}", USERS[u].0)
                    && s.spn == format!("cifs/{host}@{REALM}")
                    // MIT ≥ 1.20 signs a minimal PAC; its server signature must verify.
                    && s.pac_server_signature == Some(true);
                println!(
                    "{label}: {} (ticket {}, session {}, kvno {}, pac {} bytes, pac server signature {:?})",
                    if ok { "ok" } else { "MISMATCH" },
                    s.ticket_enctype,
                    s.session_enctype,
                    s.kvno,
                    s.pac.as_ref().map_or(0, Vec::len),
                    s.pac_server_signature
                );
                if ok {
                    passed += 1
                } else {
                    failures.push(format!("{label}: key/name mismatch: {s:?}"))
                }
            }
            Err(e) => {
                println!("{label}: FAILED {e}");
                failures.push(format!("{label}: {e}"));
            }
        }
    }

    // MIC tokens both ways against MIT (what a mechListMIC exchange uses), on a raw krb5 context.
    {
        let cfg = Arc::new(AcceptorConfig::new(kt.clone()));
        let mut acc = Acceptor::new(cfg, Arc::new(ReplayCache::new()));
        let mut ini = Initiator::start(&realm, 0, krb5, "smb18.example.test");
        let (tok, _) = ini.token().unwrap();
        let Step::Done { output, session } = acc.step(&tok, SystemTime::now()) else {
            panic!("not accepted")
        };
        ini.send(format!("REPLY {} 1", hx(&output)));
        assert!(ini.token().unwrap().1);
        let _ = ini.line();
        let key = Key::new(
            Enctype::from_i32(session.session_enctype).unwrap(),
            session.session_key.as_bytes(),
        )
        .unwrap();
        let data = b"\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02";
        ini.send(format!("SIGN {}", hex::encode(data)));
        let l = ini.line();
        let mit_mic = unhex(&l[1]);
        if mic::verify_initiator_mic(&key, &mit_mic, data) {
            passed += 1;
            println!("MIT initiator MIC verifies with our code: ok");
        } else {
            failures.push("MIT's initiator MIC did not verify".into());
        }
        let seq = our_seq(&kt, &tok, &output);
        let ours = mic::acceptor_mic(&key, data, u64::from(seq)).unwrap();
        ini.send(format!(
            "VERIFY {} {}",
            hex::encode(data),
            hex::encode(&ours)
        ));
        let l = ini.line();
        if l.first().map(String::as_str) == Some("OK") {
            passed += 1;
            println!("our acceptor MIC verifies in MIT: ok");
        } else {
            failures.push(format!("MIT refused our MIC: {l:?}"));
        }
    }

    // The full RFC 4178 MIC exchange with real MIT tokens: SPNEGO lists NTLMSSP first, so we
    // answer request-mic, then AP-REP + our MIC (MIT must verify it), then MIT's MIC.
    {
        use rasn::types::{ObjectIdentifier, OctetString};
        use rsmbd_auth::asn1::spnego::{NegState, NegTokenInit, NegTokenResp, NegotiationToken};
        let oid = |a: &[u32]| ObjectIdentifier::new(a.to_vec()).unwrap();
        let mech_types = vec![oid(gss::oid::NTLMSSP_ARCS), oid(gss::oid::KRB5_ARCS)];
        let mech_types_der = rasn::der::encode(&mech_types).unwrap();
        let init = NegotiationToken::NegTokenInit(NegTokenInit {
            mech_types,
            req_flags: None,
            mech_token: Some(OctetString::from_static(b"NTLMSSP\0\x01\0\0\0")),
            mech_list_mic: None,
        });
        let resp = |token: Option<Vec<u8>>, mic: Option<Vec<u8>>| {
            rasn::der::encode(&NegotiationToken::NegTokenResp(NegTokenResp {
                neg_state: None,
                supported_mech: None,
                response_token: token.map(OctetString::from),
                mech_list_mic: mic.map(OctetString::from),
            }))
            .unwrap()
        };
        let decode = |out: &[u8]| match rasn::ber::decode::<NegotiationToken>(out).unwrap() {
            NegotiationToken::NegTokenResp(r) => r,
            other => panic!("{other:?}"),
        };
        let mut acc = Acceptor::new(
            Arc::new(AcceptorConfig::new(kt.clone())),
            Arc::new(ReplayCache::new()),
        );
        let leg1 = acc.step(
            &gss::wrap(gss::oid::SPNEGO, &rasn::der::encode(&init).unwrap()),
            SystemTime::now(),
        );
        let Step::Continue { output } = leg1 else {
            panic!("leg 1: {leg1:?}")
        };
        assert_eq!(decode(&output).neg_state, Some(NegState::RequestMic));
        let mut ini = Initiator::start(&realm, 0, krb5, "smb19.example.test");
        let (ap_req, _) = ini.token().unwrap();
        let leg2 = acc.step(&resp(Some(ap_req), None), SystemTime::now());
        let Step::Continue { output } = leg2 else {
            panic!("leg 2: {leg2:?}")
        };
        let r = decode(&output);
        ini.send(format!("REPLY {} 1", hx(&r.response_token.unwrap())));
        assert!(ini.token().unwrap().1, "MIT completes on our AP-REP");
        let mit_key = unhex(&ini.line()[1]);
        ini.send(format!(
            "VERIFY {} {}",
            hex::encode(&mech_types_der),
            hex::encode(r.mech_list_mic.unwrap())
        ));
        let l = ini.line();
        if l.first().map(String::as_str) == Some("OK") {
            passed += 1;
        } else {
            failures.push(format!("MIT refused our mechListMIC: {l:?}"));
        }
        ini.send(format!("SIGN {}", hex::encode(&mech_types_der)));
        let client_mic = unhex(&ini.line()[1]);
        match acc.step(&resp(None, Some(client_mic)), SystemTime::now()) {
            Step::Done { output, session }
                if session.session_key.as_bytes() == mit_key.as_slice() =>
            {
                assert_eq!(decode(&output).neg_state, Some(NegState::AcceptCompleted));
                println!(
                    "3-leg SPNEGO mechListMIC exchange with MIT tokens (enctype {}): ok",
                    session.session_enctype
                );
                passed += 1;
            }
            other => failures.push(format!("leg 3 with MIT's MIC: {other:?}")),
        }
    }

    // An RC4 ticket from MIT is refused when RC4 is not enabled (the default).
    {
        let mut acc = Acceptor::new(
            Arc::new(AcceptorConfig::new(kt.clone())),
            Arc::new(ReplayCache::new()),
        );
        let mut ini = Initiator::start(&realm, 0, spnego, "smb23.example.test");
        let (tok, _) = ini.token().unwrap();
        match acc.step(&tok, SystemTime::now()) {
            Step::Refused {
                error: rsmbd_auth::AuthError::EnctypeNotAllowed { enctype: 23, .. },
                ..
            } => passed += 1,
            other => failures.push(format!("RC4 ticket not refused by default: {other:?}")),
        }
    }

    // A replayed MIT token is refused.
    {
        let cache = Arc::new(ReplayCache::new());
        let cfg = Arc::new(AcceptorConfig::new(kt.clone()));
        let mut ini = Initiator::start(&realm, 0, spnego, "smb1.example.test");
        let (tok, _) = ini.token().unwrap();
        assert!(matches!(
            Acceptor::new(cfg.clone(), cache.clone()).step(&tok, SystemTime::now()),
            Step::Done { .. }
        ));
        match Acceptor::new(cfg, cache).step(&tok, SystemTime::now()) {
            Step::Refused { error, .. } if error.krb_error_code() == Some(34) => passed += 1,
            other => failures.push(format!("replay not refused: {other:?}")),
        }
    }

    // Skew: our clock 10 minutes ahead → KRB-ERROR 37 that MIT's initiator reports as skew.
    {
        let cfg = Arc::new(AcceptorConfig::new(kt.clone()));
        let mut acc = Acceptor::new(cfg, Arc::new(ReplayCache::new()));
        let mut ini = Initiator::start(&realm, 0, spnego, "smb1.example.test");
        let (tok, _) = ini.token().unwrap();
        let step = acc.step(&tok, SystemTime::now() + Duration::from_secs(600));
        let mp = step.more_processing_required();
        match step {
            Step::Refused {
                output: Some(out),
                error,
            } if error.krb_error_code() == Some(37) && mp => {
                ini.send(format!("REPLY {} 0", hx(&out)));
                let l = ini.line();
                println!("MIT on our KRB_AP_ERR_SKEW: {l:?}");
                if l.first().map(String::as_str) == Some("ERR")
                    && l.join(" ").to_lowercase().contains("skew")
                {
                    passed += 1;
                } else {
                    failures.push(format!("MIT did not report skew: {l:?}"));
                }
            }
            other => failures.push(format!("skew not refused with a KRB-ERROR: {other:?}")),
        }
    }

    println!("MIT interop: {passed} passed, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{failures:#?}\nKDC log: {}",
        std::fs::read_to_string(realm.dir.join("kdc.log")).unwrap_or_default()
    );
}
