"""A minimal raw SMB2 client for hostile tests: builds requests byte by byte so a test can
send exactly what a well-behaved client never would.

It speaks Direct TCP framing (MS-SMB2 2.1), builds SMB2 headers and request bodies (MS-SMB2
2.2), and logs on with Kerberos: the AP-REQ is built here from a real service ticket that MIT's
KDC issued into a ccache (RFC 4120 §5.5.1, usage 11 for the authenticator), wrapped in GSS
framing (RFC 4121 §4.1) and a SPNEGO NegTokenInit (RFC 4178 §4.2.1), so a test can forge,
corrupt, replay or expire it. Dialect 2.1 without signing keeps the session usable without keys.
Nothing here asserts protocol behaviour; the test modules do.
"""

from __future__ import annotations

import datetime
import os
import socket
import struct
from dataclasses import dataclass

# MS-SMB2 2.2.1 commands.
NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT = 0, 1, 2, 3, 4
CREATE, CLOSE, FLUSH, READ, WRITE, LOCK, IOCTL, CANCEL, ECHO = 5, 6, 7, 8, 9, 10, 11, 12, 13
QUERY_DIRECTORY, CHANGE_NOTIFY, QUERY_INFO, SET_INFO, OPLOCK_BREAK = 14, 15, 16, 17, 18

# MS-ERREF 2.3.1 NTSTATUS values the tests look for.
STATUS = {
    "SUCCESS": 0x00000000,
    "PENDING": 0x00000103,
    "STOPPED_ON_SYMLINK": 0x8000002D,
    "NO_MORE_FILES": 0x80000006,
    "INVALID_HANDLE": 0xC0000008,
    "INVALID_PARAMETER": 0xC000000D,
    "MORE_PROCESSING_REQUIRED": 0xC0000016,
    "ACCESS_DENIED": 0xC0000022,
    "OBJECT_NAME_INVALID": 0xC0000033,
    "OBJECT_NAME_NOT_FOUND": 0xC0000034,
    "OBJECT_NAME_COLLISION": 0xC0000035,
    "OBJECT_PATH_INVALID": 0xC0000039,
    "OBJECT_PATH_NOT_FOUND": 0xC000003A,
    "OBJECT_PATH_SYNTAX_BAD": 0xC000003B,
    "LOGON_FAILURE": 0xC000006D,
    "INSUFFICIENT_RESOURCES": 0xC000009A,
    "NOT_SUPPORTED": 0xC00000BB,
    "NETWORK_NAME_DELETED": 0xC00000C9,
    "BAD_NETWORK_NAME": 0xC00000CC,
    "REQUEST_NOT_ACCEPTED": 0xC00000D0,
    "NAME_TOO_LONG": 0xC0000106,
    "FILE_CLOSED": 0xC0000128,
    "USER_SESSION_DELETED": 0xC0000203,
    "INVALID_INFO_CLASS": 0xC0000003,
    "INFO_LENGTH_MISMATCH": 0xC0000004,
    "NOT_A_DIRECTORY": 0xC0000103,
    "FILE_IS_A_DIRECTORY": 0xC00000BA,
    "INVALID_DEVICE_REQUEST": 0xC0000010,
    "BUFFER_TOO_SMALL": 0xC0000023,
    "END_OF_FILE": 0xC0000011,
}
STATUS_NAME = {v: k for k, v in STATUS.items()}

HEADER_SIZE = 64
FLAG_RESPONSE = 0x1
FLAG_ASYNC = 0x2
FLAG_RELATED = 0x4

# MS-SMB2 2.2.13 access masks / dispositions / options used by the tests.
FILE_READ_DATA, FILE_WRITE_DATA = 0x1, 0x2
GENERIC_ALL, GENERIC_READ, GENERIC_WRITE = 0x10000000, 0x80000000, 0x40000000
FILE_SHARE_ALL = 0x7
FILE_OPEN, FILE_CREATE, FILE_OPEN_IF, FILE_OVERWRITE_IF = 1, 2, 3, 5
FILE_DIRECTORY_FILE, FILE_NON_DIRECTORY_FILE = 0x1, 0x40


def status_name(code: int) -> str:
    return STATUS_NAME.get(code, f"0x{code:08X}")


