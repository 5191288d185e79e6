#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tunnels side by side, measured in interleaved rounds between two namespaces.

usage: bench-tunnels.py [--quick] [--rounds N] [--only "ID ..."] [--out DIR] [--keep]
                        [--profile] [--machine-profile]
       (root; `make bench` runs it. Environment: BUILD (build dir, default
       build), WIREGUARD_GO (a newest wireguard-go binary to use instead of
       building one), BENCH_ONLY, BENCH_ROUNDS, BENCH_OUT as the options.)

The topology is the tunnel tests' (tests/netns/tunnel-lib.sh, topology()):
namespaces tr-PID-1 and tr-PID-2 joined by one veth pair, 192.0.2.1/24 and
192.0.2.2/24; every tunnel's outer traffic crosses it, each between its own
inner addresses from 198.18.0.0/15, all with inner MTU 1400:

  id      row                                    inner (ns1 -> ns2)     outer
  veth    plain veth, no tunnel: the ceiling     192.0.2.1 -> .2        -
  tr128   tunroom aes128-gcm (defaults)          198.18.0.1 -> .2       UDP 4600
  trfull  tunroom aes128-gcm, Checksums = full   198.18.0.5 -> .6       UDP 4601
  trthr   tunroom aes128-gcm, Inline = off       198.18.0.21 -> .22     UDP 4603
          (an engine thread per end between TUN
          and the rings, as before run-to-completion)
  trduo   tunroom aes128-gcm, Workers = 2        198.18.0.25 -> .26     UDP 4604
          (a send and a receive thread per end)
  traa    tunroom aes128-gcm again (A/A: the    198.18.0.29 -> .30     UDP 4605
          defaults in a second row; how far two
          identical rows differ is this run's
          noise floor for the rows above)
  wgnew   wireguard-go 0.0.20250522 (newest,     198.18.0.13 -> .14     UDP 51820
          TUN TSO/GRO + UDP GSO/GRO), built from
          the vendored source (build.sh) with Go
  wg      wireguard-go from Debian (2022, no     198.18.0.17 -> .18     UDP 51821
          offloads): labelled so, kept as history
  ovpn    OpenVPN 2.6, p2p TLS (peer fingerprints), 198.18.4.1 -> .2    UDP 1194
          data cipher AES-128-GCM, DCO off
  swan    strongSwan 5.9 charon, kernel-libipsec 198.18.3.1 -> .2       UDP 4500 (ESP
          (userspace ESP over a TUN device, as      (on lo)              in UDP), IKE 500
          tunroom), AES-128-GCM
  ocdtls  openconnect -> ocserv over DTLS        198.18.1.x -> .1       UDP/TCP 4443
  trb     only with BENCH_TUNROOM_B=path: that    198.18.0.9 -> .10      UDP 4602
          tunroom binary (another build, for A/B
          experiments; BENCH_TUNROOM_B_LABEL names it)

Per row and round (rows take turns, the first of each round rotating):
  tcp1_mbps            iperf3 -t SECS, one stream, received rate
  cpu_tunnel_s_per_gb  utime+stime of the tunnel's processes (both ends, all
                       threads and children) over that run, per GB received
  cpu_total_s_per_gb   the whole machine's busy time over that run, per GB
  ping_idle_ms         median RTT of pings at 1/s
  ping_busy_ms         median RTT of 200 pings at 200/s
  udp64_kpps_loss1/0   64-byte UDP: the highest rate sent with <= 1 % / 0 % loss,
                       a search of bounded time (bench-udp.py: bench/udpblast.c,
                       sendmmsg sender in ns1, recvmmsg sink in ns2, port 5301)
  udp64_sender_kpps    that sender flat out on the path: the ceiling; the veth
                       row's is the sender's own (udp64_sender_bound: 1 when
                       even flat out lost <= 1 %, so the path was not the limit)
  void_slots_per_packet  tunroom rows: empty slots of offload reads published as
                       void slots (tun_egress_hole_voids), per packet the tunnels
                       sent, whole run
  udp_lost_*           drops over that search: tx_dropped of the path's device in
                       ns1, UDP RcvbufErrors in ns1 and ns2
  allocs_per_packet    tunroom rows: heap allocation calls in both ends over the
                       TCP run per packet through the device (bench/alloccount.c,
                       LD_PRELOAD)
With --profile (a full `make bench`): where tunroom aes128-gcm spends its time
under TCP and a 64-byte UDP flood, perf stat per thread and perf record's top
symbols, into OUT/profile-tcp.txt and OUT/profile-udp64.txt; and for every
row, the whole machine's CPU seconds per GB of a TCP stream split by process
(perf record -a), into OUT/profile-machine.txt (alone: --machine-profile).
Machine load: load average before and after, and the share of CPU time busy
in a 2 s window before anything of ours runs (other users of the machine).
Writes OUT/latest.json through scripts/bench-report.py (tables and ratios on
stdout, with tunroom beside the newest wireguard-go and plain veth).
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
PID = os.getpid()
NS = {1: f"tr-{PID}-1", 2: f"tr-{PID}-2"}
MTU = 1400
procs = []   # (Popen, label): ours to stop, by PID
notes = []   # rows not run, and why


def log(*a):
    print("bench-tunnels:", *a, file=sys.stderr, flush=True)


def note(msg):
    notes.append(msg)
    log(msg)


def run(*cmd, ns=None, check=True, capture=True, timeout=60, env=None, input=None):
    if ns:
        cmd = ("ip", "netns", "exec", NS[ns]) + cmd
    r = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout, env=env, input=input)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {(r.stderr or '').strip()[:300]}")
    return r


def bg(*cmd, ns=None, out=None, env=None, label=""):
    if ns:
        cmd = ("ip", "netns", "exec", NS[ns]) + cmd
    f = open(out, "w") if out else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                         start_new_session=True)
    procs.append((p, label or cmd[0]))
    return p


