#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunroom(8) against the real tunnel: `up -d` returns only once the tunnel
# answers, a second `up` of the same tunnel fails cleanly, `show` (text, -s,
# --json) reports it, `down` ends the daemon and removes device and socket, and
# a config readable by others is refused even for root; up -d --pid-file
# has the tunnel's pid once up, refuses a second up over it, and is removed at
# the end or when the start fails; an up -d whose waiting parent is killed still
# comes up (no SIGPIPE), with its pid in its --pid-file; down, or the next up,
# removes the --pid-file of a tunnel that crashed.
# usage: tunnel-cli.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

topology
keys aes128-cbc-sha1
conf a
conf b
run() { # SIDE tunroom-args...: tunroom in the side's namespace and run dir
	local side=$1 ns=1
	shift
	[ "$side" = b ] && ns=2
	mkdir -p "$WORK/run-$side"
	ip netns exec "$(ns_name $ns)" env TUNROOM_RUN_DIR="$WORK/run-$side" TUNROOM_STATE_DIR="$WORK/state-$side" "$TUNROOM" "$@"
}

# A zombie has exited; only its reaping (by init, for a daemon) is pending.
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat"; }

pretty "up -d: detaches once the control socket answers"
for side in a b; do
	run $side up -d "$WORK/$side.conf" 2>"$WORK/up-$side.err" ||
		die "up -d ($side): $(cat "$WORK/up-$side.err")"
	# No wait: the parent returned after 'ready'.
	show $side >/dev/null || die "up -d ($side) returned before the tunnel answered"
done
pid_a=$(counter a pid) pid_b=$(counter b pid)
TR_PIDS+=("$pid_a" "$pid_b") # cleanup kills them if a check below fails
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "no traffic through daemonised tunnels"

pretty "a second up of the same tunnel fails and leaves the first alone"
msg=$(run a up -d "$WORK/a.conf" 2>&1) && die "second up -d succeeded"
grep -q '^tunroom up: tr0: ' <<<"$msg" || die "second up: unexpected message: $msg"
alive "$pid_a" || die "the first tunnel died"
n1 ping -c 1 -W 2 198.18.0.2 >/dev/null || die "traffic stopped after the failed second up"

pretty "show: text, -s and --json from the running tunnel"
out=$(show a)
grep -qE '^tr0: esp aes128-cbc-sha1 mtu 1400 state up pid [0-9]+ uptime [0-9]+s$' <<<"$out" ||
	die "show: first line: $out"
grep -q '^    listen 192.0.2.1:4500 endpoint 192.0.2.2:4500$' <<<"$out" || die "show: addresses: $out"
show a -s | grep -qE '^    RX:  packets  bytes' || die "show -s: no RX table"
show a -s | awk 'length > 100 { exit 1 }' || die "show -s: a row wider than 100 columns"
show a --json | python3 -c '
import json, sys
t = json.load(sys.stdin)
assert len(t) == 1, t
t = t[0]
assert t["name"] == "tr0" and t["cipher"] == "aes128-cbc-sha1" and t["mtu"] == 1400, t
assert t["listen"] == "192.0.2.1:4500" and t["endpoint"] == "192.0.2.2:4500", t
s = t["stats"]
assert s["rx_packets"] >= 3 and s["tx_packets"] >= 3 and s["rx_err_auth"] == 0, s
assert all(isinstance(v, int) for v in s.values()), s
' || die "show --json"

pretty "down: the daemon exits, device and socket go"
for side in a b; do
	pid=$(counter $side pid) ns=1
	[ $side = b ] && ns=2
	run $side down tr0 || die "down ($side)"
	alive "$pid" && die "tunnel $side (pid $pid) still runs after down"
	ip -n "$(ns_name $ns)" link show tr0 >/dev/null 2>&1 && die "tr0 left in ns $ns"
	[ -e "$WORK/run-$side/tr0.sock" ] && die "control socket of $side left"
