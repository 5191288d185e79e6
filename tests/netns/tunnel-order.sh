#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Datagram order through the UDP GRO receive (Offload = on). Both tunnel ends
# are stopped (SIGSTOP) while numbered UDP datagrams queue in a's TUN device:
# groups of lone datagrams of rising sizes, each group followed by a run of
# equal ones. Then a resumes and sends them (lone ones as plain datagrams, the
# runs as UDP_SEGMENT batches) into b's stopped socket; then b resumes and
# takes the whole queue in as few receives as it can. The lone streaks turn b's
# receive to one slot per message, so each batch misses its slot and takes the
# slow path in the middle of a receive, with lone datagrams behind it in the
# same call. A last group ends in a long run: its batches, taken in one such
# receive, hold more datagrams than a round has slots (they once were dropped
# as rx_drop_gro). Every datagram must arrive once and in order (a slow batch's
# datagrams once went into slots after its followers'), and b must have taken
# the slow path (rx_gro_slow > 0) and moved messages behind a batch that
# outgrew its slot (rx_gro_moved > 0), or this test did not test it.
# usage: tunnel-order.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"


topology
keys aes128-gcm
pair

# Scripts go to files: a background command's stdin is /dev/null.
cat >"$WORK/recv.py" <<'PY'
import socket, struct, sys
want = int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("198.18.0.2", 9002))
# Nothing comes while the ends are stopped (up to 20 s for a to drain on a
# loaded machine); then a gap of 5 s means the rest is not coming.
s.settimeout(40)
seen = []
try:
    while len(seen) < want:
        seen.append(struct.unpack("!I", s.recv(2048)[:4])[0])
        s.settimeout(5)
except socket.timeout:
    pass
open(sys.argv[1], "w").write(" ".join(map(str, seen)))
PY
# 6 groups: 24 lone datagrams of rising sizes (a sends each as its own
# message: a run ends at a longer one), then 4 of 1000 bytes (one batch); a
# 7th with 250 of 1000 bytes (batches with more datagrams than 128 slots).
cat >"$WORK/send.py" <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
i = 0
for group in range(7):
    for size in [100 + 16 * k for k in range(24)] + [1000] * (250 if group == 6 else 4):
        s.sendto(struct.pack("!I", i) + bytes(size - 4), ("198.18.0.2", 9002))
        i += 1
print(i)
PY
total=$((6 * 28 + 24 + 250)) # well below tr0's txqueuelen of 500
tun_dropped() { ip -n "$(ns_name 1)" -s -j link show tr0 | python3 -c '
import json, sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])'; }

bg 2 python3 "$WORK/recv.py" "$WORK/seen" "$total"
recv_pid=${TR_PIDS[-1]}
wait_for 5 port_open 2 u 9002 || die "UDP receiver did not start"
slow_before=$(counter b rx_gro_slow)
drop_before=$(tun_dropped)

pretty "both ends stopped; $total numbered datagrams queue in a's tr0"
tx_before=$(counter a tx_packets)
kill -STOP "$UP_PID_a" "$UP_PID_b"
# (On failure the cleanup continues them after its SIGTERM.)
sent=$(n1 python3 "$WORK/send.py") || die "UDP sender failed"
[ "$sent" -eq "$total" ] || die "sender sent $sent, want $total"
kill -CONT "$UP_PID_a"
# a drains tr0 into b's socket, which b does not read yet. By a's count, not
# a fixed sleep (a loaded machine is slow); what tr0 dropped never comes.
drained() { [ $(($(counter a tx_packets) - tx_before + $(tun_dropped) - drop_before)) -ge "$total" ]; }
wait_for 20 drained || pretty "a sent $(($(counter a tx_packets) - tx_before)) of $total in 20 s; going on"
kill -CONT "$UP_PID_b"
wait "$recv_pid" || die "UDP receiver failed"

dropped=$(( $(tun_dropped) - drop_before ))
if ! python3 - "$WORK/seen" "$total" "$dropped" <<'PY'
import sys
seen = list(map(int, open(sys.argv[1]).read().split()))
total, dropped = int(sys.argv[2]), int(sys.argv[3])
assert len(seen) == len(set(seen)), "duplicates delivered"
out = [(k, a, b) for k, (a, b) in enumerate(zip(seen, seen[1:])) if b < a]
assert not out, f"datagrams reordered: {len(out)} times, first at position {out[0][0]}: {seen[max(0, out[0][0] - 3):out[0][0] + 6]}"
missing = sorted(set(range(total)) - set(seen))
assert len(missing) == dropped, f"{len(seen)} received + {dropped} counted drops != {total}, missing {missing[:10]}"
print(f"{len(seen)} of {total} datagrams in order ({dropped} dropped at tr0's queue, counted)")
PY
then
	diag
	die "numbered datagrams reordered, missing or duplicated"
fi
slow=$(( $(counter b rx_gro_slow) - slow_before ))
[ "$slow" -gt 0 ] || { diag; die "b took no GRO slow path: the case this test is for did not happen"; }
moved=$(counter b rx_gro_moved)
[ "$moved" -gt 0 ] || { diag; die "b moved no message behind a batch that outgrew its slot: the case this test is for did not happen"; }
[ "$(counter a tx_gso_sends)" -gt 0 ] || { diag; die "a sent no UDP_SEGMENT batch"; }
[ "$(counter b rx_drop_gro)" -eq 0 ] || { diag; die "b dropped datagrams of a batch"; }
echo "PASS: $total datagrams in order through $slow GRO slow-path misses ($moved messages moved behind them)"
