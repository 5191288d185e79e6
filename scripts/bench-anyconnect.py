#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tunroom connect against openconnect, both clients of the same stock ocserv.

usage: bench-anyconnect.py [--quick] [--rounds N] [--secs S] [--json FILE]
                           [--rows ID,...] [--alt BUILD_DIR]
       (root; `make bench` runs it. Environment: BUILD, the build directory.)
       --alt adds the rows trdtls@alt and trtls@alt: tunroom connect from
       another build, taking turns with the others in each round (A/B).

Two namespaces joined by a veth: the client side 192.0.2.1, ocserv on
192.0.2.2:4443 (TCP and UDP), pool 198.18.2.0/24, ocserv's own address in it
198.18.2.1. Rows, each a fresh login of one client at a time, rows taking
turns within each round:

  trdtls   tunroom connect               DTLS 1.2 (data in the ring slots)
  trtls    tunroom connect --no-dtls     TLS (CSTP)
  ocdtls   openconnect                   DTLS 1.2
  octls    openconnect --no-dtls         TLS (CSTP)

Per row and round:
  up_mbps, down_mbps     iperf3 -t SECS, one TCP stream, client -> 198.18.2.1
                         and back (-R), received rate
  client_cpu_s_per_gb    utime+stime of the client process (all threads) over
                         both runs, per GB moved
  client_up_s_per_gb, client_down_s_per_gb
                         the same for each direction alone
  ocserv_cpu_s_per_gb    the same for ocserv (main, sec-mod and the session's
                         worker: all processes of the ocserv we started)
  client_up_pct, client_down_pct
                         the client's CPU during each direction, % of one
                         core (100 = a core busy all the time)
  ocserv_up_pct, ocserv_down_pct
                         ocserv's busiest process (the session's worker,
                         one thread) during each direction, % of one core:
                         near 100, ocserv is the ceiling of that run
  ping_ms                median RTT of 20 pings at 20/s, idle
Medians over the rounds; ratios tunroom / openconnect per channel. ocserv may
be the bottleneck (one worker process per session, GnuTLS records): its CPU
per GB says how close to it each run came.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
PID = os.getpid()
NS = {1: f"tr-{PID}-1", 2: f"tr-{PID}-2"}
HZ = os.sysconf("SC_CLK_TCK")
GW = "198.18.2.1"
procs = []


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(*cmd, ns=None, check=True, input=None, timeout=60):
    if ns:
        cmd = ("ip", "netns", "exec", NS[ns]) + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()[-300:]}")
    return r


def bg(*cmd, ns=None, out=None):
    if ns:
        cmd = ("ip", "netns", "exec", NS[ns]) + cmd
    p = subprocess.Popen(cmd, stdout=open(out or os.devnull, "w"), stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    procs.append(p)
    return p


def wait_for(secs, fn):
    end = time.time() + secs
    while time.time() < end:
        try:
            if fn():
                return True
        except Exception:
            pass
        time.sleep(0.05)
    return False


def ticks(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])  # utime, stime (all threads)
    except (OSError, IndexError, ValueError):
        return 0


def ppid(pid):
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def family(root):
    """root and its descendants (ocserv's sec-mod and workers)."""
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    out, grow = {root}, True
    while grow:
        grow = False
        for p in pids:
            if p not in out and ppid(p) in out:
                out.add(p)
                grow = True
    return out


def family_ticks(root):
    return {p: ticks(p) for p in family(root)}


def busiest(t0, t1):
    """The most ticks one process of a family used between two snapshots."""
    return max([t - t0.get(p, 0) for p, t in t1.items()] + [0])


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
    for ns in NS.values():
        subprocess.run(("ip", "netns", "del", ns), capture_output=True)


