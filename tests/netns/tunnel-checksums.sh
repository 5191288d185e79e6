#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checksums = partial (the default) and full, through the tunnel with
# Offload = on. Each way: a random file crosses over TCP (IPv4 a -> b, IPv6
# b -> a) and its SHA-256 matches. partial: both receivers coalesced runs
# without checking (tun_csum_trusted > 0, and never more than the segments
# coalesced); full: tun_csum_trusted stays 0 while runs are still coalesced.
# In both modes a raw IPv4 UDP datagram with a deliberately wrong UDP
# checksum, sent with a correct control datagram a -> b, is dropped by b's
# kernel (UdpInCsumErrors rises) and the control one arrives: single packets
# are always checked by the kernel (TUN ignores DATA_VALID on writes). Last,
# the ends disagree (a partial, b full): data still verifies, since senders
# always write full checksums.
# usage: tunnel-checksums.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

tcp_data 2

cat >"$WORK/udp-recv.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.2", 9100))
s.settimeout(2)
got = []
try:
    while len(got) < 2:
        got.append(s.recv(2048).decode())
except socket.timeout:
    pass
open(sys.argv[1], "w").write(" ".join(sorted(got)) + "\n")
PY
# Two datagrams by raw socket (IP_HDRINCL), so no kernel fills in the UDP
# checksum: "bad" with its correct sum plus one, then "good" with its own.
cat >"$WORK/udp-raw.py" <<'PY'
import socket, struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst = socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.2")
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for payload, delta in ((b"bad", 1), (b"good", 0)):
    ulen = 8 + len(payload)
    udp = struct.pack("!HHHH", 9101, 9100, ulen, 0) + payload
    c = csum(src + dst + struct.pack("!BBH", 0, 17, ulen) + udp) or 0xffff
    c = (c + delta) & 0xffff or 1
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 1, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    r.sendto(ip + udp, ("198.18.0.2", 0))
PY

csum_errors() { ip netns exec "$(ns_name 2)" nstat -az UdpInCsumErrors | awk '/UdpInCsumErrors/ {print $2}'; }

# raw_udp WANT: the datagrams b's socket got must be WANT ("bad good" or "good").
raw_udp() {
	local want=$1 got pid
	bg 2 python3 "$WORK/udp-recv.py" "$WORK/raw.res"
	pid=${TR_PIDS[-1]}
	wait_for 5 port_open 2 u 9100 || die "UDP receiver did not start"
	n1 python3 "$WORK/udp-raw.py" || die "raw sender failed"
	wait "$pid" || die "UDP receiver failed"
	got=$(cat "$WORK/raw.res")
	[ "$got" = "$want" ] || { diag; die "raw UDP: b got '$got', want '$want'"; }
	pretty "raw UDP: b got '$got'"
}

topology
keys aes128-gcm
command -v nstat >/dev/null || skip "nstat (iproute2) not found"

pretty "Checksums = partial (the default)"
pair
grep -q '^on (tun tso' <<<"$(counter a offload)" || skip "no TUN offload here: $(counter a offload)"
tcp 1 2 198.18.0.2 7101
tcp 2 1 fd00:7272::1 7102
before=$(csum_errors)
raw_udp "good"
[ "$(csum_errors)" -gt "$before" ] || die "the wrong-sum datagram vanished without UdpInCsumErrors"
for side in a b; do
	expect $side tun_csum_trusted -gt 0
	expect $side tun_csum_trusted -le "$(counter $side tun_gro_segments)"
done
down a
down b

pretty "Checksums = full on both ends"
TR_IFACE_EXTRA="Checksums = full" pair
tcp 1 2 198.18.0.2 7103
tcp 2 1 fd00:7272::1 7104
before=$(csum_errors)
raw_udp "good"
[ "$(csum_errors)" -gt "$before" ] || die "the wrong-sum datagram vanished without UdpInCsumErrors"
for side in a b; do
	expect $side tun_csum_trusted -eq 0
	expect $side tun_gro_packets -gt 0
done
down a
down b

pretty "a partial, b full"
conf a
TR_IFACE_EXTRA="Checksums = full" conf b
up a
up b
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"
tcp 1 2 198.18.0.2 7105
tcp 2 1 fd00:7272::1 7106
expect a tun_csum_trusted -gt 0
expect b tun_csum_trusted -eq 0
down a
down b
echo "PASS: TCP (IPv4, IPv6) verified with Checksums partial, full and mixed; runs unchecked only with partial; single packets checked by the kernel in both"
