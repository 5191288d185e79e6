#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: an ESP-in-UDP tunnel between two network namespaces, driven by
# tunroom(8), with ping and a TCP transfer through it and a short report.
#
#   namespace tr-PID-1                          namespace tr-PID-2
#   tr0 198.18.0.1/30 fd00:7272::1/64           tr0 198.18.0.2/30 fd00:7272::2/64
#        | tunroom up a.conf                         | tunroom up b.conf
#   veth 192.0.2.1/24 ==== ESP in UDP 4500 ==== veth 192.0.2.2/24
#
# Then an AnyConnect session (tunroom connect) from namespace 1 to a stock
# ocserv in namespace 2 (pool 198.19.77.0/24), over DTLS, when ocserv is
# installed (scripts/deps.sh demo).
#
# Everything runs inside namespaces this script creates and removes again.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CIPHER=${CIPHER:-aes128-gcm}
SECONDS_IPERF=${SECONDS_IPERF:-5}
TUNROOM=$PWD/$BUILD/src/cli/tunroom

source tests/netns/lib.sh
# lib.sh skips (exit 77) without root; for the demo that is a plain failure.
skip() { printf 'demo: %s\n' "${*//make check/make demo}" >&2; exit 1; }
require_root
require_tun
command -v iperf3 >/dev/null || skip "iperf3 missing (scripts/deps.sh demo installs it)"
[ -x "$TUNROOM" ] || skip "$TUNROOM not built (make)"

work=$(mktemp -d)
demo_cleanup() { cleanup; }
trap 'rc=$?; set +e; rm -rf "$work"; (exit $rc); demo_cleanup' EXIT
quiet() { "$@" >/dev/null 2>&1; }

ns_add 1
ns_add 2
ip link add tr-$$-va type veth peer name tr-$$-vb
ip link set tr-$$-va netns "$(ns_name 1)"
ip link set tr-$$-vb netns "$(ns_name 2)"
n1 ip addr add 192.0.2.1/24 dev tr-$$-va
n2 ip addr add 192.0.2.2/24 dev tr-$$-vb
n1 ip link set tr-$$-va up
n2 ip link set tr-$$-vb up

# Keys: one genkey run; the peer takes the same lines with In and Out swapped.
"$TUNROOM" genkey "$CIPHER" 2>/dev/null | grep -v '^#' >"$work/keys"
swap() { sed -e 's/^Out/X/' -e 's/^In/Out/' -e 's/^X/In/' "$1"; }
swap "$work/keys" >"$work/keys.peer"
write_conf() { # file, local addr, tunnel addr v4, v6, peer addr, keys
	umask 077
	cat >"$1" <<EOF
[Interface]
Name = tr0
Address = $3/30
Address = $4/64
MTU = 1400
ListenAddress = $2
ListenPort = 4500

[SA]
Endpoint = $5:4500
$(cat "$6")
EOF
}
write_conf "$work/a.conf" 192.0.2.1 198.18.0.1 fd00:7272::1 192.0.2.2 "$work/keys"
write_conf "$work/b.conf" 192.0.2.2 198.18.0.2 fd00:7272::2 192.0.2.1 "$work/keys.peer"

mkdir -p "$work/run-a" "$work/run-b"
TUNROOM_RUN_DIR=$work/run-a TUNROOM_STATE_DIR=$work/state-a bg 1 "$TUNROOM" up "$work/a.conf"
TUNROOM_RUN_DIR=$work/run-b TUNROOM_STATE_DIR=$work/state-b bg 2 "$TUNROOM" up "$work/b.conf"
wait_for 10 env TUNROOM_RUN_DIR="$work/run-a" "$TUNROOM" show tr0 || die "side a did not come up"
wait_for 10 env TUNROOM_RUN_DIR="$work/run-b" "$TUNROOM" show tr0 || die "side b did not come up"

