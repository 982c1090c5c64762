#!/usr/bin/env bash
# Fuzz smoke for CI (issue 6): builds every cargo-fuzz target on the stable toolchain (`-s none`)
# and runs each for FUZZ_SMOKE_SECS seconds (default 15; 10 targets, about 2.5 min plus the build),
# starting from the committed seeds. Fails if a target crashes, hangs or cannot be built; the
# crashing input is in fuzz/artifacts/<target>/ and the libFuzzer logs in $FUZZ_SCRATCH.
# The long runs (>= 1,000,000 executions per target) are described in fuzz/README.md.
#
#   interop/fuzz-smoke.sh                 every target
#   FUZZ_SMOKE_SECS=60 interop/fuzz-smoke.sh engine spnego
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: cargo-fuzz is missing: cargo install cargo-fuzz --locked (.ci/install-deps does)" >&2
    exit 1
fi
secs=${FUZZ_SMOKE_SECS:-15}
export FUZZ_SCRATCH=${FUZZ_SCRATCH:-$(mktemp -d -t rsmbd-fuzz-smoke.XXXXXX)}
# The fuzz crate is its own workspace with its own target directory (fuzz/target), so a
# CARGO_TARGET_DIR meant for the main workspace must not leak into it.
unset CARGO_TARGET_DIR
exec fuzz/smoke.sh "$secs" "$@"