class Closed(Exception):
    """The server closed the connection (or it reset)."""


@dataclass
class Response:
    command: int
    status: int
    flags: int
    message_id: int
    session_id: int
    tree_id: int
    credits: int
    body: bytes
    raw: bytes

    @property
    def status_name(self) -> str:
        return status_name(self.status)


def header(command: int, message_id: int, *, session_id: int = 0, tree_id: int = 0,
           credit_charge: int = 1, credits: int = 64, flags: int = 0, next_command: int = 0,
           status: int = 0) -> bytes:
    """MS-SMB2 2.2.1.2 SYNC header."""
    return (b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", HEADER_SIZE, credit_charge, status, command,
                                     credits, flags, next_command, message_id, 0xFEFF, tree_id,
                                     session_id) + b"\0" * 16)


def utf16(s: str) -> bytes:
    return s.encode("utf-16-le", "surrogatepass")


# --- request bodies (MS-SMB2 2.2.x); offsets are from the start of the SMB2 header ----------

def negotiate_body(dialects=(0x0202, 0x0210)) -> bytes:
    """2.2.3 NEGOTIATE without contexts (dialects below 3.1.1)."""
    return (struct.pack("<HHHHI", 36, len(dialects), 0x1, 0, 0) + os.urandom(16) + b"\0" * 8
            + b"".join(struct.pack("<H", d) for d in dialects))


def session_setup_body(token: bytes, *, offset: int | None = None, length: int | None = None) -> bytes:
    """2.2.5 SESSION_SETUP."""
    off = HEADER_SIZE + 24 if offset is None else offset
    ln = len(token) if length is None else length
    return struct.pack("<HBBIIHHQ", 25, 0, 0x1, 0, 0, off, ln, 0) + token


def tree_connect_body(path: str, *, offset: int | None = None, length: int | None = None) -> bytes:
    """2.2.9 TREE_CONNECT."""
    p = utf16(path)
    off = HEADER_SIZE + 8 if offset is None else offset
    ln = len(p) if length is None else length
    return struct.pack("<HHHH", 9, 0, off, ln) + p


def create_body(name: str | bytes, *, access=GENERIC_READ | GENERIC_WRITE, disposition=FILE_OPEN_IF,
                options=FILE_NON_DIRECTORY_FILE, name_offset: int | None = None,
                name_length: int | None = None, ctx_offset: int = 0, ctx_length: int = 0) -> bytes:
    """2.2.13 CREATE; `name` as str (UTF-16LE, lone surrogates kept) or raw bytes."""
    n = name if isinstance(name, bytes) else utf16(name)
    off = HEADER_SIZE + 56 if name_offset is None else name_offset
    ln = len(n) if name_length is None else name_length
    body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, access, 0x80, FILE_SHARE_ALL,
                       disposition, options, off, ln, ctx_offset, ctx_length)
    return body + (n or b"\0")


def close_body(fid: bytes) -> bytes:
    """2.2.15 CLOSE."""
    return struct.pack("<HHI", 24, 0, 0) + fid


def flush_body(fid: bytes) -> bytes:
    """2.2.17 FLUSH."""
    return struct.pack("<HHI", 24, 0, 0) + fid


def read_body(fid: bytes, length: int = 4096, offset: int = 0, *, chan_offset: int = 0,
              chan_length: int = 0) -> bytes:
    """2.2.19 READ."""
    return struct.pack("<HBBIQ", 49, 0, 0, length, offset) + fid + struct.pack(
        "<IIIHH", 0, 0, 0, chan_offset, chan_length) + b"\0"


def write_body(fid: bytes, data: bytes, offset: int = 0, *, data_offset: int | None = None,
               length: int | None = None) -> bytes:
    """2.2.21 WRITE."""
    doff = HEADER_SIZE + 48 if data_offset is None else data_offset
    ln = len(data) if length is None else length
    return struct.pack("<HHIQ", 49, doff, ln, offset) + fid + struct.pack("<IIHHI", 0, 0, 0, 0, 0) + data


def lock_body(fid: bytes, count: int, locks: bytes = b"") -> bytes:
    """2.2.26 LOCK; `count` may exceed the elements present."""
    return struct.pack("<HHI", 48, count, 0) + fid + locks


