#!/usr/bin/env bash
# tests/migrate/run_cli.sh PARLEYGEN VERSION IDL: parleygen's command line.
# --help prints the whole usage to standard output and exits 0; --version
# prints "parleygen VERSION" (the project's); a usage error is one line and
# a hint to --help on standard error, exit status 2; --sample refuses to
# write over a sample that exists, and leaves it as it was.
set -euo pipefail
gen=$1 version=$2 idl=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$gen" --help >"$tmp/out" 2>"$tmp/err" || fail "--help exited with $?"
grep -q "^usage: parleygen" "$tmp/out" || fail "--help: $(cat "$tmp/out")"
grep -q -- "--sample" "$tmp/out" || fail "--help does not name --sample"
[ ! -s "$tmp/err" ] || fail "--help wrote to stderr"

[ "$("$gen" --version)" = "parleygen $version" ] || fail "--version: $("$gen" --version)"

for args in "--frobnicate x.x" "" "a.x b.x" "--max-errors 0 x.x"; do
    rc=0
    # shellcheck disable=SC2086 # the words are the arguments
    "$gen" $args >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "'$args' exited with $rc"
    [ "$(wc -l <"$tmp/err")" -eq 2 ] || fail "'$args': $(cat "$tmp/err")"
    [ "$(tail -n 1 "$tmp/err")" = "try 'parleygen --help'" ] || fail "'$args': $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "'$args' wrote to stdout"
done

base=$(basename "$idl"); base=${base%.*}
"$gen" --sample -o "$tmp/s" "$idl" || fail "--sample"
echo "/* edited */" >>"$tmp/s/${base}_sample_server.c"
cp "$tmp/s/${base}_sample_server.c" "$tmp/kept"
rc=0
"$gen" --sample -o "$tmp/s" "$idl" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "--sample over a sample exited with $rc"
grep -q "exists: --sample writes only new files" "$tmp/err" || fail "$(cat "$tmp/err")"
cmp -s "$tmp/kept" "$tmp/s/${base}_sample_server.c" || fail "the edited sample was changed"
echo "ok"
