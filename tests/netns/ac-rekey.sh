#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# DTLS rekey by a fresh handshake: every few seconds (a test hook stands in
# for ocserv's two-day X-DTLS-Rekey-Time) tunroom connect runs a new DTLS
# handshake on a new socket and swaps the channel under a running TCP
# transfer; ocserv takes the new session as the active one, the data keeps
# its SHA-256, and the session never leaves DTLS for CSTP. With two data
# threads (a test hook; machines under 4 CPUs pick one, which the other ac-*
# tests run): a swap must wait for both, the tx thread by its hazard pointer.
# usage: ac-rekey.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/ac-lib.sh"
ac_begin </dev/null
ac_data 10

export TUNROOM_TEST_DTLS_REKEY=3 TUNROOM_TEST_AC_THREADS=2
ac_connect acrk
unset TUNROOM_TEST_DTLS_REKEY TUNROOM_TEST_AC_THREADS
ac_wait_state acrk dtls 10 || die "DTLS did not come up: $(tunroom1 show acrk)"
[ "$(ac_show acrk data_threads)" = 2 ] || die "data_threads: $(ac_show acrk data_threads)"
[ "$(ac_show acrk inline)" = on ] || die "inline: $(ac_show acrk inline)"
rekeyed() { [ "$(ac_show acrk dtls_rekeys)" -ge "$1" ]; }
ac_tcp 1 2 $POOL_GW
ac_tcp 2 1 "$(ac_addr acrk)"
wait_for 10 rekeyed 2 || die "fewer than 2 rekeys: $(tunroom1 show acrk)"
n1 ping -c 3 -i 0.2 -W 2 $POOL_GW >/dev/null || die "no ping after the rekeys"
[ "$(ac_show acrk state)" = dtls ] || die "not on DTLS after the rekeys"
[ "$(ac_show acrk dtls_fallbacks)" = 0 ] || die "a rekey fell back to CSTP: $(tunroom1 show acrk)"
[ "$(ac_show acrk cstp_tx_data)" -lt 10 ] || die "data went over CSTP during the rekeys"
tunroom1 show acrk -s >&2
ac_down acrk
echo "PASS: ac-rekey"
