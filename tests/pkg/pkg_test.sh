#!/usr/bin/env bash
# tests/pkg/pkg_test.sh: Parley as others use it, from outside the tree.
#
#   pkg_test.sh install    cmake --install the build into $PREFIX (the fixture
#                          the others need)
#   pkg_test.sh cmake      an out-of-tree project (echo/) with find_package(Parley)
#                          and parley_generate(): a server and two clients (the
#                          shared and the static library) calling it over
#                          loopback; then an included IDL file changed, and the
#                          rebuild regenerating the stubs (the depfile)
#   pkg_test.sh pkgconfig  the same sources built with cc, pkg-config and the
#                          installed parleygen only, shared and static
#   pkg_test.sh deb        the Debian package by cpack: its fields, its files, and
#                          its parleygen run from the extracted package
#   pkg_test.sh tutorial   docs/tutorial.md's files built against the install and
#                          run as it says: a matchmaker on a free loopback port,
#                          the server registering, the client calling by name;
#                          its output compared with the tutorial's
#
# The environment gives: PARLEY_BUILD (the build folder), PARLEY_SOURCE (the
# source tree), PREFIX (the install), WORK (this test's scratch folder), CC,
# CMAKE, CPACK. Every process started is stopped on the way out; every wait
# is bounded.
set -euo pipefail
mode=$1
: "${PARLEY_BUILD:?}" "${PARLEY_SOURCE:?}" "${PREFIX:?}" "${WORK:?}" "${CC:?}" "${CMAKE:?}"
here=$PARLEY_SOURCE/tests/pkg

pids=()
sock_dir=
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    [ -z "$sock_dir" ] || rm -rf "$sock_dir"
}
trap cleanup EXIT

fail() {
    echo "pkg_test $mode: $*" >&2
    exit 1
}

# start_server LOG PROGRAM ARGS...: starts it, output to LOG, and waits (at
# most 10 s) for its "listening on ADDRESS" line; sets $addr
start_server() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 200); do
        addr=$(sed -n 's/.*listening on \([^ ,]*\).*/\1/p' "$log")
        [ -n "$addr" ] && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || { cat "$log" >&2; fail "$1 exited"; }
        sleep 0.05
    done
    cat "$log" >&2
    fail "$1 did not start listening"
}

# stop_last: SIGTERM to the newest process started, and its exit status checked
stop_last() {
    local pid=${pids[-1]}
    unset 'pids[-1]'
    kill -TERM "$pid"
    wait "$pid" || fail "process $pid exited with status $? when stopped"
}

# start_matchmaker: the installed parley-matchmaker on a free unprivileged
# loopback port (tried from a pseudo-random one on), no state, its socket in
# a folder of its own under TMPDIR (a socket's path is short; the build
# folder's may not be); sets PARLEY_MATCHMAKER
start_matchmaker() {
    local log=$WORK/matchmaker.log base=$((20000 + ($$ * 7 + RANDOM) % 9000)) port
    sock_dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-pkg.XXXXXX")
    for port in $(seq "$base" $((base + 40))); do
        "$PREFIX/sbin/parley-matchmaker" --port "$port" --bind 127.0.0.1 \
            --socket "$sock_dir/mm.sock" --no-rpcbind-socket --no-state 2>"$log" &
        pids+=($!)
        for _ in $(seq 1 200); do
            if grep -q "serving on port" "$log"; then
                export PARLEY_MATCHMAKER=127.0.0.1:$port
                return 0
            fi
            kill -0 "${pids[-1]}" 2>/dev/null || break
            sleep 0.05
        done
        kill -TERM "${pids[-1]}" 2>/dev/null || true
        wait "${pids[-1]}" 2>/dev/null || true
        unset 'pids[-1]'
        grep -q "in use" "$log" || { cat "$log" >&2; fail "the matchmaker did not start"; }
    done
    fail "no free port for the matchmaker from $base"
}

# the echo service, with its client's expected output
check_echo() {
    local client=$1 out
    out=$("$client" "$addr" "hello, parley") || fail "$client failed: $out"
    [ "$out" = "echo: hello, parley (13 bytes)" ] || fail "$client printed '$out'"
}

configure() { # configure SRC BUILD: an out-of-tree project against $PREFIX
    "$CMAKE" -S "$1" -B "$2" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_C_COMPILER="$CC" \
        -DCMAKE_BUILD_TYPE=Debug >"$WORK/configure.log" 2>&1 ||
        { cat "$WORK/configure.log" >&2; fail "configuring $1 failed"; }
}

build() { # build BUILD
    "$CMAKE" --build "$1" -j 2 >"$WORK/build.log" 2>&1 ||
        { cat "$WORK/build.log" >&2; fail "building $1 failed"; }
}

