#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tunnels side by side: plain veth, tunroom (AES-128/256-GCM, and the copy
# path when the build has ZeroCopy), wireguard-go, OpenConnect against ocserv
# (DTLS and TLS only), all between the same two
# namespaces, measured in interleaved rounds so machine noise hits all alike.
#
#   namespace tr-PID-1                              namespace tr-PID-2
#   veth 192.0.2.1/24  ======= outer traffic =======  veth 192.0.2.2/24
#   tr1  198.18.0.1/30   tunroom aes128-gcm  :4500    tr1  198.18.0.2/30
#   tr2  198.18.0.5/30   tunroom aes256-gcm  :4501    tr2  198.18.0.6/30
#   tr3  198.18.0.9/30   tunroom copy path   :4502    tr3  198.18.0.10/30
#   wg-PID-a 198.18.0.13/30  wireguard-go    :51820   wg-PID-b 198.18.0.14/30
#   oc-PID-1 198.18.1.x   openconnect DTLS :4443   vpns 198.18.1.1 (ocserv)
#   oc-PID-2 198.18.2.x   openconnect TLS  :4444   vpns 198.18.2.1 (ocserv)
#
# All tunnels carry the same inner MTU (1400). Per tunnel and round: iperf3
# TCP 1 stream and 4 streams, 20 pings, and CPU seconds per GB moved: the
# tunnel processes' utime+stime (/proc/PID/stat, both ends, all threads) and
# the whole machine's busy time (/proc/stat) over both TCP runs.
#
# usage: bench-tunnels.sh [--quick]   (root; writes bench/results/tunnels.json
# and, with gnuplot, bench/results/tunnels.png)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TUNROOM=$PWD/$BUILD/src/cli/tunroom
ROUNDS=3 SECS=5 QUICK=0
if [ "${1:-}" = "--quick" ]; then ROUNDS=1 SECS=3 QUICK=1; fi
ROUNDS=${BENCH_ROUNDS:-$ROUNDS}
MTU=1400
OUT=bench/results

source tests/netns/lib.sh
skip() { printf 'bench-tunnels: SKIP: %s\n' "$*" >&2; exit 77; }
require_root
require_tun
command -v iperf3 >/dev/null || skip "iperf3 missing (scripts/deps.sh bench installs it)"
[ -x "$TUNROOM" ] || skip "$TUNROOM not built (make)"
pretty() { :; } # keep stdout for the table; errors still go to stderr

WORK=$(mktemp -d)
trap 'rc=$?; set +e; rm -rf "$WORK"; (exit $rc); cleanup' EXIT
mkdir -p "$OUT" "$WORK/run-a" "$WORK/run-b"
log() { printf '%s\n' "$*" >&2; }

ns_add 1
ns_add 2
ip link add "tr-$$-va" type veth peer name "tr-$$-vb"
ip link set "tr-$$-va" netns "$(ns_name 1)"
ip link set "tr-$$-vb" netns "$(ns_name 2)"
n1 ip addr add 192.0.2.1/24 dev "tr-$$-va"
n2 ip addr add 192.0.2.2/24 dev "tr-$$-vb"
n1 ip link set "tr-$$-va" up
n2 ip link set "tr-$$-vb" up

# Tunnels that came up: id, label, server address, PIDs of their processes.
TUN_IDS=() ; declare -A TUN_LABEL TUN_ADDR TUN_PIDS TUN_DEV
add_tunnel() { TUN_IDS+=("$1"); TUN_LABEL[$1]=$2; TUN_ADDR[$1]=$3; TUN_PIDS[$1]=${4:-}; }
add_tunnel veth "plain veth (no tunnel)" 192.0.2.2

# tunroom_conf FILE SIDE(a|b) DEV NET(4th octet base) PORT KEYS [extra Interface lines]
tunroom_conf() {
	local file=$1 side=$2 dev=$3 base=$4 port=$5 keys=$6 me peer
	shift 6
	if [ "$side" = a ]; then me=1 peer=2; else me=2 peer=1; fi
	(
		umask 077
		cat >"$file" <<CONF
[Interface]
Name = $dev
Address = 198.18.0.$((base + me))/30
MTU = $MTU
ListenAddress = 192.0.2.$me
ListenPort = $port
$(printf '%s\n' "$@")

[SA]
Endpoint = 192.0.2.$peer:$port
$(cat "$keys")
CONF
	)
}

