"""Self-check of the log matchers (no server needed): they accept the contract's example lines,
quoted or not, and reject lines about another principal, SPN, kvno or dialect. If these fail, the
interop tests would report a server bug that is really a harness bug."""

from __future__ import annotations

from logpatterns import DIALECTS, first_matching_line, no_key_refusal, session_line, valid_users_refusal

SESSION = (
    "2026-11-23T13:00:00Z  INFO rsmbd::engine::session_setup: session established client=127.0.0.1:50000 "
    "principal=alice@EXAMPLE.TEST mech=kerberos enctype=aes256-cts-hmac-sha1-96 "
    "spn=cifs/smb1.example.test@EXAMPLE.TEST kvno=2 dialect=3.1.1 signing=true"
)
SESSION_QUOTED = (
    'INFO session established client=127.0.0.1:50001 principal="bob@EXAMPLE.TEST" mech="kerberos" '
    'enctype="aes128-cts-hmac-sha1-96" spn="cifs/smb2.example.test@EXAMPLE.TEST" kvno=2 dialect="2.1"'
)
NOKEY = (
    'WARN session setup refused client=127.0.0.1:50002 reason="no key in keytab for '
    "cifs/nokey.example.test@EXAMPLE.TEST (ticket kvno 2, aes256-cts-hmac-sha1-96); keytab holds: "
    'cifs/smb1.example.test@EXAMPLE.TEST kvno 2 (aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96)"'
)
CAROL = (
    "WARN tree connect refused client=127.0.0.1:50003 principal=carol@EXAMPLE.TEST share=data: "
    "carol@EXAMPLE.TEST not in valid_users"
)


def test_session_line_matches_contract_example():
    """The documented session line satisfies every field check the tests make."""
    pats = session_line("alice@EXAMPLE.TEST", spn_host="smb1.example.test", dialect=DIALECTS["SMB3_11"],
                        enctype="aes256-cts-hmac-sha1-96", kvno=2)
    assert first_matching_line(SESSION, pats) == SESSION


def test_session_line_accepts_quoted_fields_and_short_dialect_names():
    """tracing quotes Debug-formatted strings and rsmbd spells 2.1 without ".0": both still match."""
    pats = session_line("bob@EXAMPLE.TEST", spn_host="smb2.example.test", dialect=DIALECTS["SMB2_10"],
                        enctype="aes128-cts-hmac-sha1-96", kvno=2)
    assert first_matching_line(SESSION_QUOTED, pats) == SESSION_QUOTED


def test_session_line_rejects_other_principal_spn_kvno_dialect():
    """A prefix, another user, SPN, kvno (3, or 22 containing 2) or dialect must not match."""
    assert first_matching_line(SESSION, session_line("bob@EXAMPLE.TEST")) is None
    assert first_matching_line(SESSION, session_line("alice@EXAMPLE.TES")) is None
    assert first_matching_line(SESSION, session_line("alice@EXAMPLE.TEST", spn_host="smb2.example.test")) is None
    assert first_matching_line(SESSION, session_line("alice@EXAMPLE.TEST", kvno=3)) is None
    assert first_matching_line(SESSION, session_line("alice@EXAMPLE.TEST", kvno=22)) is None
    for name, dialect in DIALECTS.items():
        hit = first_matching_line(SESSION, session_line("alice@EXAMPLE.TEST", dialect=dialect))
        assert (hit is not None) == (name == "SMB3_11"), name


def test_no_key_refusal_matches_contract_example_only_for_its_kvno_and_enctype():
    """The refusal matcher needs the ticket's own kvno and enctype and the keytab's contents."""
    ok = no_key_refusal("cifs/nokey.example.test@EXAMPLE.TEST", 2, "aes256-cts-hmac-sha1-96", "cifs/smb1.example.test")
    assert first_matching_line(NOKEY, ok) == NOKEY
    assert first_matching_line(NOKEY, no_key_refusal("cifs/nokey.example.test@EXAMPLE.TEST", 1,
                                                     "aes256-cts-hmac-sha1-96", "cifs/smb1.example.test")) is None
    assert first_matching_line(NOKEY, no_key_refusal("cifs/nokey.example.test@EXAMPLE.TEST", 2,
                                                     "aes128-cts-hmac-sha256-128", "cifs/smb1.example.test")) is None
    # What the keytab holds must come after the words "keytab holds", not merely appear somewhere.
    before = (
        'WARN session setup refused reason="no key in keytab for cifs/nokey.example.test@EXAMPLE.TEST '
        '(ticket kvno 2, aes256-cts-hmac-sha1-96) unlike cifs/smb1.example.test; keytab holds: nothing"'
    )
    assert first_matching_line(before, ok) is None


def test_valid_users_refusal_needs_all_words_on_one_line():
    """The refusal names the refused principal and valid_users on the same line."""
    assert first_matching_line(CAROL, valid_users_refusal("carol@EXAMPLE.TEST")) == CAROL
    assert first_matching_line(CAROL, valid_users_refusal("bob@EXAMPLE.TEST")) is None
    split = "tree connect refused principal=carol@EXAMPLE.TEST\nsomething else about valid_users"
    assert first_matching_line(split, valid_users_refusal("carol@EXAMPLE.TEST")) is None
