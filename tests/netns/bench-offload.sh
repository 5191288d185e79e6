#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Offload on vs off, measured in one run: an iperf3 TCP single stream
# 198.18.0.1 -> 198.18.0.2 through the tunnel (topology of tunnel-lib.sh),
# alternating the modes so that the machine's load hits both alike. Per run:
# throughput, UDP send+receive calls per MB (tx_syscalls + rx_syscalls of
# both ends), TUN calls per MB, CPU time of both tunroom processes per MB,
# and GRO slow-path batches. Not a test (not in meson): a measurement.
# usage: bench-offload.sh TUNROOM [SECONDS [ROUNDS [MODES]]]
#   MODES: words A-B (side a's Offload, side b's), default "on-on off-off"
TUNROOM=$1
T=${2:-8}
ROUNDS=${3:-3}
MODES=${4:-on-on off-off}
source "$(dirname "$0")/tunnel-lib.sh"
command -v iperf3 >/dev/null || skip "iperf3 not installed (scripts/deps.sh bench)"

both() { echo $(($(counter a "$1") + $(counter b "$1"))); }
ticks() { awk '{ s += $14 + $15 } END { print s }' "/proc/$UP_PID_a/stat" "/proc/$UP_PID_b/stat"; }

topology
keys aes128-gcm
printf '%-8s %8s %10s %14s %14s %10s %8s\n' mode Gbit/s MB udp_calls/MB tun_calls/MB cpu_ms/MB gro_slow
for _ in $(seq "$ROUNDS"); do
	for mode in $MODES; do
		TR_IFACE_EXTRA="Offload = ${mode%%-*}" conf a
		TR_IFACE_EXTRA="Offload = ${mode##*-}" conf b
		up a 2>/dev/null
		up b 2>/dev/null
		n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"
		bg 2 iperf3 -s -1 -B 198.18.0.2 >/dev/null
		wait_for 5 bash -c "ip netns exec $(ns_name 2) ss -Hltn 'sport = :5201' | grep -q LISTEN" ||
			die "iperf3 server did not start"
		c0=$(ticks)
		n1 iperf3 -c 198.18.0.2 -t "$T" -J >"$WORK/iperf.json" || die "iperf3 failed"
		python3 - "$WORK/iperf.json" "$mode" "$(ticks)" "$c0" "$(both tx_syscalls)" \
			"$(both rx_syscalls)" "$(both tun_syscalls)" "$(both rx_gro_slow)" \
			"$(getconf CLK_TCK)" <<'PY'
import json, sys
mode, t1, t0, txs, rxs, tun, slow, hz = sys.argv[2], *map(int, sys.argv[3:])
r = json.load(open(sys.argv[1]))["end"]["sum_received"]
mb = r["bytes"] / 1e6
print(f"{mode:8s} {r['bits_per_second'] / 1e9:8.2f} {mb:10.0f} {(txs + rxs) / mb:14.1f} "
      f"{tun / mb:14.1f} {(t1 - t0) * 1000 / hz / mb:10.2f} {slow:8d}")
PY
		down a 2>/dev/null
		down b 2>/dev/null
	done
done
