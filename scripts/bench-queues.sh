#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Queues = 1 against Queues = 2 (issue 15 item 6), side by side: the same
# tunnel (aes128-gcm, defaults) between two namespaces, iperf3 TCP with 1
# and with 4 streams, and the tunnel processes' CPU seconds per GB (both
# ends, all threads). Rounds alternate the two settings. The table goes to
# stdout and bench/results/queues.txt. A single flow stays on one queue (the
# kernel steers by flow hash), so the 4-stream column is where a second
# queue can help, when there is a core for it.
# usage: bench-queues.sh [--quick]     (root; make bench runs it)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
TUNROOM=${TUNROOM:-$ROOT/$BUILD/src/cli/tunroom}
SECS=5 ROUNDS=3
[ "${1:-}" = "--quick" ] && SECS=2 ROUNDS=1
source "$ROOT/tests/netns/lib.sh"
require_root
require_tun
command -v iperf3 >/dev/null || skip "iperf3 not found (scripts/deps.sh bench)"
source "$ROOT/tests/netns/tunnel-lib.sh"

topology
keys aes128-gcm
ticks() { # PID...: utime + stime of every thread
	local t=0 p
	for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
	echo "$t"
}
hz=$(getconf CLK_TCK)
declare -A sum
run_one() { # QUEUES STREAMS -> "Mbit/s cpu_s_per_gb"
	local t0 t1 out
	t0=$(ticks "$UP_PID_a" "$UP_PID_b")
	out=$(ip netns exec "$(ns_name 1)" iperf3 -c 198.18.0.2 -t "$SECS" -P "$2" -J)
	t1=$(ticks "$UP_PID_a" "$UP_PID_b")
	python3 -c '
import json, sys
e = json.loads(sys.argv[1])["end"]["sum_received"]
bps, b = e["bits_per_second"], e["bytes"]
print("%.0f %.2f" % (bps / 1e6, (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]) / (b / 1e9)))' \
		"$out" "$t0" "$t1" "$hz"
}
for r in $(seq "$ROUNDS"); do
	for q in 1 2; do
		TR_IFACE_EXTRA="Queues = $q" conf a
		TR_IFACE_EXTRA="Queues = $q" conf b
		up a
		up b
		n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "Queues = $q: tunnel does not work"
		bg 2 iperf3 -s -B 198.18.0.2 >/dev/null 2>&1
		srv=${TR_PIDS[-1]}
		wait_for 5 port_open 2 t 5201 || die "iperf3 server did not start"
		for p in 1 4; do
			read -r mbps cpu < <(run_one "$q" "$p")
			sum[$q.$p.mbps]="${sum[$q.$p.mbps]:-} $mbps"
			sum[$q.$p.cpu]="${sum[$q.$p.cpu]:-} $cpu"
		done
		kill "$srv" 2>/dev/null || true
		wait "$srv" 2>/dev/null || true
		down a
		down b
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mkdir -p "$ROOT/bench/results"
{
	echo "Queues = 1 vs 2, aes128-gcm, ${SECS}s per run, median of $ROUNDS round(s), $(nproc) CPUs"
	printf '%-10s %14s %14s %16s %16s\n' "" "TCP 1 Mbit/s" "TCP 4 Mbit/s" "CPU s/GB (1)" "CPU s/GB (4)"
	for q in 1 2; do
		printf '%-10s %14s %14s %16s %16s\n' "Queues=$q" \
			"$(median <<<"${sum[$q.1.mbps]}")" "$(median <<<"${sum[$q.4.mbps]}")" \
			"$(median <<<"${sum[$q.1.cpu]}")" "$(median <<<"${sum[$q.4.cpu]}")"
	done
} | tee "$ROOT/bench/results/queues.txt"
