/* SPDX-License-Identifier: MIT */
/* Egress burst reservations (tr_port_egress_reserve_burst/publish_burst):
 * what the TUN engine reads several packets into with one io_uring_enter. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "tunroom/port.h"
#include "tunroom/ring_abi.h"
#include "tunroom/tunroom.h"

struct pair {
	struct tr_port *port;
	struct tr_session *s;
};

static void pair_open(struct pair *p, uint32_t capacity)
{
	struct tr_session_config cfg = { .capacity = capacity, .head_room = 16, .tail_room = 8,
					 .max_packet = 1500 };
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

static void expect_rx(struct pair *p, uint32_t len, uint8_t tag)
{
	struct tr_pkt pkt;

	assert_int_equal(tr_rx_receive(p->s, &pkt), 0);
	assert_int_equal(pkt.len, len);
	assert_true(tr_pkt_headroom(&pkt) >= 16);
	assert_true(tr_pkt_tailroom(&pkt) >= 8);
	for (uint32_t i = 0; i < len; i++)
		assert_int_equal(tr_pkt_data(&pkt)[i], tag);
	assert_int_equal(tr_rx_release(p->s, &pkt), 0);
}

static void publish_some_withdraw_rest(void **state)
{
	(void)state;
	struct tr_pkt pk[8], one;
	struct tr_port_stats st;
	struct pair p;

	pair_open(&p, 1u << 17);
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 200, pk, 4), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pk[i].off, 16);
		assert_int_equal(pk[i].len, 200);
		assert_true(tr_pkt_tailroom(&pk[i]) >= 8);
		if (i)
			assert_true(pk[i].buf > pk[i - 1].buf); /* ring order */
	}
	/* One reservation at a time, of either kind. */
	assert_int_equal(tr_port_egress_reserve(p.port, &one), -EINVAL);
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 200, pk + 4, 1), -EINVAL);
	for (int i = 0; i < 3; i++) {
		pk[i].len = 10u + 50u * (unsigned)i;
		memset(tr_pkt_data(&pk[i]), 'a' + i, pk[i].len);
	}
	assert_int_equal(tr_port_egress_publish_burst(p.port, pk, 3), 0);
	tr_port_egress_flush(p.port);
	expect_rx(&p, 10, 'a');
	expect_rx(&p, 60, 'b');
	expect_rx(&p, 110, 'c');
	assert_int_equal(tr_rx_receive(p.s, &one), -EAGAIN);
	tr_port_stats(p.port, &st);
	assert_int_equal(st.egress_packets, 3);
	assert_int_equal(st.egress_bytes, 180);

	/* The withdrawn fourth slot's space is free again: a single
	 * reservation works and lands right behind. */
	assert_int_equal(tr_port_egress_reserve(p.port, &one), 0);
	one.len = 5;
	memset(tr_pkt_data(&one), 'z', 5);
	assert_int_equal(tr_port_egress_publish(p.port, &one), 0);
	tr_port_egress_flush(p.port);
	expect_rx(&p, 5, 'z');
	pair_close(&p);
}

static void bad_publish_withdraws(void **state)
{
	(void)state;
	struct tr_pkt pk[4], one;
	struct pair p;

	pair_open(&p, 1u << 17);
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 0, pk, 4), -EINVAL);
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 1501, pk, 4), -EINVAL);
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 100, pk, 0), -EINVAL);

	/* k above the reservation: nothing goes out. */
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 100, pk, 2), 2);
	assert_int_equal(tr_port_egress_publish_burst(p.port, pk, 3), -EINVAL);
	tr_port_egress_flush(p.port);
	assert_int_equal(tr_rx_receive(p.s, &one), -EAGAIN);

	/* An empty or overlong packet: those before it go, it and the rest not. */
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 100, pk, 4), 4);
	pk[0].len = 20;
	memset(tr_pkt_data(&pk[0]), 'x', 20);
	pk[1].len = 101;
	pk[2].len = 20;
	assert_int_equal(tr_port_egress_publish_burst(p.port, pk, 3), -EINVAL);
	tr_port_egress_flush(p.port);
	expect_rx(&p, 20, 'x');
	assert_int_equal(tr_rx_receive(p.s, &one), -EAGAIN);

	/* k = 0 withdraws everything. */
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 100, pk, 4), 4);
	assert_int_equal(tr_port_egress_publish_burst(p.port, pk, 0), 0);
	tr_port_egress_flush(p.port);
	assert_int_equal(tr_rx_receive(p.s, &one), -EAGAIN);
	pair_close(&p);
}

