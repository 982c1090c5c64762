#!/usr/bin/env bash
# Throughput of a 1 GiB file through smbclient (Kerberos) against the server interop/up.sh
# started: put and get, unprotected, signed, AES-128-GCM and AES-256-GCM. Prints MiB/s.
#
#   interop/up.sh            # once (builds the release binary, starts realm + server)
#   interop/bench.sh [SIZE_MIB]
#
# Client and server share the machine, so the figures include smbclient's own cost; compare
# modes with each other, and with Samba via `interop/up.sh --samba` on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$PWD/interop/.run
size_mib=${1:-1024}
[[ -f $RUN/env.sh ]] || { echo "bench.sh: run interop/up.sh first" >&2; exit 1; }
# shellcheck disable=SC1091
source "$RUN/env.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export KRB5CCNAME=$work/ccache
awk '$1=="alice"{print $2}' "$RUN/passwords" | kinit alice >/dev/null

src=$work/src.bin
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$src"
want=$(sha256sum <"$src" | cut -d' ' -f1)

run() { # name, smbclient args...
    local name=$1
    shift
    local remote=bench-$$.bin t0 t1 t2
    t0=$(date +%s.%N)
    smbclient -s "$RUN/smbclient.conf" //smb1.example.test/data --use-kerberos=required -N "$@" \
        -c "put $src $remote" >"$work/put.log" 2>&1
    t1=$(date +%s.%N)
    smbclient -s "$RUN/smbclient.conf" //smb1.example.test/data --use-kerberos=required -N "$@" \
        -c "get $remote $work/back.bin; rm $remote" >"$work/get.log" 2>&1
    t2=$(date +%s.%N)
    if grep -q NT_STATUS "$work/put.log" "$work/get.log"; then
        echo "bench.sh: $name failed:" >&2
        cat "$work/put.log" "$work/get.log" >&2
        exit 1
    fi
    [[ $(sha256sum <"$work/back.bin" | cut -d' ' -f1) == "$want" ]] || { echo "bench.sh: $name: data differs" >&2; exit 1; }
    awk -v n="$name" -v s="$size_mib" -v a="$t0" -v b="$t1" -v c="$t2" \
        'BEGIN { printf "%-14s put %7.1f MiB/s   get %7.1f MiB/s\n", n, s / (b - a), s / (c - b) }'
    rm -f "$work/back.bin"
}

echo "1 file of $size_mib MiB, smbclient $(smbclient --version | cut -d' ' -f2), SMB 3.1.1, Kerberos"
run unprotected --client-protection=off
run signed --client-protection=sign
run AES-128-GCM --client-protection=encrypt --option='client smb3 encryption algorithms=AES-128-GCM'
run AES-256-GCM --client-protection=encrypt --option='client smb3 encryption algorithms=AES-256-GCM'
