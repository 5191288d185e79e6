#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunroomd end to end: it sets up the TUN device as root, drops to nobody,
# and serves sessions to clients that run as nobody too. A long-running
# client keeps exchanging echoes while others send a malformed request,
# hang up before one, corrupt their ring, or crash: only their own
# sessions end, and the log tells a hang-up from a malformed request. The socket's
# directory, made by tunroomd, lets the socket group (nogroup, nobody's) in
# and keeps another user (daemon) out. SIGTERM stops the daemon cleanly,
# removes the device and the socket. Option errors come first.
#
#   namespace tr-$$-1
#   +----------------------------------------------------------------+
#   | tunroomd (root -> nobody) --- [trdN] 198.18.0.1/24, fd00::1/64  |
#   |    ^ socket $dir/run/d.sock (0660 nogroup, dir nobody:nogroup)  |
#   |    +-- daemonclient echo (nobody, 4 s)   requests from .2 / ::2  |
#   |    +-- daemonclient badreq | garbage | crash | hog | closed |     |
#   |        silent | denied (nobody; denied as daemon)                  |
#   +----------------------------------------------------------------+
#
# Usage: daemon.sh PATH/TO/tunroomd PATH/TO/daemonclient
source "$(dirname "$0")/lib.sh"
TUNROOMD=${1:?usage: daemon.sh TUNROOMD DAEMONCLIENT}
CLIENT=${2:?usage: daemon.sh TUNROOMD DAEMONCLIENT}

# Usage and option errors need no privilege.
"$TUNROOMD" --help | grep -q "^usage: tunroomd" || die "--help: no usage on stdout, or not exit 0"
"$TUNROOMD" --version | grep -q "^tunroomd [0-9]" || die "--version"
for bad in "--mtu 15x|MTU" "--mtu 40|MTU" "--queues 0|queues" "--address 198.18.0.1|ADDRESS/LENGTH" \
	   "--address 198.18.0.1/40|IPv4" "--address fd00::1/129|IPv6" "--socket-mode 999|octal"; do
	set +e
	out=$("$TUNROOMD" ${bad%%|*} 2>&1)
	rc=$?
	set -e
	[ "$rc" = 2 ] || die "tunroomd ${bad%%|*}: exit $rc, want 2"
	grep -q -- "${bad##*|}" <<<"$out" || die "tunroomd ${bad%%|*}: '$out' does not say ${bad##*|}"
done

require_root
require_tun
id nobody >/dev/null 2>&1 || skip "no user 'nobody' to drop to"
trap cleanup EXIT
ns_add 1
dir=$(mktemp -d /tmp/tr-$$-XXXXXX)
on_exit rm -rf "$dir"
chmod 0755 "$dir"
sock=$dir/run/d.sock # run/ does not exist: tunroomd makes it
log=$dir/tunroomd.log
# The client binaries must be reachable for nobody (build trees often are not).
cp "$CLIENT" "$dir/daemonclient"
# The TUN driver steers a reply to the queue that wrote its flow, but it
# learns flows only with two queues attached, and only after the first
# packet's reply went out (steered by hash). So the echo clients here do not
# overlap, and the long-running one allows replies lost to the other
# sessions' queues while those come and go (daemonclient.c).
chmod 0755 "$dir/daemonclient"

bg 1 "$TUNROOMD" --name trd0 --address 198.18.0.1/24 --address fd00::1/64 --queues 2 \
	--socket "$sock" --socket-group nogroup --user nobody 2>"$log"
daemon_pid=${TR_PIDS[-1]} # ip netns exec execs tunroomd: same PID
wait_for 5 grep -q "serving" "$log" || { cat "$log"; die "tunroomd did not come up"; }
[ "$(ps -o user= -p "$daemon_pid")" = nobody ] || die "tunroomd did not drop to nobody"
grep -q "^Seccomp:[[:space:]]*2$" "/proc/$daemon_pid/status" ||
	die "tunroomd has no seccomp filter: $(grep Seccomp "/proc/$daemon_pid/status")"