# tunroom_up ID LABEL DEV CIPHER BASE PORT [extra Interface lines]
tunroom_up() {
	local id=$1 label=$2 dev=$3 cipher=$4 base=$5 port=$6 pids=""
	shift 6
	"$TUNROOM" genkey "$cipher" 2>/dev/null | grep -v '^#' >"$WORK/$id.keys.a"
	sed -e 's/^Out/X/' -e 's/^In/Out/' -e 's/^X/In/' "$WORK/$id.keys.a" >"$WORK/$id.keys.b"
	for side in a b; do
		tunroom_conf "$WORK/$id.$side.conf" "$side" "$dev" "$base" "$port" "$WORK/$id.keys.$side" "$@"
	done
	if ! "$TUNROOM" up -n "$WORK/$id.a.conf" >/dev/null 2>"$WORK/$id.check"; then
		log "bench-tunnels: $label not run: $(head -1 "$WORK/$id.check")"
		return 0
	fi
	local ns=1
	for side in a b; do
		TUNROOM_RUN_DIR=$WORK/run-$side bg "$ns" "$TUNROOM" up "$WORK/$id.$side.conf" 2>>"$WORK/$id.log"
		pids+="${TR_PIDS[-1]} "
		ns=2
	done
	for side in a b; do
		wait_for 10 env TUNROOM_RUN_DIR="$WORK/run-$side" "$TUNROOM" show "$dev" ||
			die "$label ($side) did not come up: $(cat "$WORK/$id.log")"
	done
	add_tunnel "$id" "$label" "198.18.0.$((base + 2))" "$pids"
	TUN_DEV[$id]=$dev
}

tunroom_up tr128 "tunroom aes128-gcm" tr1 aes128-gcm 0 4500
tunroom_up tr256 "tunroom aes256-gcm" tr2 aes256-gcm 4 4501
tunroom_up trcopy "tunroom aes128-gcm copy path" tr3 aes128-gcm 8 4502 "ZeroCopy = off"

# wireguard-go: userspace, one process per end; wg(8) reaches it through
# /var/run/wireguard/DEV.sock, a path shared by all namespaces, hence the PID
# in the device names.
wg_up() {
	if ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null; then
		log "bench-tunnels: wireguard-go not run: wireguard-go/wg missing (scripts/deps.sh bench)"
		return 0
	fi
	local dev_a="wg-$$-a" dev_b="wg-$$-b" pids=""
	(umask 077; wg genkey >"$WORK/wg.a.key"; wg genkey >"$WORK/wg.b.key")
	WG_PROCESS_FOREGROUND=1 bg 1 wireguard-go -f "$dev_a" >"$WORK/wg.a.log" 2>&1
	pids+="${TR_PIDS[-1]} "
	WG_PROCESS_FOREGROUND=1 bg 2 wireguard-go -f "$dev_b" >"$WORK/wg.b.log" 2>&1
	pids+="${TR_PIDS[-1]} "
	wait_for 10 test -S "/var/run/wireguard/$dev_a.sock" || die "wireguard-go a did not start"
	wait_for 10 test -S "/var/run/wireguard/$dev_b.sock" || die "wireguard-go b did not start"
	n1 wg set "$dev_a" private-key "$WORK/wg.a.key" listen-port 51820 \
		peer "$(wg pubkey <"$WORK/wg.b.key")" allowed-ips 198.18.0.14/32 endpoint 192.0.2.2:51820
	n2 wg set "$dev_b" private-key "$WORK/wg.b.key" listen-port 51820 \
		peer "$(wg pubkey <"$WORK/wg.a.key")" allowed-ips 198.18.0.13/32 endpoint 192.0.2.1:51820
	n1 ip addr add 198.18.0.13/30 dev "$dev_a"
	n2 ip addr add 198.18.0.14/30 dev "$dev_b"
	n1 ip link set "$dev_a" mtu "$MTU" up
	n2 ip link set "$dev_b" mtu "$MTU" up
	add_tunnel wg "wireguard-go $(wireguard-go --version | awk 'NR==1{print $2}')" 198.18.0.14 "$pids"
}
wg_up

