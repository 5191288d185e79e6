#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The zero-copy claim on tunroom connect's DTLS path, measured against a
# stock ocserv: the client runs under the copycount LD_PRELOAD shim (memcpy/
# memmove calls of >= 256 bytes). Login and the handshakes copy (GnuTLS,
# HTTP); the data path must not. So one session carries next to nothing and
# a second one an MTU-sized ping flood and a short iperf3 run each way; the
# second may copy more than the first by less than 0.001 per packet (in
# practice 0). A negative control first proves the shim counts.
# usage: ac-zerocopy.sh TUNROOM COPYCOUNT_SO COPYCTL
TUNROOM=$1
SHIM=$2
CTL=$3
source "$(dirname "$0")/ac-lib.sh"
libs=$(ldd "$TUNROOM" "$CTL")
if grep -q 'libasan\|libubsan' <<<"$libs"; then
	skip "sanitizer build: the LD_PRELOAD shim cannot sit in front of ASan's runtime"
fi
ac_begin </dev/null

pretty "negative control: 1000 x 1 KiB memcpy/memmove under the shim"
LD_PRELOAD=$SHIM TR_COPYCOUNT_FILE=$WORK/copies.ctl "$CTL" >/dev/null
ctl=$(awk '{ s += $2 } END { print s + 0 }' "$WORK/copies.ctl")
[ "$ctl" -ge 1000 ] || die "shim counted $ctl copies in the control, want >= 1000: it does not work"

# session NAME: tunroom connect under the shim; the count goes to
# $WORK/copies.NAME when the process ends.
session() {
	echo secretpw | ip netns exec "$(ns_name 1)" env TUNROOM_RUN_DIR="$WORK/run" \
		LD_PRELOAD="$SHIM" TR_COPYCOUNT_FILE="$WORK/copies.$1" "$TUNROOM" connect -b \
		--pid-file "$WORK/$1.pid" -i "$1" -s '' --servercert "pin-sha256:$PIN" -u user1 \
		--passwd-on-stdin "$SERVER" 2>>"$WORK/$1.log" || die "connect $1: $(cat "$WORK/$1.log")"
	TR_PIDS+=("$(cat "$WORK/$1.pid")")
	ac_wait_state "$1" dtls 10 || die "$1: DTLS did not come up: $(tunroom1 show "$1")"
}

# end NAME: tunroom down, then the running process's own count (the -b
# parent wrote a line of its own when it left; the count is the daemon's).
end() {
	local pid
	pid=$(cat "$WORK/$1.pid")
	ac_down "$1"
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || die "$1 did not exit"
	awk -v p="$pid" '$1 == p { print $2 }' "$WORK/copies.$1" | grep . ||
		die "the shim wrote no count for $1 (pid $pid)"
}

pretty "idle session: login, DTLS, 3 pings, down"
session acz0
n1 ping -c 3 -i 0.2 -W 2 $POOL_GW >/dev/null || die "no ping through the tunnel"
idle=$(end acz0)

pretty "busy session: the same, then 1400-byte pings and iperf3 each way"
session acz1
n1 ping -c 3 -i 0.2 -W 2 $POOL_GW >/dev/null || die "no ping through the tunnel"
n1 ping -f -c 3000 -w 20 -s 1372 -M do $POOL_GW >/dev/null || die "ping flood through the tunnel failed"
if command -v iperf3 >/dev/null; then
	bg 2 iperf3 -s -B $POOL_GW >/dev/null 2>&1
	wait_for 5 bash -c "ip netns exec $(ns_name 2) ss -Hltn 'sport = :5201' | grep -q LISTEN" ||
		die "iperf3 server did not start"
	n1 iperf3 -c $POOL_GW -t 2 >/dev/null || die "iperf3 upload through the tunnel failed"
	n1 iperf3 -c $POOL_GW -t 2 -R >/dev/null || die "iperf3 download through the tunnel failed"
fi
tx=$(ac_show acz1 dtls_tx_data)
rx=$(ac_show acz1 dtls_rx_data)
packets=$((tx + rx))
[ "$packets" -ge 6000 ] || die "only $packets packets over DTLS, want >= 6000"
cstp=$(ac_show acz1 cstp_tx_data)
# Before DTLS is up, CSTP carries what the new link sends first (a few
# packets); the flood and iperf3 must not.
[ "$cstp" -lt 20 ] || die "$cstp data packets went over CSTP: not the DTLS path"
busy=$(end acz1)

extra=$((busy - idle))
echo "copies >= 256 bytes: idle session $idle, busy session $busy; DTLS packets $packets (tx $tx, rx $rx); CSTP data packets $cstp"
per=$(awk -v c="$extra" -v p="$packets" 'BEGIN { printf "%.6f", (c < 0 ? 0 : c) / p }')
echo "extra copies per packet: $extra / $packets = $per"
awk -v c="$extra" -v p="$packets" 'BEGIN { exit !(c < p / 1000) }' ||
	die "the DTLS data path copies: $extra more copies in the busy session, $per per packet"
echo "PASS: ac-zerocopy"
