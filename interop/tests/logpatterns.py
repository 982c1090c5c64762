"""What the interop tests expect to read in rsmbd's log, as regexes over one line.

The contract (lead's CLI/log card) fixes the essential words, not whole lines: a session line
`session established client=... principal=... mech=kerberos enctype=... spn=... kvno=N dialect=...`,
`session setup refused ... reason="no key in keytab for SPN (ticket kvno N, ENCTYPE); keytab
holds: ..."` and `tree connect refused ... not in valid_users`. Field order and quoting are free.
test_log_patterns.py checks these matchers against the contract's own example lines.
"""

from __future__ import annotations

import re

REALM = "EXAMPLE.TEST"

# smbclient protocol names -> how rsmbd spells the dialect (2.0.2, 2.1, 3.0, 3.0.2, 3.1.1).
DIALECTS = {
    "SMB2_02": r"2\.0\.2",
    "SMB2_10": r"2\.1(?:\.0)?",
    "SMB3_00": r"3\.0(?:\.0)?",
    "SMB3_02": r"3\.0\.2",
    "SMB3_11": r"3\.1\.1",
}


def kv(name: str, value: str) -> str:
    """Regex for a `name=value` log field, quoted or not (tracing quotes Debug-formatted strings)."""
    return rf'\b{name}="?{value}"?(?=[\s,;)]|$)'


def session_line(principal: str, spn_host: str | None = None, dialect: str | None = None,
                 enctype: str | None = None, kvno: int | None = None, mech: str = "kerberos") -> list[str]:
    """A successful session: who, how, and (when given) through which SPN, key and dialect."""
    pats = ["session established", kv("principal", re.escape(principal)), kv("mech", mech)]
    if spn_host is not None:
        pats.append(kv("spn", re.escape(f"cifs/{spn_host}@{REALM}")))
    if dialect is not None:
        pats.append(kv("dialect", dialect))
    if enctype is not None:
        pats.append(kv("enctype", re.escape(enctype)))
    if kvno is not None:
        pats.append(kv("kvno", str(kvno)))
    return pats


def no_key_refusal(spn: str, kvno: int, enctype: str, keytab_holds: str) -> list[str]:
    """Session setup refused for a ticket the keytab has no key for; the line must let an
    administrator see the mismatch: the SPN, the ticket's kvno and enctype, and what the keytab
    holds instead (`keytab_holds` must appear after the words "keytab holds")."""
    return [
        r"session setup refused",
        re.escape(spn),
        rf"\bkvno\W{{0,3}}{kvno}\b",
        re.escape(enctype),
        rf"keytab holds\W.*{re.escape(keytab_holds)}",
    ]


def valid_users_refusal(principal: str) -> list[str]:
    """Tree connect refused because the principal is not in the share's valid_users."""
    return [r"tree connect refused", re.escape(principal), r"\bvalid_users\b"]


def first_matching_line(text: str, patterns: list[str]) -> str | None:
    """The first line matching every pattern: one event is one line, so patterns must not be
    satisfied by two different lines (alice's session and carol's refusal)."""
    for line in text.splitlines():
        if all(re.search(p, line) for p in patterns):
            return line
    return None