# OpenConnect 9 against ocserv, over DTLS and over TLS only: ocserv in ns 2 on
# 192.0.2.2:4443 (TCP and UDP) with a certtool self-signed certificate and an
# ocpasswd password file, openconnect in ns 1 with its own --script (not
# vpnc-script, which would rewrite the shared /etc/resolv.conf). Client
# addresses come from 198.18.1.0/24 (TLS+DTLS) and 198.18.2.0/24 (TLS only).
oc_setup() {
	local d=$WORK/oc
	mkdir -p "$d"
	chmod 755 "$WORK" "$d" # ocserv's workers drop to nobody
	certtool --generate-privkey --key-type=ecdsa --outfile "$d/key.pem" 2>/dev/null
	printf 'cn = 192.0.2.2\nip_address = 192.0.2.2\nexpiration_days = 2\ntls_www_server\nsigning_key\nencryption_key\n' >"$d/cert.tmpl"
	certtool --generate-self-signed --load-privkey "$d/key.pem" --template "$d/cert.tmpl" \
		--outfile "$d/cert.pem" 2>/dev/null
	chmod 644 "$d/key.pem" "$d/cert.pem"
	OC_PIN=$(certtool --certificate-info --infile "$d/cert.pem" 2>/dev/null | grep -o 'pin-sha256:[^ ]*' | head -1)
	echo benchpass >"$d/pass"
	printf 'benchpass\nbenchpass\n' | ocpasswd -c "$d/passwd" bench
	cat >"$d/script" <<'SH'
#!/bin/sh
# openconnect --script: address and MTU on the device, nothing else.
[ "$reason" = connect ] || exit 0
ip addr add "$INTERNAL_IP4_ADDRESS/32" peer "$OC_PEER" dev "$TUNDEV"
ip link set "$TUNDEV" mtu "$INTERNAL_IP4_MTU" up
SH
	chmod 755 "$d/script"
}
# oc_up ID LABEL PORT NET(third octet) [openconnect options]
oc_up() {
	local id=$1 label=$2 port=$3 net=$4 d=$WORK/oc pids="" dev="oc-$$-$4"
	shift 4
	cat >"$d/$id.conf" <<CONF
auth = "plain[passwd=$d/passwd]"
listen-host = 192.0.2.2
tcp-port = $port
udp-port = $port
run-as-user = nobody
run-as-group = nogroup
socket-file = $d/$id.sock
server-cert = $d/cert.pem
server-key = $d/key.pem
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
pid-file = $d/$id.pid
device = ocs$net-
predictable-ips = true
ipv4-network = 198.18.$net.0
ipv4-netmask = 255.255.255.0
mtu = $MTU
ping-leases = false
CONF
	bg 2 ocserv -f -c "$d/$id.conf" >"$d/$id.server.log" 2>&1
	pids+="${TR_PIDS[-1]} "
	wait_for 10 sh -c "ip netns exec $(ns_name 2) ss -ltn | grep -q '192.0.2.2:$port '" ||
		{ log "bench-tunnels: $label not run: ocserv did not listen ($(tail -1 "$d/$id.server.log"))"; return 0; }
	# Not "echo | bg": bg in a pipeline runs in a subshell, its PID would be
	# lost to cleanup and to the CPU count. sh execs openconnect: same PID.
	# shellcheck disable=SC2016 # $0 and $@ are for the inner sh
	OC_PEER=198.18.$net.1 bg 1 sh -c 'exec "$@" <"$0"' "$d/pass" openconnect --passwd-on-stdin \
		-u bench --servercert "$OC_PIN" --script "$d/script" --interface "$dev" "$@" \
		"https://192.0.2.2:$port/" >"$d/$id.client.log" 2>&1
	pids+="${TR_PIDS[-1]} "
	if ! wait_for 15 sh -c "ip -n $(ns_name 1) -4 addr show dev $dev 2>/dev/null | grep -q inet"; then
		log "bench-tunnels: $label not run: no tunnel device ($(tail -1 "$d/$id.client.log"))"
		return 0
	fi
	# Over UDP only once DTLS is up; until then openconnect sends over TLS.
	if [ "$id" = ocdtls ] && ! wait_for 10 grep -q "Established DTLS" "$d/$id.client.log"; then
		log "bench-tunnels: $label not run: DTLS did not come up ($(tail -1 "$d/$id.client.log"))"
		return 0
	fi
	grep -h "Established DTLS\|Connected as\|ciphersuite\|Ciphersuite" "$d/$id.client.log" | sed "s/^/  $id: /" >&2 || true
	add_tunnel "$id" "$label" "198.18.$net.1" "$pids"
}
if command -v ocserv >/dev/null && command -v openconnect >/dev/null && command -v certtool >/dev/null; then
	oc_setup
	oc_up ocdtls "openconnect $(openconnect --version | awk 'NR==1{print $NF}') / ocserv, DTLS" 4443 1
	oc_up octls "openconnect / ocserv, TLS only" 4444 2 --no-dtls
