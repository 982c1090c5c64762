"""rsmbd's known interop gaps, BoGo style: test id fragment -> reason.

Tests listed here still run against rsmbd, marked xfail(strict=True): an unexpected pass fails the
run, so an entry must be deleted the day the feature lands. Nothing is skipped, and Samba runs
every listed test normally (the harness is proven there). Keep each reason specific.
"""

KNOWN_GAPS = {
}


def gap_for(nodeid: str) -> str | None:
    for fragment, reason in KNOWN_GAPS.items():
        if fragment in nodeid:
            return reason
    return None
