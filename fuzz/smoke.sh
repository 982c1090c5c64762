#!/bin/sh
# Runs every fuzz target for N seconds (default 20) on the stable toolchain, without
# sanitizers (`-s none`: ASan needs nightly). New inputs go to a scratch directory, so the
# committed seed corpus stays small; crashes land in fuzz/artifacts/<target>/.
# Usage: fuzz/smoke.sh [seconds] [target...]
set -eu
cd "$(dirname "$0")"
secs="${1:-20}"
[ $# -gt 0 ] && shift
targets="${*:-smb2_decode transform_header compound_split negotiate_contexts create_contexts spnego ap_req keytab dcerpc engine}"
scratch="${FUZZ_SCRATCH:-${TMPDIR:-/tmp}/rsmbd-fuzz-corpus}"
cargo fuzz build -s none
failed=""
for t in $targets; do
    mkdir -p "$scratch/$t"
    echo "== $t ($secs s)"
    if ! cargo fuzz run -s none "$t" "$scratch/$t" "corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 >"$scratch/$t.log" 2>&1; then
        failed="$failed $t"
        grep -E 'panicked|ERROR|Test unit written' "$scratch/$t.log" || true
    fi
    grep -E '^stat::number_of_executed_units|DONE' "$scratch/$t.log" || true
done
if [ -n "$failed" ]; then
    echo "FAILED:$failed (logs in $scratch)"
    exit 1
fi
