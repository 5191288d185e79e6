#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tunnels side by side: plain veth, tunroom (AES-128/256-GCM, the copy path
# when the build has ZeroCopy, and Offload = off when the build knows the
# key), wireguard-go, OpenConnect against ocserv (DTLS and TLS only), all
# between the same two namespaces, measured in interleaved rounds so machine
# noise hits all alike.
#
#   namespace tr-PID-1                              namespace tr-PID-2
#   veth 192.0.2.1/24  ======= outer traffic =======  veth 192.0.2.2/24
#   tr1  198.18.0.1/30   tunroom aes128-gcm  :4500    tr1  198.18.0.2/30
#   tr2  198.18.0.5/30   tunroom aes256-gcm  :4501    tr2  198.18.0.6/30
#   tr3  198.18.0.9/30   tunroom copy path   :4502    tr3  198.18.0.10/30
#   tr4  198.18.0.17/30  tunroom Offload=off :4503    tr4  198.18.0.18/30
#   wg-PID-a 198.18.0.13/30  wireguard-go    :51820   wg-PID-b 198.18.0.14/30
#   oc-PID-1 198.18.1.x   openconnect DTLS :4443   vpns 198.18.1.1 (ocserv)
#   oc-PID-2 198.18.2.x   openconnect TLS  :4444   vpns 198.18.2.1 (ocserv)
#
#   veth 198.51.100.1/24 ==== jumbo, MTU 9000 ====  veth 198.51.100.2/24
#   tr5  198.18.0.21/30  tunroom jumbo       :4504    tr5  198.18.0.22/30
#   tr6  198.18.0.25/30  tunroom jumbo copy  :4505    tr6  198.18.0.26/30
#
# All tunnels carry the same inner MTU (1400), except the jumbo rows: inner
# MTU 8900 over a second veth pair of MTU 9000 (ESP datagrams of a full
# 8900-byte packet are 8964 bytes: not fragmented), plain veth at 9000 as
# their ceiling. The jumbo rows measure TCP, CPU and copies only (a 64-byte
# UDP rate does not depend on the MTU) and run only in full runs, or when
# BENCH_ONLY names them. Per tunnel and round:
#  - iperf3 TCP 1 stream and 4 streams; CPU seconds per GB moved over both:
#    the tunnel processes' utime+stime (/proc/PID/stat, both ends, all
#    threads and children) and the whole machine's busy time (/proc/stat);
#  - in the steady state of the 1-stream run (a window that skips its first
#    and last half second): heap allocation calls per packet (LD_PRELOAD
#    bench/alloccount.c in every tunnel process), syscalls per MB (perf stat
#    raw_syscalls:sys_enter on the tunnel processes, and tunroom's own
#    *_syscalls counters when `tunroom show` has them);
#  - 20 pings;
#  - UDP 64-byte packet rate at 0 % and <= 1 % loss (scripts/bench-udp.py).
# Packets and bytes are what the tunnel device in namespace 1 counts (rx+tx:
# every packet carried crosses it once).
#
# usage: bench-tunnels.sh [--quick] [--profile]   (root; BENCH_ROUNDS=N overrides the
# rounds, BENCH_ONLY="veth tr128 ..." limits the paths, BENCH_OUT=DIR writes
# elsewhere, BENCH_KEEP=1 keeps the work files, perf.data included). Writes
# bench/results/latest.json (scripts/bench-report.py), tunnels.txt and, with
# gnuplot, tunnels.png and udp64.png.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TUNROOM=$PWD/$BUILD/src/cli/tunroom
ROUNDS=3 SECS=5 QUICK=0 PROFILE=0
for arg in "$@"; do
	case $arg in
	--quick) ROUNDS=1 SECS=3 QUICK=1 ;;
	--profile) PROFILE=1 ;;
	*) echo "usage: bench-tunnels.sh [--quick] [--profile]" >&2; exit 2 ;;
	esac
done
ROUNDS=${BENCH_ROUNDS:-$ROUNDS}
MTU=1400
# Jumbo rows (ids vethj trjumbo trjcopy): the inner MTU and the outer veth's.
JMTU=8900 JOUTER=9000
OUT=${BENCH_OUT:-bench/results}

source tests/netns/lib.sh
skip() { printf 'bench-tunnels: SKIP: %s\n' "$*" >&2; exit 77; }
require_root
require_tun
command -v iperf3 >/dev/null || skip "iperf3 missing (scripts/deps.sh bench installs it)"
[ -x "$TUNROOM" ] || skip "$TUNROOM not built (make)"
pretty() { :; } # keep stdout for the table; errors still go to stderr

