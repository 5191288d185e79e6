#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Roaming and NAT: side a sits behind a NAT (nftables masquerade in a middle
# namespace). Mid-flow the NAT's mapping changes (another source port range,
# conntrack flushed), so a's datagrams reach b from a new port. b must
# follow once one authenticates: traffic both ways again within 2 s,
# peer_roams counted, the move logged, show's endpoint the new one. A
# stranger's unauthentic datagrams from another address are counted in
# rx_drop_peer and move nothing.
#
#   ns 1 (a) 198.51.100.1 -- 198.51.100.254 ns 3 (NAT) 192.0.2.254 -- 192.0.2.2 ns 2 (b)
# usage: tunnel-roam.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"
command -v nft >/dev/null || skip "nft not found (apt-get install nftables)"
command -v conntrack >/dev/null || skip "conntrack not found (apt-get install conntrack)"
RAW=$(dirname "$(readlink -f "$0")")/udpraw.py

ns_add 1
ns_add 2
ns_add 3
ip link add "tr-$$-a" type veth peer name "tr-$$-na"
ip link add "tr-$$-b" type veth peer name "tr-$$-nb"
ip link set "tr-$$-a" netns "$(ns_name 1)"
ip link set "tr-$$-na" netns "$(ns_name 3)"
ip link set "tr-$$-b" netns "$(ns_name 2)"
ip link set "tr-$$-nb" netns "$(ns_name 3)"
n1 ip addr add 198.51.100.1/24 dev "tr-$$-a"
n3 ip addr add 198.51.100.254/24 dev "tr-$$-na"
n3 ip addr add 192.0.2.254/24 dev "tr-$$-nb"
n2 ip addr add 192.0.2.2/24 dev "tr-$$-b"
for l in 1:a 3:na 3:nb 2:b; do ip -n "$(ns_name "${l%%:*}")" link set "tr-$$-${l#*:}" up; done
n1 ip route add default via 198.51.100.254
n3 sysctl -qw net.ipv4.ip_forward=1
nat() { # PORTS: masquerade a's network behind 192.0.2.254, source ports from PORTS
	n3 nft -f - <<NFT
flush ruleset
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		ip saddr 198.51.100.0/24 oif "tr-$$-nb" meta l4proto udp masquerade to :$1
		ip saddr 198.51.100.0/24 oif "tr-$$-nb" masquerade
	}
}
NFT
}
nat 20000-20000

keys aes128-gcm
conf a
conf b
sed -i -e 's/^ListenAddress = .*/ListenAddress = 198.51.100.1/' "$WORK/a.conf"
# b knows only where a first appeared: the NAT's first mapping.
sed -i -e 's/^Endpoint = .*/Endpoint = 192.0.2.254:20000/' "$WORK/b.conf"
up a
up b
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || { diag; die "tunnel through the NAT does not work"; }
[ "$(counter b endpoint)" = "192.0.2.254:20000" ] || die "b's endpoint: $(counter b endpoint)"

pretty "a stranger's datagrams from another address: counted, nothing moves"
drop0=$(counter b rx_drop_peer)
spi=$(awk '$1 == "OutSPI" { print $3 }' "$WORK/keys.a")
n3 python3 "$RAW" send 192.0.2.254:20001 192.0.2.2:4500 --garbage 20 "$spi" >/dev/null
got() { [ $(( $(counter b rx_drop_peer) - drop0 )) -ge 17 ]; }
wait_for 3 got || { diag; die "rx_drop_peer rose by $(( $(counter b rx_drop_peer) - drop0 )), want 17 (20 less the 3 non-ESP)"; }
[ "$(counter b endpoint)" = "192.0.2.254:20000" ] || die "unauthentic datagrams moved b's endpoint to $(counter b endpoint)"
[ "$(counter b peer_roams)" = 0 ] || die "peer_roams moved for unauthentic datagrams"

pretty "the NAT's mapping changes mid-flow: a now appears from port 30000"
bg 1 ping -q -i 0.02 -w 8 198.18.0.2
sleep 0.3
nat 30000-30000
n3 conntrack -F >/dev/null 2>&1 || true
t0=$SECONDS
moved() { [ "$(counter b endpoint)" = "192.0.2.254:30000" ]; }
wait_for 2 moved || { diag; die "b did not follow a to its new mapping (endpoint $(counter b endpoint))"; }
n2 ping -c 1 -W 1 198.18.0.1 >/dev/null || { diag; die "b -> a does not work after the move"; }
n1 ping -c 1 -W 1 198.18.0.2 >/dev/null || { diag; die "a -> b does not work after the move"; }
pretty "both ways again within $((SECONDS - t0)) s; b: peer_roams $(counter b peer_roams)"
[ "$(counter b peer_roams)" -ge 1 ] || die "peer_roams not counted"
pretty "PASS"