def setup(work):
    for ns in NS.values():
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
    va, vb = f"tr-{PID}-va", f"tr-{PID}-vb"
    run("ip", "link", "add", va, "type", "veth", "peer", "name", vb)
    run("ip", "link", "set", va, "netns", NS[1])
    run("ip", "link", "set", vb, "netns", NS[2])
    run("ip", "addr", "add", "192.0.2.1/24", "dev", va, ns=1)
    run("ip", "addr", "add", "192.0.2.2/24", "dev", vb, ns=2)
    run("ip", "link", "set", va, "up", ns=1)
    run("ip", "link", "set", vb, "up", ns=2)
    d = work
    os.chmod(d, 0o755)  # ocserv's workers drop to nobody
    run("certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", f"{d}/key.pem")
    open(f"{d}/tmpl", "w").write('cn = "192.0.2.2"\nip_address = "192.0.2.2"\nexpiration_days = 2\n'
                                 "tls_www_server\nsigning_key\n")
    run("certtool", "--generate-self-signed", "--load-privkey", f"{d}/key.pem", "--template", f"{d}/tmpl",
        "--outfile", f"{d}/cert.pem")
    os.chmod(f"{d}/key.pem", 0o644)
    pin = next(w for w in run("certtool", "--certificate-info", "--infile", f"{d}/cert.pem").stdout.split()
               if w.startswith("pin-sha256:"))
    run("ocpasswd", "-c", f"{d}/passwd", "bench", input="benchpass\nbenchpass\n")
    open(f"{d}/ocserv.conf", "w").write(f"""auth = "plain[passwd={d}/passwd]"
listen-host = 192.0.2.2
tcp-port = 4443
udp-port = 4443
run-as-user = nobody
run-as-group = nogroup
socket-file = {d}/ocserv.sock
server-cert = {d}/cert.pem
server-key = {d}/key.pem
isolate-workers = false
max-clients = 4
max-same-clients = 4
max-ban-score = 0
keepalive = 32400
dpd = 90
mobile-dpd = 1800
try-mtu-discovery = false
tls-priorities = "NORMAL:%SERVER_PRECEDENCE:%COMPAT:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"
auth-timeout = 240
cookie-timeout = 300
rekey-time = 172800
rekey-method = ssl
use-occtl = false
pid-file = {d}/ocserv.pid
device = vpns
predictable-ips = true
ipv4-network = 198.18.2.0
ipv4-netmask = 255.255.255.0
ping-leases = false
""")
    # openconnect --script: address and MTU on the device, a route to the pool.
    open(f"{d}/script", "w").write('#!/bin/sh\n[ "$reason" = connect ] || exit 0\n'
                                   'ip link set "$TUNDEV" mtu "$INTERNAL_IP4_MTU" up\n'
                                   'ip addr add "$INTERNAL_IP4_ADDRESS/24" dev "$TUNDEV"\n')
    os.chmod(f"{d}/script", 0o755)
    ocs = bg("ocserv", "-f", "-c", f"{d}/ocserv.conf", ns=2, out=f"{d}/ocserv.log")
    if not wait_for(10, lambda: "192.0.2.2:4443 " in run("ss", "-ltn", ns=2).stdout):
        raise RuntimeError("ocserv did not listen: " + open(f"{d}/ocserv.log").read()[-300:])
    bg("iperf3", "-s", ns=2)
    return pin, ocs


def start_client(a, work, rid, pin):
    """Starts one client, returns (pid, version label) once a ping passes."""
    pidf = f"{work}/{rid}.pid"
    if os.path.exists(pidf):
        os.unlink(pidf)
    no_dtls = ["--no-dtls"] if rid.split("@")[0].endswith("tls") and not rid.split("@")[0].endswith("dtls") \
        else []
    env_cmd = ["env", f"TUNROOM_RUN_DIR={work}/run"]
    if rid.startswith("tr"):
        cmd = env_cmd + [tunroom_of(a, rid), "connect", "-b", "--pid-file", pidf, "-i", f"trb{PID % 10000}", "-s", "",
                         "--servercert", pin, "-u", "bench", "--passwd-on-stdin", "-q"] + no_dtls + \
            ["https://192.0.2.2:4443/"]
    else:
        cmd = ["openconnect", "--protocol=anyconnect", "--non-inter", "-b", "--pid-file", pidf,
               "-i", f"ocb{PID % 10000}", "--servercert", pin, "-u", "bench", "--passwd-on-stdin",
               "--script", f"{work}/script", "-q"] + no_dtls + ["https://192.0.2.2:4443/"]
    # The detached client keeps its stderr: a file, not a pipe we would wait on.
    logf = f"{work}/{rid}.log"
    with open(logf, "w") as lf:
        r = subprocess.run(("ip", "netns", "exec", NS[1]) + tuple(cmd), input="benchpass\n", text=True,
                           stdout=lf, stderr=lf, timeout=30)
    if r.returncode:
        raise RuntimeError(f"{rid}: {open(logf).read().strip()[-300:]}")
    if not wait_for(10, lambda: os.path.exists(pidf) and open(pidf).read().strip()):
        raise RuntimeError(f"{rid}: no pid file")
    pid = int(open(pidf).read())
    if not wait_for(15, lambda: run("ping", "-c", "1", "-W", "1", GW, ns=1, check=False).returncode == 0):
        raise RuntimeError(f"{rid}: no ping through the tunnel")
    if not no_dtls:
        # Data over DTLS only once it is up: tunroom says so in show,
        # openconnect's tun carries it as soon as its DTLS is established.
        if rid.startswith("tr"):
            ok = wait_for(10, lambda: json.loads(run("env", f"TUNROOM_RUN_DIR={work}/run", a.tunroom, "show",
                                                     "--json", f"trb{PID % 10000}", ns=1).stdout)[0]["state"]
                          == "dtls")
        else:
            ok = True
            time.sleep(2)  # openconnect: DTLS is up within a second or two after CONNECT
        if not ok:
            raise RuntimeError(f"{rid}: DTLS did not come up")
    return pid