ALLOCSHIM=$PWD/$BUILD/bench/liballoccount.so
[ -f "$ALLOCSHIM" ] || ALLOCSHIM=""

WORK=$(mktemp -d)
if [ -n "${BENCH_KEEP:-}" ]; then
	trap 'rc=$?; set +e; echo "bench-tunnels: work files kept in $WORK" >&2; (exit $rc); cleanup' EXIT
else
	trap 'rc=$?; set +e; rm -rf "$WORK"; (exit $rc); cleanup' EXIT
fi
mkdir -p "$OUT" "$WORK/run-a" "$WORK/run-b" "$WORK/alloc"
chmod 1777 "$WORK/alloc" # ocserv's workers run as nobody
log() { printf '%s\n' "$*" >&2; }
# want ID: is this path selected (BENCH_ONLY)?
# The jumbo rows are left out of --quick (its 3 minutes) unless named.
want() {
	if [ -n "${BENCH_ONLY:-}" ]; then [[ " $BENCH_ONLY " == *" $1 "* ]]; return; fi
	[ "$QUICK" = 0 ] || ! jumbo "$1"
}
# jumbo ID: one of the jumbo rows? A combination that fails there (say TSO
# at that MTU) gives the row a note and "-" instead of failing the bench.
jumbo() { [[ " vethj trjumbo trjcopy " == *" $1 "* ]]; }
# shim ID CMD...: CMD with the allocation counter preloaded, its files in
# $WORK/alloc/ID/. Without the shim (not built), CMD as is.
shim() {
	local id=$1; shift
	if [ -n "$ALLOCSHIM" ]; then
		mkdir -p "$WORK/alloc/$id"
		chmod 1777 "$WORK/alloc/$id"
		LD_PRELOAD=$ALLOCSHIM TR_ALLOCCOUNT_DIR=$WORK/alloc/$id "$@"
	else
		"$@"
	fi
}

ns_add 1
ns_add 2
ip link add "tr-$$-va" type veth peer name "tr-$$-vb"
ip link set "tr-$$-va" netns "$(ns_name 1)"
ip link set "tr-$$-vb" netns "$(ns_name 2)"
n1 ip addr add 192.0.2.1/24 dev "tr-$$-va"
n2 ip addr add 192.0.2.2/24 dev "tr-$$-vb"
n1 ip link set "tr-$$-va" up
n2 ip link set "tr-$$-vb" up
# The jumbo rows' own veth pair, so the other rows keep the usual 1500.
if want vethj || want trjumbo || want trjcopy; then
	ip link add "tr-$$-ja" mtu "$JOUTER" type veth peer name "tr-$$-jb" mtu "$JOUTER"
	ip link set "tr-$$-ja" netns "$(ns_name 1)"
	ip link set "tr-$$-jb" netns "$(ns_name 2)"
	n1 ip addr add 198.51.100.1/24 dev "tr-$$-ja"
	n2 ip addr add 198.51.100.2/24 dev "tr-$$-jb"
	n1 ip link set "tr-$$-ja" up
	n2 ip link set "tr-$$-jb" up
fi

# Tunnels that came up: id, label, server address, PIDs of their processes,
# the device in namespace 1, and (tunroom) the name `tunroom show` knows.
TUN_IDS=() ; declare -A TUN_LABEL TUN_ADDR TUN_PIDS TUN_DEV TUN_NS1DEV TUN_NOUDP
NOTES=() # rows not run, and why: they go into the results
add_tunnel() { TUN_IDS+=("$1"); TUN_LABEL[$1]=$2; TUN_ADDR[$1]=$3; TUN_PIDS[$1]=${4:-}; TUN_NS1DEV[$1]=${5:-}; }
note() { NOTES+=("$*"); log "bench-tunnels: $*"; }
want veth && add_tunnel veth "plain veth (no tunnel)" 192.0.2.2 "" "tr-$$-va"
if want vethj; then
	add_tunnel vethj "plain veth, MTU $JOUTER (no tunnel)" 198.51.100.2 "" "tr-$$-ja"
	TUN_NOUDP[vethj]=1
fi

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
MTU = ${CONF_MTU:-$MTU}
ListenAddress = ${CONF_NET:-192.0.2}.$me
ListenPort = $port
$(printf '%s\n' "$@")

[SA]
Endpoint = ${CONF_NET:-192.0.2}.$peer:$port
$(cat "$keys")
CONF
	)
}

