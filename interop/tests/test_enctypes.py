"""Kerberos session-key enctypes other than the default aes256-cts-hmac-sha1-96.

A fresh ccache gets a cifs ticket with that session key from MIT's `kvno -e` (smbclient ignores
default_tgs_enctypes: Samba passes its own enctype list), and smbclient uses the cached ticket;
the ticket itself stays encrypted in the service's aes256 key. The server must decrypt the
authenticator, build the AP-REP and derive the SMB session key with that enctype (RFC 3962 for
aes128-sha1, RFC 8009 for the SHA-2 ones); signing then proves both sides derived the same key.
The KDC log is checked too, so the test cannot pass on a default ticket by accident.
"""

from __future__ import annotations

import re

import pytest

from harness import REALM, SERVER
from logpatterns import kv, session_line

SESSION_ENCTYPES = ["aes128-cts-hmac-sha1-96", "aes128-cts-hmac-sha256-128", "aes256-cts-hmac-sha384-192"]


@pytest.mark.parametrize("enctype", SESSION_ENCTYPES)
def test_session_key_enctype(smbclient, server, realm, enctype):
    """A ticket whose session key is `enctype` gives a signed 3.1.1 session that works."""
    env = realm.client_variant("alice", enctype)
    kdc_mark = realm.kdc_log.stat().st_size
    realm.kvno(f"cifs/{SERVER}@{REALM}", env=env, session_enctype=enctype)
    mark = server.log_mark()
    smbclient.ok(
        "ls",
        env=env,
        extra=("--client-protection=sign", "--option=client min protocol=SMB3_11"),
    )
    with open(realm.kdc_log, "rb") as f:
        f.seek(kdc_mark)
        kdc = f.read().decode("utf-8", "replace")
    issued = rf"ses={re.escape(enctype)}\(\d+\)\}}, alice@{REALM} for cifs/{re.escape(SERVER)}@{REALM}"
    assert re.search(issued, kdc), f"the KDC did not issue a {enctype} session key:\n{kdc[-2000:]}"
    if server.kind == "rsmbd":
        server.wait_log(mark, session_line(f"alice@{REALM}", spn_host=SERVER) + [kv("session_enctype", re.escape(enctype))])
    else:
        server.wait_log(mark, [rf"Kerberos ticket principal name is \[alice@{REALM}\]"])
