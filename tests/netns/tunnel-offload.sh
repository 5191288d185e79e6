#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Offload = on through the tunnel: a random file crosses over TCP on IPv4
# (a -> b) and IPv6 (b -> a) inner addresses and its SHA-256 matches at both
# ends; equal-size UDP datagrams cross with every payload hash checked and
# every datagram accounted for. The counters must show UDP GSO used on send
# (tx_gso_segments > 0) and GRO batches landed in slots (rx_gro_datagrams > 0)
# with no copy: the data receiver's first guess of the batch size is right
# (rx_gro_slow = rx_copied_bytes = 0), tx copies nothing, and slow batches
# (a change of traffic) are rare and the only copies. On the TUN side both
# ends read TSO super-packets split into slots (tun_gso_segments), wrote
# coalesced runs (tun_gro_packets), dropped nothing, and re-laid a read by
# copy (tun_gso_slow) at most a few times, when the flow's headers changed.
# Then the GRO slow path, forced with the test-only TUNROOM_TEST_GRO_GUESS
# (a wrong first guess of the batch size, and no peek to correct it): the
# transfer still verifies and rx_gro_slow > 0. Then Offload = off on one side
# only: all verifies, the other side receives lone datagrams with batched
# calls. Then Offload = off: the same transfers, GSO/GRO counters 0. Last, an
# IPv6 outer path with a CBC cipher: the first guess of G right there too.
# usage: tunnel-offload.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

tcp_data 4

# Scripts go to files: a background command's stdin is /dev/null.
cat >"$WORK/udp-recv.py" <<'PY'
import hashlib, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("198.18.0.2", 9001))
s.settimeout(3)
good = bad = 0
try:
    while good + bad < 4000:
        d = s.recv(2048)
        seq, = struct.unpack("!I", d[:4])
        ok = len(d) == 1372 and d[4:36] == hashlib.sha256(d[36:]).digest() and \
            d[36:40] == struct.pack("!I", seq)
        good, bad = good + ok, bad + (not ok)
except socket.timeout:
    pass
open(sys.argv[1], "w").write(f"{good} {bad}\n")
PY
cat >"$WORK/udp-send.py" <<'PY'
import hashlib, os, socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(4000):
    # 1372 bytes of UDP payload: full-MTU (1400) inner packets, all one size,
    # so the egress bursts make UDP_SEGMENT runs. A pause every 200 keeps the
    # receiver's socket buffer out of the question.
    body = struct.pack("!I", i) + os.urandom(1332)
    s.sendto(struct.pack("!I", i) + hashlib.sha256(body).digest() + body, ("198.18.0.2", 9001))
    if i % 200 == 199:
        time.sleep(0.01)
PY


tun_dropped() { ip -n "$(ns_name 1)" -s -j link show tr0 | python3 -c '
import json, sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])'; }

# udp: 4000 equal datagrams a -> b, none corrupt, each one received or
# counted as dropped by the kernel at tr0's queue.
udp() {
	local before good bad dropped
	before=$(tun_dropped)
	bg 2 python3 "$WORK/udp-recv.py" "$WORK/udp.res"
	local pid=${TR_PIDS[-1]}
	wait_for 5 port_open 2 u 9001 || die "UDP receiver did not start"
	n1 python3 "$WORK/udp-send.py" || die "UDP sender failed"
	wait "$pid" || die "UDP receiver failed"
	read -r good bad <"$WORK/udp.res"
	dropped=$(( $(tun_dropped) - before ))
	[ "$bad" -eq 0 ] || { diag; die "UDP: $bad datagrams arrived corrupt"; }
	[ $((good + dropped)) -eq 4000 ] ||
		{ diag; die "UDP: $good received + $dropped counted drops != 4000"; }
	pretty "UDP: $good of 4000 datagrams intact ($dropped dropped at tr0's queue, counted)"
}

