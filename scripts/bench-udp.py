#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""UDP 64-byte packet rate through one tunnel, at 0 % and at <= 1 % loss.

usage: bench-udp.py NETNS ADDR [--quick] [--port N]

Runs iperf3 -u -l 64 from NETNS to ADDR a bounded number of times (5 probes
of 1 s with --quick, 8 of 2 s otherwise) and prints "metric value" lines:

  udp64_kpps_loss1   received rate of the fastest probe that lost <= 1 %
  udp64_kpps_loss0   the same for probes that lost nothing
  udp64_kpps_flood   received rate when iperf3 sends as fast as it can
  udp64_sender_kpps  what iperf3 itself managed to send then (the ceiling
                     this search can see: above it, the sender is the limit)

The first probe floods (-b 0); its received rate is the tunnel's capacity
under overload and the sender's rate is the upper bound. Then bisection:
probes that pass a threshold raise its lower bound, probes that fail lower
its upper bound, each threshold keeping its own interval. Loss is what the
receiving iperf3 counts (gaps in its sequence numbers), so it covers every
drop on the way: tunnel queues, sockets, the receiver itself. A lower bound
of 0 (no probe passed) prints 0.
"""
import json
import subprocess
import sys

PAYLOAD = 64


def probe(ns, addr, port, kpps, secs):
    """One iperf3 run at kpps (0 = flood): (sent kpps, received kpps, loss %)."""
    rate = "0" if kpps == 0 else "%dk" % max(1, int(kpps * PAYLOAD * 8))
    cmd = ["ip", "netns", "exec", ns, "iperf3", "-c", addr, "-p", str(port), "-u",
           "-l", str(PAYLOAD), "-b", rate, "-t", str(secs), "-J", "--connect-timeout", "3000"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 15).stdout
        end = json.loads(out)["end"]
    except (subprocess.TimeoutExpired, ValueError, KeyError) as e:
        print("bench-udp: iperf3 at %s kpps to %s failed: %s" % (kpps or "max", addr, e),
              file=sys.stderr)
        return None
    s = end["sum"]
    seconds = s.get("seconds") or secs
    sent = s["packets"]  # the client's count; lost_* comes from the server
    lost = s.get("lost_packets", 0)
    recv = max(0, sent - lost)
    loss = 100.0 * lost / sent if sent else 100.0
    return sent / seconds / 1e3, recv / seconds / 1e3, loss


def main():
    args = sys.argv[1:]
    quick = "--quick" in args
    port = 5201
    if "--port" in args:
        port = int(args[args.index("--port") + 1])
    ns, addr = [a for a in args if not a.startswith("--") and not a.isdigit()][:2]
    secs, probes = (1, 5) if quick else (2, 8)

    first = probe(ns, addr, port, 0, secs)
    if first is None:
        return 1
    sender, flood_recv, flood_loss = first
    best = {1.0: 0.0, 0.0: 0.0}       # threshold -> best received kpps that passed
    lo = {1.0: 0.0, 0.0: 0.0}         # offered kpps known to pass
    hi = {1.0: sender, 0.0: sender}   # offered kpps known to fail (or the ceiling)
    for t in best:
        if flood_loss <= t:
            best[t] = flood_recv
            lo[t] = hi[t] = sender
    log = ["flood: sent %.0f kpps, received %.0f, loss %.2f%%" % (sender, flood_recv, flood_loss)]
    for i in range(probes - 1):
        # Spend the first probes on the 1 % threshold, the rest on 0 %.
        t = 1.0 if (i < (probes - 1) * 3 // 5 and lo[1.0] < hi[1.0]) else 0.0
        if lo[t] >= hi[t]:
            t = 1.0 if t == 0.0 else 0.0
            if lo[t] >= hi[t]:
                break
        if lo[t] == 0:
            # Nothing passed yet: start at what got through under flood
            # (slightly below it), then halve.
            top = min(hi[t], flood_recv * 0.95) if hi[t] == sender else hi[t] / 2
            offered = max(top, 1.0)
        else:
            # Geometric midpoint: the interval often spans a factor of 5.
            offered = (lo[t] * hi[t]) ** 0.5
        r = probe(ns, addr, port, offered, secs)
        if r is None:
            continue
        sent, recv, loss = r
        log.append("%.0f kpps asked, %.0f sent: received %.0f, loss %.3f%%"
                   % (offered, sent, recv, loss))
        # Bounds move by what iperf3 really sent: above some rate it cannot
        # keep the pace it is asked for.
        for th in best:
            if loss <= th:
                lo[th] = max(lo[th], sent)
                best[th] = max(best[th], recv)
            else:
                hi[th] = min(hi[th], sent)
            if lo[th] >= hi[th] * 0.97:  # close enough (or noise crossed
                lo[th] = hi[th]          # them): no more probes for it
    print("bench-udp: %s: %s" % (addr, "; ".join(log)), file=sys.stderr)
    print("udp64_kpps_loss1 %.1f" % best[1.0])
    print("udp64_kpps_loss0 %.1f" % best[0.0])
    print("udp64_kpps_flood %.1f" % flood_recv)
    print("udp64_sender_kpps %.1f" % sender)
    return 0


if __name__ == "__main__":
    sys.exit(main())
