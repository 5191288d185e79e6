# SPDX-License-Identifier: MIT
# Helpers for the tunnel tests. A test sets TUNROOM (the binary, its first
# argument) and sources this, which sources lib.sh (unless the test did),
# skips without root or TUN, and makes WORK (removed on exit). Topology:
#
#   ns 1: tr0 198.18.0.1/30 fd00:7272::1/64     ns 2: tr0 198.18.0.2/30 fd00:7272::2/64
#         veth 192.0.2.1/24  ====== ESP in UDP 4500 ======  veth 192.0.2.2/24

declare -F require_root >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_tun
TUNROOM=${TUNROOM:?set TUNROOM to the tunroom binary}
TR_NETNS_DIR=$(dirname "${BASH_SOURCE[0]}")
WORK=$(mktemp -d)
# cleanup exits with the $? it finds: hand it the test's status, under set +e
# so that (exit $rc) does not end the trap before cleanup runs.
trap 'rc=$?; set +e; rm -rf "$WORK"; (exit $rc); cleanup' EXIT

topology() {
	ns_add 1
	ns_add 2
	ip link add "tr-$$-va" type veth peer name "tr-$$-vb"
	ip link set "tr-$$-va" netns "$(ns_name 1)"
	ip link set "tr-$$-vb" netns "$(ns_name 2)"
	n1 ip addr add 192.0.2.1/24 dev "tr-$$-va"
	n2 ip addr add 192.0.2.2/24 dev "tr-$$-vb"
	n1 ip link set "tr-$$-va" up
	n2 ip link set "tr-$$-vb" up
}

# keys CIPHER: $WORK/keys.a and keys.b, the same SAs seen from each side.
keys() {
	"$TUNROOM" genkey "$1" 2>/dev/null | grep -v '^#' >"$WORK/keys.a"
	sed -e 's/^Out/X/' -e 's/^In/Out/' -e 's/^X/In/' "$WORK/keys.a" >"$WORK/keys.b"
}

# conf SIDE(a|b) [extra [SA] lines]: $WORK/SIDE.conf from keys.SIDE.
conf() {
	local side=$1 me peer n
	shift
	if [ "$side" = a ]; then me=1 peer=2; else me=2 peer=1; fi
	(
		umask 077
		cat >"$WORK/$side.conf" <<CONF
[Interface]
Name = tr0
Address = 198.18.0.$me/30
Address = fd00:7272::$me/64
MTU = 1400
ListenAddress = 192.0.2.$me
ListenPort = 4500
${TR_IFACE_EXTRA:-}

[SA]
Endpoint = 192.0.2.$peer:4500
$(cat "$WORK/keys.$side")
$(printf '%s\n' "$@")
CONF
	)
}

# up SIDE: runs tunroom up in the side's namespace, waits until it answers.
# PID of the tunroom process in $UP_PID_a / $UP_PID_b. TR_UP_ENV: extra
# NAME=VALUE words for its environment (test-only knobs). TR_UP_LOG: a file
# its log (stderr) is appended to, for a test that reads it.
up() {
	local side=$1 ns=1 wrap=()
	[ "$side" = b ] && ns=2
	mkdir -p "$WORK/run-$side"
	[ -n "${TR_UP_LOG:-}" ] && wrap=(sh -c 'exec "$@" 2>>"$0"' "$TR_UP_LOG")
	bg "$ns" "${wrap[@]}" env TUNROOM_RUN_DIR="$WORK/run-$side" TUNROOM_STATE_DIR="$WORK/state-$side" ${TR_PRELOAD:+LD_PRELOAD=$TR_PRELOAD} \
		${TR_COPYCOUNT:+TR_COPYCOUNT_FILE=$WORK/copies.$side} ${TR_UP_ENV:-} \
		"$TUNROOM" up "$WORK/$side.conf"
	eval "UP_PID_$side=${TR_PIDS[-1]}"
	# TR_UP_TIMEOUT: seconds it may take to answer (valgrind.sh: longer).
	wait_for "${TR_UP_TIMEOUT:-10}" show "$side" ||
		die "tunroom up ($side) did not come up: show says: $(show "$side" 2>&1 | tail -1)"
}

