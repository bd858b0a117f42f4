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
# sanitizers).
set -euo pipefail
cd "$(dirname "$0")"

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
# apart with, for dpkg-shlibdeps (the package and its test, tests/pkg).
packages=(build-essential cmake pkg-config flex bison libcmocka-dev libtirpc-dev
          rpcsvc-proto clang libclang-rt-14-dev clang-format rpcbind liblmdb-dev libsqlite3-dev
          file)

# policy_rc_d is Debian's hook that lets maintainer scripts start services or
# not: while it exits 101, installing rpcbind does not start it. The tests run
# their own rpcbind-compatible daemon inside network namespaces and never
# need the host's port 111; an rpcbind that still got started is left alone.
policy_rc_d=/usr/sbin/policy-rc.d

install_missing() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "setup: installing ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
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

build() {
    local dir=$1
    shift
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
}

install_missing
case "$mode" in
run)
    build build
    examples/run.sh build
    ;;
build)
    build build
    ;;
test)
    build build
    cmake --build build --target format-check
    ctest --test-dir build --output-on-failure -j "$jobs" --timeout 300
    CC=clang build build-san -DPARLEY_SANITIZE=address,undefined -DPARLEY_BENCH=OFF
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-san --output-on-failure -j "$jobs" --timeout 600
    CC=clang build build-tsan -DPARLEY_SANITIZE=thread -DPARLEY_BENCH=OFF -DPARLEY_EXAMPLES=OFF
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        ctest --test-dir build-tsan --output-on-failure -j "$jobs" --timeout 600 -L tsan
    ;;
*)
    echo "usage: ./setup.sh [run|test|build]" >&2
    exit 2
    ;;
esac
