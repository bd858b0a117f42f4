#!/usr/bin/env bash
# Runs the examples end to end from a build folder (default: build): each
# service's server on a port the system chooses, its client against it over
# TCP, UDP and a Unix socket, then the server stopped with SIGTERM; then a
# matchmaker on an unprivileged port, each server registering with it on the
# three transports at once, and its client calling it by name. The users
# server keeps its exactly-once logins in one store through all its runs, so
# each client's login is counted once, and the count goes on across the
# server's restarts.
set -euo pipefail
bin=${1:-build}/bin
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_server NAME ADDRESS: starts it, and sets $addr to where it listens
start_server() {
    local out="$tmp/$1.$RANDOM"
    # shellcheck disable=SC2086 # $2 may hold several addresses
    "$bin/$1" $2 >"$out" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do
        addr=$(sed -n 's/.*listening on //p' "$out")
        [ -n "$addr" ] && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || { cat "$out"; return 1; }
        sleep 0.05
    done
    echo "examples: $1 did not start" >&2
    return 1
}

stop_server() {
    local pid=${pids[-1]}
    kill -TERM "$pid"
    wait "$pid"
    unset 'pids[-1]'
}

# store ARGS: the users server keeps its exactly-once logins in a store
store() { [ "$1" = users ] && echo "--store $tmp/users.store"; true; }

for ex in users date; do
    echo "== $ex: the codec alone"
    "$bin/${ex}_codec"
    for tr in tcp://127.0.0.1:0 udp://127.0.0.1:0 "unix:$tmp/$ex.sock"; do
        echo "== $ex: server and client over ${tr%%:*}"
        start_server "${ex}_server" "$(store "$ex") $tr"
        "$bin/${ex}_client" "$addr"
        stop_server
    done
done
# start_matchmaker: on the first free port from 20111, on loopback, its
# sockets in $tmp, no warm-start file; sets PARLEY_MATCHMAKER
start_matchmaker() {
    local log="$tmp/matchmaker.log"
    for port in $(seq 20111 20140); do
        "$bin/parley-matchmaker" --port "$port" --bind 127.0.0.1 --socket "$tmp/mm.sock" \
            --no-rpcbind-socket --no-state 2>"$log" &
        pids+=($!)
        for _ in $(seq 1 100); do
            if grep -q "serving on port" "$log"; then
                export PARLEY_MATCHMAKER="127.0.0.1:$port"
                echo "== the matchmaker serves on 127.0.0.1:$port"
                return 0
            fi
            kill -0 "${pids[-1]}" 2>/dev/null || break
            sleep 0.05
        done
        wait "${pids[-1]}" 2>/dev/null || true
        unset 'pids[-1]'
        grep -q "in use" "$log" || { cat "$log" >&2; return 1; }
    done
    echo "examples: no free port for the matchmaker" >&2
    return 1
}

start_matchmaker
for ex in users date; do
    echo "== $ex: server on TCP, UDP and a Unix socket, registered; client by name"
    start_server "${ex}_server" "$(store "$ex") tcp://127.0.0.1:0 udp://127.0.0.1:0 unix:$tmp/$ex.sock"
    "$bin/parley-info" lookup "$ex"
    "$bin/${ex}_client" "$ex"
    "$bin/${ex}_client" "$ex@$PARLEY_MATCHMAKER"
    "$bin/parley-info" ping "$ex"
    stop_server
    # a server that stops cleanly leaves nothing registered
    if "$bin/parley-info" lookup "$ex" >/dev/null 2>&1; then
        echo "examples: $ex still registered after its server stopped" >&2
        exit 1
    fi
done
"$bin/parley-info" list
stop_server # the matchmaker
echo "examples: all passed"
