#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sparse traffic (pings 50 ms apart, the default Offload = on): each wake-up
# of a worker for one datagram should cost three calls, a peek (MSG_PEEK)
# and the receive for it and one peek that finds the socket empty before
# sleeping again, not a fourth, an empty receive after that peek. The
# receive calls per datagram (rx_syscalls / rx_datagrams) must stay below
# 3.5 on both sides; they were 4 before the empty peek saved the receive.
# The pings themselves must all come back.
# usage: tunnel-sparse.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

PINGS=40
MAX_CALLS_PER_DGRAM=3.5

topology
keys aes128-gcm
pair
before_a=$(counter a rx_syscalls) dg_a=$(counter a rx_datagrams)
before_b=$(counter b rx_syscalls) dg_b=$(counter b rx_datagrams)
out=$(n1 ping -n -c "$PINGS" -i 0.05 -W 2 198.18.0.2) || die "pings lost: $(echo "$out" | tail -2)"
for side in a b; do
	calls=$(( $(counter $side rx_syscalls) - $(eval echo "\$before_$side") ))
	dgrams=$(( $(counter $side rx_datagrams) - $(eval echo "\$dg_$side") ))
	[ "$dgrams" -ge "$PINGS" ] || { diag; die "side $side: $dgrams datagrams for $PINGS pings"; }
	echo "side $side: $calls receive calls for $dgrams datagrams"
	python3 -c "import sys; sys.exit(not $calls / $dgrams < $MAX_CALLS_PER_DGRAM)" ||
		{ diag; die "side $side: $calls receive calls for $dgrams datagrams (want < $MAX_CALLS_PER_DGRAM each)"; }
done
down a
down b
echo "PASS"
