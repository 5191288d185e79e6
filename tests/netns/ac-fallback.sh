#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# DTLS that cannot come up (UDP blocked from the start): the session runs on
# CSTP, tries DTLS again, and takes it once UDP passes. Then DTLS fallback
# and return: with traffic flowing over DTLS, nftables in the
# client's namespace drops the server's UDP port; after 2 x DPD of silence
# the session carries on over CSTP (TLS); once UDP passes again a new DTLS
# handshake takes the data back. A ping runs across both switches.
# usage: ac-fallback.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/ac-lib.sh"
AC_DPD=2 # seconds: DTLS is given up after 4 s of silence
ac_begin nft:nftables </dev/null

block() {
	n1 nft add table inet tr_acfb
	n1 nft add chain inet tr_acfb out '{ type filter hook output priority 0; }'
	n1 nft add chain inet tr_acfb in '{ type filter hook input priority 0; }'
	n1 nft add rule inet tr_acfb out udp dport $PORT drop
	n1 nft add rule inet tr_acfb in udp sport $PORT drop
}

pretty "UDP blocked from the start: CSTP carries the data, DTLS is tried again"
block
ac_connect acfb
[ "$(ac_show acfb state)" = cstp ] || die "not on CSTP: $(tunroom1 show acfb)"
n1 ping -c 2 -i 0.2 -W 2 $POOL_GW >/dev/null || die "no ping over CSTP while DTLS cannot come up"
failed() { [ "$(ac_show acfb dtls_handshake_failures)" -ge 1 ]; }
wait_for 10 failed || die "the DTLS handshake did not fail: $(tunroom1 show acfb)"
n1 nft delete table inet tr_acfb
ac_wait_state acfb dtls 15 || die "DTLS did not come up once UDP passed: $(tunroom1 show acfb)"
bg 1 ping -i 0.2 -c 150 -W 1 $POOL_GW
ping_pid=${TR_PIDS[-1]}

pretty "UDP to and from port $PORT dropped mid-flow"
block
ac_wait_state acfb cstp 15 || die "no fallback to CSTP: $(tunroom1 show acfb)"
[ "$(ac_show acfb dtls_fallbacks)" -ge 1 ] || die "fallback not counted"
before=$(ac_show acfb cstp_rx_data)
n1 ping -c 3 -i 0.2 -W 2 $POOL_GW >/dev/null || die "no ping over CSTP after the fallback"
[ "$(ac_show acfb cstp_rx_data)" -gt "$before" ] || die "the pings did not come over CSTP"

pretty "UDP passes again"
n1 nft delete table inet tr_acfb
ac_wait_state acfb dtls 20 || die "DTLS did not come back: $(tunroom1 show acfb)"
before=$(ac_show acfb dtls_rx_data)
n1 ping -c 3 -i 0.2 -W 2 $POOL_GW >/dev/null || die "no ping over DTLS after it came back"
[ "$(ac_show acfb dtls_rx_data)" -gt "$before" ] || die "the pings did not come over DTLS"
tunroom1 show acfb -s >&2

kill -INT "$ping_pid" 2>/dev/null || true
wait "$ping_pid" 2>/dev/null || true
ac_down acfb
echo "PASS: ac-fallback"
