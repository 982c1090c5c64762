"""impacket (independent SMB and Kerberos implementation in Python) against the server.

impacket fetches its own service ticket for cifs/<remoteName> from the KDC on port 88 using the
TGT in KRB5CCNAME (a plain path) unless the ccache already holds one, and negotiates from an
SMB1-style multi-protocol NEGOTIATE.

impacket 0.13.1's own TGS-REQ carries no checksum in its authenticator, which the MIT 1.20 KDC
rejects (KRB_AP_ERR_INAPP_CKSUM, "Inappropriate type of checksum in message" in kdc.log). So the
service ticket is fetched first with MIT's `kvno` and impacket takes it from the ccache: the
AP-REQ the server sees is still built entirely by impacket.
"""

from __future__ import annotations

import io
import os

import pytest

import harness
from harness import HOSTS, REALM, SERVER, SHARE
from logpatterns import session_line


@pytest.fixture(autouse=True)
def _needs_impacket():
    harness.require_module("impacket", "impacket")


def test_impacket_kerberos_shares_and_file_operations(alice_env, server, realm):
    """Kerberos login with a cached TGT, share enumeration over srvsvc, then directory create,
    upload, listing, download (byte-compared), file delete and directory delete."""
    from impacket.smbconnection import SMBConnection

    realm.kvno(f"cifs/{SERVER}@{REALM}", user="alice")
    mark = server.log_mark()
    data = os.urandom(1024 * 1024 + 123)
    conn = SMBConnection(remoteName=SERVER, remoteHost=HOSTS[SERVER], timeout=60)
    try:
        assert conn.kerberosLogin("alice", "", REALM, useCache=True, kdcHost="127.0.0.1")
        assert not conn.isGuestSession(), "impacket fell back to a guest session"

        shares = {s["shi1_netname"][:-1]: s["shi1_remark"][:-1] for s in conn.listShares()}
        assert SHARE in shares and "IPC$" in shares, shares
        assert shares[SHARE] == "demo share"

        conn.createDirectory(SHARE, "imp-dir")
        conn.putFile(SHARE, r"imp-dir\blob.bin", io.BytesIO(data).read)
        listing = {f.get_longname(): f for f in conn.listPath(SHARE, r"imp-dir\*")}
        assert set(listing) == {".", "..", "blob.bin"}, sorted(listing)
        assert listing["blob.bin"].get_filesize() == len(data)
        assert listing["."].is_directory()
        assert (server.share_path / "imp-dir" / "blob.bin").read_bytes() == data

        out = io.BytesIO()
        conn.getFile(SHARE, r"imp-dir\blob.bin", out.write)
        assert out.getvalue() == data, "downloaded bytes differ"

        conn.deleteFile(SHARE, r"imp-dir\blob.bin")
        conn.deleteDirectory(SHARE, "imp-dir")
        assert not (server.share_path / "imp-dir").exists()
        conn.logoff()
    finally:
        conn.close()
    if server.kind == "rsmbd":
        server.wait_log(mark, session_line(f"alice@{REALM}", spn_host=SERVER))
