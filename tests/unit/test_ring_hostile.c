/* SPDX-License-Identifier: MIT */
/*
 * docs/ring-abi.md rule 9: each side treats ring memory as hostile. Every corrupt
 * field stops the session with -EPROTO, the other side learns why, and no
 * access leaves the mapping (this test runs under ASan in make check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/barrier.h"
#include "lib/session.h"
#include "tunroom/port.h"
#include "tunroom/tunroom.h"

#define CAP (1u << 17)

struct pair {
	struct tr_port *port;
	struct tr_session *s;
};

/* Device end and application end in one thread, no device loop: the test
 * plays the device by calling the port functions itself. */
static void pair_open(struct pair *p, uint32_t head, uint32_t tail)
{
	struct tr_session_config cfg = { .capacity = CAP, .head_room = head, .tail_room = tail,
					  .max_packet = 2000 };
	struct tr_port_fds fds;

	assert_int_equal(tr_port_open(&p->port, &cfg), 0);
	tr_port_get_fds(p->port, &fds);
	assert_int_equal(tr_session_attach(&p->s, dup(fds.memfd), dup(fds.app_evt),
					   dup(fds.dev_evt), 0), 0);
}

static void pair_close(struct pair *p)
{
	tr_session_close(p->s);
	tr_port_close(p->port);
}

/* Commits one 100-byte packet and returns its slot header. */
static struct tr_abi_slot *commit_one(struct pair *p)
{
	struct tr_pkt pkt;

	assert_int_equal(tr_tx_allocate(p->s, 100, &pkt), 0);
	memset(tr_pkt_data(&pkt), 0x45, 100);
	struct tr_abi_slot *slot = pkt.slot;
	assert_int_equal(tr_tx_commit(p->s, &pkt, 0), 0);
	return slot;
}

/* After the device found corruption, the application is told, not left hanging. */
static void expect_device_stopped(struct pair *p)
{
	struct tr_port_slot sl;
	struct tr_pkt pkt;

	assert_int_equal(tr_port_error(p->port), -EPROTO);
	assert_int_equal(tr_port_ingress_peek(p->port, &sl), -EPROTO); /* stays stopped */
	assert_int_equal(tr_rx_receive(p->s, &pkt), -EPIPE);
	assert_int_equal(tr_session_error(p->s), -EPROTO);
	assert_int_equal(tr_tx_allocate(p->s, 10, &pkt), -EPIPE);
	struct tr_port_stats ps;
	tr_port_stats(p->port, &ps);
	assert_int_equal(ps.err_corrupt, 1);
}

static void device_rejects_corrupt_slot_fields(void **state)
{
	(void)state;
	enum { SIZE_HUGE, SIZE_SMALL, SIZE_UNALIGNED, SIZE_PAST_PRODUCER, OFFSET_PAST,
	       LENGTH_PAST, LENGTH_WRAPS, FLAG_UNKNOWN, FLAG_BUSY, FLAG_RELEASED, N_CASES };

	for (int c = 0; c < N_CASES; c++) {
		struct pair p;
		struct tr_port_slot sl;

		pair_open(&p, 16, 16);
		struct tr_abi_slot *slot = commit_one(&p);
		switch (c) {
		case SIZE_HUGE:          slot->size = 0xfffffff0u; break;
		case SIZE_SMALL:         slot->size = 0; break;
		case SIZE_UNALIGNED:     slot->size += 1; break;
		case SIZE_PAST_PRODUCER: slot->size += 16; break;
		case OFFSET_PAST:        slot->offset = slot->size; break;
		case LENGTH_PAST:        slot->length = slot->size; break;
		case LENGTH_WRAPS:       slot->offset = 32; slot->length = 0xffffffe0u; break;
		case FLAG_UNKNOWN:       slot->flags = 0x100; break;
		case FLAG_BUSY:          slot->flags = TR_SLOT_F_BUSY; break;
		case FLAG_RELEASED:      slot->flags = TR_SLOT_F_RELEASED; break;
		}
		assert_int_equal(tr_port_ingress_peek(p.port, &sl), -EPROTO);
		expect_device_stopped(&p);
		pair_close(&p);
	}
}

