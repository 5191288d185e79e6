#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sessions on the TUN device backend, end to end through the kernel: echo
# requests committed to the ingress ring, the kernel's replies received from
# the egress ring (see tundevtest.c for the cases).
#
#   namespace tr-$$-1
#   +-------------------------------------------------------------------+
#   | tundevtest: tr_tx_commit --> ingress ring --> engine --> [trsN]   |
#   |             tr_rx_receive <-- egress ring <-- engine <--  stack    |
#   | trsN: 198.18.0.1/24, fd00::1/64; requests from 198.18.0.2, fd00::2 |
#   +-------------------------------------------------------------------+
#
# Usage: tundev-echo.sh PATH/TO/tundevtest
source "$(dirname "$0")/lib.sh"
TUNDEVTEST=${1:?usage: tundev-echo.sh PATH/TO/tundevtest}

require_root
require_tun
trap cleanup EXIT
ns_add 1
n1 timeout 25 "$TUNDEVTEST"
echo "ok"