/* A ring with room for fewer slots than asked reserves what fits; a full
 * one reserves none; released space comes back. */
static void ring_full(void **state)
{
	(void)state;
	struct tr_pkt pk[128], rx[128], one;
	struct tr_port_stats st;
	struct pair p;
	int n, again;

	pair_open(&p, 1u << 17);
	n = tr_port_egress_reserve_burst(p.port, 1500, pk, 128);
	assert_true(n > 0 && n < 128);
	for (int i = 0; i < n; i++) {
		pk[i].len = 1500;
		memset(tr_pkt_data(&pk[i]), 'f', 1500);
	}
	assert_int_equal(tr_port_egress_publish_burst(p.port, pk, (unsigned)n), 0);
	tr_port_egress_flush(p.port);
	tr_port_stats(p.port, &st);
	assert_int_equal(st.egress_ring_full, 0); /* a short burst is not a full ring */
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 1500, pk, 128), 0);
	assert_int_equal(tr_port_egress_reserve(p.port, &one), -EAGAIN);
	tr_port_stats(p.port, &st);
	assert_int_equal(st.egress_ring_full, 2); /* each refusal, burst or single */
	assert_int_equal(tr_rx_receive_burst(p.s, rx, 128), n);
	assert_int_equal(tr_rx_release_burst(p.s, rx, (unsigned)n), 0);
	again = tr_port_egress_reserve_burst(p.port, 1500, pk, 128);
	assert_true(again > 0);
	assert_int_equal(tr_port_egress_publish_burst(p.port, pk, 0), 0);
	pair_close(&p);
}

/* A run of empty reads (a TSO read that got one small packet leaves dozens
 * of slots) goes out as one void slot up to max_slot, not one per slot. */
static void empty_run_is_one_void(void **state)
{
	(void)state;
	struct tr_pkt pk[10], one;
	struct tr_port_stats st;
	struct pair p;
	uint32_t slot;

	pair_open(&p, 1u << 17); /* max_packet 1500: max_slot 1552 */
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 200, pk, 10), 10);
	slot = (uint32_t)(pk[1].buf - pk[0].buf);
	assert_int_equal(slot, tr_port_egress_slot_size(p.port, 200));
	for (int i = 0; i < 10; i++)
		pk[i].len = 0;
	pk[0].len = 7;
	memset(tr_pkt_data(&pk[0]), 'a', 7);
	pk[8].len = 9;
	memset(tr_pkt_data(&pk[8]), 'b', 9);
	assert_int_equal(tr_port_egress_publish_burst(p.port, pk, 9), 0);
	tr_port_egress_flush(p.port);
	/* Slots 1..6 are one void (7 would pass max_slot), 7 another. */
	const struct tr_abi_slot *v1 = pk[1].slot, *v2 = pk[7].slot;

	assert_int_equal(v1->size, 6 * slot);
	assert_int_equal(v1->flags, TR_SLOT_F_VOID);
	assert_int_equal(v2->size, slot);
	assert_int_equal(v2->flags, TR_SLOT_F_VOID);
	expect_rx(&p, 7, 'a');
	expect_rx(&p, 9, 'b');
	assert_int_equal(tr_rx_receive(p.s, &one), -EAGAIN);
	tr_port_stats(p.port, &st);
	assert_int_equal(st.egress_packets, 2);
	pair_close(&p);
}

