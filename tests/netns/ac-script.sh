#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunroom connect -s SCRIPT calls it the vpnc-script way: reason=pre-init,
# connect (which sets the device up here: traffic must flow) and disconnect,
# with TUNDEV, VPNGATEWAY, INTERNAL_IP4_*, the server's DNS, default domain
# and split routes (CISCO_SPLIT_INC and its numbered variables); disconnect
# runs from a helper that kept root's capabilities. IPv6: the server's
# address for the client reaches the script, and IPv6 crosses the tunnel.
# usage: ac-script.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/ac-lib.sh"
ac_begin <<'CONF'
dns = 192.0.2.53
default-domain = example.test
route = 198.51.100.0/255.255.255.0
route = 192.0.2.128/25
ipv6-network = fd00:77::/64
CONF

cat >"$WORK/script.sh" <<SCRIPT
#!/bin/sh
{ env; grep ^CapEff /proc/\$\$/status | tr -d '\t'; } | sort >"$WORK/env.\$reason"
[ "\$reason" = connect ] || exit 0
ip link set dev "\$TUNDEV" up mtu "\$INTERNAL_IP4_MTU"
ip addr add "\$INTERNAL_IP4_ADDRESS/\$INTERNAL_IP4_NETMASKLEN" dev "\$TUNDEV"
ip -6 addr add "\$INTERNAL_IP6_NETMASK" dev "\$TUNDEV" nodad
ip -6 route add fd00:77::/64 dev "\$TUNDEV"
SCRIPT
chmod +x "$WORK/script.sh"
echo secretpw | tunroom1 connect -b --pid-file "$WORK/acs.pid" -i acsc -s "$WORK/script.sh" \
	--servercert "pin-sha256:$PIN" -u user1 --passwd-on-stdin "$SERVER" 2>"$WORK/acs.log" ||
	die "connect: $(cat "$WORK/acs.log")"
TR_PIDS+=("$(cat "$WORK/acs.pid")")
n1 ping -c 2 -i 0.2 -W 2 $POOL_GW >/dev/null || die "no ping with the script's device setup"
n1 ping -6 -c 2 -i 0.2 -W 2 fd00:77::1 >/dev/null || die "no IPv6 ping through the tunnel"
has() { grep -qx -- "$2" "$WORK/env.$1" || die "reason=$1: no '$2' in: $(cat "$WORK/env.$1")"; }
has pre-init "reason=pre-init"
has connect "reason=connect"
has connect "TUNDEV=acsc"
has connect "VPNGATEWAY=$SRV"
has connect "INTERNAL_IP4_ADDRESS=$(ac_addr acsc)"
has connect "INTERNAL_IP4_NETMASK=255.255.255.0"
has connect "INTERNAL_IP4_NETMASKLEN=24"
has connect "INTERNAL_IP4_MTU=$(ac_show acsc mtu)"
has connect "INTERNAL_IP4_DNS=192.0.2.53"
has connect "CISCO_DEF_DOMAIN=example.test"
has connect "CISCO_SPLIT_INC=2"
has connect "CISCO_SPLIT_INC_0_ADDR=198.51.100.0"
has connect "CISCO_SPLIT_INC_0_MASK=255.255.255.0"
has connect "CISCO_SPLIT_INC_0_MASKLEN=24"
has connect "CISCO_SPLIT_INC_1_ADDR=192.0.2.128"
has connect "CISCO_SPLIT_INC_1_MASKLEN=25"
addr6=$(ac_show acsc address6)
[[ $addr6 == fd00:77::*/* ]] || die "no IPv6 address from the server: '$addr6'"
has connect "INTERNAL_IP6_NETMASK=$addr6"
has connect "INTERNAL_IP6_ADDRESS=${addr6%/*}"
addr=$(ac_addr acsc)
ac_down acsc
has disconnect "reason=disconnect"
has disconnect "TUNDEV=acsc"
has disconnect "INTERNAL_IP4_ADDRESS=$addr"
# The session runs without capabilities; its script's root helper keeps them
# for disconnect (routes, DNS).
grep -q "^CapEff:0000000000000000$" "$WORK/env.disconnect" && die "disconnect ran without capabilities"
echo "PASS: ac-script"
