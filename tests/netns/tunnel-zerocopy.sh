#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The zero-copy claim, measured: both tunnel ends run with the copycount
# LD_PRELOAD shim, which counts memcpy/memmove calls of >= 256 bytes; after a
# bounded transfer (MTU-sized ping flood, plus a short iperf3 TCP run when
# iperf3 is installed) fewer than 0.001 copies per packet may be seen (in
# practice 0) from the moment the traffic starts (the shim's window: what
# the processes copy once while they set up, such as a crypto library
# filling its tables, is reported but not held against the data path). A
# packet is one sent into the tunnel (tx on either side). A negative control
# first proves the shim counts, so the test cannot pass vacuously.
# usage: tunnel-zerocopy.sh TUNROOM COPYCOUNT_SO COPYCTL [CIPHER]
TUNROOM=$1
SHIM=$2
CTL=$3
CIPHER=${4:-aes128-gcm}
source "$(dirname "$0")/tunnel-lib.sh"

# ASan/UBSan builds link their own memcpy interceptors and insist on being
# first in the library list; the count is only meaningful in a plain build.
# (ldd's output captured first: grep -q under pipefail would race its SIGPIPE.)
libs=$(ldd "$TUNROOM" "$CTL")
if grep -q 'libasan\|libubsan' <<<"$libs"; then
	skip "sanitizer build: the LD_PRELOAD shim cannot sit in front of ASan's runtime"
fi

# copies FILE [COLUMN]: the sum over the "PID TOTAL WINDOW" lines the shim
# appended, of TOTAL (2, the default) or WINDOW (3).
copies() {
	[ -s "$1" ] || die "the shim wrote no count to $1"
	awk -v c="${2:-2}" '{ s += $c } END { print s }' "$1"
}

pretty "negative control: 1000 x 1 KiB memcpy/memmove under the shim"
LD_PRELOAD=$SHIM TR_COPYCOUNT_FILE=$WORK/copies.ctl "$CTL" >/dev/null
ctl=$(copies "$WORK/copies.ctl")
[ "$ctl" -ge 1000 ] || die "shim counted $ctl copies in the control, want >= 1000: it does not work"
echo "control: $ctl copies counted (>= 1000 expected)"

topology
keys "$CIPHER"
conf a
conf b
TR_UP_ENV="TR_COPYCOUNT_ARM=$WORK/armed" TR_PRELOAD=$SHIM TR_COPYCOUNT=1 up a
TR_UP_ENV="TR_COPYCOUNT_ARM=$WORK/armed" TR_PRELOAD=$SHIM TR_COPYCOUNT=1 up b
# Both ends are up (SAs made, rings mapped): from here on every copy counts.
touch "$WORK/armed"

# 1400-byte IP packets (the MTU) both ways, bounded in count and time.
n1 ping -f -c 3000 -w 20 -s 1372 -M do 198.18.0.2 >/dev/null || die "ping flood through the tunnel failed"
if command -v iperf3 >/dev/null; then
	bg 2 iperf3 -s -1 -B 198.18.0.2 >/dev/null
	# Poll for the listening socket: a test connection would use up -1.
	wait_for 5 bash -c "ip netns exec $(ns_name 2) ss -Hltn 'sport = :5201' | grep -q LISTEN" ||
		die "iperf3 server did not start"
	n1 iperf3 -c 198.18.0.2 -t 2 -M 1300 >/dev/null || die "iperf3 through the tunnel failed"
fi

packets=0
for side in a b; do
	rx=$(counter $side rx_packets)
	tx=$(counter $side tx_packets)
	voids=$(counter $side tun_egress_hole_voids)
	echo "side $side: rx_packets=$rx tx_packets=$tx tun_egress_hole_voids=$voids"
	packets=$((packets + tx))
done
[ "$packets" -ge 3000 ] || die "only $packets packets sent through the tunnel, want >= 3000"
down a
down b

# Every copy of 256 bytes or more in either tunroom process from the first
# packet on, teardown included, against the packets moved. (io_uring's empty
# reads between full ones used to be closed by moving the later packet down;
# they are void slots now, so nothing on the data path may copy.)
total=0
for side in a b; do
	c=$(copies "$WORK/copies.$side" 3)
	echo "side $side: $c copies >= 256 bytes with traffic, $(copies "$WORK/copies.$side") in all (set-up included)"
	total=$((total + c))
done
per=$(awk -v c="$total" -v p="$packets" 'BEGIN { printf "%.6f", c / p }')
echo "copies per packet: $total / $packets = $per"
awk -v c="$total" -v p="$packets" 'BEGIN { exit !(c / p < 0.001) }' ||
	die "copies per packet $per: the data path copies"
echo "PASS: $packets packets, $total copies >= 256 bytes ($per per packet), control saw $ctl"
