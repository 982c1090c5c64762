"""An oplock (or lease) break between two smbprotocol connections (MS-SMB2 3.3.4.6, 3.3.4.7,
3.3.5.22): connection A opens a file with a batch oplock or an RWH lease, connection B opens the
same file, A receives the unsolicited OPLOCK_BREAK notification, B's CREATE waits until A
acknowledges, then completes with the level the rules allow. A rename waits the same way for
another connection's handle-caching lease (MS-SMB2 3.3.5.21.1).

smbprotocol 1.17 has no handler for unsolicited server messages (its receive thread looks up
every MessageId among its outstanding requests), so the test registers a placeholder request
under MessageId 0xFFFFFFFFFFFFFFFF on A's connection: the receive thread then hands the break
notification to the test like any response. The acknowledgment is sent through smbprotocol's
normal send path (signed like any request).
"""

from __future__ import annotations

import struct
import threading
import time
import uuid

import pytest

import harness
from harness import SERVER, SHARE

MODULES = (("smbprotocol", "smbprotocol"), ("spnego", "pyspnego"), ("gssapi", "gssapi"), ("krb5", "krb5"))

UNSOLICITED = 0xFFFFFFFFFFFFFFFF
# How long A sits on the break before acknowledging: B's CREATE must not complete before.
HOLD = 1.0


@pytest.fixture(autouse=True)
def _needs_smbprotocol():
    for module, pip_name in MODULES:
        harness.require_module(module, pip_name)


class _Raw:
    """A request body smbprotocol can send as is (it needs COMMAND, pack and len)."""

    def __init__(self, command, body: bytes):
        self.COMMAND = command
        self._body = body

    def pack(self) -> bytes:
        return self._body

    def __len__(self) -> int:
        return len(self._body)


def _client(dialect):
    from smbprotocol.connection import Connection
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    conn = Connection(uuid.uuid4(), SERVER, 445, require_signing=True)
    conn.connect(dialect, timeout=30)
    session = Session(conn, auth_protocol="kerberos", require_encryption=False)
    session.connect()
    tree = TreeConnect(session, rf"\\{SERVER}\{SHARE}")
    tree.connect()
    return conn, session, tree


def _listen_for_break(conn, session):
    """Registers the placeholder that catches the unsolicited break (see the module note)."""
    from smbprotocol.connection import Request
    from smbprotocol.header import SMB2HeaderRequest

    placeholder = SMB2HeaderRequest()
    placeholder["message_id"] = UNSOLICITED
    req = Request(placeholder, None, conn, session_id=session.session_id)
    conn.outstanding_requests[UNSOLICITED] = req
    return req


def _open(tree, name, oplock, contexts=None, extra_access=0):
    from smbprotocol.file_info import FileAttributes
    from smbprotocol.open import (
        CreateDisposition,
        CreateOptions,
        FilePipePrinterAccessMask,
        ImpersonationLevel,
        Open,
        ShareAccess,
    )

    f = Open(tree, name)
    out = f.create(
        ImpersonationLevel.Impersonation,
        FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE | extra_access,
        FileAttributes.FILE_ATTRIBUTE_NORMAL,
        ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
        CreateDisposition.FILE_OPEN_IF,
        CreateOptions.FILE_NON_DIRECTORY_FILE,
        oplock_level=oplock,
        create_contexts=contexts,
    )
    return f, out


def _lease_context(key: bytes, state: int):
    from smbprotocol.create_contexts import (
        CreateContextName,
        SMB2CreateContextRequest,
        SMB2CreateRequestLeaseV2,
    )

    lease = SMB2CreateRequestLeaseV2()
    lease["lease_key"] = key
    lease["lease_state"] = state
    lease["parent_lease_key"] = b"\x00" * 16
    lease["epoch"] = b"\x00\x00"
    ctx = SMB2CreateContextRequest()
    ctx["buffer_name"] = CreateContextName.SMB2_CREATE_REQUEST_LEASE
    ctx["buffer_data"] = lease
    return ctx


def _lease_state(contexts) -> int:
    from smbprotocol.create_contexts import SMB2CreateResponseLeaseV2

    for c in contexts or []:
        if isinstance(c, SMB2CreateResponseLeaseV2):
            return c["lease_state"].get_value()
    raise AssertionError(f"no lease context in {contexts}")


