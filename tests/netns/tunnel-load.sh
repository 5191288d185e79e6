#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tunnel under load: a bounded ping flood and a stream of numbered UDP
# datagrams cross with every packet accounted for and no drop counter moving,
# then `tunroom down` on one side and SIGTERM on the other while a flood still
# runs: both exit 0 and leave no device and no control socket behind.
# usage: tunnel-load.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

# On failure, what each side counted and what the TUN devices dropped.
diag() {
	for side in a b; do
		show "$side" -s >&2 || true
	done
	n1 ip -s link show tr0 >&2 || true
	n2 ip -s link show tr0 >&2 || true
}

drops() { # SIDE: sum of every rx/tx err and drop counter
	show "$1" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats"]
print(sum(v for k, v in s.items() if k.startswith(("rx_", "tx_")) and ("_err_" in k or "_drop_" in k)))'
}

topology
keys aes128-gcm
pair
drops_a=$(drops a) drops_b=$(drops b)
rx_b=$(counter b rx_packets)

pretty "ping flood: 5000 echo requests, each answered (icmp_seq accounts for every one)"
out=$(n1 ping -f -c 5000 -w 30 198.18.0.2) || die "flood: $(tail -2 <<<"$out")"
grep -q ' 5000 received, 0% packet loss' <<<"$out" || { diag; die "flood lost packets: $(tail -2 <<<"$out")"; }

pretty "3000 numbered UDP datagrams 198.18.0.1 -> 198.18.0.2:9000: each arrives once, in order, or is counted dropped"
# Scripts go to files: a background command's stdin is /dev/null.
cat >"$WORK/recv.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("198.18.0.2", 9000))
s.settimeout(5)
seen = []
try:
    while len(seen) < 3000:
        seen.append(struct.unpack("!I", s.recv(2048)[:4])[0])
except socket.timeout:
    pass
open(sys.argv[1], "w").write(" ".join(map(str, seen)))
PY
cat >"$WORK/send.py" <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3000):
    # 4 bytes to a full MTU's worth; a pause every 100 keeps the receiver's
    # socket buffer, not the tunnel, out of the question.
    s.sendto(struct.pack("!I", i) + bytes(i % 1369), ("198.18.0.2", 9000))
    if i % 100 == 99:
        time.sleep(0.005)
PY
# Packets the engine did not read in time are dropped, and counted, by the
# kernel at tr0's queue (tx_dropped): on a loaded machine that can happen, and
# they are accounted for, not lost without a trace.
tun_dropped() { ip -n "$(ns_name 1)" -s -j link show tr0 | python3 -c '
import json, sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])'; }
tun_drop_before=$(tun_dropped)
bg 2 python3 "$WORK/recv.py" "$WORK/udp.seen"
recv_pid=${TR_PIDS[-1]}
wait_for 5 port_open 2 u 9000 || die "UDP receiver did not start"
n1 python3 "$WORK/send.py" || die "UDP sender failed"
wait "$recv_pid" || die "UDP receiver failed"
tun_drop=$(( $(tun_dropped) - tun_drop_before ))
[ "$tun_drop" -eq 0 ] || pretty "$tun_drop datagrams dropped at tr0's queue (counted by the kernel)"
if ! python3 - "$WORK/udp.seen" "$tun_drop" <<'PY'
import sys
seen = list(map(int, open(sys.argv[1]).read().split()))
dropped = int(sys.argv[2])
missing = sorted(set(range(3000)) - set(seen))
assert len(seen) == len(set(seen)), "duplicates delivered"
assert seen == sorted(seen), "datagrams reordered"
assert len(missing) == dropped, f"{len(seen)} received + {dropped} counted drops != 3000, missing {missing[:10]}"
PY
then
	diag
	die "numbered datagrams missing or duplicated"
fi
[ "$(drops a)" -eq "$drops_a" ] || diag
[ "$(drops a)" -eq "$drops_a" ] || die "side a drop counters moved: $drops_a -> $(drops a)"
[ "$(drops b)" -eq "$drops_b" ] || diag
[ "$(drops b)" -eq "$drops_b" ] || die "side b drop counters moved: $drops_b -> $(drops b)"
got=$(( $(counter b rx_packets) - rx_b ))
# 5000 echo requests and the 3000 datagrams, less those tr0 dropped (counted).
[ "$got" -ge $((8000 - tun_drop)) ] || die "side b counted $got packets, want >= 8000 - $tun_drop"

pretty "tunroom down (b) and SIGTERM (a) during a flood"
bg 1 ping -f -w 6 198.18.0.2
sleep 0.5
down b
[ -e "$WORK/run-b/tr0.sock" ] && die "side b left its control socket"
kill -TERM "$UP_PID_a"
wait "$UP_PID_a" || die "SIGTERM under load: exit status $?"
ip -n "$(ns_name 1)" link show tr0 >/dev/null 2>&1 && die "tr0 left behind after SIGTERM"
[ -e "$WORK/run-a/tr0.sock" ] && die "side a left its control socket"
echo "PASS: 5000-packet flood, 3000 numbered datagrams, down and SIGTERM under load"