static void *consume_later(void *arg)
{
	struct pair *p = arg;
	struct tr_port_slot sl;

	nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
	while (tr_port_ingress_peek(p->port, &sl) == 1)
		tr_port_ingress_done(p->port);
	tr_port_ingress_flush(p->port);
	return NULL;
}

/* tr_tx_wait: 0 while the ring stays full, 1 once the device frees space
 * (woken by it, no polling loop of the caller), -EPIPE once it stops. */
static void tx_wait_for_space(void **state)
{
	(void)state;
	struct tr_pkt pk[128];
	struct pair p;
	pthread_t th;
	int n = 0, got;

	pair_open(&p, 1u << 17);
	assert_int_equal(tr_tx_wait(p.s, 0), 1); /* empty ring: go ahead */
	while ((got = tr_tx_allocate_burst(p.s, 1500, pk, 128)) > 0) {
		for (int i = 0; i < got; i++)
			pk[i].len = 20;
		assert_int_equal(tr_tx_commit_burst(p.s, pk, (unsigned)got, 0), 0);
		n += got;
	}
	assert_true(n > 0);
	assert_int_equal(tr_tx_wait(p.s, 0), 0);
	assert_int_equal(tr_tx_wait(p.s, 20), 0);
	assert_int_equal(pthread_create(&th, NULL, consume_later, &p), 0);
	assert_int_equal(tr_tx_wait(p.s, 5000), 1);
	pthread_join(th, NULL);
	assert_int_equal(tr_tx_allocate_burst(p.s, 1500, pk, 1), 1);
	assert_int_equal(tr_tx_abandon(p.s, &pk[0]), 0);
	tr_port_shutdown(p.port, 0);
	assert_int_equal(tr_tx_wait(p.s, 5000), -EPIPE);
	pair_close(&p);
}

/* poll() as the library calls it, with one interleaving scripted: when the
 * waiter on steal_fd is about to sleep, the device frees space and rings,
 * and another thread's tr_rx_wait takes the ring first (its arm drains the
 * doorbell, which both directions share). Any other poll passes through. */
static struct pair *steal_pair;
static int steal_fd = -1;
static int stolen;

/* glibc declares poll's array write-only (it is read too): no warning for
 * reading the caller's fd. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (steal_pair && n == 1 && fds[0].fd == steal_fd) {
		struct pair *p = steal_pair;
		struct tr_port_slot sl;
		char buf[64];

		steal_pair = NULL;
		while (tr_port_ingress_peek(p->port, &sl) == 1)
			tr_port_ingress_done(p->port);
		tr_port_ingress_flush(p->port); /* rings: the waiter armed producer_waiting */
		while (recv(steal_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			stolen++;
	}
	struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000L };
	return ppoll(fds, n, timeout < 0 ? NULL : &ts, NULL);
}
#pragma GCC diagnostic pop

static void *tx_wait_forever(void *arg)
{
	struct pair *p = arg;

	return (void *)(intptr_t)tr_tx_wait(p->s, -1);
}

/* tr_tx_wait with no timeout whose wake-up another thread's receive side
 * took: it must still see the space (not sleep forever). */
static void tx_wait_doorbell_taken(void **state)
{
	(void)state;
	struct tr_pkt pk[128];
	struct pair p;
	pthread_t th;
	void *ret = NULL;
	int got;

	pair_open(&p, 1u << 17);
	while ((got = tr_tx_allocate_burst(p.s, 1500, pk, 128)) > 0) {
		for (int i = 0; i < got; i++)
			pk[i].len = 20;
		assert_int_equal(tr_tx_commit_burst(p.s, pk, (unsigned)got, 0), 0);
	}
	assert_int_equal(tr_tx_wait(p.s, 0), 0);
	steal_fd = tr_session_fd(p.s);
	steal_pair = &p;
	assert_int_equal(pthread_create(&th, NULL, tx_wait_forever, &p), 0);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5; /* a bound for a hang, not a speed target */
	assert_int_equal(pthread_timedjoin_np(th, &ret, &until), 0);
	assert_true(stolen > 0); /* the scripted interleaving happened */
	assert_int_equal((intptr_t)ret, 1);
	pair_close(&p);
}

