#!/bin/sh
# docs/gen_api.sh [ROOT]: writes docs/api.md's text to standard output from
# the public headers, ROOT/runtime/include/parley/*.h (ROOT: the folder
# above this script's). For each header: its opening comment, then each
# public function (its name starts with parley_ or netobj_; typedefs of
# function types are left out) with its signature and the comment above it,
# which states what it does, who owns what, its errors and its locking.
# Functions declared one after another under one comment are one entry.
# An inline function (static inline) is shown by its signature alone.
#
#   sh docs/gen_api.sh > docs/api.md
#
# tests/migrate/check_api.cmake runs it and fails when docs/api.md differs,
# and checks that every public function declared appears in it.
set -eu
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cat <<'HEAD'
# The Parley runtime API

Every public function of `runtime/include/parley/*.h`, header by header,
with its signature and the header's own comment: what it does, who owns
what afterwards, its errors, and what may run at once. This file is
generated from the headers by `docs/gen_api.sh` (do not edit it by hand:
change the header's comment and run `sh docs/gen_api.sh > docs/api.md`); a
test fails when the two differ. The types and constants are in the headers
themselves; docs/runtime.md explains how the parts fit together.
HEAD
for h in "$root"/runtime/include/parley/*.h; do
    awk -v name="parley/$(basename "$h")" '
    # strip turns a comment line into text: no /*, */ or leading " * "
    function strip(s) {
        sub(/^[ \t]*\/\*+ ?/, "", s); sub(/[ \t]*\*+\/[ \t]*$/, "", s)
        sub(/^[ \t]*\* ?/, "", s); sub(/^[ \t]*\*$/, "", s)
        return s
    }
    function flush_entry() {
        if (nsig == 0) return
        printf "\n### %s\n\n```c\n", names
        for (i = 1; i <= nsig; i++) print sig[i]
        print "```"
        if (doc != "") printf "\n%s", doc
        nsig = 0; names = ""
    }
    BEGIN { state = "intro"; incomment = 0; doc = ""; nsig = 0; cur = "" }
    # the opening comment: the header intro
    state == "intro" {
        if (NR == 1) { printf "\n## %s\n\n", name; next }
        if ($0 ~ /\*\//) {
            state = "body"; print ""; next
        }
        t = strip($0)
        print t
        next
    }
    # a declaration being collected (several lines)
    cur != "" {
        cur = cur " " $0
        gsub(/[ \t]+/, " ", cur)
        if (cur ~ /;[ \t]*$/ || cur ~ /\)[ \t]*\{?[ \t]*$/) finish()
        next
    }
    function finish() {
        s = cur; cur = ""
        sub(/[ \t]*\{?[ \t]*$/, "", s)
        if (s !~ /;$/) s = s ";"
        n = s; sub(/\(.*/, "", n); sub(/.*[ *]/, "", n)
        nsig++; sig[nsig] = s
        names = names (names == "" ? "" : ", ") n
    }
    incomment {
        if ($0 ~ /\*\//) { incomment = 0; t = strip($0); if (t != "") doc = doc t "\n"; next }
        doc = doc strip($0) "\n"; next
    }
    /^[ \t]*\/\*/ {
        flush_entry()
        doc = ""
        if ($0 ~ /\*\//) {
            t = strip($0); doc = t "\n"
            if (doc ~ /^-+ /) doc = ""
            next
        }
        incomment = 1; doc = strip($0); doc = (doc == "" ? "" : doc "\n"); next
    }
    /^(static inline )?[a-z_][a-z_0-9 ]*[ *](parley|netobj)_[a-z0-9_]+\(/ {
        if ($0 ~ /^typedef/) next
        cur = $0
        if (cur ~ /;[ \t]*$/ || cur ~ /\)[ \t]*\{?[ \t]*$/) finish()
        next
    }
    /^[ \t]*$/ { flush_entry(); doc = ""; next }
    /^[a-z#}]/ && !/^(static inline )?[a-z_].*\(/ { flush_entry(); doc = ""; next }
    END { flush_entry() }
    ' "$h"
done