echo
echo "== ping through the tunnel"
# Each: its loss line and its round-trip line, labelled.
pings() { # LABEL ping-args...
	local label=$1
	shift
	n1 ping "$@" | tail -2 | sed "s|^|  $label: |"
}
pings "IPv4" -c 5 -i 0.2 -W 2 198.18.0.2
pings "IPv4, 1400 bytes, DF" -c 3 -i 0.2 -W 2 -s 1372 -M do 198.18.0.2   # an MTU-sized packet
pings "IPv6" -6 -c 3 -i 0.2 -W 2 fd00:7272::2

iperf() { # server address -> Mbit/s of a TCP transfer from ns 1 to ns 2
	bg 2 iperf3 -s -1 -B "$1" >/dev/null 2>&1
	wait_for 5 ip netns exec "$(ns_name 2)" ss -ltn "sport = :5201" | grep -q 5201 || true
	sleep 0.2
	n1 iperf3 -c "$1" -t "$SECONDS_IPERF" -J 2>/dev/null | python3 -c '
import json, sys
print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))'
}
echo
echo "== TCP, $SECONDS_IPERF s each (iperf3)"
veth=$(iperf 192.0.2.2)
tun=$(iperf 198.18.0.2)

echo
echo "== tunroom show -s (side a)"
TUNROOM_RUN_DIR=$work/run-a "$TUNROOM" show -s tr0

# Measured, not claimed: the tunnel counts every payload byte it copies.
copies=$(TUNROOM_RUN_DIR=$work/run-a "$TUNROOM" show --json tr0 | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats"]
pk = s["tx_packets"] + s["rx_packets"]
cp = s["tx_copied_bytes"] + s["rx_copied_bytes"]
print(f"userspace payload bytes copied per packet (ESP, side a, {pk} packets): {cp / max(pk, 1):.1f}")')
crypto=$(TUNROOM_RUN_DIR=$work/run-a "$TUNROOM" show --json tr0 | python3 -c '
import json, sys
t = json.load(sys.stdin)[0]
print(t.get("crypto", t["stats"].get("crypto", "?")))')
# Stopped as a user would (the cleanup's SIGTERM would log after the report).
TUNROOM_RUN_DIR=$work/run-a "$TUNROOM" down tr0
TUNROOM_RUN_DIR=$work/run-b "$TUNROOM" down tr0

# The report comes last, after the AnyConnect part.
ac_row="skipped: ocserv or certtool (gnutls-bin) not installed (scripts/deps.sh demo)"
report() {
	echo
	echo "== report (one run on a shared machine; make bench measures properly)"
	printf '%-38s %10s\n' "path" "Mbit/s"
	printf '%-38s %10s\n' "plain veth (no tunnel)" "$veth"
	printf '%-38s %10s  (%s of veth; sealed by %s)\n' "tunroom up: ESP $CIPHER, zero-copy" "$tun" \
		"$(python3 -c 'import sys; print(f"{float(sys.argv[2]) / float(sys.argv[1]) * 100:.0f}%")' "$veth" "$tun")" \
		"$crypto"
	printf '%-38s %s\n' "tunroom connect: AnyConnect" "$ac_row"
	echo "$copies"
}

echo
echo "== AnyConnect: tunroom connect to a local ocserv"
if ! command -v ocserv >/dev/null || ! command -v certtool >/dev/null; then
	echo "  $ac_row"
	report
	exit 0
fi
source tests/netns/ac-lib.sh
SRV=192.0.2.2
SERVER=https://$SRV:$PORT
WORK=$work/ac
mkdir -p "$WORK/run"
chmod 755 "$work" "$WORK"
ac_cert
ac_write_conf </dev/null
ac_start_ocserv
ac_connect acdemo
ac_wait_state acdemo dtls 10 || echo "  (DTLS did not come up; carrying on over TLS)"
sed 's/^/  /' "$WORK/acdemo.log"
pings "AnyConnect IPv4" -c 5 -i 0.2 -W 2 $POOL_GW
chan=$(ac_show acdemo state)
ac=$(iperf $POOL_GW)
echo
echo "== tunroom show -s acdemo"
tunroom1 show -s acdemo
ac_down acdemo
ac_row=$(printf '%10s  (over %s)' "$ac" "$chan")
report
