#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: a tunroom tunnel between two network namespaces, a ping and a
# short iperf3 run through it, a report, and cleanup (also on failure or ^C).
#
#   namespace tr-demo-$$-1                    namespace tr-demo-$$-2
#   +-----------------------------+           +-----------------------------+
#   | tunroom up tr1.conf         |           | tunroom up tr2.conf         |
#   | tr1  198.18.0.1/30          |           | tr2  198.18.0.2/30          |
#   |      fd00:18::1/64          |           |      fd00:18::2/64          |
#   |   ESP in UDP 192.0.2.1:4500 |           |   ESP in UDP 192.0.2.2:4500 |
#   | veth1 192.0.2.1/24 ---------+-----------+--------- veth2 192.0.2.2/24 |
#   +-----------------------------+           +-----------------------------+
#
# Usage: scripts/demo.sh [CIPHER]   (root; BUILD=build by default)
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CIPHER=${1:-aes128-gcm}
TUNROOM=$PWD/$BUILD/src/cli/tunroom
NS1=tr-demo-$$-1 NS2=tr-demo-$$-2
IPERF_SECONDS=${IPERF_SECONDS:-5}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root for network namespaces and TUN devices: sudo make demo"
[ -x "$TUNROOM" ] || die "$TUNROOM is missing: run make first"
for tool in ip ping iperf3 python3; do
	command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh demo installs it)"
done

work=$(mktemp -d /tmp/tr-demo-XXXXXX)
# Our own control directory, so the demo never meets a tunnel the user runs.
export TUNROOM_RUN_DIR=$work/run
pids=()
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	ip netns del "$NS1" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	rm -rf "$work"
	[ "$rc" -eq 0 ] || echo "demo: failed; everything it created is removed" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$SECONDS
say "namespaces $NS1 and $NS2, joined by a veth pair"
ip netns add "$NS1"
ip netns add "$NS2"
ip link add veth1 netns "$NS1" type veth peer name veth2 netns "$NS2"
ip -n "$NS1" addr add 192.0.2.1/24 dev veth1
ip -n "$NS2" addr add 192.0.2.2/24 dev veth2
for ns in "$NS1" "$NS2"; do
	ip -n "$ns" link set lo up
done
ip -n "$NS1" link set veth1 up
ip -n "$NS2" link set veth2 up

say "keys: tunroom genkey $CIPHER"
umask 077
cat >"$work/tr1.conf" <<EOF
[Interface]
Name = tr1
Address = 198.18.0.1/30
Address = fd00:18::1/64
ListenAddress = 192.0.2.1
ListenPort = 4500

[SA]
Endpoint = 192.0.2.2:4500
EOF
"$TUNROOM" genkey "$CIPHER" >>"$work/tr1.conf"
# The peer: its own addresses, and every In/Out swapped.
sed -e 's/^Name = tr1/Name = tr2/; s#198.18.0.1/30#198.18.0.2/30#; s#fd00:18::1/64#fd00:18::2/64#' \
	-e 's/^ListenAddress = 192.0.2.1/ListenAddress = 192.0.2.2/' \
	-e 's/^Endpoint = 192.0.2.2/Endpoint = 192.0.2.1/' \
	-e 's/^Out/X/; s/^In/Out/; s/^X/In/' "$work/tr1.conf" >"$work/tr2.conf"
"$TUNROOM" up --check "$work/tr1.conf"
"$TUNROOM" up --check "$work/tr2.conf"

say "tunroom up in each namespace"
ip netns exec "$NS1" "$TUNROOM" up "$work/tr1.conf" 2>"$work/tr1.err" &
pids+=("$!")
ip netns exec "$NS2" "$TUNROOM" up "$work/tr2.conf" 2>"$work/tr2.err" &
pids+=("$!")
for i in 1 2; do
	for _ in $(seq 200); do
		"$TUNROOM" show "tr$i" >/dev/null 2>&1 && continue 2
		kill -0 "${pids[$((i - 1))]}" 2>/dev/null || break
		sleep 0.05
	done
	cat "$work/tr$i.err" >&2
	die "tunnel tr$i did not come up"
done
"$TUNROOM" show

say "ping through the tunnel, IPv4 and IPv6"
ip netns exec "$NS1" ping -c 5 -i 0.2 -W 2 198.18.0.2
ip netns exec "$NS1" ping -6 -c 5 -i 0.2 -W 2 fd00:18::2

say "iperf3 TCP, ${IPERF_SECONDS}s, 198.18.0.1 -> 198.18.0.2"
ip netns exec "$NS2" iperf3 -s -1 -B 198.18.0.2 >/dev/null 2>&1 &
pids+=("$!")
# Wait for the listener without connecting to it: -1 serves one client only.
for _ in $(seq 100); do
	[ -n "$(ip netns exec "$NS2" ss -Hltn 'sport = :5201')" ] && break
	sleep 0.05
done
ip netns exec "$NS1" iperf3 -c 198.18.0.2 -t "$IPERF_SECONDS" -J >"$work/iperf.json"

"$TUNROOM" show --json tr1 >"$work/tr1.json"
"$TUNROOM" show --json tr2 >"$work/tr2.json"
"$TUNROOM" show -s

say "tunroom down"
"$TUNROOM" down tr1
"$TUNROOM" down tr2
for pid in "${pids[@]:0:2}"; do
	wait "$pid" || die "a tunnel exited with status $?"
done
pids=("${pids[@]:2}")
for ns in "$NS1" "$NS2"; do
	if ip -n "$ns" link show | grep -q ': tr[12]'; then die "device left behind in $ns"; fi
done

say "report"
python3 - "$work" "$((SECONDS - started))" <<'EOF'
import json, sys
work, elapsed = sys.argv[1], sys.argv[2]
iperf = json.load(open(f"{work}/iperf.json"))
end = iperf["end"]
bps = end["sum_received"]["bits_per_second"]
retr = end.get("sum_sent", {}).get("retransmits", 0)
print(f"  throughput        {bps / 1e9:.2f} Gbit/s TCP (iperf3, {end['sum_received']['seconds']:.1f} s, {retr} retransmits)")
for name in ("tr1", "tr2"):
    t = json.load(open(f"{work}/{name}.json"))[0]
    s = t.get("stats", {})
    pk = s.get("rx_packets", 0) + s.get("tx_packets", 0)
    drops = {k: v for k, v in s.items() if ("_err_" in k or "_drop_" in k) and v}
    # The data plane counts the payload bytes it copies itself (copy_bytes);
    # zero is the claim.
    copies = s.get("copy_bytes", t.get("copy_bytes"))
    per = "not reported" if copies is None else f"{copies / max(pk, 1):.2f} bytes/packet ({copies} total)"
    print(f"  {name}: {t.get('cipher', '?')}  rx {s.get('rx_packets', 0)} pkts / {s.get('rx_bytes', 0)} B,"
          f" tx {s.get('tx_packets', 0)} pkts / {s.get('tx_bytes', 0)} B")
    print(f"        userspace copies: {per}")
    print(f"        drops/errors: {drops if drops else 'none'}")
print(f"  elapsed           {elapsed} s")
EOF
