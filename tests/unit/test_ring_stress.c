/* SPDX-License-Identifier: MIT */
/*
 * Two and three threads on one session, bounded in time: sequence numbers
 * prove no loss, no duplication and no reordering, and a wait that times out
 * while packets are still owed is a lost wake-up (docs/ring-abi.md rules 7 and 8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tunroom/device.h"
#include "tunroom/memdev.h"
#include "tunroom/tunroom.h"

#define CAP (1u << 17)

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Receives until count packets arrived; checks seq order. Releases in
 * shuffled groups, and pauses now and then so the device must sleep on a full
 * ring and be woken by our release. Returns packets seen. */
static uint64_t drain_ordered(struct tr_session *s, uint64_t count, uint32_t seed)
{
	struct tr_pkt p[32];
	uint64_t next = 0;

	while (next < count) {
		int n = tr_rx_receive_burst(s, p, 1 + rnd(&seed) % 32);
		assert_true(n >= 0);
		if (n == 0) {
			int w = tr_rx_wait(s, 5000);
			if (w == 0)
				fail_msg("lost wake-up: waited 5 s with %llu packets owed",
					 (unsigned long long)(count - next));
			assert_true(w > 0);
			continue;
		}
		for (int i = 0; i < n; i++) {
			uint64_t seq;
			memcpy(&seq, tr_pkt_data(&p[i]), 8);
			if (seq != next)
				fail_msg("expected packet %llu, got %llu", (unsigned long long)next,
					 (unsigned long long)seq);
			next++;
		}
		for (int i = n - 1; i > 0; i--) { /* release in a random order */
			int j = (int)(rnd(&seed) % (uint32_t)(i + 1));
			struct tr_pkt t = p[i];
			p[i] = p[j];
			p[j] = t;
		}
		assert_int_equal(tr_rx_release_burst(s, p, (unsigned)n), 0);
		if (rnd(&seed) % 4096 == 0)
			usleep(2000);
	}
	return next;
}

static void generator_to_application(void **state)
{
	(void)state;
	const uint64_t count = 400000;
	struct tr_memdev_config mc = { .mode = TR_MEMDEV_GENERATOR, .size = 64, .count = count, .burst = 7 };
	struct tr_session_config cfg = { .capacity = CAP, .head_room = 24, .tail_room = 40, .max_packet = 256 };
	struct tr_device *dev;
	struct tr_session *s;
	struct tr_pkt extra;

	assert_int_equal(tr_memdev_open(&dev, &mc), 0);
	assert_int_equal(tr_session_open(&s, dev, &cfg), 0);
	assert_int_equal(drain_ordered(s, count, 12345), count);
	assert_int_equal(tr_rx_receive(s, &extra), -EAGAIN); /* no duplicates after the end */
	struct tr_stats st;
	tr_session_stats(s, &st);
	assert_int_equal(st.rx_packets, count);
	tr_session_close(s);
	tr_device_close(dev);
}

struct tx_args {
	struct tr_session *s;
	uint64_t count;
	uint32_t seed;
};

static void *tx_thread(void *arg)
{
	struct tx_args *a = arg;
	struct tr_pkt p[16];
	uint64_t seq = 0;

	while (seq < a->count) {
		unsigned want = 1 + rnd(&a->seed) % 16;
		if (want > a->count - seq)
			want = (unsigned)(a->count - seq);
		uint32_t size = 20 + rnd(&a->seed) % 1480;
		int n = tr_tx_allocate_burst(a->s, size, p, want);
		if (n < 0)
			return (void *)(intptr_t)n;
		if (n == 0) {
			sched_yield(); /* ring full: the loopback must drain */
			continue;
		}
		for (int i = 0; i < n; i++) {
			uint8_t *d = tr_pkt_data(&p[i]);
			memset(d, 0, 20);
			d[0] = 0x45;
			d[2] = (uint8_t)(size >> 8);
			d[3] = (uint8_t)size;
			memcpy(d + 8, &seq, 8); /* bytes 8..15 of the "header" */
			seq++;
		}
		/* commit back to front: delivery must still follow allocation */
		for (int i = n - 1; i >= 0; i--)
			if (tr_tx_commit(a->s, &p[i], 0))
				return (void *)(intptr_t)-EIO;
		if (rnd(&a->seed) % 8192 == 0)
			usleep(3000); /* let the loopback and the receiver go to sleep */
	}
	return NULL;
}

