"""Session fixtures: one realm, one server under test and one ccache per user for the whole run.

Environment:
  RSMBD_TARGET       rsmbd (default) or samba: Samba's smbd stands in with an equivalent config.
  RSMBD_BIN          server binary, default target/release/rsmbd (relative to the repository root).
  RSMBD_INTEROP_DIR  realm directory, default interop/.run (shared with interop/up.sh).
  CI=true            a missing tool fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import harness
from harness import HOSTS, INTEROP, REPO, Realm, RsmbdServer, SambaServer, SmbClient
from known_gaps import gap_for

TARGET = os.environ.get("RSMBD_TARGET", "rsmbd")


def pytest_report_header(config):
    return f"interop target: {TARGET} (RSMBD_TARGET), CI={harness.in_ci()}"


def pytest_collection_modifyitems(config, items):
    """Mark rsmbd's known gaps (known_gaps.py) as strict xfail; they still run."""
    if TARGET != "rsmbd":
        return
    for item in items:
        reason = gap_for(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=f"known rsmbd gap: {reason}", strict=True))


@pytest.fixture(scope="session")
def target() -> str:
    if TARGET not in ("rsmbd", "samba"):
        pytest.fail(f"RSMBD_TARGET must be rsmbd or samba, not {TARGET!r}", pytrace=False)
    return TARGET


@pytest.fixture(scope="session")
def run_dir() -> Path:
    base = Path(os.environ.get("RSMBD_INTEROP_DIR", INTEROP / ".run")).resolve()
    run = base / "pytest"
    run.mkdir(parents=True, exist_ok=True)
    return run


@pytest.fixture(scope="session")
def realm(target: str, run_dir: Path):
    for binary, package in (("krb5kdc", "krb5-kdc"), ("kadmin.local", "krb5-admin-server"),
                            ("kinit", "krb5-user"), ("ss", "iproute2")):
        harness.require_tool(binary, package)
    # Standalone Samba rejects MIT's minimal PAC (NT_STATUS_BAD_TOKEN_TYPE); rsmbd must accept it,
    # so it is tested with the PAC that MIT >= 1.20 puts in every service ticket.
    realm = Realm.start(run_dir.parent, run_dir, pac=(target != "samba"))
    os.environ["KRB5_CONFIG"] = str(realm.dir / "krb5.conf")
    yield realm
    realm.stop()


@pytest.fixture(scope="session")
def server(target: str, realm: Realm, run_dir: Path):
    """The server under test, listening on 127.0.0.2:445 and 127.0.0.3:445 for the whole session."""
    for addr in HOSTS.values():
        if harness.port_open(addr, 445):
            pytest.fail(
                f"something already listens on {addr}:445 (a server from interop/up.sh? run interop/down.sh)",
                pytrace=False,
            )
    share = run_dir / "share"
    shutil.rmtree(share, ignore_errors=True)
    share.mkdir(parents=True)
    if target == "samba":
        harness.require_tool("smbd", "samba")
        srv = SambaServer(run_dir, realm, share)
    else:
        binary = Path(os.environ.get("RSMBD_BIN", "target/release/rsmbd"))
        if not binary.is_absolute():
            binary = REPO / binary
        if not binary.is_file():
            pytest.fail(f"server binary {binary} not found: run `cargo build --release` or set RSMBD_BIN",
                        pytrace=False)
        srv = RsmbdServer(run_dir, binary, realm, share)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def server_log(server) -> Path:
    """Path of the server's log (stderr of rsmbd, or Samba's log file)."""
    return server.log_path


@pytest.fixture(scope="session")
def smbclient(realm: Realm, run_dir: Path, server) -> SmbClient:
    harness.require_tool("smbclient", "smbclient")
    return SmbClient(realm, run_dir / "client.conf")


@pytest.fixture
def alice_env(realm: Realm, monkeypatch):
    """In-process Kerberos clients (gssapi, impacket) read KRB5CCNAME from the environment."""
    monkeypatch.setenv("KRB5_CONFIG", str(realm.dir / "krb5.conf"))
    monkeypatch.setenv("KRB5CCNAME", realm.ccache("alice"))
    return realm


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A local scratch directory; smbclient put/get paths are relative to it."""
    return tmp_path
