"""Encryption policy and key logging with real clients, against a second rsmbd on
127.0.0.2:4445 whose share has `encrypt_data = true` and whose `key_log` is on:

- smbclient at SMB 2.1 with protection off cannot use the share (MS-SMB2 3.3.5.7);
- smbclient at 3.1.1 without asking for encryption is told to encrypt by the share flag and
  moves a file intact;
- tshark, given the key log, decodes the CREATE/WRITE/CLOSE of an AES-128-GCM session captured on
  loopback, with no malformed packets; the key log is 0600;
- flipping one byte of an encrypted WRITE on the wire drops the connection, the file unchanged;
- (against the main server) smbprotocol require_encryption at 3.0, 3.0.2 and 3.1.1 with only
  AES-256-GCM offered.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
import uuid

import pytest

import harness
from harness import REALM, SERVER, SHARE

PORT = 4445
ADDR = harness.HOSTS[SERVER]


@pytest.fixture(scope="module")
def enc_server(realm, run_dir, server):
    if server.kind != "rsmbd":
        pytest.skip("rsmbd-specific configuration")
    binary = server.proc.args[0]
    d = run_dir / "enc-policy"
    d.mkdir(exist_ok=True)
    share = d / "share"
    share.mkdir(exist_ok=True)
    keylog = d / "keys.txt"
    keylog.unlink(missing_ok=True)
    conf = d / "rsmbd.toml"
    conf.write_text(
        f'listen = ["{ADDR}:{PORT}"]\n'
        f'keytab = "{realm.keytab}"\n'
        f'key_log = "{keylog}"\n'
        "[[share]]\n"
        f'name = "{SHARE}"\n'
        f'path = "{share}"\n'
        "encrypt_data = true\n"
    )
    log = open(d / "rsmbd.log", "wb")
    env = dict(os.environ, RUST_LOG="info", KRB5_CONFIG=str(realm.dir / "krb5.conf"))
    proc = subprocess.Popen([binary, "serve", "--config", str(conf)], stdout=log,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while not harness.port_open(ADDR, PORT):
        assert proc.poll() is None and time.monotonic() < deadline, (d / "rsmbd.log").read_text()
        time.sleep(0.1)
    yield {"share": share, "keylog": keylog, "log": d / "rsmbd.log", "dir": d}
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def test_smb21_client_refused_encrypting_one_served(smbclient, enc_server, workdir):
    res = smbclient.share("ls", extra=("-p", str(PORT), "--client-protection=off",
                                       "--option=client max protocol=SMB2_10"))
    assert "NT_STATUS_ACCESS_DENIED" in res.output, res.describe()
    data = os.urandom(300_000)
    (workdir / "a.bin").write_bytes(data)
    smbclient.ok("put a.bin a.bin; get a.bin b.bin", extra=("-p", str(PORT)), cwd=workdir)
    assert (workdir / "b.bin").read_bytes() == data
    assert (enc_server["share"] / "a.bin").read_bytes() == data


@pytest.mark.parametrize("cipher", ["AES-128-GCM", "AES-256-GCM"])
def test_tshark_decrypts_with_the_key_log(smbclient, enc_server, workdir, cipher):
    harness.require_tool("tshark", "tshark")
    keylog = enc_server["keylog"]
    pcap = enc_server["dir"] / "cap.pcapng"
    pcap.unlink(missing_ok=True)
    cap = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-f", f"tcp port {PORT}", "-w", str(pcap)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.5)
    (workdir / "t.bin").write_bytes(b"tshark sees this in clear " * 100)
    before = keylog.read_text().count("\n") if keylog.exists() else 0
    smbclient.ok("put t.bin tshark.bin", cwd=workdir,
                 extra=("-p", str(PORT), "--client-protection=encrypt",
                        f"--option=client smb3 encryption algorithms={cipher}"))
    time.sleep(1.0)
    cap.terminate()
    cap.wait(timeout=10)
    assert stat.S_IMODE(keylog.stat().st_mode) == 0o600
    lines = [l for l in keylog.read_text().splitlines()[before:] if not l.startswith("#")]
    assert lines, keylog.read_text()
    uat = lines[-1]
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-d", f"tcp.port=={PORT},nbss",
         "-o", f"uat:smb2_seskey_list:{uat}", "-Y", "smb2",
         "-T", "fields", "-e", "smb2.cmd", "-e", "_ws.malformed"],
        capture_output=True, text=True, timeout=60)
    cmds = set()
    for row in out.stdout.splitlines():
        fields = row.split("\t")
        cmd_list = [c for c in fields[0].split(",") if c]
        # NEGOTIATE (0) is excluded: Wireshark 4.0 reads the SPNEGO NegTokenInit2 negHints [3]
        # as RFC 4178's mechListMIC and flags it (auth's hint, reported separately).
        if cmd_list != ["0"]:
            assert len(fields) < 2 or not fields[1], f"malformed packet: {row}"
        cmds.update(cmd_list)
    # CREATE 5, CLOSE 6, WRITE 9, all inside transform messages.
    assert {"5", "6", "9"} <= cmds, (cmds, out.stderr[-2000:])


def test_flipped_byte_drops_connection_and_file_unchanged(alice_env, enc_server):
    for module, pip_name in (("smbprotocol", "smbprotocol"), ("gssapi", "gssapi")):
        harness.require_module(module, pip_name)
    from smbprotocol import Dialects
    from smbprotocol.connection import Connection
    from smbprotocol.open import (CreateDisposition, CreateOptions, FilePipePrinterAccessMask,
                                  ImpersonationLevel, Open, ShareAccess)
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    conn = Connection(uuid.uuid4(), SERVER, PORT)
    conn.connect(Dialects.SMB_3_1_1, timeout=30)
    session = Session(conn, auth_protocol="kerberos", require_encryption=True)
    session.connect()
    tree = TreeConnect(session, rf"\\{SERVER}\{SHARE}")
    tree.connect()
    f = Open(tree, "victim.bin")
    f.create(ImpersonationLevel.Impersonation,
             FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
             0, ShareAccess.FILE_SHARE_READ, CreateDisposition.FILE_OVERWRITE_IF,
             CreateOptions.FILE_NON_DIRECTORY_FILE)
    f.write(b"original", 0)
    # Flip one ciphertext byte of the next message on its way out.
    transport = conn.transport
    real_send = transport.send

    def tamper(data):
        b = bytearray(data.pack() if hasattr(data, "pack") else data)
        b[-1] ^= 0x01
        return real_send(bytes(b))

    transport.send = tamper
    with pytest.raises(Exception) as err:
        f.write(b"EVILEVIL", 0)
    print("client error:", repr(err.value))
    time.sleep(0.5)
    try:
        conn.disconnect()
    except Exception:
        pass
    assert (enc_server["share"] / "victim.bin").read_bytes() == b"original"
    log = enc_server["log"].read_text()
    assert "encrypted message dropped" in log, log[-2000:]


@pytest.mark.parametrize("variant", ["3.0.0", "3.0.2", "3.1.1-AES-256-GCM-only"])
def test_smbprotocol_require_encryption_variants(alice_env, server, variant):
    """smbprotocol with Kerberos and require_encryption at 3.0 and 3.0.2 (AES-128-CCM), and at
    3.1.1 offering only AES-256-GCM (the 32-byte keys come from the whole Kerberos key): the
    session encrypts and 1 MiB round-trips."""
    for module, pip_name in (("smbprotocol", "smbprotocol"), ("gssapi", "gssapi")):
        harness.require_module(module, pip_name)
    from smbprotocol import Dialects
    from smbprotocol.connection import Ciphers as Cipher, Connection
    from smbprotocol.open import (CreateDisposition, CreateOptions, FilePipePrinterAccessMask,
                                  ImpersonationLevel, Open, ShareAccess)
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    dialect = {"3.0.0": Dialects.SMB_3_0_0, "3.0.2": Dialects.SMB_3_0_2}.get(variant, Dialects.SMB_3_1_1)
    algos = [Cipher.AES_256_GCM] if variant.endswith("only") else None
    conn = Connection(uuid.uuid4(), SERVER, 445)
    conn.connect(dialect, timeout=30, preferred_encryption_algos=algos)
    name = f"smbprotocol-{variant}.bin"
    data = os.urandom(1024 * 1024)
    try:
        assert conn.dialect == dialect
        if algos:
            assert conn.cipher_id == Cipher.AES_256_GCM
        session = Session(conn, auth_protocol="kerberos", require_encryption=True)
        session.connect()
        assert session.encrypt_data
        tree = TreeConnect(session, rf"\\{SERVER}\{SHARE}")
        tree.connect()
        f = Open(tree, name)
        f.create(ImpersonationLevel.Impersonation,
                 FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
                 0, ShareAccess.FILE_SHARE_READ, CreateDisposition.FILE_OVERWRITE_IF,
                 CreateOptions.FILE_NON_DIRECTORY_FILE)
        step = min(conn.max_write_size, 256 * 1024)
        for off in range(0, len(data), step):
            f.write(data[off:off + step], off)
        back = b"".join(f.read(off, min(step, len(data) - off)) for off in range(0, len(data), step))
        f.close()
        tree.disconnect()
        session.disconnect()
    finally:
        conn.disconnect()
        (server.share_path / name).unlink(missing_ok=True)
    assert back == data


def test_encrypt_required_every_response_after_logon_is_a_transform(smbclient, realm, run_dir,
                                                                    server, workdir):
    """With global `encrypt = required`, smbclient (not asking for encryption) is told to encrypt
    by SMB2_SESSION_FLAG_ENCRYPT_DATA: on the wire, every server message after the final
    SESSION_SETUP response is a transform (0xFD 'SMB'), and the file round-trips."""
    if server.kind != "rsmbd":
        pytest.skip("rsmbd-specific configuration")
    harness.require_tool("tshark", "tshark")
    port = 4446
    d = run_dir / "enc-required"
    d.mkdir(exist_ok=True)
    (d / "share").mkdir(exist_ok=True)
    conf = d / "rsmbd.toml"
    conf.write_text(
        f'listen = ["{ADDR}:{port}"]\nkeytab = "{realm.keytab}"\nencrypt = "required"\n'
        f'[[share]]\nname = "{SHARE}"\npath = "{d / "share"}"\n'
    )
    env = dict(os.environ, RUST_LOG="info", KRB5_CONFIG=str(realm.dir / "krb5.conf"))
    with open(d / "rsmbd.log", "wb") as log:
        proc = subprocess.Popen([server.proc.args[0], "serve", "--config", str(conf)], stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while not harness.port_open(ADDR, port):
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
            pcap = d / "cap.pcapng"
            pcap.unlink(missing_ok=True)
            cap = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-f", f"tcp port {port}", "-w", str(pcap)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)
            data = os.urandom(200_000)
            (workdir / "r.bin").write_bytes(data)
            smbclient.ok("put r.bin r.bin; get r.bin r2.bin; ls", extra=("-p", str(port)), cwd=workdir)
            time.sleep(1.0)
            cap.terminate()
            cap.wait(timeout=10)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert (workdir / "r2.bin").read_bytes() == data
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-d", f"tcp.port=={port},nbss", "-Y", f"smb2 && tcp.srcport=={port}",
         "-T", "fields", "-e", "smb2.cmd", "-e", "smb2.header.transform.flags"],
        capture_output=True, text=True, timeout=60)
    rows = [r.split("\t") for r in out.stdout.splitlines()]
    assert rows, out.stderr
    # Plaintext answers are allowed only up to the final SESSION_SETUP response (cmd 1).
    last_setup = max(i for i, r in enumerate(rows) if r[0] == "1")
    after = rows[last_setup + 1:]
    assert after, rows
    clear = [r for r in after if not (len(r) > 1 and r[1])]
    assert not clear, f"server messages in clear after logon: {clear}"
