#!/usr/bin/env bash
# Runs the interop suite against Samba and against rsmbd and prints one row per test with both
# outcomes. A test that passes on Samba but fails on rsmbd is an rsmbd bug (the harness is proven
# by the Samba run); the reverse is a documented behaviour difference or a harness problem.
#
#   interop/compare.sh [PYTEST_ARGS...]      (needs target/release/rsmbd or RSMBD_BIN; as root)
set -uo pipefail
cd "$(dirname "$0")/.."
RUN=interop/.run
mkdir -p "$RUN"

for target in samba rsmbd; do
    echo "=== compare: interop suite against $target"
    RSMBD_TARGET=$target python3 -m pytest -q interop/tests --junitxml="$RUN/junit-$target.xml" "$@" \
        | tail -3
done

python3 - "$RUN/junit-samba.xml" "$RUN/junit-rsmbd.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET


def outcomes(path):
    res = {}
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"compare: cannot read {path}: {e}")
        return res
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        kinds = {child.tag for child in case}
        res[name] = ("FAIL" if kinds & {"failure", "error"} else "SKIP" if "skipped" in kinds else "pass")
    return res


samba, rsmbd = outcomes(sys.argv[1]), outcomes(sys.argv[2])
width = max((len(n) for n in samba | rsmbd), default=10)
print(f"\n{'test':<{width}}  samba  rsmbd")
regressions = 0
for name in sorted(samba | rsmbd):
    a, b = samba.get(name, "-"), rsmbd.get(name, "-")
    mark = "  <-- rsmbd only fails" if a == "pass" and b != "pass" else ""
    regressions += bool(mark)
    print(f"{name:<{width}}  {a:<5}  {b:<5}{mark}")
print(f"\n{regressions} test(s) pass on Samba but not on rsmbd")
sys.exit(1 if regressions else 0)
EOF
