#!/usr/bin/env bash
# Runs selected smbtorture suites (Samba's conformance tests) with Kerberos against rsmbd or Samba
# and records per-test outcomes, so the two servers can be compared test by test.
#
#   interop/torture.sh [--samba] [SUITE...]     default suites: see DEFAULT_SUITES below
#   TORTURE_TIMEOUT=SECONDS (default 900) bounds each suite's smbtorture run
#
# Starts the server with interop/up.sh --no-build (so build first), runs each suite as alice (bob
# is user2), writes interop/.run/torture-<target>/<suite>.subunit and a summary file
# interop/.run/torture-<target>.txt ("outcome test" lines), then stops the server and the KDC.
# Compare two runs with:  diff interop/.run/torture-samba.txt interop/.run/torture-rsmbd.txt
# Not part of test-all.sh: many smbtorture tests need Samba-only hooks or features rsmbd does not
# claim, so counts mean little; the per-test diff is what to read (see interop-notes.md).
set -uo pipefail
cd "$(dirname "$0")/.."
RUN=$(pwd)/interop/.run

DEFAULT_SUITES=(smb2.connect smb2.read smb2.getinfo smb2.setinfo smb2.dir smb2.rename smb2.create smb2.delete-on-close-perms smb2.session smb2.credits smb2.compound)

target=rsmbd
up_args=(--no-build)
if [[ ${1:-} == --samba ]]; then
    target=samba
    up_args+=(--samba)
    shift
fi
suites=("$@")
[[ ${#suites[@]} -gt 0 ]] || suites=("${DEFAULT_SUITES[@]}")
command -v smbtorture >/dev/null || { echo "torture.sh: smbtorture not found: apt-get install samba-testsuite" >&2; exit 1; }

# A fresh share per run: files left by the other server (owned by root for rsmbd, by alice for
# Samba) would make create tests fail with ACCESS_DENIED.
rm -rf "$RUN/torture-share"
mkdir -p "$RUN/torture-share"
up_args+=(--share "$RUN/torture-share")
interop/up.sh "${up_args[@]}" >/dev/null || { echo "torture.sh: interop/up.sh failed" >&2; exit 1; }
trap 'interop/down.sh >/dev/null' EXIT

# shellcheck source=/dev/null
source "$RUN/env.sh"
export KRB5CCNAME=$RUN/krb5cc-torture
pw() { awk -v u="$1" '$1==u {print $2}' "$RUN/passwords"; }
echo "$(pw alice)" | kinit alice >/dev/null || { echo "torture.sh: kinit alice failed" >&2; exit 1; }

out=$RUN/torture-$target
rm -rf "$out"
mkdir -p "$out"
for suite in "${suites[@]}"; do
    echo "=== torture.sh: $suite against $target"
    t0=$SECONDS
    # smbtorture has no -I: the name must resolve to the server (it does, via /etc/hosts).
    timeout "${TORTURE_TIMEOUT:-900}" smbtorture -s "$RUN/smbclient.conf" //smb1.example.test/data \
        -U "alice%$(pw alice)" --use-kerberos=required --realm=EXAMPLE.TEST -W EXAMPLE \
        --target=samba3 --format=subunit --fullname \
        --option=torture:user2name=bob --option="torture:user2password=$(pw bob)" \
        --option=torture:user2domain=EXAMPLE \
        "$suite" >"$out/$suite.subunit" 2>"$out/$suite.stderr"
    echo "    exit $?; $(grep -cE '^success: ' "$out/$suite.subunit") passed," \
        "$(grep -cE '^(failure|error): ' "$out/$suite.subunit") failed," \
        "$(grep -cE '^skip: ' "$out/$suite.subunit") skipped in $((SECONDS - t0)) s"
done

# One "outcome test" line per test, sorted, for diffing servers (subunit: "success: NAME [...]").
cat "$out"/*.subunit | sed -nE 's/^(success|failure|error|skip|xfail|uxsuccess): ([^[]*[^[ ]).*/\1 \2/p' \
    | sed -E 's/^error /failure /' | sort -k2 >"$RUN/torture-$target.txt"
echo "=== torture.sh: $(grep -c '^success ' "$RUN/torture-$target.txt") passed," \
    "$(grep -c '^failure ' "$RUN/torture-$target.txt") failed," \
    "$(grep -c '^skip ' "$RUN/torture-$target.txt") skipped; per-test list: $RUN/torture-$target.txt"
