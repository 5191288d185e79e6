#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunroom connect against a stock ocserv: login, ping, and 10 MiB over TCP
# each way, checked by SHA-256, first over DTLS, then with --no-dtls (all
# over TLS); `tunroom show` says which channel carried it; `tunroom down`
# (DTLS run) and SIGTERM (TLS run, dropped to -U nobody) end the session with
# a BYE the server logs. No epoll set of the client watches the TUN queue.
# The TLS run also asks for --crypto openssl, and show says OpenSSL sealed.
# down removes a pid file the session left behind (-U nobody, SIGKILL).
# usage: ac-connect.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/ac-lib.sh"
ac_begin </dev/null
ac_data 10

for mode in dtls tls; do
	name=ac$mode
	args=()
	# The TLS run also drops to a user (-U) instead of root without
	# capabilities, and keeps AES-GCM to OpenSSL (--crypto openssl).
	[ $mode = tls ] && args=(--no-dtls -U nobody --crypto openssl)
	pretty "$mode: connect"
	ac_connect $name "${args[@]}"
	if [ $mode = dtls ]; then
		ac_wait_state $name dtls 10 || die "DTLS did not come up: $(tunroom1 show $name)"
	else
		[ "$(ac_show $name state)" = cstp ] || die "--no-dtls: state $(ac_show $name state)"
		[ "$(ac_show $name dtls)" = "off (--no-dtls)" ] || die "--no-dtls: dtls $(ac_show $name dtls)"
	fi
	# The data threads do the TUN I/O themselves (no engine thread).
	[ "$(ac_show $name inline)" = on ] || die "inline: $(ac_show $name inline)"
	# ocserv negotiates AES-GCM: ipsec-mb or OpenSSL called directly seals
	# it; with --crypto openssl, OpenSSL whatever else is built in.
	case $mode:$(ac_show $name crypto) in
	dtls:ipsec-mb*|*:openssl) ;;
	*) die "$mode: crypto: $(ac_show $name crypto)" ;;
	esac
	addr=$(ac_addr $name)
	# Running without privileges: no capability, no new privileges, the
	# TUN ioctl fence (seccomp filter).
	st=/proc/$(cat "$WORK/$name.pid")/status
	for t in /proc/$(cat "$WORK/$name.pid")/task/*/status; do
		grep -q "^CapEff:[[:space:]]*0000000000000000$" "$t" ||
			die "$mode: a thread kept capabilities: $t $(grep ^Cap "$t")"
	done
	grep -q "^NoNewPrivs:[[:space:]]*1$" "$st" || die "$mode: no-new-privileges not set"
	grep -q "^Seccomp:[[:space:]]*2$" "$st" || die "$mode: no seccomp filter"
	if [ $mode = tls ]; then
		grep -q "^Uid:[[:space:]]*$(id -u nobody)[[:space:]]" "$st" || die "-U nobody: $(grep ^Uid "$st")"
	fi
	n1 ping -c 3 -i 0.2 -W 2 $POOL_GW >/dev/null || die "$mode: no ping through the tunnel"
	pretty "$mode: 10 MiB each way"
	ac_tcp 1 2 $POOL_GW
	ac_tcp 2 1 "$addr"
	[ $mode = dtls ] && tunroom1 show $name -s >&2
	# Which channel carried the data: DTLS alone, or CSTP alone.
	if [ $mode = dtls ]; then
		[ "$(ac_show $name dtls_tx_data)" -gt 7000 ] || die "DTLS did not carry the upload"
		[ "$(ac_show $name dtls_rx_data)" -gt 7000 ] || die "DTLS did not carry the download"
	else
		[ "$(ac_show $name cstp_tx_data)" -gt 7000 ] || die "CSTP did not carry the upload"
		[ "$(ac_show $name cstp_rx_data)" -gt 7000 ] || die "CSTP did not carry the download"
		[ "$(ac_show $name dtls_tx_records)" -eq 0 ] || die "--no-dtls sent DTLS records"
	fi
	pid=$(cat "$WORK/$name.pid")
	# No epoll set of ours watches the TUN queue: the kernel calls a
	# registered waiter on every packet it queues, sleeping or not (a poll
	# on tr_session_fd() registers one; tr_rx_wait_fds does not).
	for fd in /proc/$pid/fd/*; do
		[ "$(readlink "$fd")" = "anon_inode:[eventpoll]" ] || continue
		while read -r key tfd _; do
			if [ "$key" = tfd: ] && [ "$(readlink "/proc/$pid/fd/$tfd")" = /dev/net/tun ]; then
				die "$mode: epoll fd ${fd##*/} watches the TUN queue (fd $tfd)"
			fi
		done <"/proc/$pid/fdinfo/${fd##*/}"
	done
	if [ $mode = dtls ]; then
		pretty "$mode: tunroom down"
		tunroom1 down $name || die "$mode: tunroom down failed"
		! alive "$pid" || die "$mode: still running after down"
		# As uid 0 (no -U) it may remove its --pid-file from $WORK.
		[ ! -e "$WORK/$name.pid" ] || die "$mode: --pid-file left after down"
	else
		pretty "$mode: SIGTERM"
		kill -TERM "$pid"
		wait_for 5 bash -c "! { [ -r /proc/$pid/stat ] && ! grep -q ') Z ' /proc/$pid/stat; }" ||
			die "$mode: still running after SIGTERM"
	fi
	wait_for 5 grep -q "user disconnected" "$WORK/ocserv.log" ||
		die "$mode: the server saw no BYE: $(tail -5 "$WORK/ocserv.log")"
	: >"$WORK/ocserv.log"
done

# -U nobody could not remove its pid file from root's $WORK (it says so);
# down removes it, by the record the session left in the run directory.
pretty "a pid file the session could not remove: down removes it"
[ -e "$WORK/actls.pid" ] || die "actls.pid removed by the session: nothing tested"
grep -q "could not remove --pid-file $WORK/actls.pid: Permission denied" "$WORK/actls.log" ||
	die "no line on the pid file left behind: $(tail -3 "$WORK/actls.log")"
msg=$(tunroom1 down actls 2>&1) && die "down of an ended session succeeded"
grep -q "not running (.*the --pid-file $WORK/actls.pid it left behind)" <<<"$msg" || die "down: $msg"
[ -e "$WORK/actls.pid" ] && die "down left actls.pid"
pretty "a session killed (SIGKILL): down removes its pid file"
ac_connect accrash
pid=$(cat "$WORK/accrash.pid")
kill -KILL "$pid"
gone() { ! alive "$pid"; }
wait_for 5 gone || die "still running after SIGKILL"
msg=$(tunroom1 down accrash 2>&1) && die "down of a killed session succeeded"
grep -qx "tunroom down: accrash: not running (removed its stale control socket and the --pid-file $WORK/accrash.pid it left behind)" <<<"$msg" ||
	die "down of a killed session: $msg"
[ -e "$WORK/accrash.pid" ] && die "down left accrash.pid"
echo "PASS: ac-connect"
