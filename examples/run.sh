#!/usr/bin/env bash
# Runs the examples end to end from a build folder (default: build), saying
# what each step does:
#   1. each service's data through its codec alone;
#   2. each service's server on a port the system chooses, its client
#      against it over TCP, UDP and a Unix socket, then the server stopped
#      with SIGTERM;
#   3. a matchmaker on an unprivileged port, each server registering with it
#      on the three transports at once, and its client calling it by name;
#      then the matchmaker stopped.
# The users server lists this host's logins (its utmp file: none in a
# container) and accounts, as tables, a page at a time; with the matchmaker
# it lists made-up logins from a utmp file users_utmpdemo writes, in pages
# of 2. It keeps its
# exactly-once logins in one store through all its runs, so each client's
# login is counted once, and the count goes on across the server's
# restarts. The date client asks for the time in a format and a zone, as
# struct tm, and measures the server's clock offset; an unknown zone is
# refused with a clear reply. On a failure it says at which step, and why.
set -euo pipefail
set -o errtrace
bin=${1:-build}/bin
tmp=$(mktemp -d)
pids=()
step="starting"
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'rc=$?; echo "examples: FAILED at step: $step (exit status $rc; the lines above say why)" >&2; exit $rc' ERR

# say STEP: names the step that runs now (for the failure message too)
say() {
    step=$1
    echo "== $step"
}

# start_server NAME ADDRESS: starts it, and sets $addr to where it listens
start_server() {
    local out="$tmp/$1.$RANDOM"
    # shellcheck disable=SC2086 # $2 may hold several addresses
    "$bin/$1" $2 >"$out" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do
        if grep -q "registered" "$out"; then
            addr=$(sed -n 's/.*listening on //p' "$out" | head -1)
            sed 's/^/   /' "$out"
            return 0
        fi
        kill -0 "${pids[-1]}" 2>/dev/null || {
            cat "$out" >&2
            echo "examples: $1 exited before it served" >&2
            return 1
        }
        sleep 0.05
    done
    cat "$out" >&2
    echo "examples: $1 did not start within 5 s" >&2
    return 1
}

# stop_server: SIGTERM to the last server started, and its exit status
stop_server() {
    local pid=${pids[-1]}
    kill -TERM "$pid"
    wait "$pid"
    unset 'pids[-1]'
}

# store ARGS: the users server keeps its exactly-once logins in a store
store() { [ "$1" = users ] && echo "--store $tmp/users.store"; true; }

# run_client EX ADDRESS N: the client of EX against ADDRESS, the Nth time
# (each time shows something else)
run_client() {
    case "$1:$3" in
    users:1) "$bin/users_client" "$2" --page 10 who accounts uid 0 login ada ;;
    users:*) "$bin/users_client" "$2" who login ada ;;
    date:1) "$bin/date_client" "$2" --zone Europe/Paris ;;
    date:2) "$bin/date_client" "$2" --zone America/New_York --format '%A %d %B %Y, %I:%M %p %Z' ;;
    date:*) "$bin/date_client" "$2" --zone UTC --format '%s seconds, day %j of %Y' ;;
    esac
}

for ex in users date; do
    say "$ex: the codec alone (${ex}_codec)"
    "$bin/${ex}_codec"
    n=0
    for tr in tcp://127.0.0.1:0 udp://127.0.0.1:0 "unix:$tmp/$ex.sock"; do
        n=$((n + 1))
        say "$ex: starting ${ex}_server on ${tr%%:*}"
        start_server "${ex}_server" "$(store "$ex") $tr"
        say "$ex: ${ex}_client over ${tr%%:*} to $addr"
        run_client "$ex" "$addr" "$n"
        if [ "$ex" = date ] && [ "$n" = 1 ]; then
            say "date: an unknown zone, which the server refuses"
            if "$bin/date_client" "$addr" --zone Mars/Olympus_Mons; then
                echo "examples: the date server took an unknown zone" >&2
                false
            fi
        fi
        say "$ex: stopping ${ex}_server (SIGTERM)"
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
                echo "   the matchmaker serves on 127.0.0.1:$port"
                return 0
            fi
            kill -0 "${pids[-1]}" 2>/dev/null || break
            sleep 0.05
        done
        wait "${pids[-1]}" 2>/dev/null || true
        unset 'pids[-1]'
        grep -q "in use" "$log" || { cat "$log" >&2; return 1; }
    done
    echo "examples: no free port for the matchmaker from 20111 to 20140" >&2
    return 1
}

say "starting the matchmaker (parley-matchmaker) on an unprivileged port"
start_matchmaker
say "users: writing a utmp file of made-up logins (users_utmpdemo)"
"$bin/users_utmpdemo" "$tmp/utmp"
for ex in users date; do
    say "$ex: starting ${ex}_server on TCP, UDP and a Unix socket, registered as '$ex'"
    opts=$(store "$ex")
    [ "$ex" = users ] && opts="$opts --utmp $tmp/utmp --page-max 2"
    start_server "${ex}_server" "$opts tcp://127.0.0.1:0 udp://127.0.0.1:0 unix:$tmp/$ex.sock"
    say "$ex: looking '$ex' up in the matchmaker (parley-info lookup)"
    "$bin/parley-info" lookup "$ex"
    say "$ex: ${ex}_client calling '$ex' by name"
    run_client "$ex" "$ex" 2
    say "$ex: ${ex}_client calling '$ex@$PARLEY_MATCHMAKER'"
    run_client "$ex" "$ex@$PARLEY_MATCHMAKER" 3
    say "$ex: pinging '$ex' (parley-info ping)"
    "$bin/parley-info" ping "$ex"
    say "$ex: stopping ${ex}_server (SIGTERM), which unregisters it"
    stop_server
    # a server that stops cleanly leaves nothing registered
    if "$bin/parley-info" lookup "$ex" >/dev/null 2>&1; then
        echo "examples: $ex still registered after its server stopped" >&2
        false
    fi
done
say "what the matchmaker holds now (parley-info list)"
"$bin/parley-info" list
say "stopping the matchmaker (SIGTERM)"
stop_server
step="done"
echo "examples: all passed"
