#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile input on the wire: a peer with the wrong key (nothing delivered,
# auth failures counted), garbage datagrams from the peer's address (each
# counted in exactly one drop counter, tunnel keeps working), a replayed
# datagram (dropped, counted), garbage from another address (counted, and
# the log's hints say it is not the peer's), and a bad config line
# (FILE:LINE message).
# usage: tunnel-hostile.sh TUNROOM
TUNROOM=$1
RAW=$(dirname "$(readlink -f "$0")")/udpraw.py
source "$(dirname "$0")/tunnel-lib.sh"

drops() { # SIDE: sum of every rx_err_* and rx_drop_* counter
	show "$1" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats"]
print(sum(v for k, v in s.items() if k.startswith(("rx_err_", "rx_drop_")) and isinstance(v, int)))'
}

topology

pretty "wrong key: side b decrypts with a key side a never used"
keys aes256-gcm
sed -i "s/^InKey = 0x\(..\)/InKey = 0x$(printf '%02x' $((RANDOM % 256)))/" "$WORK/keys.b"
cmp -s <(grep InKey "$WORK/keys.b") <(grep OutKey "$WORK/keys.a" | sed 's/Out/In/') &&
	sed -i 's/^InKey = 0x\(.\)/InKey = 0xf/' "$WORK/keys.b"
conf a
conf b
up a
up b
n1 ping -c 3 -i 0.2 -W 1 198.18.0.2 >/dev/null 2>&1 && die "ping passed with a wrong key"
[ "$(counter b rx_err_auth)" -ge 3 ] || die "rx_err_auth=$(counter b rx_err_auth), want >= 3"
[ "$(counter b rx_packets)" -eq 0 ] || die "side b delivered packets with a wrong key"
down a
down b

pretty "garbage and replay against a working tunnel"
keys aes128-gcm
pair
before=$(drops b)
spi=$(grep '^OutSPI' "$WORK/keys.a" | awk '{print $3}')
sent=$(n1 python3 "$RAW" send 192.0.2.1:4500 192.0.2.2:4500 --garbage 60 "$spi")
# wait_for re-runs a command: the counters must be read inside it, each time.
drops_reach() { [ "$(drops b)" -ge "$1" ]; }
wait_for 5 drops_reach $((before + sent)) || true
after=$(drops b)
[ "$((after - before))" -eq "$sent" ] || die "sent $sent garbage datagrams, drop counters rose by $((after - before))"
[ "$(counter b rx_err_auth)" -ge 1 ] || die "garbage with the right SPI did not count as auth failures"
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel broken after garbage"

# Capture one real datagram a -> b, then send it again from a's address.
bg 2 python3 "$RAW" capture "tr-$$-vb" 4500 "$WORK/captured" 5
# The capturer may not be listening yet (python starts slowly under load):
# ping until it has caught one, rather than once after a fixed sleep.
ping_captured() {
	n1 ping -c 1 -W 1 198.18.0.2 >/dev/null 2>&1
	test -s "$WORK/captured"
}
wait_for 5 ping_captured || die "no datagram captured"
replays=$(counter b rx_drop_replay)
n1 python3 "$RAW" send 192.0.2.1:4500 192.0.2.2:4500 --file "$WORK/captured" >/dev/null
replays_reach() { [ "$(counter b rx_drop_replay)" -eq "$1" ]; }
wait_for 5 replays_reach $((replays + 1)) ||
	die "replayed datagram not counted (rx_drop_replay $replays -> $(counter b rx_drop_replay))"
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel broken after replay"
down a
down b

pretty "garbage from another address: counted, and the log does not blame the pair's keys"
# Anyone can send to the port (it is scanned on the internet): datagrams
# from an address other than the peer's that fail say nothing about the
# keys of a pair that works, and b's log must say where they came from.
conf a
conf b
up a
TR_UP_LOG=$WORK/b.err up b
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"
peer_before=$(counter b rx_drop_peer)
sent=$(n1 python3 "$RAW" send 192.0.2.1:4501 192.0.2.2:4500 --garbage 30 "$spi")
peer_reach() { [ "$(counter b rx_drop_peer)" -ge "$1" ]; }
# The first three (empty, NAT keepalive, non-ESP marker) are no ESP at all.
wait_for 5 peer_reach $((peer_before + sent - 3)) ||
	die "rx_drop_peer $peer_before -> $(counter b rx_drop_peer) after $sent from 192.0.2.1:4501"
hinted_other() { grep -q "other than the peer's (192.0.2.1:4500) with an SPI that is not InSPI" "$WORK/b.err"; }
wait_for 5 hinted_other || die "no hint about other addresses in b's log: $(cat "$WORK/b.err")"
grep -q 'failed authentication: a stranger' "$WORK/b.err" ||
	die "no hint about other addresses' auth failures in b's log: $(cat "$WORK/b.err")"
if grep -q 'from the peer with an SPI\|from the peer failed' "$WORK/b.err"; then
	die "b's log blames the peer for a stranger's datagrams: $(cat "$WORK/b.err")"
fi
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel broken after garbage from elsewhere"
down a
down b

pretty "a bad config line names FILE:LINE"
printf '[Interface]\nName = tr0\nLead = 3\n' >"$WORK/bad.conf"
chmod 600 "$WORK/bad.conf"
msg=$("$TUNROOM" up "$WORK/bad.conf" 2>&1) && die "bad config accepted"
grep -q "bad.conf:3" <<<"$msg" || die "message does not name bad.conf:3: $msg"
echo "PASS: wrong key, garbage datagrams, a replay, garbage from elsewhere, a config error"