# tunroom_up ID LABEL DEV CIPHER BASE PORT [extra Interface lines]
# A build that rejects the configuration (say, an Interface key it does not
# know yet) skips the row with a note: `tunroom up -n` checks it first.
tunroom_up() {
	local id=$1 label=$2 dev=$3 cipher=$4 base=$5 port=$6 pids=""
	shift 6
	want "$id" || return 0
	"$TUNROOM" genkey "$cipher" 2>/dev/null | grep -v '^#' >"$WORK/$id.keys.a"
	sed -e 's/^Out/X/' -e 's/^In/Out/' -e 's/^X/In/' "$WORK/$id.keys.a" >"$WORK/$id.keys.b"
	for side in a b; do
		tunroom_conf "$WORK/$id.$side.conf" "$side" "$dev" "$base" "$port" "$WORK/$id.keys.$side" "$@"
	done
	if ! "$TUNROOM" up -n "$WORK/$id.a.conf" >/dev/null 2>"$WORK/$id.check"; then
		note "$label not run: this tunroom rejects its config: $(head -1 "$WORK/$id.check")"
		return 0
	fi
	local ns=1
	for side in a b; do
		TUNROOM_RUN_DIR=$WORK/run-$side TUNROOM_STATE_DIR=$WORK/state-$side shim "$id" bg "$ns" "$TUNROOM" up "$WORK/$id.$side.conf" 2>>"$WORK/$id.log"
		pids+="${TR_PIDS[-1]} "
		ns=2
	done
	for side in a b; do
		wait_for 10 env TUNROOM_RUN_DIR="$WORK/run-$side" "$TUNROOM" show "$dev" && continue
		jumbo "$id" || die "$label ($side) did not come up: $(cat "$WORK/$id.log")"
		note "$label not run: side $side did not come up: $(tail -1 "$WORK/$id.log")"
		return 0
	done
	add_tunnel "$id" "$label" "198.18.0.$((base + 2))" "$pids" "$dev"
	TUN_DEV[$id]=$dev
}

tunroom_up tr128 "tunroom aes128-gcm" tr1 aes128-gcm 0 4500
tunroom_up tr256 "tunroom aes256-gcm" tr2 aes256-gcm 4 4501
tunroom_up trcopy "tunroom aes128-gcm copy path" tr3 aes128-gcm 8 4502 "ZeroCopy = off"
tunroom_up troff "tunroom aes128-gcm Offload = off" tr4 aes128-gcm 16 4503 "Offload = off"
# Jumbo: the same two paths with inner MTU 8900 over the 9000-byte veth.
CONF_MTU=$JMTU CONF_NET=198.51.100 tunroom_up trjumbo "tunroom aes128-gcm, MTU $JMTU" tr5 aes128-gcm 20 4504
CONF_MTU=$JMTU CONF_NET=198.51.100 tunroom_up trjcopy "tunroom aes128-gcm copy path, MTU $JMTU" tr6 aes128-gcm 24 4505 "ZeroCopy = off"
TUN_NOUDP[trjumbo]=1 TUN_NOUDP[trjcopy]=1

# wireguard-go: userspace, one process per end; wg(8) reaches it through
# /var/run/wireguard/DEV.sock, a path shared by all namespaces, hence the PID
# in the device names. Go allocates from its own heap, not malloc: the shim
# sees nothing there, the allocation column says so.
wg_up() {
	want wg || return 0
	if ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null; then
		note "wireguard-go not run: wireguard-go/wg missing (scripts/deps.sh bench)"
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
	add_tunnel wg "wireguard-go $(wireguard-go --version | awk 'NR==1{print $2}')" 198.18.0.14 "$pids" "$dev_a"
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
	want "$id" || return 0
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
	shim "$id" bg 2 ocserv -f -c "$d/$id.conf" >"$d/$id.server.log" 2>&1
	pids+="${TR_PIDS[-1]} "
	wait_for 10 sh -c "ip netns exec $(ns_name 2) ss -ltn | grep -q '192.0.2.2:$port '" ||
		{ note "$label not run: ocserv did not listen ($(tail -1 "$d/$id.server.log"))"; return 0; }
	# Not "echo | bg": bg in a pipeline runs in a subshell, its PID would be
	# lost to cleanup and to the CPU count. sh execs openconnect: same PID.
	# shellcheck disable=SC2016 # $0 and $@ are for the inner sh
	OC_PEER=198.18.$net.1 shim "$id" bg 1 sh -c 'exec "$@" <"$0"' "$d/pass" openconnect --passwd-on-stdin \
		-u bench --servercert "$OC_PIN" --script "$d/script" --interface "$dev" "$@" \
		"https://192.0.2.2:$port/" >"$d/$id.client.log" 2>&1
	pids+="${TR_PIDS[-1]} "
	if ! wait_for 15 sh -c "ip -n $(ns_name 1) -4 addr show dev $dev 2>/dev/null | grep -q inet"; then
		note "$label not run: no tunnel device ($(tail -1 "$d/$id.client.log"))"
		return 0
	fi
	# Over UDP only once DTLS is up; until then openconnect sends over TLS.
	if [ "$id" = ocdtls ] && ! wait_for 10 grep -q "Established DTLS" "$d/$id.client.log"; then
		note "$label not run: DTLS did not come up ($(tail -1 "$d/$id.client.log"))"
		return 0
	fi
	grep -h "Established DTLS\|Connected as\|ciphersuite\|Ciphersuite" "$d/$id.client.log" | sed "s/^/  $id: /" >&2 || true
	add_tunnel "$id" "$label" "198.18.$net.1" "$pids" "$dev"
}
if command -v ocserv >/dev/null && command -v openconnect >/dev/null && command -v certtool >/dev/null; then
	oc_setup
	oc_up ocdtls "openconnect $(openconnect --version | awk 'NR==1{print $NF}') / ocserv, DTLS" 4443 1
	oc_up octls "openconnect / ocserv, TLS only" 4444 2 --no-dtls
