#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# openconnect 9.01 and tunroom connect logged in to the same ocserv at the
# same time, from the same namespace, each on its own device: both carry
# pings (bound to their device), and neither disturbs the other.
# usage: ac-openconnect.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/ac-lib.sh"
ac_begin openconnect </dev/null

# openconnect's script: address and link only; routes stay tunroom's.
cat >"$WORK/oc-script.sh" <<'SCRIPT'
#!/bin/sh
[ "$reason" = connect ] || exit 0
ip link set dev "$TUNDEV" up mtu "$INTERNAL_IP4_MTU"
ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
SCRIPT
chmod +x "$WORK/oc-script.sh"
echo secretpw | n1 openconnect --protocol=anyconnect --non-inter -b --pid-file "$WORK/oc.pid" \
	--servercert "pin-sha256:$PIN" -u user1 --passwd-on-stdin -i ocn0 \
	--script "$WORK/oc-script.sh" "$SERVER" >"$WORK/oc.log" 2>&1 || die "openconnect: $(cat "$WORK/oc.log")"
TR_PIDS+=("$(cat "$WORK/oc.pid")")
wait_for 15 n1 ip -4 addr show dev ocn0 scope global | grep -q inet || true
wait_for 15 bash -c "ip -n $(ns_name 1) -4 addr show dev ocn0 | grep -q inet" || die "openconnect: no address: $(cat "$WORK/oc.log")"

ac_connect actr
ac_wait_state actr dtls 10 || die "DTLS did not come up: $(tunroom1 show actr)"
bg 1 ping -I ocn0 -c 10 -i 0.2 -W 2 $POOL_GW
oc_ping=${TR_PIDS[-1]}
n1 ping -I actr -c 10 -i 0.2 -W 2 $POOL_GW >/dev/null || die "tunroom: no ping next to openconnect"
wait "$oc_ping" || die "openconnect: no ping next to tunroom"
grep -q "Established DTLS connection" "$WORK/oc.log" || pretty "(openconnect did not say DTLS)"
ac_down actr
n1 ping -I ocn0 -c 2 -i 0.2 -W 2 $POOL_GW >/dev/null || die "openconnect lost its session when tunroom left"
echo "PASS: ac-openconnect"
