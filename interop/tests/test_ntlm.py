"""Opt-in NTLMv2 per listener (issue 4), against a second rsmbd on port 4446:

- 127.0.0.3:4446 is a `[[listener]]` with `ntlm = true` and `names = ["smb2.example.test"]`;
- 127.0.0.2:4446 comes from the `listen` shorthand: Kerberos only.

smbclient (`--use-kerberos=off -U alice%password`) and smbprotocol (`auth_protocol="ntlm"`) log
on with NTLMv2 on the first and move a file intact, signed and encrypted; both are refused with
STATUS_LOGON_FAILURE on the second, which logs one line saying NTLM is off there. Every NTLM
session logs exactly one warning naming the name dialled and the SPN to register, and its audit
line says mech=NTLMv2. The `ntlm_users` lines come from `rsmbd ntlm-hash`, and a world-readable
`ntlm_users` stops the server at start.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid

import pytest

import harness
from harness import REALM, SHARE

PORT = 4446
NTLM_ADDR = "127.0.0.3"
NTLM_NAME = "smb2.example.test"
OFF_ADDR = "127.0.0.2"
OFF_NAME = "smb1.example.test"
WARNING = re.compile(
    r"client 127\.0\.0\.1:\d+ dialled (\S+) and used NTLM: register cifs/(\S+) "
    r"\(or the client lacks a ticket\)")


def _config(d, realm, users, share) -> str:
    return (
        f'listen = ["{OFF_ADDR}:{PORT}"]\n'
        f'keytab = "{realm.keytab}"\n'
        f'ntlm_users = "{users}"\n'
        "[[listener]]\n"
        f'address = "{NTLM_ADDR}:{PORT}"\n'
        "ntlm = true\n"
        f'names = ["{NTLM_NAME}"]\n'
        "[[share]]\n"
        f'name = "{SHARE}"\n'
        f'path = "{share}"\n'
        f'valid_users = ["alice@{REALM}"]\n'
    )


@pytest.fixture(scope="module")
def ntlm_server(realm, run_dir, server):
    if server.kind != "rsmbd":
        pytest.skip("rsmbd-specific configuration")
    binary = server.proc.args[0]
    d = run_dir / "ntlm"
    d.mkdir(exist_ok=True)
    share = d / "share"
    share.mkdir(exist_ok=True)
    password = realm.passwords["alice"]
    line = subprocess.run([binary, "ntlm-hash", f"alice@{REALM}"], input=password + "\n",
                          capture_output=True, text=True, timeout=30, check=True).stdout
    assert re.fullmatch(rf"alice@{REALM}:[0-9a-f]{{32}}\n", line), line
    users = d / "ntlm_users"
    users.write_text(line)
    users.chmod(0o600)
    conf = d / "rsmbd.toml"
    conf.write_text(_config(d, realm, users, share))
    logpath = d / "rsmbd.log"
    log = open(logpath, "wb")
    env = dict(os.environ, RUST_LOG="info", KRB5_CONFIG=str(realm.dir / "krb5.conf"))
    proc = subprocess.Popen([binary, "serve", "--config", str(conf)], stdout=log,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while not (harness.port_open(NTLM_ADDR, PORT) and harness.port_open(OFF_ADDR, PORT)):
        assert proc.poll() is None and time.monotonic() < deadline, logpath.read_text()
        time.sleep(0.1)
    yield {"share": share, "log": logpath, "password": password, "dir": d, "binary": binary}
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


class Log:
    def __init__(self, path):
        self.path = path
        self.mark = path.stat().st_size

    def since(self, settle: float = 0.5) -> str:
        time.sleep(settle)  # the server writes its log lines asynchronously
        with open(self.path, "rb") as f:
            f.seek(self.mark)
            return f.read().decode("utf-8", "replace")


def smbclient_ntlm(smbclient, realm, host, ip, password, commands, extra=(), cwd=None):
    argv = ["smbclient", "-s", str(smbclient.conf), f"//{host}/{SHARE}", "-I", ip, "-p", str(PORT),
            "--use-kerberos=off", "-U", f"alice%{password}", *extra, "-c", commands]
    # No credentials cache: smbclient must not find a ticket.
    res = subprocess.run(argv, env=realm.env(None), capture_output=True, text=True,
                         timeout=harness.STEP_TIMEOUT, cwd=cwd)
    return harness.Result(argv, res.returncode, res.stdout, res.stderr)


def assert_one_ntlm_session(text: str, dialled: str) -> None:
    warnings = [l for l in text.splitlines() if WARNING.search(l)]
    sessions = [l for l in text.splitlines() if "session established" in l]
    assert len(sessions) == 1 and "mech=NTLMv2" in sessions[0], text[-3000:]
    assert len(warnings) == 1, text[-3000:]
    assert " WARN " in warnings[0], warnings[0]
    m = WARNING.search(warnings[0])
    assert m.group(1) == dialled and m.group(2) == dialled, warnings[0]


@pytest.mark.parametrize("protection", ["sign", "encrypt"])
def test_smbclient_ntlm_put_get(smbclient, realm, ntlm_server, workdir, protection):
    data = os.urandom(200_000)
    (workdir / "n.bin").write_bytes(data)
    log = Log(ntlm_server["log"])
    name = f"smbclient-ntlm-{protection}.bin"
    res = smbclient_ntlm(smbclient, realm, NTLM_NAME, NTLM_ADDR, ntlm_server["password"],
                         f"put n.bin {name}; get {name} back.bin",
                         extra=(f"--client-protection={protection}",), cwd=workdir)
    assert res.returncode == 0 and not res.statuses(), res.describe()
    assert (workdir / "back.bin").read_bytes() == data
    assert (ntlm_server["share"] / name).read_bytes() == data
    text = log.since()
    assert_one_ntlm_session(text, NTLM_NAME)
    session = next(l for l in text.splitlines() if "session established" in l)
    assert f"principal=alice@{REALM}" in session, session
    if protection == "encrypt":
        assert "cipher=AES" in session and "cipher=-" not in session, session
    else:
        assert "signing=" in session and "signing=none" not in session, session


@pytest.mark.parametrize("encrypt", [False, True], ids=["signed", "encrypted"])
def test_smbprotocol_ntlm_round_trip(realm, ntlm_server, encrypt):
    harness.require_module("smbprotocol", "smbprotocol")
    from smbprotocol import Dialects
    from smbprotocol.connection import Connection
    from smbprotocol.open import (CreateDisposition, CreateOptions, FilePipePrinterAccessMask,
                                  ImpersonationLevel, Open, ShareAccess)
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    log = Log(ntlm_server["log"])
    conn = Connection(uuid.uuid4(), NTLM_ADDR, PORT, require_signing=True)
    conn.connect(Dialects.SMB_3_1_1, timeout=30)
    data = os.urandom(300_000)
    try:
        session = Session(conn, username="alice", password=ntlm_server["password"],
                          auth_protocol="ntlm", require_encryption=encrypt)
        session.connect()
        assert session.encrypt_data == encrypt
        tree = TreeConnect(session, rf"\\{NTLM_NAME}\{SHARE}")
        tree.connect()
        f = Open(tree, f"smbprotocol-ntlm-{encrypt}.bin")
        f.create(ImpersonationLevel.Impersonation,
                 FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
                 0, ShareAccess.FILE_SHARE_READ, CreateDisposition.FILE_OVERWRITE_IF,
                 CreateOptions.FILE_NON_DIRECTORY_FILE)
        f.write(data, 0)
        assert f.read(0, len(data)) == data
        f.close()
    finally:
        conn.disconnect()
    assert (ntlm_server["share"] / f"smbprotocol-ntlm-{encrypt}.bin").read_bytes() == data
    text = log.since()
    # smbprotocol dialled the IP address, so its NETNAME context names 127.0.0.3.
    warnings = [l for l in text.splitlines() if "used NTLM" in l]
    assert len(warnings) == 1, text[-3000:]
    assert f"dialled {NTLM_ADDR} and used NTLM" in warnings[0], warnings[0]
    assert "mech=NTLMv2" in next(l for l in text.splitlines() if "session established" in l)


def test_ntlm_refused_where_off(smbclient, realm, ntlm_server):
    log = Log(ntlm_server["log"])
    res = smbclient_ntlm(smbclient, realm, OFF_NAME, OFF_ADDR, ntlm_server["password"], "ls")
    assert "NT_STATUS_LOGON_FAILURE" in res.output, res.describe()
    text = log.since()
    refusals = [l for l in text.splitlines() if "NTLM is off on this listener" in l]
    assert len(refusals) == 1, text[-3000:]
    assert "session established" not in text and "used NTLM" not in text, text[-3000:]


def test_smbprotocol_ntlm_refused_where_off(realm, ntlm_server):
    harness.require_module("smbprotocol", "smbprotocol")
    from smbprotocol import Dialects
    from smbprotocol.connection import Connection
    from smbprotocol.exceptions import LogonFailure
    from smbprotocol.session import Session

    log = Log(ntlm_server["log"])
    conn = Connection(uuid.uuid4(), OFF_ADDR, PORT)
    conn.connect(Dialects.SMB_3_1_1, timeout=30)
    try:
        with pytest.raises(LogonFailure):
            Session(conn, username="alice", password=ntlm_server["password"],
                    auth_protocol="ntlm").connect()
    finally:
        conn.disconnect()
    assert log.since().count("NTLM is off on this listener") == 1


def test_wrong_password_is_refused_with_its_cause(smbclient, realm, ntlm_server):
    log = Log(ntlm_server["log"])
    res = smbclient_ntlm(smbclient, realm, NTLM_NAME, NTLM_ADDR, "not-the-password", "ls")
    assert "NT_STATUS_LOGON_FAILURE" in res.output, res.describe()
    text = log.since()
    lines = [l for l in text.splitlines() if "does not verify: wrong password" in l]
    assert len(lines) == 1, text[-3000:]
    assert "used NTLM" not in text


def test_kerberos_still_works_on_the_ntlm_listener(smbclient, ntlm_server):
    log = Log(ntlm_server["log"])
    smbclient.ok("ls", host=NTLM_NAME, extra=("-I", NTLM_ADDR, "-p", str(PORT)))
    text = log.since()
    assert "mech=kerberos" in text and "used NTLM" not in text, text[-3000:]


def test_world_readable_ntlm_users_stops_the_server(realm, ntlm_server):
    d = ntlm_server["dir"] / "bad"
    d.mkdir(exist_ok=True)
    users = d / "ntlm_users"
    users.write_text((ntlm_server["dir"] / "ntlm_users").read_text())
    users.chmod(0o644)
    conf = d / "rsmbd.toml"
    conf.write_text(_config(d, realm, users, ntlm_server["share"]).replace(str(PORT), "4447"))
    res = subprocess.run([ntlm_server["binary"], "serve", "--config", str(conf)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode != 0
    assert "chmod 600" in res.stderr, res.stderr
