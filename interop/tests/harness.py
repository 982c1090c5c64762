"""Plumbing for the interop tests: the realm, the server under test, client runners.

Nothing here asserts protocol behaviour; the test modules do. The realm and Samba are started with
the shell scripts next to this directory (interop/realm.sh, interop/samba.sh) so that the tests,
`interop/up.sh` and a developer's shell all use one and the same setup.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from logpatterns import first_matching_line

REPO = Path(__file__).resolve().parents[2]
INTEROP = REPO / "interop"
REALM = "EXAMPLE.TEST"
SHARE = "data"
# Principals allowed on the share; carol has a valid ticket but is not listed.
VALID_USERS = ("alice", "bob")
USERS = ("alice", "bob", "carol")
# Both "data interfaces" of the server: name -> address, as realm.sh writes them to /etc/hosts.
HOSTS = {"smb1.example.test": "127.0.0.2", "smb2.example.test": "127.0.0.3"}
SERVER = "smb1.example.test"
NOKEY = "nokey.example.test"
NOKEY_SPN = f"cifs/{NOKEY}@{REALM}"
# smbclient prints NT status names on failure; any of them fails a step (see interop-notes).
NT_STATUS = re.compile(r"NT_STATUS_[A-Z_]+")
STEP_TIMEOUT = 180


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def require(ok: bool, what: str, install: str) -> None:
    """Skip locally (saying why) but fail in CI: a CI run must never silently test less."""
    if ok:
        return
    msg = f"{what} is missing: install {install}"
    if in_ci():
        pytest.fail(f"{msg} (CI=true: missing tools are failures, not skips)", pytrace=False)
    pytest.skip(msg)


def require_tool(binary: str, package: str) -> str:
    path = shutil.which(binary)
    require(path is not None, f"`{binary}`", f"the Debian package {package}")
    return path or binary


def require_module(module: str, pip_name: str) -> None:
    try:
        __import__(module)
        ok = True
    except ImportError:
        ok = False
    require(ok, f"Python module `{module}`", f"`pip install {pip_name}` (see interop/requirements.txt)")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass
class Realm:
    """The throwaway MIT realm made by interop/realm.sh, plus one ccache per user."""

    dir: Path
    ccache_dir: Path
    passwords: dict[str, str] = field(default_factory=dict)
    # True if this run started the KDC (then it also stops it); a KDC from up.sh is left alone.
    started_kdc: bool = False

    @property
    def keytab(self) -> Path:
        return self.dir / "rsmbd.keytab"

    @property
    def kdc_log(self) -> Path:
        return self.dir / "kdc.log"

    def env(self, user: str | None = "alice", krb5_conf: Path | None = None) -> dict[str, str]:
        """Environment for a client process acting as `user` (None: no credentials cache)."""
        env = dict(os.environ)
        env["KRB5_CONFIG"] = str(krb5_conf or self.dir / "krb5.conf")
        env.pop("KRB5_KDC_PROFILE", None)
        if user is None:
            env["KRB5CCNAME"] = str(self.ccache_dir / "empty")
        else:
            env["KRB5CCNAME"] = self.ccache(user)
        return env

    def ccache(self, user: str) -> str:
        # A plain path: impacket cannot parse "FILE:/path".
        return str(self.ccache_dir / user)

    @classmethod
    def start(cls, realm_dir: Path, run_dir: Path, pac: bool) -> "Realm":
        env = dict(os.environ, REALM_PAC="yes" if pac else "no")
        res = subprocess.run(
            ["bash", str(INTEROP / "realm.sh"), str(realm_dir)],
            env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT,
        )
        if res.returncode != 0:
            pytest.fail(f"interop/realm.sh failed:\n{res.stdout}\n{res.stderr}", pytrace=False)
        realm = cls(dir=realm_dir, ccache_dir=run_dir / "ccache",
                    started_kdc="KDC already running" not in res.stdout)
        shutil.rmtree(realm.ccache_dir, ignore_errors=True)
        realm.ccache_dir.mkdir(parents=True)
        for line in (realm_dir / "passwords").read_text().splitlines():
            user, pw = line.split(" ", 1)
            realm.passwords[user] = pw
        for user in USERS:
            realm.kinit(user)
        return realm

    def stop(self) -> None:
        if self.started_kdc:
            subprocess.run(["bash", str(INTEROP / "realm.sh"), "--stop", str(self.dir)],
                           capture_output=True, timeout=60, check=False)

    def client_variant(self, user: str, name: str, libdefaults: str = "") -> dict[str, str]:
        """Environment with a fresh ccache of its own (so no ticket from another test is reused)
        and, if given, a krb5.conf with extra [libdefaults] lines."""
        conf = None
        if libdefaults:
            conf = self.ccache_dir / f"krb5-{name}.conf"
            base = (self.dir / "krb5.conf").read_text()
            conf.write_text(base.replace("[libdefaults]\n", f"[libdefaults]\n    {libdefaults}\n", 1))
        ccache = self.ccache_dir / f"{user}-{name}"
        ccache.unlink(missing_ok=True)
        env = self.env(user, krb5_conf=conf)
        env["KRB5CCNAME"] = str(ccache)
        self.kinit(user, env)
        return env

    def kinit(self, user: str, env: dict[str, str] | None = None) -> None:
        env = env or self.env(user)
        res = subprocess.run(
            ["kinit", f"{user}@{REALM}"], input=self.passwords[user] + "\n",
            env=env, capture_output=True, text=True, timeout=60,
        )
        if res.returncode != 0:
            pytest.fail(f"kinit {user} failed: {res.stderr}", pytrace=False)

    def kvno(self, spn: str, user: str = "alice", env: dict[str, str] | None = None,
             session_enctype: str | None = None) -> int:
        """Current kvno of `spn` as the KDC issues it. Runs MIT's `kvno`, which also caches the
        ticket, with a session key of `session_enctype` if given (`kvno -e`)."""
        argv = ["kvno", *(["-e", session_enctype] if session_enctype else []), spn]
        res = subprocess.run(argv, env=env or self.env(user), capture_output=True, text=True, timeout=60)
        m = re.search(r"kvno = (\d+)", res.stdout)
        if res.returncode != 0 or m is None:
            pytest.fail(f"kvno {spn} failed: {res.stdout}{res.stderr}", pytrace=False)
        return int(m.group(1))


def ensure_hosts(entries: dict[str, str]) -> None:
    """Add `ADDR NAME` lines to /etc/hosts for extra test names (idempotent, like realm.sh)."""
    with open("/etc/hosts", encoding="utf-8") as f:
        present = {tuple(line.split()[:2]) for line in f if line.strip() and not line.startswith("#")}
    missing = [(addr, name) for name, addr in entries.items() if (addr, name) not in present]
    if missing:
        with open("/etc/hosts", "a", encoding="utf-8") as f:
            for addr, name in missing:
                f.write(f"{addr} {name}\n")


def kadmin(realm: "Realm", query: str, check: bool = True) -> str:
    """Run one kadmin.local query against the test realm's database; returns its output."""
    env = dict(os.environ, KRB5_CONFIG=str(realm.dir / "krb5.conf"),
               KRB5_KDC_PROFILE=str(realm.dir / "kdc.conf"))
    res = subprocess.run(["kadmin.local", "-r", REALM, "-q", query], env=env,
                         capture_output=True, text=True, timeout=60)
    out = res.stdout + res.stderr
    if check and (res.returncode != 0 or re.search(r"^kadmin\.local: .*(error|failed|not found)|while ", out, re.M | re.I)):
        pytest.fail(f"kadmin.local {query!r} failed:\n{out}", pytrace=False)
    return out