else
	log "bench-tunnels: openconnect/ocserv not run: ocserv, openconnect or certtool missing (scripts/deps.sh bench)"
fi

# One iperf3 server serves every tunnel: tests run one at a time.
bg 2 iperf3 -s >/dev/null 2>&1 || true
for id in "${TUN_IDS[@]}"; do
	wait_for 10 ip netns exec "$(ns_name 1)" ping -c 1 -W 1 "${TUN_ADDR[$id]}" ||
		die "${TUN_LABEL[$id]}: no ping through ${TUN_ADDR[$id]}"
done
wait_for 10 sh -c "ip netns exec $(ns_name 2) ss -ltn | grep -q ':5201 '" || die "iperf3 server did not start"

HZ=$(getconf CLK_TCK)
# proc_ticks PID...: utime+stime of these processes and their descendants.
proc_ticks() {
	python3 - "$@" <<'EOF'
import os, sys
want = {int(p) for p in sys.argv[1:]}
stats = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            s = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        stats[int(d)] = (int(f[1]), int(f[11]) + int(f[12]))  # ppid, utime+stime
grew = True
while grew:
    grew = False
    for pid, (ppid, _) in stats.items():
        if ppid in want and pid not in want:
            want.add(pid); grew = True
print(sum(stats[p][1] for p in want if p in stats))
EOF
}
# busy_ticks: the machine's non-idle time (user nice system irq softirq steal).
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }

RES=$WORK/results.tsv   # round id metric value
iperf_run() { # ADDR STREAMS -> "bits_per_second bytes retransmits"
	ip netns exec "$(ns_name 1)" iperf3 -c "$1" -P "$2" -t "$SECS" -J 2>/dev/null | python3 -c '
import json, sys
e = json.load(sys.stdin)["end"]
print(e["sum_received"]["bits_per_second"], e["sum_received"]["bytes"], e["sum_sent"].get("retransmits", 0))'
}

