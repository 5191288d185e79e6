#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunroom up gives up root once set up: with User = nobody every thread of
# both ends runs as nobody with no capability and no-new-privs; traffic (ping,
# TCP with SHA-256 both ways), show, down, SIGTERM and a second up of the
# same name all still work; up -d --pid-file removes its file at the end where
# nobody may, and logs why not elsewhere (where down removes it). Without User
# the process stays uid 0 but holds no capability. An unknown User is refused before anything is set up.
# usage: tunnel-privdrop.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"
# Log lines start with a UTC timestamp outside the journal.
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z '


id nobody >/dev/null 2>&1 || skip "no user 'nobody' on this system"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
# A copy of the binary nobody can run: the build tree may sit in a
# directory only root can enter (a fresh clone under mktemp -d is 0700).
NB=$(mktemp -d)
on_exit rm -rf "$NB"
chmod 755 "$NB"
cp "$TUNROOM" "$NB/tunroom"

topology
keys aes128-gcm
TR_IFACE_EXTRA="User = nobody"
conf a
conf b

tcp_data 2

diag() {
	for side in a b; do
		echo "--- tunroom up ($side) stderr:" >&2
		cat "$WORK/err.$side" >&2 || true
	done
}

# up_side SIDE: tunroom up, stderr to $WORK/err.SIDE, PID in UP_PID_SIDE.
up_side() {
	local side=$1 ns=1
	[ "$side" = b ] && ns=2
	mkdir -p "$WORK/run-$side"
	bg "$ns" bash -c 'exec "$@" 2>"$0"' "$WORK/err.$side" env TUNROOM_RUN_DIR="$WORK/run-$side" TUNROOM_STATE_DIR="$WORK/state-$side" \
		"$TUNROOM" up "$WORK/$side.conf"
	eval "UP_PID_$side=${TR_PIDS[-1]}"
	wait_for 10 show "$side" || { diag; die "tunroom up ($side) did not come up"; }
}

# status_field FILE KEY: the value of "KEY:" in a /proc status file.
status_field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1"; }