else
	note "openconnect/ocserv not run: ocserv, openconnect or certtool missing (scripts/deps.sh bench)"
fi


[ ${#TUN_IDS[@]} -gt 0 ] || die "no path came up (BENCH_ONLY=${BENCH_ONLY:-})"
# One iperf3 server serves every tunnel: tests run one at a time.
bg 2 iperf3 -s >/dev/null 2>&1 || true
up=()
for id in "${TUN_IDS[@]}"; do
	if wait_for 10 ip netns exec "$(ns_name 1)" ping -c 1 -W 1 "${TUN_ADDR[$id]}"; then
		up+=("$id")
	elif jumbo "$id"; then
		note "${TUN_LABEL[$id]} not run: no ping through ${TUN_ADDR[$id]}"
	else
		die "${TUN_LABEL[$id]}: no ping through ${TUN_ADDR[$id]}"
	fi
done
TUN_IDS=("${up[@]}")
wait_for 10 sh -c "ip netns exec $(ns_name 2) ss -ltn | grep -q ':5201 '" || die "iperf3 server did not start"

HZ=$(getconf CLK_TCK)
# proc_tree PID...: these processes and all their descendants, one a line.
proc_tree() {
	python3 - "$@" <<'EOF'
import os, sys
want = {int(p) for p in sys.argv[1:]}
parent = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            s = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        parent[int(d)] = int(s[s.rindex(")") + 2:].split()[1])
grew = True
while grew:
    grew = False
    for pid, ppid in parent.items():
        if ppid in want and pid not in want:
            want.add(pid); grew = True
print("\n".join(str(p) for p in sorted(want) if p in parent))
EOF
}
# proc_ticks PID...: utime+stime of these processes and their descendants.
proc_ticks() {
	local t=0 p s
	for p in $(proc_tree "$@"); do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) }
		# shellcheck disable=SC2086 # fields, split on purpose
		set -- $s
		t=$((t + ${12} + ${13}))
	done
	echo "$t"
}
# busy_ticks: the machine's non-idle time (user nice system irq softirq steal).
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
# dev_count ID: "packets bytes" the tunnel device in namespace 1 has moved (rx+tx).
dev_count() {
	local d=/sys/class/net/${TUN_NS1DEV[$1]}/statistics
	ip netns exec "$(ns_name 1)" sh -c "echo \$((\$(cat $d/rx_packets) + \$(cat $d/tx_packets))) \$((\$(cat $d/rx_bytes) + \$(cat $d/tx_bytes)))"
}
# alloc_count ID: heap allocation calls so far in the tunnel's processes
# (sum over every counter file the shim wrote); "-" without any file.
alloc_count() {
	local dir=$WORK/alloc/$1
	if [ ! -d "$dir" ] || [ -z "$(ls -A "$dir")" ]; then echo -; return; fi
	python3 - "$dir" <<'EOF'
import os, struct, sys
d = sys.argv[1]
total = 0
for f in os.listdir(d):
    b = open(os.path.join(d, f), "rb").read(32)
    if len(b) == 32:
        total += sum(struct.unpack("<4Q", b))
print(total)
EOF
}
# tr_syscalls ID: the sum of tunroom's *_syscalls counters (both ends) and
# which keys it found, "- none" when `tunroom show` has none.
tr_syscalls() {
	for side in a b; do
		TUNROOM_RUN_DIR=$WORK/run-$side "$TUNROOM" show --json "${TUN_DEV[$1]}"
	done | python3 -c '
import json, sys
dec, text, i, total, keys = json.JSONDecoder(), sys.stdin.read(), 0, 0, set()
while i < len(text):
    if text[i].isspace():
        i += 1; continue
    obj, i = dec.raw_decode(text, i)
    for t in obj if isinstance(obj, list) else [obj]:
        st = t.get("stats", t)
        for k, v in st.items():
            if k.endswith("_syscalls") and isinstance(v, int):
                total += v; keys.add(k)
print(total if keys else "-", ",".join(sorted(keys)) or "none")'
}