def tunroom_of(a, rid):
    return a.alt_tunroom if rid.endswith("@alt") else a.tunroom


def tr_counters(a, work, rid):
    """The data plane's counters (tunroom show --json), {} if none."""
    try:
        r = run("env", f"TUNROOM_RUN_DIR={work}/run", tunroom_of(a, rid), "show", "--json", f"trb{PID % 10000}",
                ns=1, check=False)
        j = json.loads(r.stdout)[0]
    except (ValueError, IndexError, KeyError, TypeError):
        return {}
    flat = {}

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if isinstance(v, int) and not isinstance(v, bool):
                    flat[k] = v
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(j)
    return flat


def per_call(c0, c1, ch):
    """Records per send and per receive system call on channel ch."""
    d = {k: c1.get(k, 0) - c0.get(k, 0) for k in c1}
    out = {}
    for way in ("tx", "rx"):
        calls, recs = d.get(f"{ch}_{way}_syscalls", 0), d.get(f"{ch}_{way}_records", 0)
        out[f"{way}_records_per_call"] = recs / calls if calls else None
    return out


def stop_client(pid):
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    wait_for(10, lambda: not os.path.exists(f"/proc/{pid}") or " Z " in open(f"/proc/{pid}/stat").read())


def iperf(secs, reverse):
    cmd = ["iperf3", "-c", GW, "-t", str(secs), "-J"] + (["-R"] if reverse else [])
    for attempt in range(3):
        r = run(*cmd, ns=1, check=False, timeout=secs + 30)
        j = None
        try:
            j = json.loads(r.stdout)
            return j["end"]["sum_received"]["bits_per_second"], j["end"]["sum_received"]["bytes"]
        except (ValueError, KeyError):
            # "the server is busy": the last test's connection still closing.
            err = (j.get("error") if isinstance(j, dict) else None) if r.stdout.strip().startswith("{") \
                else r.stdout.strip()[-200:]
            time.sleep(1)
    raise RuntimeError(f"iperf3 {'-R ' if reverse else ''}failed: {err}")


def ping_ms():
    r = run("ping", "-c", "20", "-i", "0.05", "-W", "1", GW, ns=1, check=False)
    rtts = [float(w.split("=")[1]) for l in r.stdout.splitlines() for w in l.split() if w.startswith("time=")]
    return statistics.median(rtts) if rtts else None


