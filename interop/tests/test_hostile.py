"""Hostile clients against a dedicated rsmbd on 127.0.0.2:4470 (issue 6).

Each case sends what no well-behaved client would (malformed framing, bad offsets, abusive
compounds and credits, unknown ids, monster and forged Kerberos tokens, path escapes) with the
raw client in rawsmb.py, asserts the answer (the NTSTATUS MS-SMB2 names, or a closed
connection where the spec says to disconnect), and then `HostileServer.after` checks that the
server is alive, serves a fresh smbprotocol client, touched nothing outside its share and gave
its memory back (see hostile_env.py).
"""

from __future__ import annotations

import os
import struct
import subprocess
import time

import pytest

import harness
import rawsmb
from hostile_env import ADDR, CANARY, MAX_SKEW, SPN, HostileServer
from harness import SERVER, SHARE
from rawsmb import STATUS, Closed, RawSmb

PORT = 4470
UNC = rf"\\{SERVER}\{SHARE}"


@pytest.fixture(scope="module")
def hostile(realm, run_dir, server):
    if server.kind != "rsmbd":
        pytest.skip("rsmbd-specific: a second server with its own config")
    harness.require_module("smbprotocol", "smbprotocol")
    harness.require_module("impacket", "impacket")
    srv = HostileServer(server.proc.args[0], realm, run_dir / "hostile", PORT)
    # smbprotocol's Kerberos (python-gssapi) reads the ccache from the environment.
    saved = os.environ.get("KRB5CCNAME")
    os.environ["KRB5CCNAME"] = realm.ccache("alice")
    try:
        srv.warm_up()
        yield srv
    finally:
        srv.stop()
        if saved is None:
            os.environ.pop("KRB5CCNAME", None)
        else:
            os.environ["KRB5CCNAME"] = saved
        print(f"\nhostile server RSS: baseline {srv.baseline >> 10} KiB, peak {srv.peak >> 10} KiB")


@pytest.fixture(scope="module")
def ticket(realm, hostile):
    """alice's service ticket for the server, from the real KDC (kvno caches it)."""
    realm.kvno(SPN.split("@")[0])
    return rawsmb.load_ticket(realm.ccache("alice"), SPN)


@pytest.fixture
def after(hostile):
    """Runs the after-case checks once the test body is done (and only if it passed)."""
    yield
    hostile.after(os.environ.get("PYTEST_CURRENT_TEST", "?"))


def connect() -> RawSmb:
    return RawSmb(ADDR, PORT)


def logged_on(ticket) -> RawSmb:
    c = connect()
    c.negotiate()
    c.logon(ticket)
    r = c.tree_connect(UNC)
    assert r.status == 0, r.status_name
    return c


def open_file(c: RawSmb, name: str = "victim.txt") -> bytes:
    r = c.create(name)
    assert r.status == 0, f"CREATE {name}: {r.status_name}"
    return rawsmb.create_file_id(r)


def still_usable(c: RawSmb) -> None:
    """The connection answers an ECHO (the bad request did not kill it)."""
    r = c.request(rawsmb.ECHO, rawsmb.simple_body(), tree=False)
    assert r.status == 0, r.status_name


def expect(r: rawsmb.Response, *names: str) -> None:
    assert r.status in [STATUS[n] for n in names], f"got {r.status_name}, expected one of {names}"


# --- framing (MS-SMB2 2.1) -----------------------------------------------------------------

FRAME_LIMIT = 8 * 1024 * 1024 + 64 * 1024  # max_io_size (default 8 MiB) + 64 KiB of headers


@pytest.mark.parametrize("header", [
    pytest.param(struct.pack(">I", FRAME_LIMIT + 1), id="limit+1"),
    pytest.param(struct.pack(">I", 0x01000000), id="16MiB-type-byte-1"),
    pytest.param(b"\x00\xff\xff\xff", id="0xFFFFFF"),
    pytest.param(b"\x81\x00\x00\x44", id="netbios-session-request"),
    pytest.param(b"\xff\xff\xff\xff", id="all-ones"),
])
def test_oversized_or_bad_frame_header_closes_before_reading(hostile, after, header):
    """A length past the limit (up to the 24-bit maximum, and beyond with a non-zero first
    byte) is refused from the 4 header bytes alone: nothing is allocated or awaited."""
    with connect() as c:
        before = hostile.rss()
        c.send_raw(header)
        t0 = time.monotonic()
        assert c.is_closed(3.0)
        assert time.monotonic() - t0 < 2.0
        assert hostile.rss() < before + 4 * 1024 * 1024


@pytest.mark.parametrize("payload", [
    pytest.param(b"\x00\x00", id="half-header"),
    pytest.param(b"\x00\x00\x10\x00" + b"\xfeSMB" + b"\0" * 20, id="frame-cut-short"),
    pytest.param(struct.pack(">I", FRAME_LIMIT) + b"\xfeSMB" + b"\0" * 4000, id="max-frame-cut-short"),
])
def test_truncated_frame_then_hangup(hostile, after, payload):
    with connect() as c:
        c.send_raw(payload)
        time.sleep(0.2)