[ "$(stat -c '%U %G %a' "$dir/run")" = "nobody nogroup 750" ] ||
	die "socket directory: $(stat -c '%U %G %a' "$dir/run"), want nobody nogroup 750"
n1 "$dir/daemonclient" denied "$sock" daemon
n1 "$dir/daemonclient" badreq "$sock" nobody
# A connection that hangs up before a word (a crash, a probe of the socket)
# is said as such, not as a malformed request.
n1 "$dir/daemonclient" silent "$sock" nobody 1 0 "$dir/run/one.ready"
wait_for 5 grep -q "hung up before its request" "$log" ||
	{ cat "$log"; die "no log line for a hang-up before the request"; }
bg 1 "$dir/daemonclient" echo "$sock" nobody 2 2
echo_pid=${TR_PIDS[-1]}
# The echo client takes its queue first; the others share the second.
wait_for 5 grep -q "session started" "$log" || die "echo client got no session"
n1 "$dir/daemonclient" garbage "$sock" nobody
grep -q "corrupt ring" "$log" || die "no log line for the corrupt ring"
if n1 "$dir/daemonclient" crash "$sock" nobody; then die "crash client survived"; fi
# The hostile ones (issue 14, item 10), while the echo client keeps going.
n1 "$dir/daemonclient" hog "$sock" nobody
n1 "$dir/daemonclient" closed "$sock" nobody
wait "$echo_pid" || die "the long-running client failed while others misbehaved"
# Eight connections that say nothing do not keep a client out: it gets its
# session well inside the library's 5 s reply timeout (one at a time, a
# second each, they did not).
bg 1 "$dir/daemonclient" silent "$sock" nobody 8 4 "$dir/run/silent.ready"
wait_for 5 test -e "$dir/run/silent.ready" || die "silent client did not connect"
n1 "$dir/daemonclient" echo "$sock" nobody 0 5
wait_for 5 grep -q "no request within" "$log" || die "silent connections were not dropped"
# Every queue is free again (the crashed client's too): fresh sessions work.
n1 "$dir/daemonclient" echo "$sock" nobody 0 3
n1 "$dir/daemonclient" echo "$sock" nobody 0 4

# Every slot held by a connection that said nothing, all of them hung up
# while a client connects (the daemon stopped meanwhile, so one poll sees
# both): the newcomer takes a slot a hang-up frees, and that hang-up must
# not end the newcomer's session.
bg 1 "$dir/daemonclient" silent "$sock" nobody 64 30 "$dir/run/full.ready"
silent_pid=${TR_PIDS[-1]}
wait_for 5 test -e "$dir/run/full.ready" || die "64 silent connections did not connect"
kill -STOP "$daemon_pid"
kill -KILL "$silent_pid"
wait "$silent_pid" 2>/dev/null || true
bg 1 "$dir/daemonclient" echo "$sock" nobody 0 3
full_echo=${TR_PIDS[-1]}
sleep 0.3
kill -CONT "$daemon_pid"
wait "$full_echo" || { grep -v "hung up before its request" "$log" | tail -n 8; die "a client that took a hung-up connection's slot lost its session"; }
# Those hang-ups are said as such: only badreq sent a malformed request.
[ "$(grep -c "refused: not a tunroomd request" "$log")" -eq 1 ] ||
	{ cat "$log"; die "hang-ups logged as malformed requests (want one such line, badreq's)"; }

kill -TERM "$daemon_pid"
wait "$daemon_pid" || { cat "$log"; die "tunroomd exited with an error"; }
cat "$log"
grep -q "removed trd0" "$log" || die "no clean shutdown line"
[ ! -e "$sock" ] || die "socket $sock left behind"
if n1 ip link show dev trd0 2>/dev/null; then die "trd0 left behind"; fi
echo "ok"