# loss_counters ID: where packets can be lost on the way, as counters:
# the tunnel device in namespace 1 (tx_dropped: the tunnel did not read it
# fast enough), UDP receive-buffer overflows in each namespace (namespace 2
# holds the receiving iperf3 and the tunnel's own socket there).
loss_counters() {
	local d=/sys/class/net/${TUN_NS1DEV[$1]}/statistics
	ip netns exec "$(ns_name 1)" cat "$d/tx_dropped"
	for ns in 1 2; do
		# shellcheck disable=SC2016 # awk's $2, $6
		ip netns exec "$(ns_name "$ns")" awk '/^Udp:/ && $2 ~ /^[0-9]/ {print $6}' /proc/net/snmp
	done
}

RES=$WORK/results.tsv   # round id metric value
put() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RES"; }
iperf_json() { # ADDR STREAMS -> "bits_per_second bytes retransmits" from iperf3 -J on stdin
	python3 -c '
import json, sys
e = json.load(sys.stdin)["end"]
print(e["sum_received"]["bits_per_second"], e["sum_received"]["bytes"], e["sum_sent"].get("retransmits", 0))'
}

# steady ROUND ID: samples the tunnel during the 1-stream TCP run, in a
# window from 0.5 s after its start to 0.5 s before its end.
steady() {
	local r=$1 id=$2 win a0 a1 c0 c1 s0 s1 pids perfout
	win=$(awk -v s="$SECS" 'BEGIN{print s - 1}')
	sleep 0.5
	# `tunroom show` is served by the tunnel's control thread, which may
	# allocate per request: keep those requests out of the allocation window
	# (counters read after the first, before the second).
	s0="" s1=""
	if [ -n "${TUN_DEV[$id]:-}" ]; then s0=$(tr_syscalls "$id"); fi
	a0=$(alloc_count "$id"); c0=$(dev_count "$id")
	perfout=$WORK/perf.$id.$r
	# shellcheck disable=SC2086 # a list of PIDs, split on purpose
	pids=$(proc_tree ${TUN_PIDS[$id]} | paste -sd,)
	if [ -n "$pids" ] && command -v perf >/dev/null; then
		perf stat -x, -e raw_syscalls:sys_enter,task-clock -p "$pids" -o "$perfout" -- sleep "$win" 2>/dev/null ||
			{ rm -f "$perfout"; sleep "$win"; }
	else
		sleep "$win"
	fi
	a1=$(alloc_count "$id"); c1=$(dev_count "$id")
	if [ -n "${TUN_DEV[$id]:-}" ]; then s1=$(tr_syscalls "$id"); fi
	# shellcheck disable=SC2086 # "packets bytes", split on purpose
	set -- $c0 $c1
	local pkts=$(($3 - $1)) bytes=$(($4 - $2))
	[ "$pkts" -gt 0 ] || { log "  ${TUN_LABEL[$id]}: no packets in the window"; return 0; }
	put "$r" "$id" steady_packets "$pkts"
	if [ "$a0" != - ]; then
		put "$r" "$id" allocs_in_window $((a1 - a0))
		put "$r" "$id" allocs_per_packet "$(awk -v a=$((a1 - a0)) -v p="$pkts" 'BEGIN{printf "%.6f", a/p}')"
	fi
	if [ -s "$perfout" ]; then
		python3 - "$perfout" "$bytes" "$pkts" <<'EOF' | while read -r m v; do put "$r" "$id" "$m" "$v"; done
import sys
out, nbytes, pkts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
vals = {}
for line in open(out):
    f = line.strip().split(",")
    if len(f) > 2 and not line.startswith("#") and f[0] and f[0][0].isdigit():
        vals[f[2]] = float(f[0])
if "raw_syscalls:sys_enter" in vals:
    print("syscalls_per_mb %.2f" % (vals["raw_syscalls:sys_enter"] / (nbytes / 1e6)))
    print("syscalls_per_packet %.4f" % (vals["raw_syscalls:sys_enter"] / pkts))
if "task-clock" in vals:  # msec of CPU in the tunnel processes
    print("steady_cpu_ns_per_packet %.0f" % (vals["task-clock"] * 1e6 / pkts))
EOF
	fi
	if [ -n "${s0:-}" ]; then
		# shellcheck disable=SC2086
		set -- $s0 $s1
		if [ "$1" != - ]; then
			put "$r" "$id" tr_syscalls_per_mb "$(awk -v s=$(($3 - $1)) -v b="$bytes" 'BEGIN{printf "%.2f", s/(b/1e6)}')"
			echo "$2" >"$WORK/tr_syscall_keys"
		fi
	fi
	return 0
}