@pytest.mark.parametrize("msg", [
    pytest.param(b"\xfeSMB" + b"\0" * 20, id="short-smb2-header"),
    pytest.param(b"\xfeSMB" + b"\0" * 60, id="header-without-body"),
    pytest.param(b"\xffSMB" + b"\0" * 60, id="smb1-empty"),
    pytest.param(b"\xfdSMB" + b"\0" * 48, id="transform-no-session"),
    pytest.param(b"\xfcSMB" + b"\0" * 12, id="compression-header"),
    pytest.param(os.urandom(1000), id="random"),
])
def test_malformed_first_message(hostile, after, msg):
    """Garbage where NEGOTIATE belongs: the connection closes (or gets an error); nothing else."""
    with connect() as c:
        c.send_frame(msg)
        try:
            rs = c.recv()
            assert rs[0].status != 0
        except Closed:
            pass


def test_max_size_frame_before_logon(hostile, after):
    """Before logon the frame limit is 128 KiB (limits.max_spnego_token + 64 KiB): an 8 MiB +
    64 KiB frame is refused from its header, while the client is still sending it."""
    with connect() as c:
        try:
            c.send_frame(b"\xfeSMB" + os.urandom(FRAME_LIMIT - 4))
        except Closed:
            return
        assert c.is_closed(10.0)


def test_max_size_frame_of_garbage_after_logon(hostile, after, ticket):
    """After logon a full 8 MiB + 64 KiB frame is read, found to be garbage and the
    connection closed; the buffer is freed (RSS check in `after`)."""
    with logged_on(ticket) as c:
        try:
            c.send_frame(b"\xfeSMB" + os.urandom(FRAME_LIMIT - 4))
        except Closed:
            pytest.fail("closed while sending a frame within the post-logon limit")
        assert c.is_closed(10.0)


@pytest.mark.parametrize("payload", [0, 10_000], ids=["empty", "10000-bytes"])
def test_keepalive_is_skipped(hostile, after, ticket, payload):
    """NetBIOS keep-alives (type 0x85) are tolerated before a real exchange (RFC 1002 §4.3.7);
    whatever length one announces is read and dropped, and the next frame is found intact."""
    with connect() as c:
        c.send_raw(b"\x85" + payload.to_bytes(3, "big") + os.urandom(payload))
        c.negotiate()
        c.logon(ticket)


# --- every command with offsets/lengths outside the message (MS-SMB2 3.3.5.x) --------------

def _out_of_range_cases(fid: bytes):
    far = 0xFFF0
    return {
        "session_setup-offset": (rawsmb.SESSION_SETUP, rawsmb.session_setup_body(b"\x60\x00", offset=far)),
        "session_setup-length": (rawsmb.SESSION_SETUP, rawsmb.session_setup_body(b"\x60\x00", length=far)),
        "tree_connect-offset": (rawsmb.TREE_CONNECT, rawsmb.tree_connect_body(UNC, offset=far)),
        "tree_connect-length": (rawsmb.TREE_CONNECT, rawsmb.tree_connect_body(UNC, length=far)),
        "create-name-offset": (rawsmb.CREATE, rawsmb.create_body("a.txt", name_offset=far)),
        "create-name-length": (rawsmb.CREATE, rawsmb.create_body("a.txt", name_length=far)),
        "create-contexts-offset": (rawsmb.CREATE, rawsmb.create_body("a.txt", ctx_offset=0xFFFFFF00, ctx_length=64)),
        "create-contexts-length": (rawsmb.CREATE, rawsmb.create_body("a.txt", ctx_offset=128, ctx_length=0x7FFFFFFF)),
        "read-channel-info": (rawsmb.READ, rawsmb.read_body(fid, chan_offset=far, chan_length=16)),
        "write-data-offset": (rawsmb.WRITE, rawsmb.write_body(fid, b"x" * 16, data_offset=far)),
        "write-length": (rawsmb.WRITE, rawsmb.write_body(fid, b"x" * 16, length=0x7FFFFFFF)),
        "write-offset-before-body": (rawsmb.WRITE, rawsmb.write_body(fid, b"x" * 16, data_offset=8)),
        "lock-count": (rawsmb.LOCK, rawsmb.lock_body(fid, 1000, b"\0" * 24)),
        "lock-count-zero": (rawsmb.LOCK, rawsmb.lock_body(fid, 0, b"\0" * 24)),
        "ioctl-input-offset": (rawsmb.IOCTL, rawsmb.ioctl_body(fid, 0x00140204, b"x" * 24, in_offset=0xFFFFFF00)),
        "ioctl-input-count": (rawsmb.IOCTL, rawsmb.ioctl_body(fid, 0x00140204, b"x" * 24, in_count=0x7FFFFFFF)),
        "query_directory-name-offset": (rawsmb.QUERY_DIRECTORY, rawsmb.query_directory_body(fid, name_offset=far)),
        "query_directory-name-length": (rawsmb.QUERY_DIRECTORY, rawsmb.query_directory_body(fid, name_length=far)),
        "query_info-input-offset": (rawsmb.QUERY_INFO, rawsmb.query_info_body(fid, in_offset=far, in_length=16)),
        "query_info-input-length": (rawsmb.QUERY_INFO, rawsmb.query_info_body(fid, in_offset=104, in_length=0x7FFFFFFF)),
        "set_info-buffer-offset": (rawsmb.SET_INFO, rawsmb.set_info_body(fid, 1, 20, b"\0" * 8, offset=far)),
        "set_info-buffer-length": (rawsmb.SET_INFO, rawsmb.set_info_body(fid, 1, 20, b"\0" * 8, length=0x7FFFFFFF)),
    }


