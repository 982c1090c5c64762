"""SMB3 encryption (MS-SMB2 3.1.4.3, TRANSFORM_HEADER) with real clients, one cipher at a time.

smbclient is given a single cipher, so a successful transfer means the server negotiated exactly
that one; `-d 5` shows the client encrypting every request. smbprotocol requires encryption on
the session and the test checks that no response came back in clear.
"""

from __future__ import annotations

import os
import uuid

import pytest

import harness
from harness import SERVER, SHARE

CIPHERS = [
    ("SMB3_00", "AES-128-CCM"),
    ("SMB3_02", "AES-128-CCM"),
    ("SMB3_11", "AES-128-CCM"),
    ("SMB3_11", "AES-128-GCM"),
    ("SMB3_11", "AES-256-CCM"),
    ("SMB3_11", "AES-256-GCM"),
]


@pytest.mark.parametrize(("dialect", "cipher"), CIPHERS, ids=[f"{d}-{c}" for d, c in CIPHERS])
def test_smbclient_encrypted_put_get(smbclient, workdir, dialect, cipher):
    """With encryption required and a single cipher offered, 1 MiB goes up and down intact and
    every request is sent encrypted (so the server decrypts and answers in kind)."""
    data = os.urandom(1024 * 1024 + 7)
    (workdir / "e.bin").write_bytes(data)
    name = f"enc-{dialect}-{cipher}.bin"
    res = smbclient.ok(
        f"put e.bin {name}; get {name} back.bin; rm {name}",
        cwd=workdir,
        extra=(
            "--client-protection=encrypt",
            f"--option=client smb3 encryption algorithms={cipher}",
            f"--option=client min protocol={dialect}",
            f"--option=client max protocol={dialect}",
            "-d", "5",
        ),
    )
    assert f"negotiated dialect[{dialect}]" in res.output, res.describe()
    assert "Encrypted SMB2 message" in res.output, res.describe()
    assert (workdir / "back.bin").read_bytes() == data


def test_smbprotocol_encrypted_session_3_1_1(alice_env, server):
    """smbprotocol with require_encryption=True at 3.1.1: the session encrypts, 1 MiB round-trips,
    and no response after session setup arrives unencrypted."""
    for module, pip_name in (("smbprotocol", "smbprotocol"), ("gssapi", "gssapi"), ("krb5", "krb5")):
        harness.require_module(module, pip_name)
    from smbprotocol import Dialects
    from smbprotocol.connection import Connection
    from smbprotocol.file_info import FileAttributes
    from smbprotocol.header import Commands
    from smbprotocol.open import (
        CreateDisposition,
        CreateOptions,
        FilePipePrinterAccessMask,
        ImpersonationLevel,
        Open,
        ShareAccess,
    )
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    conn = Connection(uuid.uuid4(), SERVER, 445, require_signing=True)
    # verify_signature is only reached for responses that were NOT decrypted from a transform.
    clear: list[int] = []
    verify = conn.verify_signature

    def spy(header, session_id, force=False):
        command = header["command"].get_value()
        if command not in (Commands.SMB2_NEGOTIATE, Commands.SMB2_SESSION_SETUP):
            clear.append(command)
        return verify(header, session_id, force)

    conn.verify_signature = spy
    name = "enc-smbprotocol.bin"
    data = os.urandom(1024 * 1024)
    conn.connect(Dialects.SMB_3_1_1, timeout=30)
    try:
        session = Session(conn, auth_protocol="kerberos", require_encryption=True)
        session.connect()
        assert session.encrypt_data, "session is not encrypted"
        tree = TreeConnect(session, rf"\\{SERVER}\{SHARE}")
        tree.connect()
        f = Open(tree, name)
        f.create(
            ImpersonationLevel.Impersonation,
            FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
            FileAttributes.FILE_ATTRIBUTE_NORMAL,
            ShareAccess.FILE_SHARE_READ,
            CreateDisposition.FILE_OVERWRITE_IF,
            CreateOptions.FILE_NON_DIRECTORY_FILE,
        )
        chunk = min(conn.max_write_size, 1024 * 1024)
        for off in range(0, len(data), chunk):
            f.write(data[off : off + chunk], off)
        back = bytearray()
        while len(back) < len(data):
            got = f.read(len(back), min(conn.max_read_size, len(data) - len(back)))
            assert got, "short read before end of file"
            back += got
        f.close()
        tree.disconnect()
        session.disconnect()
    finally:
        conn.disconnect()
        (server.share_path / name).unlink(missing_ok=True)
    assert bytes(back) == data
    assert not clear, f"responses in clear on an encrypted session: commands {clear}"