done
msg=$(run a down tr0 2>&1) && die "down of a stopped tunnel succeeded"
grep -q 'no such tunnel' <<<"$msg" || die "down of a stopped tunnel: $msg"

pretty "a config readable by others is refused, also for root"
chmod 644 "$WORK/a.conf"
rc=0
msg=$(run a up "$WORK/a.conf" 2>&1) || rc=$?
[ "$rc" -eq 2 ] || die "up of a 0644 config: exit $rc"
grep -q "chmod 600 $WORK/a.conf" <<<"$msg" || die "no chmod hint: $msg"
chmod 600 "$WORK/a.conf"

pretty "keys not swapped on b: b says so in its log, within a few seconds, rate-limited"
# b takes a's lines unswapped: a's datagrams carry an SPI b does not expect.
cp "$WORK/keys.a" "$WORK/keys.b"
conf b
run a up -d "$WORK/a.conf" || die "up -d (a)"
mkdir -p "$WORK/run-b"
b_start=$SECONDS
bg 2 sh -c "exec env TUNROOM_RUN_DIR='$WORK/run-b' TUNROOM_STATE_DIR='$WORK/state-b' '$TUNROOM' up '$WORK/b.conf' 2>'$WORK/b.err'"
wait_for 10 show b || die "up (b) did not come up"
n1 ping -c 3 -i 0.2 -W 1 198.18.0.2 >/dev/null && die "ping worked with unswapped keys"
hinted() { grep -q "with an SPI that is not InSPI .*In and Out swapped" "$WORK/b.err"; }
wait_for 5 hinted || die "no SPI hint in b's log: $(cat "$WORK/b.err")"
# At most one such line per 10 s (tr0's own IPv6 traffic keeps coming).
lines=$(grep -c 'SPI that is not' "$WORK/b.err")
[ "$lines" -le $(((SECONDS - b_start) / 10 + 1)) ] ||
	die "$lines hints in $((SECONDS - b_start)) s: $(cat "$WORK/b.err")"
grep -q 'esn off' <<<"$(show b)" || die "show does not say esn: $(show b)"
run a down tr0 || die "down (a)"
run b down tr0 || die "down (b)"
grep -q 'tr0: tunroom down, stopping' "$WORK/b.err" || die "b's log does not say why it stopped: $(cat "$WORK/b.err")"

pretty "up -d -l LOG: start-up lines and why a detached tunnel stopped are in LOG, not on the terminal"
out=$(run a up -d -l "$WORK/a.log" "$WORK/a.conf" 2>&1) || die "up -d -l (a): $out"
[ -z "$out" ] || die "up -d -l printed on the terminal: $out"
grep -qE '^[0-9T:.-]+Z tunroom: tr0 up: esp ' "$WORK/a.log" || die "a.log lacks the start-up line: $(cat "$WORK/a.log")"
pid=$(counter a pid)
n1 ip link del tr0
gone() { ! alive "$pid"; }
wait_for 5 gone || die "tunnel a (pid $pid) still runs without its device"
grep -q "stopped: the TUN device was deleted" "$WORK/a.log" || die "a.log: $(cat "$WORK/a.log")"
[ "$(stat -c %a "$WORK/a.log")" = 600 ] || die "a.log mode $(stat -c %a "$WORK/a.log")"
# A start that fails (b's ListenAddress is not in namespace 1): the reason
# on the terminal, and in the log as well.
: >"$WORK/a.log"
msg=$(run a up -d -l "$WORK/a.log" "$WORK/b.conf" 2>&1) && die "up -d -l of b's config in a's namespace ran"
for where in terminal log; do
	[ $where = log ] && msg=$(cat "$WORK/a.log")
	grep -q 'UDP socket on 192.0.2.2:4500: not an address of this host' <<<"$msg" ||
		die "failed up -d -l: the reason is not in the $where: $msg"
	grep -q '^tunroom up: tr0: ' <<<"$msg" || die "failed up -d -l: no last line in the $where: $msg"