/* A burst with a bad view in the middle (docs/ring-abi.md, "Bursts that
 * fail part-way"): the views before it are done and published, it and the
 * rest are untouched and still the caller's. */
static void partial_bursts(void **state)
{
	(void)state;
	struct tr_pkt pk[128], rx[128], tx[3], bad;
	struct tr_port_slot sl;
	struct pair p;
	int n;

	/* Releases: a full ring, all received, released with a bad view
	 * second: the first slot's space reaches the device. */
	pair_open(&p, 1u << 17);
	n = tr_port_egress_reserve_burst(p.port, 1500, pk, 128);
	assert_true(n >= 3);
	for (int i = 0; i < n; i++)
		pk[i].len = 1500;
	assert_int_equal(tr_port_egress_publish_burst(p.port, pk, (unsigned)n), 0);
	tr_port_egress_flush(p.port);
	assert_int_equal(tr_rx_receive_burst(p.s, rx, 128), n);
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 1500, pk, 1), 0);
	bad = rx[1];
	rx[1].slot = &bad; /* not in the ring */
	assert_int_equal(tr_rx_release_burst(p.s, rx, 3), -EINVAL);
	assert_null(rx[0].slot);
	assert_non_null(rx[1].slot);
	assert_non_null(rx[2].slot);
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 1500, pk, 1), 1);
	assert_int_equal(tr_port_egress_publish_burst(p.port, pk, 0), 0);
	/* A view whose bookkeeping was changed is bad too, not a wrong release. */
	rx[1] = bad;
	rx[1].priv += 16;
	assert_int_equal(tr_rx_release(p.s, &rx[1]), -EINVAL);
	rx[1] = bad;
	assert_int_equal(tr_rx_release_burst(p.s, rx + 1, (unsigned)n - 1), 0);
	pair_close(&p);

	/* Commits: the first goes out at once, the bad one and the third
	 * stay allocated, and go out once fixed. */
	pair_open(&p, 1u << 17);
	assert_int_equal(tr_tx_allocate_burst(p.s, 100, tx, 3), 3);
	for (int i = 0; i < 3; i++) {
		memset(tr_pkt_data(&tx[i]), 'a' + i, 20);
		tx[i].len = 20;
	}
	tx[1].len = tx[1].cap + 1;
	assert_int_equal(tr_tx_commit_burst(p.s, tx, 3, 0), -EINVAL);
	assert_null(tx[0].slot);
	assert_non_null(tx[1].slot);
	assert_non_null(tx[2].slot);
	assert_int_equal(tr_port_ingress_peek(p.port, &sl), 1);
	assert_int_equal(sl.len, 20);
	assert_int_equal(sl.data[0], 'a');
	tr_port_ingress_done(p.port);
	assert_int_equal(tr_port_ingress_peek(p.port, &sl), 0);
	tx[1].len = 20;
	assert_int_equal(tr_tx_commit_burst(p.s, tx + 1, 2, 0), 0);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(tr_port_ingress_peek(p.port, &sl), 1);
		assert_int_equal(sl.data[0], 'a' + i);
		tr_port_ingress_done(p.port);
	}
	tr_port_ingress_flush(p.port);
	pair_close(&p);
}

/* Issue 14, item 10, at the port: the application's doorbell end is its
 * own. Made blocking and flooded, it blocks none of the port's calls, and a
 * closed egress consumer ends the port at the next arm instead of reading
 * as "space freed" for ever. */
