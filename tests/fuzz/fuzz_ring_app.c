/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes ring validation from the application side: a port stands in for the
 * device only to create the memory; the session attaches to its descriptors
 * like a tunroomd client, and the input drives a hostile device (ring_ops.h)
 * that scribbles the egress ring between tr_rx_receive_burst and
 * tr_rx_release calls (released in or out of order). Every packet must lie
 * inside the session's egress data area with its rooms, errors are sticky,
 * and the final drain ends. An input that starts with 'H' first flips bits
 * of the ring header, for the attacher's layout check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/session.h"
#include "ring_ops.h"
#include "tunroom/port.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink; /* makes the reads below real */

#define BURST 8

struct victim {
	struct tr_session *s;
	const uint8_t *lo, *hi; /* the session's egress data area */
	struct tr_pkt held[BURST];
	unsigned n_held;
	unsigned steps;
};

static void check_pkt(struct victim *v, const struct tr_pkt *p)
{
	const uint8_t *d = tr_pkt_data(p);

	if (p->buf < v->lo || p->cap > (uint64_t)(v->hi - p->buf) ||
	    (uint64_t)p->off + p->len > p->cap || !p->len)
		abort();
	if (tr_pkt_headroom(p) < tr_session_head_room(v->s) ||
	    tr_pkt_tailroom(p) < tr_session_tail_room(v->s))
		abort();
	sink = d[0] ^ d[p->len - 1];
}

/* Receives up to want packets on top of those held; returns the call's result. */
static int receive(struct victim *v, unsigned want)
{
	int r;

	if (++v->steps > (1u << 20))
		abort();
	if (want > BURST - v->n_held)
		want = BURST - v->n_held;
	r = tr_rx_receive_burst(v->s, v->held + v->n_held, want);
	if (r < 0) {
		if (r != -EPROTO && r != -EPIPE && r != -ESHUTDOWN && r > -4096)
			abort();
		return r;
	}
	if ((unsigned)r > want)
		abort();
	for (int i = 0; i < r; i++)
		check_pkt(v, &v->held[v->n_held + i]);
	v->n_held += (unsigned)r;
	return r;
}

/* Releases the held packet at index i (out of order unless i == 0). */
static void release(struct victim *v, unsigned i)
{
	if (!v->n_held)
		return;
	i %= v->n_held;
	tr_rx_release(v->s, &v->held[i]);
	v->held[i] = v->held[--v->n_held];
}

static void drain(struct victim *v)
{
	while (receive(v, BURST) > 0)
		while (v->n_held)
			release(v, 0);
	while (v->n_held)
		release(v, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tr_session_config cfg = {
		.capacity = TR_ABI_CAPACITY_MIN, .head_room = 64, .tail_room = 32,
		.max_packet = 2048,
	};
	struct fz_in in = { data, size };
	struct victim v = { 0 };
	struct tr_port_fds fds;
	struct tr_port *p;
	struct fz_ring r;
	uint8_t *map;
	uint64_t map_size;

	if (tr_port_open(&p, &cfg))
		abort();
	tr_port_get_fds(p, &fds);
	/* The attacker's mapping: the port's own, as the device would use it. */
	map = mmap(NULL, TR_ABI_PAGE, PROT_READ, MAP_SHARED, fds.memfd, 0);
	if (map == MAP_FAILED)
		abort();
	map_size = ((const struct tr_abi_header *)map)->map_size;
	munmap(map, TR_ABI_PAGE);
	map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds.memfd, 0);
	if (map == MAP_FAILED)
		abort();
	/* Input starting with 'H': the next 128 bytes are XORed into the ring
	 * header first, so the attacher's header check (tr_layout_check) is
	 * fuzzed too; a refused header ends the input. */
	if (in.n && in.d[0] == 'H') {
		fz_take(&in, 1);
		for (size_t i = 0; i < sizeof(struct tr_abi_header) && in.n; i++)
			map[i] ^= (uint8_t)fz_take(&in, 1);
	}
	if (tr_session_attach(&v.s, dup(fds.memfd), dup(fds.app_evt), dup(fds.dev_evt), 0)) {
		munmap(map, map_size);
		tr_port_close(p);
		return 0;
	}
	fz_ring_from(&r, map, 0);
	v.lo = (const uint8_t *)v.s->map + v.s->lay.egress_data;
	v.hi = v.lo + v.s->lay.capacity + v.s->lay.slack;

	while (in.n) {
		uint8_t op = (uint8_t)fz_take(&in, 1);

		if (fz_attack(&r, &in, op))
			continue;
		switch (op % 8) {
		case 4:
			drain(&v);
			break;
		case 5: /* receive a few and hold them: the device may rewrite them */
			receive(&v, (op >> 3) % BURST + 1);
			break;
		case 6: /* release one, maybe out of order */
			release(&v, op >> 3);
			break;
		default: /* release twice: must be refused, not corrupt anything */
			if (v.n_held) {
				struct tr_pkt dup_pkt = v.held[0];

				release(&v, 0);
				if (tr_rx_release(v.s, &dup_pkt) == 0)
					abort();
			}
			break;
		}
	}
	drain(&v);
	tr_session_close(v.s);
	munmap(map, map_size);
	tr_port_close(p);
	return 0;
}