measure() { # ROUND ID
	local r=$1 id=$2 addr=${TUN_ADDR[$2]} p0 b0 p1 b1 out bytes=0 rtt job
	# shellcheck disable=SC2086
	p0=$(proc_ticks ${TUN_PIDS[$id]}); b0=$(busy_ticks)
	for streams in 1 4; do
		ip netns exec "$(ns_name 1)" iperf3 -c "$addr" -P "$streams" -t "$SECS" -J >"$WORK/iperf.json" 2>/dev/null &
		job=$!
		if [ "$streams" = 1 ] && [ -n "${TUN_PIDS[$id]}" ]; then steady "$r" "$id"; fi
		if ! wait "$job" || ! out=$(iperf_json <"$WORK/iperf.json"); then
			jumbo "$id" || die "${TUN_LABEL[$id]}: iperf3 -P $streams failed"
			note "${TUN_LABEL[$id]}: iperf3 -P $streams failed in round $r, its figures are missing"
			return 0
		fi
		# shellcheck disable=SC2086 # three numbers, split on purpose
		set -- $out
		put "$r" "$id" "tcp${streams}_mbps" "$(awk -v b="$1" 'BEGIN{printf "%.1f", b/1e6}')"
		put "$r" "$id" "tcp${streams}_retrans" "$3"
		bytes=$((bytes + $2))
	done
	# shellcheck disable=SC2086
	p1=$(proc_ticks ${TUN_PIDS[$id]}); b1=$(busy_ticks)
	if [ -n "${TUN_PIDS[$id]}" ]; then
		put "$r" "$id" cpu_tunnel_s_per_gb "$(awk -v t=$((p1 - p0)) -v hz="$HZ" -v b="$bytes" 'BEGIN{printf "%.3f", t/hz/(b/1e9)}')"
	fi
	put "$r" "$id" cpu_total_s_per_gb "$(awk -v t=$((b1 - b0)) -v hz="$HZ" -v b="$bytes" 'BEGIN{printf "%.3f", t/hz/(b/1e9)}')"
	rtt=$(ip netns exec "$(ns_name 1)" ping -q -c 20 -i 0.05 -W 1 "$addr" | awk -F/ '/^rtt|^round-trip/{print $5}')
	put "$r" "$id" ping_avg_ms "${rtt:-nan}"
	[ -z "${TUN_NOUDP[$id]:-}" ] || return 0
	local l0 l1
	l0=$(loss_counters "$id" | paste -sd' ')
	# shellcheck disable=SC2046
	scripts/bench-udp.py "$(ns_name 1)" "$addr" $([ "$QUICK" = 1 ] && echo --quick) 2>>"$WORK/udp.log" |
		while read -r m v; do put "$r" "$id" "$m" "$v"; done
	tail -1 "$WORK/udp.log" | sed 's/^/    /' >&2
	l1=$(loss_counters "$id" | paste -sd' ')
	# shellcheck disable=SC2086 # six numbers, split on purpose
	set -- $l0 $l1
	put "$r" "$id" udp_lost_dev1_tx_dropped $(($4 - $1))
	put "$r" "$id" udp_lost_ns1_rcvbuf $(($5 - $2))
	put "$r" "$id" udp_lost_ns2_rcvbuf $(($6 - $3))
}

START=$SECONDS
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
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
log "bench-tunnels: measured in $((SECONDS - START)) s"

