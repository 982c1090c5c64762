"""Identity with the real MIT KDC and smbclient, against a second rsmbd on 127.0.0.2:4447:

- `[[identity]]`: alice maps to the local user `rsmbd-alice` (created here with useradd when the
  tests run as root); the file she puts is owned by that user's uid and gid on the server.
- `valid_users = ["@backup"]` with `[[group]] backup = [carol]`: carol (listed on no share by name)
  is admitted through the group, bob is refused with the one-line `valid_users` reason.
- `realms = ["EXAMPLE.TEST"]` is in force: every logon above passes the allow-list (refusal of a
  foreign realm is an engine test, tests/tests/reauth.rs, as one MIT realm has one realm).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time

import pytest

import harness
from harness import REALM, SERVER
from logpatterns import valid_users_refusal

PORT = 4447
ADDR = harness.HOSTS[SERVER]
LOCAL_USER = "rsmbd-alice"


def ensure_local_user() -> pwd.struct_passwd:
    """The local account alice maps to; created (useradd) when running as root."""
    try:
        return pwd.getpwnam(LOCAL_USER)
    except KeyError:
        pass
    if os.geteuid() != 0:
        pytest.skip(f"local user {LOCAL_USER} is missing and only root can create it (useradd)")
    harness.require_tool("useradd", "passwd")
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    LOCAL_USER], check=True, capture_output=True, timeout=60)
    return pwd.getpwnam(LOCAL_USER)


@pytest.fixture(scope="module")
def id_server(realm, run_dir, server):
    if server.kind != "rsmbd":
        pytest.skip("rsmbd-specific configuration ([[identity]], [[group]])")
    binary = server.proc.args[0]
    d = run_dir / "identity"
    shutil.rmtree(d, ignore_errors=True)
    (d / "data").mkdir(parents=True)
    (d / "backup").mkdir()
    conf = d / "rsmbd.toml"
    conf.write_text(
        f'listen = ["{ADDR}:{PORT}"]\n'
        f'keytab = "{realm.keytab}"\n'
        f'realms = ["{REALM}"]\n'
        "[[identity]]\n"
        f'principal = "alice@{REALM}"\n'
        f'user = "{LOCAL_USER}"\n'
        "[[group]]\n"
        'name = "backup"\n'
        f'members = ["carol@{REALM}"]\n'
        "[[share]]\n"
        'name = "data"\n'
        f'path = "{d / "data"}"\n'
        f'valid_users = ["alice@{REALM}"]\n'
        "[[share]]\n"
        'name = "backup"\n'
        f'path = "{d / "backup"}"\n'
        'valid_users = ["@backup"]\n'
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


def on(smbclient, share: str, commands: str, user: str = "alice", cwd=None):
    """smbclient on `share` of the identity server."""
    return smbclient.run(f"//{SERVER}/{share}", "-p", str(PORT), "-c", commands, user=user, cwd=cwd)


def ok(res):
    assert res.returncode == 0 and not res.statuses(), f"smbclient step failed:\n{res.describe()}"
    return res


def wait_line(log, patterns, timeout=5.0):
    from logpatterns import first_matching_line
    deadline = time.monotonic() + timeout
    while True:
        line = first_matching_line(log.read_text(errors="replace"), patterns)
        if line is not None or time.monotonic() > deadline:
            return line
        time.sleep(0.1)


def test_alice_new_file_is_owned_by_the_mapped_local_user(smbclient, id_server, workdir):
    if os.geteuid() != 0:
        pytest.skip("rsmbd runs as this user, not root: fchown to another uid is not permitted")
    account = ensure_local_user()
    (workdir / "mine.txt").write_bytes(b"owned by alice's local account\n")
    ok(on(smbclient, "data", "put mine.txt mine.txt; mkdir mydir", cwd=workdir))
    for name in ("mine.txt", "mydir"):
        st = os.stat(id_server["dir"] / "data" / name)
        assert (st.st_uid, st.st_gid) == (account.pw_uid, account.pw_gid), name
    line = wait_line(id_server["log"], [r"session established", rf"principal=alice@{REALM}",
                                        rf"owner={account.pw_uid}:{account.pw_gid}"])
    assert line is not None, id_server["log"].read_text()[-3000:]


def test_carol_admitted_through_group_bob_refused(smbclient, id_server, workdir):
    (workdir / "c.txt").write_bytes(b"carol was here\n")
    ok(on(smbclient, "backup", "put c.txt c.txt", user="carol", cwd=workdir))
    assert (id_server["dir"] / "backup" / "c.txt").read_bytes() == b"carol was here\n"
    res = on(smbclient, "backup", "ls", user="bob")
    assert "NT_STATUS_ACCESS_DENIED" in res.output, res.describe()
    line = wait_line(id_server["log"], valid_users_refusal(f"bob@{REALM}"))
    assert line is not None, id_server["log"].read_text()[-3000:]
    # carol is in no share's list by name: the data share (alice only) refuses her.
    res = on(smbclient, "data", "ls", user="carol")
    assert "NT_STATUS_ACCESS_DENIED" in res.output, res.describe()
