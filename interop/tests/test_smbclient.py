"""Samba's smbclient (the reference Linux client) against the server, always with Kerberos.

Every step uses `--use-kerberos=required -N` and our own client config; a step fails on a non-zero
exit or on any NT_STATUS_ in the output, because `-c "a; b"` reports only the last command's status.
"""

from __future__ import annotations

import os
import re

import pytest

from harness import NOKEY, NOKEY_SPN, REALM, SERVER, SHARE
from logpatterns import DIALECTS, no_key_refusal, session_line, valid_users_refusal

def expect_log(server, mark: int, rsmbd: list[str], samba: list[str]) -> str:
    """Wait for the target's own wording of an event in the server log (regexes)."""
    return server.wait_log(mark, rsmbd if server.kind == "rsmbd" else samba)


def write_random(path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def test_ls_with_kerberos_establishes_session(smbclient, server, realm):
    """A Kerberos (AP-REQ in SPNEGO) session and tree connect work: `ls` lists the share root, and
    the server log records principal, mechanism, ticket enctype, SPN and kvno."""
    kvno = realm.kvno(f"cifs/{SERVER}@{REALM}")
    mark = server.log_mark()
    res = smbclient.ok("ls")
    assert re.search(r"^\s+\.\s+D\s", res.stdout, re.M), res.describe()
    expect_log(
        server, mark,
        rsmbd=session_line(f"alice@{REALM}", spn_host=SERVER, enctype="aes256-cts-hmac-sha1-96", kvno=kvno),
        samba=[rf"Kerberos ticket principal name is \[alice@{REALM}\]"],
    )


def test_put_get_8mib_byte_identical(smbclient, server, workdir):
    """An 8 MiB random file survives put and get byte for byte (multi-credit WRITE/READ), and the
    server stored exactly those bytes."""
    data = write_random(workdir / "src.bin", 8 * 1024 * 1024)
    smbclient.ok("put src.bin big8m.bin; get big8m.bin back.bin", cwd=workdir)
    assert (server.share_path / "big8m.bin").read_bytes() == data, "server-side file differs"
    back = (workdir / "back.bin").read_bytes()
    assert len(back) == len(data) and back == data, "downloaded file differs from the upload"
    smbclient.ok("rm big8m.bin")


def test_mkdir_put_into_it_then_rmdir(smbclient, server, workdir):
    """Directory create, a file inside it, listing it, deleting the file and removing the
    now-empty directory."""
    write_random(workdir / "f.txt", 1000)
    res = smbclient.ok(r"mkdir dir1; put f.txt dir1\f.txt; ls dir1\*", cwd=workdir)
    assert re.search(r"^\s+f\.txt\s+[A-Z]*\s*1000\s", res.stdout, re.M), res.describe()
    assert (server.share_path / "dir1" / "f.txt").stat().st_size == 1000
    smbclient.ok(r"rm dir1\f.txt; rmdir dir1")
    assert not (server.share_path / "dir1").exists(), "rmdir left the directory on the server"
    gone = smbclient.share("ls dir1")
    assert re.search(r"NT_STATUS_(NO_SUCH_FILE|OBJECT_NAME_NOT_FOUND)", gone.output), gone.describe()


def test_rename(smbclient, server, workdir):
    """SET_INFO FileRenameInformation: the old name disappears and the new one has the content."""
    data = write_random(workdir / "r.txt", 4096)
    smbclient.ok("put r.txt before.txt; rename before.txt after.txt", cwd=workdir)
    assert not (server.share_path / "before.txt").exists()
    assert (server.share_path / "after.txt").read_bytes() == data
    res = smbclient.ok("ls after.txt")
    assert "after.txt" in res.stdout
    smbclient.ok("rm after.txt")


def test_rm(smbclient, server, workdir):
    """Delete-on-close removes the file; looking it up afterwards reports that it does not exist."""
    write_random(workdir / "d.txt", 10)
    smbclient.ok("put d.txt doomed.txt", cwd=workdir)
    assert (server.share_path / "doomed.txt").exists()
    smbclient.ok("rm doomed.txt")
    assert not (server.share_path / "doomed.txt").exists()
    res = smbclient.share("ls doomed.txt")
    assert re.search(r"NT_STATUS_(NO_SUCH_FILE|OBJECT_NAME_NOT_FOUND)", res.output), res.describe()


def test_allinfo_reports_size_times_and_stream(smbclient, workdir):
    """QUERY_INFO on a file: allinfo shows the four timestamps, attributes and the ::$DATA stream
    with the exact size."""
    write_random(workdir / "i.txt", 12345)
    smbclient.ok("put i.txt info.txt", cwd=workdir)
    res = smbclient.ok("allinfo info.txt")
    for field in ("create_time:", "access_time:", "write_time:", "change_time:", "attributes:"):
        assert field in res.stdout, res.describe()
    assert re.search(r"stream: \[::\$DATA\], 12345 bytes", res.stdout), res.describe()
    smbclient.ok("rm info.txt")


def test_list_shares_via_srvsvc(smbclient):
    """`smbclient -L` opens IPC$, binds srvsvc and calls NetShareEnumAll: the disk share with its
    comment and IPC$ are listed."""
    res = smbclient.run("-L", SERVER)
    assert res.returncode == 0 and not res.statuses(), res.describe()
    assert re.search(rf"^\s+{SHARE}\s+Disk\s+demo share", res.stdout, re.M), res.describe()
    assert re.search(r"^\s+IPC\$\s+IPC", res.stdout, re.M), res.describe()


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_dialect_signed(smbclient, server, dialect):
    """With min = max protocol and signing required by the client, the server negotiates exactly
    that dialect and signs correctly (the client verifies every response signature)."""
    mark = server.log_mark()
    res = smbclient.ok(
        "ls",
        extra=(
            "--client-protection=sign",
            f"--option=client min protocol={dialect}",
            f"--option=client max protocol={dialect}",
            "-d", "5",
        ),
    )
    assert f"negotiated dialect[{dialect}]" in res.output, res.describe()
    assert "signed SMB2 message" in res.output, res.describe()
    expect_log(
        server, mark,
        rsmbd=session_line(f"alice@{REALM}", spn_host=SERVER, dialect=DIALECTS[dialect]),
        samba=[rf"Kerberos ticket principal name is \[alice@{REALM}\]"],
    )


def test_second_principal_bob(smbclient, server, workdir):
    """A second user in valid_users gets its own session: bob writes and lists, and the log names
    bob, not alice."""
    mark = server.log_mark()
    write_random(workdir / "b.txt", 100)
    res = smbclient.ok("put b.txt bob.txt; ls bob.txt", user="bob", cwd=workdir)
    assert "bob.txt" in res.stdout
    expect_log(
        server, mark,
        rsmbd=session_line(f"bob@{REALM}", spn_host=SERVER),
        samba=[rf"Kerberos ticket principal name is \[bob@{REALM}\]"],
    )
    smbclient.ok("rm bob.txt", user="bob")


def test_second_address_and_spn(smbclient, server):
    """The second data interface (127.0.0.3) with its own SPN cifs/smb2.example.test, served from
    the same keytab."""
    mark = server.log_mark()
    smbclient.ok("ls", host="smb2.example.test")
    expect_log(
        server, mark,
        rsmbd=session_line(f"alice@{REALM}", spn_host="smb2.example.test"),
        samba=[rf"Kerberos ticket principal name is \[alice@{REALM}\]"],
    )


def test_carol_not_in_valid_users_refused_at_tree_connect(smbclient, server):
    """carol holds a valid ticket, so session setup succeeds, but she is not in valid_users: the
    tree connect fails with ACCESS_DENIED and the log says why."""
    mark = server.log_mark()
    res = smbclient.share("ls", user="carol")
    assert "session setup failed" not in res.output, res.describe()
    assert "tree connect failed: NT_STATUS_ACCESS_DENIED" in res.output, res.describe()
    assert res.returncode != 0
    expect_log(
        server, mark,
        rsmbd=valid_users_refusal(f"carol@{REALM}"),
        samba=[r"user 'carol' .*not permitted to access this share \(data\)"],
    )


def test_anonymous_ntlm_refused(smbclient, server):
    """An anonymous NTLMSSP session (no Kerberos, no password) gets no access to the share.
    rsmbd refuses the session itself; standalone Samba admits the anonymous session but denies
    every tree connect."""
    res = smbclient.share("ls", user=None, kerberos="disabled")
    assert res.returncode != 0 and res.statuses(), res.describe()
    assert not re.search(r"^\s+\.\s+D\s", res.stdout, re.M), "anonymous user listed the share"
    if server.kind == "rsmbd":
        assert "session setup failed: NT_STATUS_" in res.output, res.describe()
    else:
        assert "tree connect failed: NT_STATUS_ACCESS_DENIED" in res.output, res.describe()


def test_ticket_for_spn_without_key_refused(smbclient, server, realm):
    """A valid ticket for cifs/nokey.example.test (an SPN the KDC knows but the keytab lacks) is
    refused at session setup, and the log names the SPN, the ticket's kvno and enctype and what the
    keytab holds instead: the diagnosis an administrator needs."""
    kvno = realm.kvno(NOKEY_SPN)
    mark = server.log_mark()
    res = smbclient.share("ls", host=NOKEY)
    assert res.returncode != 0, res.describe()
    assert re.search(r"session setup failed: NT_STATUS_", res.output), res.describe()
    expect_log(
        server, mark,
        rsmbd=no_key_refusal(NOKEY_SPN, kvno, "aes256-cts-hmac-sha1-96", keytab_holds=f"cifs/{SERVER}"),
        samba=[re.escape(f"{NOKEY_SPN}(kvno {kvno})"), r"aes256-cts-hmac-sha1-96"],
    )