# run [CHECK]: the three transfers through a fresh pair of tunnel ends; CHECK
# (a function) runs after the first one.
run() {
	pair
	tcp 1 2 198.18.0.2 7001
	${1:-true}
	tcp 2 1 fd00:7272::1 7002
	udp
}

# Sanitizer builds move packets in other rhythms (see the GRO check below).
# (ldd's output captured first: grep -q under pipefail would race its SIGPIPE.)
libs=$(ldd "$TUNROOM")
share=10
grep -q 'libasan\|libubsan\|libtsan' <<<"$libs" && share=3
topology
keys aes128-gcm

# After a -> b TCP only, b has seen data batches of the full-MTU datagram
# size, its first guess: every one landed in place.
first_guess_right() {
	expect b rx_gro_datagrams -gt 0
	expect b rx_gro_slow -eq 0
	expect b rx_copied_bytes -eq 0
}

pretty "Offload = on (the default)"
run first_guess_right
for side in a b; do
	grep -q '^on' <<<"$(counter $side offload)" || die "side $side: offload $(counter $side offload)"
	expect $side tx_gso_segments -gt 0
	expect $side tx_gso_sends -gt 0
	expect $side rx_gro_datagrams -gt 0
	expect $side tx_copied_bytes -eq 0
	expect $side rx_drop_gro -eq 0
	# A change of traffic (ACK batches, then data of the other flow) may
	# cost one slow batch while G follows, and messages behind one that
	# outgrew its slots move with it; copies happen only there (each byte
	# staged, then placed), and misses are rare: a pair of ACKs coalesced
	# while lone datagrams were laid out, a lone datagram longer than G.
	# A flow waking from idle finds batch slots (the lone-datagram layout
	# ends with a quiet socket); before it did, with one worker per end,
	# its slow start landed in that layout, 6-30 slow of ~400 batches.
	# Now 0-1 in most runs, but 13-14 of ~350 in some (plain build, a busy
	# machine): at most 3 and a tenth. Under ASan the workers run several
	# times slower and the 2 ms quiet that ends the layout comes at other
	# moments: 13-72 slow of 350-500 batches were seen there, so a
	# sanitizer build is held to a third (the test still fails a layout
	# that misses most batches).
	slow=$(counter $side rx_gro_slow) batches=$(counter $side rx_gro_batches)
	moved=$(counter $side rx_gro_moved)
	expect $side rx_copied_bytes -le $(((slow + moved) * 2 * 65535))
	[ $((slow * share)) -le $((batches + 3 * share)) ] || { diag; die "side $side: $slow slow of $batches batches (at most 3 and 1/$share)"; }
done
# The TUN half: both sides read TSO super-packets (a sends the IPv4 file, b
# the IPv6 one) split into slots, and wrote coalesced runs to their TUN.
for side in a b; do
	grep -q '^on (tun tso' <<<"$(counter $side offload)" ||
		die "side $side: TUN offload not in effect: $(counter $side offload)"
	expect $side tun_gso_packets -gt 0
	expect $side tun_gso_segments -gt "$(counter $side tun_gso_packets)"
	expect $side tx_drop_gso_bad -eq 0
	expect $side tx_drop_gso_room -eq 0
	expect $side tun_gro_packets -gt 0
	# A layout guess misses at most when the flow's headers change (the
	# IPv6 file after the IPv4 one): rare, and the only copies.
	expect $side tun_gso_slow -le 4
	expect $side tun_copied_bytes -le $(($(counter $side tun_gso_slow) * 65575 * 2))
done
# Fewer sends than datagrams: the point of it.
[ "$(counter a tx_syscalls)" -lt "$(counter a tx_packets)" ] ||
	die "side a: $(counter a tx_syscalls) send calls for $(counter a tx_packets) datagrams"
