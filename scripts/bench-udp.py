#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""UDP 64-byte packet rate through one path: the highest offered rate at <= 1 % loss.

usage: bench-udp.py SRC_NS DST_NS ADDR --blast PATH [--quick] [--port N] [--budget SECS]

Sends from namespace SRC_NS to ADDR (an address that lives in DST_NS) with
bench/udpblast.c: `udpblast send` (sendmmsg, paced or flat out) in SRC_NS,
`udpblast sink` (recvmmsg, counts its probe's datagrams) on port N (5301)
in DST_NS, one fresh token per probe. Prints "metric value" lines:

  udp64_kpps_loss1   the highest rate the sender really sent in a probe that
                     lost <= 1 % (sent - received over sent): the rate search's
                     lower bound
  udp64_kpps_loss0   the same among the probes that lost nothing (no search
                     of its own: a by-product of the 1 % search)
  udp64_kpps_flood   received rate when the sender sends flat out
  udp64_sender_kpps  the sender's own flat-out rate on this path: nothing
                     above it can be measured here
  udp64_sender_bound 1 when even flat out lost <= 1 %, i.e. the figure is the
                     sender's ceiling, not the path's; 0 otherwise
  udp64_probes       probes the search spent (the warm-up not counted)

Search: a warm-up probe (0.3 s at 1 kpps, not counted: handshakes, neighbour
resolution), a flat-out probe, then probes of 1 s (0.5 s with --quick) at
offered rates: first 95 % of what got through flat out, halving on loss
until one passes, then geometric bisection between the best passing and the
lowest failing rate. Bounds move by the rate the sender really reached.
A probe that loses more than 1 % is repeated once at the same rate and the
better of the two counts (a tunnel thread descheduled for a few ms on a
shared machine overflows its TUN queue at any rate).
It stops when the bounds are within 5 % of each other or the time budget
(20 s, 10 s with --quick, per path and round) would be exceeded.
"""
import json
import os
import select
import subprocess
import sys
import time


def probe(a, rate, secs):
    """One paced (rate pps; 0 = flat out) probe: (sent pps, received pps, loss %, detail) or None."""
    token = int.from_bytes(os.urandom(8), "little")
    sink = subprocess.Popen(["ip", "netns", "exec", a.dst, a.blast, "sink", str(a.port), "--token", str(token),
                             "--secs", "%.1f" % (secs + 5), "--idle-ms", "300"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        ready, _, _ = select.select([sink.stdout], [], [], 5)
        if not ready or sink.stdout.readline().strip() != "ready":
            raise RuntimeError("sink did not start: " + (sink.stderr.read() if sink.poll() is not None else ""))
        r = subprocess.run(["ip", "netns", "exec", a.src, a.blast, "send", a.addr, str(a.port), "--size", "64",
                            "--rate", "%.0f" % rate, "--secs", "%.3f" % secs, "--token", str(token)],
                           capture_output=True, text=True, timeout=secs + 15)
        if r.returncode:
            raise RuntimeError("sender: " + r.stderr.strip()[-200:])
        snd = json.loads(r.stdout)
        out, err = sink.communicate(timeout=secs + 15)
        rcv = json.loads(out)
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
        print("bench-udp: probe at %s pps to %s failed: %s" % (rate or "max", a.addr, e), file=sys.stderr)
        return None
    finally:
        if sink.poll() is None:
            sink.terminate()  # ours, by its PID
            sink.wait()
    if not snd["sent"] or snd["secs"] <= 0:
        return None
    lost = max(0, snd["sent"] - rcv["received"])
    return (snd["sent"] / snd["secs"], rcv["received"] / snd["secs"], 100.0 * lost / snd["sent"],
            "%d sent (%d refused), %d received, %d foreign" % (snd["sent"], snd["errors"], rcv["received"],
                                                                rcv["foreign"]))


def main():
    args = sys.argv[1:]

    class A:
        pass
    a = A()
    a.quick = "--quick" in args
    a.port = 5301
    a.blast = None
    a.budget = None
    pos = []
    i = 0
    while i < len(args):
        if args[i] in ("--port", "--blast", "--budget") and i + 1 < len(args):
            setattr(a, args[i][2:], args[i + 1])
            i += 2
            continue
        if not args[i].startswith("--"):
            pos.append(args[i])
        i += 1
    if len(pos) != 3 or not a.blast:
        print(__doc__.split("\n")[2], file=sys.stderr)
        return 2
    a.src, a.dst, a.addr = pos
    a.port = int(a.port)
    secs = 0.5 if a.quick else 1.0
    budget = float(a.budget) if a.budget else (10.0 if a.quick else 20.0)
    t0 = time.time()

    probe(a, 1000, 0.3)  # warm-up: not counted
    first = probe(a, 0, secs)
    if first is None:
        return 1
    sender, flood_recv, flood_loss, what = first
    log = ["flat out: %.0f kpps sent, %.0f received, loss %.2f%% (%s)" % (sender / 1e3, flood_recv / 1e3,
                                                                           flood_loss, what)]
    lo, hi = 0.0, sender           # sent pps known to pass / to fail (or the ceiling)
    best0 = sender if flood_loss == 0 else 0.0
    bound = flood_loss <= 1.0
    if bound:
        lo = sender
    probes, guess, per = 1, max(flood_recv * 0.95, 1000.0), None
    while not bound and hi > lo * 1.05:
        t = time.time()
        if per and t - t0 + per > budget:
            log.append("time budget reached")
            break
        if lo > 0:
            guess = (lo * hi) ** 0.5
        r = probe(a, guess, secs)
        per = max(per or 0, time.time() - t)
        probes += 1
        if r is None:
            continue
        if r[2] > 1.0 and time.time() - t0 + per <= budget:
            # A loss above 1 % gets a second probe at the same rate, and the
            # better one counts: on a shared machine a tunnel thread kept off
            # its core for a few ms overflows a 500-packet TUN queue at any
            # of these rates, so a single loss says more about the
            # scheduler than about the path's capacity.
            log.append("%.0f kpps asked, %.0f sent, %.0f received, loss %.2f%%, again:" %
                       (guess / 1e3, r[0] / 1e3, r[1] / 1e3, r[2]))
            r2 = probe(a, guess, secs)
            probes += 1
            if r2 is not None and r2[2] < r[2]:
                r = r2
        sent, recv, loss, what = r
        log.append("%.0f kpps asked, %.0f sent, %.0f received, loss %.2f%%" % (guess / 1e3, sent / 1e3,
                                                                               recv / 1e3, loss))
        if loss == 0:
            best0 = max(best0, sent)
        if loss <= 1.0:
            lo = max(lo, sent)
        else:
            hi = min(hi, sent)
            if lo == 0:
                guess = hi / 2
        if hi <= lo:  # noise crossed the bounds: the best pass stands
            break
    print("bench-udp: %s: %s" % (a.addr, "; ".join(log)), file=sys.stderr)
    print("udp64_kpps_loss1 %.1f" % (lo / 1e3))
    print("udp64_kpps_loss0 %.1f" % (best0 / 1e3))
    print("udp64_kpps_flood %.1f" % (flood_recv / 1e3))
    print("udp64_sender_kpps %.1f" % (sender / 1e3))
    print("udp64_sender_bound %d" % bound)
    print("udp64_probes %d" % probes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
