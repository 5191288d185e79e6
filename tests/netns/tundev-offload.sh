#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TUN offloads (TR_TUNDEV_F_OFFLOAD) end to end: a real TCP connection
# through two TUN devices joined by a copying "wire" (tundevwire.c). The
# sender's stack hands trwa 64 KiB TSO super-packets that the engine splits
# into egress slots; the wire commits them to trwb's ingress ring, written
# with a virtio_net_hdr, runs of segments of the flow coalesced back into
# one TSO write each; the ACKs come back the same way.
#
#   namespace tr-$$-1                                 namespace tr-$$-2
#   sender 198.18.0.1 / fd00::1                       receiver 198.18.0.2 / fd00::2
#     --> [trwa] egress ring --> tundevwire --> ingress ring [trwb] -->
#     <-- [trwa] ingress ring <-- tundevwire <-- egress ring [trwb] <--
#
# Cases: IPv4 and IPv6 on io_uring; the plain backend with the layout guess
# poisoned (TUNROOM_TEST_GSO_GUESS) so that the copying slow path runs; a
# 128 KiB ring, too small for 64 KiB reads (TSO falls back to off, with one
# line on stderr); and without the flag. Each checks the received bytes' sha256 and the counters.
#
# Usage: tundev-offload.sh PATH/TO/tundevwire
source "$(dirname "$0")/lib.sh"
WIRE=${1:?usage: tundev-offload.sh PATH/TO/tundevwire}
SIZE=$((4 << 20))

require_root
require_tun
command -v python3 >/dev/null || skip "python3 not found"
trap cleanup EXIT
ns_add 1
ns_add 2
TMP=$(mktemp -d)
on_exit rm -rf "$TMP"
head -c "$SIZE" /dev/urandom >"$TMP/data"
WANT=$(sha256sum <"$TMP/data" | cut -d' ' -f1)

# receive ADDR PORT OUT: one connection, everything until EOF, "sha256 bytes".
RECV='import hashlib, socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(20); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
open(sys.argv[3], "w").write("%s %d\n" % (h.hexdigest(), n))'
SEND='import socket, sys, time
for i in range(100):
    s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
    s.settimeout(20)
    try: s.connect((sys.argv[1], int(sys.argv[2]))); break
    except ConnectionRefusedError: s.close(); time.sleep(0.05)
t = time.time(); s.sendall(open(sys.argv[3], "rb").read()); s.shutdown(socket.SHUT_WR)
s.recv(1); print("%.0f Mbit/s" % (8 * len(open(sys.argv[3], "rb").read()) / (time.time() - t) / 1e6))'

# stat FILE DEV KEY: a counter from tundevwire's last lines.
stat() { awk -v d="$2" -v k="$3" '$1 == d { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$1"; }

# transfer CASE DST: one TCP connection ns1 -> ns2, checked byte for byte.
transfer() {
	local out="$TMP/$1.recv"
	rm -f "$out"
	bg 2 timeout 30 python3 -c "$RECV" "$2" 5001 "$out"
	local rpid=${TR_PIDS[-1]}
	n1 timeout 30 python3 -c "$SEND" "$2" 5001 "$TMP/data"
	wait "$rpid" || die "$1: receiver failed"
	[ "$(cat "$out")" = "$WANT $SIZE" ] || die "$1: received $(cat "$out"), want $WANT $SIZE"
}

# wire CASE [ENV=VALUE...] -- [tundevwire options]: starts the wire.
wire_start() {
	local name=$1; shift
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
	bg 1 env "${envs[@]}" timeout 60 "$WIRE" "$@" "/run/netns/$(ns_name 2)" \
		>"$TMP/$name.wire" 2>"$TMP/$name.err"
	WPID=${TR_PIDS[-1]}
	wait_for 10 grep -q '^ready' "$TMP/$name.wire" || die "$name: the wire did not come up"
	cat "$TMP/$name.wire"
}

wire_stop() {
	kill -TERM "$WPID"
	wait "$WPID" || die "$1: tundevwire failed"
	tail -n 2 "$TMP/$1.wire"
	local f="$TMP/$1.wire"
	for dev in trwa trwb; do
		for k in drop_gso_bad drop_gso_room err_read err_write malformed dropped; do
			[ "$(stat "$f" $dev $k)" = 0 ] || die "$1: $dev $k = $(stat "$f" $dev $k)"
		done
	done
}

check_tso() { # CASE SLOW_MIN SLOW_MAX
	local f="$TMP/$1.wire" seg slow
	[ "$(stat "$f" trwa offload)" = tso ] || die "$1: offload mode $(stat "$f" trwa offload)"
	seg=$(stat "$f" trwa gso_segments)
	slow=$(stat "$f" trwa gso_slow)
	[ "$seg" -gt $((SIZE / 1500)) ] || die "$1: only $seg segments came from TSO"
	[ "$slow" -ge "$2" ] && [ "$slow" -le "$3" ] || die "$1: gso_slow $slow, want $2..$3"
	echo "$1: $(stat "$f" trwa gso_packets) super-packets, $seg segments, $slow slow"
	# The receiving end coalesced the data segments into TSO writes.
	local in_seg
	in_seg=$(stat "$f" trwb in_gso_segments)
	[ "$in_seg" -gt $((SIZE / 1500 / 2)) ] || die "$1: trwb coalesced only $in_seg segments"
	echo "$1: trwb wrote $(stat "$f" trwb in_gso_packets) runs of $in_seg segments"
}

wire_start v4 --
transfer v4 198.18.0.2
wire_stop v4
check_tso v4 0 0

wire_start v6 --
transfer v6 fd00::2
wire_stop v6
# The reads of the first batch with TSO data are re-laid (the guess is for
# IPv4; a batch's reads are laid out before any returns), the rest not: at
# most a batch's worth (5 reads with a 4 MiB ring at MTU 1500).
check_tso v6 1 8

wire_start poisoned TUNROOM_TEST_GSO_GUESS=60:1000 -- -p
transfer poisoned 198.18.0.2
wire_stop poisoned
check_tso poisoned 1 8
[ "$(stat "$TMP/poisoned.wire" trwa copied_bytes)" -gt 0 ] || die "poisoned: nothing copied"

wire_start smallring -- -c $((1 << 17)) -h 256 -t 256
transfer smallring 198.18.0.2
wire_stop smallring
mode=$(grep -o 'a=off ([^)]*)' "$TMP/smallring.wire") || die "smallring: $(head -1 "$TMP/smallring.wire")"
echo "smallring: $mode"
[ "$(grep -c 'TUN offload off' "$TMP/smallring.err")" = 2 ] || die "smallring: want one line per device"
[ "$(stat "$TMP/smallring.wire" trwa gso_packets)" = 0 ] || die "smallring: GSO with TSO off"
[ "$(stat "$TMP/smallring.wire" trwb in_gso_packets)" = 0 ] || die "smallring: coalesced with TSO off"

wire_start off -- -n
transfer off 198.18.0.2
wire_stop off
[ "$(stat "$TMP/off.wire" trwa offload)" = off ] || die "off: offload mode"
[ "$(stat "$TMP/off.wire" trwa gso_packets)" = 0 ] || die "off: GSO without the flag"
[ "$(stat "$TMP/off.wire" trwb in_gso_packets)" = 0 ] || die "off: coalesced without the flag"
echo "ok"
