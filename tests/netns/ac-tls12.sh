#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An ocserv that speaks TLS 1.2 only: the PSK exported from a TLS 1.2
# session (RFC 5705, no context) still matches the server's, so DTLS comes
# up; and with --no-dtls the data plane's TLS 1.2 records (explicit nonce)
# carry the data. 2 MiB each way, checked by SHA-256, in both runs.
# usage: ac-tls12.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/ac-lib.sh"
AC_TLS_PRIO="NORMAL:%SERVER_PRECEDENCE:%COMPAT:-VERS-TLS-ALL:+VERS-TLS1.2"
ac_begin </dev/null
ac_data 2

for mode in dtls cstp; do
	args=()
	[ $mode = cstp ] && args=(--no-dtls)
	pretty "TLS 1.2, data over $mode"
	ac_connect t12$mode "${args[@]}"
	ac_wait_state t12$mode $mode 10 || die "state is not $mode: $(tunroom1 show t12$mode)"
	tls=$(ac_show t12$mode tls)
	[[ $tls == "(TLS1.2)-"* ]] || die "not TLS 1.2: $tls"
	ac_tcp 1 2 $POOL_GW
	ac_tcp 2 1 "$(ac_addr t12$mode)"
	[ "$(ac_show t12$mode ${mode}_rx_data)" -gt 1400 ] || die "$mode did not carry the data"
	ac_down t12$mode
done
echo "PASS: ac-tls12"