# A TSO read fits one UDP send (tunnel.c, fit_tso_to_gso): at MTU 1400 an
# AES-GCM ESP datagram is ~1440 bytes, 45 of them in 65507; and the kernel
# cut no super-packet into more.
for side in a b; do
	segs=$(ip -n "$(ns_name "$([ $side = a ] && echo 1 || echo 2)")" -d link show tr0 |
		grep -o 'gso_max_segs [0-9]*')
	[ "$segs" = "gso_max_segs 45" ] || die "side $side: tr0 has '$segs', not gso_max_segs 45"
	expect $side tun_gso_segments -le $((45 * $(counter $side tun_gso_packets)))
done
down a
down b

pretty "Offload = on, side b's first batch-size guess wrong (TUNROOM_TEST_GRO_GUESS=1000): slow path"
conf a
TR_UP_ENV=TUNROOM_TEST_GRO_GUESS=1000 up b
up a
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"
tcp 1 2 198.18.0.2 7003
expect b rx_gro_slow -gt 0
expect b rx_copied_bytes -gt 0
expect b rx_drop_gro -eq 0
down a
down b

pretty "Offload = off on side a only: b receives lone datagrams, a batches"
TR_IFACE_EXTRA="Offload = off" conf a
conf b
up a
up b
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"
tcp 1 2 198.18.0.2 7004
tcp 2 1 fd00:7272::1 7005
udp
expect a tx_gso_sends -eq 0
expect b rx_gro_batches -eq 0
expect b tx_gso_segments -gt 0
expect a rx_gro_batches -eq 0
expect b rx_copied_bytes -eq 0
expect b rx_drop_gro -eq 0
# Lone datagrams back to back turn b's receive to 32 one-slot messages:
# fewer calls than datagrams.
echo "side b: $(counter b rx_syscalls) receive calls for $(counter b rx_datagrams) datagrams"
[ "$(counter b rx_syscalls)" -lt "$(counter b rx_datagrams)" ] ||
	{ diag; die "side b: $(counter b rx_syscalls) receive calls for $(counter b rx_datagrams) datagrams"; }
down a
down b

pretty "Offload = off: the per-datagram path"
TR_IFACE_EXTRA="Offload = off" run
for side in a b; do
	expect $side offload = off
	# No TSO to fit: the kernel's default stays.
	segs=$(ip -n "$(ns_name "$([ $side = a ] && echo 1 || echo 2)")" -d link show tr0 |
		grep -o 'gso_max_segs [0-9]*')
	[ "$segs" = "gso_max_segs 65535" ] || die "side $side: Offload = off, yet tr0 has '$segs'"
	expect $side tx_gso_sends -eq 0
	expect $side tx_gso_segments -eq 0
	expect $side rx_gro_batches -eq 0
	expect $side rx_gro_datagrams -eq 0
	expect $side rx_copied_bytes -eq 0
done
down a
down b
pretty "Offload = on over an IPv6 outer path, aes256-cbc-sha256 (16-byte blocks)"
n1 ip addr add fd00:7273::1/64 dev "tr-$$-va" nodad
n2 ip addr add fd00:7273::2/64 dev "tr-$$-vb" nodad
keys aes256-cbc-sha256
conf a
conf b
sed -i -e 's/^ListenAddress = .*/ListenAddress = fd00:7273::1/' \
	-e 's/^Endpoint = .*/Endpoint = [fd00:7273::2]:4500/' "$WORK/a.conf"
sed -i -e 's/^ListenAddress = .*/ListenAddress = fd00:7273::2/' \
	-e 's/^Endpoint = .*/Endpoint = [fd00:7273::1]:4500/' "$WORK/b.conf"
up a
up b
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel over IPv6 does not work"
tcp 1 2 198.18.0.2 7006
expect a tx_gso_segments -gt 0
expect b rx_gro_datagrams -gt 0
# The first guess follows CBC's padding too: every batch in place.
expect b rx_gro_slow -eq 0
expect b rx_copied_bytes -eq 0
down a
down b
echo "PASS: TCP (IPv4, IPv6) and UDP verified with Offload on (GSO + GRO, no copy), on with the slow path, mixed, off, and over IPv6"
