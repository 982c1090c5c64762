"""Two clients with conflicting share modes (MS-SMB2 3.3.5.9, MS-FSA 2.1.5.1.2): smbprotocol
connection A opens a file for writing and shares nothing; while it holds the handle, a second
smbprotocol connection and smbclient (a separate process, its own connection) are refused with
STATUS_SHARING_VIOLATION, and a reader that A's share mode does allow is admitted once A shares
reading. After A closes, both get the file.
"""

from __future__ import annotations

import uuid

import pytest

import harness
from harness import SERVER, SHARE

MODULES = (("smbprotocol", "smbprotocol"), ("spnego", "pyspnego"), ("gssapi", "gssapi"), ("krb5", "krb5"))
STATUS_SHARING_VIOLATION = 0xC0000043
DATA = b"held by connection A\n"


@pytest.fixture(autouse=True)
def _needs_smbprotocol():
    for module, pip_name in MODULES:
        harness.require_module(module, pip_name)


def _tree():
    from smbprotocol import Dialects
    from smbprotocol.connection import Connection
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    conn = Connection(uuid.uuid4(), SERVER, 445, require_signing=True)
    conn.connect(Dialects.SMB_3_1_1, timeout=30)
    session = Session(conn, auth_protocol="kerberos", require_encryption=False)
    session.connect()
    tree = TreeConnect(session, rf"\\{SERVER}\{SHARE}")
    tree.connect()
    return conn, tree


def _open(tree, name, access, share, disposition):
    from smbprotocol.file_info import FileAttributes
    from smbprotocol.open import CreateOptions, ImpersonationLevel, Open

    f = Open(tree, name)
    f.create(ImpersonationLevel.Impersonation, access, FileAttributes.FILE_ATTRIBUTE_NORMAL, share,
             disposition, CreateOptions.FILE_NON_DIRECTORY_FILE)
    return f


def _refused(tree, name, access, share) -> int:
    from smbprotocol.exceptions import SMBResponseException
    from smbprotocol.open import CreateDisposition

    with pytest.raises(SMBResponseException) as e:
        _open(tree, name, access, share, CreateDisposition.FILE_OPEN)
    return e.value.status


def test_conflicting_share_modes_between_two_clients(alice_env, server, smbclient, workdir):
    from smbprotocol.open import CreateDisposition, FilePipePrinterAccessMask as A, ShareAccess as S

    all_share = S.FILE_SHARE_READ | S.FILE_SHARE_WRITE | S.FILE_SHARE_DELETE
    conn_a, tree_a = _tree()
    conn_b, tree_b = _tree()
    try:
        # A: write access, no sharing at all.
        held = _open(tree_a, "sharemode.txt", A.GENERIC_READ | A.GENERIC_WRITE, 0,
                     CreateDisposition.FILE_OVERWRITE_IF)
        held.write(DATA, 0)
        # B asks for reading and shares everything: A shares nothing, so B is refused.
        assert _refused(tree_b, "sharemode.txt", A.GENERIC_READ, all_share) == STATUS_SHARING_VIOLATION
        # smbclient (another process, another connection) is refused the same way.
        res = smbclient.share("get sharemode.txt got.txt", cwd=workdir)
        assert "NT_STATUS_SHARING_VIOLATION" in res.output, res.describe()
        assert not (workdir / "got.txt").exists() or (workdir / "got.txt").stat().st_size == 0
        held.close()

        # A again, now sharing reading only: B's reader is admitted, B's writer is not.
        held = _open(tree_a, "sharemode.txt", A.GENERIC_READ | A.GENERIC_WRITE, S.FILE_SHARE_READ,
                     CreateDisposition.FILE_OPEN)
        reader = _open(tree_b, "sharemode.txt", A.GENERIC_READ, all_share, CreateDisposition.FILE_OPEN)
        assert reader.read(0, len(DATA)) == DATA
        reader.close()
        assert _refused(tree_b, "sharemode.txt", A.GENERIC_WRITE, all_share) == STATUS_SHARING_VIOLATION
        held.close()

        # Nobody holds it: smbclient gets the bytes A wrote.
        smbclient.ok("get sharemode.txt got.txt", cwd=workdir)
        assert (workdir / "got.txt").read_bytes() == DATA
    finally:
        conn_a.disconnect(True)
        conn_b.disconnect(True)
