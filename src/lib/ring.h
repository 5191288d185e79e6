/* SPDX-License-Identifier: MIT */
/*
 * One side's private state for one SPSC ring of variable-size slots, and the
 * index math both sides share. Whoever calls these may be the producer or the
 * consumer of the ring; the shared control block is touched only here.
 */
#ifndef TR_LIB_RING_H
#define TR_LIB_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "tunroom/ring_abi.h"

#define TR_ALIGN(x) (((x) + TR_ABI_SLOT_ALIGN - 1) & ~(uint32_t)(TR_ABI_SLOT_ALIGN - 1))
#define TR_SLOT_HDR ((uint32_t)sizeof(struct tr_abi_slot))

struct tr_ring {
	struct tr_abi_ring *ctl; /* shared control block */
	uint8_t *data;           /* shared data area: capacity + slack bytes */
	uint32_t capacity;
	uint32_t mask;
	uint32_t max_slot;
	int peer_evt;            /* our doorbell end: a signal on it wakes the other side */

	/* Producer role. head runs ahead of pub while slots are allocated but
	 * not yet committed; cons_seen caches the peer's consumer index. */
	uint32_t head;
	uint32_t pub;
	uint32_t cons_seen;

	/* Consumer role. tail runs ahead of rel while slots are held by the
	 * application; prod_seen caches the peer's producer index. */
	uint32_t tail;
	uint32_t rel;
	uint32_t prod_seen;

	uint64_t wakeups; /* doorbell rings to the peer */
};

/* A slot header as read once from shared memory and checked. */
struct tr_slot_desc {
	struct tr_abi_slot *slot;
	uint32_t size, offset, length, flags;
};

void tr_ring_init(struct tr_ring *r, struct tr_abi_ring *ctl, uint8_t *data,
		  uint32_t capacity, uint32_t max_slot, int peer_evt);

static inline struct tr_abi_slot *tr_ring_slot_at(const struct tr_ring *r, uint32_t idx)
{
	return (struct tr_abi_slot *)(r->data + (idx & r->mask));
}

/* The free-running index of a slot pointer known to lie in [from, from + span),
 * or -1 if it does not, or is not a slot start. */
int64_t tr_ring_index_of(const struct tr_ring *r, const void *slot, uint32_t from,
			 uint32_t span);

/* Producer: claim size bytes (a multiple of TR_ABI_SLOT_ALIGN) at head.
 * Returns 0, -EAGAIN (no space), -EPROTO (consumer index out of bounds). */
int tr_ring_prod_alloc(struct tr_ring *r, uint32_t size, struct tr_abi_slot **slot);
/* Producer: move pub over every committed slot after it (stops at BUSY).
 * Returns how many slots were passed, or -EPROTO. Does not store the index. */
int tr_ring_prod_advance(struct tr_ring *r);
/* Producer: store pub for the consumer and wake it if it sleeps. */
void tr_ring_prod_publish(struct tr_ring *r);

/* Consumer: check the slot at tail. Returns 1 with *d filled, 0 if the ring
 * is empty, -EPROTO if the producer index or the slot header is out of bounds. */
int tr_ring_cons_peek(struct tr_ring *r, struct tr_slot_desc *d);
/* Consumer: store rel for the producer and wake it if it waits for space. */
void tr_ring_cons_publish(struct tr_ring *r);

/* Sleep handshake (docs/ring-abi.md rule 7). arm: announce, full barrier, re-check;
 * returns true if the condition already holds (do not sleep). */
bool tr_ring_cons_arm(struct tr_ring *r);
bool tr_ring_prod_arm(struct tr_ring *r);
void tr_ring_cons_disarm(struct tr_ring *r);
void tr_ring_prod_disarm(struct tr_ring *r);

/* The peer said it stopped (positive errno), 0 while it runs. */
uint32_t tr_ring_peer_closed(const struct tr_ring *r, bool we_produce);

/* Doorbells (ring.c): signal never blocks, drain reads at most
 * TR_EVT_DRAIN_MAX pending wake-ups. tr_evt_pair makes the two ends. */
#define TR_EVT_DRAIN_MAX 64
void tr_evt_signal(int fd);
void tr_evt_drain(int fd);
int tr_evt_pair(int fds[2]);

#endif
