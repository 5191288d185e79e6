#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the latest tunnel comparison into README.md and docs/benchmarks.md.

usage: bench-readme.py [RESULTS.json]   (default bench/results/latest.json)

Each file has a block between "<!-- bench:begin -->" and "<!-- bench:end -->"
lines; only that block is replaced, with text generated from the results:
machine, versions, date, the table and the ratios. Run by `make bench` after
the measurements; running it alone just re-renders the last results.
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
PEERS = {"wgnew": "wireguard-go, newest (offloads)", "wg": "wireguard-go, Debian 2022 (no offloads)",
         "ovpn": "OpenVPN 2.6", "swan": "strongSwan kernel-libipsec",
         "ocdtls": "OpenConnect/ocserv DTLS", "octls": "OpenConnect/ocserv TLS only", "veth": "plain veth"}


def fig(t, m, fmt, spread=True):
    x = t["metrics"].get(m)
    if not x:
        if m == "allocs_per_packet" and t["id"] == "wg":
            return "n/a (Go heap)"
        return "-"
    if not any(x["runs"]):
        return "0"
    s = fmt % x["median"]
    if spread and len(x["runs"]) > 1 and fmt % x["min"] != fmt % x["max"]:
        s += (" [" + fmt + "-" + fmt + "]") % (x["min"], x["max"])
    # Rounds where even flat out lost <= 1 %: the figure is the sender's ceiling.
    sb = t["metrics"].get("udp64_sender_bound", {}).get("runs") or []
    if m == "udp64_kpps_loss1" and any(sb):
        s += " (sender-bound %d/%d)" % (sum(1 for v in sb if v), len(sb))
    return s


def table(doc, cols, spread, rows=None):
    rows = doc["tunnels"] if rows is None else rows
    cols = [c for c in cols if any(c[1] in t["metrics"] for t in rows)
            or (c[1] == "allocs_per_packet" and any(t["id"] == "wg" for t in rows))]
    if not all(k in doc.get("tunroom_syscall_keys", "")
               for k in ("tx_syscalls", "rx_syscalls", "tun_syscalls")):
        cols = [c for c in cols if c[1] != "tr_syscalls_per_mb"]
    out = ["| path | " + " | ".join(c[0] for c in cols) + " |",
           "|---|" + "---|" * len(cols)]
    for t in rows:
        out.append("| " + t["label"] + " | " +
                   " | ".join(fig(t, m, f, spread) for _, m, f in cols) + " |")
    return "\n".join(out)


PERF = [("TCP 1 stream Mbit/s", "tcp1_mbps", "%.0f"), ("TCP 4 streams Mbit/s", "tcp4_mbps", "%.0f"),
        ("UDP 64 B kpps, 0 % loss", "udp64_kpps_loss0", "%.0f"),
        ("UDP 64 B kpps, ≤1 % loss", "udp64_kpps_loss1", "%.0f"),
        ("ping ms", "ping_avg_ms", "%.2f"), ("ping idle ms (1/s)", "ping_idle_ms", "%.3f"),
        ("ping busy ms (200/s)", "ping_busy_ms", "%.3f")]
COST = [("tunnel CPU s/GB", "cpu_tunnel_s_per_gb", "%.1f"),
        ("machine CPU s/GB", "cpu_total_s_per_gb", "%.1f"),
        ("syscalls/MB", "syscalls_per_mb", "%.0f"), ("syscalls/pkt", "syscalls_per_packet", "%.2f"),
        ("tunroom-counted syscalls/MB", "tr_syscalls_per_mb", "%.0f"),
        ("heap allocs/pkt", "allocs_per_packet", "%.4g"),
        ("copied B/pkt/end", "copied_bytes_per_packet", "%.0f")]
SHORT = [("TCP 1 stream Mbit/s", "tcp1_mbps", "%.0f"), ("TCP 4 streams Mbit/s", "tcp4_mbps", "%.0f"),
         ("UDP 64 B kpps, ≤1 % loss", "udp64_kpps_loss1", "%.0f"),
         ("tunnel CPU s/GB", "cpu_tunnel_s_per_gb", "%.1f"),
         ("ping idle ms", "ping_idle_ms", "%.2f"), ("ping busy ms", "ping_busy_ms", "%.2f"),
         ("heap allocs/pkt", "allocs_per_packet", "%.4g")]