class Server:
    """The server under test as a background process with a log file we can search."""

    kind = "?"

    def __init__(self, run_dir: Path, log_path: Path, share: Path):
        self.run_dir = run_dir
        self.log_path = log_path
        # The share's directory on the server side, to check what the clients wrote.
        self.share_path = share

    def log_mark(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, mark: int) -> str:
        with open(self.log_path, "rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace")

    def wait_log(self, mark: int, patterns: list[str], timeout: float = 5.0) -> str:
        """The first log line written since `mark` that matches every regex in `patterns`.

        One event is one log line, so all patterns must hit the same line (a refusal for carol
        and a session line for alice cannot combine into a false match). Fails showing the log;
        logs are flushed asynchronously, hence the wait.
        """
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_since(mark)
            line = first_matching_line(text, patterns)
            if line is not None:
                return line
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no line in the {self.kind} log {self.log_path} written during the step matches all of"
                    f" {patterns}; the step logged:\n" + text[-4000:],
                    pytrace=False,
                )
            time.sleep(0.1)

    def stop(self) -> None:
        raise NotImplementedError


class RsmbdServer(Server):
    kind = "rsmbd"

    def __init__(self, run_dir: Path, binary: Path, realm: Realm, share: Path):
        super().__init__(run_dir, run_dir / "rsmbd.log", share)
        self.config = run_dir / "rsmbd.toml"
        listen = ", ".join(f'"{addr}:445"' for addr in HOSTS.values())
        users = ", ".join(f'"{u}@{REALM}"' for u in VALID_USERS)
        self.config.write_text(
            "# Generated by interop/tests: the server under test.\n"
            f"listen = [{listen}]\n"
            f'keytab = "{realm.keytab}"\n'
            'server_name = "RSMBD"\n'
            "require_signing = false\n"
            'min_dialect = "2.0.2"\n'
            'max_dialect = "3.1.1"\n\n'
            "[[share]]\n"
            f'name = "{SHARE}"\n'
            f'path = "{share}"\n'
            'comment = "demo share"\n'
            "read_only = false\n"
            f"valid_users = [{users}]\n"
        )
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env["KRB5_CONFIG"] = str(realm.dir / "krb5.conf")
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--config", str(self.config)],
            stdout=self.log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 30
        want = [f"listening on {re.escape(a)}:445" for a in HOSTS.values()]
        while True:
            text = self.log_since(0)
            if all(re.search(w, text) for w in want):
                return
            if self.proc.poll() is not None:
                pytest.fail(f"rsmbd exited with {self.proc.returncode} before listening:\n{text[-4000:]}", pytrace=False)
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"rsmbd did not print {want} within 30 s:\n{text[-4000:]}", pytrace=False)
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log_file.close()