@pytest.mark.parametrize("kind", ["batch", "lease"])
def test_break_between_two_connections(alice_env, server, kind):
    """A holds a batch oplock (RWH lease), B opens the same file: A is told to drop to level II
    (RH), B's CREATE stays pending while A holds off for HOLD seconds, and completes within a
    second of A's acknowledgment with level II (an RH lease)."""
    from smbprotocol import Dialects
    from smbprotocol.create_contexts import LeaseState
    from smbprotocol.header import Commands, NtStatus
    from smbprotocol.open import RequestedOplockLevel as Lvl

    name = f"oplock-{kind}.txt"
    (server.share_path / name).write_bytes(b"cached by A")
    rwh = LeaseState.SMB2_LEASE_READ_CACHING | LeaseState.SMB2_LEASE_HANDLE_CACHING | LeaseState.SMB2_LEASE_WRITE_CACHING
    rh = LeaseState.SMB2_LEASE_READ_CACHING | LeaseState.SMB2_LEASE_HANDLE_CACHING
    key_a, key_b = uuid.uuid4().bytes, uuid.uuid4().bytes

    conn_a, session_a, tree_a = _client(Dialects.SMB_3_1_1)
    conn_b, _, tree_b = _client(Dialects.SMB_3_1_1)
    try:
        catch = _listen_for_break(conn_a, session_a)
        if kind == "batch":
            fa, _ = _open(tree_a, name, Lvl.SMB2_OPLOCK_LEVEL_BATCH)
            assert fa.oplock_level == Lvl.SMB2_OPLOCK_LEVEL_BATCH, "the only open gets batch"
        else:
            fa, out = _open(tree_a, name, Lvl.SMB2_OPLOCK_LEVEL_LEASE, [_lease_context(key_a, rwh)])
            assert fa.oplock_level == Lvl.SMB2_OPLOCK_LEVEL_LEASE
            assert _lease_state(out) == rwh

        result: dict = {}

        def open_b():
            t0 = time.monotonic()
            try:
                if kind == "batch":
                    fb, out = _open(tree_b, name, Lvl.SMB2_OPLOCK_LEVEL_II)
                else:
                    fb, out = _open(tree_b, name, Lvl.SMB2_OPLOCK_LEVEL_LEASE, [_lease_context(key_b, rwh)])
                result.update(open=fb, contexts=out, done=time.monotonic(), started=t0)
            except Exception as exc:  # reported by the main thread
                result["error"] = exc

        b = threading.Thread(target=open_b, daemon=True)
        b.start()

        assert catch.response_event.wait(10), "A received no break notification"
        got_break = time.monotonic()
        note = catch.response
        assert note["command"].get_value() == Commands.SMB2_OPLOCK_BREAK
        assert note["session_id"].get_value() == 0
        body = note["data"].get_value()
        if kind == "batch":
            size, level = struct.unpack_from("<HB", body)
            assert size == 24
            assert level == Lvl.SMB2_OPLOCK_LEVEL_II, "batch breaks to level II"
            assert body[8:24] == fa.file_id
        else:
            size, _epoch, flags = struct.unpack_from("<HHI", body)
            assert size == 44
            assert flags & 1, "SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED"
            assert body[8:24] == key_a
            current, new = struct.unpack_from("<II", body, 24)
            assert (current, new) == (rwh, rh), "RWH breaks to RH"

        time.sleep(HOLD)
        assert b.is_alive() and "done" not in result, "B's CREATE completed before A acknowledged"

        if kind == "batch":
            ack = _Raw(Commands.SMB2_OPLOCK_BREAK,
                       struct.pack("<HBBI", 24, Lvl.SMB2_OPLOCK_LEVEL_II, 0, 0) + fa.file_id)
        else:
            ack = _Raw(Commands.SMB2_OPLOCK_BREAK,
                       struct.pack("<HHI", 36, 0, 0) + key_a + struct.pack("<IQ", rh, 0))
        acked = time.monotonic()
        req = conn_a.send(ack, sid=session_a.session_id, tid=tree_a.tree_connect_id)
        resp = conn_a.receive(req)
        assert resp["status"].get_value() == NtStatus.STATUS_SUCCESS
        data = resp["data"].get_value()
        if kind == "batch":
            assert data[2] == Lvl.SMB2_OPLOCK_LEVEL_II
        else:
            assert data[8:24] == key_a and struct.unpack_from("<I", data, 24)[0] == rh

        b.join(10)
        assert not b.is_alive(), "B's CREATE never completed"
        assert "error" not in result, result.get("error")
        waited = result["done"] - result["started"]
        assert result["done"] >= acked, "B completed before the acknowledgment"
        assert result["done"] - acked < 1.0, f"B completed {result['done'] - acked:.2f}s after the ack"
        assert waited >= HOLD, f"B waited only {waited:.2f}s"
        if kind == "batch":
            assert result["open"].oplock_level == Lvl.SMB2_OPLOCK_LEVEL_II
        else:
            assert _lease_state(result["contexts"]) == rh, "no W next to another client's open"
        print(f"{kind}: break after {got_break - result['started']:.3f}s, B completed "
              f"{result['done'] - acked:.3f}s after the ack (waited {waited:.3f}s)")
        result["open"].close()
        conn_a.outstanding_requests.pop(UNSOLICITED, None)
        fa.close()
    finally:
        conn_a.outstanding_requests.pop(UNSOLICITED, None)
        conn_b.disconnect()
        conn_a.disconnect()
        (server.share_path / name).unlink(missing_ok=True)


