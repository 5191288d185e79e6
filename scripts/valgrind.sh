#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tunnel end to end under valgrind memcheck: two `tunroom up` in their
# own namespaces (IO = plain: valgrind cannot follow io_uring, whose kernel
# side writes memory without a syscall memcheck sees), a bounded ping and a
# 2 MB TCP transfer through them, `tunroom down`; then `show`, `genkey` and a
# rejected config under memcheck too. Fails on any memcheck error or any
# definitely lost block or descriptor left open at exit.
# Usage: scripts/valgrind.sh [CIPHER...]  (default aes128-gcm aes128-cbc-sha1:
# the AEAD and the encrypt-then-MAC path); TUNROOM= the binary (default
# $BUILD/src/cli/tunroom).
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
TESTS=$PWD/tests/netns
source "$TESTS/lib.sh"
require_root
require_tun
command -v valgrind >/dev/null || skip "valgrind not found (apt-get install valgrind)"
TUNROOM=${TUNROOM:-$PWD/$BUILD/src/cli/tunroom}
[ -x "$TUNROOM" ] || die "$TUNROOM not built (make)"
source "$TESTS/tunnel-lib.sh"
ciphers=("$@")
[ ${#ciphers[@]} -gt 0 ] || ciphers=(aes128-gcm aes128-cbc-sha1)

# --fair-sched=yes: valgrind runs one thread at a time, and its default lock
# does not hand the turn round fairly on a multicore machine: a data-path
# thread could keep it while the main thread, which answers `tunroom show`,
# waited (once, under load, the first up did not answer within 60 s).
VG=(valgrind --tool=memcheck --fair-sched=yes --leak-check=full --show-leak-kinds=definite
	--errors-for-leak-kinds=definite --error-exitcode=1 --track-fds=yes)
# tunnel-lib.sh runs "$TUNROOM up" (and polls "$TUNROOM show"): a wrapper
# puts only `up` under memcheck and execs, so the PID up() records is the
# process memcheck watches.
REAL=$TUNROOM
TUNROOM=$WORK/tunroom-memcheck
cat >"$TUNROOM" <<SH
#!/bin/sh
[ "\$1" = up ] && exec ${VG[*]} --log-file=$WORK/vg.%p "$REAL" "\$@"
exec "$REAL" "\$@"
SH
chmod 755 "$TUNROOM"
TR_UP_TIMEOUT=60
TR_IFACE_EXTRA="IO = plain"
start=$SECONDS

# verdict LOG: prints its summary lines; fails unless 0 errors, 0 definitely lost.
verdict() {
	local log=$1
	grep -E 'ERROR SUMMARY|definitely lost|All heap blocks|FILE DESCRIPTORS' "$log" |
		sed "s|^|  ${log##*/}: |" || true
	grep -q 'ERROR SUMMARY: 0 errors' "$log" || { cat "$log"; die "memcheck errors (or no summary) in $log"; }
	if grep -q 'definitely lost: [1-9]' "$log"; then
		cat "$log"
		die "definitely lost blocks in $log"
	fi
	# --track-fds: a descriptor still open at exit that the process opened
	# itself (not "<inherited from parent>") is a leak.
	local leaked
	leaked=$(awk '/Open (file descriptor|AF_[A-Z0-9]+ socket) [0-9]+/ { fd = $0; getline; if ($0 !~ /inherited from parent/) print fd }' "$log")
	[ -z "$leaked" ] || { cat "$log"; die "descriptors left open at exit in $log: $leaked"; }
}

cat >"$WORK/tcp.py" <<'PY'
import socket, sys
if sys.argv[1] == "recv":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.18.0.2", 9100)); s.listen(1); s.settimeout(30)
    c, _ = s.accept(); c.settimeout(30); n = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
    open(sys.argv[2], "w").write(str(n))
else:
    c = socket.create_connection(("198.18.0.2", 9100), timeout=30)
    c.sendall(bytes(range(256)) * 8192)  # 2 MiB
    c.close()
PY

topology
for cipher in "${ciphers[@]}"; do
	pretty "== $cipher: both ends under memcheck"
	keys "$cipher"
	conf a
	conf b
	up a
	up b
	[ "$(counter a io)" = read/write ] || die "IO = plain not in effect: io is $(counter a io)"
	n1 ping -c 20 -i 0.05 -W 5 198.18.0.2 >/dev/null || die "ping through the tunnel failed under valgrind"
	rm -f "$WORK/tcp.got"
	bg 2 python3 "$WORK/tcp.py" recv "$WORK/tcp.got"
	recv_pid=${TR_PIDS[-1]}
	listening() { [ -n "$(ip netns exec "$(ns_name 2)" ss -Hltn 'sport = :9100')" ]; }
	wait_for 10 listening || die "TCP receiver did not start"
	n1 python3 "$WORK/tcp.py" send || die "TCP transfer failed"
	wait "$recv_pid" || die "TCP receiver failed"
	[ "$(cat "$WORK/tcp.got")" -eq $((2 << 20)) ] || die "received $(cat "$WORK/tcp.got") of 2 MiB"
	show a -s >/dev/null
	pids="$UP_PID_a $UP_PID_b"
	# down waits for the process: with --error-exitcode a memcheck finding
	# makes it exit 1, which down reports.
	down a
	down b
	for pid in $pids; do
		verdict "$WORK/vg.$pid"
	done
done

pretty "== the short-lived commands under memcheck"
conf a
TUNROOM=$REAL TR_IFACE_EXTRA='' up a
TUNROOM_RUN_DIR="$WORK/run-a" "${VG[@]}" --log-file="$WORK/vg.show" "$REAL" show -s tr0 >/dev/null ||
	die "tunroom show under memcheck failed"
TUNROOM_RUN_DIR="$WORK/run-a" "${VG[@]}" --log-file="$WORK/vg.showjson" "$REAL" show --json >/dev/null ||
	die "tunroom show --json under memcheck failed"
down a
"${VG[@]}" --log-file="$WORK/vg.genkey" "$REAL" genkey aes256-cbc-sha256 >/dev/null 2>&1 ||
	die "tunroom genkey under memcheck failed"
printf '[Interface]\nName = tr0\nMTU = 9\n' >"$WORK/bad.conf"
chmod 600 "$WORK/bad.conf"
"${VG[@]}" --log-file="$WORK/vg.badconf" "$REAL" up "$WORK/bad.conf" 2>/dev/null &&
	die "a bad config was accepted"
for log in show showjson genkey badconf; do
	verdict "$WORK/vg.$log"
done
echo "PASS: valgrind memcheck, ${ciphers[*]} end to end and show/genkey/bad config: 0 errors, 0 bytes definitely lost ($((SECONDS - start)) s)"