def ioctl_body(fid: bytes, ctl: int, data: bytes = b"", *, in_offset: int | None = None,
               in_count: int | None = None, max_out: int = 4096) -> bytes:
    """2.2.31 IOCTL."""
    ioff = HEADER_SIZE + 56 if in_offset is None else in_offset
    icnt = len(data) if in_count is None else in_count
    return struct.pack("<HHI", 57, 0, ctl) + fid + struct.pack(
        "<IIIIIIII", ioff, icnt, 0, 0, 0, max_out, 1, 0) + data


def query_directory_body(fid: bytes, pattern: str = "*", *, name_offset: int | None = None,
                         name_length: int | None = None, out_len: int = 65536) -> bytes:
    """2.2.33 QUERY_DIRECTORY (FileIdBothDirectoryInformation, RESTART_SCANS)."""
    p = utf16(pattern)
    off = HEADER_SIZE + 32 if name_offset is None else name_offset
    ln = len(p) if name_length is None else name_length
    return struct.pack("<HBBI", 33, 0x25, 0x1, 0) + fid + struct.pack("<HHI", off, ln, out_len) + p


def change_notify_body(fid: bytes) -> bytes:
    """2.2.35 CHANGE_NOTIFY."""
    return struct.pack("<HHI", 32, 0, 4096) + fid + struct.pack("<II", 0x17, 0)


def query_info_body(fid: bytes, info_type: int = 1, cls: int = 5, *, in_offset: int = 0,
                    in_length: int = 0, out_len: int = 4096) -> bytes:
    """2.2.37 QUERY_INFO (default: FileStandardInformation)."""
    return struct.pack("<HBBIHHIII", 41, info_type, cls, out_len, in_offset, 0, in_length, 0, 0) + fid


def set_info_body(fid: bytes, info_type: int, cls: int, data: bytes, *, offset: int | None = None,
                  length: int | None = None) -> bytes:
    """2.2.39 SET_INFO."""
    off = HEADER_SIZE + 32 if offset is None else offset
    ln = len(data) if length is None else length
    return struct.pack("<HBBIHHI", 33, info_type, cls, ln, off, 0, 0) + fid + data


def rename_info(target: str, replace: bool = False) -> bytes:
    """MS-FSCC 2.4.37 FileRenameInformation (SMB2 form, 64-bit RootDirectory)."""
    t = utf16(target)
    return struct.pack("<B7sQI", int(replace), b"\0" * 7, 0, len(t)) + t


def simple_body() -> bytes:
    """ECHO / LOGOFF / TREE_DISCONNECT / CANCEL: StructureSize 4."""
    return struct.pack("<HH", 4, 0)


# --- Kerberos / SPNEGO --------------------------------------------------------------------

def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(content)) + content


KRB5_OID = bytes.fromhex("06092a864886f712010202")  # 1.2.840.113554.1.2.2
SPNEGO_OID = bytes.fromhex("06062b0601050502")  # 1.3.6.1.5.5.2


def spnego_init(mech_token: bytes) -> bytes:
    """RFC 4178 §4.2.1 NegTokenInit offering krb5 only, inside the RFC 2743 §3.1 framing."""
    mech_types = der(0xA0, der(0x30, KRB5_OID))
    inner = der(0x30, mech_types + der(0xA2, der(0x04, mech_token)))
    return der(0x60, SPNEGO_OID + der(0xA0, inner))


def spnego_resp(mech_token: bytes) -> bytes:
    """RFC 4178 §4.2.2 NegTokenResp carrying a client's next mechanism token (no negState)."""
    return der(0xA1, der(0x30, der(0xA2, der(0x04, mech_token))))


@dataclass
class ServiceTicket:
    """A service ticket from a real ccache: the Ticket (DER), its session key and the client."""

    ticket: object
    cipher: object
    session_key: object
    user: str
    realm: str
    endtime: float