static void hostile_doorbell_and_closed_word(void **state)
{
	(void)state;
	struct tr_port_fds fds;
	struct tr_pkt pk[1];
	struct pair p;
	char one = 1;
	int dfd[2], sent = 0;

	pair_open(&p, 1u << 17);
	tr_port_get_fds(p.port, &fds);
	tr_port_device_fds(p.port, dfd);
	assert_true(dfd[0] != fds.app_evt && dfd[0] != fds.dev_evt);
	assert_int_equal(fcntl(fds.app_evt, F_SETFL, 0), 0); /* blocking, for whoever shares it */
	while (send(fds.app_evt, &one, 1, MSG_DONTWAIT) == 1)
		sent++;
	assert_true(sent > 0);
	/* The port's end stays non-blocking: drains a bounded number, returns. */
	tr_port_disarm(p.port);
	tr_port_kick(p.port);
	tr_port_disarm(p.port);
	/* The application never reads its end and always says it waits: each
	 * publish rings a queue that is full already, and returns. */
	uint8_t *map = mmap(NULL, TR_ABI_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fds.memfd, 0);
	assert_true(map != MAP_FAILED);
	struct tr_abi_ring *eg = (struct tr_abi_ring *)(map + TR_ABI_EGRESS_CTRL);
	struct tr_port_stats st;
	for (int i = 0; i < 300; i++) {
		__atomic_store_n(&eg->consumer_waiting, 1, __ATOMIC_SEQ_CST);
		assert_int_equal(tr_port_egress_reserve_burst(p.port, 100, pk, 1), 1);
		pk[0].len = 20;
		assert_int_equal(tr_port_egress_publish_burst(p.port, pk, 1), 0);
		tr_port_egress_flush(p.port);
	}
	tr_port_stats(p.port, &st);
	assert_int_equal(st.wakeups_sent, 300);

	/* Only the egress consumer_closed word: the arm ends the port. */
	__atomic_store_n(&eg->consumer_closed, ESHUTDOWN, __ATOMIC_SEQ_CST);
	assert_int_equal(tr_port_arm(p.port, 1), 1);
	tr_port_disarm(p.port);
	assert_int_equal(tr_port_error(p.port), -EPIPE);
	assert_int_equal(tr_port_egress_reserve_burst(p.port, 100, pk, 1), -EPIPE);
	munmap(map, TR_ABI_PAGE);
	pair_close(&p);
}

/* An application that commits and closes at once: the arm sees the closed
 * words, but what was committed before still comes out, then -EPIPE. */
static void close_after_commit_drains(void **state)
{
	(void)state;
	struct tr_pkt tx[3];
	struct tr_port_slot sl;
	struct pair p;

	pair_open(&p, 1u << 17);
	assert_int_equal(tr_tx_allocate_burst(p.s, 100, tx, 3), 3);
	for (int i = 0; i < 3; i++) {
		memset(tr_pkt_data(&tx[i]), 'x' + i, 20);
		tx[i].len = 20;
	}
	assert_int_equal(tr_tx_commit_burst(p.s, tx, 3, 0), 0);
	tr_session_close(p.s);
	assert_int_equal(tr_port_arm(p.port, 1), 1);
	tr_port_disarm(p.port);
	assert_int_equal(tr_port_error(p.port), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tr_port_ingress_peek(p.port, &sl), 1);
		assert_int_equal(sl.data[0], 'x' + i);
		tr_port_ingress_done(p.port);
	}
	assert_int_equal(tr_port_ingress_peek(p.port, &sl), -EPIPE);
	tr_port_close(p.port);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(publish_some_withdraw_rest),
		cmocka_unit_test(bad_publish_withdraws),
		cmocka_unit_test(ring_full),
		cmocka_unit_test(tx_wait_for_space),
		cmocka_unit_test(tx_wait_doorbell_taken),
		cmocka_unit_test(partial_bursts),
		cmocka_unit_test(hostile_doorbell_and_closed_word),
		cmocka_unit_test(close_after_commit_drains),
		cmocka_unit_test(empty_run_is_one_void),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
