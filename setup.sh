#!/usr/bin/env bash
# Parley's one entry point on a fresh Debian 12 machine.
#
#   ./setup.sh         install what is missing, configure, build, run the examples
#   ./setup.sh test    the same set-up, then the whole test suite: the gcc build's
#                      tests, then a clang build under AddressSanitizer and
#                      UndefinedBehaviorSanitizer running them again
#   ./setup.sh build   set up and build only
#
# It installs Debian packages with apt-get when they are missing (as root, or
# through sudo), and builds into build/ (and build-san/ for the sanitizers).
set -euo pipefail
cd "$(dirname "$0")"

mode=${1:-run}
jobs=$(nproc 2>/dev/null || echo 2)

# Why each package: cmake and a C toolchain build everything; flex and bison
# build parleygen's front end; cmocka runs the unit tests; libtirpc and rpcgen
# (rpcsvc-proto) are the reference peer of the interoperability tests and the
# benchmarks; clang and its sanitizer runtime build the second, sanitized run;
# clang-format checks the code's layout.
packages=(build-essential cmake pkg-config flex bison libcmocka-dev libtirpc-dev
          rpcsvc-proto clang libclang-rt-14-dev clang-format)

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
    "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
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
    ;;
*)
    echo "usage: ./setup.sh [run|test|build]" >&2
    exit 2
    ;;
esac
