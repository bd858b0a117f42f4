#!/usr/bin/env bash
# Runs the examples end to end from a build folder (default: build).
set -euo pipefail
bin=${1:-build}/bin
for ex in users date; do
    echo "== $ex"
    "$bin/${ex}_codec"
done
echo "examples: all passed"