OUT_OF_RANGE = list(_out_of_range_cases(b"\0" * 16))


@pytest.mark.parametrize("case", OUT_OF_RANGE)
def test_offsets_outside_the_message(hostile, after, ticket, case):
    """MS-SMB2 3.3.5.2.? and each command's section: a buffer that does not lie inside the
    request is STATUS_INVALID_PARAMETER, and the connection stays usable."""
    with logged_on(ticket) as c:
        fid = open_file(c)
        command, body = _out_of_range_cases(fid)[case]
        r = c.request(command, body)
        expect(r, "INVALID_PARAMETER")
        still_usable(c)


@pytest.mark.parametrize("command", range(0, 19))
def test_every_command_truncated_body(hostile, after, ticket, command):
    """A body shorter than its StructureSize (here: just the StructureSize field) is refused
    with STATUS_INVALID_PARAMETER for every command (MS-SMB2 3.3.5.2.6)."""
    with logged_on(ticket) as c:
        # StructureSize of each request (MS-SMB2 2.2.x), body cut after those 2 bytes.
        sizes = [36, 25, 4, 9, 4, 57, 24, 24, 49, 49, 48, 57, 4, 4, 33, 32, 41, 33, 24]
        body = struct.pack("<H", sizes[command])
        if command == rawsmb.CANCEL:
            # CANCEL has no response (MS-SMB2 3.3.5.16): send it, then prove the link is alive.
            c.send_frame(c.build(command, body))
            still_usable(c)
            return
        if command == rawsmb.NEGOTIATE:
            # A second NEGOTIATE on a negotiated connection is a protocol violation: disconnect
            # (MS-SMB2 3.3.5.3.1).
            c.send_frame(c.build(command, body))
            assert c.is_closed(3.0)
            return
        r = c.request(command, body)
        expect(r, "INVALID_PARAMETER")
        still_usable(c)


# --- compounds (MS-SMB2 3.3.5.2.7) ----------------------------------------------------------

# Each member is a 64-byte header + 8-byte ECHO body: a valid NextCommand is 72.
@pytest.mark.parametrize("first_next,second_next", [
    pytest.param(72, 0x100000000 - 72, id="second-loops-back-to-first"),
    pytest.param(0xFFFFFFC0, 0, id="wraps-before-start"),
    pytest.param(0x7FFFFFF8, 0, id="past-the-end"),
    pytest.param(80, 0, id="past-the-end-by-8"),
    pytest.param(64, 0, id="points-into-own-body"),
    pytest.param(68, 0, id="unaligned"),
    pytest.param(8, 0, id="shorter-than-a-header"),
    pytest.param(72, 72, id="last-member-points-on"),
])
def test_compound_next_command_abuse(hostile, after, ticket, first_next, second_next):
    """A chain whose NextCommand loops, overruns or misaligns is a broken frame: rsmbd closes
    the connection (MS-SMB2 3.3.5.2.7 leaves the response to an invalid chain open; Samba also
    disconnects) without answering any member, and logs why."""
    with logged_on(ticket) as c:
        first = c.build(rawsmb.ECHO, rawsmb.simple_body() + b"\0" * 4, tree=False, next_command=first_next)
        second = c.build(rawsmb.ECHO, rawsmb.simple_body() + b"\0" * 4, tree=False, next_command=second_next)
        mark = len(hostile.log_text())
        c.send_frame(first + second)
        assert c.is_closed(3.0)
    time.sleep(0.3)
    logged = hostile.log_text()[mark:]
    # A member that lands inside the message but not on a header is a bad header instead.
    assert "bad compound chain" in logged or "bad SMB2 header" in logged, logged


