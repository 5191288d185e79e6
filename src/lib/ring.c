/* SPDX-License-Identifier: MIT */
/*
 * Index math, publish/consume and the sleep/wake handshake of one ring. All
 * atomics on ring memory live here and in barrier.h. Every value read from
 * the shared control block or a slot header is read once into a shm_ local
 * and checked before use: the peer may be another, hostile, process.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/barrier.h"
#include "lib/ring.h"

void tr_ring_init(struct tr_ring *r, struct tr_abi_ring *ctl, uint8_t *data,
		  uint32_t capacity, uint32_t max_slot, int peer_evt)
{
	*r = (struct tr_ring){
		.ctl = ctl, .data = data, .capacity = capacity, .mask = capacity - 1,
		.max_slot = max_slot, .peer_evt = peer_evt,
	};
	/* Start where the shared indices are (0 for a fresh mapping). Only
	 * the creator initialises the control block; a late attacher trusts
	 * nothing but checks these again on first use. */
	r->head = r->pub = r->cons_seen = tr_load_acquire(&ctl->producer);
	r->tail = r->rel = r->prod_seen = tr_load_acquire(&ctl->consumer);
}

/* Doorbells are the two ends of a datagram socketpair, one end per side
 * (docs/ring-abi.md, "Sleep and wake-up"). Neither side's flags can make
 * the other block: every call here is MSG_DONTWAIT, whatever O_NONBLOCK
 * the peer set on its own end. */
void tr_evt_signal(int fd)
{
	char one = 1;
	/* EAGAIN: the peer's queue is full, so it polls readable anyway.
	 * ECONNREFUSED/EPIPE: it closed its end and needs no wake-up. */
	ssize_t n = send(fd, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)n;
}

void tr_evt_drain(int fd)
{
	char buf[TR_EVT_DRAIN_MAX];
	struct iovec iov[TR_EVT_DRAIN_MAX];
	struct mmsghdr m[TR_EVT_DRAIN_MAX];

	/* Up to TR_EVT_DRAIN_MAX pending wake-ups in one call (an eventfd read
	 * took one too), no more: a peer that floods its end cannot keep us
	 * here, and what is left wakes us again. Each is one byte; a longer
	 * one is cut (MSG_TRUNC), which is all the same to a doorbell. */
	for (int i = 0; i < TR_EVT_DRAIN_MAX; i++) {
		iov[i] = (struct iovec){ &buf[i], 1 };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	int n = recvmmsg(fd, m, TR_EVT_DRAIN_MAX, MSG_DONTWAIT, NULL);
	(void)n;
}

int tr_evt_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0
		       ? -errno : 0;
}

int tr_ring_prod_advance(struct tr_ring *r)
{
	int n = 0;

	while (r->pub != r->head) {
		struct tr_abi_slot *s = tr_ring_slot_at(r, r->pub);
		uint32_t shm_flags = tr_load_once(&s->flags);
		uint32_t shm_size = tr_load_once(&s->size);

		if (shm_flags & TR_SLOT_F_BUSY)
			break;
		/* We wrote this size ourselves, but it sits in shared memory. */
		if (shm_size < TR_SLOT_HDR || shm_size % TR_ABI_SLOT_ALIGN ||
		    shm_size > r->head - r->pub)
			return -EPROTO;
		r->pub += shm_size;
		n++;
	}
	return n;
}

void tr_ring_prod_publish(struct tr_ring *r)
{
	/* Pairs with the consumer's load-acquire of producer in
	 * tr_ring_cons_peek: slot headers and data written before this store
	 * are visible to it. */
	tr_store_release(&r->ctl->producer, r->pub);
	/* Orders the store above before the load of consumer_waiting; pairs
	 * with the barrier in tr_ring_cons_arm. Either the consumer sees our
	 * index on its re-check, or we see its flag here: no lost wake-up. */
	tr_smp_mb();
	if (tr_load_once(&r->ctl->consumer_waiting) &&
	    tr_xchg(&r->ctl->consumer_waiting, 0)) {
		tr_evt_signal(r->peer_evt);
		tr_stat_add(&r->wakeups, 1);
	}
}

void tr_ring_cons_publish(struct tr_ring *r)
{
	/* Pairs with the producer's load-acquire in tr_ring_prod_alloc: our
	 * reads of the released slots are done before it may reuse them. */
	tr_store_release(&r->ctl->consumer, r->rel);
	/* Same handshake as tr_ring_prod_publish, for a producer that waits
	 * for space; pairs with the barrier in tr_ring_prod_arm. */
	tr_smp_mb();
	if (tr_load_once(&r->ctl->producer_waiting) &&
	    tr_xchg(&r->ctl->producer_waiting, 0)) {
		tr_evt_signal(r->peer_evt);
		tr_stat_add(&r->wakeups, 1);
	}
}

bool tr_ring_cons_arm(struct tr_ring *r)
{
	tr_store_once(&r->ctl->consumer_waiting, 1);
	tr_smp_mb(); /* pairs with the barrier in tr_ring_prod_publish */
	return tr_load_acquire(&r->ctl->producer) != r->tail ||
	       tr_load_once(&r->ctl->producer_closed);
}

bool tr_ring_prod_arm(struct tr_ring *r)
{
	tr_store_once(&r->ctl->producer_waiting, 1);
	tr_smp_mb(); /* pairs with the barrier in tr_ring_cons_publish */
	return tr_load_acquire(&r->ctl->consumer) != r->cons_seen ||
	       tr_load_once(&r->ctl->consumer_closed);
}

void tr_ring_cons_disarm(struct tr_ring *r)
{
	tr_store_once(&r->ctl->consumer_waiting, 0);
}

void tr_ring_prod_disarm(struct tr_ring *r)
{
	tr_store_once(&r->ctl->producer_waiting, 0);
}

uint32_t tr_ring_peer_closed(const struct tr_ring *r, bool we_produce)
{
	return we_produce ? tr_load_once(&r->ctl->consumer_closed)
			  : tr_load_once(&r->ctl->producer_closed);
}
