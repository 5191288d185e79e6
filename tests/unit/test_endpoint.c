/* SPDX-License-Identifier: MIT */
/*
 * The peer's address as the tx thread publishes it (seqlock, barrier.h) and
 * the control and upkeep threads read it (tr_tunnel_endpoint): while one
 * thread keeps moving the address between two values, every copy another
 * thread takes is one of the two, never a mix. Under ThreadSanitizer (make
 * check) the same run also shows that no access is a data race. And which
 * packets from the TUN device the tx thread takes for its own datagrams to
 * that address coming back (a routing loop, tr_tunnel_to_endpoint).
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

/* An IPv4 UDP packet from 198.18.0.1:4500 to dst:dport, 28 bytes + 4. */
static uint32_t udp4(uint8_t *b, const char *dst, uint16_t dport)
{
	memset(b, 0, 32);
	b[0] = 0x45;
	b[3] = 32;
	b[8] = 64;
	b[9] = 17;
	assert_int_equal(inet_pton(AF_INET, "198.18.0.1", b + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, b + 16), 1);
	b[20] = 4500 >> 8, b[21] = 4500 & 0xff;
	b[22] = (uint8_t)(dport >> 8), b[23] = (uint8_t)dport;
	b[25] = 12;
	return 32;
}

/* The tx thread drops its own datagrams to the endpoint that a route sent
 * back into the tunnel, and nothing else. With an IPv4 endpoint an IPv6
 * packet was read as IPv4 (IHL from its traffic class): one whose bytes at
 * those offsets matched (traffic class 0xb0, a source address 2011::/16
 * holding the endpoint's bytes, a UDP checksum equal to its port) was
 * dropped as a loop and the log said the endpoint was routed into the
 * tunnel. */
static void loop_check(void **state)
{
	(void)state;
	struct tr_tunnel *t = calloc(1, sizeof(*t));
	uint8_t b[64];
	struct tr_pkt p = { 0 };

	assert_non_null(t);
	t->udp.peer.in.sin_family = AF_INET;
	t->udp.peer.in.sin_port = htons(4500);
	assert_int_equal(inet_pton(AF_INET, "192.0.2.2", &t->udp.peer.in.sin_addr), 1);

	assert_int_equal(tr_pkt_init(&p, b, sizeof(b), 0, udp4(b, "192.0.2.2", 4500)), 0);
	assert_true(tr_tunnel_to_endpoint(t, &p));
	udp4(b, "192.0.2.2", 4501);
	assert_false(tr_tunnel_to_endpoint(t, &p));
	udp4(b, "192.0.2.3", 4500);
	assert_false(tr_tunnel_to_endpoint(t, &p));
	udp4(b, "192.0.2.2", 4500);
	p.len = 23; /* no room for the destination port */
	assert_false(tr_tunnel_to_endpoint(t, &p));

	/* IPv6, UDP, from 2011::c000:202:0:1 (bytes 9 and 16..19 read as an
	 * IPv4 protocol and destination), UDP checksum 0x1194 = 4500 (bytes
	 * 46..47, the "port" behind a 44-byte IHL). */
	memset(b, 0, sizeof(b));
	b[0] = 0x6b; /* version 6, traffic class 0xb0: IHL 11 as IPv4 */
	b[5] = 16;
	b[6] = 17;
	b[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, "2011::c000:202:0:1", b + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, "fd00::2", b + 24), 1);
	b[40] = 0x30, b[41] = 0x39;
	b[42] = 0x30, b[43] = 0x39;
	b[45] = 16;
	b[46] = 4500 >> 8, b[47] = 4500 & 0xff;
	assert_int_equal(b[9], 17);
	assert_memory_equal(b + 16, &t->udp.peer.in.sin_addr, 4);
	assert_int_equal(tr_pkt_init(&p, b, sizeof(b), 0, 56), 0);
	assert_false(tr_tunnel_to_endpoint(t, &p));

	/* An IPv6 endpoint: its own datagram is one, an IPv4 packet is not. */
	memset(&t->udp.peer, 0, sizeof(t->udp.peer));
	t->udp.peer.in6.sin6_family = AF_INET6;
	t->udp.peer.in6.sin6_port = htons(4500);
	assert_int_equal(inet_pton(AF_INET6, "fd00::2", &t->udp.peer.in6.sin6_addr), 1);
	b[42] = 4500 >> 8, b[43] = 4500 & 0xff;
	assert_true(tr_tunnel_to_endpoint(t, &p));
	assert_int_equal(tr_pkt_init(&p, b, sizeof(b), 0, udp4(b, "192.0.2.2", 4500)), 0);
	assert_false(tr_tunnel_to_endpoint(t, &p));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retry_rules),
		cmocka_unit_test(no_torn_copy),
		cmocka_unit_test(loop_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
