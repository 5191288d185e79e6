/* SPDX-License-Identifier: MIT */
/*
 * The peer's address as the tx thread publishes it (seqlock, barrier.h) and
 * the control and upkeep threads read it (tr_tunnel_endpoint): while one
 * thread keeps moving the address between two values, every copy another
 * thread takes is one of the two, never a mix. Under ThreadSanitizer (make
 * check) the same run also shows that no access is a data race.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tunnel/dataplane.h"

#define MOVES 20000

static union tr_sockaddr addr6(const char *ip, uint16_t port, uint32_t scope)
{
	union tr_sockaddr a;

	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_port = htons(port);
	a.in6.sin6_flowinfo = htonl(scope);
	a.in6.sin6_scope_id = scope;
	assert_int_equal(inet_pton(AF_INET6, ip, &a.in6.sin6_addr), 1);
	return a;
}

struct race {
	struct tr_tunnel *t;
	union tr_sockaddr a, b;
	unsigned started, done;
};

/* The tx thread's part: the peer roams back and forth while the reader
 * reads (a short pause between moves, as roams are rare: without one the
 * reader could be kept retrying for long). */
static void *mover(void *arg)
{
	struct race *r = arg;

	tr_store_release(&r->started, 1u);
	for (unsigned m = 1; m <= MOVES; m++) {
		tr_seq_write(&r->t->peer_gen, &r->t->udp.peer, m & 1 ? &r->b : &r->a, sizeof(r->a));
		for (int i = 0; i < 64; i++)
			tr_cpu_relax();
	}
	tr_store_release(&r->done, 1u);
	return NULL;
}

static void no_torn_copy(void **state)
{
	(void)state;
	struct tr_tunnel *t = calloc(1, sizeof(*t));
	struct race r = { .t = t };
	union tr_sockaddr got;
	unsigned long reads = 0, torn = 0;
	pthread_t th;

	assert_non_null(t);
	r.a = addr6("fd00::1", 1000, 0);
	r.b = addr6("fd00:ffff:eeee:dddd:cccc:bbbb:aaaa:9999", 2000, 7);
	t->udp.peer = r.a;
	assert_int_equal(pthread_create(&th, NULL, mover, &r), 0);
	while (!tr_load_acquire(&r.started))
		tr_cpu_relax();
	do {
		tr_tunnel_endpoint(t, &got);
		reads++;
		torn += memcmp(&got, &r.a, sizeof(got)) && memcmp(&got, &r.b, sizeof(got));
	} while (!tr_load_acquire(&r.done));
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(torn, 0);
	assert_true(reads > 0);
	/* After the last move (MOVES is even: a), a copy is exactly what it wrote. */
	assert_memory_equal(tr_tunnel_endpoint(t, &got), &r.a, sizeof(got));
	assert_int_equal(t->peer_gen, 2u * MOVES);
	free(t);
}

/* A reader that finds a write under way (gen odd), or gen moved under its
 * copy, is told to take it again. */
static void retry_rules(void **state)
{
	(void)state;
	uint32_t gen = 4, rec = 0, from = 9, mine;

	uint32_t g = tr_seq_begin(&gen);
	tr_seq_copy(&mine, &rec, sizeof(mine));
	assert_false(tr_seq_retry(&gen, g));
	g = tr_seq_begin(&gen);
	tr_seq_write(&gen, &rec, &from, sizeof(from));
	assert_true(tr_seq_retry(&gen, g));
	assert_int_equal(gen, 6);
	assert_int_equal(rec, 9);
	gen = 7;
	assert_true(tr_seq_retry(&gen, tr_seq_begin(&gen)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retry_rules),
		cmocka_unit_test(no_torn_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
