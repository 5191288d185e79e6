#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Not a test: TCP throughput (iperf3) through two TUN devices joined by
# tundevwire, with TR_TUNDEV_F_OFFLOAD and without, io_uring and plain,
# alternated ROUNDS times (the machine is shared: compare within a run).
# Prints Gbit/s, CPU seconds (user + system, of the wire with its engine
# threads and both iperf3 ends: the kernel's TCP work runs mostly in their
# contexts) per GB moved, and the sending device's packets per syscall.
#
# Usage (root): tests/netns/tundevwire-bench.sh build/tests/netns/tundevwire [SECONDS] [ROUNDS]
source "$(dirname "$0")/lib.sh"
WIRE=${1:?usage: tundevwire-bench.sh PATH/TO/tundevwire [SECONDS] [ROUNDS]}
SECS=${2:-5}
ROUNDS=${3:-3}

require_root
require_tun
command -v iperf3 >/dev/null || skip "iperf3 not found"
trap cleanup EXIT
ns_add 1
ns_add 2
TMP=$(mktemp -d)
on_exit rm -rf "$TMP"

command -v /usr/bin/time >/dev/null || skip "/usr/bin/time not found (apt-get install time)"
cpu() { awk '{ s += $1 + $2 } END { print s }' "$@"; }
field() { awk -v d="$2" -v k="$3" '$1 == d { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$1"; }

# The wire runs under time(1): signal the wire (time's only child), not time.
pkill_wire() {
	kill -TERM $(cat "/proc/$1/task/$1/children") 2>/dev/null
	wait "$1" || true
}

one() { # LABEL [wire options]
	local label=$1; shift
	rm -f "$TMP"/t.*
	bg 1 /usr/bin/time -f "%U %S" -o "$TMP/t.wire" "$WIRE" "$@" "/run/netns/$(ns_name 2)" \
		>"$TMP/w" 2>/dev/null
	local wpid=${TR_PIDS[-1]}
	wait_for 10 grep -q '^ready' "$TMP/w" || die "wire did not come up"
	bg 2 /usr/bin/time -f "%U %S" -o "$TMP/t.srv" iperf3 -s -1 -B 198.18.0.2 >/dev/null 2>&1
	local spid=${TR_PIDS[-1]}
	sleep 0.3
	ip netns exec "$(ns_name 1)" /usr/bin/time -f "%U %S" -o "$TMP/t.cli" \
		iperf3 -c 198.18.0.2 -t "$SECS" -J >"$TMP/j" 2>/dev/null || die "iperf3 failed"
	wait "$spid" 2>/dev/null || true
	pkill_wire "$wpid"
	python3 - "$TMP/j" "$label" "$(cpu "$TMP"/t.*)" "$(field "$TMP/w" trwa egress_packets)" \
		"$(field "$TMP/w" trwa syscalls)" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["end"]["sum_received"]
gb = j["bytes"] / 1e9
print("%-18s %6.2f Gbit/s  %5.2f CPU-s/GB  %5.1f pkts/syscall (sender's device)" %
      (sys.argv[2], j["bits_per_second"] / 1e9, float(sys.argv[3]) / gb,
       int(sys.argv[4]) / max(1, int(sys.argv[5]))))
PY
}

for r in $(seq "$ROUNDS"); do
	one "offload io_uring"
	one "off     io_uring" -n
	one "offload plain" -p
	one "off     plain" -p -n
done