static void device_rejects_bad_indices(void **state)
{
	(void)state;
	for (int c = 0; c < 3; c++) {
		struct pair p;
		struct tr_port_slot sl;
		struct tr_pkt pkt;

		pair_open(&p, 0, 0);
		commit_one(&p);
		switch (c) {
		case 0: /* producer more than capacity ahead */
			tr_store_release(&p.s->tx.ctl->producer, CAP + 4096);
			break;
		case 1: /* producer moves backwards after the device saw it */
			assert_int_equal(tr_port_ingress_peek(p.port, &sl), 1);
			tr_port_ingress_done(p.port);
			tr_store_release(&p.s->tx.ctl->producer, 0xfffffff0u);
			break;
		case 2: /* consumer index (application's, egress) runs past producer */
			tr_store_release(&p.s->rx.ctl->consumer, 0x80000000u);
			/* the device notices when it needs space: fill the ring */
			int err;
			while ((err = tr_port_egress_reserve(p.port, &pkt)) == 0) {
				pkt.len = 1500;
				tr_port_egress_publish(p.port, &pkt);
			}
			assert_int_equal(err, -EPROTO);
			expect_device_stopped(&p);
			pair_close(&p);
			continue;
		}
		assert_int_equal(tr_port_ingress_peek(p.port, &sl), -EPROTO);
		expect_device_stopped(&p);
		pair_close(&p);
	}
}

/* The application checks the device the same way. */
static void application_rejects_corrupt_egress(void **state)
{
	(void)state;
	enum { ROOM_HEAD, ROOM_TAIL, ZERO_LEN, FLAGS, SIZE, PRODUCER, N_CASES };

	for (int c = 0; c < N_CASES; c++) {
		struct pair p;
		struct tr_pkt pkt;

		pair_open(&p, 32, 32);
		assert_int_equal(tr_port_egress_reserve(p.port, &pkt), 0);
		memset(tr_pkt_data(&pkt), 0x45, 100);
		pkt.len = 100;
		struct tr_abi_slot *slot = pkt.slot;
		assert_int_equal(tr_port_egress_publish(p.port, &pkt), 0);
		switch (c) {
		case ROOM_HEAD: slot->offset = 8; break;                 /* less than head_room */
		case ROOM_TAIL: slot->length = slot->size - 16 - 32 - 8; break; /* eats tail room */
		case ZERO_LEN:  slot->length = 0; break;
		case FLAGS:     slot->flags = TR_SLOT_F_MULTI; break;
		case SIZE:      slot->size = 1u << 20; break;
		case PRODUCER:  break;
		}
		tr_port_egress_flush(p.port);
		if (c == PRODUCER)
			tr_store_release(&p.s->rx.ctl->producer, CAP * 2);
		assert_int_equal(tr_rx_receive(p.s, &pkt), -EPROTO);
		assert_int_equal(tr_session_error(p.s), -EPROTO);
		assert_int_equal(tr_rx_receive(p.s, &pkt), -EPROTO);
		struct tr_stats st;
		tr_session_stats(p.s, &st);
		assert_int_equal(st.err_corrupt, 1);
		pair_close(&p);
	}
}

