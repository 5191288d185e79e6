#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Restarts with the same static keys (docs/config.md, "Restarts"): under
# load both ways, one end is killed with SIGKILL at a random moment and
# started again, three times, each end in turn. Each time traffic must flow
# both ways within 2 s of the restarted end answering, and the peer logs that
# it restarted. Then ESP datagrams captured before the last restart are sent
# to the restarted end again: none may be delivered (anti-replay kept).
# usage: tunnel-restart.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"
RAW=$(dirname "$(readlink -f "$0")")/udpraw.py

diag() {
	for side in a b; do show "$side" -s >&2 || true; done
	cat "$WORK"/log.* >&2 2>/dev/null || true
}

topology
keys aes128-gcm
conf a
conf b
# Logs kept, to find "peer seems to have restarted" in them.
up_logged() { # SIDE
	local ns=1
	[ "$1" = b ] && ns=2
	mkdir -p "$WORK/run-$1"
	bg "$ns" sh -c "exec env TUNROOM_RUN_DIR='$WORK/run-$1' TUNROOM_STATE_DIR='$WORK/state-$1' \
		'$TUNROOM' up '$WORK/$1.conf' 2>>'$WORK/log.$1'"
	eval "UP_PID_$1=${TR_PIDS[-1]}"
	wait_for 10 show "$1" || { diag; die "tunroom up ($1) did not come up"; }
}
up_logged a
up_logged b
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"

# Load both ways for the whole test: 200 pings a second each way.
bg 1 ping -q -i 0.005 -w 30 198.18.0.2
bg 2 ping -q -i 0.005 -w 30 198.18.0.1

# both_ways: one ping each way answered within 2 s in all.
both_ways() {
	local deadline=$((SECONDS + 2))
	until ip netns exec "$(ns_name 1)" ping -c 1 -W 0.2 198.18.0.2 >/dev/null 2>&1; do
		[ "$SECONDS" -le "$deadline" ] || return 1
	done
	until ip netns exec "$(ns_name 2)" ping -c 1 -W 0.2 198.18.0.1 >/dev/null 2>&1; do
		[ "$SECONDS" -le "$deadline" ] || return 1
	done
}

round=0
for side in b a b; do
	round=$((round + 1))
	other=a
	[ "$side" = a ] && other=b
	if [ "$round" = 3 ]; then
		# What a sends to b before b's last restart, to be replayed after it.
		rm -rf "$WORK/cap"
		mkdir -p "$WORK/cap"
		# Datagrams to UDP port 9999 among them: after the restart a
		# listener there must see none of them again.
		bg 1 python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(600):
    s.sendto(b"replay-me", ("198.18.0.2", 9999)); time.sleep(0.005)'
		n2 python3 "$RAW" capture-many "tr-$$-vb" 4500 "$WORK/cap" 40 3 >"$WORK/ncap" ||
			die "captured nothing from a"
		wait "${TR_PIDS[-1]}" || true
	fi
	restarts0=$(counter "$other" peer_restarts)
	sleep "0.$((RANDOM % 9 + 1))"
	pid=$(eval echo "\$UP_PID_$side")
	pretty "round $round: SIGKILL $side (pid $pid) under load"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	up_logged "$side"
	t0=$(date +%s.%N)
	both_ways || { diag; die "round $round: no traffic both ways within 2 s of restarting $side"; }
	pretty "round $round: both ways again after $(python3 -c "import time; print('%.2f' % (time.time() - $t0))") s"
	said() { [ "$(counter "$other" peer_restarts)" -gt "$restarts0" ]; }
	wait_for 2 said || { diag; die "round $round: $other did not notice $side's restart"; }
done
grep -q "peer seems to have restarted" "$WORK/log.a" ||
	{ diag; die "a's log does not say that b restarted"; }
grep -q "restarted from" "$WORK/log.b" || { diag; die "b's log does not say it restarted from its state"; }
[ "$(stat -c %a "$WORK/state-b/tr0.state")" = 600 ] || die "state file mode is not 0600"

# Replay, the load stopped: a listener on b's port 9999 counts what arrives.
for pid in "${TR_PIDS[@]:2:2}"; do kill "$pid" 2>/dev/null || true; done
n=$(cat "$WORK/ncap")
bg 2 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.2", 9999)); s.settimeout(2)
open(sys.argv[1] + ".ready", "w").close()
n = 0
try:
    while True:
        s.recv(100); n += 1
except socket.timeout:
    pass
open(sys.argv[1], "w").write(str(n))' "$WORK/heard"
lpid=${TR_PIDS[-1]}
wait_for 5 test -e "$WORK/heard.ready" || die "listener did not start"
replay0=$(counter b rx_drop_replay)
n1 python3 "$RAW" send 192.0.2.1:4500 192.0.2.2:4500 --dir "$WORK/cap" >/dev/null
counted() { [ $(( $(counter b rx_drop_replay) - replay0 )) -ge "$n" ]; }
wait_for 3 counted || { diag; die "replayed $n datagrams from before the restart: rx_drop_replay rose by $(( $(counter b rx_drop_replay) - replay0 ))"; }
wait "$lpid" || die "listener failed"
[ "$(cat "$WORK/heard")" = 0 ] || { diag; die "replayed $n datagrams from before the restart: $(cat "$WORK/heard") reached port 9999 again"; }
pretty "replayed $n datagrams captured before b's restart: all refused (rx_drop_replay), none delivered to port 9999"
both_ways || die "no traffic after the replay"
pretty "PASS"