done
msg=$(run a up -l "$WORK/a.log" "$WORK/a.conf" 2>&1) && die "--log without -d accepted"
grep -q 'goes with -d' <<<"$msg" || die "--log without -d: $msg"

pretty "up -d --pid-file: the tunnel's pid once up, kept while it runs, removed by down"
echo 2147483646 >"$WORK/a.pid" # a dead process's: replaced
run a up -d --pid-file "$WORK/a.pid" "$WORK/a.conf" || die "up -d --pid-file (a)"
pid=$(counter a pid)
[ "$(cat "$WORK/a.pid")" = "$pid" ] || die "a.pid has '$(cat "$WORK/a.pid")', the tunnel is $pid"
TR_PIDS+=("$pid")
# The running tunnel holds the file's lock (flock(1) takes the same kind).
! flock -n "$WORK/a.pid" true || die "a.pid is not locked while the tunnel runs"
msg=$(run a up -d --pid-file "$WORK/a.pid" "$WORK/b.conf" 2>&1) && die "up over a live pid file succeeded"
grep -q "^tunroom up: --pid-file $WORK/a.pid: process $pid, which is still running" <<<"$msg" ||
	die "up over a live pid file: $msg"
[ "$(cat "$WORK/a.pid")" = "$pid" ] || die "a.pid overwritten: $(cat "$WORK/a.pid")"
run a down tr0 || die "down (a, pid file)"
[ -e "$WORK/a.pid" ] && die "a.pid left after down: $(cat "$WORK/a.pid")"
# A tunnel that fails in its setup (b's ListenAddress is not in namespace
# 1) says so on the terminal and leaves no pid file behind.
msg=$(run a up -d --pid-file "$WORK/fail.pid" "$WORK/b.conf" 2>&1) && die "up of b's config in a's namespace ran"
grep -q '^tunroom up: ' <<<"$msg" || die "failed setup: $msg"
[ -e "$WORK/fail.pid" ] && die "fail.pid made by an up that failed"
# Nor an old one it had taken over (the tunnel writes its pid as it starts).
echo 2147483646 >"$WORK/fail.pid"
run a up -d --pid-file "$WORK/fail.pid" "$WORK/b.conf" 2>/dev/null && die "up of b's config in a's namespace ran"
[ -e "$WORK/fail.pid" ] && die "fail.pid left by an up that failed: $(cat "$WORK/fail.pid")"

pretty "a tunnel that crashed: down (or the next up) removes the --pid-file it left behind"
# crash FILE: up -d --pid-file FILE, then SIGKILL; the file stays, naming it.
crash() {
	run a up -d --pid-file "$1" "$WORK/a.conf" || die "up -d --pid-file $1"
	pid=$(cat "$1")
	TR_PIDS+=("$pid")
	[ -s "$WORK/run-a/tr0.pidfile" ] || die "no record of $1 in the run directory"
	kill -KILL "$pid"
	wait_for 5 gone || die "tunnel (pid $pid) still runs after SIGKILL"
	[ "$(cat "$1")" = "$pid" ] || die "$1 changed by the crash: nothing tested"
}
crash "$WORK/crash.pid"
msg=$(run a down tr0 2>&1) && die "down of a crashed tunnel succeeded"
grep -qx "tunroom down: tr0: not running (removed its stale control socket and the --pid-file $WORK/crash.pid it left behind)" <<<"$msg" ||
	die "down of a crashed tunnel: $msg"
[ -e "$WORK/crash.pid" ] && die "crash.pid left by down"
[ -e "$WORK/run-a/tr0.pidfile" ] && die "the record left by down"
# show removed the stale socket first: down still finds the record.
crash "$WORK/crash.pid"
run a show >/dev/null 2>&1
[ -e "$WORK/run-a/tr0.sock" ] && die "show left the stale socket: nothing tested"
msg=$(run a down tr0 2>&1) && die "down of a crashed tunnel succeeded"
grep -qx "tunroom down: tr0: not running (removed the --pid-file $WORK/crash.pid it left behind)" <<<"$msg" ||
	die "down of a crashed tunnel after show: $msg"
