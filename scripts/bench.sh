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

echo "== framing (bench/bench_framing.c)"
"$BUILD/bench/bench_framing" "${args[@]}" --json bench/results/framing.json

echo "== tun (bench/bench_tun.c)"
"$BUILD/bench/bench_tun" "${args[@]}" --json bench/results/tun.json

echo "== codec (bench/bench_codec.c)"
"$BUILD/bench/bench_codec" "${args[@]}"

echo "== tunnels side by side (scripts/bench-tunnels.sh)"
scripts/bench-tunnels.sh "${args[@]}"
