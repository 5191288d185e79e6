#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turns the raw figures of scripts/bench-tunnels.py into results.

usage: bench-report.py RESULTS.tsv LABELS.tsv META.json OUTDIR PLOTDIR

RESULTS.tsv has one "round id metric value" line per figure. Writes
OUTDIR/latest.json (machine, versions, date, every figure with its runs and
median/min/max, ratios tunroom/peer, and the unit benchmarks' JSON found in
OUTDIR), prints the tables (Markdown) on stdout and writes gnuplot data to
PLOTDIR/plot-tcp.dat and PLOTDIR/plot-udp.dat.
"""
import json
import os
import platform
import statistics
import sys
import time

# Column: (heading, metric, format). The table prints medians [min-max].
PERF_COLS = [
    ("TCP 1 stream Mbit/s", "tcp1_mbps", "%.0f"),
    ("TCP 4 streams Mbit/s", "tcp4_mbps", "%.0f"),
    ("UDP 64 B kpps, 0 % loss", "udp64_kpps_loss0", "%.0f"),
    ("UDP 64 B kpps, <=1 % loss", "udp64_kpps_loss1", "%.0f"),
    ("UDP 64 B sender flat out kpps", "udp64_sender_kpps", "%.0f"),
    ("ping ms", "ping_avg_ms", "%.3f"),
    ("ping idle ms (1/s)", "ping_idle_ms", "%.3f"),
    ("ping busy ms (200/s)", "ping_busy_ms", "%.3f"),
]
COST_COLS = [
    ("tunnel CPU s/GB", "cpu_tunnel_s_per_gb", "%.2f"),
    ("machine CPU s/GB", "cpu_total_s_per_gb", "%.2f"),
    ("syscalls/MB", "syscalls_per_mb", "%.0f"),
    ("syscalls/pkt", "syscalls_per_packet", "%.2f"),
    ("tunroom-counted syscalls/MB", "tr_syscalls_per_mb", "%.0f"),
    ("heap allocs/pkt", "allocs_per_packet", "%.4g"),
    ("copied B/pkt/end", "copied_bytes_per_packet", "%.0f"),
    ("void slots/pkt", "void_slots_per_packet", "%.2f"),
]
# Where the UDP search's datagrams were dropped, summed over each search.
LOSS_COLS = [
    ("UDP flat out: received kpps", "udp64_kpps_flood", "%.0f"),
    ("dropped at the ns1 device (tx_dropped)", "udp_lost_dev1_tx_dropped", "%.0f"),
    ("UDP RcvbufErrors ns2", "udp_lost_ns2_rcvbuf", "%.0f"),
    ("UDP RcvbufErrors ns1", "udp_lost_ns1_rcvbuf", "%.0f"),
]
# The figures ratios are taken of, and whether more is better.
RATIO_METRICS = {"tcp1_mbps": True, "tcp4_mbps": True, "udp64_kpps_loss0": True,
                 "udp64_kpps_loss1": True, "cpu_tunnel_s_per_gb": False,
                 "ping_idle_ms": False, "ping_busy_ms": False}
# Side by side: tunroom aes128-gcm beside the newest wireguard-go and plain
# veth, with the ratios and the targets set for them.
SIDE = [("TCP 1 stream Mbit/s", "tcp1_mbps", "%.0f", ">= 2x wg-go, >= 0.5x veth"),
        ("tunnel CPU s/GB (both ends)", "cpu_tunnel_s_per_gb", "%.2f", "<= 2.0 and <= 0.5x wg-go"),
        ("ping idle ms (1/s)", "ping_idle_ms", "%.3f", "<= 0.5x wg-go, veth + 0.3 ms"),
        ("ping busy ms (200/s)", "ping_busy_ms", "%.3f", "<= 0.5x wg-go, veth + 0.3 ms"),
        ("UDP 64 B kpps, <=1 % loss", "udp64_kpps_loss1", "%.0f", ">= 1.5x wg-go")]


def machine():
    cpu, mhz = "?", None
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name") and cpu == "?":
            cpu = line.split(":", 1)[1].strip()
        if line.startswith("cpu MHz") and mhz is None:
            mhz = float(line.split(":", 1)[1])
    flags = open("/proc/cpuinfo").read().split("flags", 1)[-1].split("\n", 1)[0].split()
    mem = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo")
                if l.startswith("MemTotal")), None)
    return {"cpu": cpu, "mhz": mhz, "nproc": os.cpu_count(), "mem_mib": mem,
            "kernel": platform.release(), "arch": platform.machine(),
            "crypto_flags": [f for f in ("aes", "vaes", "pclmulqdq", "vpclmulqdq", "avx2", "avx512f")
                             if f in flags],
            "virtualized": "hypervisor" in flags}


def main():
    res, labels, metaf, out, plotdir = sys.argv[1:6]
    rows = [l.split("\t", 1) for l in open(labels).read().splitlines() if l]
    order = [r[0] for r in rows]
    label = dict(rows)
    meta = json.load(open(metaf))
    vals = {}
    for line in open(res):
        _, tid, metric, v = line.rstrip("\n").split("\t")
        if v not in ("nan", "-", ""):
            vals.setdefault(tid, {}).setdefault(metric, []).append(float(v))

    def agg(xs):
        return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}

    def med(t, m):
        xs = vals.get(t, {}).get(m)
        return statistics.median(xs) if xs else None

    # Which pairs have ratios: every tunroom row against every peer at the
    # same MTU, tunroom aes128-gcm against its copy path and Offload = off,
    # the jumbo zero-copy row against the jumbo copy path and against itself
    # at MTU 1400, and the jumbo rows against plain veth at the jumbo MTU.
    jumbo = {"vethj", "trjumbo", "trjcopy"}
    own = {("tr128", "trcopy"), ("tr128", "troff"), ("trjumbo", "trjcopy"), ("trjumbo", "tr128"),
           ("trjcopy", "trcopy"), ("tr128", "trfull"), ("tr128", "trthr"), ("tr128", "trduo"),
           ("tr128", "traa"), ("trb", "tr128")}

    def paired(t, p):
        if (t, p) in own:
            return True
        return not p.startswith("tr") and (t in jumbo) == (p in jumbo)

    ratios = {}
    for t in order:
        if not t.startswith("tr"):
            continue
        for p in order:
            if p == t or not paired(t, p):
                continue
            r = {}
            for m in RATIO_METRICS:
                a, b = med(t, m), med(p, m)
                if a and b:
                    r[m] = round(a / b, 3)
            if r:
                ratios[f"{t}/{p}"] = r

    unit = {}
    for name in ("ring", "framing", "tun"):
        f = os.path.join(out, name + ".json")
        if os.path.exists(f):
            try:
                u = json.load(open(f))
                if not isinstance(u, dict):
                    u = {"bench": name, "results": u}
                u["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(f)))
                unit[name] = u
            except ValueError:
                pass

    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        **meta,
        "packets_are": "as the tunnel device in namespace 1 counts them, rx+tx "
                       "(a TSO/GRO super-packet counts once)",
        "tunnels": [{"id": t, "label": label[t],
                     "metrics": {m: agg(xs) for m, xs in sorted(vals.get(t, {}).items())}}
                    for t in order],
        "ratios": ratios,
        "unit": unit,
    }
    json.dump(doc, open(os.path.join(out, "latest.json"), "w"), indent=1)

    def cell(t, m, fmt):
        xs = vals.get(t, {}).get(m)
        if not xs:
            if m == "allocs_per_packet" and t == "wg":
                return "n/a (Go heap)"
            return "-"
        if not any(xs):
            return "0"  # exactly: no call, no copy
        s = fmt % statistics.median(xs)
        # The search's figure is the sender's ceiling, not the path's, in
        # rounds where even flat out lost <= 1 %.
        sb = vals.get(t, {}).get("udp64_sender_bound") or []
        if m == "udp64_kpps_loss1" and any(sb):
            s += " (sender-bound %d/%d)" % (sum(1 for x in sb if x), len(sb))
        if len(xs) > 1 and fmt % min(xs) != fmt % max(xs):
            s += (" [" + fmt + "-" + fmt + "]") % (min(xs), max(xs))
        return s

    def table(cols, extra=None):
        # Columns no row has a figure for (say, tunroom's syscall counters on
        # a build without them) are left out.
        cols = [c for c in cols if any(vals.get(t, {}).get(c[1]) is not None for t in order)
                or (c[1] == "allocs_per_packet" and "wg" in order)]
        # tunroom's own syscall count is only comparable when it covers the
        # UDP socket and the TUN device both.
        if not all(k in meta.get("tunroom_syscall_keys", "")
                   for k in ("tx_syscalls", "rx_syscalls", "tun_syscalls")):
            cols = [c for c in cols if c[1] != "tr_syscalls_per_mb"]
        head = ["path"] + [c[0] for c in cols] + ([extra[0]] if extra else [])
        body = []
        for t in order:
            row = [label[t]] + [cell(t, m, fmt) for _, m, fmt in cols]
            if extra:
                row.append(extra[1](t))
            body.append(row)
        w = [max(len(r[i]) for r in body + [head]) for i in range(len(head))]
        lines = ["| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |",
                 "|" + "|".join("-" * (x + 2) for x in w) + "|"]
        lines += ["| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |" for r in body]
        return "\n".join(lines)

    def side_by_side():
        peers = [p for p in ("wgnew", "veth") if p in order]
        head = ["metric", label["tr128"]] + [label[p] for p in peers] + \
            [f"tunroom / {p}" for p in peers] + ["target"]
        body = []
        for name, m, fmt, target in SIDE:
            a = med("tr128", m)
            row = [name, fmt % a if a is not None else "-"]
            row += [fmt % med(p, m) if med(p, m) is not None else "-" for p in peers]
            row += ["%.2fx" % (a / med(p, m)) if a and med(p, m) else "-" for p in peers]
            body.append(row + [target])
        w = [max(len(r[i]) for r in body + [head]) for i in range(len(head))]
        lines = ["| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |",
                 "|" + "|".join("-" * (x + 2) for x in w) + "|"]
        lines += ["| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |" for r in body]
        return "\n".join(lines)

    def retr(t):
        r1, r4 = med(t, "tcp1_retrans"), med(t, "tcp4_retrans")
        return "%d/%d" % (r1 or 0, r4 or 0) if r4 is not None else "%d" % (r1 or 0)

    jumbo_note = (f" (rows marked MTU {meta.get('jumbo_inner_mtu')}: that inner MTU over a "
                  f"{meta.get('jumbo_outer_mtu')}-byte veth)" if meta.get("jumbo_inner_mtu") else "")
    print(f"median of {meta['rounds']} interleaved round(s) [min-max], iperf3 -t {meta['iperf_seconds']}, "
          f"inner MTU {meta['inner_mtu']}{jumbo_note}; {doc['machine']['nproc']} x {doc['machine']['cpu']}, "
          f"kernel {doc['machine']['kernel']}, {doc['date']}")
    if "machine_busy_before" in meta:
        print(f"machine load: load average {meta['loadavg_start']} before, {meta['loadavg_end']} after; "
              f"{meta['machine_busy_before'] * 100:.0f} % of CPU time busy with other work just before")
    print()
    print(table(PERF_COLS, ("TCP retr 1/4" if any(med(t, "tcp4_retrans") is not None for t in order)
                            else "TCP retr", retr)))
    print()
    print(table(COST_COLS))
    if any(vals.get(t, {}).get("udp64_kpps_flood") for t in order):
        print()
        print(table(LOSS_COLS))
    for n in meta.get("notes", []):
        print(f"\nnote: {n}")
    if "tr128" in order:
        print()
        print(side_by_side())
    print()
    print("ratios tunroom aes128-gcm / peer (medians; all pairs in latest.json):")
    for k, r in ratios.items():
        if k.startswith("tr128/") or k == "trjumbo/trjcopy":
            print(f"  {k:14s} " + "  ".join(f"{m} {v:.2f}x" for m, v in r.items()))

    with open(os.path.join(plotdir, "plot-tcp.dat"), "w") as f:
        for t in order:
            f.write('"%s" %s %s\n' % (label[t], med(t, "tcp1_mbps") or 0, med(t, "tcp4_mbps") or 0))
    with open(os.path.join(plotdir, "plot-udp.dat"), "w") as f:
        for t in order:
            f.write('"%s" %s %s %s\n' % (label[t], med(t, "udp64_kpps_loss0") or 0,
                                         med(t, "udp64_kpps_loss1") or 0,
                                         med(t, "udp64_kpps_flood") or 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
