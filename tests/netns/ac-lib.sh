# SPDX-License-Identifier: MIT
# AnyConnect tests' common part (it sources lib.sh unless the caller did):
# two namespaces joined by a veth, a stock ocserv in namespace 2 with a
# self-signed certificate made here, and the client's helpers. A test sets TUNROOM (and any AC_*
# knob ac_write_conf reads), sources this and calls ac_begin.
#
#          namespace 1 (client)                    namespace 2 (server)
#   tunroom connect / openconnect                  ocserv, vpns0 198.19.77.1
#          veth 203.0.113.1/24  <---------------->  veth 203.0.113.2/24
#   tunnel address from the pool 198.19.77.0/24
#
#   ac_begin [CMD[:PACKAGE]]...  skips (exit 77) without root, TUN, ocserv
#       and its tools, or a CMD the test needs (PACKAGE: where it comes
#       from); cleans up on exit; then ac_setup with stdin
#   ac_setup [ocserv.conf extra lines]  everything above, ocserv running; sets
#       WORK, PIN, SERVER (https://203.0.113.2:4443), OCS_PID
#   ac_connect NAME [args]  tunroom connect -b in namespace 1, device NAME,
#       pinned, password on stdin, no script; returns when it carries traffic
#   ac_show NAME KEY        one value of `tunroom show NAME --json`
#   ac_down NAME            tunroom down NAME
# Not again where the caller did (scripts/demo.sh): that would forget the
# namespaces and processes it made so far, and cleanup would leave them.
declare -F require_root >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRV=203.0.113.2
CLI=203.0.113.1
POOL_GW=198.19.77.1
PORT=4443
SERVER=https://$SRV:$PORT

require_ocserv() {
	command -v ocserv >/dev/null || skip "ocserv not installed (scripts/deps.sh check)"
	command -v certtool >/dev/null || skip "certtool not installed (gnutls-bin)"
	command -v ocpasswd >/dev/null || skip "ocpasswd not installed (ocserv)"
	command -v openssl >/dev/null || skip "openssl not installed" # ac_cert's pin
}

ac_begin() { # [CMD[:PACKAGE]]...; ocserv.conf extra lines on stdin
	local need pkg
	require_root
	require_tun
	require_ocserv
	for need in "$@"; do
		pkg=
		[[ $need == *:* ]] && pkg=" (${need#*:})"
		command -v "${need%%:*}" >/dev/null || skip "${need%%:*} not installed$pkg"
	done
	trap cleanup EXIT
	ac_setup
}

ac_write_conf() { # extra lines on stdin are appended
	cat >"$WORK/ocserv.conf" <<CONF
auth = "plain[passwd=$WORK/ocpasswd]"
listen-host = $SRV
tcp-port = $PORT
udp-port = $PORT
run-as-user = nobody
run-as-group = nogroup
socket-file = $WORK/ocserv.sock
server-cert = $WORK/cert.pem
server-key = $WORK/key.pem
isolate-workers = false
max-clients = 8
max-same-clients = 8
max-ban-score = 0
keepalive = 300
dpd = ${AC_DPD:-60}
mobile-dpd = 300
switch-to-tcp-timeout = 25
try-mtu-discovery = false
tls-priorities = "${AC_TLS_PRIO:-NORMAL:%SERVER_PRECEDENCE:%COMPAT:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1}"
auth-timeout = 240
cookie-timeout = 300
rekey-time = 172800
rekey-method = ssl
use-occtl = false
pid-file = $WORK/ocserv.pid
device = vpns
predictable-ips = true
ipv4-network = 198.19.77.0
ipv4-netmask = 255.255.255.0
ping-leases = false
cisco-client-compat = true
dtls-legacy = true
CONF
	cat >>"$WORK/ocserv.conf"
}

ac_start_ocserv() {
	bg 2 ocserv -f -d 2 -c "$WORK/ocserv.conf" >>"$WORK/ocserv.log" 2>&1
	OCS_PID=${TR_PIDS[-1]}
	wait_for 10 n2 bash -c "exec 3<>/dev/tcp/$SRV/$PORT" || die "ocserv did not start: $(tail -5 "$WORK/ocserv.log")"
}

