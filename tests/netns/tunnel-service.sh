#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Service integration (issue 15 item 7), without systemd itself:
#  - `tunroom up NAME` reads $TUNROOM_CONF_DIR/NAME.conf (/etc/tunroom by
#    default), as `wg-quick up wg0` does;
#  - with NOTIFY_SOCKET set (Type=notify), READY=1 arrives there once the
#    tunnel carries traffic;
#  - log lines carry a timestamp when JOURNAL_STREAM does not name stderr,
#    and none when it does (the journal stamps them);
#  - SIGHUP does not stop the tunnel, and says so.
# usage: tunnel-service.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

topology
keys aes128-gcm
conf a
conf b
mkdir -p "$WORK/etc" "$WORK/run-a"
mv "$WORK/a.conf" "$WORK/etc/tr0.conf"

# A notify socket like systemd's: one datagram expected, READY=1 in it.
cat >"$WORK/notify.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + ".ready", "w").close()
s.settimeout(10)
msg = s.recv(4096).decode()
open(sys.argv[2], "w").write(msg)
PY
bg 1 python3 "$WORK/notify.py" "$WORK/notify.sock" "$WORK/notified"
wait_for 5 test -e "$WORK/notified.ready" || die "notify listener did not start"

pretty "tunroom up tr0: the file from TUNROOM_CONF_DIR, READY=1 on NOTIFY_SOCKET"
bg 1 sh -c "exec env TUNROOM_CONF_DIR='$WORK/etc' TUNROOM_RUN_DIR='$WORK/run-a' \
	TUNROOM_STATE_DIR='$WORK/state-a' NOTIFY_SOCKET='$WORK/notify.sock' \
	'$TUNROOM' up tr0 2>'$WORK/a.err'"
UP_PID_a=${TR_PIDS[-1]}
wait_for 10 show a || { cat "$WORK/a.err" >&2; die "up tr0 did not come up"; }
up b
wait_for 5 test -s "$WORK/notified" || die "no readiness notification"
grep -q "READY=1" "$WORK/notified" || die "notification without READY=1: $(cat "$WORK/notified")"
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"

pretty "log lines carry timestamps without the journal"
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z tunroom: tr0 up' "$WORK/a.err" ||
	die "no timestamped 'up' line: $(head -3 "$WORK/a.err")"
[ -z "$(grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$WORK/a.err")" ] ||
	die "a log line without a timestamp: $(grep -vE '^[0-9]{4}-' "$WORK/a.err" | head -1)"

pretty "SIGHUP: the tunnel keeps running"
kill -HUP "$UP_PID_a"
logged() { grep -q "SIGHUP: nothing to reload; the tunnel keeps running" "$WORK/a.err"; }
wait_for 3 logged || die "SIGHUP not answered in the log: $(tail -2 "$WORK/a.err")"
kill -0 "$UP_PID_a" || die "SIGHUP stopped the tunnel"
n1 ping -c 1 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work after SIGHUP"
TUNROOM_RUN_DIR=$WORK/run-a "$TUNROOM" down tr0 || die "down"
wait "$UP_PID_a" || die "tunroom up exited with $? after down"

pretty "under the journal (JOURNAL_STREAM names stderr): no timestamps"
bg 1 sh -c "exec 2>'$WORK/a2.err'; exec env JOURNAL_STREAM=\$(stat -c '%d:%i' '$WORK/a2.err') \
	TUNROOM_CONF_DIR='$WORK/etc' TUNROOM_RUN_DIR='$WORK/run-a' TUNROOM_STATE_DIR='$WORK/state-a' \
	'$TUNROOM' up tr0"
UP_PID_a=${TR_PIDS[-1]}
wait_for 10 show a || { cat "$WORK/a2.err" >&2; die "up tr0 (journal) did not come up"; }
grep -q "^tunroom: tr0 up" "$WORK/a2.err" || die "under the journal: $(head -3 "$WORK/a2.err")"
TUNROOM_RUN_DIR=$WORK/run-a "$TUNROOM" down tr0 || die "down"

pretty "up NAME without the file names the path it tried"
msg=$(TUNROOM_CONF_DIR=$WORK/etc "$TUNROOM" up -n tr9 2>&1) && die "up -n tr9 succeeded"
grep -qF "$WORK/etc/tr9.conf" <<<"$msg" || die "up -n tr9: $msg"
pretty "PASS"