def measure(a, work, rid, pin, ocs):
    pid = start_client(a, work, rid, pin)
    tr = rid.startswith("tr")
    try:
        k0 = tr_counters(a, work, rid) if tr else {}
        c0, s0, w0 = ticks(pid), family_ticks(ocs.pid), time.monotonic()
        up, b1 = iperf(a.secs, False)
        c1, s1, w1 = ticks(pid), family_ticks(ocs.pid), time.monotonic()
        down, b2 = iperf(a.secs, True)
        c2, s2, w2 = ticks(pid), family_ticks(ocs.pid), time.monotonic()
        k1 = tr_counters(a, work, rid) if tr else {}
        gb = (b1 + b2) / 1e9
        srv = sum(t - s0.get(p, 0) for p, t in s2.items())
        pct = lambda t, w: 100.0 * t / HZ / w if w > 0 else None
        res = {"up_mbps": up / 1e6, "down_mbps": down / 1e6,
               "client_cpu_s_per_gb": (c2 - c0) / HZ / gb if gb else None,
               "client_up_s_per_gb": (c1 - c0) / HZ / (b1 / 1e9) if b1 else None,
               "client_down_s_per_gb": (c2 - c1) / HZ / (b2 / 1e9) if b2 else None,
               "ocserv_cpu_s_per_gb": srv / HZ / gb if gb else None,
               "client_up_pct": pct(c1 - c0, w1 - w0), "client_down_pct": pct(c2 - c1, w2 - w1),
               "ocserv_up_pct": pct(busiest(s0, s1), w1 - w0),
               "ocserv_down_pct": pct(busiest(s1, s2), w2 - w1),
               "ping_ms": ping_ms()}
        if tr:
            ch = "cstp" if rid.split("@")[0] == "trtls" else "dtls"
            res.update(per_call(k0, k1, ch))
    finally:
        stop_client(pid)
    time.sleep(0.5)
    return res


LABELS = {"trdtls": "tunroom connect, DTLS", "trtls": "tunroom connect, TLS (--no-dtls)",
          "ocdtls": "openconnect, DTLS", "octls": "openconnect, TLS (--no-dtls)"}
METRICS = ["up_mbps", "down_mbps", "client_cpu_s_per_gb", "client_up_s_per_gb", "client_down_s_per_gb",
           "ocserv_cpu_s_per_gb", "client_up_pct",
           "client_down_pct", "ocserv_up_pct", "ocserv_down_pct", "ping_ms", "tx_records_per_call",
           "rx_records_per_call"]