ac_setup() {
	WORK=$(mktemp -d /tmp/tr-ac.XXXXXX)
	chmod 755 "$WORK"
	on_exit rm -rf "$WORK"
	ns_add 1
	ns_add 2
	ip link add "tr$$a" netns "$(ns_name 1)" type veth peer name "tr$$b" netns "$(ns_name 2)"
	n1 ip addr add $CLI/24 dev "tr$$a"
	n2 ip addr add $SRV/24 dev "tr$$b"
	n1 ip link set "tr$$a" up
	n2 ip link set "tr$$b" up
	ac_cert
	ac_write_conf
	ac_start_ocserv
	mkdir -p "$WORK/run"
}

# A self-signed certificate for $SRV, its pin in PIN, user1's password file.
ac_cert() {
	certtool --generate-privkey --key-type=ecdsa --outfile "$WORK/key.pem" 2>/dev/null
	printf 'cn = "vpn.test"\nip_address = "%s"\nexpiration_days = 3\ntls_www_server\nsigning_key\n' \
		$SRV >"$WORK/tmpl.cfg"
	certtool --generate-self-signed --load-privkey "$WORK/key.pem" --template "$WORK/tmpl.cfg" \
		--outfile "$WORK/cert.pem" 2>/dev/null
	printf 'secretpw\nsecretpw\n' | ocpasswd -c "$WORK/ocpasswd" user1 2>/dev/null
	PIN=$(openssl x509 -in "$WORK/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64)
}

tunroom1() { # tunroom in namespace 1 with the test's run directory
	ip netns exec "$(ns_name 1)" env TUNROOM_RUN_DIR="$WORK/run" "$TUNROOM" "$@"
}

ac_connect() { # NAME [extra args]
	local name=$1
	shift
	echo secretpw | tunroom1 connect -b --pid-file "$WORK/$name.pid" -i "$name" -s '' \
		--servercert "pin-sha256:$PIN" -u user1 --passwd-on-stdin "$@" "$SERVER" \
		2>>"$WORK/$name.log" || die "connect $name: $(cat "$WORK/$name.log")"
	TR_PIDS+=("$(cat "$WORK/$name.pid")")
}

ac_show() { # NAME KEY
	tunroom1 show "$1" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)[0]
k = sys.argv[1]
print(d.get(k, d.get("stats", {}).get(k, "")))' "$2"
}

ac_down() { tunroom1 down "$1"; }

# The tunnel address tunroom connect NAME got (without the prefix).
ac_addr() { ac_show "$1" address | cut -d/ -f1; }

ac_wait_state() { # NAME STATE SECONDS
	wait_for "$3" bash -c "[ \"\$(ip netns exec $(ns_name 1) env TUNROOM_RUN_DIR=$WORK/run \
		$TUNROOM show $1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"state\"])')\" = $2 ]"
}

# ac_tcp FROM TO ADDR: $WORK/data (AC_MB MiB) from namespace FROM to ADDR in
# namespace TO over TCP; the SHA-256 and length where it arrives must match.
ac_tcp() {
	local from=$1 to=$2 addr=$3 port=$((20000 + RANDOM % 10000)) pid got
	local py=$(dirname "${BASH_SOURCE[0]}")/tcpsha.py
	rm -f "$WORK/tcp.sum"
	bg "$to" python3 "$py" recv "$addr" "$port" "$WORK/tcp.sum"
	pid=${TR_PIDS[-1]}
	wait_for 5 nsexec "$to" bash -c "ss -ltn | grep -q ':$port '" || die "TCP receiver on $addr did not start"
	timeout 60 ip netns exec "$(ns_name "$from")" python3 "$py" send "$addr" "$port" "$WORK/data" ||
		die "TCP send $from -> $addr failed"
	wait "$pid" || die "TCP receiver on $addr failed"
	got=$(cat "$WORK/tcp.sum")
	[ "$got" = "$AC_SUM $((AC_MB << 20))" ] || die "TCP $from -> $addr: got '$got', sent '$AC_SUM $((AC_MB << 20))'"
}

ac_data() { # AC_MB MiB of random data in $WORK/data, AC_SUM its SHA-256
	AC_MB=${1:-10}
	head -c $((AC_MB << 20)) /dev/urandom >"$WORK/data"
	AC_SUM=$(sha256sum "$WORK/data" | cut -d' ' -f1)
}

# A zombie has exited; only its reaping (by init, for a daemon) is pending.
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat"; }
