#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faults the tunnel must survive, each bounded in time and packets:
#  1. flood: a peer sends valid ESP as fast as the kernel takes it, far above
#     what side b carries. b keeps running, its RSS stays flat, every datagram
#     is delivered or in a named drop counter (the accounting invariant), and
#     both directions work afterwards.
#  2. peer gone: side b stops while side a sends; a counts the ICMP errors
#     (tx_err_unreachable), keeps running, and carries traffic again once b
#     is back.
#  3. TUN device deleted under a running tunnel: tunroom exits on its own,
#     within seconds, with a message naming the device, and leaves nothing.
# usage: tunnel-faults.sh TUNROOM ESPFLOOD
TUNROOM=$1
ESPFLOOD=$2
source "$(dirname "$0")/tunnel-lib.sh"

FLOOD_SECONDS=${FLOOD_SECONDS:-4}
# RSS may grow this much over a flood once the ring has been touched whole:
# the data plane allocates nothing per packet, but glibc may still hand a
# thread a little more heap or stack for a message, and /proc rounds to pages.
RSS_BOUND_KB=512

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# snapshot SIDE NS FILE: tunroom's counters + the kernel's for tr0 and the
# veth pair, as one JSON object, for the accounting below.
snapshot() {
	local side=$1 ns=$2 out=$3
	{
		show "$side" --json
		echo
		ip -n "$(ns_name "$ns")" -s -j link show tr0
		echo
		ip -n "$(ns_name 1)" -s -j link show "tr-$$-va"
		echo
		ip -n "$(ns_name 2)" -s -j link show "tr-$$-vb"
	} >"$out"
}

# account BEFORE AFTER SENT: the flood's accounting on side b, printed; fails
# unless every datagram sent is delivered or counted dropped, at both stages:
#   sent      = datagrams b's socket returned + lost in the kernel before it
#               (rx_drop_socket: the receive buffer overflowed; the veth pair's
#               own drop counters, should the backlog overflow)
#   datagrams = rx_packets (into the ingress ring) + every other rx drop
#   rx_packets = packets tr0 took from the engine + engine write errors
account() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys

def load(path):
    parts = [json.loads(x) for x in open(path).read().split("\n") if x.strip()]
    s = parts[0][0]["stats"]
    tun = parts[1][0]["stats64"]["rx"]["packets"]
    veth = parts[2][0]["stats64"]["tx"]["dropped"] + parts[3][0]["stats64"]["rx"]["dropped"]
    return s, tun, veth

(s0, tun0, v0), (s1, tun1, v1) = load(sys.argv[1]), load(sys.argv[2])
sent = int(sys.argv[3])
d = {k: s1[k] - s0[k] for k in s1 if isinstance(s1[k], int) and k in s0}
sock, veth = d["rx_drop_socket"], v1 - v0
# rx_datagrams counts every source; rx_drop_peer is a second count of some
# of them (from another address, not authentic: also under their reason);
# rx_control took authentic keepalives and hellos, which are no packets.
grams = d["rx_datagrams"] + d["rx_drop_trunc"]
after_socket = sum(v for k, v in d.items() if k.startswith(("rx_err_", "rx_drop_"))
                   and k not in ("rx_drop_socket", "rx_drop_malformed_inner",
                                 "rx_err_tun_write", "rx_drop_peer")) + d["rx_control"]
engine = d["rx_drop_malformed_inner"] + d["rx_err_tun_write"]
print(f"flood: sent {sent}; b's socket returned {grams}, kernel dropped {sock} (socket) + {veth} (veth); "
      f"ring took {d['rx_packets']}, dropped after decap {after_socket}; tr0 took {tun1 - tun0}, "
      f"engine dropped {engine}; ring-full waits {d['rx_ring_full_waits']}")
if sock + veth == 0 and d["rx_ring_full_waits"] == 0:
    print("NOTE: side b kept up with the flood on this machine: the drop paths were not exercised")
ok = True
if sent != grams + sock + veth:
    print(f"FAIL: sent {sent} != returned {grams} + socket drops {sock} + veth drops {veth}")
    ok = False
if grams != d["rx_packets"] + after_socket:
    print(f"FAIL: returned {grams} != into the ring {d['rx_packets']} + drops {after_socket}")
    ok = False
if d["rx_packets"] != (tun1 - tun0) + engine:
    print(f"FAIL: into the ring {d['rx_packets']} != tr0 rx {tun1 - tun0} + engine drops {engine}")
    ok = False
sys.exit(0 if ok else 1)
PY
}

# settled SIDE NS: nothing left in flight on the receive path: the UDP
# socket's queue is empty and tunroom's and tr0's counters stand still.
rx_state() {
	local side=$1 ns=$2
	show "$side" --json | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats"]; print(s["rx_datagrams"], s["rx_packets"])'
	ip -n "$(ns_name "$ns")" -s -j link show tr0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'
	ip netns exec "$(ns_name "$ns")" ss -Huna 'sport = :4500' | awk '{ print "recvq", $2 }'
}
settled() {
	local a b
	a=$(rx_state "$1" "$2")
	sleep 0.3
	b=$(rx_state "$1" "$2")
	[ "$a" = "$b" ] && grep -q '^recvq 0$' <<<"$b"
}

