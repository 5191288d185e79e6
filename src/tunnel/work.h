/* SPDX-License-Identifier: MIT */
/*
 * Internal: one step of each worker, for the loops that drive them. A
 * queue's two threads each loop over their own step (tx.c, rx.c); with
 * Workers = 1 one thread loops over both (solo.c). A step does one burst
 * and returns at once; the work areas hold what a burst needs, so that no
 * step allocates.
 */
#ifndef TR_TUNNEL_WORK_H
#define TR_TUNNEL_WORK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "tunnel/dataplane.h"

#define GRO_MAX_SLOTS (2 * TR_TUNNEL_GRO_SLOTS) /* the offered ones + slow-path extras */
/* Back-to-back receives of one lone datagram each before the layout turns
 * to two slots per message (the peer does not coalesce, e.g. Offload = off,
 * or sends runs of one or two). */
#define GRO_SINGLES_STREAK 16
/* ... and before it stops peeking at what comes next. */
#define GRO_PEEK_STREAK 4
/* Quiet on the socket, in ms, that ends the lone-datagram layout: longer
 * than the gaps between one worker's bursts under load, short enough that
 * a flow waking from idle finds batch slots (the next receive peeks). */
#define GRO_QUIET_MS 2
/* That layout offers this many messages of two slots each: few enough that
 * batches coming without a pause before them (a sender that sent runs of
 * one, then of 2, 4, 8, 16, 20 datagrams, all queued while the one worker
 * was busy sending) miss their slots in a few messages, not a whole round
 * of them, before the layout turns back to batches. After a pause
 * (GRO_QUIET_MS) they find batch slots. */
#define GRO_SINGLES_MSGS 8

/* One receive round with UDP_GRO: the slots, and which hold a datagram. */
struct tr_gro_round {
	struct tr_pkt slot[GRO_MAX_SLOTS];
	bool full[GRO_MAX_SLOTS];
	uint8_t src[GRO_MAX_SLOTS];     /* 0: from the peer; i + 1: from message i's other source */
	unsigned n;                     /* slots allocated (offered + extras) */
	uint32_t piece;                 /* bytes offered per slot */
	struct iovec iov[2 * TR_TUNNEL_GRO_SLOTS];
	struct tr_udp_msg msg[TR_TUNNEL_GRO_SLOTS];
	unsigned first[TR_TUNNEL_GRO_SLOTS], pieces[TR_TUNNEL_GRO_SLOTS];
	bool in_step;                   /* a batch landed in place: G is right */
};

struct tr_rx_work;

/* The egress worker's burst. */
struct tr_tx_work {
	struct tr_pkt pkts[TR_TUNNEL_GSO_BURST];
	struct iovec iov[TR_TUNNEL_GSO_BURST];
	uint32_t roam_seen[TR_CONFIG_QUEUES_MAX]; /* the roam_gen of each queue last taken */
	/* Workers = 1: the receive this thread also serves while the socket
	 * cannot take a burst; rx_moved says it received there (the solo
	 * loop then looks at the socket again soon). NULL: a thread of its own
	 * receives. */
	struct tr_rx_work *rx;
	bool rx_moved;
};

/* The ingress worker's burst, either kind. */
struct tr_rx_work {
	struct tr_pkt pkts[TR_TUNNEL_BURST], good[TR_TUNNEL_BURST];
	struct iovec iov[TR_TUNNEL_BURST];
	struct tr_udp_msg m[TR_TUNNEL_BURST];
	struct tr_gro_round r; /* Offload = on */
	bool peek;             /* MSG_PEEK before the next GRO round */
	uint64_t quiet_ms;     /* lone-datagram layout: when the socket was first found empty, or 0 */
};

/* One burst OS -> wire (control datagrams and keepalives due first).
 * Returns packets taken from the ring (0: none waited), or a negative error
 * that stops the tunnel. */
int tr_tunnel_tx_step(struct tr_tunnel *t, struct tr_tx_work *w);

/* Idle, a worker sleeps until its next timer, the keepalive (tx_turn), or
 * a wake-up (tr_session_wake: control datagrams, roaming, stop; data), and
 * at most TR_TUNNEL_IDLE_MS: a wake-up lost somewhere costs that long. */
#define TR_TUNNEL_IDLE_MS 5000
#define TR_TUNNEL_RETRY_MS 200 /* a keepalive that could not go: again after this */
#define TR_TUNNEL_SLACK_MS 10  /* CLOCK_MONOTONIC_COARSE lags up to a tick */
/* How long the send step may sleep now: after it found nothing to send. */
int tr_tunnel_tx_idle_ms(const struct tr_tunnel *t);

void tr_tunnel_rx_work_init(struct tr_rx_work *w);
/* One receive wire -> OS. Returns datagrams received (0: none waited),
 * -EAGAIN if the ingress ring had no slot, or another negative error that
 * stops the tunnel. */
int tr_tunnel_rx_step(struct tr_tunnel *t, struct tr_rx_work *w);

/* Workers = 1: one thread per queue running both steps (solo.c). */
void *tr_tunnel_solo_main(void *arg);

#endif
