#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: every benchmark, one after the other, figures side by side.
# usage: bench.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
mkdir -p bench/results
args=()
[ "${1:-}" = "--quick" ] && args+=(--quick)

echo "== ring (bench/bench_ring.c)"
"$BUILD/bench/bench_ring" "${args[@]}" --json bench/results/ring.json

echo "== tun (bench/bench_tun.c)"
"$BUILD/bench/bench_tun" "${args[@]}" --json bench/results/tun.json
