#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The offload fallbacks (issue 8), end to end. Side a runs under the refuse
# LD_PRELOAD shim (tests/netns/refuse.c), which makes one kernel feature fail
# the way a kernel without it does; side b is normal. One refusal at a time,
# then all together:
#   vnet_hdr          TUNSETIFF with IFF_VNET_HDR -> EINVAL
#   tunsetoffload     TUNSETOFFLOAD with TSO bits -> EINVAL
#   udp_segment       setsockopt(UDP_SEGMENT) at open -> ENOPROTOOPT
#   udp_segment_send  sendmmsg with a UDP_SEGMENT cmsg -> EIO (mid-run)
#   udp_gro           setsockopt(UDP_GRO) -> ENOPROTOOPT
# Each time: tunroom up's stderr has the fallback's log line (once), `tunroom
# show` and --json say that part of the offload is off while b's is all on,
# a random file crosses over TCP a -> b (IPv4) and b -> a (IPv6) with its
# SHA-256 matching, numbered UDP datagrams cross both ways in order, the
# counters show the fallback taken (no TSO read, no GSO send, no GRO batch on
# a's refused part) and no tunroom drop counter moved on either side. A
# negative control first runs a under the shim with nothing refused: all on,
# and the same counters > 0, so that none of the checks can pass vacuously.
# usage: tunnel-fallback.sh TUNROOM REFUSE_SO
TUNROOM=$1
SHIM=$2
source "$(dirname "$0")/tunnel-lib.sh"

# A sanitizer runtime insists on coming first in the library list: preload
# it ahead of the shim (the shim then sits between it and libc).
libs=$(ldd "$TUNROOM")
asan=$(awk '/libasan/ { print $3 }' <<<"$libs")
PRELOAD=$SHIM
[ -n "$asan" ] && PRELOAD="$asan:$SHIM"

tcp_data 2

# Scripts go to files: a background command's stdin is /dev/null.
# Numbered datagrams: each carries its number and a hash of its body.
cat >"$WORK/udp-recv.py" <<'PY'
import hashlib, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(3)
want, seen, bad = int(sys.argv[4]), [], 0
try:
    while len(seen) + bad < want:
        d = s.recv(2048)
        seq, = struct.unpack("!I", d[:4])
        if len(d) == 1372 and d[4:36] == hashlib.sha256(d[36:]).digest():
            seen.append(seq)
        else:
            bad += 1
except socket.timeout:
    pass
open(sys.argv[3], "w").write(f"{bad}\n" + " ".join(map(str, seen)) + "\n")
PY
cat >"$WORK/udp-send.py" <<'PY'
import hashlib, os, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    # Full-MTU (1400) inner packets, all one size: a's egress bursts make
    # UDP_SEGMENT runs where GSO is on. A pause every 100 keeps socket
    # buffers out of the question.
    body = os.urandom(1336)
    s.sendto(struct.pack("!I", i) + hashlib.sha256(body).digest() + body, (sys.argv[1], int(sys.argv[2])))
    if i % 100 == 99:
        time.sleep(0.01)
PY
cat >"$WORK/udp-check.py" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
bad, seen = int(lines[0]), list(map(int, lines[1].split()))
total, dropped = int(sys.argv[2]), int(sys.argv[3])
assert bad == 0, f"{bad} datagrams arrived corrupt"
assert len(seen) == len(set(seen)), "duplicates delivered"
out = [k for k, (a, b) in enumerate(zip(seen, seen[1:])) if b < a]
assert not out, f"datagrams reordered {len(out)} times, first at position {out[0]}"
missing = sorted(set(range(total)) - set(seen))
assert len(missing) == dropped, f"{len(seen)} received + {dropped} counted drops != {total}, missing {missing[:10]}"
print(f"{len(seen)} of {total} datagrams intact and in order ({dropped} dropped at tr0's queue, counted)")
PY

diag() {
	for side in a b; do
		show "$side" -s >&2 || true
		echo "--- tunroom up ($side) stderr:" >&2
		cat "$WORK/err.$side" >&2 || true
	done
}

tun_dropped() { # NS: the kernel's drops at tr0's queue (the reader fell behind)
	ip -n "$(ns_name "$1")" -s -j link show tr0 | python3 -c '
import json, sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])'
}