def wait_for(secs, fn):
    end = time.time() + secs
    while time.time() < end:
        try:
            if fn():
                return True
        except (OSError, RuntimeError, subprocess.SubprocessError):
            pass
        time.sleep(0.1)
    return False


def cleanup():
    for p, _ in reversed(procs):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    for p, _ in reversed(procs):
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for ns in NS.values():
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def topology():
    for n, ns in NS.items():
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
    return va


def pings_ok(addr):
    return run("ping", "-c", "1", "-W", "1", addr, ns=1, check=False).returncode == 0


class Row:
    def __init__(self, rid, label, addr, pids=(), dev=None, tr_dev=None):
        self.id, self.label, self.addr, self.pids = rid, label, addr, list(pids)
        self.dev, self.tr_dev = dev, tr_dev


# --- tunroom ------------------------------------------------------------------

def tunroom_row(a, work, rid, label, dev, base, port, extra=(), tunroom=None):
    tunroom = tunroom or a.tunroom
    keys = run(tunroom, "genkey", "aes128-gcm").stdout
    keys = "\n".join(l for l in keys.splitlines() if not l.startswith("#"))
    swapped = "\n".join(("In" + l[3:]) if l.startswith("Out") else ("Out" + l[2:]) if l.startswith("In")
                        else l for l in keys.splitlines())
    pids = []
    for side, me, peer, k in (("a", 1, 2, keys), ("b", 2, 1, swapped)):
        conf = os.path.join(work, f"{rid}.{side}.conf")
        with open(os.open(conf, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "w") as f:
            f.write(f"[Interface]\nName = {dev}\nAddress = 198.18.0.{base + me}/30\nMTU = {MTU}\n"
                    f"ListenAddress = 192.0.2.{me}\nListenPort = {port}\n" + "".join(x + "\n" for x in extra) +
                    f"\n[SA]\nEndpoint = 192.0.2.{peer}:{port}\n{k}\n")
        if side == "a":
            chk = run(tunroom, "up", "-n", conf, check=False)
            if chk.returncode:
                note(f"{label} not run: this tunroom rejects its config: {chk.stderr.strip().splitlines()[:1]}")
                return None
        rundir = os.path.join(work, f"run-{side}")
        os.makedirs(rundir, exist_ok=True)
        # A state directory per side and row: one tunnel per state file.
        env = dict(os.environ, TUNROOM_RUN_DIR=rundir, TUNROOM_STATE_DIR=os.path.join(work, f"state-{rid}-{side}"))
        if a.allocshim:
            adir = os.path.join(work, "alloc", rid)
            os.makedirs(adir, exist_ok=True)
            env.update(LD_PRELOAD=a.allocshim, TR_ALLOCCOUNT_DIR=adir)
        pids.append(bg(tunroom, "up", conf, ns=me, env=env, out=os.path.join(work, f"{rid}.{side}.log")).pid)
    for side in "ab":
        env = dict(os.environ, TUNROOM_RUN_DIR=os.path.join(work, f"run-{side}"))
        if not wait_for(10, lambda: run(a.tunroom, "show", dev, env=env, check=False).returncode == 0):
            note(f"{label} not run: side {side} did not come up")
            return None
    return Row(rid, label, f"198.18.0.{base + 2}", pids, dev, dev)


def tunroom_show(a, work, dev):
    out = {}
    for side in "ab":
        env = dict(os.environ, TUNROOM_RUN_DIR=os.path.join(work, f"run-{side}"))
        r = run(a.tunroom, "show", "--json", dev, env=env, check=False)
        try:
            t = json.loads(r.stdout)[0]
        except (ValueError, IndexError, KeyError):
            continue
        for k, v in t.get("stats", {}).items():
            if isinstance(v, int):
                out[k] = out.get(k, 0) + v
    return out


# --- wireguard-go ----------------------------------------------------------------

def find_wg_src():
    """The vendored wireguard-go source: a directory with its build.sh (offline,
    Debian's Go), named by WIREGUARD_GO_SRC or found at peers/wireguard-go
    beside the repository."""
    for d in (os.environ.get("WIREGUARD_GO_SRC"), os.path.join(ROOT, "..", "peers", "wireguard-go")):
        if d and os.path.exists(os.path.join(d, "build.sh")):
            return d
    return None


def newest_wg(a):
    """Path of the newest wireguard-go, or (None, why)."""
    if os.environ.get("WIREGUARD_GO"):
        return os.environ["WIREGUARD_GO"], None
    out = os.path.join(ROOT, a.build, "peers", "wireguard-go")
    if os.access(out, os.X_OK):
        return out, None
    if not shutil.which("go"):
        return None, "Go is missing (apt-get install golang-go), and WIREGUARD_GO is not set"
    src = find_wg_src()
    if not src:
        return None, ("no wireguard-go source: set WIREGUARD_GO_SRC to the directory holding its "
                      "build.sh, or WIREGUARD_GO to a built binary")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    r = run("bash", os.path.join(src, "build.sh"), out, check=False, timeout=600)
    if r.returncode or not os.access(out, os.X_OK):
        return None, "its build failed: " + (r.stderr or r.stdout).strip()[-200:]
    return out, None


def wg_row(a, work, rid, label, binary, base, port):
    if not shutil.which("wg"):
        note(f"{label} not run: wg(8) missing (wireguard-tools)")
        return None
    devs = (f"wg{rid[2:5]}-{PID}a"[:15], f"wg{rid[2:5]}-{PID}b"[:15])
    keys = [run("wg", "genkey").stdout.strip() for _ in range(2)]
    pubs = [run("wg", "pubkey", input=k).stdout.strip() for k in keys]
    pids = []
    for i, ns in ((0, 1), (1, 2)):
        env = dict(os.environ, WG_PROCESS_FOREGROUND="1")
        pids.append(bg(binary, "-f", devs[i], ns=ns, env=env, out=os.path.join(work, f"{rid}.{i}.log")).pid)
    for i, ns in ((0, 1), (1, 2)):
        sock = f"/var/run/wireguard/{devs[i]}.sock"
        if not wait_for(10, lambda: os.path.exists(sock)):
            note(f"{label} not run: {binary} did not start")
            return None
        kf = os.path.join(work, f"{rid}.{i}.key")
        with open(os.open(kf, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "w") as f:
            f.write(keys[i] + "\n")
        me, peer = (1, 2) if i == 0 else (2, 1)
        run("wg", "set", devs[i], "private-key", kf, "listen-port", str(port), "peer", pubs[1 - i],
            "allowed-ips", f"198.18.0.{base + peer}/32", "endpoint", f"192.0.2.{peer}:{port}", ns=ns)
        run("ip", "addr", "add", f"198.18.0.{base + me}/30", "dev", devs[i], ns=ns)
        run("ip", "link", "set", devs[i], "mtu", str(MTU), "up", ns=ns)
    return Row(rid, label, f"198.18.0.{base + 2}", pids, devs[0])


# --- OpenVPN ------------------------------------------------------------------------

def ovpn_row(a, work):
    label = "OpenVPN %s, AES-128-GCM, no DCO" % pkgver("openvpn", "?")
    if not shutil.which("openvpn"):
        note("OpenVPN not run: openvpn missing (scripts/deps.sh bench)")
        return None
    d = os.path.join(work, "ovpn")
    os.makedirs(d)
    fp = {}
    for s in "ab":
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", f"/CN=bench-{s}", "-days", "2", "-keyout", f"{d}/{s}.key", "-out", f"{d}/{s}.crt")
        fp[s] = run("openssl", "x509", "-fingerprint", "-sha256", "-noout", "-in",
                    f"{d}/{s}.crt").stdout.strip().split("=", 1)[1]
    pids, devs = [], (f"ovpn-{PID}a"[:15], f"ovpn-{PID}b"[:15])
    for s, ns, me, peer, role in (("b", 2, 2, 1, "--tls-server"), ("a", 1, 1, 2, "--tls-client")):
        other = "a" if s == "b" else "b"
        cmd = ["openvpn", "--dev-type", "tun", "--dev", devs[ns - 1], "--proto", "udp",
               "--local", f"192.0.2.{me}", "--lport", "1194", "--remote", f"192.0.2.{peer}", "--rport", "1194",
               "--ifconfig", f"198.18.4.{me}", f"198.18.4.{peer}", role, "--cert", f"{d}/{s}.crt",
               "--key", f"{d}/{s}.key", "--peer-fingerprint", fp[other], "--data-ciphers", "AES-128-GCM",
               "--disable-dco", "--tun-mtu", str(MTU), "--verb", "3", "--ping", "10", "--script-security", "0"]
        if role == "--tls-server":
            cmd += ["--dh", "none"]
        pids.append(bg(*cmd, ns=ns, out=f"{d}/{s}.log").pid)
    if not wait_for(20, lambda: "Initialization Sequence Completed" in open(f"{d}/a.log").read()):
        note("OpenVPN not run: no connection: " + open(f"{d}/a.log").read().strip()[-200:])
        return None
    cipher = [l for l in open(f"{d}/a.log") if "Data Channel: cipher" in l or "data channel" in l.lower()]
    if cipher:
        log("ovpn:", cipher[-1].strip()[-120:])
    return Row("ovpn", label, "198.18.4.2", pids, devs[0])


# --- strongSwan, kernel-libipsec ---------------------------------------------------

SWAN_CONF = """charon {{
  # kernel-libipsec before kernel-netlink: libipsec takes the IPsec (SA and
  # policy) interface, kernel-netlink only addresses and routes.
  load = random nonce openssl pem pkcs1 x509 pubkey sha1 sha2 hmac aes gcm kdf kernel-libipsec kernel-netlink socket-default vici
  install_virtual_ip = no
  plugins {{
    vici {{
      socket = unix://{d}/charon.vici
    }}
  }}
  filelog {{
    log {{
      path = {d}/charon.log
      default = 1
    }}
  }}
}}
"""
SWANCTL = """connections {{
  bench {{
    version = 2
    local_addrs = 192.0.2.{me}
    remote_addrs = 192.0.2.{peer}
    encap = yes
    proposals = aes128gcm16-prfsha256-ecp256
    local {{
      auth = psk
      id = bench-{me}
    }}
    remote {{
      auth = psk
      id = bench-{peer}
    }}
    children {{
      bench {{
        local_ts = 198.18.3.{me}/32
        remote_ts = 198.18.3.{peer}/32
        esp_proposals = aes128gcm16
        mode = tunnel
      }}
    }}
  }}
}}
secrets {{
  ike-bench {{
    id-1 = bench-1
    id-2 = bench-2
    secret = "{psk}"
  }}
}}
"""


def swan_row(a, work):
    label = "strongSwan %s, kernel-libipsec, AES-128-GCM" % pkgver("strongswan-charon", "5.9")
    charon = "/usr/lib/ipsec/charon"
    plug = "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"
    if not (os.access(charon, os.X_OK) and os.path.exists(plug) and shutil.which("swanctl")):
        note("strongSwan not run: charon, swanctl or the kernel-libipsec plugin missing (scripts/deps.sh bench)")
        return None
    psk = os.urandom(24).hex()
    pids = []
    for me, peer in ((2, 1), (1, 2)):
        d = os.path.join(work, f"swan{me}")
        os.makedirs(d)
        open(f"{d}/strongswan.conf", "w").write(SWAN_CONF.format(d=d))
        with open(os.open(f"{d}/swanctl.conf", os.O_CREAT | os.O_WRONLY, 0o600), "w") as f:
            f.write(SWANCTL.format(me=me, peer=peer, psk=psk))
        run("ip", "addr", "add", f"198.18.3.{me}/32", "dev", "lo", ns=me)
        # Each charon in a mount namespace of its own with a private /run:
        # its pid file there is fixed at build time, and two would collide.
        env = dict(os.environ, STRONGSWAN_CONF=f"{d}/strongswan.conf")
        pids.append(bg("unshare", "-m", "--propagation", "private", "sh", "-c",
                       "mount -t tmpfs tmpfs /run && exec " + charon, ns=me, env=env,
                       out=f"{d}/stdout.log").pid)
        uri = f"unix://{d}/charon.vici"
        if not wait_for(10, lambda: os.path.exists(f"{d}/charon.vici")):
            note("strongSwan not run: charon did not start: " + open(f"{d}/stdout.log").read()[-200:])
            return None
        run("swanctl", "--load-all", "--uri", uri, "--file", f"{d}/swanctl.conf", ns=me, env=env)
    d1 = os.path.join(work, "swan1")
    r = run("swanctl", "--initiate", "--child", "bench", "--uri", f"unix://{d1}/charon.vici", ns=1,
            check=False, timeout=30, env=dict(os.environ, STRONGSWAN_CONF=f"{d1}/strongswan.conf"))
    if r.returncode or not wait_for(10, lambda: pings_ok("198.18.3.2")):
        note("strongSwan not run: no CHILD_SA or no ping: " + (r.stdout + r.stderr).strip()[-200:])
        return None
    return Row("swan", label, "198.18.3.2", pids, "ipsec0")


# --- openconnect / ocserv -------------------------------------------------------------

OCSERV = """auth = "plain[passwd={d}/passwd]"
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
keepalive = 32400
dpd = 90
mobile-dpd = 1800
try-mtu-discovery = false
tls-priorities = "NORMAL:%SERVER_PRECEDENCE"
auth-timeout = 240
cookie-timeout = 300
deny-roaming = false
rekey-time = 172800
rekey-method = ssl
use-occtl = false
pid-file = {d}/ocserv.pid
device = ocs1-
predictable-ips = true
ipv4-network = 198.18.1.0
ipv4-netmask = 255.255.255.0
mtu = {mtu}
ping-leases = false
"""
OC_SCRIPT = """#!/bin/sh
# openconnect --script: address and MTU on the device, nothing else.
[ "$reason" = connect ] || exit 0
ip addr add "$INTERNAL_IP4_ADDRESS/32" peer 198.18.1.1 dev "$TUNDEV"
ip link set "$TUNDEV" mtu "$INTERNAL_IP4_MTU" up
"""


def oc_row(a, work):
    if not all(shutil.which(c) for c in ("ocserv", "openconnect", "certtool", "ocpasswd")):
        note("openconnect/ocserv not run: ocserv, openconnect or certtool missing (scripts/deps.sh bench)")
        return None
    d = os.path.join(work, "oc")
    os.makedirs(d)
    os.chmod(work, 0o755)
    os.chmod(d, 0o755)  # ocserv's workers drop to nobody
    run("certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", f"{d}/key.pem")
    open(f"{d}/cert.tmpl", "w").write("cn = 192.0.2.2\nip_address = 192.0.2.2\nexpiration_days = 2\n"
                                     "tls_www_server\nsigning_key\nencryption_key\n")
    run("certtool", "--generate-self-signed", "--load-privkey", f"{d}/key.pem", "--template",
        f"{d}/cert.tmpl", "--outfile", f"{d}/cert.pem")
    os.chmod(f"{d}/key.pem", 0o644)
    pin = next(w for w in run("certtool", "--certificate-info", "--infile", f"{d}/cert.pem").stdout.split()
               if w.startswith("pin-sha256:"))
    run("ocpasswd", "-c", f"{d}/passwd", "bench", input="benchpass\nbenchpass\n")
    open(f"{d}/ocserv.conf", "w").write(OCSERV.format(d=d, mtu=MTU))
    open(f"{d}/script", "w").write(OC_SCRIPT)
    os.chmod(f"{d}/script", 0o755)
    pids = [bg("ocserv", "-f", "-c", f"{d}/ocserv.conf", ns=2, out=f"{d}/server.log").pid]
    if not wait_for(10, lambda: "192.0.2.2:4443 " in run("ss", "-ltn", ns=2).stdout):
        note("openconnect/ocserv not run: ocserv did not listen")
        return None
    dev = f"oc-{PID}"[:15]
    open(f"{d}/pass", "w").write("benchpass\n")
    pids.append(bg("sh", "-c", 'exec "$@" <"$0"', f"{d}/pass", "openconnect", "--passwd-on-stdin", "-u", "bench",
                   "--servercert", pin, "--script", f"{d}/script", "--interface", dev,
                   "https://192.0.2.2:4443/", ns=1, out=f"{d}/client.log").pid)
    if not wait_for(15, lambda: "Established DTLS" in open(f"{d}/client.log").read()) or \
            not wait_for(10, lambda: pings_ok("198.18.1.1")):
        note("openconnect/ocserv DTLS not run: " + open(f"{d}/client.log").read().strip()[-200:])
        return None
    ver = run("openconnect", "--version", check=False).stdout.split("\n")[0].split()[-1]
    return Row("ocdtls", f"openconnect {ver} / ocserv, DTLS", "198.18.1.1", pids, dev)


# --- measuring ----------------------------------------------------------------------------

HZ = os.sysconf("SC_CLK_TCK")


def proc_ticks(pids):
    """utime+stime of these processes and all their descendants."""
    parent, ticks = {}, {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                s = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            f = s[s.rindex(")") + 2:].split()
            parent[int(d)], ticks[int(d)] = int(f[1]), int(f[11]) + int(f[12])
    want, grew = set(pids), True
    while grew:
        grew = False
        for p, pp in parent.items():
            if pp in want and p not in want:
                want.add(p)
                grew = True
    return sum(ticks.get(p, 0) for p in want)


def busy_ticks():
    f = open("/proc/stat").readline().split()
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in f[1:9])
    return user + nice + system + irq + softirq + steal, idle + iowait


def iperf_tcp(addr, secs):
    r = run("iperf3", "-c", addr, "-t", str(secs), "-J", ns=1, check=False, timeout=secs + 30)
    e = json.loads(r.stdout)["end"]
    return e["sum_received"]["bits_per_second"], e["sum_received"]["bytes"], e["sum_sent"].get("retransmits", 0)


def ping_median(addr, count, interval):
    r = run("ping", "-n", "-c", str(count), "-i", str(interval), "-W", "1", addr, ns=1, check=False,
            timeout=count * interval + 20)
    t = [float(w[5:]) for w in r.stdout.split() if w.startswith("time=")]
    return statistics.median(t) if t else None


def alloc_count(work, rid):
    """Heap allocation calls so far in a row's processes (alloccount.c files), or None."""
    d = os.path.join(work, "alloc", rid)
    if not os.path.isdir(d) or not os.listdir(d):
        return None
    total = 0
    for f in os.listdir(d):
        b = open(os.path.join(d, f), "rb").read(32)
        if len(b) == 32:
            total += sum(struct.unpack("<4Q", b))
    return total


def dev_packets(row):
    s = f"/sys/class/net/{row.dev}/statistics"
    r = run("sh", "-c", f"cat {s}/rx_packets {s}/tx_packets", ns=1, check=False)
    return sum(int(x) for x in r.stdout.split()) if r.returncode == 0 else None


def udp_drops(row):
    """Where 64-byte probes can be dropped outside the sink: the sending
    path's device in ns1 (a tunnel's TUN device whose reader fell behind),
    and UDP receive buffers in each namespace (ns2 holds the receiving
    tunnel's socket and the sink, ns1 the sending tunnel's)."""
    out = {}
    r = run("cat", f"/sys/class/net/{row.dev}/statistics/tx_dropped", ns=1, check=False)
    if r.returncode == 0:
        out["udp_lost_dev1_tx_dropped"] = int(r.stdout)
    for n in (1, 2):
        lines = [l.split() for l in run("cat", "/proc/net/snmp", ns=n, check=False).stdout.splitlines()
                 if l.startswith("Udp:")]
        if len(lines) == 2 and "RcvbufErrors" in lines[0]:
            out[f"udp_lost_ns{n}_rcvbuf"] = int(lines[1][lines[0].index("RcvbufErrors")])
    return out


def measure(a, work, row, rnd, put):
    c0, (b0, _) = proc_ticks(row.pids), busy_ticks()
    al0, pk0 = alloc_count(work, row.id), dev_packets(row)
    try:
        bps, nbytes, retr = iperf_tcp(row.addr, a.secs)
    except (ValueError, KeyError, subprocess.TimeoutExpired) as e:
        note(f"{row.label}: iperf3 failed in round {rnd}: {e}")
        return
    c1, (b1, _) = proc_ticks(row.pids), busy_ticks()
    al1, pk1 = alloc_count(work, row.id), dev_packets(row)
    if al0 is not None and al1 is not None and pk0 is not None and pk1 and pk1 > pk0:
        put(rnd, row.id, "allocs_per_packet", "%.6f" % ((al1 - al0) / (pk1 - pk0)))
    put(rnd, row.id, "tcp1_mbps", "%.1f" % (bps / 1e6))
    put(rnd, row.id, "tcp1_retrans", retr)
    if row.pids and nbytes:
        put(rnd, row.id, "cpu_tunnel_s_per_gb", "%.3f" % ((c1 - c0) / HZ / (nbytes / 1e9)))
    if nbytes:
        put(rnd, row.id, "cpu_total_s_per_gb", "%.3f" % ((b1 - b0) / HZ / (nbytes / 1e9)))
    idle = ping_median(row.addr, a.idle_pings, 1)
    busy = ping_median(row.addr, 200, 0.005)
    put(rnd, row.id, "ping_idle_ms", "%.3f" % idle if idle is not None else "nan")
    put(rnd, row.id, "ping_busy_ms", "%.3f" % busy if busy is not None else "nan")
    if not a.udpblast:
        return
    cmd = [os.path.join(ROOT, "scripts", "bench-udp.py"), NS[1], NS[2], row.addr, "--blast", a.udpblast] + \
        (["--quick"] if a.quick else [])
    d0 = udp_drops(row)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    d1 = udp_drops(row)
    for k in d0:
        if k in d1:
            put(rnd, row.id, k, d1[k] - d0[k])
    for line in r.stdout.splitlines():
        m, v = line.split()
        put(rnd, row.id, m, v)
    if r.stderr.strip():
        log("   ", r.stderr.strip().splitlines()[-1])


# Stages of a sample's call chain, first match wins: the kernel work inside
# each kind of system call (inner TCP receive runs inside a TUN write, the
# peer's UDP receive inside our send over veth), then the leaf's library.
STAGES = (
    (("tcp_v4_rcv", "tcp_v6_rcv"), "inner TCP/IP receive (inside TUN writes: the endpoint's work)"),
    (("tun_chr_write_iter",), "TUN writes (inner IP, copy)"),
    (("tun_chr_read_iter",), "TUN reads (copy)"),
    (("udp_sendmsg", "udpv6_sendmsg"), "UDP sends (copy, GSO, veth, the peer's UDP receive)"),
    (("udp_recvmsg", "udpv6_recvmsg"), "UDP receives (copy)"),
    (("do_sys_poll", "do_epoll_wait"), "waiting (poll)"),
    (("io_uring_enter", "io_submit_sqes"), "io_uring (other than the reads and writes)"),
)


def stages(data):
    """Share of samples per stage, from perf script's call chains."""
    r = run("perf", "script", "-i", data, "-F", "tid,ip,sym,dso", check=False, timeout=600)
    count, total = {}, 0
    for block in r.stdout.split("\n\n"):
        frames = [l.strip() for l in block.strip().splitlines()[1:] if l.strip()]
        if not frames:
            continue
        total += 1
        chain = " ".join(frames)
        # DWARF unwinding lists inlined functions as frames of their own
        # with "(inlined)" for a library: the leaf is the first real one.
        leaf = next((f for f in frames if not f.endswith("(inlined)")), frames[0])
        for marks, name in STAGES:
            if any(" " + m + "+" in chain or " " + m + " " in chain for m in marks):
                break
        else:
            if "libcrypto" in leaf or "libIPSec_MB" in leaf:
                name = "crypto library (" + ("ipsec-mb" if "libIPSec_MB" in leaf else "OpenSSL") + ")"
            elif "kernel" in leaf:
                name = "other kernel work"
            elif "/tunroom)" in leaf or "(tunroom" in leaf or leaf.endswith("tunroom)"):
                name = "tunroom's own code"
            else:
                name = "other userspace (" + leaf.rsplit("(", 1)[-1].rstrip(")").rsplit("/", 1)[-1] + ")"
        count[name] = count.get(name, 0) + 1
    if not total:
        return ["   (no samples)"]
    return ["%7.1f%%  %s" % (100 * n / total, k) for k, n in sorted(count.items(), key=lambda x: -x[1])]


def profile(a, work, row, kind, win=4):
    """perf stat per thread and perf record's top symbols, both ends, under load."""
    d = os.path.join(work, "prof-" + kind)
    os.makedirs(d)
    pids = ",".join(str(p) for p in row.pids)
    if kind == "udp64":
        # Flat out, 64-byte datagrams into a sink (bench/udpblast.c).
        sink = bg(a.udpblast, "sink", "5301", "--secs", str(2 * win + 8), ns=2, label="udpblast sink")
        time.sleep(0.3)
        load = [a.udpblast, "send", row.addr, "5301", "--size", "64", "--secs", str(2 * win + 3)]
    else:
        sink, load = None, ["iperf3", "-c", row.addr, "-t", str(2 * win + 3)]
    job = bg(*load, ns=1, label="profile load")
    time.sleep(1)
    run("perf", "stat", "--per-thread", "-e", "task-clock,raw_syscalls:sys_enter", "-p", pids, "-o",
        f"{d}/stat", "--", "sleep", str(win), check=False, timeout=win + 30)
    # DWARF unwinding: tunroom and libcrypto have no frame pointers.
    run("perf", "record", "--call-graph", "dwarf,16384", "-F", "499", "-e", "cpu-clock", "-p", pids,
        "-o", f"{d}/perf.data", "--", "sleep", str(win), check=False, timeout=win + 60)
    job.wait()
    if sink:
        sink.send_signal(signal.SIGTERM)
        sink.wait()
    rep = lambda *x: run("perf", "report", "-i", f"{d}/perf.data", "--stdio", "-g", "none", *x,
                         check=False, timeout=300).stdout
    out = [f"# {row.label}, {kind}: a {win} s window of each, both ends (scripts/bench-tunnels.py --profile)",
           "## perf stat --per-thread -e task-clock,raw_syscalls:sys_enter"]
    out += [l for l in open(f"{d}/stat").read().splitlines() if l.strip() and not l.startswith("#")]
    out.append("## perf record -e cpu-clock: inclusive share (children, self) of tunroom's and its crypto libraries' functions")
    agg = {}
    for l in rep("--children", "--sort", "dso,sym").splitlines():
        f = l.split()
        if len(f) >= 5 and not l.startswith("#") and f[0].endswith("%") and not f[4].startswith("0x") and \
                (f[2] == "tunroom" or f[2].startswith("libcrypto") or f[2].startswith("libIPSec_MB")):
            k = f[2] + " " + f[4]
            c, s = agg.get(k, (0.0, 0.0))
            agg[k] = (c + float(f[0][:-1]), s + float(f[1][:-1]))
    out += ["%7.2f%% %7.2f%%  %s" % (c, s, k) for k, (c, s) in sorted(agg.items(), key=lambda x: -x[1][0])[:40]]
    out.append("## perf record -e cpu-clock: share of samples per stage (what each sample's call chain was doing)")
    out += stages(f"{d}/perf.data")
    out.append("## perf record -e cpu-clock: share of samples per thread")
    threads = [l for l in rep("--no-children", "--sort", "pid").splitlines() if l.strip() and not l.startswith("#")]
    out += threads[:12]
    for l in threads[:12]:
        f = l.split()
        if float(f[0].rstrip("%")) >= 5:
            tid = f[1].split(":")[0]
            out.append(f"## thread {tid}: top symbols (self)")
            out += [x for x in rep("--no-children", "--tid", tid, "--sort", "dso,sym", "--percentage", "relative",
                                   "--percent-limit", "1.5").splitlines() if x.strip() and not x.startswith("#")][:25]
    open(os.path.join(a.out, f"profile-{kind}.txt"), "w").write("\n".join(out) + "\n")
    log(f"profile in {os.path.join(a.out, f'profile-{kind}.txt')}")


def machine_profile(a, work, rows, win=4, hz=997):
    """Where a TCP stream's CPU goes on the whole machine, per row: perf record
    -a while iperf3 runs, samples per process turned into CPU seconds per GB
    received, and each busy process's top kernel symbols. The plain veth row
    is the yardstick: what the TCP endpoints alone cost."""
    out = [f"# CPU seconds per GB received, whole machine, a {win} s window of iperf3 -c (one stream) per row",
           "# (scripts/bench-tunnels.py --machine-profile; perf record -a -e cpu-clock -F %d)" % hz]
    for row in rows:
        d = os.path.join(work, "mprof-" + row.id)
        os.makedirs(d)
        job = subprocess.Popen(("ip", "netns", "exec", NS[1], "iperf3", "-c", row.addr, "-t", str(win + 3), "-J"),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
        procs.append((job, "machine profile load"))
        time.sleep(1)
        run("perf", "record", "-a", "-F", str(hz), "-e", "cpu-clock", "-o", f"{d}/perf.data", "--",
            "sleep", str(win), check=False, timeout=win + 60)
        try:
            bps = json.loads(job.communicate(timeout=win + 30)[0])["end"]["sum_received"]["bits_per_second"]
        except (ValueError, KeyError, subprocess.TimeoutExpired):
            bps = 0
        if not bps:
            # Not a division by zero below: this runs before the results
            # are written, and would lose the whole run's measurements.
            note(f"machine profile of {row.label}: iperf3 failed or moved nothing")
            continue
        gb = bps * win / 8e9
        rep = lambda *x: run("perf", "report", "-i", f"{d}/perf.data", "--stdio", "-g", "none", "-n", *x,
                             check=False, timeout=300).stdout
        out.append(f"## {row.label}: {bps / 1e6:.0f} Mbit/s in the window")
        busy, lines = 0.0, []
        for l in rep("--sort", "pid").splitlines():
            f = l.split()
            if len(f) >= 3 and not l.startswith("#") and f[0].endswith("%"):
                s = int(f[1]) / hz
                tid, comm = f[2].split(":", 1) if ":" in f[2] else ("?", f[2])
                if comm.startswith("swapper"):
                    lines.append(f"  {'idle':24s} {s / gb:6.2f} s/GB")
                    continue
                busy += s
                if s / gb >= 0.05:
                    lines.append(f"  {comm + ' ' + tid:24s} {s / gb:6.2f} s/GB")
        out.append(f"  {'busy, all processes':24s} {busy / gb:6.2f} s/GB")
        out += lines
        out.append("  top symbols, all processes but idle (share of all samples):")
        top = [l.strip() for l in rep("--sort", "comm,dso,sym").splitlines()
               if l.split() and l.split()[0].endswith("%") and not l.startswith("#") and "swapper" not in l]
        out += ["    " + l for l in top[:30]]
    open(os.path.join(a.out, "profile-machine.txt"), "w").write("\n".join(out) + "\n")
    log(f"machine profile in {os.path.join(a.out, 'profile-machine.txt')}")


def charts(a, work):
    gp = f"""set terminal pngcairo size 1000,600 noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
set key top right
set bmargin 12
set grid ytics
set logscale y
set output "{a.out}/tunnels.png"
set title "iperf3 TCP, one stream, through each tunnel (median of {a.rounds}, inner MTU {MTU}, {os.cpu_count()} cores)"
set ylabel "Mbit/s"
set yrange [10:*]
plot "{work}/plot-tcp.dat" using 2:xtic(1) title "1 stream"
set output "{a.out}/udp64.png"
set title "UDP, 64-byte payload, packets per second through each tunnel (median of {a.rounds})"
set ylabel "kpps"
set yrange [1:*]
plot "{work}/plot-udp.dat" using 2:xtic(1) title "0 % loss", '' using 3 title "<= 1 % loss", '' using 4 title "flood (received)"
"""
    r = subprocess.run(["gnuplot"], input=gp, capture_output=True, text=True)
    if r.returncode:
        log("no chart:", r.stderr.strip()[:200])


def pkgver(pkg, default):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else default


def machine_busy(secs=2.0):
    b0, i0 = busy_ticks()
    time.sleep(secs)
    b1, i1 = busy_ticks()
    return round((b1 - b0) / max(1, (b1 - b0) + (i1 - i0)), 3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "0")) or None)
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""))
    ap.add_argument("--out", default=os.environ.get("BENCH_OUT", os.path.join(ROOT, "bench", "results")))
    ap.add_argument("--keep", action="store_true", default=bool(os.environ.get("BENCH_KEEP")))
    ap.add_argument("--profile", action="store_true", help="perf profile of tunroom aes128-gcm")
    ap.add_argument("--machine-profile", action="store_true",
                    help="whole-machine CPU per GB of each row's TCP stream, per process (perf record -a)")
    a = ap.parse_args()
    a.build = os.environ.get("BUILD", "build")
    a.tunroom = os.path.join(ROOT, a.build, "src", "cli", "tunroom")
    a.allocshim = os.path.join(ROOT, a.build, "bench", "liballoccount.so")
    if not os.path.exists(a.allocshim):
        a.allocshim = None
    a.udpblast = os.path.join(ROOT, a.build, "bench", "udpblast")
    if not os.access(a.udpblast, os.X_OK):
        a.udpblast = None
    a.rounds = a.rounds or (1 if a.quick else 3)
    a.secs = 3 if a.quick else 5
    # 10 a round: a median of 5 moved by a third between rounds (2026-12-03)
    a.idle_pings = 3 if a.quick else 10
    only = set(a.only.split())

    def want(rid):
        return not only or rid in only

    if os.geteuid() != 0:
        print("bench-tunnels: SKIP: needs root for network namespaces", file=sys.stderr)
        return 77
    for c in ("ip", "iperf3", "ping"):
        if not shutil.which(c):
            print(f"bench-tunnels: SKIP: {c} missing (scripts/deps.sh bench)", file=sys.stderr)
            return 77
    if not os.access(a.tunroom, os.X_OK):
        print(f"bench-tunnels: SKIP: {a.tunroom} not built (make)", file=sys.stderr)
        return 77

    if not a.udpblast:
        note(f"UDP 64 B column not measured: {a.build}/bench/udpblast not built (make)")
    load0 = open("/proc/loadavg").read().split()[:3]
    busy0 = machine_busy()
    log(f"machine before: load average {' '.join(load0)}, {busy0 * 100:.0f} % of CPU time busy (others)")
    work = tempfile.mkdtemp(prefix="bench-tunnels.")
    os.makedirs(a.out, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = []
    try:
        veth = topology()
        if want("veth"):
            rows.append(Row("veth", "plain veth (no tunnel)", "192.0.2.2", (), veth))
        if want("tr128"):
            rows.append(tunroom_row(a, work, "tr128", "tunroom aes128-gcm", "tr1", 0, 4600))
        if want("trfull"):
            rows.append(tunroom_row(a, work, "trfull", "tunroom aes128-gcm, Checksums = full", "tr2", 4, 4601,
                                    ["Checksums = full"]))
        if want("trthr"):
            rows.append(tunroom_row(a, work, "trthr", "tunroom aes128-gcm, Inline = off", "tr4", 20, 4603,
                                    ["Inline = off"]))
        if want("trduo"):
            rows.append(tunroom_row(a, work, "trduo", "tunroom aes128-gcm, Workers = 2", "tr5", 24, 4604,
                                    ["Workers = 2"]))
        if want("traa"):
            # The same build and config as tr128 on its own addresses, port
            # and device: two identical rows of one run differed by 8-19 %
            # in 5-round medians (2026-12-03), as much as some A/Bs claimed.
            rows.append(tunroom_row(a, work, "traa", "tunroom aes128-gcm again (A/A)", "tr6", 28, 4605))
        if os.environ.get("BENCH_TUNROOM_B") and want("trb"):
            # A/B: another build's tunroom (an experiment's branch) as one more row.
            rows.append(tunroom_row(a, work, "trb", "tunroom aes128-gcm, build B (%s)" %
                                    os.environ.get("BENCH_TUNROOM_B_LABEL", "BENCH_TUNROOM_B"), "tr3", 8, 4602,
                                    tunroom=os.environ["BENCH_TUNROOM_B"]))
        if want("wgnew"):
            b, why = newest_wg(a)
            if b:
                v = run(b, "--version", check=False).stdout.split()
                rows.append(wg_row(a, work, "wgnew", f"wireguard-go {v[1] if len(v) > 1 else '?'} (newest)",
                                   b, 12, 51820))
            else:
                note("wireguard-go newest not run: " + why)
        if want("wg"):
            if shutil.which("wireguard-go"):
                v = pkgver("wireguard-go", "?")
                rows.append(wg_row(a, work, "wg", f"wireguard-go {v} (Debian 2022, no offloads)",
                                   shutil.which("wireguard-go"), 16, 51821))
            else:
                note("wireguard-go (Debian) not run: not installed")
        if want("ovpn"):
            rows.append(ovpn_row(a, work))
        if want("swan"):
            rows.append(swan_row(a, work))
        if want("ocdtls"):
            rows.append(oc_row(a, work))
        rows = [r for r in rows if r]
        ok = []
        for r in rows:
            if wait_for(10, lambda: pings_ok(r.addr)):
                ok.append(r)
            else:
                note(f"{r.label} not run: no ping through {r.addr}")
        rows = ok
        if not rows:
            raise RuntimeError("no path came up")
        bg("iperf3", "-s", ns=2, label="iperf3 server")
        if not wait_for(10, lambda: ":5201 " in run("ss", "-ltn", ns=2).stdout):
            raise RuntimeError("iperf3 server did not start")

        res = os.path.join(work, "results.tsv")
        fres = open(res, "w")

        def put(rnd, rid, metric, v):
            fres.write(f"{rnd}\t{rid}\t{metric}\t{v}\n")
            fres.flush()

        t0 = time.time()
        log(f"{len(rows)} paths, {a.rounds} round(s), iperf3 -t {a.secs}")
        for rnd in range(1, a.rounds + 1):
            for i in range(len(rows)):
                row = rows[(i + rnd - 1) % len(rows)]
                log(f"  round {rnd}/{a.rounds}: {row.label}")
                measure(a, work, row, rnd, put)
        log(f"measured in {time.time() - t0:.0f} s")
        tr = next((r for r in rows if r.id == "tr128"), None)
        if a.profile and tr and shutil.which("perf"):
            for kind in ("tcp", "udp64") if a.udpblast else ("tcp",):
                profile(a, work, tr, kind)
        if (a.machine_profile or a.profile) and shutil.which("perf"):
            machine_profile(a, work, rows)
        for row in rows:
            if row.tr_dev:
                st = tunroom_show(a, work, row.tr_dev)
                pk = st.get("rx_packets", 0) + st.get("tx_packets", 0)
                if pk:
                    put(0, row.id, "copied_bytes_per_packet",
                        "%.1f" % ((st.get("rx_copied_bytes", 0) + st.get("tx_copied_bytes", 0)) / pk))
                for k in ("tun_csum_trusted", "tun_gro_segments", "tun_egress_hole_voids"):
                    if k in st:
                        put(0, row.id, "count_" + k, st[k])
                # Empty slots of offload reads published as voids, per packet
                # the tunnels sent: each is a slot header written and read.
                if st.get("tx_packets") and "tun_egress_hole_voids" in st:
                    put(0, row.id, "void_slots_per_packet", "%.2f" % (st["tun_egress_hole_voids"] / st["tx_packets"]))
        fres.close()
        with open(os.path.join(work, "labels.tsv"), "w") as f:
            for r in rows:
                f.write(f"{r.id}\t{r.label}\n")
        git = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                             text=True).stdout.strip() or "unknown"
        meta = {
            "harness": "scripts/bench-tunnels.py",
            "rounds": a.rounds, "iperf_seconds": a.secs, "quick": a.quick, "inner_mtu": MTU,
            "idle_pings": a.idle_pings, "busy_pings": "200 at 200/s",
            "notes": notes, "loadavg_start": " ".join(load0),
            "loadavg_end": " ".join(open("/proc/loadavg").read().split()[:3]),
            "machine_busy_before": busy0,
            "versions": {
                "tunroom": git, "openssl": pkgver("libssl3", "?"), "wireguard-go (Debian)": pkgver("wireguard-go", "-"),
                "openvpn": pkgver("openvpn", "-"), "strongswan": pkgver("strongswan-charon", "-"),
                "openconnect": pkgver("openconnect", "-"), "ocserv": pkgver("ocserv", "-"),
                "iperf3": pkgver("iperf3", "?"), "kernel": os.uname().release,
                "debian": open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?",
            },
        }
        json.dump(meta, open(os.path.join(work, "meta.json"), "w"), indent=1)
        r = subprocess.run([os.path.join(ROOT, "scripts", "bench-report.py"), res,
                            os.path.join(work, "labels.tsv"), os.path.join(work, "meta.json"), a.out, work])
        if shutil.which("gnuplot") and r.returncode == 0:
            charts(a, work)
        log(f"results in {os.path.join(a.out, 'latest.json')}")
        return r.returncode
    finally:
        cleanup()
        if a.keep:
            log(f"work files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