def load_ticket(ccache_path: str, spn: str) -> ServiceTicket:
    """Reads the service ticket for `spn` (e.g. cifs/host@REALM) that kvno/smbclient cached."""
    from impacket.krb5.asn1 import TGS_REP
    from impacket.krb5.ccache import CCache
    from impacket.krb5.types import Ticket
    from pyasn1.codec.der import decoder

    cc = CCache.loadFile(ccache_path)
    cred = cc.getCredential(spn, anySPN=False)
    if cred is None:
        raise LookupError(f"no ticket for {spn} in {ccache_path}")
    tgs = cred.toTGS()
    rep = decoder.decode(tgs["KDC_REP"], asn1Spec=TGS_REP())[0]
    ticket = Ticket()
    ticket.from_asn1(rep["ticket"])
    client = cc.principal.prettyPrint().decode() if isinstance(cc.principal.prettyPrint(), bytes) \
        else cc.principal.prettyPrint()
    user, realm = client.split("@", 1)
    return ServiceTicket(ticket, tgs["cipher"], tgs["sessionKey"], user, realm,
                         float(cred["time"]["endtime"]))


def ap_req(st: ServiceTicket, *, ticket_cipher=None, when: datetime.datetime | None = None) -> bytes:
    """RFC 4120 §5.5.1 AP-REQ (mutual-required) with a fresh authenticator, GSS-framed
    (RFC 4121 §4.1: OID, TOK_ID 01 00). `ticket_cipher`, if given, maps the ticket's
    encrypted part to what is sent instead (a forged or corrupted ticket)."""
    from impacket.krb5 import constants
    from impacket.krb5.asn1 import AP_REQ, Authenticator, seq_set
    from impacket.krb5.types import KerberosTime, Principal
    from pyasn1.codec.der import encoder
    from pyasn1.type.univ import noValue

    req = AP_REQ()
    req["pvno"] = 5
    req["msg-type"] = int(constants.ApplicationTagNumbers.AP_REQ.value)
    req["ap-options"] = constants.encodeFlags([constants.APOptions.mutual_required.value])
    seq_set(req, "ticket", st.ticket.to_asn1)
    if ticket_cipher is not None:
        req["ticket"]["enc-part"]["cipher"] = ticket_cipher(req["ticket"]["enc-part"]["cipher"].asOctets())
    auth = Authenticator()
    auth["authenticator-vno"] = 5
    auth["crealm"] = st.realm
    seq_set(auth, "cname", Principal(st.user, type=constants.PrincipalNameType.NT_PRINCIPAL.value)
            .components_to_asn1)
    now = when or datetime.datetime.now(datetime.timezone.utc)
    auth["cusec"] = now.microsecond
    auth["ctime"] = KerberosTime.to_asn1(now)
    # Checksum type 0x8003 (RFC 4121 §4.1.1): GSS flags mutual + integrity, no channel bindings.
    auth["cksum"] = noValue
    auth["cksum"]["cksumtype"] = 0x8003
    auth["cksum"]["checksum"] = struct.pack("<I", 16) + b"\0" * 16 + struct.pack("<I", 0x2 | 0x20)
    enc = st.cipher.encrypt(st.session_key, 11, encoder.encode(auth), None)
    req["authenticator"] = noValue
    req["authenticator"]["etype"] = st.cipher.enctype
    req["authenticator"]["cipher"] = enc
    return der(0x60, KRB5_OID + b"\x01\x00" + encoder.encode(req))


def krb_error(buf: bytes):
    """The RFC 4120 §5.9.1 KRB-ERROR ([APPLICATION 30], tag 0x7e) inside a SESSION_SETUP
    response's security buffer (SPNEGO NegTokenResp > GSS framing, TOK_ID 03 00), decoded with
    impacket's ASN.1 (fields "error-code", "stime", "susec", "ctime", ...); None if absent."""
    from impacket.krb5.asn1 import KRB_ERROR
    from pyasn1.codec.der import decoder

    i = buf.find(b"\x7e")
    while i >= 0:
        try:
            return decoder.decode(buf[i:], asn1Spec=KRB_ERROR())[0]
        except Exception:  # noqa: BLE001 - a 0x7e inside other DER: look further
            i = buf.find(b"\x7e", i + 1)
    return None