topology
keys aes128-gcm

pretty "1. flood: valid ESP from a's address at full speed into side b (SocketBuffer 256K)"
TR_IFACE_EXTRA="SocketBuffer = 256K" conf b
conf a
up b
out_spi=$(awk '$1 == "OutSPI" { print $3 }' "$WORK/keys.a")
out_key=$(awk '$1 == "OutKey" { print $3 }' "$WORK/keys.a")
coproc FLOOD { ip netns exec "$(ns_name 1)" "$ESPFLOOD" 192.0.2.1:4500 192.0.2.2:4500 aes128-gcm "$out_spi" "$out_key"; }
TR_PIDS+=("$FLOOD_PID")
flood() { # PPS SECONDS DPORT -> "sent N recv M"
	echo "send $1 $2 $3" >&"${FLOOD[1]}"
	read -r -t $(( ${2%.*} + 20 )) line <&"${FLOOD[0]}" || die "espflood did not answer"
	echo "$line"
}
# A first flood touches the whole ring and grows the socket buffer, so the
# RSS measured after it is the working set, not a cold start.
warm=$(flood 0 1 9)
pid=$UP_PID_b
rss0=$(rss_kb "$pid") fds0=$(fd_count "$pid")
wait_for 10 settled b 2 || die "side b still busy after the warm-up flood"
snapshot b 2 "$WORK/before"
res=$(flood 0 "$FLOOD_SECONDS" 9)
sent=$(awk '{ print $2 }' <<<"$res")
pretty "warm-up: $warm; flood of ${FLOOD_SECONDS}s: $res ($((sent / FLOOD_SECONDS)) datagrams/s)"
kill -0 "$pid" 2>/dev/null || die "side b died under the flood"
wait_for 20 settled b 2 || die "side b did not drain after the flood"
snapshot b 2 "$WORK/after"
account "$WORK/before" "$WORK/after" "$sent" || { show b -s >&2; die "flood accounting does not add up"; }
rss1=$(rss_kb "$pid") fds1=$(fd_count "$pid")
pretty "side b: VmRSS ${rss0} kB -> ${rss1} kB, fds ${fds0} -> ${fds1}"
[ $((rss1 - rss0)) -le "$RSS_BOUND_KB" ] || die "RSS grew by $((rss1 - rss0)) kB over the flood (bound $RSS_BOUND_KB kB)"
[ "$fds1" -eq "$fds0" ] || die "fd count moved over the flood: $fds0 -> $fds1"

pretty "1b. after the flood: b still decapsulates (200 probes at 1000/s reach a UDP socket) and encapsulates"
cat >"$WORK/count.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(3)
n = 0
try:
    while True:
        s.recv(2048)
        n += 1
except socket.timeout:
    pass
open(sys.argv[3], "w").write(str(n))
PY
bg 2 python3 "$WORK/count.py" 198.18.0.2 9001 "$WORK/probes"
probe_pid=${TR_PIDS[-1]}
wait_for 5 port_open 2 u 9001 || die "probe receiver did not start"
res=$(flood 1000 0.2 9001)
wait "$probe_pid" || die "probe receiver failed"
[ "$(cat "$WORK/probes")" -eq "$(awk '{ print $2 }' <<<"$res")" ] ||
	die "after the flood: $res, but $(cat "$WORK/probes") probes arrived"
# b's egress: pings from ns 2 to a's tunnel address go out as ESP to the
# flooder's socket (nobody answers them: the flooder does not decapsulate).
n2 ping -c 5 -i 0.1 -W 1 198.18.0.1 >/dev/null 2>&1 || true
res=$(flood 1 0.5 9)
[ "$(awk '{ print $4 }' <<<"$res")" -ge 5 ] || die "b sent no ESP after the flood ($res)"
echo quit >&"${FLOOD[1]}"
wait "$FLOOD_PID" 2>/dev/null || true
down b