static void application_loopback_application(void **state)
{
	(void)state;
	const uint64_t count = 150000;
	struct tr_memdev_config mc = { .mode = TR_MEMDEV_LOOPBACK, .burst = 5 };
	struct tr_session_config cfg = { .capacity = CAP, .head_room = 8, .tail_room = 16, .max_packet = 1500 };
	struct tr_device *dev;
	struct tr_session *s;
	pthread_t t;

	assert_int_equal(tr_memdev_open(&dev, &mc), 0);
	assert_int_equal(tr_session_open(&s, dev, &cfg), 0);
	struct tx_args a = { s, count, 777 };
	assert_int_equal(pthread_create(&t, NULL, tx_thread, &a), 0);

	struct tr_pkt p[32];
	uint64_t next = 0;
	uint32_t seed = 99;
	while (next < count) {
		int n = tr_rx_receive_burst(s, p, 32);
		assert_true(n >= 0);
		if (n == 0) {
			if (tr_rx_wait(s, 5000) == 0)
				fail_msg("lost wake-up at packet %llu", (unsigned long long)next);
			continue;
		}
		for (int i = 0; i < n; i++) {
			uint64_t seq;
			memcpy(&seq, tr_pkt_data(&p[i]) + 8, 8);
			if (seq != next)
				fail_msg("expected %llu got %llu", (unsigned long long)next,
					 (unsigned long long)seq);
			next++;
		}
		if (rnd(&seed) % 2)
			assert_int_equal(tr_rx_release_burst(s, p, (unsigned)n), 0);
		else
			for (int i = n - 1; i >= 0; i--)
				assert_int_equal(tr_rx_release(s, &p[i]), 0);
	}
	void *ret;
	pthread_join(t, &ret);
	assert_null(ret);
	struct tr_stats st;
	tr_session_stats(s, &st);
	assert_int_equal(st.tx_packets, count);
	assert_int_equal(st.rx_packets, count);
	assert_true(st.sleeps > 0); /* the wake-up path was exercised */
	tr_session_close(s);
	tr_device_close(dev);
}

/* THREADSAFE: two receivers on one ring; together they see every packet once. */
struct rx_args {
	struct tr_session *s;
	uint8_t *seen;
	uint64_t count;
	uint64_t *total;
	pthread_mutex_t *m;
	uint32_t seed;
};

static void *rx_thread(void *arg)
{
	struct rx_args *a = arg;
	struct tr_pkt p[8];

	for (;;) {
		pthread_mutex_lock(a->m);
		int done = *a->total >= a->count;
		pthread_mutex_unlock(a->m);
		if (done)
			return NULL;
		int n = tr_rx_receive_burst(a->s, p, 1 + rnd(&a->seed) % 8);
		if (n < 0)
			return (void *)(intptr_t)n;
		if (n == 0) {
			tr_rx_wait(a->s, 50);
			continue;
		}
		for (int i = 0; i < n; i++) {
			uint64_t seq;
			memcpy(&seq, tr_pkt_data(&p[i]), 8);
			if (seq >= a->count || __atomic_fetch_add(&a->seen[seq], 1, __ATOMIC_RELAXED))
				return (void *)(intptr_t)-EEXIST;
		}
		for (int i = n - 1; i >= 0; i--)
			if (tr_rx_release(a->s, &p[i]))
				return (void *)(intptr_t)-EINVAL;
		pthread_mutex_lock(a->m);
		*a->total += (uint64_t)n;
		pthread_mutex_unlock(a->m);
	}
}

static void threadsafe_two_receivers(void **state)
{
	(void)state;
	const uint64_t count = 200000;
	struct tr_memdev_config mc = { .mode = TR_MEMDEV_GENERATOR, .size = 100, .count = count };
	struct tr_session_config cfg = { .capacity = CAP, .max_packet = 200, .flags = TR_SESSION_F_THREADSAFE };
	struct tr_device *dev;
	struct tr_session *s;
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	uint64_t total = 0;
	uint8_t *seen = calloc(count, 1);
	pthread_t t[2];
	struct rx_args a[2] = { { 0 } };

	assert_int_equal(tr_memdev_open(&dev, &mc), 0);
	assert_int_equal(tr_session_open(&s, dev, &cfg), 0);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct rx_args){ s, seen, count, &total, &m, 1000u + (uint32_t)i };
		assert_int_equal(pthread_create(&t[i], NULL, rx_thread, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		assert_null(ret);
	}
	for (uint64_t i = 0; i < count; i++)
		if (seen[i] != 1)
			fail_msg("packet %llu seen %d times", (unsigned long long)i, seen[i]);
	free(seen);
	tr_session_close(s);
	tr_device_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(generator_to_application),
		cmocka_unit_test(application_loopback_application),
		cmocka_unit_test(threadsafe_two_receivers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
