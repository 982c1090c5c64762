#!/usr/bin/env bash
# THE test command: Rust checks and tests, a release build, then the interop suite against the
# built server with real clients and a real KDC. Every step runs even if an earlier one failed
# (except pytest without a binary); the exit status is non-zero if any step failed.
#
#   interop/test-all.sh                    (as root: port 445, /etc/hosts, useradd for Samba mode)
#   RSMBD_TARGET=samba interop/test-all.sh  interop suite against Samba instead of rsmbd
#   PYTEST_ARGS="-k smbclient" interop/test-all.sh
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
# The repository's own target/: the interop suite runs target/release/rsmbd.
unset CARGO_TARGET_DIR
mkdir -p interop/.run

declare -a results=()
failed=0

step() {
    local name=$1
    shift
    echo
    echo "=== test-all: $name: $*"
    local start=$SECONDS
    if "$@"; then
        results+=("PASS  $name ($((SECONDS - start)) s)")
    else
        results+=("FAIL  $name ($((SECONDS - start)) s)")
        failed=1
    fi
}

# The quick start runs interop/up.sh first: its server and KDC hold the ports the suite's own
# realm and servers need, so stop them (by their recorded pids; nothing else is touched).
if [[ -s interop/.run/rsmbd.pid || -s interop/.run/smbd.pid || -s interop/.run/kdc.pid ]]; then
    echo "test-all: stopping the server and KDC that interop/up.sh started (interop/down.sh)"
    interop/down.sh || true
fi

# Fail fast on what would only break the last step after a long build.
for addr in 127.0.0.2 127.0.0.3; do
    if ss -Hltn 'sport = :445' 2>/dev/null | grep -q "$addr:445\|0.0.0.0:445\|\*:445"; then
        echo "test-all: port 445 on $addr is already taken ($(ss -Hltnp 'sport = :445' | head -1));" \
            "stop it first (interop/down.sh if it is from interop/up.sh)" >&2
        exit 2
    fi
done

step "cargo fmt" cargo fmt --all --check
step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
# RSMBD_MIT_KDC=1: auth/tests/mit_interop.rs runs MIT's own GSS initiator against our acceptor in a
# throwaway realm of its own (free high port), so it never collides with the suite's KDC on port 88.
step "cargo test" env RSMBD_MIT_KDC=1 cargo test --workspace
step "cargo build --release" cargo build --release
step "fuzz smoke" interop/fuzz-smoke.sh

summary="(pytest not run)"
if [[ ${RSMBD_TARGET:-rsmbd} == samba || -x ${RSMBD_BIN:-$REPO/target/release/rsmbd} ]]; then
    # shellcheck disable=SC2086 # PYTEST_ARGS is a list of words on purpose
    step "interop pytest" bash -c "python3 -m pytest -v interop/tests ${PYTEST_ARGS:-} 2>&1 | tee interop/.run/pytest.log; exit \${PIPESTATUS[0]}"
    summary=$(grep -E '^=+ .*(passed|failed|error|skipped|no tests ran).* in [0-9.]+s' interop/.run/pytest.log | tail -1)
    # smbtorture's quick suites against interop/torture-expectations.txt (issue 5).
    if [[ ${RSMBD_TARGET:-rsmbd} == rsmbd ]]; then
        step "smbtorture gate" interop/torture-gate.sh
    fi
else
    results+=("FAIL  interop pytest (no server binary)")
    failed=1
fi

echo
echo "=== test-all summary"
printf '%s\n' "${results[@]}"
echo "pytest: ${summary:-(no summary line; see interop/.run/pytest.log)}"
exit $failed
