/* SPDX-License-Identifier: MIT */
/* Ring mapping layout: computed from a config by the creator, re-derived and
 * compared by whoever attaches, so a header can only describe our layout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/api.h"
#include "lib/barrier.h"
#include "lib/layout.h"
#include "lib/ring.h"

static uint64_t page_align(uint64_t x)
{
	return (x + TR_ABI_PAGE - 1) & ~(uint64_t)(TR_ABI_PAGE - 1);
}

TR_API int tr_session_config_check(const struct tr_session_config *cfg)
{
	struct tr_layout l;

	return tr_layout_compute(cfg, &l);
}

int tr_layout_compute(const struct tr_session_config *cfg, struct tr_layout *l)
{
	if (!cfg || cfg->flags & ~(uint32_t)(TR_SESSION_F_THREADSAFE | TR_SESSION_F_INLINE))
		return -EINVAL;
	uint32_t cap = cfg->capacity ? cfg->capacity : TR_SESSION_CAPACITY_DEFAULT;
	uint32_t maxp = cfg->max_packet ? cfg->max_packet : TR_SESSION_MAX_PACKET_DEFAULT;

	if (cap & (cap - 1))
		return -EINVAL;
	if (cap < TR_ABI_CAPACITY_MIN || cap > TR_ABI_CAPACITY_MAX ||
	    cfg->head_room > TR_ABI_ROOM_MAX || cfg->tail_room > TR_ABI_ROOM_MAX ||
	    maxp < TR_ABI_PACKET_MIN || maxp > TR_ABI_PACKET_MAX)
		return -ERANGE;
	*l = (struct tr_layout){
		.capacity = cap, .head_room = cfg->head_room, .tail_room = cfg->tail_room,
		.max_packet = maxp,
		.max_slot = TR_ALIGN(TR_SLOT_HDR + cfg->head_room + maxp + cfg->tail_room),
	};
	/* One largest slot must fit, or the device could never take a packet. */
	if (l->max_slot > cap)
		return -ERANGE;
	l->slack = l->max_slot;
	l->egress_data = TR_ABI_DATA_START;
	l->ingress_data = l->egress_data + page_align((uint64_t)cap + l->slack);
	l->map_size = l->ingress_data + page_align((uint64_t)cap + l->slack);
	return 0;
}

static void fill_header(const struct tr_layout *l, struct tr_abi_header *h)
{
	*h = (struct tr_abi_header){
		.magic = TR_ABI_MAGIC, .abi_version = TR_ABI_VERSION,
		.header_size = sizeof(*h), .map_size = l->map_size,
		.head_room = l->head_room, .tail_room = l->tail_room,
		.max_packet = l->max_packet, .max_slot = l->max_slot,
		.egress = { l->capacity, l->slack, TR_ABI_EGRESS_CTRL, l->egress_data },
		.ingress = { l->capacity, l->slack, TR_ABI_INGRESS_CTRL, l->ingress_data },
	};
}

void tr_layout_write(const struct tr_layout *l, void *mem)
{
	memset(mem, 0, TR_ABI_DATA_START);
	fill_header(l, mem);
}

static int desc_equal(const struct tr_abi_ring_desc *a, const struct tr_abi_ring_desc *b)
{
	return a->capacity == b->capacity && a->slack == b->slack &&
	       a->ctrl_offset == b->ctrl_offset && a->data_offset == b->data_offset;
}

int tr_layout_check(const void *mem, uint64_t map_size, struct tr_layout *l)
{
	struct tr_abi_header shm_h;

	if (map_size < TR_ABI_DATA_START)
		return -EPROTO;
	/* One snapshot; from here on only the local copy is used. */
	tr_smp_rmb();
	memcpy(&shm_h, mem, sizeof(shm_h));
	if (shm_h.magic != TR_ABI_MAGIC || shm_h.abi_version != TR_ABI_VERSION)
		return -EPROTONOSUPPORT;
	if (shm_h.header_size != sizeof(shm_h) || shm_h.flags || shm_h.map_size != map_size ||
	    shm_h.egress.capacity != shm_h.ingress.capacity)
		return -EPROTO;

	struct tr_session_config cfg = {
		.capacity = shm_h.egress.capacity, .head_room = shm_h.head_room,
		.tail_room = shm_h.tail_room, .max_packet = shm_h.max_packet,
	};
	/* Capacity 0 would mean "default" to the computation: refuse it. */
	if (!cfg.capacity || !cfg.max_packet || tr_layout_compute(&cfg, l))
		return -EPROTO;

	struct tr_abi_header want;
	fill_header(l, &want);
	if (shm_h.max_slot != want.max_slot || !desc_equal(&shm_h.egress, &want.egress) ||
	    !desc_equal(&shm_h.ingress, &want.ingress))
		return -EPROTO;
	return 0;
}

TR_API int tr_abi_describe(const void *mem, uint64_t map_size, char *buf, size_t len)
{
	struct tr_layout l;
	int err = tr_layout_check(mem, map_size, &l);
	const struct tr_abi_header *h = mem;

	if (err == -EPROTONOSUPPORT)
		snprintf(buf, len, "ring ABI mismatch: memory has magic 0x%016llx version %u, "
			 "this library speaks magic 0x%016llx version %u",
			 (unsigned long long)tr_load_once(&h->magic),
			 tr_load_once(&h->abi_version),
			 (unsigned long long)TR_ABI_MAGIC, TR_ABI_VERSION);
	else if (err)
		snprintf(buf, len, "ring header inconsistent with a %llu-byte mapping",
			 (unsigned long long)map_size);
	else
		snprintf(buf, len, "ring ABI version %u, capacity %u, head_room %u, "
			 "tail_room %u, max_packet %u", TR_ABI_VERSION, l.capacity,
			 l.head_room, l.tail_room, l.max_packet);
	return err;
}