# --profile: where tunroom aes128-gcm spends its time, under TCP (1 stream)
# and under a 64-byte UDP flood: perf stat per thread (CPU, syscalls), the
# syscall mix (perf trace -s) and perf record's top symbols per thread,
# kernel included. Text in bench/results/profile-{tcp,udp64}.txt.
profile() { # ID KIND
	local id=$1 kind=$2 pids job c0 c1 f=$OUT/profile-$2.txt d=$WORK/prof-$2 win=4
	mkdir -p "$d"
	# shellcheck disable=SC2086 # a list of PIDs, split on purpose
	pids=$(proc_tree ${TUN_PIDS[$id]} | paste -sd,)
	if [ "$kind" = tcp ]; then
		ip netns exec "$(ns_name 1)" iperf3 -c "${TUN_ADDR[$id]}" -t $((3 * win + 3)) >/dev/null 2>&1 &
	else
		ip netns exec "$(ns_name 1)" iperf3 -c "${TUN_ADDR[$id]}" -u -l 64 -b 0 -t $((3 * win + 3)) >/dev/null 2>&1 &
	fi
	job=$!
	sleep 1
	c0=$(dev_count "$id")
	perf stat --per-thread -e task-clock,raw_syscalls:sys_enter -p "$pids" -o "$d/stat" -- sleep "$win" 2>/dev/null || true
	c1=$(dev_count "$id")
	perf trace -s -p "$pids" -o "$d/trace" -- sleep "$win" >/dev/null 2>"$d/trace.err" ||
		echo "perf trace failed: $(head -c 300 "$d/trace.err")" >"$d/trace"
	# DWARF unwinding: tunroom and libcrypto have no frame pointers.
	# shellcheck disable=SC2086 # perf options, split on purpose
	perf record ${BENCH_CALLGRAPH:---call-graph dwarf,16384} -F 499 -e cpu-clock -p "$pids" -o "$d/perf.data" -- sleep "$win" >/dev/null 2>&1 || true
	wait "$job" || true
	# shellcheck disable=SC2086
	set -- $c0 $c1
	{
		echo "# ${TUN_LABEL[$id]}, $kind: $(($3 - $1)) packets, $(($4 - $2)) bytes through the device in namespace 1 in $win s"
		echo "# (perf stat window; the trace and record windows follow it, same load)"
		echo "## perf stat --per-thread -e task-clock,raw_syscalls:sys_enter (both ends)"
		grep -v '^#' "$d/stat" | sed '/^$/d' | sort -t- -k1,1 || true
		echo "## perf trace -s (syscall mix per thread)"
		sed '/^$/d' "$d/trace" 2>/dev/null | head -80 || true
		echo "## perf record -e cpu-clock: inclusive share (children, self) of tunroom's and libcrypto's functions, all threads"
		# The stages of the path as tunroom's own functions name them (TUN
		# I/O, UDP I/O, ESP, rings), whatever they are called in this build;
		# kernel work done inside a call counts to it.
		perf report -i "$d/perf.data" --children --sort dso,sym --stdio -g none 2>/dev/null |
			awk '!/^#/ && NF >= 5 && $5 !~ /^0x/ && ($3 == "tunroom" || $3 ~ /^libcrypto/) {k = $3 " " $5; a[k] += $1; s[k] += $2}
			     END {for (k in a) printf "%7.2f%% %7.2f%%  %s\n", a[k], s[k], k}' |
			sort -rn | head -40 || true
		echo "## perf record -e cpu-clock: share of samples per thread"
		perf report -i "$d/perf.data" --no-children --sort pid --stdio -g none 2>/dev/null | grep -v '^#' | sed '/^$/d' | head -12
		for tid in $(perf report -i "$d/perf.data" --no-children --sort pid --stdio -g none 2>/dev/null |
			awk '!/^#/ && $1 ~ /%/ && $1+0 >= 5 {split($2, a, ":"); print a[1]}'); do
			echo "## thread $tid: top symbols (self)"
			perf report -i "$d/perf.data" --no-children --tid "$tid" --sort dso,sym --stdio -g none \
				--percentage relative --percent-limit 1.5 2>/dev/null |
				grep -v '^#' | sed '/^$/d' | head -25
		done
	} >"$f"
	log "bench-tunnels: profile in $f"
}
if [ "$PROFILE" = 1 ] && [ -n "${TUN_PIDS[tr128]:-}" ] && command -v perf >/dev/null; then
	profile tr128 tcp
	profile tr128 udp64
fi

# From tunroom's own counters (both ends, whole run): userspace payload bytes
# copied per packet (0 on the zero-copy path by construction), and every
# drop/error counter that moved, to say where the UDP floods lost packets.
for id in "${TUN_IDS[@]}"; do
	[ -n "${TUN_DEV[$id]:-}" ] || continue
	for side in a b; do
		TUNROOM_RUN_DIR=$WORK/run-$side "$TUNROOM" show --json "${TUN_DEV[$id]}"
	done | python3 -c '
import json, sys
dec, copied, pkts, text, drops = json.JSONDecoder(), 0, 0, sys.stdin.read(), {}
i = 0
while i < len(text):
    if text[i].isspace():
        i += 1; continue
    obj, i = dec.raw_decode(text, i)
    for t in obj if isinstance(obj, list) else [obj]:
        st = t.get("stats", t)
        copied += st.get("rx_copied_bytes", 0) + st.get("tx_copied_bytes", 0)
        pkts += st.get("rx_packets", 0) + st.get("tx_packets", 0)
        for k, v in st.items():
            if ("_drop_" in k or "_err_" in k) and isinstance(v, int) and v:
                drops[k] = drops.get(k, 0) + v