pretty "2. peer gone: b stops while a sends; a counts the ICMP errors and lives on"
keys aes128-gcm
pair
unreach0=$(counter a tx_err_unreachable)
bg 1 ping -q -i 0.05 -c 400 -W 1 198.18.0.2
ping_pid=${TR_PIDS[-1]}
down b
# b's namespace answers with ICMP port unreachable; a's connected UDP socket
# reports it to the next send or receive, whichever comes first: both count.
unreachable() { [ "$(counter a tx_err_unreachable)" -gt "$unreach0" ]; }
wait_for 10 unreachable || die "tx_err_unreachable stayed at $unreach0 with the peer gone"
kill -0 "$UP_PID_a" 2>/dev/null || die "side a died when its peer went away"
pretty "a: tx_err_unreachable $unreach0 -> $(counter a tx_err_unreachable), tx_drop_send $(counter a tx_drop_send), still up"
kill "$ping_pid" 2>/dev/null
wait "$ping_pid" 2>/dev/null || true
# True counters (issue 14, item 5): every packet a's engine read from tr0 is
# sent (tx_packets) or dropped under exactly one reason; a datagram the
# socket refused is tx_drop_send, not also tx_packets. And the inbound SA's
# cipher failures are shown (rx_err_crypto), 0 here.
tx_state() {
	show a --json | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats"]
print(s["tx_packets"], s["tx_drop_send"], s["tx_drop_not_ip"], s["tx_err_encap"],
      s["tx_drop_gso_bad"], s["tx_drop_gso_room"])'
	ip -n "$(ns_name 1)" -s -j link show tr0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])'
}
# Settled: two reads 0.3 s apart agree, and that reading is the one checked.
# A fresh read after it could pair tunroom's counters with a kernel count
# that has just taken one more packet (an IPv6 router solicitation or MLD
# report the kernel sends on tr0 a few seconds after it came up), which
# tunroom has not read yet: seen once in make check, 24 read for 23 counted;
# an idle tr0 with an fd00 address sends one at about 4 s and 10 s after up.
tx_settled() { local x; x=$(tx_state); sleep 0.3; TX_NOW=$(tx_state); [ "$x" = "$TX_NOW" ]; }
# An unreachable route makes the socket refuse each send at once (the ICMP
# errors above may reach a receive first): five refused datagrams at least.
n1 ip route add unreachable 192.0.2.2/32
n1 ping -q -c 5 -i 0.05 -W 1 198.18.0.2 >/dev/null 2>&1 || true
n1 ip route del unreachable 192.0.2.2/32
wait_for 10 tx_settled || die "a's send path did not settle"
read -r txp txd txn txe txgb txgr tun_read <<<"$(tr '\n' ' ' <<<"$TX_NOW")"
[ "$tun_read" -eq $((txp + txd + txn + txe + txgb + txgr)) ] ||
	die "a read $tun_read packets from tr0, but sent $txp + dropped $txd (send) $txn (not IP) $txe (encap) $txgb/$txgr (gso)"
[ "$txd" -ge 5 ] || die "tx_drop_send $txd with the route unreachable for 5 pings"
[ "$(counter a rx_err_crypto)" = 0 ] || die "rx_err_crypto missing or not 0: $(counter a rx_err_crypto)"
pretty "a: read $tun_read from tr0 = sent $txp + refused $txd + other drops $((txn + txe + txgb + txgr))"
replay0=$(counter a rx_drop_replay)
up b
# b refuses a's numbers up to what its state file covers (nothing from before
# its restart is delivered again); its hello moves a past them, and a logs it.
restarted() { [ "$(counter a peer_restarts)" -ge 1 ]; }
wait_for 2 restarted || die "a did not take b's hello within 2 s (peer_restarts $(counter a peer_restarts))"
bg 2 python3 "$WORK/count.py" 198.18.0.2 9002 "$WORK/back"
probe_pid=${TR_PIDS[-1]}
wait_for 5 port_open 2 u 9002 || die "receiver did not start"
n1 python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(100):
    s.sendto(b"x" * 100, ("198.18.0.2", 9002)); time.sleep(0.002)'
wait "$probe_pid" || die "receiver failed"
[ "$(cat "$WORK/back")" -eq 100 ] || die "peer back: $(cat "$WORK/back") of 100 datagrams a -> b arrived"
# b -> a: the restarted b numbers its packets from 1 again under the same
# keys, so a drops them as replays until b passes where it stopped (see
# docs/security.md); a round trip must work again within seconds.
ping_once() { n1 ping -c 1 -W 1 198.18.0.2 >/dev/null 2>&1; }
wait_for 15 ping_once || die "no round trip within 15 s after the peer came back"
pretty "peer back: 100/100 datagrams a -> b; round trip again after a dropped $(( $(counter a rx_drop_replay) - replay0 )) of b's packets as replays"
down a
down b

pretty "3. TUN device deleted under a running tunnel: tunroom exits by itself, says why, leaves nothing"
up a 2>"$WORK/err.a"
pid=$UP_PID_a
n1 ip link del tr0
t0=$SECONDS
exited() { ! kill -0 "$pid" 2>/dev/null; }
wait_for 10 exited || die "tunroom still runs 10 s after its TUN device was deleted"
rc=0
wait "$pid" || rc=$?
cat "$WORK/err.a" >&2
pretty "tunroom up exited with status $rc within $((SECONDS - t0)) s"
[ "$rc" -ne 0 ] || die "tunroom up exited 0 although its device was taken away"
grep -q "tr0 stopped: the TUN device was deleted" "$WORK/err.a" || die "no message naming the deleted device"
[ -e "$WORK/run-a/tr0.sock" ] && die "control socket left behind"
ip -n "$(ns_name 1)" link show tr0 >/dev/null 2>&1 && die "tr0 came back"
echo "PASS: flood of $sent datagrams accounted, peer gone and back, TUN device deleted"