measure() { # ROUND ID
	local r=$1 id=$2 addr=${TUN_ADDR[$2]} p0 b0 p1 b1 out bytes=0 rtt
	# shellcheck disable=SC2086
	p0=$(proc_ticks ${TUN_PIDS[$id]}); b0=$(busy_ticks)
	for streams in 1 4; do
		out=$(iperf_run "$addr" "$streams") || die "${TUN_LABEL[$id]}: iperf3 -P $streams failed"
		# shellcheck disable=SC2086 # three numbers, split on purpose
		set -- $out
		printf '%s\t%s\ttcp%s_mbps\t%s\n' "$r" "$id" "$streams" "$(awk -v b="$1" 'BEGIN{printf "%.1f", b/1e6}')" >>"$RES"
		printf '%s\t%s\ttcp%s_retrans\t%s\n' "$r" "$id" "$streams" "$3" >>"$RES"
		bytes=$((bytes + $2))
	done
	# shellcheck disable=SC2086
	p1=$(proc_ticks ${TUN_PIDS[$id]}); b1=$(busy_ticks)
	if [ -n "${TUN_PIDS[$id]}" ]; then
		printf '%s\t%s\tcpu_tunnel_s_per_gb\t%s\n' "$r" "$id" \
			"$(awk -v t=$((p1 - p0)) -v hz="$HZ" -v b="$bytes" 'BEGIN{printf "%.3f", t/hz/(b/1e9)}')" >>"$RES"
	fi
	printf '%s\t%s\tcpu_total_s_per_gb\t%s\n' "$r" "$id" \
		"$(awk -v t=$((b1 - b0)) -v hz="$HZ" -v b="$bytes" 'BEGIN{printf "%.3f", t/hz/(b/1e9)}')" >>"$RES"
	rtt=$(ip netns exec "$(ns_name 1)" ping -q -c 20 -i 0.05 -W 1 "$addr" | awk -F/ '/^rtt|^round-trip/{print $5}')
	printf '%s\t%s\tping_avg_ms\t%s\n' "$r" "$id" "${rtt:-nan}" >>"$RES"
}

log "bench-tunnels: ${#TUN_IDS[@]} paths, $ROUNDS round(s), iperf3 -t $SECS"
for ((r = 1; r <= ROUNDS; r++)); do
	# Rotate the start so no tunnel always runs first (right after a pause).
	n=${#TUN_IDS[@]}
	for ((i = 0; i < n; i++)); do
		id=${TUN_IDS[$(((i + r - 1) % n))]}
		log "  round $r/$ROUNDS: ${TUN_LABEL[$id]}"
		measure "$r" "$id"
	done
done

# Userspace payload bytes copied per packet, from tunroom's own counters
# (both ends, whole run): 0 on the zero-copy path by construction.
for id in "${TUN_IDS[@]}"; do
	[ -n "${TUN_DEV[$id]:-}" ] || continue
	for side in a b; do
		TUNROOM_RUN_DIR=$WORK/run-$side "$TUNROOM" show --json "${TUN_DEV[$id]}"
	done | python3 -c '
import json, sys
dec, copied, pkts, text = json.JSONDecoder(), 0, 0, sys.stdin.read()
i = 0
while i < len(text):
    if text[i].isspace():
        i += 1; continue
    obj, i = dec.raw_decode(text, i)
    for t in obj:
        st = t.get("stats", t)
        copied += st.get("rx_copied_bytes", 0) + st.get("tx_copied_bytes", 0)
        pkts += st.get("rx_packets", 0) + st.get("tx_packets", 0)
print("%.1f" % (copied / pkts if pkts else float("nan")))' |
		awk -v id="$id" '{printf "0\t%s\tcopied_bytes_per_packet\t%s\n", id, $1}' >>"$RES" ||
		log "bench-tunnels: no copy counters from ${TUN_LABEL[$id]}"
done

labels=$WORK/labels.tsv
for id in "${TUN_IDS[@]}"; do printf '%s\t%s\n' "$id" "${TUN_LABEL[$id]}" >>"$labels"; done
versions=$(printf '%s; ' "tunroom $(git describe --always --dirty 2>/dev/null || echo unknown)" \
	"$(iperf3 --version | head -1 | awk '{print $1, $2}')" \
	"wireguard-go $(wireguard-go --version 2>/dev/null | awk 'NR==1{print $2}')" \
	"kernel $(uname -r)" "openssl $(openssl version 2>/dev/null | awk '{print $2}')")
python3 - "$RES" "$labels" "$OUT/tunnels.json" "$WORK/plot.dat" "$ROUNDS" "$SECS" "$QUICK" "$versions" <<'EOF'
import json, os, statistics, sys, time
res, labels, out, plot, rounds, secs, quick, versions = sys.argv[1:]
order = [l.split("\t")[0] for l in open(labels).read().splitlines()]
label = dict(l.split("\t", 1) for l in open(labels).read().splitlines())
vals = {}
for line in open(res):
    r, tid, metric, v = line.rstrip("\n").split("\t")
    if v != "nan":
        vals.setdefault(tid, {}).setdefault(metric, []).append(float(v))
def agg(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}
cpu = open("/proc/cpuinfo").read()
model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("model name")), "?")
doc = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {"nproc": os.cpu_count(), "cpu": model},
    "versions": versions.strip("; "),
    "rounds": int(rounds), "iperf_seconds": int(secs), "quick": quick == "1", "inner_mtu": 1400,
    "tunnels": [{"id": t, "label": label[t],
                 "metrics": {m: agg(xs) for m, xs in vals.get(t, {}).items()}} for t in order],
}
med = lambda t, m: (vals.get(t, {}).get(m) and statistics.median(vals[t][m]))
# Ratios tunroom/peer for every tunroom variant against every peer.
ratios = {}
for t in order:
    if not t.startswith("tr"):
        continue
    for p in order:
        if p.startswith("tr"):
            continue
        for m in ("tcp1_mbps", "tcp4_mbps"):
            a, b = med(t, m), med(p, m)
            if a and b:
                ratios[f"{t}/{p}:{m}"] = round(a / b, 3)
