#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Soak: SOAK_SECONDS (600) of bounded traffic through the tunnel between two
# namespaces (iperf3 TCP both ways at once, each capped at SOAK_RATE, 100M,
# plus 10 pings a second),
# sampling each tunroom process every SOAK_INTERVAL (60) seconds: VmRSS,
# open descriptors, threads, packets each way, drops and errors. Prints the
# table, then fails if, from the first sample (taken after a warm-up that
# touches both rings) to the last, RSS grew more than SOAK_RSS_KB (1024 kB),
# the descriptor or thread count changed, an error counter moved, or the
# ping loss passed 1 %. Not in make check. Usage: make soak [SOAK_SECONDS=N]
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
TESTS=$PWD/tests/netns
source "$TESTS/lib.sh"
require_root
require_tun
command -v iperf3 >/dev/null || skip "iperf3 not found (apt-get install iperf3)"
TUNROOM=${TUNROOM:-$PWD/$BUILD/src/cli/tunroom}
[ -x "$TUNROOM" ] || die "$TUNROOM not built (make)"
source "$TESTS/tunnel-lib.sh"

SECS=${SOAK_SECONDS:-600}
INTERVAL=${SOAK_INTERVAL:-60}
RATE=${SOAK_RATE:-100M}
RSS_BOUND=${SOAK_RSS_KB:-1024}
WARMUP=15

# sample LABEL: one line per side into $WORK/samples (JSON), for the table.
sample() {
	local side pid
	for side in a b; do
		pid=$(eval echo "\$UP_PID_$side")
		kill -0 "$pid" 2>/dev/null || die "tunroom ($side) is gone at sample $1"
		local ns=1
		[ "$side" = b ] && ns=2
		# The kernel's own drops at tr0's queue (the engine did not read in
		# time) are not tunroom's counters; TCP retransmits come from them.
		ip -n "$(ns_name "$ns")" -s -j link show tr0 >"$WORK/link.$side"
		show "$side" --json | python3 -c '
import json, sys
label, side, pid, link = sys.argv[1:5]
s = json.load(sys.stdin)[0]["stats"]
tun = json.load(open(link))[0]["stats64"]
st = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status") if ":" in l)
import os
row = {
    "label": label, "side": side,
    "rss_kb": int(st["VmRSS"].split()[0]), "threads": int(st["Threads"]),
    "fds": len(os.listdir(f"/proc/{pid}/fd")),
    "rx": s["rx_packets"], "tx": s["tx_packets"],
    "drops": sum(v for k, v in s.items() if "_drop_" in k and k != "rx_drop_ring_full"
                 and isinstance(v, int)),
    "errs": sum(v for k, v in s.items() if "_err_" in k and isinstance(v, int)),
    "stalls": s.get("rx_drop_ring_full", 0),
    "tun_drop": tun["tx"]["dropped"] + tun["rx"]["dropped"],
}
print(json.dumps(row))' "$1" "$side" "$pid" "$WORK/link.$side" >>"$WORK/samples"
	done
}

topology
keys aes128-gcm
pair

# Both ways: every ring carries data from the start, so the warm-up touches
# all of it and the first sample is the working set (one-way traffic fills
# the ACK direction's ring over a minute, which would look like growth).
pretty "soak: ${SECS}s of iperf3 TCP at most $RATE each way and 10 pings/s, a sample every ${INTERVAL}s"
bg 2 iperf3 -s -1 -B 198.18.0.2 -p 5201 --logfile "$WORK/iperf-server.log"
listening() { [ -n "$(ip netns exec "$(ns_name 2)" ss -Hltn 'sport = :5201')" ]; }
wait_for 10 listening || die "iperf3 server did not start"
total=$((SECS + WARMUP))
bg 1 iperf3 -c 198.18.0.2 -p 5201 -t "$total" -b "$RATE" --bidir -J --logfile "$WORK/iperf.json"
iperf_pid=${TR_PIDS[-1]}
bg 1 sh -c "ping -q -i 0.1 -w $total 198.18.0.2 >'$WORK/ping.out' 2>&1"
ping_pid=${TR_PIDS[-1]}
sleep "$WARMUP"
started=$SECONDS
sample start
while [ $((SECONDS - started)) -lt "$SECS" ]; do
	left=$((SECS - (SECONDS - started)))
	sleep $((left < INTERVAL ? left : INTERVAL))
	[ $((SECONDS - started)) -ge "$SECS" ] && break
	sample "$((SECONDS - started))s"
done
sample end
wait "$iperf_pid" || die "iperf3 client failed: $(tail -5 "$WORK/iperf.json")"
wait "$ping_pid" || true

rc=0
python3 - "$WORK/samples" "$WORK/iperf.json" "$WORK/ping.out" "$RSS_BOUND" <<'PY' || rc=1
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
bound = int(sys.argv[4])
print(f"{'sample':>8} {'side':>4} {'VmRSS kB':>9} {'fds':>4} {'thr':>4} {'rx pkts':>11} {'tx pkts':>11} {'drops':>7} {'errs':>5} {'stalls':>7} {'tr0 drop':>8}")
for r in rows:
    print(f"{r['label']:>8} {r['side']:>4} {r['rss_kb']:>9} {r['fds']:>4} {r['threads']:>4} {r['rx']:>11} {r['tx']:>11} {r['drops']:>7} {r['errs']:>5} {r['stalls']:>7} {r['tun_drop']:>8}")
ip = json.load(open(sys.argv[2]))
end = ip["end"]
for key, way in (("sum_sent", "a -> b"), ("sum_sent_bidir_reverse", "b -> a")):
    sent = end.get(key)
    if sent:
        print(f"iperf3 {way}: {sent['bytes'] / 1e9:.2f} GB in {sent['seconds']:.0f} s, "
              f"{sent['bits_per_second'] / 1e6:.1f} Mbit/s, {sent.get('retransmits', 0)} retransmits")
m = re.search(r"(\d+) packets transmitted, (\d+) received.*?([\d.]+)% packet loss", open(sys.argv[3]).read(), re.S)
loss = float(m.group(3)) if m else 100.0
print(f"ping: {m.group(1) if m else '?'} sent, {m.group(2) if m else '?'} received, {loss}% loss")
fail = []
for side in ("a", "b"):
    first = next(r for r in rows if r["side"] == side and r["label"] == "start")
    last = [r for r in rows if r["side"] == side][-1]
    grow = last["rss_kb"] - first["rss_kb"]
    print(f"side {side}: VmRSS {first['rss_kb']} -> {last['rss_kb']} kB ({grow:+d}), "
          f"fds {first['fds']} -> {last['fds']}, threads {first['threads']} -> {last['threads']}, "
          f"errors {first['errs']} -> {last['errs']}, drops {first['drops']} -> {last['drops']}, "
          f"tr0 kernel drops {first['tun_drop']} -> {last['tun_drop']}")
    if grow > bound:
        fail.append(f"side {side}: RSS grew {grow} kB (bound {bound} kB)")
    if last["fds"] != first["fds"]:
        fail.append(f"side {side}: descriptors {first['fds']} -> {last['fds']}")
    if last["threads"] != first["threads"]:
        fail.append(f"side {side}: threads {first['threads']} -> {last['threads']}")
    if last["errs"] != first["errs"]:
        fail.append(f"side {side}: error counters moved {first['errs']} -> {last['errs']}")
if loss > 1.0:
    fail.append(f"ping loss {loss}% > 1%")
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
PY
down a
down b
[ "$rc" -eq 0 ] || die "soak failed"
echo "PASS: soak of ${SECS}s"
