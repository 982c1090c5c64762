#!/usr/bin/env python3
"""smbtorture outcomes against a checked-in expectations file (BoGo style), and the per-suite
table against Samba.

  torture_gate.py check  RESULTS_DIR SUITE...   exit 1 on a new failure or a listed test that passes
  torture_gate.py expect RESULTS_DIR SUITE...   print expectation lines for today's non-passing tests
  torture_gate.py table  RSMBD_DIR SAMBA_DIR SUITE...   markdown table of passes per suite

RSMBD_DIR and SAMBA_DIR may also be summary files of "<outcome> <test>" lines, as torture.sh
writes them (interop/.run/torture-<target>.txt); interop/torture-samba-reference.txt is Samba's.

RESULTS_DIR is what interop/torture.sh writes (interop/.run/torture-<target>/<suite>.subunit).
The expectations file (interop/torture-expectations.txt) lists every test of the gated suites
that does not pass on rsmbd, one per line: `<test name> | <one-line reason>` (smbtorture names
may contain spaces, e.g. "smb2.ioctl.copy-chunk streams", so the bar separates them). A test that fails
and is not listed fails the gate (a regression); a listed test that passes fails it too (remove
the line: the list must stay true). A suite that did not run at all (smbtorture crashed or timed
out before its first test) fails the gate.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

EXPECTATIONS = Path(__file__).resolve().parent / "torture-expectations.txt"
OUTCOME = re.compile(r"^(success|successful|failure|fail|error|skip|xfail|uxsuccess): (.+?)( \[( multipart)?)?$")


def parse_subunit(path: Path) -> dict[str, tuple[str, str]]:
    """test name -> (outcome, first line of the detail) from a subunit v1 text stream."""
    results: dict[str, tuple[str, str]] = {}
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        m = OUTCOME.match(lines[i])
        i += 1
        if not m:
            continue
        outcome, name, bracket = m.group(1), m.group(2).strip(), m.group(3)
        outcome = {"successful": "success", "fail": "failure", "error": "failure"}.get(outcome, outcome)
        detail: list[str] = []
        if bracket:
            while i < len(lines) and lines[i] != "]":
                if lines[i].strip():
                    detail.append(lines[i].strip())
                i += 1
            i += 1
        results[name] = (outcome, detail[0] if detail else "")
    return results


def suite_results(results: Path, suite: str) -> dict[str, tuple[str, str]]:
    """A suite's outcomes from a results directory, or from a summary file (torture.sh's
    "<outcome> <test>" lines, such as the checked-in Samba reference)."""
    if results.is_file():
        out: dict[str, tuple[str, str]] = {}
        for line in results.read_text().splitlines():
            outcome, _, name = line.partition(" ")
            if not line.startswith("#") and name and in_suite(name, suite):
                out[name] = (outcome, "")
        return out
    return parse_subunit(results / f"{suite}.subunit")


def in_suite(name: str, suite: str) -> bool:
    return name == suite or name.startswith(suite + ".")


def load_expectations() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in EXPECTATIONS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, reason = line.partition(" | ")
        if not sep:
            raise SystemExit(f"{EXPECTATIONS.name}: no ' | ' between test and reason: {line!r}")
        out[name.strip()] = reason.strip()
    return out


def check(results_dir: Path, suites: list[str]) -> int:
    expected = load_expectations()
    problems: list[str] = []
    passed = listed = 0
    for suite in suites:
        res = suite_results(results_dir, suite)
        if not res:
            problems.append(f"{suite}: no results (smbtorture did not run it; see {results_dir}/{suite}.stderr)")
            continue
        for name, (outcome, detail) in sorted(res.items()):
            if outcome == "success":
                passed += 1
                if name in expected:
                    problems.append(f"NOW PASSES (remove from {EXPECTATIONS.name}): {name}")
            elif name in expected:
                listed += 1
            else:
                problems.append(f"NEW {outcome.upper()}: {name}: {detail}")
        missing = [n for n in expected if in_suite(n, suite) and n not in res]
        for name in missing:
            print(f"note: {name} is listed but did not run")
    print(f"torture gate: {len(suites)} suites, {passed} passed, {listed} expected failures")
    for p in problems:
        print(p)
    return 1 if problems else 0


def expect(results_dir: Path, suites: list[str]) -> int:
    known = load_expectations() if EXPECTATIONS.exists() else {}
    for suite in suites:
        for name, (outcome, detail) in sorted(suite_results(results_dir, suite).items()):
            if outcome == "success":
                continue
            reason = known.get(name) or (f"{outcome}: {detail}" if detail else outcome)
            print(f"{name} | {reason[:160]}")
    return 0


def table(rsmbd_dir: Path, samba_dir: Path, suites: list[str]) -> int:
    print("| suite | rsmbd passed | Samba passed | tests |")
    print("| --- | ---: | ---: | ---: |")
    totals = [0, 0]
    for suite in suites:
        r = suite_results(rsmbd_dir, suite)
        s = suite_results(samba_dir, suite)
        rp = sum(1 for o, _ in r.values() if o == "success")
        sp = sum(1 for o, _ in s.values() if o == "success")
        totals[0] += rp
        totals[1] += sp
        print(f"| {suite} | {rp} | {sp} | {max(len(r), len(s))} |")
    print(f"| **total** | **{totals[0]}** | **{totals[1]}** | |")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "check":
        return check(Path(argv[2]), argv[3:])
    if cmd == "expect":
        return expect(Path(argv[2]), argv[3:])
    if cmd == "table" and len(argv) >= 4:
        return table(Path(argv[2]), Path(argv[3]), argv[4:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