print("copied_bytes_per_packet %.1f" % (copied / pkts if pkts else float("nan")))
for k, v in sorted(drops.items()):
    print("count_%s %d" % (k, v))' |
		while read -r m v; do put 0 "$id" "$m" "$v"; done ||
		log "bench-tunnels: no counters from ${TUN_LABEL[$id]}"
done

# Everything the report needs besides the figures: labels, notes, versions.
labels=$WORK/labels.tsv
for id in "${TUN_IDS[@]}"; do printf '%s\t%s\n' "$id" "${TUN_LABEL[$id]}" >>"$labels"; done
ver() { "$@" 2>&1 | head -1 || true; }
# tunroom_version: the commit, "-dirty" when sources differ from it (the
# results this run rewrites do not count).
tunroom_version() {
	local v
	v=$(git describe --always 2>/dev/null) || { echo unknown; return; }
	[ -z "$(git status --porcelain --untracked-files=no -- . ':!bench/results' ':!README.md' ':!docs/benchmarks.md' 2>/dev/null)" ] || v+=-dirty
	echo "$v"
}
# pkgver PKG CMD...: the Debian package version, else what CMD says.
pkgver() {
	local v
	v=$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null) || v=""
	shift
	if [ -n "$v" ]; then echo "$v"; else ver "$@"; fi
}
python3 - "$WORK/meta.json" <<EOF
import json, sys
json.dump({
 "rounds": $ROUNDS, "iperf_seconds": $SECS, "quick": $QUICK == 1, "inner_mtu": $MTU,
 "jumbo_inner_mtu": $JMTU, "jumbo_outer_mtu": $JOUTER,
 "notes": $(printf '%s\n' "${NOTES[@]}" | python3 -c 'import json,sys; print(json.dumps([l for l in sys.stdin.read().splitlines() if l]))'),
 "tunroom_syscall_keys": "$(cat "$WORK/tr_syscall_keys" 2>/dev/null || echo none)",
 "loadavg_start": "$LOAD0", "loadavg_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
 "alloc_shim": "$([ -n "$ALLOCSHIM" ] && echo yes || echo no)",
 "versions": {
  "tunroom": "$(tunroom_version) ($(meson introspect "$BUILD" --buildoptions 2>/dev/null | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"))' 2>/dev/null || echo '?'))",
  "openssl": "$(pkgver libssl3 openssl version)",
  "wireguard-go": "$(pkgver wireguard-go wireguard-go --version)",
  "openconnect": "$(pkgver openconnect openconnect --version)",
  "ocserv": "$(pkgver ocserv ocserv --version)",
  "gnutls": "$(pkgver libgnutls30 certtool --version)",
  "iperf3": "$(pkgver iperf3 iperf3 --version)",
  "perf": "$(ver perf --version)",
  "kernel": "$(uname -r)",
  "debian": "$(cat /etc/debian_version 2>/dev/null)",
 },
}, open(sys.argv[1], "w"), indent=1)
EOF
scripts/bench-report.py "$RES" "$labels" "$WORK/meta.json" "$OUT" "$WORK"

if command -v gnuplot >/dev/null; then
	gnuplot <<GP 2>"$WORK/gnuplot.err" || log "bench-tunnels: no chart: $(head -1 "$WORK/gnuplot.err")"
set terminal pngcairo size 1000,600 noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
set key top right
set bmargin 10
set grid ytics
set logscale y
set output "$OUT/tunnels.png"
set title "iperf3 TCP through each tunnel (median of $ROUNDS, inner MTU $MTU, MTU $JMTU where named, $(nproc) cores)"
set ylabel "Mbit/s"
set yrange [10:*]
plot "$WORK/plot-tcp.dat" using 2:xtic(1) title "1 stream", '' using 3 title "4 streams"
set output "$OUT/udp64.png"
set title "UDP, 64-byte payload, packets per second through each tunnel (median of $ROUNDS)"
set ylabel "kpps"
set yrange [1:*]
plot "$WORK/plot-udp.dat" using 2:xtic(1) title "0 % loss", '' using 3 title "<= 1 % loss", '' using 4 title "flood (received)"
GP
	[ -s "$OUT/tunnels.png" ] && log "bench-tunnels: charts in $OUT/tunnels.png $OUT/udp64.png"
fi
log "bench-tunnels: results in $OUT/latest.json"
