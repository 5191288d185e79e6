/* SPDX-License-Identifier: MIT */
/*
 * The hostile peer of the ring fuzz targets: a small interpreter that turns
 * fuzz input into writes to one ring (its control block and slot headers)
 * through a second mapping of the memfd, as another process would, with the
 * victim's calls interleaved so indices can change between its reads.
 */
#ifndef TR_FUZZ_RING_OPS_H
#define TR_FUZZ_RING_OPS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunroom/ring_abi.h"

struct fz_in {
	const uint8_t *d;
	size_t n;
};

static inline uint32_t fz_take(struct fz_in *in, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->d++, in->n--)
		v |= (uint32_t)in->d[0] << (8 * i);
	return v;
}

/* The ring under attack, in the attacker's own mapping. */
struct fz_ring {
	struct tr_abi_ring *ctl;
	uint8_t *data;     /* capacity + slack bytes */
	uint32_t capacity, slack, head_room, tail_room, max_slot;
};

static inline void fz_ring_from(struct fz_ring *r, uint8_t *map, int ingress)
{
	const struct tr_abi_header *h = (const void *)map;
	const struct tr_abi_ring_desc *d = ingress ? &h->ingress : &h->egress;

	*r = (struct fz_ring){
		.ctl = (void *)(map + d->ctrl_offset), .data = map + d->data_offset,
		.capacity = d->capacity, .slack = d->slack, .head_room = h->head_room,
		.tail_room = h->tail_room, .max_slot = h->max_slot,
	};
}

/* Runs one attacker op (not a victim call). Returns 0 if the op byte asked
 * the caller for a victim call instead (op in *victim). */
static inline int fz_attack(struct fz_ring *r, struct fz_in *in, uint8_t op)
{
	uint32_t *fields[] = {
		&r->ctl->producer, &r->ctl->producer_waiting, &r->ctl->producer_closed,
		&r->ctl->consumer, &r->ctl->consumer_waiting, &r->ctl->consumer_closed,
	};
	struct tr_abi_slot s;
	uint32_t off, len, flags, size;

	switch (op % 8) {
	case 0: /* any control field, any value */
		*fields[fz_take(in, 1) % 6] = fz_take(in, 4);
		return 1;
	case 1: /* raw slot header anywhere aligned in the data area */
		off = fz_take(in, 4) % (r->capacity + r->slack - sizeof(s)) & ~15u;
		s.size = fz_take(in, 4);
		s.offset = fz_take(in, 4);
		s.length = fz_take(in, 4);
		s.flags = fz_take(in, 4);
		memcpy(r->data + off, &s, sizeof(s));
		return 1;
	case 2: /* a well-formed slot at the producer, published: reach deep states */
		len = fz_take(in, 2) % 2048 + 1;
		flags = fz_take(in, 1) & TR_SLOT_F_KNOWN;
		size = (16 + r->head_room + len + r->tail_room + 15) & ~15u;
		if (size > r->max_slot)
			return 1;
		off = r->ctl->producer & (r->capacity - 1);
		s = (struct tr_abi_slot){ size, r->head_room, len, flags };
		memcpy(r->data + off, &s, sizeof(s));
		__atomic_store_n(&r->ctl->producer, r->ctl->producer + size, __ATOMIC_RELEASE);
		return 1;
	case 3: /* nudge the producer by a small signed amount */
		r->ctl->producer += (uint32_t)(int16_t)fz_take(in, 2);
		return 1;
	default:
		return 0;
	}
}

#endif
