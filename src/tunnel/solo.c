/* SPDX-License-Identifier: MIT */
/*
 * Workers = 1: one thread per queue does both directions, as OpenVPN and
 * openconnect do, but in bursts and in place. With the session run to
 * completion (Inline = on) a packet then never changes threads inside the
 * tunnel: a datagram read, decrypted and written to TUN, and whatever the
 * kernel answers at once (a TCP ACK, an echo reply from this host) is read
 * back and sent by the same thread without a wake-up.
 *
 * The loop runs each step while it makes progress and sleeps when neither
 * does, in one tr_rx_wait_fds: on the TUN queue, tr_session_wake (upkeep's
 * hellos), the socket and stop. After a receive that delivered packets
 * the send step runs once more even if TUN did not say so: what the kernel
 * answered inside the write is already queued. While the socket cannot
 * take a burst the send step waits for it, and receives meanwhile
 * (tx.c's wait_writable): a path slower than TUN would otherwise hold the
 * receive back for as long as sending stays blocked.
 */
#include <errno.h>
#include <poll.h>

#include "lib/barrier.h"
#include "tunnel/dataplane.h"
#include "tunnel/work.h"

/* While TUN keeps the send step busy the loop never polls, so a socket
 * that became readable meanwhile would wait until TUN ran dry: after this
 * many sending bursts in a row, one receive looks anyway. */
#define SOLO_TX_STREAK 16

void *tr_tunnel_solo_main(void *arg)
{
	struct tr_tunnel *t = arg;
	struct tr_tx_work tw = { 0 };
	struct tr_rx_work rw;
	bool tx_ready = true, rx_ready = true, pollerr = false;
	unsigned tx_streak = 0;
	int err = 0;

	tr_tunnel_rx_work_init(&rw);
	tw.rx = &rw;
	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		bool moved = false;

		if (tx_ready) {
			int n = tr_tunnel_tx_step(t, &tw);

			if (n < 0) {
				err = n;
				break;
			}
			tx_ready = n > 0;
			moved |= n > 0;
			if (tw.rx_moved) {
				/* it received while the socket was full: more may wait */
				tw.rx_moved = false;
				rx_ready = true;
				tx_streak = 0;
			} else if (n > 0 && !rx_ready && ++tx_streak >= SOLO_TX_STREAK) {
				rx_ready = true;
			}
		}
		if (rx_ready) {
			int c = tr_tunnel_rx_step(t, &rw);

			if (c < 0 && c != -EAGAIN) {
				err = c;
				break;
			}
			/* POLLERR and nothing received: an ICMP error a send
			 * already reported (udp.h). */
			if (pollerr && c == 0)
				tr_udp_drain_errors(&t->udp);
			pollerr = false;
			/* -EAGAIN: no ingress slot. Run to completion frees
			 * them inside each commit, so only a burst of abandoned
			 * slots can leave the ring full: look again soon. */
			rx_ready = c != 0;
			tx_streak = 0;
			if (c > 0) {
				moved = true;
				tx_ready = true; /* answers the kernel queued inside the write */
			}
		}
		if (moved)
			continue;
		struct pollfd pfd[2] = {
			{ .fd = t->udp.fd, .events = POLLIN },
			{ .fd = t->stop_evt, .events = POLLIN },
		};
		/* Idle: until tx_turn's next timer (a keepalive), as the
		 * two-thread loop's tr_rx_wait does. */
		int r = tr_rx_wait_fds(t->s, pfd, 2, rx_ready ? 1 : tr_tunnel_tx_idle_ms(t));

		if (r < 0) {
			err = r;
			break;
		}
		/* POLLERR: an ICMP error (IP_RECVERR) waits on the socket. A
		 * receive reports and drains it, or, if a send took the error
		 * first, the drain after an empty receive does; until then every
		 * poll returns at once and the loop would spin. */
		rx_ready |= (pfd[0].revents & (POLLIN | POLLERR)) != 0;
		pollerr = (pfd[0].revents & POLLERR) != 0;
		/* The send step also runs its timers (keepalives) and what the
		 * control thread asked for: after a wake-up and a timeout too. */
		tx_ready = r > 0 || !(pfd[0].revents | pfd[1].revents);
	}
	if (err)
		tr_tunnel_request_stop(t, err);
	return NULL;
}
