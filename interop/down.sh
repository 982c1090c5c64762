#!/usr/bin/env bash
# Stops what interop/up.sh started: the server (rsmbd or Samba) and the realm's KDC, each by the
# pid recorded in interop/.run/ and nothing else. Keeps the realm, keytab and share for next time
# (rm -rf interop/.run for a clean slate).
#
#   interop/down.sh                 stop server and KDC
#   interop/down.sh --server-only   stop only the server
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$(pwd)/interop/.run

server_only=no
[[ ${1:-} == --server-only ]] && server_only=yes

if [[ -s $RUN/rsmbd.pid ]]; then
    pid=$(<"$RUN/rsmbd.pid")
    # Only a live process that is still rsmbd (or a copy of it started with RSMBD_BIN, whose
    # name starts with rsmbd): a recycled pid belongs to someone else.
    if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == rsmbd* ]]; then
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "down.sh: rsmbd pid $pid ignored SIGTERM for 10 s; sending SIGKILL"
            kill -KILL "$pid"
        fi
        echo "down.sh: stopped rsmbd pid $pid"
    fi
    rm -f "$RUN/rsmbd.pid"
fi
if [[ -s $RUN/smbd.pid ]]; then
    interop/samba.sh stop "$RUN"
fi
if [[ $server_only == no && -d $RUN ]]; then
    interop/realm.sh --stop "$RUN"
fi