def where(doc):
    m, v = doc["machine"], doc["versions"]
    vers = ", ".join(f"{k} {v[k]}" for k in ("tunroom", "openssl", "wireguard-go", "wireguard-go (Debian)",
                                              "openvpn", "strongswan", "openconnect", "ocserv", "gnutls",
                                              "iperf3") if v.get(k))
    busy = doc.get("machine_busy_before")
    busy = f", {busy * 100:.0f} % of CPU busy with other work just before" if busy is not None else ""
    run = "quick: %d round, iperf3 -t %d" if doc["quick"] else "median of %d rounds, iperf3 -t %d"
    return (f"{doc['date'][:16].replace('T', ' ')} UTC, {m['nproc']} x {m['cpu']} "
            f"({'VM, ' if m.get('virtualized') else ''}{', '.join(m.get('crypto_flags', []))}), "
            f"kernel {m['kernel']}, Debian {v.get('debian', '?')}; "
            f"{run % (doc['rounds'], doc['iperf_seconds'])}, inner MTU {doc['inner_mtu']}"
            f"{jumbo_where(doc)}; "
            f"load average {doc.get('loadavg_start', '?').split()[0]} before, "
            f"{doc.get('loadavg_end', '?').split()[0]} after{busy} (shared machine). "
            f"Versions: {vers}.")


def jumbo_where(doc):
    if not any(t["id"] in ("vethj", "trjumbo", "trjcopy") for t in doc["tunnels"]):
        return ""
    return (f" (rows marked MTU {doc.get('jumbo_inner_mtu')}: that inner MTU over a second veth "
            f"pair of MTU {doc.get('jumbo_outer_mtu')}, TCP and CPU only)")


def ratio_lines(doc, pairs):
    out = []
    for key, name in pairs:
        r = doc["ratios"].get(key)
        if not r:
            continue
        who = "tunroom aes128-gcm"
        if key.startswith("trjumbo/"):
            who += f" at MTU {doc.get('jumbo_inner_mtu')}"
        parts = []
        for m, what in (("tcp1_mbps", "TCP 1 stream"), ("tcp4_mbps", "TCP 4 streams"),
                        ("udp64_kpps_loss1", "UDP 64 B ≤1 % loss"),
                        ("cpu_tunnel_s_per_gb", "tunnel CPU per GB"),
                        ("ping_idle_ms", "ping idle"), ("ping_busy_ms", "ping busy")):
            if m in r:
                parts.append(f"{what} {r[m]:.2f}x")
        out.append(f"- {who} / {name}: " + ", ".join(parts))
    return out


def unit_lines(doc):
    """One line per unit benchmark that left JSON behind (bench/*.c)."""
    u, out = doc.get("unit", {}), []
    ring = {(r["size"], r["batch"]): r for r in u.get("ring", {}).get("results", [])}
    if ring:
        parts = [f"{s} B {ring[(s, 32)]['zero_copy']:.1f} ({ring[(s, 32)]['copy']:.1f})"
                 for s in sorted({k[0] for k in ring}) if (s, 32) in ring]
        out.append("- Ring, two threads, batch 32 (`bench/bench_ring.c`), Mpps zero-copy (copy-in/out): "
                   + ", ".join(parts) + ".")
    tun = u.get("tun", {}).get("results", [])
    if tun:
        parts = [f"{r['size']} B {r['tunroom']:.0f} kpps at {r['tunroom_dev_syscalls_per_pkt']:.2f} "
                 f"device syscalls/pkt (read/write loop {r['plain']:.0f} at {r['plain_syscalls_per_pkt']:.1f})"
                 for r in tun]
        out.append("- TUN -> ring -> application -> ring -> TUN (`bench/bench_tun.c`): "
                   + "; ".join(parts) + ".")
    rr = u.get("tun", {}).get("rr", [])
    if rr:
        parts = [f"burst {r['burst']}: {r['wintun']:.0f} (read/write loop {r['plain']:.0f})"
                 for r in rr]
        out.append("- ICMP echo round trips/s through the Wintun API, 4 MiB ring, lead/trail 64 "
                   "(`bench_tun --rr`): " + "; ".join(parts) + ".")
    return out


def JUMBO_RATIOS(doc):
    m = doc.get("jumbo_inner_mtu")
    return [("tr128/trcopy", "its own copy path"),
            ("trjumbo/trjcopy", f"its own copy path at MTU {m}"),
            ("trjumbo/vethj", f"plain veth, MTU {doc.get('jumbo_outer_mtu')}")]


