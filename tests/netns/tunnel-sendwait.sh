#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# With one worker per queue (Workers = 1, the default) the thread that sends
# is also the one that receives. Here sending stays blocked: side a's path
# out is shaped (tbf on its veth, a few Mbit/s) and its socket buffer is
# small, so a bulk UDP flow a -> b keeps the socket full (tx_send_waits).
# Meanwhile b sends a slow stream of stamped probes b -> a: they must reach
# a's application within PROBE_MEDIAN_MS of being sent (median), none later
# than PROBE_MAX_MS (CLOCK_MONOTONIC is the same in every namespace), and
# with one worker the receives must have happened during the waits
# (rx_send_wait_receives). A worker that served the receive only between
# sending bursts held each probe for about a second. TR_IFACE_EXTRA (e.g.
# "Workers = 2") applies on top of the small socket buffer.
# usage: tunnel-sendwait.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

PROBES=60          # one every 25 ms: 1.5 s of probes
# Blocked sending once held them 750 ms (median) to 1.2 s; now 0.2-0.3 ms
# (median), at most 4 ms, 61 ms under ASan on a loaded machine.
PROBE_MEDIAN_MS=50
PROBE_MAX_MS=500

diag() {
	for side in a b; do
		show "$side" -s >&2 || true
	done
	n1 tc -s qdisc show dev "tr-$$-va" >&2 || true
}

topology
keys aes128-gcm
# What the caller set (TR_IFACE_EXTRA="Workers = 2", say) still applies.
TR_IFACE_EXTRA="${TR_IFACE_EXTRA:-}
SocketBuffer = 64K" pair
# a's datagrams queue in the shaper, charged to a's socket until they leave:
# its limit is far above the send buffer, so the socket is full first and
# the sends wait (EAGAIN) rather than the shaper dropping.
n1 tc qdisc add dev "tr-$$-va" root tbf rate 4mbit burst 16k limit 4m ||
	skip "no tbf qdisc (sch_tbf) in this kernel"

# Scripts go to files: a background command's stdin is /dev/null.
cat >"$WORK/sink.py" <<'PY'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.2", 9001))
s.settimeout(0.5)
end = time.monotonic() + 8
while time.monotonic() < end:
    try:
        s.recv(2048)
    except socket.timeout:
        pass
PY
cat >"$WORK/flood.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
body = bytes(1372)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    for _ in range(64):
        try:
            s.sendto(body, ("198.18.0.2", 9001))
        except OSError:
            pass  # tr0's queue full: the kernel drops, and says so at most
    time.sleep(0.0005)
PY
cat >"$WORK/probe-recv.py" <<'PY'
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.1", 9002))
s.settimeout(3)
n = int(sys.argv[2])
delays = {}
try:
    while len(delays) < n:
        d = s.recv(64)
        now = time.monotonic()
        seq, sent = struct.unpack("!Id", d[:12])
        delays[seq] = (now - sent) * 1000
except socket.timeout:
    pass
v = sorted(delays.values())
open(sys.argv[1], "w").write(f"{len(v)} {v[len(v) // 2] if v else -1:.1f} {v[-1] if v else -1:.1f}\n")
PY
cat >"$WORK/probe-send.py" <<'PY'
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(struct.pack("!Id", i, time.monotonic()), ("198.18.0.1", 9002))
    time.sleep(0.025)
PY

waits0=$(counter a tx_send_waits)
bg 2 python3 "$WORK/sink.py"
wait_for 5 port_open 2 u 9001 || die "sink did not start"
bg 1 python3 "$WORK/probe-recv.py" "$WORK/probes" "$PROBES"
recv_pid=${TR_PIDS[-1]}
wait_for 5 port_open 1 u 9002 || die "probe receiver did not start"
bg 1 python3 "$WORK/flood.py" 4
flood_pid=${TR_PIDS[-1]}
# The socket backs up within the first burst; give it half a second.
sleep 0.5
n2 python3 "$WORK/probe-send.py" "$PROBES" || die "probe sender failed"
wait "$recv_pid" || die "probe receiver failed"
wait "$flood_pid" || die "flood failed"

read -r got median worst <"$WORK/probes"
waits=$(( $(counter a tx_send_waits) - waits0 ))
during=$(counter a rx_send_wait_receives)
pretty "$got of $PROBES probes b -> a, delay median $median ms, worst $worst ms;" \
	"a waited for its socket $waits times, received $during times while waiting"
[ "$got" -eq "$PROBES" ] || { diag; die "only $got of $PROBES probes arrived (receive starved?)"; }
python3 -c "import sys; sys.exit(not float('$median') <= $PROBE_MEDIAN_MS)" ||
	{ diag; die "probes took $median ms (median, > $PROBE_MEDIAN_MS): receive waited while sending was blocked"; }
python3 -c "import sys; sys.exit(not float('$worst') <= $PROBE_MAX_MS)" ||
	{ diag; die "a probe took $worst ms (> $PROBE_MAX_MS): receive waited while sending was blocked"; }
[ "$waits" -gt 0 ] || { diag; die "a's sends never waited: the test did not block sending"; }
# With a receive thread of its own (Workers = 2) nobody receives in the waits.
if [ "$(counter a workers)" = 1 ]; then
	[ "$during" -gt 0 ] || { diag; die "no receive while sending waited (rx_send_wait_receives = 0)"; }
else
	[ "$during" -eq 0 ] || { diag; die "Workers = 2: the send thread received ($during times)"; }
fi
# Still a working tunnel once the flood is over (the shaper's queue drains).
n1 tc qdisc del dev "tr-$$-va" root
n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || { diag; die "tunnel broken after the flood"; }
down a
down b
pretty "tunnel-sendwait: OK"