# creds PID UID GID BND: every thread runs as UID/GID (real, effective,
# saved, fs), without supplementary groups, with no capability in any set
# (the bounding set is BND), ambient empty, no-new-privs set.
creds() {
	local pid=$1 uid=$2 gid=$3 bnd=$4 st n=0 v
	for st in /proc/"$pid"/task/*/status; do
		n=$((n + 1))
		v=$(status_field "$st" Uid)
		[ "$v" = "$uid $uid $uid $uid" ] ||
			die "$st: Uid '$v', want $uid everywhere"
		v=$(status_field "$st" Gid)
		[ "$v" = "$gid $gid $gid $gid" ] ||
			die "$st: Gid '$v', want $gid everywhere"
		[ -z "$(status_field "$st" Groups)" ] || die "$st: supplementary groups left: $(status_field "$st" Groups)"
		for k in CapInh CapPrm CapEff CapAmb; do
			v=$(status_field "$st" $k)
			[ "$v" = 0000000000000000 ] || die "$st: $k $v, want none"
		done
		v=$(status_field "$st" CapBnd)
		[ -z "$bnd" ] || [ "$v" = "$bnd" ] || die "$st: CapBnd $v, want $bnd"
		v=$(status_field "$st" NoNewPrivs)
		[ "$v" = 1 ] || die "$st: NoNewPrivs '$v', want 1"
		# 2: a seccomp filter (src/common/tunfence.c) on every thread.
		v=$(status_field "$st" Seccomp)
		[ "$v" = 2 ] || die "$st: Seccomp '$v', want 2 (the TUN ioctl filter)"
	done
	# main and the queue's worker at least (the defaults: Inline = on, no
	# TUN engine thread; Workers = 1, one thread for both directions): the
	# threads made after the drop must have been looked at, not only the
	# one that dropped.
	[ "$n" -ge 2 ] || die "pid $pid: only $n threads seen"
	pretty "pid $pid: $n threads, uid $uid gid $gid, no capabilities, no-new-privs, seccomp filter"
}

pretty "User = nobody: both ends up"
up_side a
up_side b
for side in a b; do
	pid=$(eval echo "\$UP_PID_$side")
	creds "$pid" "$NOBODY_UID" "$NOBODY_GID" ""
	grep -qE "^($TS)?tunroom: tr0: running as nobody \(uid $NOBODY_UID gid $NOBODY_GID\) from here on$" \
		"$WORK/err.$side" || { diag; die "no drop logged ($side)"; }
done

pretty "traffic through the unprivileged ends"
n1 ping -c 3 -i 0.2 -W 2 198.18.0.2 >/dev/null || { diag; die "ping a -> b"; }
n2 ping -c 3 -i 0.2 -W 2 fd00:7272::1 >/dev/null || { diag; die "ping b -> a (IPv6)"; }
tcp 1 2 198.18.0.2 5001
tcp 2 1 198.18.0.1 5002
[ "$(counter a rx_err_auth)" = 0 ] || die "authentication errors at a"

pretty "show answers; other processes of the user cannot stop the tunnel"
show a | grep -qE '^tr0: esp aes128-gcm mtu 1400 state up pid [0-9]+' || die "show a: $(show a)"
# Put the socket in nobody's reach for a moment: the tunnel's own peer check
# (the uid that made the socket, not the one it runs as now) must refuse.
chmod o+x "$WORK" "$WORK/run-a"
chmod o+rw "$WORK/run-a/tr0.sock"
rc=0
msg=$(ip netns exec "$(ns_name 1)" setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" \
	--clear-groups env TUNROOM_RUN_DIR="$WORK/run-a" "$NB/tunroom" down tr0 2>&1) || rc=$?
chmod o-x "$WORK" "$WORK/run-a"
chmod o-rw "$WORK/run-a/tr0.sock"
[ "$rc" != 0 ] || die "a process running as nobody stopped the tunnel: $msg"
# ... refused by the tunnel, not by the file system before it.
grep -q "^tunroom down: tr0: " <<<"$msg" || die "nobody's down did not reach the tunnel: $msg"
kill -0 "$UP_PID_a" 2>/dev/null || die "tunnel a died after nobody's down"
show a >/dev/null || die "tunnel a stopped answering after nobody's down"

# Both ends go and come back: a restarted end starts its sequence numbers
# again, which the other end's replay window would drop.
pretty "down: exits 0, device and socket gone, the same name comes up again"
down a
down b
for side in a b; do
	[ -e "$WORK/run-$side/tr0.sock" ] && die "control socket of $side left after down"
done
up_side a
up_side b
creds "$UP_PID_a" "$NOBODY_UID" "$NOBODY_GID" ""
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || { diag; die "no traffic after the second up"; }

pretty "SIGTERM: exits 0, device gone; the stale socket does not stop the next up"
for side in a b; do
	pid=$(eval echo "\$UP_PID_$side") ns=1
	[ $side = b ] && ns=2
	kill -TERM "$pid"
	wait "$pid" || die "tunroom up ($side) exited with $? after SIGTERM"
	ip -n "$(ns_name $ns)" link show tr0 >/dev/null 2>&1 && die "tr0 still exists in ns $ns after SIGTERM"
	grep -q 'signal 15, stopping' "$WORK/err.$side" || { diag; die "no stop logged ($side)"; }
	# As nobody it could not unlink its socket from the root-only run
	# directory: the next up must take the stale file over.
	[ -S "$WORK/run-$side/tr0.sock" ] || die "no stale socket of $side: nothing tested below"
done
up_side a
up_side b
n2 ping -c 2 -i 0.2 -W 2 198.18.0.1 >/dev/null || { diag; die "no traffic after up over a stale socket"; }
down b
down a

# daemon_a PIDFILE: up -d of a, its log in $WORK/log.a, stopped by down.
daemon_a() {
	: >"$WORK/log.a"
	ip netns exec "$(ns_name 1)" env TUNROOM_RUN_DIR="$WORK/run-a" TUNROOM_STATE_DIR="$WORK/state-a" \
		"$TUNROOM" up -d -l "$WORK/log.a" --pid-file "$1" "$WORK/a.conf" || die "up -d --pid-file $1"
	local pid
	pid=$(cat "$1")
	TR_PIDS+=("$pid")
	creds "$pid" "$NOBODY_UID" "$NOBODY_GID" ""
	TUNROOM_RUN_DIR=$WORK/run-a "$TUNROOM" down tr0 || die "down (pid file $1)"
}
pretty "up -d --pid-file as nobody: removed from nobody's directory; in root's, logged and removed by down"
mkdir "$WORK/pids"
chown "$NOBODY_UID" "$WORK/pids"
daemon_a "$WORK/pids/a.pid"
[ -e "$WORK/pids/a.pid" ] && die "pid file left in a directory nobody may write: $(cat "$WORK/log.a")"
daemon_a "$WORK/a.pid"
# The tunnel, as nobody, could not: it says so, and down (root) did.
grep -qE "^tunroom up: tr0: could not remove --pid-file $WORK/a.pid: Permission denied$" "$WORK/log.a" ||
	die "no line on the pid file left behind: $(cat "$WORK/log.a")"
[ -e "$WORK/a.pid" ] && die "down left the pid file the tunnel could not remove: $(cat "$WORK/a.pid")"
[ -e "$WORK/run-a/tr0.pidfile" ] && die "down left the pid file's record in the run directory"

pretty "no User: uid 0, but no capability at all and an empty bounding set"
TR_IFACE_EXTRA=""
conf a
up_side a
creds "$UP_PID_a" 0 0 0000000000000000
grep -qE "^($TS)?tunroom: tr0: keeps running as root, without capabilities; set User = NAME" \
	"$WORK/err.a" || { diag; die "staying root not logged"; }
down a
[ -e "$WORK/run-a/tr0.sock" ] && die "control socket left by the root tunnel"

# Started as nobody with ambient capabilities (systemd's User= with
# AmbientCapabilities=): setuid to the same user clears nothing by itself.
# CAP_DAC_OVERRIDE too: where /dev/net/tun is 0600, CAP_NET_ADMIN alone cannot
# open it; the drop must clear both.
pretty "started as nobody with ambient CAP_NET_ADMIN: User = nobody leaves no capability"
TR_IFACE_EXTRA="User = nobody"
conf a
mkdir -p "$WORK/amb/run-a"
cp "$WORK/a.conf" "$WORK/amb/a.conf"
chown -R "$NOBODY_UID:$NOBODY_GID" "$WORK/amb"
chmod o+x "$WORK"
bg 1 bash -c 'exec "$@" 2>"$0"' "$WORK/err.a" setpriv --reuid="$NOBODY_UID" \
	--regid="$NOBODY_GID" --clear-groups --inh-caps=+net_admin,+setgid,+dac_override \
	--ambient-caps=+net_admin,+setgid,+dac_override env TUNROOM_RUN_DIR="$WORK/amb/run-a" TUNROOM_STATE_DIR="$WORK/amb/state-a" \
	"$NB/tunroom" up "$WORK/amb/a.conf"
UP_PID_a=${TR_PIDS[-1]}
wait_for 10 env TUNROOM_RUN_DIR="$WORK/amb/run-a" "$TUNROOM" show tr0 ||
	{ diag; die "tunroom up started with ambient capabilities did not come up"; }
creds "$UP_PID_a" "$NOBODY_UID" "$NOBODY_GID" ""
TUNROOM_RUN_DIR=$WORK/amb/run-a "$TUNROOM" down tr0 || die "down of the ambient-caps tunnel"
wait "$UP_PID_a" || die "tunroom up (ambient caps) exited with $?"
chmod o-x "$WORK"

pretty "an unknown User is refused before anything is set up"
TR_IFACE_EXTRA="User = tr-no-such-user-$$"
conf a
rc=0
msg=$(ip netns exec "$(ns_name 1)" env TUNROOM_RUN_DIR="$WORK/run-a" TUNROOM_STATE_DIR="$WORK/state-a" "$TUNROOM" up "$WORK/a.conf" 2>&1) || rc=$?
[ "$rc" = 2 ] || die "up with an unknown user: exit $rc, want 2: $msg"
grep -q "User = tr-no-such-user-$$: no such user on this system" <<<"$msg" || die "up: $msg"
ip -n "$(ns_name 1)" link show tr0 >/dev/null 2>&1 && die "tr0 created for an unknown user"
rc=0
msg=$("$TUNROOM" up -n "$WORK/a.conf" 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q 'no such user' <<<"$msg" || die "up -n with an unknown user: $rc $msg"
pretty "PASS"