def test_compound_of_many_members(hostile, after, ticket):
    """A chain of 1000 ECHOs (72 bytes each) is past limits.max_compound (64): the connection
    is closed before any member runs."""
    with logged_on(ticket) as c:
        member = []
        for i in range(1000):
            last = i == 999
            m = rawsmb.header(rawsmb.ECHO, c.next_mid + i, session_id=c.session_id, tree_id=c.tree_id,
                              next_command=0 if last else 72, credits=1)
            member.append(m + rawsmb.simple_body() + b"\0" * 4)
        mark = len(hostile.log_text())
        c.send_frame(b"".join(member))
        assert c.is_closed(5.0)
    time.sleep(0.3)
    assert "limits.max_compound" in hostile.log_text()[mark:]


# --- credits and message ids (MS-SMB2 3.3.5.2.3, 3.3.5.2.5) ---------------------------------

def test_message_id_reuse_disconnects(hostile, after, ticket):
    """MS-SMB2 3.3.5.2.3: a MessageId outside the window (here: already used) terminates the
    connection."""
    with logged_on(ticket) as c:
        mid = c.next_mid
        r = c.request(rawsmb.ECHO, rawsmb.simple_body(), tree=False, message_id=mid)
        assert r.status == 0
        c.send_frame(c.build(rawsmb.ECHO, rawsmb.simple_body(), tree=False, message_id=mid))
        assert c.is_closed(3.0)


@pytest.mark.parametrize("mid", [
    pytest.param(1 << 40, id="far-future"),
    pytest.param(0xFFFFFFFFFFFFFFFF, id="reserved-all-ones"),
    pytest.param(0xFFFFFFFFFFFFFFF0, id="wraps"),
])
def test_message_id_out_of_window_disconnects(hostile, after, ticket, mid):
    with logged_on(ticket) as c:
        c.send_frame(c.build(rawsmb.ECHO, rawsmb.simple_body(), tree=False, message_id=mid))
        assert c.is_closed(3.0)


@pytest.mark.parametrize("charge", [0xFFFF, 300])
def test_credit_charge_beyond_granted_disconnects(hostile, after, ticket, charge):
    """MS-SMB2 3.3.5.2.5: a CreditCharge larger than the credits the client holds is outside
    the window: the connection is terminated."""
    with logged_on(ticket) as c:
        c.send_frame(c.build(rawsmb.ECHO, rawsmb.simple_body(), tree=False, credit_charge=charge,
                             message_id=c.next_mid))
        assert c.is_closed(3.0)


def test_large_read_with_credit_charge_zero(hostile, after, ticket):
    """MS-SMB2 3.3.5.2.5: a 1 MiB READ (16 credits' worth) with CreditCharge 0 or 1 is
    STATUS_INVALID_PARAMETER at dialect 2.1."""
    with logged_on(ticket) as c:
        fid = open_file(c)
        for charge in (0, 1):
            r = c.request(rawsmb.READ, rawsmb.read_body(fid, length=1 << 20), credit_charge=charge)
            expect(r, "INVALID_PARAMETER")
        still_usable(c)


# --- unknown ids (MS-SMB2 3.3.5.2.9, 3.3.5.2.11, and each command's FileId lookup) ----------

def test_unknown_session_id(hostile, after, ticket):
    with logged_on(ticket) as c:
        r = c.request(rawsmb.TREE_CONNECT, rawsmb.tree_connect_body(UNC), session_id=c.session_id ^ 0x5A5A)
        expect(r, "USER_SESSION_DELETED")
        r = c.request(rawsmb.CREATE, rawsmb.create_body("a.txt"), session_id=0xDEADBEEF)
        expect(r, "USER_SESSION_DELETED")
        # SESSION_SETUP naming a session that does not exist (MS-SMB2 3.3.5.5.2).
        r = c.request(rawsmb.SESSION_SETUP, rawsmb.session_setup_body(b"\x60\x00"), session_id=0xDEADBEEF,
                      tree=False)
        expect(r, "USER_SESSION_DELETED")
        still_usable(c)


def test_unknown_session_before_logon(hostile, after):
    with connect() as c:
        c.negotiate()
        r = c.request(rawsmb.TREE_CONNECT, rawsmb.tree_connect_body(UNC), session_id=12345)
        expect(r, "USER_SESSION_DELETED")


def test_unknown_tree_id(hostile, after, ticket):
    with logged_on(ticket) as c:
        r = c.request(rawsmb.CREATE, rawsmb.create_body("a.txt"), tree_id=c.tree_id + 77)
        expect(r, "NETWORK_NAME_DELETED")
        r = c.request(rawsmb.TREE_DISCONNECT, rawsmb.simple_body(), tree_id=c.tree_id + 77)
        expect(r, "NETWORK_NAME_DELETED")
        still_usable(c)


@pytest.mark.parametrize("command", ["read", "write", "close", "flush", "query_info", "set_info",
                                     "query_directory", "lock", "change_notify"])
