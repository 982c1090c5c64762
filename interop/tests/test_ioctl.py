"""Server-side copy and sparse files with a real client (smbprotocol over Kerberos).

`smbclient.copyfile` asks for a resume key (FSCTL_SRV_REQUEST_RESUME_KEY) and copies with
FSCTL_SRV_COPYCHUNK_WRITE in 16 MiB requests of 1 MiB chunks, so a 40 MiB file takes three
requests and a partial last chunk; the copy is checked by SHA-256 on the server's disk. The
same bytes are also copied the way a client without server-side copy must (READ then WRITE
through the client) and both rates are printed (`pytest -s`), which is the before/after of
server-side copy. The sparse test sets FSCTL_SET_SPARSE through smbprotocol's IOCTL and checks
the flag in a directory listing and a punched hole on disk.
"""

from __future__ import annotations

import hashlib
import os
import time

import pytest

import harness
from harness import SERVER, SHARE

MODULES = (("smbprotocol", "smbprotocol"), ("spnego", "pyspnego"), ("gssapi", "gssapi"), ("krb5", "krb5"))
SIZE = 40 * 1024 * 1024
FILE_ATTRIBUTE_SPARSE_FILE = 0x200


@pytest.fixture(autouse=True)
def _needs_smbprotocol():
    for module, pip_name in MODULES:
        harness.require_module(module, pip_name)


@pytest.fixture
def smbfs(alice_env, server):
    import smbclient

    cache: dict = {}
    kw = {"connection_cache": cache}
    smbclient.register_session(SERVER, auth_protocol="kerberos", require_signing=True, **kw)
    try:
        yield smbclient, kw
    finally:
        smbclient.reset_connection_cache(fail_on_error=False, connection_cache=cache)


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def test_copyfile_server_side_40mib(smbfs, server):
    """40 MiB copied by FSCTL_SRV_COPYCHUNK_WRITE arrive intact (SHA-256 on disk), and faster
    than the same bytes read and written back through the client."""
    smbclient, kw = smbfs
    src = server.share_path / "cc-src.bin"
    src.write_bytes(os.urandom(SIZE))
    want = _sha256(src)
    unc = rf"\\{SERVER}\{SHARE}"
    try:
        t0 = time.monotonic()
        smbclient.copyfile(rf"{unc}\cc-src.bin", rf"{unc}\cc-dst.bin", **kw)
        server_side = time.monotonic() - t0
        assert (server.share_path / "cc-dst.bin").stat().st_size == SIZE
        assert _sha256(server.share_path / "cc-dst.bin") == want

        t0 = time.monotonic()
        with smbclient.open_file(rf"{unc}\cc-src.bin", mode="rb", **kw) as fin, smbclient.open_file(
            rf"{unc}\cc-rw.bin", mode="wb", **kw
        ) as fout:
            while block := fin.read(1 << 20):
                fout.write(block)
        through_client = time.monotonic() - t0
        assert _sha256(server.share_path / "cc-rw.bin") == want
        mib = SIZE / (1 << 20)
        print(
            f"\n40 MiB copy: server-side {server_side:.2f} s ({mib / server_side:.0f} MiB/s), "
            f"read+write through smbprotocol {through_client:.2f} s ({mib / through_client:.0f} MiB/s)"
        )
        assert server_side < through_client, "server-side copy was not faster than moving the bytes"
    finally:
        for name in ("cc-src.bin", "cc-dst.bin", "cc-rw.bin"):
            (server.share_path / name).unlink(missing_ok=True)


def test_copyfile_overwrites_and_copies_empty(smbfs, server):
    """copyfile onto an existing, longer file replaces it; an empty source gives an empty copy
    (no COPYCHUNK request at all)."""
    smbclient, kw = smbfs
    unc = rf"\\{SERVER}\{SHARE}"
    (server.share_path / "cc-small.bin").write_bytes(b"0123456789" * 1000)
    (server.share_path / "cc-big.bin").write_bytes(b"x" * 50_000)
    (server.share_path / "cc-empty.bin").write_bytes(b"")
    try:
        smbclient.copyfile(rf"{unc}\cc-small.bin", rf"{unc}\cc-big.bin", **kw)
        assert (server.share_path / "cc-big.bin").read_bytes() == b"0123456789" * 1000
        smbclient.copyfile(rf"{unc}\cc-empty.bin", rf"{unc}\cc-empty2.bin", **kw)
        assert (server.share_path / "cc-empty2.bin").read_bytes() == b""
    finally:
        for name in ("cc-small.bin", "cc-big.bin", "cc-empty.bin", "cc-empty2.bin"):
            (server.share_path / name).unlink(missing_ok=True)


def test_sparse_flag_and_zero_data(smbfs, server):
    """FSCTL_SET_SPARSE then FSCTL_SET_ZERO_DATA through smbprotocol: the listing shows
    FILE_ATTRIBUTE_SPARSE_FILE and the zeroed megabyte is a hole on the server's disk."""
    from smbclient._io import SMBFileTransaction, ioctl_request
    from smbprotocol.ioctl import IOCTLFlags

    smbclient, kw = smbfs
    unc = rf"\\{SERVER}\{SHARE}"
    path = server.share_path / "sparse.bin"
    path.write_bytes(b"\xab" * (3 << 20))
    FSCTL_SET_SPARSE = 0x000900C4
    FSCTL_SET_ZERO_DATA = 0x000980C8
    try:
        with smbclient.open_file(rf"{unc}\sparse.bin", mode="r+b", buffering=0, **kw) as fh:
            with SMBFileTransaction(fh) as t:
                ioctl_request(t, FSCTL_SET_SPARSE, flags=IOCTLFlags.SMB2_0_IOCTL_IS_FSCTL, output_size=0)
            zero = (1 << 20).to_bytes(8, "little") + (2 << 20).to_bytes(8, "little")
            with SMBFileTransaction(fh) as t:
                ioctl_request(
                    t,
                    FSCTL_SET_ZERO_DATA,
                    flags=IOCTLFlags.SMB2_0_IOCTL_IS_FSCTL,
                    output_size=0,
                    input_buffer=zero,
                )
        entries = {e.name: e for e in smbclient.scandir(unc, **kw)}
        assert entries["sparse.bin"].smb_info.file_attributes & FILE_ATTRIBUTE_SPARSE_FILE
        data = path.read_bytes()
        assert data[: 1 << 20] == b"\xab" * (1 << 20)
        assert data[1 << 20 : 2 << 20] == b"\0" * (1 << 20)
        assert data[2 << 20 :] == b"\xab" * (1 << 20)
        # The hole is real: fewer blocks than the 3 MiB of data written.
        assert path.stat().st_blocks * 512 <= (2 << 20) + 65536
    finally:
        path.unlink(missing_ok=True)
