#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Liveness: PersistentKeepalive = 1 on both ends. Idle, each sends an
# authentic keepalive every second (tx_control), the other takes them
# (rx_control), and show says the peer is alive
# with latest_rx at most 1 s. Once a is stopped (SIGSTOP), b says silent
# after 3 intervals. Then inner-source filtering: a packet a's kernel sends
# with a source outside b's PeerAddresses is dropped (rx_drop_source).
# Last, with a down, b's refused keepalives do not make it spin.
# usage: tunnel-liveness.sh TUNROOM
TUNROOM=$1
source "$(dirname "$0")/tunnel-lib.sh"

topology
keys aes128-gcm
conf a "PersistentKeepalive = 1"
conf b "PersistentKeepalive = 1"
up a
up b
n1 ping -c 1 -W 2 198.18.0.2 >/dev/null || die "tunnel does not work"
ctl0=$(counter b rx_control)
sleep 2.5
[ $(( $(counter b rx_control) - ctl0 )) -ge 2 ] || { diag; die "b took $(( $(counter b rx_control) - ctl0 )) keepalives in 2.5 idle seconds, want >= 2"; }
[ "$(counter a tx_control)" -ge 2 ] || { diag; die "a sent no keepalives"; }
[ "$(counter b peer)" = alive ] || { diag; die "b says the peer is '$(counter b peer)'"; }
[ "$(counter b latest_rx)" -le 1 ] || die "b: latest_rx $(counter b latest_rx) s with keepalives every second"
grep -q "peer alive" <<<"$(show b)" || die "show's text lacks 'peer alive': $(show b)"
pretty "idle: b took $(( $(counter b rx_control) - ctl0 )) keepalives, peer alive, latest_rx $(counter b latest_rx) s"

kill -STOP "$UP_PID_a"
silent() { [ "$(counter b peer)" = silent ]; }
wait_for 6 silent || { kill -CONT "$UP_PID_a"; diag; die "b still says '$(counter b peer)' 6 s after a stopped"; }
pretty "a stopped: b says silent after $(counter b latest_rx) s"
kill -CONT "$UP_PID_a"
alive() { [ "$(counter b peer)" = alive ]; }
wait_for 3 alive || die "b does not say alive again after a resumed"

pretty "inner source outside PeerAddresses: dropped and counted on b"
src0=$(counter b rx_drop_source)
n1 ip addr add 198.18.7.1/32 dev tr0
n1 ping -c 3 -i 0.2 -W 1 -I 198.18.7.1 198.18.0.2 >/dev/null 2>&1 && die "a spoofed source got an answer"
[ $(( $(counter b rx_drop_source) - src0 )) -ge 3 ] || { diag; die "rx_drop_source rose by $(( $(counter b rx_drop_source) - src0 )), want 3"; }
n1 ping -c 1 -W 1 198.18.0.2 >/dev/null || die "the tunnel address itself is dropped"

# a gone: b's keepalives draw ICMP port unreachable, which IP_RECVERR queues on
# b's socket (POLLERR until a receive drains it). b must sleep between them,
# not poll in a loop: idle, its worker sleeps a few times a second (its
# keepalive retries, 200 ms apart while they fail), a loop on POLLERR
# hundreds of thousands.
pretty "a down: b's keepalives are refused; b still sleeps"
down a
unr0=$(counter b tx_err_unreachable)
sl0=$(counter b ring_sleeps)
sleep 2.5
unr=$(( $(counter b tx_err_unreachable) - unr0 ))
sl=$(( $(counter b ring_sleeps) - sl0 ))
[ "$unr" -ge 1 ] || { diag; die "no ICMP error counted in 2.5 s of keepalives to a closed port"; }
[ "$sl" -le 1000 ] || { diag; die "b's worker went to sleep $sl times in 2.5 idle seconds (a loop on the socket's POLLERR?)"; }
pretty "b: $unr ICMP errors, $sl sleeps in 2.5 s"
pretty "PASS"