def test_rename_waits_for_another_clients_handle_lease(alice_env, server):
    """MS-SMB2 3.3.5.21.1 (smbtorture smb2.lease.rename_wait): A caches a handle of the file
    (RH lease); B renames it. A is told to drop H (RH to R, acknowledgment required), B's
    SET_INFO stays pending and the file keeps its name while A holds off, and the rename
    completes within a second of A's acknowledgment."""
    from smbprotocol import Dialects
    from smbprotocol.create_contexts import LeaseState
    from smbprotocol.file_info import FileInformationClass, FileRenameInformation
    from smbprotocol.header import Commands, NtStatus
    from smbprotocol.open import FilePipePrinterAccessMask, InfoType, SMB2SetInfoRequest
    from smbprotocol.open import RequestedOplockLevel as Lvl

    src, dst = "lease-rename-src.txt", "lease-rename-dst.txt"
    (server.share_path / src).write_bytes(b"cached by A")
    (server.share_path / dst).unlink(missing_ok=True)
    r = LeaseState.SMB2_LEASE_READ_CACHING
    rh = r | LeaseState.SMB2_LEASE_HANDLE_CACHING
    key_a = uuid.uuid4().bytes

    conn_a, session_a, tree_a = _client(Dialects.SMB_3_1_1)
    conn_b, session_b, tree_b = _client(Dialects.SMB_3_1_1)
    try:
        catch = _listen_for_break(conn_a, session_a)
        fa, out = _open(tree_a, src, Lvl.SMB2_OPLOCK_LEVEL_LEASE, [_lease_context(key_a, rh)])
        assert _lease_state(out) == rh
        fb, _ = _open(tree_b, src, Lvl.SMB2_OPLOCK_LEVEL_NONE,
                      extra_access=FilePipePrinterAccessMask.DELETE)

        info = FileRenameInformation()
        info["replace_if_exists"] = False
        info["file_name"] = dst.encode("utf-16-le")
        rename = SMB2SetInfoRequest()
        rename["info_type"] = InfoType.SMB2_0_INFO_FILE
        rename["file_info_class"] = FileInformationClass.FILE_RENAME_INFORMATION
        rename["file_id"] = fb.file_id
        rename["buffer"] = info
        result: dict = {}

        def rename_b():
            try:
                req = conn_b.send(rename, sid=session_b.session_id, tid=tree_b.tree_connect_id)
                resp = conn_b.receive(req)
                result.update(status=resp["status"].get_value(), done=time.monotonic())
            except Exception as exc:  # reported by the main thread
                result["error"] = exc

        b = threading.Thread(target=rename_b, daemon=True)
        b.start()
        assert catch.response_event.wait(10), "A received no lease break"
        body = catch.response["data"].get_value()
        size, _epoch, flags = struct.unpack_from("<HHI", body)
        assert size == 44 and flags & 1, "an acknowledged break"
        assert body[8:24] == key_a
        assert struct.unpack_from("<II", body, 24) == (rh, r), "RH breaks to R"

        time.sleep(HOLD)
        assert b.is_alive() and "done" not in result, "the rename completed before A acknowledged"
        assert (server.share_path / src).exists() and not (server.share_path / dst).exists()

        ack = _Raw(Commands.SMB2_OPLOCK_BREAK, struct.pack("<HHI", 36, 0, 0) + key_a + struct.pack("<IQ", r, 0))
        acked = time.monotonic()
        req = conn_a.send(ack, sid=session_a.session_id, tid=tree_a.tree_connect_id)
        assert conn_a.receive(req)["status"].get_value() == NtStatus.STATUS_SUCCESS
        b.join(10)
        assert not b.is_alive(), "the rename never completed"
        assert "error" not in result, result.get("error")
        assert result["status"] == NtStatus.STATUS_SUCCESS
        assert result["done"] - acked < 1.0, f"renamed {result['done'] - acked:.2f}s after the ack"
        assert (server.share_path / dst).read_bytes() == b"cached by A"
        assert not (server.share_path / src).exists()
        print(f"rename completed {result['done'] - acked:.3f}s after the ack")
        conn_a.outstanding_requests.pop(UNSOLICITED, None)
        fb.close()
        fa.close()
    finally:
        conn_a.outstanding_requests.pop(UNSOLICITED, None)
        conn_b.disconnect()
        conn_a.disconnect()
        for n in (src, dst):
            (server.share_path / n).unlink(missing_ok=True)
