#!/usr/bin/env bash
# tests/migrate/run_sample.sh SERVER CLIENT NPROCS NOK: a parleygen --sample
# pair on loopback. The server starts on ports the system chooses (no
# matchmaker: it says it is not registered and serves on); the client calls
# each of the NPROCS procedures once, over TCP then UDP, and prints one line
# each; at least NOK of them must succeed (a zeroed argument holding a NULL
# string or an enum without 0 fails to encode, and the client says so).
set -euo pipefail
server=$1 client=$2 nprocs=$3 nok=$4
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# no matchmaker: a port no one listens on
export PARLEY_MATCHMAKER=127.0.0.1:1
"$server" tcp://127.0.0.1:0 udp://127.0.0.1:0 >"$tmp/server.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    grep -q "registered with the matchmaker" "$tmp/server.out" && break
    kill -0 "$pid" 2>/dev/null || fail "the server stopped: $(cat "$tmp/server.out")"
    sleep 0.05
done
for tr in tcp udp; do
    addr=$(sed -n "s/^listening on \($tr:.*\)/\1/p" "$tmp/server.out")
    [ -n "$addr" ] || fail "no $tr address: $(cat "$tmp/server.out")"
    rc=0
    "$client" "$addr" >"$tmp/client.out" 2>&1 || rc=$?
    cat "$tmp/client.out"
    [ "$rc" -le 1 ] || fail "the client exited with $rc"
    [ "$(grep -c ': ' "$tmp/client.out")" -eq "$nprocs" ] || fail "not one line per procedure"
    [ "$(grep -c ': success$' "$tmp/client.out")" -ge "$nok" ] || fail "fewer than $nok succeeded"
done
kill -TERM "$pid"
wait "$pid" || fail "the server did not stop cleanly on SIGTERM"
pid=
echo "ok"
