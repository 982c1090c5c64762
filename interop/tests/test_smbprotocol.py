"""smbprotocol (pure-Python SMB client, Kerberos through MIT gssapi) against the server.

The low-level API pins the dialect and requires signing; the high-level `smbclient` module
exercises the usual file-system calls. No encryption: signing is what these tests prove.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest

import harness
from harness import REALM, SERVER, SHARE
from logpatterns import session_line

MODULES = (("smbprotocol", "smbprotocol"), ("spnego", "pyspnego"), ("gssapi", "gssapi"), ("krb5", "krb5"))


@pytest.fixture(autouse=True)
def _needs_smbprotocol():
    for module, pip_name in MODULES:
        harness.require_module(module, pip_name)


def _record_signatures(conn) -> list[tuple[int, bool, int]]:
    """Spy on response verification: smbprotocol only checks a signature when the response has
    SMB2_FLAGS_SIGNED, so an unsigned response would pass silently. Record (command, signed,
    status) of every response and let the test assert that they were all signed."""
    from smbprotocol.header import Smb2Flags

    seen: list[tuple[int, bool, int]] = []
    verify = conn.verify_signature

    def spy(header, session_id, force=False):
        signed = header["flags"].has_flag(Smb2Flags.SMB2_FLAGS_SIGNED)
        seen.append((header["command"].get_value(), signed, header["status"].get_value()))
        return verify(header, session_id, force)

    conn.verify_signature = spy
    return seen


@pytest.mark.parametrize("dialect_name", ["2.1", "3.1.1"])
def test_lowlevel_signed_session_write_read_3mib(alice_env, server, dialect_name):
    """Kerberos session at a pinned dialect with signing required: the session is signed, every
    response after session setup carries a valid signature, and 3 MiB written in max_write_size
    chunks reads back identical."""
    from smbprotocol import Dialects
    from smbprotocol.connection import Connection
    from smbprotocol.file_info import FileAttributes
    from smbprotocol.header import Commands, NtStatus
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

    dialect = {"2.1": Dialects.SMB_2_1_0, "3.1.1": Dialects.SMB_3_1_1}[dialect_name]
    name = f"lowlevel-{dialect_name}.bin"
    data = os.urandom(3 * 1024 * 1024)
    mark = server.log_mark()

    conn = Connection(uuid.uuid4(), SERVER, 445, require_signing=True)
    seen = _record_signatures(conn)
    conn.connect(dialect, timeout=30)
    try:
        assert conn.dialect == dialect
        session = Session(conn, auth_protocol="kerberos", require_encryption=False)
        session.connect()
        assert session.signing_required, "session is not signed"
        assert session.signing_key and len(session.signing_key) == 16
        assert not session.encrypt_data
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
            assert f.write(data[off : off + chunk], off) == len(data[off : off + chunk])
        back = bytearray()
        chunk = min(conn.max_read_size, 1024 * 1024)
        while len(back) < len(data):
            got = f.read(len(back), min(chunk, len(data) - len(back)))
            assert got, "short read before end of file"
            back += got
        f.close()
        assert bytes(back) == data, "read-back differs from what was written"
        assert (server.share_path / name).read_bytes() == data, "server-side file differs"
        tree.disconnect()
        session.disconnect()
    finally:
        conn.disconnect()
        (server.share_path / name).unlink(missing_ok=True)

    after_setup = [
        (cmd, signed)
        for cmd, signed, status in seen
        if cmd not in (Commands.SMB2_NEGOTIATE, Commands.SMB2_SESSION_SETUP) and status != NtStatus.STATUS_PENDING
    ]
    assert len(after_setup) >= 6, f"too few responses recorded: {after_setup}"
    unsigned = [cmd for cmd, signed in after_setup if not signed]
    assert not unsigned, f"unsigned responses on a signed session, commands {unsigned}"
    if server.kind == "rsmbd":
        dialect_re = re.escape(dialect_name) + r"(?:\.0)?"
        server.wait_log(mark, session_line(f"alice@{REALM}", spn_host=SERVER, dialect=dialect_re))


def test_highlevel_smbclient_file_operations(alice_env, server):
    """smbclient module (os-like API): mkdir, write, listdir, stat, rename, remove, rmdir on a
    Kerberos session, with the server's directory checked after each change."""
    import smbclient as smbfs

    cache: dict = {}
    kw = {"connection_cache": cache}
    base = rf"\\{SERVER}\{SHARE}\hl-dir"
    data = os.urandom(200_000)
    try:
        smbfs.register_session(SERVER, auth_protocol="kerberos", require_signing=True, **kw)
        smbfs.mkdir(base, **kw)
        assert (server.share_path / "hl-dir").is_dir()
        with smbfs.open_file(rf"{base}\one.bin", mode="wb", **kw) as fh:
            fh.write(data)
        assert smbfs.listdir(base, **kw) == ["one.bin"]
        st = smbfs.stat(rf"{base}\one.bin", **kw)
        assert st.st_size == len(data)
        assert smbfs.stat(base, **kw).st_file_attributes & 0x10, "directory lacks FILE_ATTRIBUTE_DIRECTORY"
        smbfs.rename(rf"{base}\one.bin", rf"{base}\two.bin", **kw)
        assert smbfs.listdir(base, **kw) == ["two.bin"]
        with smbfs.open_file(rf"{base}\two.bin", mode="rb", **kw) as fh:
            assert fh.read() == data
        assert (server.share_path / "hl-dir" / "two.bin").read_bytes() == data
        smbfs.remove(rf"{base}\two.bin", **kw)
        assert smbfs.listdir(base, **kw) == []
        smbfs.rmdir(base, **kw)
        assert not (server.share_path / "hl-dir").exists()
    finally:
        smbfs.reset_connection_cache(fail_on_error=False, connection_cache=cache)
