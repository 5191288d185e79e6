#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A TUN device set up through our own netlink code, checked with ip(8), and
# pinged through it: echo requests written to the TUN descriptor, the
# kernel's echo replies read back, IPv4 and IPv6, io_uring and plain I/O.
#
#   namespace tr-$$-1
#   +--------------------------------------------------------------+
#   |  tuntest --write 198.18.0.2 -> 198.18.0.1 --> [trN] --> stack  |
#   |          <--- echo reply 198.18.0.1 -> 198.18.0.2 <---         |
#   |  trN: 198.18.0.1/24, fd00::1/64, MTU 1380                    |
#   +--------------------------------------------------------------+
#
# Usage: tun-echo.sh PATH/TO/tuntest
source "$(dirname "$0")/lib.sh"
TUNTEST=${1:?usage: tun-echo.sh PATH/TO/tuntest}

require_root
require_tun
trap cleanup EXIT
ns_add 1

# The template name is expanded by the kernel; tuntest prints the result.
dev=$(n1 "$TUNTEST" create 'tr%d' 1380 198.18.0.1/24 fd00::1/64)
[ -n "$dev" ] || die "no device name"

json_check() { # what, python expression over j (the parsed JSON)
	python3 -c 'import json, sys; j = json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$2" ||
		die "$1"
}
n1 ip -j link show dev "$dev" | json_check "link: MTU 1380, up" \
	'j[0]["mtu"] == 1380 and "UP" in j[0]["flags"] and j[0]["link_type"] == "none"'
n1 ip -j addr show dev "$dev" | json_check "addresses" \
	'{(a["local"], a["prefixlen"]) for a in j[0]["addr_info"]} >= {("198.18.0.1", 24), ("fd00::1", 64)}'
# NODAD: the IPv6 address is usable at once, not tentative.
n1 ip -j addr show dev "$dev" | json_check "fd00::1 not tentative" \
	'not any(a.get("tentative") for a in j[0]["addr_info"] if a["local"] == "fd00::1")'

for backend in uring plain; do
	n1 "$TUNTEST" echo "$dev" "$backend" 198.18.0.2 198.18.0.1 fd00::2 fd00::1
done

n1 "$TUNTEST" delete "$dev"
if n1 ip link show dev "$dev" 2>/dev/null; then die "$dev still exists"; fi
echo "ok"