if med("tr128", "tcp1_mbps") and med("trcopy", "tcp1_mbps"):
    for m in ("tcp1_mbps", "tcp4_mbps"):
        ratios[f"tr128/trcopy:{m}"] = round(med("tr128", m) / med("trcopy", m), 3)
doc["ratios"] = ratios
json.dump(doc, open(out, "w"), indent=1)

def cell(t, m, fmt):
    xs = vals.get(t, {}).get(m)
    if not xs:
        return "-"
    s = fmt % statistics.median(xs)
    if len(xs) > 1:
        s += (" [" + fmt + "-" + fmt + "]") % (min(xs), max(xs))
    return s
cols = [("TCP 1 stream Mbit/s", "tcp1_mbps", "%.0f"), ("TCP 4 streams Mbit/s", "tcp4_mbps", "%.0f"),
        ("retr 1/4", None, None), ("ping ms", "ping_avg_ms", "%.3f"),
        ("copied B/pkt/end", "copied_bytes_per_packet", "%.0f"),
        ("tunnel CPU s/GB", "cpu_tunnel_s_per_gb", "%.2f"), ("machine CPU s/GB", "cpu_total_s_per_gb", "%.2f")]
rows = []
for t in order:
    row = [label[t]]
    for name, m, fmt in cols:
        if m is None:
            r1, r4 = med(t, "tcp1_retrans"), med(t, "tcp4_retrans")
            row.append("%d/%d" % (r1 or 0, r4 or 0))
        else:
            row.append(cell(t, m, fmt))
    rows.append(row)
head = ["path"] + [c[0] for c in cols]
w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
print(f"median of {rounds} round(s) [min-max], iperf3 -t {secs}, inner MTU 1400")
print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |")
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows:
    print("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |")
print()
print("ratios (median TCP throughput, tunroom / peer):")
for k, v in ratios.items():  # all pairs are in the JSON; print the headline ones
    if k.startswith("tr128/"):
        print(f"  {k:40s} {v:.2f}x")
with open(plot, "w") as f:
    for t in order:
        f.write('"%s" %s %s\n' % (label[t], med(t, "tcp1_mbps") or 0, med(t, "tcp4_mbps") or 0))
EOF

if command -v gnuplot >/dev/null; then
	gnuplot <<GP 2>"$WORK/gnuplot.err" || log "bench-tunnels: no chart: $(head -1 "$WORK/gnuplot.err")"
set terminal pngcairo size 1000,600 noenhanced
set output "$OUT/tunnels.png"
set title "iperf3 TCP through each tunnel (median of $ROUNDS, inner MTU $MTU, $(nproc) cores)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "Mbit/s"
set logscale y
set yrange [10:*]
set xtics rotate by -30
set key top right
set bmargin 10
set grid ytics
plot "$WORK/plot.dat" using 2:xtic(1) title "1 stream", '' using 3 title "4 streams"
GP
	[ -s "$OUT/tunnels.png" ] && log "bench-tunnels: chart in $OUT/tunnels.png"
fi
log "bench-tunnels: results in $OUT/tunnels.json"