show() { # SIDE [args]
	local side=$1
	shift
	TUNROOM_RUN_DIR=$WORK/run-$side "$TUNROOM" show "$@" tr0
}

# counter SIDE KEY: one counter from tunroom show --json.
counter() {
	show "$1" --json | python3 -c '
import json, sys
t = json.load(sys.stdin)[0]
print(t["stats"].get(sys.argv[1], t.get(sys.argv[1], "missing")))' "$2"
}

# expect SIDE KEY OP VALUE: counter KEY of SIDE passes [ counter OP VALUE ]
# (-gt, -eq, =, ...), else diag and fail; says what it found.
expect() { # SIDE KEY OP VALUE
	local v
	v=$(counter "$1" "$2")
	[ "$v" "$3" "$4" ] || { diag; die "side $1: $2 = $v, want $3 $4"; }
	echo "side $1: $2 = $v"
}

# down SIDE: tunroom down, then the process must exit 0 and tr0 be gone.
down() {
	local side=$1 ns=1 pid
	[ "$side" = b ] && ns=2
	pid=$(eval echo "\$UP_PID_$side")
	TUNROOM_RUN_DIR=$WORK/run-$side "$TUNROOM" down tr0 || die "tunroom down ($side) failed"
	wait "$pid" || die "tunroom up ($side) exited with $?"
	ip -n "$(ns_name $ns)" link show tr0 >/dev/null 2>&1 && die "tr0 still exists in ns $ns"
	return 0
}

# pair: both ends configured from their keys (TR_IFACE_EXTRA goes to both)
# and up; a ping must cross.
pair() {
	conf a
	conf b
	up a
	up b
	n1 ping -c 2 -i 0.2 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"
}

# diag: what each side counted, on failure. A test that wants more defines
# its own after sourcing this file.
diag() {
	for side in a b; do
		show "$side" -s >&2 || true
	done
}

# port_open NS PROTO PORT: something listens on PORT (PROTO t or u) in NS.
port_open() { [ -n "$(ip netns exec "$(ns_name "$1")" ss -Hl"$2"n "sport = :$3")" ]; }

# tcp_data MB: the file tcp sends, $WORK/data, MB MiB of random bytes.
tcp_data() {
	TCP_MB=$1
	head -c $((TCP_MB << 20)) /dev/urandom >"$WORK/data"
	TCP_SUM=$(sha256sum "$WORK/data" | cut -d' ' -f1)
}

# tcp FROM_NS TO_NS ADDR PORT: $WORK/data crosses over TCP; its SHA-256 and
# length where it arrives must match. On failure the test's diag runs first.
tcp() {
	local from=$1 to=$2 addr=$3 port=$4 got pid want="$TCP_SUM $((TCP_MB << 20))"
	local py=$TR_NETNS_DIR/tcpsha.py
	rm -f "$WORK/tcp.sum"
	bg "$to" python3 "$py" recv "$addr" "$port" "$WORK/tcp.sum"
	pid=${TR_PIDS[-1]}
	wait_for 5 port_open "$to" t "$port" || die "TCP receiver on $addr did not start"
	timeout 30 ip netns exec "$(ns_name "$from")" python3 "$py" send "$addr" "$port" \
		"$WORK/data" || tcp_fail "TCP send to $addr failed"
	wait "$pid" || tcp_fail "TCP receiver on $addr failed"
	got=$(cat "$WORK/tcp.sum")
	[ "$got" = "$want" ] || tcp_fail "TCP to $addr: got '$got', sent '$want'"
	pretty "TCP to $addr: $TCP_MB MiB, SHA-256 $TCP_SUM at both ends"
}
tcp_fail() {
	declare -F diag >/dev/null && diag
	die "$@"
}
