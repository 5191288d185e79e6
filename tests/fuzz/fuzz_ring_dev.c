/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes ring validation from the device side: a fresh port per input, no
 * application attached; the input drives a hostile application (ring_ops.h)
 * that scribbles the ingress ring's control block, slot headers and indices
 * between the port's tr_port_ingress_peek/done/flush calls. Every slot the
 * port hands out must lie inside its ingress data area, errors must be
 * sticky, and the final drain must end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "ring_ops.h"
#include "tunroom/port.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink; /* makes the reads below real */

struct victim {
	struct tr_port *p;
	const uint8_t *lo, *hi; /* the port's ingress data area, in its mapping */
	int error;
	unsigned steps;
};

static void check_slot(struct victim *v, const struct tr_port_slot *s)
{
	if (s->data < v->lo || s->len > (uint64_t)(v->hi - s->data))
		abort();
	/* Touch the bytes the backend would hand to the kernel. */
	if (s->len)
		sink = s->data[0] ^ s->data[s->len - 1];
}

/* One peek (+ done); returns what peek returned. */
static int step(struct victim *v, int done)
{
	struct tr_port_slot s;
	int r = tr_port_ingress_peek(v->p, &s);

	/* Hostile input can send the port around the ring many times over,
	 * but never forever: each slot is at least 16 bytes of a bounded span. */
	if (++v->steps > (1u << 22))
		abort();
	if (v->error && r != v->error)
		abort(); /* a stopped port stays stopped */
	if (r < 0) {
		v->error = r;
		if (r != -EPROTO && r != -EPIPE)
			abort();
		return r;
	}
	if (r == 1) {
		check_slot(v, &s);
		if (done)
			tr_port_ingress_done(v->p);
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tr_session_config cfg = {
		.capacity = TR_ABI_CAPACITY_MIN, .head_room = 64, .tail_room = 32,
		.max_packet = 2048,
	};
	struct fz_in in = { data, size };
	struct tr_port_fds fds;
	struct victim v = { 0 };
	struct fz_ring r;
	struct tr_pkt probe;
	uint8_t *map;
	uint64_t map_size;

	if (tr_port_open(&v.p, &cfg))
		abort();
	tr_port_get_fds(v.p, &fds);
	map = mmap(NULL, TR_ABI_PAGE, PROT_READ, MAP_SHARED, fds.memfd, 0);
	if (map == MAP_FAILED)
		abort();
	map_size = ((const struct tr_abi_header *)map)->map_size;
	munmap(map, TR_ABI_PAGE);
	map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds.memfd, 0);
	if (map == MAP_FAILED)
		abort();
	fz_ring_from(&r, map, 1);

	/* Where the port's own mapping is: its first egress reservation sits
	 * at the start of the egress data area. */
	if (tr_port_egress_reserve(v.p, &probe))
		abort();
	{
		const struct tr_abi_header *h = (const void *)map;
		const uint8_t *base = probe.buf - sizeof(struct tr_abi_slot) - h->egress.data_offset;

		v.lo = base + h->ingress.data_offset;
		v.hi = v.lo + h->ingress.capacity + h->ingress.slack;
	}

	while (in.n) {
		uint8_t op = (uint8_t)fz_take(&in, 1);

		if (fz_attack(&r, &in, op))
			continue;
		switch (op % 8) {
		case 4: /* drain */
			while (step(&v, 1) == 1)
				;
			tr_port_ingress_flush(v.p);
			break;
		case 5: /* peek only: the attacker may rewrite the slot before done */
			step(&v, 0);
			break;
		case 6:
			if (step(&v, 1) == 1)
				tr_port_ingress_flush(v.p);
			break;
		default:
			tr_port_ingress_flush(v.p);
			break;
		}
	}
	while (step(&v, 1) == 1)
		;
	tr_port_ingress_flush(v.p);
	munmap(map, map_size);
	tr_port_close(v.p);
	return 0;
}