def test_unknown_file_id(hostile, after, ticket, command):
    """A FileId that names no open is STATUS_FILE_CLOSED (MS-SMB2 3.3.5.10 ff.)."""
    fid = os.urandom(16)
    bodies = {
        "read": (rawsmb.READ, rawsmb.read_body(fid)),
        "write": (rawsmb.WRITE, rawsmb.write_body(fid, b"hi")),
        "close": (rawsmb.CLOSE, rawsmb.close_body(fid)),
        "flush": (rawsmb.FLUSH, rawsmb.flush_body(fid)),
        "query_info": (rawsmb.QUERY_INFO, rawsmb.query_info_body(fid)),
        "set_info": (rawsmb.SET_INFO, rawsmb.set_info_body(fid, 1, 20, b"\0" * 8)),
        "query_directory": (rawsmb.QUERY_DIRECTORY, rawsmb.query_directory_body(fid)),
        "lock": (rawsmb.LOCK, rawsmb.lock_body(fid, 1, struct.pack("<QQII", 0, 1, 2, 0))),
        "change_notify": (rawsmb.CHANGE_NOTIFY, rawsmb.change_notify_body(fid)),
    }
    with logged_on(ticket) as c:
        cmd, body = bodies[command]
        r = c.request(cmd, body)
        expect(r, "FILE_CLOSED")
        still_usable(c)


def test_file_id_of_another_session(hostile, after, ticket):
    """An open belongs to its session: another connection's session cannot use its FileId."""
    with logged_on(ticket) as a, logged_on(ticket) as b:
        fid = open_file(a, "mine.txt")
        r = b.request(rawsmb.READ, rawsmb.read_body(fid))
        expect(r, "FILE_CLOSED")


# --- monster SPNEGO tokens (RFC 4178, MS-SMB2 3.3.5.5) -------------------------------------

def test_session_setup_10mb_token(hostile, after):
    """A SESSION_SETUP frame carrying 10 MiB of SPNEGO (SecurityBufferLength is 16 bits, so it
    says 0xFFFF; the DER says 10 MiB): past the frame limit, the connection is closed from the
    4-byte length alone and nothing is buffered."""
    with connect() as c:
        c.negotiate()
        token = b"\x60\x84" + struct.pack(">I", 10 << 20) + os.urandom(10 << 20)
        try:
            c.send_frame(c.build(rawsmb.SESSION_SETUP, rawsmb.session_setup_body(token, length=0xFFFF),
                                 tree=False))
        except Closed:
            return
        assert c.is_closed(5.0)


def test_session_setup_7mb_frame_before_logon(hostile, after):
    """Before any logon the frame limit is limits.max_spnego_token + 64 KiB: a 7 MiB
    SESSION_SETUP frame closes the connection from its length, before allocation."""
    with connect() as c:
        c.negotiate()
        token = b"\x60\x84" + struct.pack(">I", 7 << 20) + b"\x04" * (7 << 20)
        try:
            c.send_frame(c.build(rawsmb.SESSION_SETUP, rawsmb.session_setup_body(token, length=0xFFFF),
                                 tree=False))
        except Closed:
            return
        assert c.is_closed(5.0)


def test_session_setup_der_claims_7mb(hostile, after):
    """A 64 KiB token whose DER lengths claim 7 MiB: the length is not trusted, the logon
    fails and the connection stays usable."""
    with connect() as c:
        c.negotiate()
        body = b"\x30\x84" + struct.pack(">I", 7 << 20) + b"\x04" * 65000
        token = b"\x60\x84" + struct.pack(">I", 7 << 20) + rawsmb.SPNEGO_OID + body
        r = c.session_setup(token[:0xFFFF])
        expect(r, "LOGON_FAILURE", "INVALID_PARAMETER", "MORE_PROCESSING_REQUIRED")
        if r.status == STATUS["MORE_PROCESSING_REQUIRED"]:
            # Only with a reject token; the session is gone afterwards.
            assert r.body, "MORE_PROCESSING_REQUIRED without a token"
        still_usable(c)


def test_session_setup_token_over_the_limit(hostile, after):
    """MS-SMB2 3.3.5.5 and limits.max_spnego_token (64 KiB): a SESSION_SETUP whose
    SecurityBufferLength says 65535 is still parsed; the length field cannot say more."""
    with connect() as c:
        c.negotiate()
        r = c.session_setup(b"\x60" + b"\xff" * 0xFFFE)
        expect(r, "LOGON_FAILURE", "INVALID_PARAMETER", "MORE_PROCESSING_REQUIRED")


def _nest(tag: int, depth: int, core: bytes) -> bytes:
    for _ in range(depth):
        core = bytes([tag]) + rawsmb._der_len(len(core)) + core
    return core


