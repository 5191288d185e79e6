#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: every benchmark, one after the other, figures side by side,
# then bench/results/latest.json into README.md and docs/benchmarks.md.
# usage: bench.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
mkdir -p bench/results
args=()
[ "${1:-}" = "--quick" ] && args+=(--quick)
START=$SECONDS

echo "== ring (bench/bench_ring.c)"
# Producer and consumer on two CPUs when there are two: unpinned, the
# scheduler decides run by run whether they share one (docs/benchmarks.md, "Ring").
ring=()
[ "$(nproc)" -ge 2 ] && ring=(--cpus 0,1)
"$BUILD/bench/bench_ring" "${args[@]}" "${ring[@]}" --json bench/results/ring.json

echo "== framing (bench/bench_framing.c)"
"$BUILD/bench/bench_framing" "${args[@]}" --json bench/results/framing.json

echo "== tun (bench/bench_tun.c)"
"$BUILD/bench/bench_tun" "${args[@]}" --json bench/results/tun.json

echo "== tunio (bench/bench_tunio.c)"
# What one TUN read or write costs by syscall and through io_uring
# (docs/benchmarks.md, "Issue 14").
"$BUILD/bench/bench_tunio" "${args[@]}"

echo "== wake-ups (bench/bench_wake.c)"
# One CPU against two: what each of a ping's wake-ups through a tunnel costs
# on this machine (docs/benchmarks.md, "Ping latency: what bounds it").
"$BUILD/bench/bench_wake" "${args[@]}" | tee bench/results/wake.txt

echo "== codec (bench/bench_codec.c)"
"$BUILD/bench/bench_codec" "${args[@]}"

echo "== tunnels side by side (scripts/bench-tunnels.py)"
# The tables also go to bench/results/tunnels.txt; a skip (77: not root, no
# namespaces) leaves the previous results in place.
rc=0
# The full run also profiles tunroom (perf) into bench/results/profile-*.txt.
prof=()
[ ${#args[@]} -eq 0 ] && prof=(--profile)
scripts/bench-tunnels.py "${args[@]}" "${prof[@]}" >bench/results/tunnels.txt.new || rc=$?
cat bench/results/tunnels.txt.new
if [ "$rc" -eq 0 ]; then
	mv bench/results/tunnels.txt.new bench/results/tunnels.txt
	echo "== README.md and docs/benchmarks.md from bench/results/latest.json"
	scripts/bench-readme.py
else
	rm -f bench/results/tunnels.txt.new
	[ "$rc" -eq 77 ] || exit "$rc"
fi
echo "== tunroom Queues = 1 vs 2 (scripts/bench-queues.sh)"
rc=0
BUILD=$BUILD scripts/bench-queues.sh "${args[@]}" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || exit "$rc"
echo "== AnyConnect: tunroom connect vs openconnect, one ocserv (scripts/bench-anyconnect.py)"
# Table on stdout and in bench/results/anyconnect.txt, figures in
# bench/results/anyconnect.json; a skip (77) keeps the previous ones.
rc=0
scripts/bench-anyconnect.py "${args[@]}" >bench/results/anyconnect.txt.new || rc=$?
cat bench/results/anyconnect.txt.new
if [ "$rc" -eq 0 ]; then
	mv bench/results/anyconnect.txt.new bench/results/anyconnect.txt
else
	rm -f bench/results/anyconnect.txt.new
	[ "$rc" -eq 77 ] || exit "$rc"
fi
echo "== make bench took $((SECONDS - START)) s"
