#!/usr/bin/env bash
# tests/migrate/run_msg.sh BIN: the msg example of docs/migrating-from-rpcgen.md
# end to end. A matchmaker on a free loopback port stands for the host's
# portmapper (PARLEY_MATCHMAKER gives the clients and the server its port);
# the msg server registers with it; the client reaches MESSAGEPROG by
# (host, program, version) over TCP and over UDP, as clnt_create does; a
# bare IP literal given where a service name is expected fails with a text
# that says it looks like a host and what to write; a program no one
# registered is reported as such. Every process started is stopped.
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# a matchmaker on a free port: a port taken meanwhile makes it exit; try another
port=
for _ in 1 2 3 4 5 6 7 8; do
    p=$((20000 + RANDOM % 40000))
    "$bin/parley-matchmaker" --port "$p" --bind 127.0.0.1 --socket "$tmp/mm.sock" \
        --no-rpcbind-socket --no-state >"$tmp/mm.out" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do
        [ -S "$tmp/mm.sock" ] && break
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.05
    done
    if [ -S "$tmp/mm.sock" ]; then port=$p; break; fi
    wait "${pids[-1]}" 2>/dev/null || true
    unset 'pids[-1]'
done
[ -n "$port" ] || fail "no matchmaker started: $(cat "$tmp/mm.out")"
export PARLEY_MATCHMAKER=127.0.0.1:$port
echo "matchmaker on 127.0.0.1:$port"

# the program, not registered yet
if "$bin/msg_client" 127.0.0.1 hello >"$tmp/c0.out" 2>&1; then fail "a client reached no server"; fi
grep -q "no service of that name is registered" "$tmp/c0.out" || fail "$(cat "$tmp/c0.out")"

"$bin/msg_server" tcp://127.0.0.1:0 udp://127.0.0.1:0 >"$tmp/server.out" 2>&1 &
pids+=($!)
for tr in tcp udp; do
    ok=
    for _ in $(seq 1 100); do  # until the server has registered
        if "$bin/msg_client" 127.0.0.1 "hello over $tr" "$tr" >"$tmp/c.out" 2>&1; then ok=1; break; fi
        kill -0 "${pids[-1]}" 2>/dev/null || fail "the server stopped: $(cat "$tmp/server.out")"
        sleep 0.05
    done
    [ -n "$ok" ] || fail "over $tr: $(cat "$tmp/c.out")"
    grep -qx "Message delivered to 127.0.0.1" "$tmp/c.out" || fail "$(cat "$tmp/c.out")"
    for _ in $(seq 1 100); do grep -qx "hello over $tr" "$tmp/server.out" && break; sleep 0.05; done
    grep -qx "hello over $tr" "$tmp/server.out" || fail "the server printed: $(cat "$tmp/server.out")"
    echo "reached by (127.0.0.1, MESSAGEPROG, PRINTMESSAGEVERS, $tr): ok"
done
"$bin/msg_client" localhost "by name" >/dev/null || fail "localhost"

# a host where a service name is expected: the text says what to write
if "$bin/msg_sample_client" 127.0.0.1 >"$tmp/s.out" 2>&1; then fail "127.0.0.1 as a name"; fi
grep -q "looks like a host, not a service name: write NAME@HOST, tcp://HOST:PORT" "$tmp/s.out" ||
    fail "$(cat "$tmp/s.out")"
echo "127.0.0.1 as a service name: $(cat "$tmp/s.out")"
# the name it was registered under works
"$bin/msg_sample_client" msg@127.0.0.1 | grep -qx "PRINTMESSAGE: success" || fail "msg@127.0.0.1"
# a transport that is not one
if "$bin/msg_client" 127.0.0.1 hi sctp >"$tmp/c.out" 2>&1; then fail "sctp"; fi
grep -q "invalid argument" "$tmp/c.out" || fail "$(cat "$tmp/c.out")"
echo "ok"
