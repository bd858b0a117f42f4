#!/usr/bin/env bash
# Parley's one entry point on a fresh Debian 12 machine.
#
#   ./setup.sh         install what is missing, configure, build, run the examples
#   ./setup.sh test    the same set-up, then the whole test suite: the gcc build's
#                      tests, then a clang build under AddressSanitizer and
#                      UndefinedBehaviorSanitizer running them again, then a
#                      clang build under ThreadSanitizer running the tests of
#                      the concurrent parts (the ctest label tsan)
#   ./setup.sh build   set up and build only
#
# It installs Debian packages with apt-get when they are missing (as root, or
# through sudo), and builds into build/ (build-san/ and build-tsan/ for the
# sanitizers). Each step says what it does ("setup: ..."); a step that fails
# is named, with its exit status, below the lines that say why.
set -euo pipefail
set -o errtrace
cd "$(dirname "$0")"

step="starting"
trap 'rc=$?; echo "setup: FAILED at step: $step (exit status $rc; the lines above say why)" >&2; exit $rc' ERR

# say STEP: names the step that runs now, for the failure message too
say() {
    step=$1
    echo "setup: $step"
}

mode=${1:-run}
jobs=$(nproc 2>/dev/null || echo 2)

# Why each package: cmake and a C toolchain build everything; flex and bison
# build parleygen's front end; cmocka runs the unit tests; libtirpc and rpcgen
# (rpcsvc-proto) are the reference peer of the interoperability tests and the
# benchmarks; clang and its sanitizer runtime build the second, sanitized run;
# clang-format checks the code's layout; rpcbind brings rpcinfo and the real
# rpcbind, the reference tools of the matchmaker's compatibility tests and
# benchmark (installed without starting its service: see install_missing);
# liblmdb-dev and libsqlite3-dev are what bench_store measures the completion
# store's log against; file is what cpack's Debian generator tells binaries
# apart with, for dpkg-shlibdeps (the package and its test, tests/pkg);
# tzdata is the time zone database, whose zones ("Europe/Paris") the date
# example and its tests take by name (of priority required on Debian 12, so
# normally there; listed for a machine without it); iproute2's ip makes the
# other host (a network namespace and a veth pair) of the matchmaker's
# reflection test; etcd-server and etcd-client (etcdctl) are the consensus
# store the matchmakers of a cluster share their services through, and the
# tool its tests write to it with; libcurl4-openssl-dev and libjson-c-dev are
# what the matchmaker speaks etcd's JSON gateway with (HTTP and TLS, and
# JSON: README, "Dependencies"); openssl makes the certificates of the TLS test.
packages=(build-essential cmake pkg-config flex bison libcmocka-dev libtirpc-dev
          rpcsvc-proto clang libclang-rt-14-dev clang-format rpcbind liblmdb-dev libsqlite3-dev
          file tzdata iproute2 etcd-server etcd-client libcurl4-openssl-dev libjson-c-dev
          openssl)

# policy_rc_d is Debian's hook that lets maintainer scripts start services or
# not: while it exits 101, installing rpcbind does not start it. The tests run
# their own rpcbind-compatible daemon inside network namespaces and never
# need the host's port 111; an rpcbind that still got started is left alone.
policy_rc_d=/usr/sbin/policy-rc.d

install_missing() {
    say "checking the Debian packages it needs (${#packages[@]})"
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "setup: all installed"
        return 0
    fi
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    say "updating apt's package lists (apt-get update)"
    "${sudo[@]}" apt-get update -qq
    say "installing ${missing[*]} (apt-get install)"
    local made_policy=0
    if [ ! -e "$policy_rc_d" ]; then
        printf '#!/bin/sh\n# installed by setup.sh for one apt-get run: start no service\nexit 101\n' |
            "${sudo[@]}" tee "$policy_rc_d" >/dev/null
        "${sudo[@]}" chmod 755 "$policy_rc_d"
        made_policy=1
    fi
    local rc=0
    "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null || rc=$?
    [ "$made_policy" -eq 0 ] || "${sudo[@]}" rm -f "$policy_rc_d"
    return "$rc"
}

# build DIR [CMAKE ARGS...]: configure into DIR, then build it
build() {
    local dir=$1
    shift
    say "configuring $dir/ (cmake${CC:+, CC=$CC}${*:+ $*})"
    cmake -S . -B "$dir" "$@" >/dev/null
    say "building $dir/ ($jobs jobs)"
    cmake --build "$dir" -j "$jobs"
}

install_missing
case "$mode" in
run)
    build build
    say "running the examples (examples/run.sh): servers, clients, a matchmaker"
    examples/run.sh build
    ;;
build)
    build build
    ;;
test)
    build build
    say "checking the code's layout (clang-format)"
    cmake --build build --target format-check
    say "testing the gcc build (ctest in build/)"
    ctest --test-dir build --output-on-failure -j "$jobs" --timeout 300
    CC=clang build build-san -DPARLEY_SANITIZE=address,undefined -DPARLEY_BENCH=OFF
    say "testing under AddressSanitizer and UndefinedBehaviorSanitizer (ctest in build-san/)"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-san --output-on-failure -j "$jobs" --timeout 600
    CC=clang build build-tsan -DPARLEY_SANITIZE=thread -DPARLEY_BENCH=OFF -DPARLEY_EXAMPLES=OFF
    say "testing the concurrent parts under ThreadSanitizer (ctest -L tsan in build-tsan/)"
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        ctest --test-dir build-tsan --output-on-failure -j "$jobs" --timeout 600 -L tsan
    ;;
*)
    echo "usage: ./setup.sh [run|test|build]" >&2
    exit 2
    ;;
esac
step="done"
echo "setup: done ($mode)"