# The targets for tunroom connect against openconnect on one server.
TARGET_THROUGHPUT, TARGET_CPU = 1.5, 0.3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--secs", type=int, default=None)
    p.add_argument("--json", default=os.path.join(ROOT, "bench/results/anyconnect.json"))
    p.add_argument("--rows", default=None, help="comma-separated row ids (default: all)")
    p.add_argument("--alt", default=None, help="another build directory: A/B rows trdtls@alt, trtls@alt")
    a = p.parse_args()
    a.rounds = a.rounds or (1 if a.quick else 3)
    a.secs = a.secs or (2 if a.quick else 5)
    a.tunroom = os.path.abspath(os.path.join(ROOT, os.environ.get("BUILD", "build"), "src/cli/tunroom"))
    a.alt_tunroom = os.path.abspath(os.path.join(a.alt, "src/cli/tunroom")) if a.alt else None
    labels = dict(LABELS)
    if a.alt:
        labels["trdtls@alt"] = "tunroom connect --alt, DTLS"
        labels["trtls@alt"] = "tunroom connect --alt, TLS"
    if a.rows:
        labels = {r: labels[r] for r in a.rows.split(",")}
    if os.geteuid():
        log("bench-anyconnect: needs root (network namespaces)")
        return 77
    for c in ("ocserv", "openconnect", "certtool", "ocpasswd", "iperf3"):
        if not shutil.which(c):
            log(f"bench-anyconnect: {c} missing (scripts/deps.sh bench)")
            return 77
    for t in (a.tunroom, a.alt_tunroom):
        if t and not os.access(t, os.X_OK):
            log(f"bench-anyconnect: {t} not built")
            return 1
    work = tempfile.mkdtemp(prefix="tr-acb.")
    os.makedirs(f"{work}/run")
    results = {rid: {m: [] for m in METRICS} for rid in labels}
    load0 = os.getloadavg()
    try:
        pin, ocs = setup(work)
        rows = list(labels)
        for rnd in range(a.rounds):
            order = rows[rnd % len(rows):] + rows[:rnd % len(rows)]
            for rid in order:
                log(f"round {rnd + 1}/{a.rounds}: {labels[rid]}")
                try:
                    res = measure(a, work, rid, pin, ocs)
                except Exception as e:  # one row failing must not hide the others
                    log(f"  {rid} failed: {e}")
                    continue
                for m, v in res.items():
                    if v is not None:
                        results[rid][m].append(v)
    finally:
        cleanup()
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()
    med = {rid: {m: (statistics.median(v) if v else None) for m, v in ms.items()} for rid, ms in results.items()}
    fmt = lambda v, f: (f % v) if v is not None else "-"
    print(f"AnyConnect clients against one ocserv 1.1.6 (iperf3 -t {a.secs}, one TCP stream each way, "
          f"median of {a.rounds}, {os.cpu_count()} cores)")

    def table(cols):
        """A header and a row per client: cols are (heading, width, metric, format)."""
        print(f"{'client':34} " + " ".join(f"{h:>{w}}" for h, w, _, _ in cols))
        for rid in labels:
            print(f"{labels[rid]:34} " + " ".join(f"{fmt(med[rid][m], f):>{w}}" for _, w, m, f in cols))
    table([("up Mbit/s", 10, "up_mbps", "%.0f"), ("down Mbit/s", 12, "down_mbps", "%.0f"),
           ("client CPU s/GB", 16, "client_cpu_s_per_gb", "%.2f"),
           ("ocserv CPU s/GB", 16, "ocserv_cpu_s_per_gb", "%.2f"), ("ping ms", 8, "ping_ms", "%.3f")])
    print("Each direction: client CPU per GB; CPU, % of one core (ocserv: its busiest process, the session's "
          "worker; near 100 = ocserv is the ceiling); records per system call (tunroom)")
    table([("up s/GB", 8, "client_up_s_per_gb", "%.2f"), ("down s/GB", 10, "client_down_s_per_gb", "%.2f"),
           ("client up", 10, "client_up_pct", "%.0f"), ("client down", 12, "client_down_pct", "%.0f"),
           ("ocserv up", 10, "ocserv_up_pct", "%.0f"), ("ocserv down", 12, "ocserv_down_pct", "%.0f"),
           ("tx rec/call", 12, "tx_records_per_call", "%.1f"), ("rx rec/call", 12, "rx_records_per_call", "%.1f")])
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f}")

    def ratio(x, y):
        return x / y if x is not None and y else None
    print(f"ratios tunroom / openconnect (targets: throughput >= {TARGET_THROUGHPUT}x, "
          f"client CPU per GB <= {TARGET_CPU}x)")
    for ch, tr, oc in (("DTLS", "trdtls", "ocdtls"), ("TLS", "trtls", "octls")):
        if tr not in med or oc not in med:
            continue
        r = {m: ratio(med[tr][m], med[oc][m]) for m in METRICS}
        parts = [f"{m} {fmt(r[m], '%.2fx')}" for m in
                 ("up_mbps", "down_mbps", "client_cpu_s_per_gb", "ocserv_cpu_s_per_gb", "ping_ms")]
        met = lambda v, ok: "-" if v is None else "met" if ok(v) else "not met"
        print(f"  {ch}: " + ", ".join(parts))
        print(f"  {ch} targets: throughput up {met(r['up_mbps'], lambda v: v >= TARGET_THROUGHPUT)}, "
              f"down {met(r['down_mbps'], lambda v: v >= TARGET_THROUGHPUT)}; client CPU per GB "
              f"{met(r['client_cpu_s_per_gb'], lambda v: v <= TARGET_CPU)}")
    if a.alt:
        print("A/B: tunroom (BUILD) / tunroom (--alt)")
        for ch, x, y in (("DTLS", "trdtls", "trdtls@alt"), ("TLS", "trtls", "trtls@alt")):
            if x in med and y in med:
                print(f"  {ch}: " + ", ".join(f"{m} {fmt(ratio(med[x][m], med[y][m]), '%.2fx')}" for m in
                                             ("up_mbps", "down_mbps", "client_cpu_s_per_gb",
                                              "client_up_s_per_gb", "client_down_s_per_gb")))
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump({"rounds": a.rounds, "secs": a.secs, "cores": os.cpu_count(), "labels": labels,
                   "load": [load0[0], load1[0]], "median": med, "all": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        cleanup()
        sys.exit(130)