# udp FROM_NS TO_NS ADDR PORT: 1000 numbered datagrams, in order, intact.
udp() {
	local from=$1 to=$2 addr=$3 port=$4 n=1000 before
	before=$(tun_dropped "$from")
	bg "$to" python3 "$WORK/udp-recv.py" "$addr" "$port" "$WORK/udp.res" "$n"
	local pid=${TR_PIDS[-1]}
	wait_for 5 port_open "$to" u "$port" || die "UDP receiver on $addr did not start"
	ip netns exec "$(ns_name "$from")" python3 "$WORK/udp-send.py" "$addr" "$port" "$n" ||
		die "UDP sender failed"
	wait "$pid" || die "UDP receiver on $addr failed"
	python3 "$WORK/udp-check.py" "$WORK/udp.res" "$n" $(($(tun_dropped "$from") - before)) ||
		{ diag; die "UDP to $addr: datagrams lost, reordered or corrupt"; }
}

# up_side SIDE REFUSE: tunroom up under the shim (REFUSE may be empty),
# stderr to $WORK/err.SIDE.
up_side() {
	local side=$1 refuse=$2 ns=1
	[ "$side" = b ] && ns=2
	mkdir -p "$WORK/run-$side"
	bg "$ns" bash -c 'exec "$@" 2>"$0"' "$WORK/err.$side" env TUNROOM_RUN_DIR="$WORK/run-$side" TUNROOM_STATE_DIR="$WORK/state-$side" \
		LD_PRELOAD="$PRELOAD" TR_REFUSE="$refuse" "$TUNROOM" up "$WORK/$side.conf"
	eval "UP_PID_$side=${TR_PIDS[-1]}"
	wait_for 10 show "$side" || { cat "$WORK/err.$side" >&2; die "tunroom up ($side) did not come up"; }
}

json() { show "$1" --json >"$WORK/$1.json"; }
# val SIDE KEY: from the snapshot json SIDE took last.
val() {
	python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))[0]
print(t["stats"].get(sys.argv[2], t.get(sys.argv[2], "missing")))' "$WORK/$1.json" "$2"
}
expect() { # SIDE KEY OP VALUE
	local v
	v=$(val "$1" "$2")
	[ "$v" "$3" "$4" ] 2>/dev/null || { diag; die "$CASE: side $1: $2 = $v, want $3 $4"; }
	echo "$CASE: side $1: $2 = $v"
}
# no_drops SIDE: every tunroom counter of a drop or an error is 0, but for
# tx_err_unreachable: the ICMP answer to what a sent (IPv6 router/MLD
# chatter from tr0) before b's socket was bound.
no_drops() {
	python3 - "$WORK/$1.json" <<'PY' || { diag; die "$CASE: side $1 dropped or failed packets"; }
import json, sys
s = json.load(open(sys.argv[1]))[0]["stats"]
moved = {k: v for k, v in s.items() if ("_drop_" in k or "_err_" in k) and v and k != "tx_err_unreachable"}
assert not moved, f"counters moved: {moved}"
PY
}
# logged SIDE TEXT COUNT: the line is in tunroom up's stderr COUNT times.
logged() {
	local n
	n=$(grep -cF -- "$2" "$WORK/err.$1" || true)
	[ "$n" -eq "$3" ] || { diag; die "$CASE: side $1 logged '$2' $n times, want $3"; }
}

# run CASE REFUSE OFFLOAD: a under the shim refusing REFUSE, b normal; a's
# `tunroom show` must say offload OFFLOAD. Traffic both ways, then snapshots.
run() {
	CASE=$1
	pretty "$CASE: side a refuses '${2:-nothing}'"
	up_side a "$2"
	up_side b ""
	n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || { diag; die "$CASE: tunnel does not work"; }
	tcp 1 2 198.18.0.2 7001
	tcp 2 1 fd00:7272::1 7002
	udp 1 2 198.18.0.2 9001
	udp 2 1 198.18.0.1 9002
	json a
	json b
	[ "$(val a offload)" = "$3" ] || { diag; die "$CASE: side a: offload '$(val a offload)', want '$3'"; }
	[ "$(val b offload)" = "on (tun tso, gso, gro)" ] || { diag; die "$CASE: side b: offload '$(val b offload)'"; }
	# The human output says the same.
	grep -qF "$3" <<<"$(show a)" || { diag; die "$CASE: tunroom show (a) does not say '$3'"; }
	echo "$CASE: side a: offload $3"
	no_drops a
	no_drops b
	# b is untouched: whatever a sends, b never falls back.
	logged b "offload off" 0
	logged b "not available" 0
	logged b "refused" 0
	logged b "refuse:" 0
}