rm -rf "$WORK"
mkdir -p "$WORK"
case "$mode" in
install)
    rm -rf "$PREFIX"
    "$CMAKE" --install "$PARLEY_BUILD" --prefix "$PREFIX" >"$WORK/install.log" ||
        { cat "$WORK/install.log" >&2; fail "cmake --install failed"; }
    for f in include/parley/client.h lib/libparley.a lib/libparley.so bin/parleygen \
        sbin/parley-matchmaker bin/parley-info lib/cmake/Parley/ParleyConfig.cmake \
        lib/cmake/Parley/ParleyConfigVersion.cmake lib/cmake/Parley/ParleyGenerate.cmake \
        lib/pkgconfig/parley.pc; do
        [ -e "$PREFIX/$f" ] || fail "not installed: $f"
    done
    grep -qx "prefix=$PREFIX" "$PREFIX/lib/pkgconfig/parley.pc" ||
        fail "parley.pc does not say prefix=$PREFIX"
    echo "installed into $PREFIX"
    ;;
cmake)
    cp -r "$here/echo" "$WORK/src"
    configure "$WORK/src" "$WORK/build"
    build "$WORK/build"
    start_server "$WORK/server.log" "$WORK/build/echo_server"
    check_echo "$WORK/build/echo_client"
    check_echo "$WORK/build/echo_client_static"
    stop_last
    # the static client has no libparley.so to load; the shared one has
    readelf -d "$WORK/build/echo_client_static" | grep -q 'NEEDED.*libparley' &&
        fail "echo_client_static needs libparley.so"
    readelf -d "$WORK/build/echo_client" | grep -q 'NEEDED.*libparley\.so' ||
        fail "echo_client does not use libparley.so"
    # a file the IDL includes changes: the next build runs parleygen again
    echo "const ECHO_ADDED_LATER = 7;" >>"$WORK/src/echo_types.x"
    build "$WORK/build"
    grep -q ECHO_ADDED_LATER "$WORK/build/gen/echo.h" ||
        fail "changing echo_types.x did not regenerate echo.h"
    echo "find_package(Parley) and parley_generate: built, ran, regenerated"
    ;;
pkgconfig)
    export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
    parleygen=$(pkg-config --variable=parleygen parley)
    [ -x "$parleygen" ] || fail "pkg-config's parleygen '$parleygen' is not a program"
    "$parleygen" -o "$WORK/gen" "$here/echo/echo.x" || fail "parleygen failed"
    read -r -a cflags <<<"$(pkg-config --cflags parley)"
    read -r -a libs <<<"$(pkg-config --libs parley)"
    read -r -a static_libs <<<"$(pkg-config --static --libs parley)"
    libdir=$(pkg-config --variable=libdir parley)
    gen=$WORK/gen
    "$CC" -o "$WORK/echo_server" -I"$gen" "${cflags[@]}" "$here/echo/server.c" "$gen/echo_xdr.c" \
        "$gen/echo_server.c" "${libs[@]}" -Wl,-rpath,"$libdir" || fail "cc server"
    "$CC" -o "$WORK/echo_client" -I"$gen" "${cflags[@]}" "$here/echo/client.c" "$gen/echo_xdr.c" \
        "$gen/echo_client.c" "${libs[@]}" -Wl,-rpath,"$libdir" || fail "cc client"
    "$CC" -o "$WORK/echo_client_static" -I"$gen" "${cflags[@]}" "$here/echo/client.c" \
        "$gen/echo_xdr.c" "$gen/echo_client.c" -Wl,-Bstatic "${static_libs[@]}" -Wl,-Bdynamic ||
        fail "cc client, static"
    start_server "$WORK/server.log" "$WORK/echo_server"
    check_echo "$WORK/echo_client"
    check_echo "$WORK/echo_client_static"
    stop_last
    echo "pkg-config: built shared and static, ran"
    ;;
