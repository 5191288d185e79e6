#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bounded UDP flood through a TUN-backed session, both ways, with sequence
# numbers: every packet delivered once and in order, or in a named drop
# counter (see tundevload.c).
#
#   namespace tr-$$-1
#   +-----------------------------------------------------------------+
#   | UDP 198.18.0.1:9100 --> [trlN] --> engine --> egress ring --> app |
#   | app --> ingress ring --> engine --> [trlN] --> UDP 198.18.0.1:9002 |
#   +-----------------------------------------------------------------+
#
# Usage: tundev-load.sh PATH/TO/tundevload
source "$(dirname "$0")/lib.sh"
TUNDEVLOAD=${1:?usage: tundev-load.sh PATH/TO/tundevload}

require_root
require_tun
trap cleanup EXIT
ns_add 1
n1 timeout 40 "$TUNDEVLOAD" 20000
echo "ok"
