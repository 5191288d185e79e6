#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunroom connect's refusals, each one clear line on stderr and exit 1: a
# wrong password, a certificate that does not match the pin (and none, with
# the pin to pass printed), a server that is down, a TLS server that is not
# an AnyConnect server (openssl s_server -www); a device name that is taken
# (after the login: then a BYE frees the server's session). A stop signal
# during a login that hangs ends it at once.
# usage: ac-fail.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/ac-lib.sh"
ac_begin </dev/null

# refuses WHAT PATTERN PASSWORD tunroom-connect-args...: exit 1, one line
# on stderr matching PATTERN, nothing on stdout.
refuses() {
	local what=$1 pattern=$2 pw=$3 rc=0
	shift 3
	pretty "refuses: $what"
	echo "$pw" | timeout 20 ip netns exec "$(ns_name 1)" env TUNROOM_RUN_DIR="$WORK/run" \
		"$TUNROOM" connect -s '' -i acf0 -u user1 --passwd-on-stdin "$@" \
		>"$WORK/out" 2>"$WORK/err" || rc=$?
	[ "$rc" -eq 1 ] || die "$what: exit $rc, not 1 ($(cat "$WORK/err"))"
	[ "$(wc -l <"$WORK/err")" -eq 1 ] || die "$what: not one line: $(cat "$WORK/err")"
	grep -q -- "$pattern" "$WORK/err" || die "$what: '$(cat "$WORK/err")' does not say '$pattern'"
	[ ! -s "$WORK/out" ] || die "$what: printed on stdout: $(cat "$WORK/out")"
	printf '    %s\n' "$(cat "$WORK/err")" >&2
}

refuses "wrong password" "login failed: the server refused the user name or password" \
	wrongpw --servercert "pin-sha256:$PIN" "$SERVER"
# A pin of the right form for another key.
other=$(printf '%044d' 0 | tr 0 A)
refuses "wrong pin" "does not match --servercert pin-sha256:$other (the server's is pin-sha256:$PIN)" \
	secretpw --servercert "pin-sha256:$other" "$SERVER"
refuses "no pin, untrusted" "not trusted.*pass --servercert pin-sha256:$PIN" \
	secretpw "$SERVER"

# Logged in, but the device cannot be made: one line, and a BYE so that the
# server frees the session at once.
n1 ip link add acbusy type veth peer name acbusyp
: >"$WORK/ocserv.log"
refuses "device name taken" "TUN device acbusy: .*exists" secretpw -i acbusy \
	--servercert "pin-sha256:$PIN" "$SERVER"
wait_for 5 grep -q "user disconnected" "$WORK/ocserv.log" ||
	die "no BYE after the failed setup: $(tail -3 "$WORK/ocserv.log")"

# Not AnyConnect: a plain HTTPS server with the same certificate.
bg 2 openssl s_server -www -quiet -accept "$SRV:4444" -cert "$WORK/cert.pem" -key "$WORK/key.pem"
wait_for 10 n2 bash -c "exec 3<>/dev/tcp/$SRV/4444" || die "s_server did not start"
refuses "plain HTTPS server" "not an AnyConnect server" \
	secretpw --servercert "pin-sha256:$PIN" "https://$SRV:4444"

# A server that accepts and never answers: `tunroom show` says
# "authenticating", and a stop signal during the login ends tunroom at once, not after the login's timeout. (SIGTERM: a shell
# starts background jobs with SIGINT ignored; Ctrl-C takes the same path.)
bg 2 python3 -c 'import socket, time
s = socket.socket(); s.bind(("203.0.113.2", 4445)); s.listen(1); c = s.accept(); time.sleep(60)'
wait_for 5 n2 bash -c "ss -ltn | grep -q ':4445 '" || die "silent server did not start"
echo secretpw | ip netns exec "$(ns_name 1)" env TUNROOM_RUN_DIR="$WORK/run" "$TUNROOM" connect -s '' \
	-i acauth -u user1 --passwd-on-stdin --servercert "pin-sha256:$PIN" "https://$SRV:4445" 2>/dev/null &
hang=$!
wait_for 5 n2 bash -c "ss -tn state established | grep -q ':4445 '" || die "no connection to the silent server"
# With a fixed -i NAME, show sees the login.
[ "$(ac_show acauth state)" = authenticating ] || die "show during the login: $(tunroom1 show acauth)"
pretty "SIGTERM during the login"
kill -TERM $hang
gone() { ! kill -0 $hang 2>/dev/null; }
wait_for 2 gone || die "SIGTERM did not end a login that hangs"
wait $hang 2>/dev/null && die "exit 0 after SIGTERM during the login" || true

# A --pid-file that is a symlink: root must not write through it (a pid
# file in a shared directory could be pointed at any file). Refused before
# the login, the file it points to untouched, no tunnel left running.
echo keep >"$WORK/victim"
ln -s "$WORK/victim" "$WORK/link.pid"
refuses "pid file a symlink" "--pid-file $WORK/link.pid" secretpw -b --pid-file "$WORK/link.pid" \
	--servercert "pin-sha256:$PIN" "$SERVER"
[ "$(cat "$WORK/victim")" = keep ] || die "--pid-file wrote through a symlink: $(cat "$WORK/victim")"
if n1 ip link show dev acf0 >/dev/null 2>&1; then die "a tunnel runs after the refusal"; fi

# Down: ocserv stopped, nothing listens.
kill "$OCS_PID"
wait "$OCS_PID" 2>/dev/null || true
wait_for 10 bash -c "! ip netns exec $(ns_name 2) bash -c 'exec 3<>/dev/tcp/$SRV/$PORT' 2>/dev/null"
refuses "server down" "connection refused" secretpw --servercert "pin-sha256:$PIN" "$SERVER"
echo "PASS: ac-fail"