def _neg_token_init(mech_types: bytes, mech_token: bytes) -> bytes:
    inner = rawsmb.der(0x30, rawsmb.der(0xA0, mech_types) + rawsmb.der(0xA2, mech_token))
    return rawsmb.der(0x60, rawsmb.SPNEGO_OID + rawsmb.der(0xA0, inner))


NESTED = {
    # BER constructed OCTET STRING (0x24) inside constructed OCTET STRING, as the mechToken.
    "constructed-octet-string": lambda d: _neg_token_init(
        rawsmb.der(0x30, rawsmb.KRB5_OID), _nest(0x24, d, b"\x04\x01\x00")),
    # SEQUENCE OF SEQUENCE ... as mechTypes.
    "mech-types": lambda d: _neg_token_init(_nest(0x30, d, rawsmb.KRB5_OID), b"\x04\x00"),
    # A krb5 GSS token whose AP-REQ body is nested SEQUENCEs.
    "ap-req": lambda d: _neg_token_init(
        rawsmb.der(0x30, rawsmb.KRB5_OID),
        rawsmb.der(0x04, rawsmb.der(0x60, rawsmb.KRB5_OID + b"\x01\x00" + rawsmb.der(0x6E, _nest(0x30, d, b"\x02\x01\x05"))))),
    # A NegTokenResp ([1]) of nested context tags.
    "neg-token-resp": lambda d: rawsmb.der(0xA1, _nest(0x30, d, b"\x0a\x01\x00")),
}


@pytest.mark.parametrize("depth", [100, 10_000])
@pytest.mark.parametrize("shape", list(NESTED))
def test_session_setup_deeply_nested_der(hostile, after, shape, depth):
    """10,000 nested constructed DER elements (definite lengths, about 40 KB) where a decoder
    might recurse: no stack exhaustion, a refused logon."""
    token = NESTED[shape](depth)
    assert len(token) < 0xFFFF
    with connect() as c:
        c.negotiate()
        r = c.session_setup(token)
        expect(r, "LOGON_FAILURE", "INVALID_PARAMETER", "MORE_PROCESSING_REQUIRED")
        if r.status == STATUS["MORE_PROCESSING_REQUIRED"]:
            assert r.body, "MORE_PROCESSING_REQUIRED without a token"


def test_session_setup_indefinite_length_nesting(hostile, after):
    """BER indefinite lengths (0x80), which DER forbids, nested 10,000 deep."""
    token = b"\x60\x80" + rawsmb.SPNEGO_OID + (b"\xa0\x80\x30\x80" * 5000) + b"\0\0" * 10000
    with connect() as c:
        c.negotiate()
        r = c.session_setup(token)
        expect(r, "LOGON_FAILURE", "INVALID_PARAMETER", "MORE_PROCESSING_REQUIRED")


# --- Kerberos tickets (RFC 4120 §3.2.3) ----------------------------------------------------

def krb_error_code(r: rawsmb.Response) -> int | None:
    """error-code of the KRB-ERROR inside the SESSION_SETUP response token, if any."""
    from impacket.krb5.asn1 import KRB_ERROR
    from pyasn1.codec.der import decoder

    buf = r.body[8:]
    i = buf.find(b"\x7e")
    while i >= 0:
        try:
            err = decoder.decode(buf[i:], asn1Spec=KRB_ERROR())[0]
            return int(err["error-code"])
        except Exception:  # noqa: BLE001 - keep looking for the tag
            i = buf.find(b"\x7e", i + 1)
    return None


def refused(r: rawsmb.Response, krb_code: int | None) -> None:
    """A refused AP-REQ: LOGON_FAILURE, or (as Samba does) MORE_PROCESSING_REQUIRED carrying a
    KRB-ERROR with the RFC 4120 §7.5.9 code."""
    expect(r, "LOGON_FAILURE", "MORE_PROCESSING_REQUIRED")
    if r.status == STATUS["MORE_PROCESSING_REQUIRED"]:
        assert krb_error_code(r) == krb_code, f"KRB-ERROR code {krb_error_code(r)}, wanted {krb_code}"


def session_is_gone(c: RawSmb, r: rawsmb.Response) -> None:
    """After a refusal the in-progress session is deleted: continuing it fails."""
    r2 = c.request(rawsmb.SESSION_SETUP, rawsmb.session_setup_body(b"\xa1\x00"), session_id=r.session_id,
                   tree=False)
    assert r2.status != 0
    if r.session_id:
        expect(r2, "USER_SESSION_DELETED")


def test_forged_ticket(hostile, after, ticket):
    """Random bytes as the ticket's encrypted part: KRB_AP_ERR_MODIFIED (41)."""
    with connect() as c:
        c.negotiate()
        token = rawsmb.ap_req(ticket, ticket_cipher=lambda real: os.urandom(len(real)))
        r = c.session_setup(rawsmb.spnego_init(token))
        refused(r, 41)
        session_is_gone(c, r)