def readme_block(doc):
    lines = ["### Compared with other tunnels", "",
             "Generated by `make bench` (scripts/bench-readme.py from "
             "[bench/results/latest.json](bench/results/latest.json)); how it is measured and how far "
             "to trust it: [docs/benchmarks.md](docs/benchmarks.md).", "",
             where(doc), ""] + unit_lines(doc) + ["", table(doc, SHORT, spread=False), "",
             "Medians. UDP: the highest rate of 64-byte datagrams (bench/udpblast.c) sent "
             "with at most 1 % lost; the veth row is the sender's own ceiling, and a row whose "
             "flat-out probe already lost <= 1 % is marked sender-bound. Tunnel CPU: both "
             "ends' processes per GB moved (lower is better). Heap allocations: "
             "malloc-family calls per packet in steady state.", ""]
    lines += ratio_lines(doc, [(f"tr128/{p}", n) for p, n in PEERS.items()] + JUMBO_RATIOS(doc))
    for n in doc.get("notes", []):
        lines.append(f"- Not run: {n}")
    lines += ["", "![iperf3 TCP per tunnel](bench/results/tunnels.png)",
              "![UDP 64-byte packet rate per tunnel](bench/results/udp64.png)"]
    return lines


LOSS = [("UDP flat out: sent kpps (the sender's ceiling)", "udp64_sender_kpps", "%.0f"),
        ("UDP flat out: received kpps", "udp64_kpps_flood", "%.0f"),
        ("lost at the sending tunnel device (not read in time)", "udp_lost_dev1_tx_dropped", "%.0f"),
        ("lost in UDP receive buffers, receiving namespace", "udp_lost_ns2_rcvbuf", "%.0f"),
        ("lost in UDP receive buffers, sending namespace", "udp_lost_ns1_rcvbuf", "%.0f")]


def docs_block(doc):
    udp = [t for t in doc["tunnels"] if any(c[1] in t["metrics"] for c in LOSS)]
    lines = [where(doc), "", table(doc, PERF, spread=True), "", table(doc, COST, spread=True), ""]
    if udp:  # the jumbo rows have no UDP search
        lines += ["Where the UDP probes lost packets (counters over each tunnel's whole rate search, "
                  "per round; the receiving namespace holds both the receiving sink and the tunnel's "
                  "own socket there):", "", table(doc, LOSS, spread=True, rows=udp), ""]
    lines += ["Ratios of medians, tunroom aes128-gcm / other (below 1 is better for CPU per GB; "
             "every pair is in latest.json):", ""]
    lines += ratio_lines(doc, [(f"tr128/{p}", n) for p, n in PEERS.items()] +
                         [("tr128/trcopy", "its own copy path"), ("tr128/troff", "itself with Offload = off"),
                          ("tr128/trfull", "itself with Checksums = full"),
                          ("tr128/trthr", "itself with Inline = off (an engine thread per end)"),
                          ("tr128/trduo", "itself with Workers = 2 (a send and a receive thread per end)"),
                          ("tr128/traa", "itself again (A/A: the same build and config in a second row; "
                           "ratios to the rows above that differ from 1 by less than this one are noise)"),
                          ("trjumbo/trjcopy", f"its own copy path at MTU {doc.get('jumbo_inner_mtu')}"),
                          ("trjumbo/tr128", "itself at MTU 1400"),
                          ("trjumbo/vethj", f"plain veth, MTU {doc.get('jumbo_outer_mtu')}")])
    for n in doc.get("notes", []):
        lines.append(f"- Not run: {n}")
    lines += ["", "![iperf3 TCP per tunnel](../bench/results/tunnels.png)",
              "![UDP 64-byte packet rate per tunnel](../bench/results/udp64.png)"]
    return lines


def rewrite(path, block):
    text = open(path).read()
    if BEGIN not in text or END not in text:
        print(f"bench-readme: {path} has no {BEGIN} ... {END} block, left alone", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + BEGIN + "\n" + "\n".join(block) + "\n" + END + tail
    if new != text:
        open(path, "w").write(new)
        print(f"bench-readme: {os.path.relpath(path, ROOT)} updated", file=sys.stderr)
    return 0


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench/results/latest.json")
    doc = json.load(open(src))
    rc = rewrite(os.path.join(ROOT, "README.md"), readme_block(doc))
    rc |= rewrite(os.path.join(ROOT, "docs/benchmarks.md"), docs_block(doc))
    return rc


if __name__ == "__main__":
    sys.exit(main())
