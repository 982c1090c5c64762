//! Cross-check against an independent DCE/RPC client: impacket's `DCERPC_v5` with the
//! `srvs` and `wkst` stubs drives our pipes through a fake transport (line protocol over the
//! child's stdin/stdout), so impacket's own bind, request fragmentation, response reassembly
//! and NDR unmarshalling judge our bytes. Skipped (with a reason) when python3 or impacket is
//! not available.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use rsmbd_share::ipc::{
    Pipe, PipeServerInfo, PipeShareInfo, STYPE_DISKTREE, STYPE_IPC, STYPE_SPECIAL, open_pipe,
};

/// The client. `cmd` sends one request line to the Rust side and returns its answer.
const CLIENT: &str = r#"
import sys, json
from impacket.dcerpc.v5 import srvs, wkst
from impacket.dcerpc.v5.rpcrt import DCERPC_v5, DCERPCException

def cmd(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return sys.stdin.readline().strip()

class PipeTransport:
    """Stands in for impacket's SMBTransport: send = SMB2 WRITE, recv = SMB2 READ."""
    def __init__(self, name):
        self.name = name
    def connect(self):
        assert cmd("OPEN " + self.name) == "OK"
        return 1
    def disconnect(self):
        return 1
    def send(self, data, forceWriteAndx=0, forceRecv=0):
        r = cmd("W " + data.hex())
        assert r.startswith("OK"), r
    def recv(self, forceRecv=0, count=0):
        r = cmd("R 4280").split()
        assert r[0] == "D", r
        return bytes.fromhex(r[1]) if len(r) > 2 else b""

def s(v):
    return v[:-1] if v and v[-1] == "\x00" else v

out = {}
try:
    dce = DCERPC_v5(PipeTransport("srvsvc"))
    dce.connect()
    dce.bind(srvs.MSRPC_UUID_SRVS)
    r = srvs.hNetrShareEnum(dce, 1)
    out["enum1"] = [[s(e["shi1_netname"]), e["shi1_type"], s(e["shi1_remark"])]
                    for e in r["InfoStruct"]["ShareInfo"]["Level1"]["Buffer"]]
    out["enum1_total"] = r["TotalEntries"]
    out["enum1_entries"] = r["InfoStruct"]["ShareInfo"]["Level1"]["EntriesRead"]
    r = srvs.hNetrShareEnum(dce, 0, serverName="\\\\RSMBD\x00")
    out["enum0"] = [s(e["shi0_netname"]) for e in r["InfoStruct"]["ShareInfo"]["Level0"]["Buffer"]]
    r = srvs.hNetrShareGetInfo(dce, "IPC$\x00", 1)
    i = r["InfoStruct"]["ShareInfo1"]
    out["getinfo1"] = [s(i["shi1_netname"]), i["shi1_type"], s(i["shi1_remark"])]
    try:
        srvs.hNetrShareGetInfo(dce, "nope\x00", 1)
        out["missing"] = 0
    except DCERPCException as e:
        out["missing"] = e.get_error_code()
    r = srvs.hNetrServerGetInfo(dce, 101)
    i = r["InfoStruct"]["ServerInfo101"]
    out["server101"] = [i["sv101_platform_id"], s(i["sv101_name"]), i["sv101_version_major"],
                        i["sv101_version_minor"], i["sv101_type"], s(i["sv101_comment"])]
    # impacket fragments its requests at 16 stub bytes: our reassembly must cope.
    dce.set_max_fragment_size(16)
    r = srvs.hNetrShareEnum(dce, 1)
    out["fragmented_total"] = r["TotalEntries"]

    # NDR64-only bind: impacket reports the rejection.
    dce3 = DCERPC_v5(PipeTransport("srvsvc"))
    dce3.connect()
    try:
        dce3.bind(srvs.MSRPC_UUID_SRVS, transfer_syntax=("71710533-BEBA-4937-8319-B5DBEF9CCC36", "1.0"))
        out["ndr64"] = "accepted"
    except DCERPCException as e:
        out["ndr64"] = str(e)

    dce2 = DCERPC_v5(PipeTransport("wkssvc"))
    dce2.connect()
    dce2.bind(wkst.MSRPC_UUID_WKST)
    r = wkst.hNetrWkstaGetInfo(dce2, 100)
    i = r["WkstaInfo"]["WkstaInfo100"]
    out["wksta100"] = [i["wki100_platform_id"], s(i["wki100_computername"]), s(i["wki100_langroup"]),
                       i["wki100_ver_major"], i["wki100_ver_minor"]]
except Exception as e:
    import traceback
    cmd("FAIL " + json.dumps(traceback.format_exc()))
    sys.exit(1)
cmd("RESULT " + json.dumps(out))
"#;

fn impacket_available() -> Result<(), String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import impacket.dcerpc.v5.srvs, impacket.dcerpc.v5.wkst",
        ])
        .output()
        .map_err(|e| format!("python3 not runnable: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "impacket not importable: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn server_info() -> Arc<PipeServerInfo> {
    let mut shares = vec![
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
    ];
    // Enough shares that the NetrShareEnum answer spans several 4280-byte fragments.
    for i in 0..150 {
        shares.push(PipeShareInfo {
            name: format!("share{i:03}"),
            share_type: STYPE_DISKTREE,
            comment: format!("comment {i}"),
        });
    }
    Arc::new(PipeServerInfo {
        server_name: "RSMBD".into(),
        shares,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs the client and serves its pipe operations; returns the RESULT json.
fn run_client() -> serde_like::Value {
    let mut child = Command::new("python3")
        .args(["-c", CLIENT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut to_child = child.stdin.take().unwrap();
    let from_child = BufReader::new(child.stdout.take().unwrap());
    let info = server_info();
    let mut pipe: Option<Pipe> = None;
    let mut result = None;
    for line in from_child.lines() {
        let line = line.unwrap();
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let answer = match verb {
            "OPEN" => {
                pipe = open_pipe(arg, info.clone());
                assert!(pipe.is_some());
                "OK".to_string()
            }
            "W" => match pipe.as_mut().unwrap().write(&unhex(arg)) {
                Ok(n) => format!("OK {n}"),
                Err(e) => format!("ERR {e:?}"),
            },
            "R" => match pipe.as_mut().unwrap().read(arg.parse().unwrap()) {
                Ok(r) => format!("D {} {}", hex(&r.data), u8::from(r.more)),
                Err(e) => format!("ERR {e:?}"),
            },
            "RESULT" => {
                result = Some(arg.to_string());
                "OK".to_string()
            }
            "FAIL" => panic!("impacket client failed: {}", arg.replace("\\n", "\n")),
            other => panic!("unexpected line {other}"),
        };
        writeln!(to_child, "{answer}").unwrap();
        to_child.flush().unwrap();
        if result.is_some() {
            break;
        }
    }
    drop(to_child);
    let status = child.wait().unwrap();
    assert!(status.success(), "client exit {status}");
    serde_like::parse(&result.expect("client sent no RESULT"))
}

#[test]
fn impacket_client_talks_to_our_pipes() {
    if let Err(reason) = impacket_available() {
        eprintln!("skipping impacket cross-check: {reason}");
        return;
    }
    let v = run_client();
    let enum1 = v.get("enum1").array();
    assert_eq!(enum1.len(), 152);
    assert_eq!(enum1[0].array()[0].str(), "IPC$");
    assert_eq!(enum1[0].array()[1].num(), 0x8000_0003);
    assert_eq!(enum1[0].array()[2].str(), "IPC Service");
    assert_eq!(enum1[1].array()[0].str(), "data");
    assert_eq!(enum1[1].array()[1].num(), 0);
    assert_eq!(enum1[151].array()[0].str(), "share149");
    assert_eq!(enum1[151].array()[2].str(), "comment 149");
    assert_eq!(v.get("enum1_total").num(), 152);
    assert_eq!(v.get("enum1_entries").num(), 152);
    assert_eq!(v.get("enum0").array()[1].str(), "data");
    let gi = v.get("getinfo1").array();
    assert_eq!(
        (gi[0].str(), gi[1].num(), gi[2].str()),
        ("IPC$", 0x8000_0003, "IPC Service")
    );
    assert_eq!(v.get("missing").num(), 2310);
    let s = v.get("server101").array();
    assert_eq!(s[0].num(), 500);
    assert_eq!(s[1].str(), "RSMBD");
    assert_eq!((s[2].num(), s[3].num(), s[4].num()), (10, 0, 0x1003));
    assert_eq!(v.get("fragmented_total").num(), 152);
    assert!(
        v.get("ndr64")
            .str()
            .contains("proposed_transfer_syntaxes_not_supported"),
        "{:?}",
        v.get("ndr64")
    );
    let w = v.get("wksta100").array();
    assert_eq!(w[0].num(), 500);
    assert_eq!(w[1].str(), "RSMBD");
    assert_eq!(w[2].str(), "WORKGROUP");
    assert_eq!((w[3].num(), w[4].num()), (10, 0));
}

/// A minimal JSON reader for the client's RESULT line (no serde in this crate's dev-deps).
mod serde_like {
    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Num(i64),
        Str(String),
        Arr(Vec<Value>),
        Obj(Vec<(String, Value)>),
    }

    impl Value {
        pub fn get(&self, k: &str) -> &Value {
            match self {
                Value::Obj(m) => {
                    &m.iter()
                        .find(|(x, _)| x == k)
                        .unwrap_or_else(|| panic!("no key {k}"))
                        .1
                }
                _ => panic!("not an object"),
            }
        }
        pub fn array(&self) -> &[Value] {
            match self {
                Value::Arr(a) => a,
                other => panic!("not an array: {other:?}"),
            }
        }
        pub fn str(&self) -> &str {
            match self {
                Value::Str(s) => s,
                other => panic!("not a string: {other:?}"),
            }
        }
        pub fn num(&self) -> i64 {
            match self {
                Value::Num(n) => *n,
                other => panic!("not a number: {other:?}"),
            }
        }
    }

    pub fn parse(s: &str) -> Value {
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        value(&chars, &mut i)
    }

    fn ws(c: &[char], i: &mut usize) {
        while *i < c.len() && c[*i].is_whitespace() {
            *i += 1;
        }
    }

    fn value(c: &[char], i: &mut usize) -> Value {
        ws(c, i);
        match c[*i] {
            '{' => {
                *i += 1;
                let mut m = Vec::new();
                loop {
                    ws(c, i);
                    if c[*i] == '}' {
                        *i += 1;
                        break;
                    }
                    let Value::Str(k) = value(c, i) else {
                        panic!("key")
                    };
                    ws(c, i);
                    assert_eq!(c[*i], ':');
                    *i += 1;
                    m.push((k, value(c, i)));
                    ws(c, i);
                    if c[*i] == ',' {
                        *i += 1;
                    }
                }
                Value::Obj(m)
            }
            '[' => {
                *i += 1;
                let mut a = Vec::new();
                loop {
                    ws(c, i);
                    if c[*i] == ']' {
                        *i += 1;
                        break;
                    }
                    a.push(value(c, i));
                    ws(c, i);
                    if c[*i] == ',' {
                        *i += 1;
                    }
                }
                Value::Arr(a)
            }
            '"' => {
                *i += 1;
                let mut s = String::new();
                while c[*i] != '"' {
                    if c[*i] == '\\' {
                        *i += 1;
                        match c[*i] {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'u' => {
                                let h: String = c[*i + 1..*i + 5].iter().collect();
                                s.push(
                                    char::from_u32(u32::from_str_radix(&h, 16).unwrap())
                                        .unwrap_or('?'),
                                );
                                *i += 4;
                            }
                            other => s.push(other),
                        }
                    } else {
                        s.push(c[*i]);
                    }
                    *i += 1;
                }
                *i += 1;
                Value::Str(s)
            }
            't' => {
                *i += 4;
                Value::Bool(true)
            }
            'f' => {
                *i += 5;
                Value::Bool(false)
            }
            'n' => {
                *i += 4;
                Value::Null
            }
            _ => {
                let start = *i;
                while *i < c.len() && (c[*i] == '-' || c[*i].is_ascii_digit()) {
                    *i += 1;
                }
                Value::Num(c[start..*i].iter().collect::<String>().parse().unwrap())
            }
        }
    }
}
