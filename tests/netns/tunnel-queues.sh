#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Queues = 2 on both ends (issue 15 item 6): two TUN queues, two UDP sockets
# on one port steered by SPI, two SA pairs (SPIs +0 and +1, per-queue keys),
# their workers each. Many UDP flows both ways: every datagram arrives, and
# both queues carry some of them on each end, in both directions.
# usage: tunnel-queues.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

topology
keys aes128-gcm
TR_IFACE_EXTRA="Queues = 2" pair
[ "$(counter a queues)" = 2 ] || die "a runs $(counter a queues) queues"

cat >"$WORK/flows.py" <<'PY'
import socket, sys, time
mode, addr, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "recv":
    socks = []
    for p in range(9100, 9116):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, p)); s.setblocking(False)
        socks.append(s)
    open(sys.argv[4] + ".ready", "w").close()
    got, end = 0, time.time() + 8
    while got < n and time.time() < end:
        for s in socks:
            try:
                while True:
                    s.recv(2048); got += 1
            except BlockingIOError:
                pass
        time.sleep(0.005)
    open(sys.argv[4], "w").write(str(got))
else:
    # 16 flows (source and destination ports differ): the kernel spreads
    # them over the TUN queues by flow hash.
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(16)]
    for i in range(n):
        socks[i % 16].sendto(b"q" * 200, (addr, 9100 + i % 16))
        if i % 32 == 31:
            time.sleep(0.002)
PY
both() { # FROM_NS TO_NS ADDR
	rm -f "$WORK/got" "$WORK/got.ready"
	bg "$2" python3 "$WORK/flows.py" recv "$3" 1600 "$WORK/got"
	local pid=${TR_PIDS[-1]}
	wait_for 5 test -e "$WORK/got.ready" || die "receiver did not start"
	ip netns exec "$(ns_name "$1")" python3 "$WORK/flows.py" send "$3" 1600
	wait "$pid" || die "receiver failed"
	[ "$(cat "$WORK/got")" = 1600 ] || { diag; die "$1 -> $2: $(cat "$WORK/got") of 1600 datagrams arrived"; }
}
both 1 2 198.18.0.2
both 2 1 198.18.0.1
for side in a b; do
	rxq=$(counter $side queue_rx_packets) txq=$(counter $side queue_tx_packets)
	pretty "$side: per queue rx $rxq, tx $txq"
	for v in ${rxq//\// } ${txq//\// }; do
		[ "$v" -gt 0 ] || { diag; die "$side: a queue carried nothing (rx $rxq, tx $txq)"; }
	done
done
for side in a b; do
	[ "$(counter $side rx_drop_spi)" = 0 ] || { diag; die "$side: datagrams on the wrong queue's SPI"; }
	[ "$(counter $side rx_err_auth)" = 0 ] || { diag; die "$side: per-queue keys differ"; }
done

# A multi-queue device outlives SIGKILL a moment (its queues' io_uring files
# go asynchronously): the restart waits for it, and all queues go on above
# the state file's numbers.
pretty "SIGKILL b, restart: both ways again within 2 s, on both queues"
kill -KILL "$UP_PID_b"
wait "$UP_PID_b" 2>/dev/null || true
up b
deadline=$((SECONDS + 2))
until n1 ping -c 1 -W 0.2 198.18.0.2 >/dev/null 2>&1 && n2 ping -c 1 -W 0.2 198.18.0.1 >/dev/null 2>&1; do
	[ "$SECONDS" -le "$deadline" ] || { diag; die "no traffic both ways within 2 s of restarting b"; }
done
both 1 2 198.18.0.2
pretty "PASS"