[ -e "$WORK/crash.pid" ] && die "crash.pid left by down after show"
# The next up of the name, with another file, removes it too.
crash "$WORK/crash.pid"
run a up -d --pid-file "$WORK/next.pid" "$WORK/a.conf" || die "up -d after a crash"
TR_PIDS+=("$(cat "$WORK/next.pid")")
[ -e "$WORK/crash.pid" ] && die "crash.pid left by the next up of tr0"
# A file no longer the one recorded (replaced by hand) is left alone.
mv "$WORK/next.pid" "$WORK/next.moved"
cp "$WORK/next.moved" "$WORK/next.pid"
pid=$(cat "$WORK/next.pid")
kill -KILL "$pid"
wait_for 5 gone || die "tunnel (pid $pid) still runs after SIGKILL"
run a down tr0 >/dev/null 2>&1 && die "down of a crashed tunnel succeeded"
[ -e "$WORK/next.pid" ] || die "down removed a pid file that is not the one recorded"
rm -f "$WORK/next.pid" "$WORK/next.moved"

pretty "up -d whose parent dies before the tunnel is up: the tunnel still comes up (EPIPE, not SIGPIPE), its pid in --pid-file"
# The child is stopped as soon as it exists (its set-up takes tens of ms),
# the waiting parent killed, then the child let go: its 'ready' goes to a
# pipe nobody reads. Before SIGPIPE was ignored, that ended it unannounced.
# Before the tunnel wrote its own pid, the pid file stayed empty (and
# locked: every later up over it was told "still starting").
orphan=
for try in 1 2 3; do
	ip netns exec "$(ns_name 1)" env TUNROOM_RUN_DIR="$WORK/run-a" TUNROOM_STATE_DIR="$WORK/state-a" \
		"$TUNROOM" up -d -l "$WORK/orphan.log" --pid-file "$WORK/orphan.pid" "$WORK/a.conf" &
	parent=$! child=
	for _ in $(seq 20000); do
		# (the file has no newline: read fails, but sets child)
		read -r child _ 2>/dev/null <"/proc/$parent/task/$parent/children" || :
		[ -n "$child" ] && break
	done
	[ -n "$child" ] && kill -STOP "$child" 2>/dev/null
	kill -KILL "$parent" 2>/dev/null
	st=0
	wait "$parent" || st=$?
	[ -n "$child" ] && { TR_PIDS+=("$child"); kill -CONT "$child"; }
	[ "$st" = 137 ] && [ -n "$child" ] && { orphan=$child; break; }
	# The parent had returned already (a slow poll): nothing tested; again.
	[ -n "$child" ] && wait_for 5 show a && run a down tr0
done
[ -n "$orphan" ] || die "could not stop up -d's child before it was up in 3 tries"
wait_for 5 show a || die "the orphaned tunnel never answered: $(cat "$WORK/orphan.log")"
[ "$(counter a pid)" = "$orphan" ] || die "show a: pid $(counter a pid), not $orphan"
[ "$(cat "$WORK/orphan.pid")" = "$orphan" ] ||
	die "orphan.pid has '$(cat "$WORK/orphan.pid")', not the orphaned tunnel's pid $orphan"
grep -q 'tr0 up: ' "$WORK/orphan.log" || die "orphan.log lacks the start-up line: $(cat "$WORK/orphan.log")"
run a down tr0 || die "down (orphan)"
grep -q 'tunroom down, stopping' "$WORK/orphan.log" || die "orphan.log: $(cat "$WORK/orphan.log")"
[ -e "$WORK/orphan.pid" ] && die "orphan.pid left after down: $(cat "$WORK/orphan.pid")"
echo "PASS: up -d, duplicate up, show text/-s/--json, down, file mode, SPI hint, up -d -l, up -d --pid-file, up -d orphaned"
