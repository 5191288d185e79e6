#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An idle tunnel sleeps: with no traffic its threads wake only when a timer
# is due (keepalives; with nothing due every 5 s), not 25 times a second
# as the fixed 50 ms upkeep and 200 ms worker timeouts made them.
# Side a runs one worker and PersistentKeepalive = 2, side b two workers
# (Workers = 2) and no keepalive. Each tunroom process, summed over its
# threads, must switch context fewer than MAX_WAKES_PER_S times a second
# over IDLE_S idle seconds (/proc/PID/task/*/status; 25-30 before, about 1 now).
#
# Then restart safety after the idle spell: the upkeep slept, so traffic
# that starts now must still find its sequence numbers reserved (the
# workers poke the upkeep at half of each block). With small blocks
# (TUNROOM_TEST_UPKEEP_BLOCK) a ping flood crosses several, and neither
# side may drop a packet as unsaved (tx_drop_unsaved, rx_drop_unsaved).
# usage: tunnel-idle.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

IDLE_S=4
MAX_WAKES_PER_S=4
# Half a block is the margin the upkeep has to sync the next one: ~0.4 s
# at this flood's rate, for scheduling delays and a slow disk on a busy
# machine (8192 lost 16 pings once under a parallel make check). Without
# the pokes, the upkeep's idle sleep (5 s) outlasts the first block.
BLOCK=32768
FLOOD=50000

# wakes PID: context switches of all of PID's threads so far.
wakes() {
	cat /proc/"$1"/task/*/status | awk '/^(non)?voluntary_ctxt_switches/ { n += $2 } END { print n }'
}

topology
keys aes128-gcm
TR_UP_ENV="TUNROOM_TEST_UPKEEP_BLOCK=$BLOCK"
conf a "PersistentKeepalive = 2"
TR_IFACE_EXTRA="Workers = 2" conf b
up a
up b
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"
# Hellos answered, the busy turns after the pings over.
sleep 1
w0a=$(wakes "$UP_PID_a") w0b=$(wakes "$UP_PID_b")
sleep "$IDLE_S"
wa=$(( $(wakes "$UP_PID_a") - w0a )) wb=$(( $(wakes "$UP_PID_b") - w0b ))
pretty "idle ${IDLE_S} s: a (one worker, keepalives) woke $wa times, b (two workers) $wb times"
for side in a b; do
	w=$(eval echo "\$w$side")
	[ "$w" -lt $(( MAX_WAKES_PER_S * IDLE_S )) ] ||
		{ diag; die "side $side: $w context switches in $IDLE_S idle seconds, want < $(( MAX_WAKES_PER_S * IDLE_S ))"; }
done
[ "$(counter b rx_control)" -ge 1 ] || { diag; die "b took no keepalive from a while idle"; }

pretty "right after the idle spell: $FLOOD pings flooded, blocks of $BLOCK numbers"
n1 ping -f -l 16 -c "$FLOOD" -w 30 198.18.0.2 | tail -2 >&2
for side in a b; do
	expect "$side" tx_drop_unsaved -eq 0
	expect "$side" rx_drop_unsaved -eq 0
done
# Half-block marks crossed each way after the idle spell (at BLOCK / 2 and
# one past the first block), or the check above proved nothing.
expect a tx_packets -ge $(( BLOCK * 3 / 2 ))
expect b tx_packets -ge $(( BLOCK * 3 / 2 ))
pretty "PASS"
