/* SPDX-License-Identifier: MIT */
/*
 * One side's private state for one SPSC ring of variable-size slots, and the
 * index math both sides share. Whoever calls these may be the producer or the
 * consumer of the ring; the shared control block is touched only here.
 */
#ifndef TR_LIB_RING_H
#define TR_LIB_RING_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/barrier.h"
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

/* The per-packet steps (index_of, prod_alloc, cons_peek) are inline: as
 * calls into ring.c they cost the ring benchmark's consumer 152 and its
 * producer 136 instructions per 64-byte packet, inline 130 and 116
 * (callgrind, docs/benchmarks.md "Ring"). The checks are the same. */

/* The free-running index of a slot pointer known to lie in [from, from + span),
 * or -1 if it does not, or is not a slot start. */
static inline int64_t tr_ring_index_of(const struct tr_ring *r, const void *slot, uint32_t from,
				       uint32_t span)
{
	uintptr_t p = (uintptr_t)slot, base = (uintptr_t)r->data;

	if (p < base || p >= base + r->capacity || (p - base) % TR_ABI_SLOT_ALIGN)
		return -1;
	uint32_t delta = ((uint32_t)(p - base) - (from & r->mask)) & r->mask;
	if (delta >= span)
		return -1;
	return (uint32_t)(from + delta);
}

/* Producer: claim size bytes (a multiple of TR_ABI_SLOT_ALIGN) at head.
 * Returns 0, -EAGAIN (no space), -EPROTO (consumer index out of bounds). */
static inline int tr_ring_prod_alloc(struct tr_ring *r, uint32_t size, struct tr_abi_slot **slot)
{
	if (size > r->capacity - (r->head - r->cons_seen)) {
		/* Pairs with the consumer's store-release in tr_ring_cons_publish:
		 * once we see the index, it has stopped reading those slots. */
		uint32_t shm_cons = tr_load_acquire(&r->ctl->consumer);

		/* The consumer only moves forward, never past what we published. */
		if (shm_cons - r->cons_seen > r->pub - r->cons_seen)
			return -EPROTO;
		r->cons_seen = shm_cons;
		if (size > r->capacity - (r->head - shm_cons))
			return -EAGAIN;
	}
	/* A slot starts below capacity and is at most max_slot long: it ends
	 * inside the slack, so it never wraps. */
	*slot = tr_ring_slot_at(r, r->head);
	r->head += size;
	return 0;
}
/* Producer: move pub over every committed slot after it (stops at BUSY).
 * Returns how many slots were passed, or -EPROTO. Does not store the index. */
int tr_ring_prod_advance(struct tr_ring *r);
/* Producer: store pub for the consumer and wake it if it sleeps. */
void tr_ring_prod_publish(struct tr_ring *r);

/* Slots ahead of tail the consumer asks the cache for (tr_ring_cons_peek). */
#define TR_RING_PREFETCH 4

/* Consumer: check the slot at tail. Returns 1 with *d filled, 0 if the ring
 * is empty, -EPROTO if the producer index or the slot header is out of bounds. */
static inline int tr_ring_cons_peek(struct tr_ring *r, struct tr_slot_desc *d)
{
	if (r->tail == r->prod_seen) {
		/* Pairs with the producer's store-release in tr_ring_prod_publish. */
		uint32_t shm_prod = tr_load_acquire(&r->ctl->producer);

		/* Forward only, and never more than capacity ahead of rel. */
		if (shm_prod - r->rel > r->capacity ||
		    shm_prod - r->rel < r->prod_seen - r->rel)
			return -EPROTO;
		r->prod_seen = shm_prod;
		if (r->tail == shm_prod)
			return 0;
	}

	struct tr_abi_slot *s = tr_ring_slot_at(r, r->tail);
	uint32_t shm_size = tr_load_once(&s->size);
	uint32_t shm_offset = tr_load_once(&s->offset);
	uint32_t shm_length = tr_load_once(&s->length);
	uint32_t shm_flags = tr_load_once(&s->flags);

	if (shm_size < TR_SLOT_HDR || shm_size % TR_ABI_SLOT_ALIGN ||
	    shm_size > r->max_slot || shm_size > r->prod_seen - r->tail)
		return -EPROTO;
	if ((uint64_t)shm_offset + shm_length > shm_size - TR_SLOT_HDR)
		return -EPROTO;
	if (shm_flags & ~(uint32_t)TR_SLOT_F_KNOWN ||
	    shm_flags & (TR_SLOT_F_BUSY | TR_SLOT_F_RELEASED))
		return -EPROTO;
	*d = (struct tr_slot_desc){
		.slot = s, .size = shm_size, .offset = shm_offset,
		.length = shm_length, .flags = shm_flags,
	};
	return 1;
}
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
