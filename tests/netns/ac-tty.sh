#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunroom connect -b on a terminal without --passwd-on-stdin: the password
# is asked on the terminal (a pty from script(1)) before it detaches, and
# the session then runs in a session of its own, without the terminal.
# usage: ac-tty.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/ac-lib.sh"
ac_begin script:bsdutils </dev/null

# The password goes in once the prompt is up (typed ahead, the terminal
# would echo it: the prompt turns echo off only when it asks).
mkfifo "$WORK/tty.in"
{
	wait_for 15 grep -q "Password:" "$WORK/tty.out"
	echo secretpw
} >"$WORK/tty.in" &
: >"$WORK/tty.out"
script -qfec "ip netns exec $(ns_name 1) env TUNROOM_RUN_DIR=$WORK/run \
	$TUNROOM connect -b --pid-file $WORK/tty.pid -i actty -s '' --servercert pin-sha256:$PIN \
	-u user1 $SERVER" /dev/null <"$WORK/tty.in" >"$WORK/tty.out" 2>&1 ||
	die "connect -b on a tty: $(cat "$WORK/tty.out")"
TR_PIDS+=("$(cat "$WORK/tty.pid")")
grep -q "^Password:" "$WORK/tty.out" || die "no password prompt on the terminal: $(cat "$WORK/tty.out")"
grep -q secretpw "$WORK/tty.out" && die "the password was echoed"
pid=$(cat "$WORK/tty.pid")
[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] || die "-b: not a session leader after detaching"
[ "$(ps -o tty= -p "$pid" | tr -d ' ')" = "?" ] || die "-b: still has the terminal"
n1 ping -c 2 -i 0.2 -W 2 $POOL_GW >/dev/null || die "no ping"
ac_down actty
echo "PASS: ac-tty"
