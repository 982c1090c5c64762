"""Session expiry and re-authentication with the real MIT KDC and Samba's smbtorture.

smbtorture's `smb2.session.expire*` tests ask the KDC for 5-second tickets
(`gensec_gssapi:requested_life_time`), wait until the ticket has run out, expect
STATUS_NETWORK_SESSION_EXPIRED for everything but CLOSE/LOGOFF/unlock/ECHO, then re-authenticate
on the same SessionId (signed response required) and go on with the same open (MS-SMB2 3.3.5.2.9,
3.3.5.5.2). `reauth1` re-authenticates a live session. Each runs against a second rsmbd on
127.0.0.2:4448 (smbtorture has no -I: the name must resolve to the server). The server log must
show one `session expired` line per expiry and, where the client comes back, `session
re-authenticated`.

A 60-second ticket with smbclient's ccache would take a minute; the engine tests
(tests/tests/reauth.rs) cover the state machine with a hand-set clock instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

import harness
from harness import REALM, SERVER

PORT = 4448
ADDR = harness.HOSTS[SERVER]

# expire1*: the session expires, every request but CLOSE/LOGOFF/unlock/ECHO gets
# NETWORK_SESSION_EXPIRED (signed; sealed in 1e), then the client re-authenticates on the same
# SessionId and goes on with the same open. expire2*: the full list of refused commands (getinfo,
# setinfo, flush, read, write, ioctl, oplock and lease acks, query directory, a compound
# open+find+close, a 2nd CHANGE_NOTIFY, tree connect, create, tree disconnect, lock), a pending
# notify cancelled on the expired session, unlock OK then RANGE_NOT_LOCKED, close, echo and logoff
# OK: signed (2s) or sealed (2e), and no re-authentication. expire_disconnect: the client drops the
# connection on the first NETWORK_SESSION_EXPIRED. reauth1: re-authentication of a live session.
# (reauth2-5 re-authenticate as anonymous, which rsmbd, Kerberos-only, refuses; Samba 4.17 fails
# them too in the same realm; see torture-expectations.txt.)
REAUTHENTICATES = {
    "smb2.session.expire1n", "smb2.session.expire1s", "smb2.session.expire1e",
    "smb2.session.reauth1",
}
# test -> how many times its session expires (expire1* expires, re-authenticates, twice over).
EXPIRIES = {
    "smb2.session.expire1n": 2, "smb2.session.expire1s": 2, "smb2.session.expire1e": 2,
    "smb2.session.expire2s": 1, "smb2.session.expire2e": 1, "smb2.session.expire_disconnect": 1,
    "smb2.session.reauth1": 0,
}
TESTS = sorted(EXPIRIES)


@pytest.fixture(scope="module")
def expiry_server(realm, run_dir, server):
    if server.kind != "rsmbd":
        pytest.skip("runs its own rsmbd on port 4448")
    harness.require_tool("smbtorture", "samba-testsuite")
    binary = server.proc.args[0]
    d = run_dir / "expiry"
    shutil.rmtree(d, ignore_errors=True)
    (d / "share").mkdir(parents=True)
    conf = d / "rsmbd.toml"
    conf.write_text(
        f'listen = ["{ADDR}:{PORT}"]\n'
        f'keytab = "{realm.keytab}"\n'
        "[[share]]\n"
        'name = "data"\n'
        f'path = "{d / "share"}"\n'
    )
    log_path = d / "rsmbd.log"
    log = open(log_path, "wb")
    env = dict(os.environ, RUST_LOG="info", KRB5_CONFIG=str(realm.dir / "krb5.conf"))
    proc = subprocess.Popen([binary, "serve", "--config", str(conf)], stdout=log,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while not harness.port_open(ADDR, PORT):
        assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.1)
    yield {"dir": d, "log": log_path}
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.mark.parametrize("name", TESTS)
def test_smbtorture(realm, smbclient, expiry_server, run_dir, name):
    env = realm.env("alice")
    # smbtorture gets fresh tickets with the password (it invalidates its ccache on purpose).
    env["KRB5CCNAME"] = str(run_dir / "ccache" / f"torture-{name}")
    argv = [
        "smbtorture", "-s", str(smbclient.conf), f"//{SERVER}/data", "-p", str(PORT),
        "-U", f"alice%{realm.passwords['alice']}", "--use-kerberos=required",
        f"--realm={REALM}", "-W", "EXAMPLE", "--target=samba3", "--format=subunit",
        "--option=torture:user2name=bob", f"--option=torture:user2password={realm.passwords['bob']}",
        "--option=torture:user2domain=EXAMPLE", name,
    ]
    mark = expiry_server["log"].stat().st_size
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    short = name.split(".")[-1]
    outcome = re.search(rf"^(success|failure|error|skip|xfail): \S*{re.escape(short)}\b.*$", out, re.M)
    log = expiry_server["log"].read_text(errors="replace")[mark:]
    assert outcome is not None and outcome.group(1) == "success", (
        f"smbtorture {name}: {outcome.group(0) if outcome else 'no outcome'}\n"
        f"--- smbtorture\n{out[-4000:]}\n--- rsmbd log\n{log[-3000:]}"
    )
    # One INFO line each time the session first answers NETWORK_SESSION_EXPIRED.
    expired = re.findall(r"session expired session_id=\S+ client=\S+ principal=alice@EXAMPLE\.TEST "
                         r"ticket_end=\S+ \(\d+s ago\) first_refused=", log)
    assert len(expired) == EXPIRIES[name], log[-3000:]
    if name in REAUTHENTICATES:
        # The client came back on the same session with a fresh ticket.
        assert re.search(r"session re-authenticated .*principal=alice@EXAMPLE\.TEST", log), log[-3000:]
    else:
        assert "re-authenticated" not in log, log[-3000:]