finish() {
	down a
	down b
}

TUN_OFF="TUN offload off, one packet per read:"
GSO_OPEN="UDP GSO not available: one datagram per message"
GSO_SEND="UDP GSO refused by the kernel (Input/output error): one datagram per message from now on"
GRO_OPEN="UDP GRO not available: one datagram per receive"

topology
keys aes128-gcm
conf a
conf b

# The negative control: the shim loaded, nothing refused, everything on and
# used on a, so that each "== 0" below is a change the refusal made.
run control "" "on (tun tso, gso, gro)"
expect a tun_gso_packets -gt 0
expect a tun_gro_packets -gt 0
expect a tx_gso_sends -gt 0
expect a rx_gro_batches -gt 0
logged a "offload off" 0
logged a "not available" 0
logged a "refused" 0
logged a "refuse:" 0
finish

run vnet_hdr vnet_hdr "on (tun off (the kernel refused IFF_VNET_HDR), gso, gro)"
logged a "$TUN_OFF the kernel refused IFF_VNET_HDR" 1
logged a "refuse: TUNSETIFF with IFF_VNET_HDR" 1
# No virtio header at all: one packet per read and per write.
expect a tun_gso_packets -eq 0
expect a tun_gro_packets -eq 0
expect a tx_gso_sends -gt 0
expect a rx_gro_batches -gt 0
finish

run tunsetoffload tunsetoffload "on (tun off (TUNSETOFFLOAD refused: Invalid argument), gso, gro)"
logged a "$TUN_OFF TUNSETOFFLOAD refused: Invalid argument" 1
# No TSO on the device: reads are one packet each, and so are writes (the
# virtio header stays on the queues, all zero: no coalescing without TSO).
expect a tun_gso_packets -eq 0
expect a tun_gso_segments -eq 0
expect a tun_gro_packets -eq 0
expect a tx_gso_sends -gt 0
expect a rx_gro_batches -gt 0
finish

run udp_segment udp_segment "on (tun tso, no gso, gro)"
logged a "$GSO_OPEN" 1
expect a tx_gso_sends -eq 0
expect a tx_gso_segments -eq 0
expect a tun_gso_packets -gt 0
expect a rx_gro_batches -gt 0
expect b rx_gro_batches -eq 0 # a sent lone datagrams only
finish

run udp_segment_send udp_segment_send "on (tun tso, no gso, gro)"
# Said once, at the first refused send; nothing sent by GSO since.
logged a "$GSO_SEND" 1
logged a "refuse: sendmmsg with UDP_SEGMENT" 1
logged a "$GSO_OPEN" 0
expect a tx_gso_sends -eq 0
expect a tx_gso_segments -eq 0
expect a tun_gso_packets -gt 0
expect a rx_gro_batches -gt 0
expect b rx_gro_batches -eq 0
finish

run udp_gro udp_gro "on (tun tso, gso, no gro)"
logged a "$GRO_OPEN" 1
expect a rx_gro_batches -eq 0
expect a rx_gro_datagrams -eq 0
expect a tx_gso_sends -gt 0
expect b tx_gso_sends -gt 0 # b sent batches, the kernel split them for a
finish

run all all "on (tun off (the kernel refused IFF_VNET_HDR), no gso, no gro)"
logged a "$TUN_OFF the kernel refused IFF_VNET_HDR" 1
logged a "$GSO_OPEN" 1
logged a "$GRO_OPEN" 1
logged a "$GSO_SEND" 0 # GSO was off from the start: never tried
expect a tun_gso_packets -eq 0
expect a tun_gro_packets -eq 0
expect a tx_gso_sends -eq 0
expect a rx_gro_batches -eq 0
expect a rx_gro_datagrams -eq 0
finish

echo "PASS: each refusal (and all together) logged, shown as off, fallen back to per-packet, and carried TCP (IPv4, IPv6) and UDP intact; control all on"
