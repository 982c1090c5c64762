"""CHANGE_NOTIFY and blocking byte-range locks between two real smbprotocol connections.

Connection A watches a directory and connection B changes it: the notification (an async
response, MS-SMB2 3.3.5.19) reaches A with B's file name. A holds an exclusive byte-range lock
and B asks for the same range without FAIL_IMMEDIATELY: B's LOCK stays pending (3.3.5.14.2)
until A unlocks, then completes. Both run the same way against Samba (RSMBD_TARGET=samba).
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

import harness
from harness import SERVER, SHARE

MODULES = (("smbprotocol", "smbprotocol"), ("spnego", "pyspnego"), ("gssapi", "gssapi"), ("krb5", "krb5"))


@pytest.fixture(autouse=True)
def _needs_smbprotocol():
    for module, pip_name in MODULES:
        harness.require_module(module, pip_name)


class Client:
    """One TCP connection, one Kerberos session (signed), one tree connect to the share."""

    def __init__(self):
        from smbprotocol.connection import Connection
        from smbprotocol.session import Session
        from smbprotocol.tree import TreeConnect

        self.conn = Connection(uuid.uuid4(), SERVER, 445, require_signing=True)
        self.conn.connect(timeout=30)
        self.session = Session(self.conn, auth_protocol="kerberos", require_encryption=False)
        self.session.connect()
        self.tree = TreeConnect(self.session, rf"\\{SERVER}\{SHARE}")
        self.tree.connect()

    def open(self, name: str, directory: bool = False, create: bool = True):
        from smbprotocol.file_info import FileAttributes
        from smbprotocol.open import (
            CreateDisposition,
            CreateOptions,
            FilePipePrinterAccessMask,
            ImpersonationLevel,
            Open,
            ShareAccess,
        )

        f = Open(self.tree, name)
        f.create(
            ImpersonationLevel.Impersonation,
            FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
            FileAttributes.FILE_ATTRIBUTE_DIRECTORY if directory else FileAttributes.FILE_ATTRIBUTE_NORMAL,
            ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
            CreateDisposition.FILE_OPEN_IF if create else CreateDisposition.FILE_OPEN,
            CreateOptions.FILE_DIRECTORY_FILE if directory else CreateOptions.FILE_NON_DIRECTORY_FILE,
        )
        return f

    def close(self):
        self.conn.disconnect()


def test_change_notification_from_another_connection(alice_env, server):
    """A watches `nl-watch`; B creates `nl-watch/from-b.txt`; A's CHANGE_NOTIFY completes with
    FILE_ACTION_ADDED for exactly that name (and not before B acted)."""
    from smbprotocol.change_notify import CompletionFilter, FileAction, FileSystemWatcher

    a, b = Client(), Client()
    try:
        d = a.open("nl-watch", directory=True)
        watcher = FileSystemWatcher(d)
        watcher.start(CompletionFilter.FILE_NOTIFY_CHANGE_FILE_NAME)
        time.sleep(0.5)
        assert not watcher.response_event.is_set(), "the notify completed before any change"
        f = b.open(r"nl-watch\from-b.txt")
        f.close()
        assert watcher.response_event.wait(10), "no change notification within 10 s"
        got = [(r["action"].get_value(), r["file_name"].get_value()) for r in watcher.result]
        assert (FileAction.FILE_ACTION_ADDED, "from-b.txt") in got, got
        d.close()
    finally:
        a.close()
        b.close()


def test_blocking_lock_released_by_the_other_client(alice_env, server):
    """A locks bytes 0-99 exclusively; B's blocking LOCK on 50-59 waits (still pending after
    1 s) and completes within seconds of A's unlock; afterwards A cannot take the range."""
    from smbprotocol.exceptions import SMBResponseException
    from smbprotocol.open import LockFlags, SMB2LockElement

    def element(offset, length, flags):
        e = SMB2LockElement()
        e["offset"] = offset
        e["length"] = length
        e["flags"] = flags
        return e

    a, b = Client(), Client()
    try:
        fa = a.open("nl-lock.bin")
        fa.write(b"x" * 200, 0)
        fb = b.open("nl-lock.bin")
        fa.lock([element(0, 100, LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY)])

        done = threading.Event()
        errors: list[BaseException] = []

        def blocking_lock():
            try:
                fb.lock([element(50, 10, LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK)])
            except BaseException as e:  # reported by the main thread
                errors.append(e)
            done.set()

        t = threading.Thread(target=blocking_lock, daemon=True)
        t.start()
        time.sleep(1.0)
        assert not done.is_set(), f"the blocking lock did not wait: {errors}"
        released = time.monotonic()
        fa.lock([element(0, 100, LockFlags.SMB2_LOCKFLAG_UNLOCK)])
        assert done.wait(10), "the blocking lock was not granted after the unlock"
        assert not errors, errors
        print(f"blocking lock granted {1000 * (time.monotonic() - released):.0f} ms after the unlock")
        with pytest.raises(SMBResponseException) as exc:
            fa.lock([element(55, 1, LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY)])
        assert exc.value.status == 0xC0000055, "STATUS_LOCK_NOT_GRANTED"
        fb.close()
        fa.close()
    finally:
        a.close()
        b.close()