def _flip(token: bytes, pos: int) -> bytes:
    b = bytearray(token)
    b[pos] ^= 0x01
    return bytes(b)


@pytest.mark.parametrize("where,code", [
    pytest.param("ticket", 41, id="ticket-ciphertext"),   # KRB_AP_ERR_MODIFIED
    pytest.param("authenticator", 31, id="authenticator-ciphertext"),  # KRB_AP_ERR_BAD_INTEGRITY
])
def test_corrupted_ap_req(hostile, after, ticket, where, code):
    """One flipped bit in a real AP-REQ from the real KDC's ticket."""
    if where == "ticket":
        token = rawsmb.ap_req(ticket, ticket_cipher=lambda real: _flip(real, len(real) // 2))
    else:
        # The authenticator's ciphertext ends the AP-REQ: flip a byte 10 from the end.
        token = rawsmb.ap_req(ticket)
        token = _flip(token, len(token) - 10)
    with connect() as c:
        c.negotiate()
        r = c.session_setup(rawsmb.spnego_init(token))
        refused(r, code)
        session_is_gone(c, r)


def test_replayed_ap_req(hostile, after, ticket):
    """The same AP-REQ on two connections: the first logs on, the second is a replay
    (KRB_AP_ERR_REPEAT, 34)."""
    token = rawsmb.spnego_init(rawsmb.ap_req(ticket))
    with connect() as a, connect() as b:
        a.negotiate()
        b.negotiate()
        assert a.session_setup(token).status == 0
        r = b.session_setup(token)
        refused(r, 34)
        # And on the same connection, in a new session.
        r = a.request(rawsmb.SESSION_SETUP, rawsmb.session_setup_body(token), session_id=0, tree=False)
        refused(r, 34)


def test_expired_ticket(hostile, after, realm):
    """A service ticket from the real KDC with a 3 s life (kinit -l 3s, then kvno), presented
    with a fresh authenticator once it is past its end time plus the server's skew:
    KRB_AP_ERR_TKT_EXPIRED (32)."""
    env = realm.client_variant("alice", "short-life")
    ccache = env["KRB5CCNAME"]
    res = subprocess.run(["kinit", "-l", "3s", f"alice@{harness.REALM}"],
                                 input=realm.passwords["alice"] + "\n", env=env, capture_output=True,
                                 text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    realm.kvno(SPN.split("@")[0], env=env)
    st = rawsmb.load_ticket(ccache, SPN)
    wait = st.endtime + MAX_SKEW + 1.5 - time.time()
    assert wait < 10, f"the KDC issued a {wait:.0f} s ticket, not 3 s"
    time.sleep(max(wait, 0))
    with connect() as c:
        c.negotiate()
        r = c.session_setup(rawsmb.spnego_init(rawsmb.ap_req(st)))
        refused(r, 32)
    assert "expired" in hostile.log_text().lower()


# --- path escapes (MS-SMB2 3.3.5.9, MS-FSCC 2.1.5) -----------------------------------------

# name: (path, the status rsmbd answers). MS-SMB2 3.3.5.9: a leading separator is
# STATUS_INVALID_PARAMETER; MS-FSCC 2.1.5: `..`, `:`, NUL, `/` and over-long components make a
# name invalid (STATUS_OBJECT_NAME_INVALID); `..` resolves lexically, and one climbing above the
# share root is STATUS_OBJECT_PATH_SYNTAX_BAD as Samba answers and smbtorture's smb2.mkdir expects. Symlinks leading out of the share are refused by openat2
# RESOLVE_BENEATH (EXDEV): STATUS_ACCESS_DENIED, as Samba's `wide links = no` does.
ESCAPES = {
    "dotdot": ("..\\outside\\secret.txt", "OBJECT_PATH_SYNTAX_BAD"),
    "dotdot-deep": ("\\..\\..\\etc\\passwd", "INVALID_PARAMETER"),
    "dotdot-inner": ("dir\\..\\..\\outside\\secret.txt", "OBJECT_PATH_SYNTAX_BAD"),
    "absolute-unix": ("/etc/passwd", "OBJECT_NAME_INVALID"),
    "forward-dotdot": ("dir/../../outside/secret.txt", "OBJECT_NAME_INVALID"),
    "drive-letter": ("C:\\x", "OBJECT_NAME_INVALID"),
    "unc": ("\\\\host\\share\\x", "INVALID_PARAMETER"),
    "stream-on-outside": ("..\\outside\\secret.txt:s", "OBJECT_PATH_SYNTAX_BAD"),
    # Streams exist now: the name is the stream `s` of `link_file`, a symlink out of the share,
    # which the open of the file refuses like any other escape (no xattr is touched outside).
    "stream-on-link": ("link_file:s", "ACCESS_DENIED"),
    "nul-byte": ("inside.txt\0../outside/secret.txt", "OBJECT_NAME_INVALID"),
    "long-component": ("a" * 256, "OBJECT_NAME_INVALID"),
    "long-path": ("\\".join(["abcdefgh"] * 3600), "OBJECT_NAME_INVALID"),
    "lone-surrogate": ("bad\ud800name.txt", "OBJECT_NAME_INVALID"),
    "symlink-file": ("link_file", "ACCESS_DENIED"),
    "symlink-dir": ("link_dir\\secret.txt", "ACCESS_DENIED"),
    "symlink-abs": ("link_abs\\secret.txt", "ACCESS_DENIED"),
    "symlink-dir-create": ("link_dir\\new.txt", "ACCESS_DENIED"),
}


@pytest.mark.parametrize("case", list(ESCAPES))
@pytest.mark.parametrize("disposition", ["open", "open_if"])
def test_path_escape(hostile, after, ticket, case, disposition):
    path, want = ESCAPES[case]
    with logged_on(ticket) as c:
        disp = rawsmb.FILE_OPEN if disposition == "open" else rawsmb.FILE_OPEN_IF
        r = c.create(path, disposition=disp, options=0)
        expect(r, want)
        still_usable(c)


def test_path_escape_directory_listing(hostile, after, ticket):
    """Listing through a symlinked directory and with '..' patterns shows nothing outside."""
    with logged_on(ticket) as c:
        r = c.create("", access=rawsmb.GENERIC_READ, disposition=rawsmb.FILE_OPEN,
                     options=rawsmb.FILE_DIRECTORY_FILE)
        assert r.status == 0, r.status_name
        fid = rawsmb.create_file_id(r)
        for pattern in ("..\\*", "link_dir\\*", "..", "*"):
            r = c.request(rawsmb.QUERY_DIRECTORY, rawsmb.query_directory_body(fid, pattern))
            assert b"secret" not in r.body.replace(b"\0", b""), pattern
            assert CANARY not in r.body
        c.close_file(fid)


def test_rename_out_of_the_share(hostile, after, ticket):
    """FileRenameInformation to '..\\escaped.txt', an absolute name and through a symlink."""
    with logged_on(ticket) as c:
        fid = open_file(c, "to-rename.txt")
        for target in ("..\\escaped.txt", "\\..\\escaped.txt", "/tmp/escaped.txt", "link_dir\\escaped.txt",
                       "C:\\escaped.txt"):
            r = c.request(rawsmb.SET_INFO, rawsmb.set_info_body(fid, 1, 10, rawsmb.rename_info(target)))
            assert r.status != 0, target
        c.close_file(fid)
    assert not os.path.exists("/tmp/escaped.txt")


def test_symlink_swapped_between_requests(hostile, after, ticket):
    """A directory is opened through, then replaced by a symlink to the outside between two
    requests: the second open, a read on a handle opened after the swap, and a create inside
    the swapped name all stay in the share."""
    share = hostile.share
    (share / "swap").mkdir(exist_ok=True)
    (share / "swap" / "secret.txt").write_bytes(b"harmless inside copy\n")
    with logged_on(ticket) as c:
        r = c.create("swap\\secret.txt", access=rawsmb.GENERIC_READ, disposition=rawsmb.FILE_OPEN)
        assert r.status == 0, r.status_name
        fid = rawsmb.create_file_id(r)
        # Swap: the directory becomes a symlink to the canary directory.
        os.rename(share / "swap", share / "swap.old")
        (share / "swap").symlink_to(hostile.outside)
        try:
            # The handle opened before the swap still reads the inside file.
            rr = c.request(rawsmb.READ, rawsmb.read_body(fid, 4096))
            assert CANARY not in rr.raw
            r2 = c.create("swap\\secret.txt", access=rawsmb.GENERIC_READ, disposition=rawsmb.FILE_OPEN)
            assert r2.status != 0, "opened a file through a swapped-in symlink"
            r3 = c.create("swap\\planted.txt", disposition=rawsmb.FILE_OPEN_IF)
            assert r3.status != 0, "created a file through a swapped-in symlink"
            # Swap several times while requests run on the same name.
            for _ in range(20):
                (share / "swap").unlink()
                os.rename(share / "swap.old", share / "swap")
                r4 = c.create("swap\\secret.txt", access=rawsmb.GENERIC_READ, disposition=rawsmb.FILE_OPEN)
                os.rename(share / "swap", share / "swap.old")
                (share / "swap").symlink_to(hostile.outside)
                if r4.status == 0:
                    f4 = rawsmb.create_file_id(r4)
                    rr = c.request(rawsmb.READ, rawsmb.read_body(f4, 4096))
                    assert CANARY not in rr.raw
                    c.close_file(f4)
            c.close_file(fid)
        finally:
            if (share / "swap").is_symlink():
                (share / "swap").unlink()
            if (share / "swap.old").exists():
                os.rename(share / "swap.old", share / "swap")