deb)
    : "${CPACK:?}"
    (cd "$WORK" && "$CPACK" --config "$PARLEY_BUILD/CPackConfig.cmake" -B "$WORK/out" \
        >"$WORK/cpack.log" 2>&1) || { cat "$WORK/cpack.log" >&2; fail "cpack failed"; }
    debs=("$WORK"/out/parley_*.deb)
    [ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single parley_*.deb"
    deb=${debs[0]}
    info=$(dpkg-deb --info "$deb")
    for field in "Package: parley" "Version: [0-9]" "Maintainer: .*<.*@.*>" "Depends: .*libc6" \
        "Architecture: " "Description: .*RPC"; do
        grep -q "^ $field" <<<"$info" || { echo "$info" >&2; fail "no '$field' in the control file"; }
    done
    contents=$(dpkg-deb --contents "$deb" | awk '{print $6}')
    for f in ./usr/lib/libparley.so ./usr/lib/libparley.a ./usr/include/parley/client.h \
        ./usr/include/parley/server.h ./usr/bin/parleygen ./usr/bin/parley-info \
        ./usr/sbin/parley-matchmaker ./usr/lib/cmake/Parley/ParleyConfig.cmake \
        ./usr/lib/cmake/Parley/ParleyConfigVersion.cmake ./usr/lib/pkgconfig/parley.pc; do
        grep -qx -- "$f" <<<"$contents" || fail "the package lacks $f"
    done
    grep -q '^\./usr/lib/libparley\.so\.[0-9.]*$' <<<"$contents" || fail "no versioned libparley.so"
    for f in ./usr/share/man/man1/parleygen.1 ./usr/share/man/man8/parley-matchmaker.8 \
        ./usr/lib/sysusers.d/parley-matchmaker.conf; do
        grep -qx -- "$f" <<<"$contents" || fail "the package lacks $f"
    done
    grep -q '/systemd/system/parley-matchmaker\.service$' <<<"$contents" ||
        fail "the package lacks the matchmaker's systemd unit"
    # the maintainer scripts: the system user made, systemd reloaded
    mkdir -p "$WORK/control"
    dpkg-deb -e "$deb" "$WORK/control"
    for f in postinst postrm; do
        [ -x "$WORK/control/$f" ] || fail "the package has no executable $f"
        sh -n "$WORK/control/$f" || fail "the package's $f is not valid sh"
    done
    grep -q 'systemd-sysusers parley-matchmaker.conf' "$WORK/control/postinst" ||
        fail "the package's postinst does not make the matchmaker's user"
    dpkg-deb -x "$deb" "$WORK/root"
    grep -qx "prefix=/usr" "$WORK/root/usr/lib/pkgconfig/parley.pc" ||
        fail "the package's parley.pc does not say prefix=/usr"
    version=$("$WORK/root/usr/bin/parleygen" --version) || fail "the package's parleygen --version"
    [[ $version == "parleygen "[0-9]* ]] || fail "parleygen --version printed '$version'"
    "$WORK/root/usr/bin/parleygen" -o "$WORK/gen" "$here/echo/echo.x" ||
        fail "the package's parleygen on echo.x"
    [ -s "$WORK/gen/echo.h" ] || fail "the package's parleygen wrote no echo.h"
    echo "$(basename "$deb"): $version"
    ;;
tutorial)
    doc=$PARLEY_SOURCE/docs/tutorial.md
    mkdir -p "$WORK/kv"
    # each "<!-- file: NAME -->" line, then a fenced block: NAME's text;
    # "<!-- output: NAME -->" likewise gives what NAME prints
    awk -v dir="$WORK/kv" '
        /^<!-- (file|output): [^ ]+ -->$/ { kind = $2; name = $3; want = 1; next }
        want && /^```/ { want = 0; out = dir "/" (kind == "output:" ? name ".expected" : name);
                         printf "" > out; inblock = 1; next }
        inblock && /^```$/ { inblock = 0; close(out); next }
        inblock { print >> out }
        END { if (inblock) exit 1 }' "$doc" ||
        fail "docs/tutorial.md: a fenced block is not closed"
    for f in kv.x CMakeLists.txt server.c client.c kv_client.expected; do
        [ -s "$WORK/kv/$f" ] || fail "docs/tutorial.md has no block for $f"
    done
    configure "$WORK/kv" "$WORK/kv/build"
    build "$WORK/kv/build"
    export PATH=$PREFIX/bin:$PREFIX/sbin:$PATH
    start_matchmaker
    start_server "$WORK/server.log" "$WORK/kv/build/kv_server"
    grep -q 'registered as "kv"' "$WORK/server.log" || fail "the server did not register"
    parley-info lookup kv >"$WORK/lookup.log" 2>&1 ||
        { cat "$WORK/lookup.log" >&2; fail "parley-info lookup kv"; }
    (cd "$WORK/kv" && build/kv_client >"$WORK/client.out" 2>&1) ||
        { cat "$WORK/client.out" >&2; fail "kv_client failed"; }
    diff -u "$WORK/kv/kv_client.expected" "$WORK/client.out" ||
        fail "kv_client's output differs from the tutorial's"
    stop_last # the server, which unregisters
    if parley-info lookup kv >/dev/null 2>&1; then
        fail "kv still registered after its server stopped"
    fi
    stop_last # the matchmaker
    echo "docs/tutorial.md: built, registered, called by name, output as shown"
    ;;
*)
    fail "unknown mode"
    ;;
esac
