#!/usr/bin/env bash
# Runs the examples end to end from a build folder (default: build): each
# service's server on a port the system chooses, its client against it over
# TCP, UDP and a Unix socket, then the server stopped with SIGTERM.
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
    "$bin/$1" "$2" >"$out" 2>&1 &
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

for ex in users date; do
    echo "== $ex: the codec alone"
    "$bin/${ex}_codec"
    for tr in tcp://127.0.0.1:0 udp://127.0.0.1:0 "unix:$tmp/$ex.sock"; do
        echo "== $ex: server and client over ${tr%%:*}"
        start_server "${ex}_server" "$tr"
        "$bin/${ex}_client" "$addr"
        stop_server
    done
done
echo "examples: all passed"