static void attach_checks_header(void **state)
{
	(void)state;
	struct tr_session_config cfg = { .capacity = CAP, .max_packet = 1500 };
	struct tr_port *port;
	struct tr_port_fds fds;
	struct tr_session *s;
	char msg[200];

	assert_int_equal(tr_port_open(&port, &cfg), 0);
	tr_port_get_fds(port, &fds);
	size_t len = (size_t)lseek(fds.memfd, 0, SEEK_END);
	struct tr_abi_header *h = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds.memfd, 0);
	assert_ptr_not_equal(h, MAP_FAILED);

	h->abi_version = 7;
	assert_int_equal(tr_session_attach(&s, dup(fds.memfd), dup(fds.app_evt),
					   dup(fds.dev_evt), 0), -EPROTONOSUPPORT);
	assert_int_equal(tr_abi_describe(h, len, msg, sizeof(msg)), -EPROTONOSUPPORT);
	assert_non_null(strstr(msg, "version 7"));
	char want[32];
	snprintf(want, sizeof(want), "version %u", TR_ABI_VERSION);
	assert_non_null(strstr(msg, want));
	h->abi_version = TR_ABI_VERSION;
	h->magic ^= 1;
	assert_int_equal(tr_session_attach(&s, dup(fds.memfd), dup(fds.app_evt),
					   dup(fds.dev_evt), 0), -EPROTONOSUPPORT);
	h->magic ^= 1;
	/* every layout field must match what the parameters imply */
	uint64_t *fields64[] = { &h->map_size, &h->egress.data_offset, &h->ingress.ctrl_offset };
	for (unsigned i = 0; i < 3; i++) {
		*fields64[i] += 4096;
		assert_int_equal(tr_session_attach(&s, dup(fds.memfd), dup(fds.app_evt),
						   dup(fds.dev_evt), 0), -EPROTO);
		*fields64[i] -= 4096;
	}
	uint32_t *fields32[] = { &h->head_room, &h->max_slot, &h->egress.capacity, &h->header_size };
	for (unsigned i = 0; i < 4; i++) {
		*fields32[i] += 16;
		assert_int_equal(tr_session_attach(&s, dup(fds.memfd), dup(fds.app_evt),
						   dup(fds.dev_evt), 0), -EPROTO);
		*fields32[i] -= 16;
	}
	assert_int_equal(tr_abi_describe(h, len, msg, sizeof(msg)), 0);
	assert_int_equal(tr_session_attach(&s, dup(fds.memfd), dup(fds.app_evt),
					   dup(fds.dev_evt), 0), 0);
	tr_session_close(s);
	munmap(h, len);
	tr_port_close(port);

	/* memory its creator could still shrink is refused (SIGBUS risk) */
	int fd = memfd_create("unsealed", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	assert_int_equal(tr_session_attach(&s, fd, dup(0), dup(0), 0), -EPROTO);
	assert_int_equal(tr_session_attach(&s, -1, -1, -1, 0), -EINVAL);
}

/* The application ends the session: the device learns it and stops. */
static void application_close_seen_by_device(void **state)
{
	(void)state;
	struct pair p;
	struct tr_port_slot sl;

	pair_open(&p, 0, 0);
	tr_session_close(p.s);
	assert_int_equal(tr_port_ingress_peek(p.port, &sl), -EPIPE);
	tr_port_close(p.port);
}

/* A device's empty read between two full ones is a void slot: the
 * application skips it and the ring still drains completely. */
static void egress_void_slots_skipped(void **state)
{
	(void)state;
	struct pair p;
	struct tr_pkt res[4], got[4];

	pair_open(&p, 16, 16);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(tr_port_egress_reserve_burst(p.port, 1500, res, 4), 4);
		static const uint32_t lens[4] = { 100, 0, 0, 200 };
		for (int i = 0; i < 4; i++) {
			memset(tr_pkt_data(&res[i]), 0x45, 200);
			res[i].len = lens[i];
		}
		assert_int_equal(tr_port_egress_publish_burst(p.port, res, 4), 0);
		tr_port_egress_flush(p.port);
		assert_int_equal(tr_rx_receive_burst(p.s, got, 4), 2);
		assert_int_equal(got[0].len, 100);
		assert_int_equal(got[1].len, 200);
		/* release out of order: the voids in between must not block */
		assert_int_equal(tr_rx_release(p.s, &got[1]), 0);
		assert_int_equal(tr_rx_release(p.s, &got[0]), 0);
		assert_int_equal(tr_load_acquire(&p.s->rx.ctl->consumer),
				 tr_load_acquire(&p.s->rx.ctl->producer));
	}
	/* an empty last packet is refused: nothing would ever follow it */
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 1500, res, 2), 2);
	res[0].len = 10;
	res[1].len = 0;
	assert_int_equal(tr_port_egress_publish_burst(p.port, res, 2), -EINVAL);
	struct tr_stats st;
	tr_session_stats(p.s, &st);
	assert_int_equal(st.err_corrupt, 0);
	pair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(device_rejects_corrupt_slot_fields),
		cmocka_unit_test(device_rejects_bad_indices),
		cmocka_unit_test(application_rejects_corrupt_egress),
		cmocka_unit_test(attach_checks_header),
		cmocka_unit_test(application_close_seen_by_device),
		cmocka_unit_test(egress_void_slots_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