def kerberos_time(value) -> float:
    """RFC 4120 §5.2.3 KerberosTime ("YYYYMMDDHHMMSSZ") as seconds since the epoch."""
    t = datetime.datetime.strptime(str(value), "%Y%m%d%H%M%SZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


# --- the connection -----------------------------------------------------------------------

class RawSmb:
    """One TCP connection; `request` sends one message and returns the (final) response."""

    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.next_mid = 0
        self.session_id = 0
        self.tree_id = 0

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # framing
    def send_raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed(str(e)) from e

    def send_frame(self, msg: bytes) -> None:
        self.send_raw(struct.pack(">I", len(msg)) + msg)

    def _recv_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError as e:
                raise Closed(str(e)) from e
            if not chunk:
                raise Closed("EOF")
            buf += chunk
        return bytes(buf)

    def recv_frame(self) -> bytes:
        h = self._recv_exact(4)
        return self._recv_exact(struct.unpack(">I", h)[0] & 0xFFFFFF)

    def recv(self) -> list[Response]:
        """The next frame, split into its compound members; interim PENDING answers skipped."""
        while True:
            msg = self.recv_frame()
            out = parse_compound(msg)
            if all(r.status == STATUS["PENDING"] and r.flags & FLAG_ASYNC for r in out):
                continue
            return out

    def is_closed(self, wait: float = 3.0) -> bool:
        """True if the server closes the connection within `wait` s (data is drained)."""
        self.sock.settimeout(wait)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (socket.timeout, TimeoutError):
            return False
        finally:
            self.sock.settimeout(self.timeout)

    # messages
    def mid(self, charge: int = 1) -> int:
        m = self.next_mid
        self.next_mid += max(charge, 1)
        return m

    def build(self, command: int, body: bytes, *, tree: bool = True, **hdr) -> bytes:
        hdr.setdefault("session_id", self.session_id)
        hdr.setdefault("tree_id", self.tree_id if tree else 0)
        if "message_id" not in hdr:
            hdr["message_id"] = self.mid(hdr.get("credit_charge", 1))
        return header(command, **hdr) + body

    def request(self, command: int, body: bytes, **hdr) -> Response:
        self.send_frame(self.build(command, body, **hdr))
        return self.recv()[0]

    def negotiate(self) -> Response:
        r = self.request(NEGOTIATE, negotiate_body(), tree=False, credit_charge=0)
        assert r.status == 0, f"NEGOTIATE: {r.status_name}"
        return r

    def session_setup(self, token: bytes, **kw) -> Response:
        r = self.request(SESSION_SETUP, session_setup_body(token, **kw), tree=False)
        if r.status in (0, STATUS["MORE_PROCESSING_REQUIRED"]):
            self.session_id = r.session_id
        return r

    def logon(self, st: ServiceTicket) -> Response:
        r = self.session_setup(spnego_init(ap_req(st)))
        assert r.status == 0, f"SESSION_SETUP: {r.status_name}"
        return r

    def tree_connect(self, path: str) -> Response:
        r = self.request(TREE_CONNECT, tree_connect_body(path), tree=False)
        if r.status == 0:
            self.tree_id = r.tree_id
        return r

    def create(self, name: str | bytes, **kw) -> Response:
        return self.request(CREATE, create_body(name, **kw))

    def close_file(self, fid: bytes) -> Response:
        return self.request(CLOSE, close_body(fid))


def parse_compound(msg: bytes) -> list[Response]:
    out = []
    pos = 0
    while True:
        h = msg[pos:pos + HEADER_SIZE]
        if len(h) < HEADER_SIZE or h[:4] != b"\xfeSMB":
            raise ValueError(f"not an SMB2 response: {msg[pos:pos + 8].hex()}")
        (_, _, _charge, status, command, credits, flags, nxt, mid) = struct.unpack_from("<4sHHIHHIIQ", h)
        if flags & FLAG_ASYNC:
            tree_id = 0
        else:
            tree_id = struct.unpack_from("<I", h, 36)[0]
        session_id = struct.unpack_from("<Q", h, 40)[0]
        end = pos + nxt if nxt else len(msg)
        out.append(Response(command, status, flags, mid, session_id, tree_id, credits,
                            msg[pos + HEADER_SIZE:end], msg[pos:end]))
        if not nxt:
            return out
        pos += nxt


def create_file_id(r: Response) -> bytes:
    """FileId of a successful CREATE response (MS-SMB2 2.2.14, at body offset 64)."""
    return r.body[64:80]
