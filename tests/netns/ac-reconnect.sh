#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The server side of the session dies (ocserv's worker process for it is
# killed): tunroom connect sees the TCP connection end, reconnects with its
# cookie (no new login), gets DTLS back, and traffic flows again. Then ocserv
# restarts, forgetting the session: the client exits with one line (the
# server's DISCONNECT, or the cookie refused by the new ocserv).
# usage: ac-reconnect.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/ac-lib.sh"
ac_begin </dev/null

ac_connect acrc
ac_wait_state acrc dtls 10 || die "DTLS did not come up: $(tunroom1 show acrc)"
n1 ping -c 2 -i 0.2 -W 2 $POOL_GW >/dev/null || die "no ping before"
worker=$(grep -o 'ocserv\[[0-9]*\]: worker\[user1\]' "$WORK/ocserv.log" | tail -1 | grep -o '[0-9]*' | head -1)
[ -n "$worker" ] || die "no worker pid in the ocserv log"
# The worker is a child of the ocserv this test started.
[ "$(ps -o ppid= -p "$worker" | tr -d ' ')" = "$OCS_PID" ] || die "pid $worker is not our ocserv's worker"
pretty "kill ocserv's worker $worker"
kill -KILL "$worker"
reconnected() { [ "$(ac_show acrc reconnects)" = 1 ]; }
wait_for 20 reconnected || die "no reconnect: $(cat "$WORK/acrc.log")"
ac_wait_state acrc dtls 15 || die "DTLS did not come back after the reconnect: $(tunroom1 show acrc)"
n1 ping -c 3 -i 0.2 -W 2 $POOL_GW >/dev/null || die "no ping after the reconnect"
grep -q "reconnected to" "$WORK/acrc.log" || die "the reconnect was not said"

# ocserv itself restarted: the old one may say goodbye to the session first,
# and the new one knows no session, so the cookie is refused; either way
# tunroom connect ends with one line.
pretty "restart ocserv: the cookie is gone with it"
pid=$(cat "$WORK/acrc.pid")
kill "$OCS_PID"
wait "$OCS_PID" 2>/dev/null || true
ac_start_ocserv
wait_for 30 bash -c "! { [ -r /proc/$pid/stat ] && ! grep -q ') Z ' /proc/$pid/stat; }" ||
	die "still running with a cookie the server no longer knows: $(tail -3 "$WORK/acrc.log")"
# Either the stopping ocserv told the session so (DISCONNECT), or the
# session saw the connection drop and the new ocserv refused the cookie.
last=$(tail -1 "$WORK/acrc.log")
grep -Eq "log in again|the server ended the session" <<<"$last" ||
	die "no clear last line: $(tail -5 "$WORK/acrc.log" | tr '\n' '|')"
pretty "last line: $last"
echo "PASS: ac-reconnect"
