#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Routes without loops (issue 15 item 4):
#  1. a full tunnel: a has Routes = 0.0.0.0/0 and reaches b's endpoint only
#     through its main table's default route. Policy routing must keep the
#     ESP datagrams outside (they carry the mark) while everything else,
#     here an address behind b, goes through the tunnel; the rules go when
#     a stops.
#  2. a loop: b routes a's endpoint into its own tunnel. b's datagrams to a
#     come back from tr0: dropped and counted (tx_drop_loop), logged once,
#     no spin (the counter grows with the packets sent, not without bound).
#
#   ns 1 (a) 192.0.2.1 ---- 192.0.2.2 ns 2 (b), also 203.0.113.2 (endpoint) and 198.51.100.7
# usage: tunnel-routes.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"
# Each check greps a command's whole output (grep -q on a pipe can end it
# with SIGPIPE, which pipefail turns into a failure).

topology
n2 ip addr add 203.0.113.2/32 dev "tr-$$-vb"
n2 ip addr add 198.51.100.7/32 dev lo
n2 sysctl -qw net.ipv4.ip_forward=1
# a reaches b's endpoint by its default route only (no connected route to it).
n1 ip route add default via 192.0.2.2
keys aes128-gcm
conf a "Routes = 0.0.0.0/0, ::/0"
conf b "Routes = 198.18.0.0/30"
sed -i 's/^Endpoint = .*/Endpoint = 203.0.113.2:4500/' "$WORK/a.conf"
sed -i 's/^ListenAddress = .*/ListenAddress = 203.0.113.2/' "$WORK/b.conf"
up b
mkdir -p "$WORK/run-a"
bg 1 sh -c "exec env TUNROOM_RUN_DIR='$WORK/run-a' TUNROOM_STATE_DIR='$WORK/state-a' '$TUNROOM' up '$WORK/a.conf' 2>'$WORK/a.err'"
UP_PID_a=${TR_PIDS[-1]}
wait_for 10 show a || { cat "$WORK/a.err" >&2; die "a did not come up"; }
grep -q "default route through the tunnel in table 4500" "$WORK/a.err" || { cat "$WORK/a.err" >&2; die "a does not say it set up the default route"; }

pretty "1. full tunnel: 198.51.100.7 (behind b) through the tunnel, the ESP outside"
grep -q "not from all fwmark 0x1194 lookup 4500" <<<"$(n1 ip rule show)" || die "no fwmark rule: $(n1 ip rule show)"
grep -q "lookup main suppress_prefixlength 0" <<<"$(n1 ip rule show)" || die "no suppress rule: $(n1 ip rule show)"
grep -q "lookup main suppress_prefixlength 0" <<<"$(n1 ip -6 rule show)" || die "no IPv6 suppress rule: $(n1 ip -6 rule show)"
grep -q "default dev tr0" <<<"$(n1 ip -6 route show table 4500)" || die "no IPv6 default route in table 4500"
[ "$(n1 sysctl -n net.ipv4.conf.all.src_valid_mark)" = 1 ] || die "src_valid_mark not set (strict rp_filter would drop the peer's datagrams)"
tx0=$(counter a tx_packets)
n1 ping -c 3 -i 0.2 -W 2 198.51.100.7 >/dev/null || { diag; die "198.51.100.7 not reached through the tunnel"; }
[ $(( $(counter a tx_packets) - tx0 )) -ge 3 ] || die "the pings did not go through the tunnel"
[ "$(counter a tx_drop_loop)" = 0 ] || die "a found a loop: the mark does not keep ESP outside"
grep -q "dev tr0" <<<"$(n1 ip route get 198.51.100.7)" || die "198.51.100.7 is not routed into tr0: $(n1 ip route get 198.51.100.7)"
grep -q "dev tr-$$-va" <<<"$(n1 ip route get 203.0.113.2 mark 4500)" || die "the marked endpoint is not routed outside"
down a
grep -q "lookup 4500" <<<"$(n1 ip rule show)" && die "rules left behind after down: $(n1 ip rule show)"
grep -q "suppress_prefixlength" <<<"$(n1 ip rule show)" && die "suppress rule left behind"
grep -q "suppress_prefixlength" <<<"$(n1 ip -6 rule show)" && die "IPv6 suppress rule left behind"
pretty "rules gone after down"

pretty "2. a loop: b routes a's endpoint (192.0.2.1) into tr0"
down b
conf a
conf b
up a
up b
n1 ping -c 1 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"
n2 ip route add 192.0.2.1/32 dev tr0
n2 ping -c 10 -i 0.1 -W 1 198.18.0.1 >/dev/null 2>&1 || true
loops=$(counter b tx_drop_loop)
[ "$loops" -ge 10 ] || { diag; die "tx_drop_loop $loops after 10 pings into a loop, want >= 10"; }
# No spin: a dropped loop packet is not resent, so the counter stands still
# once nothing new is sent.
sleep 0.5
[ "$(counter b tx_drop_loop)" -le $((loops + 5)) ] || die "tx_drop_loop still racing: $loops -> $(counter b tx_drop_loop)"
kill -0 "$UP_PID_b" || die "b died"
n2 ip route del 192.0.2.1/32 dev tr0
n2 ping -c 1 -W 2 198.18.0.1 >/dev/null || die "b -> a does not work after the loop route went"
pretty "b: tx_drop_loop $loops for 10 pings, then still; traffic again without the route"
pretty "PASS"
