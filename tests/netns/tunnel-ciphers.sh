#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Each cipher end to end: IPv4 tiny and MTU-sized (DF set) and IPv6 pings
# through the tunnel, counters on both sides, then `tunroom down` on one side
# and SIGTERM on the other: both exit 0 and remove their device. The same
# with the copy path (ZeroCopy = off) and the two other thread layouts: an
# engine thread per end (Inline = off) and a send and a receive thread
# (Workers = 2) instead of the default one worker running to completion.
# And one end sealing with OpenSSL against the other on the default AES-GCM
# code (Crypto = auto: ipsec-mb where built in): the wire is the same.
# usage: tunnel-ciphers.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

topology
# The last rounds: the copy-path baseline and the other thread layouts.
for round in aes128-gcm aes256-gcm aes128-cbc-sha1 aes256-cbc-sha256 copy-path engine-thread \
	two-workers mixed-crypto; do
	cipher=$round inline=on workers=1
	TR_IFACE_EXTRA=
	a_extra=
	case $round in
	copy-path) cipher=aes128-gcm TR_IFACE_EXTRA="ZeroCopy = off" ;;
	engine-thread) cipher=aes128-gcm TR_IFACE_EXTRA="Inline = off" inline=off workers=2 ;;
	two-workers) cipher=aes128-gcm TR_IFACE_EXTRA="Workers = 2" workers=2 ;;
	mixed-crypto) cipher=aes256-gcm a_extra="Crypto = openssl" ;;
	esac
	pretty "cipher $cipher $TR_IFACE_EXTRA $a_extra"
	keys "$cipher"
	TR_IFACE_EXTRA="$TR_IFACE_EXTRA${a_extra:+$'\n'$a_extra}" conf a
	conf b
	up a
	up b
	n1 ping -c 2 -i 0.2 -W 2 -s 1 198.18.0.2 >/dev/null || die "$cipher: tiny IPv4 ping failed"
	# 1400-byte IP packets: the MTU; with DF they cannot be fragmented.
	n1 ping -c 2 -i 0.2 -W 2 -s 1372 -M do 198.18.0.2 >/dev/null || die "$cipher: MTU-sized ping failed"
	n2 ping -6 -c 2 -i 0.2 -W 2 -s 1352 fd00:7272::1 >/dev/null || die "$cipher: IPv6 ping failed"
	n1 ping -c 1 -W 1 -s 1373 -M do 198.18.0.2 >/dev/null 2>&1 && die "$cipher: over-MTU packet passed with DF"
	for side in a b; do
		rx=$(counter $side rx_packets)
		auth=$(counter $side rx_err_auth)
		[ "$rx" -ge 6 ] || die "$cipher: side $side rx_packets=$rx, want >= 6"
		[ "$auth" -eq 0 ] || die "$cipher: side $side rx_err_auth=$auth"
	done
	[ "$(counter a cipher)" = "$cipher" ] || die "show does not name $cipher"
	[ "$(counter a inline)" = "$inline" ] || die "$round: show says inline $(counter a inline)"
	[ "$(counter a workers)" = "$workers" ] || die "$round: show says workers $(counter a workers)"
	case $cipher,$a_extra,$(counter a crypto) in
	*-gcm,,ipsec-mb*|*-gcm,,openssl|*-gcm,Crypto*,openssl|*-sha*,,"openssl cbc+hmac") ;;
	*) die "$round: show says crypto '$(counter a crypto)'" ;;
	esac
	[ "$round" = mixed-crypto ] && b_crypto=$(counter b crypto)
	copied=$(counter a tx_copied_bytes)
	if [ "$round" = copy-path ]; then
		[ "$copied" -gt 0 ] || die "ZeroCopy = off copied nothing"
	else
		[ "$copied" -eq 0 ] || die "zero-copy path copied $copied bytes"
	fi
	down a
	kill -TERM "$UP_PID_b"
	wait "$UP_PID_b" || die "$cipher: SIGTERM exit status $?"
	ip -n "$(ns_name 2)" link show tr0 >/dev/null 2>&1 && die "$cipher: tr0 left behind after SIGTERM"
done
echo "PASS: 4 ciphers, the copy path, Inline = off and Workers = 2, OpenSSL against $b_crypto, IPv4 and IPv6, tiny and MTU-sized, down and SIGTERM"