class SambaServer(Server):
    kind = "samba"

    def __init__(self, run_dir: Path, realm: Realm, share: Path):
        super().__init__(run_dir, run_dir / "samba.log", share)
        res = subprocess.run(
            ["bash", str(INTEROP / "samba.sh"), "start", str(realm.dir), str(run_dir), str(share), *VALID_USERS],
            capture_output=True, text=True, timeout=STEP_TIMEOUT,
        )
        if res.returncode != 0:
            pytest.fail(f"interop/samba.sh failed:\n{res.stdout}\n{res.stderr}", pytrace=False)

    def stop(self) -> None:
        subprocess.run(["bash", str(INTEROP / "samba.sh"), "stop", str(self.run_dir)], timeout=60, check=False)


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def statuses(self) -> list[str]:
        return NT_STATUS.findall(self.output)

    def describe(self) -> str:
        return f"$ {' '.join(self.args)}\nexit {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"


class SmbClient:
    """Runs Samba's smbclient with Kerberos and our own client config."""

    def __init__(self, realm: Realm, conf: Path):
        self.realm = realm
        self.conf = conf
        conf.write_text(
            "# Generated by interop/tests: never broadcast, resolve names via /etc/hosts only.\n"
            "[global]\n"
            "    name resolve order = host\n"
            "    disable netbios = yes\n"
            f"    realm = {REALM}\n"
            "    workgroup = EXAMPLE\n"
        )

    def run(self, *args: str, user: str | None = "alice", kerberos: str = "required",
            cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
        argv = ["smbclient", "-s", str(self.conf), f"--use-kerberos={kerberos}", "-N", *args]
        res = subprocess.run(argv, env=env or self.realm.env(user), capture_output=True, text=True,
                             timeout=STEP_TIMEOUT, cwd=cwd)
        return Result(argv, res.returncode, res.stdout, res.stderr)

    def share(self, commands: str, host: str = SERVER, user: str | None = "alice",
              extra: tuple[str, ...] = (), cwd: Path | None = None, kerberos: str = "required",
              env: dict[str, str] | None = None) -> Result:
        return self.run(f"//{host}/{SHARE}", *extra, "-c", commands, user=user, cwd=cwd, kerberos=kerberos, env=env)

    def ok(self, commands: str, **kw) -> Result:
        """Run commands on the share and fail the test on a non-zero exit or any NT_STATUS_."""
        res = self.share(commands, **kw)
        assert res.returncode == 0 and not res.statuses(), f"smbclient step failed:\n{res.describe()}"
        return res
