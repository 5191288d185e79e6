/* SPDX-License-Identifier: MIT */
/*
 * UDP helper on 127.0.0.1: batches go out of and land in "ring slots" at the
 * offsets given, foreign sources and oversize datagrams are dropped and
 * counted, connected mode filters in the kernel, buffers get sized; UDP GSO
 * out of scattered slots and GRO batches in, with their limits and counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tunnel/udp.h"

#define SLOT 2048
#define HEAD 64

static union tr_sockaddr lo(uint16_t port)
{
	union tr_sockaddr a = { 0 };

	a.in.sin_family = AF_INET;
	a.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.in.sin_port = htons(port);
	return a;
}

/* A pair aimed at each other, on ports the kernel picks. */
static void pair(struct tr_udp *a, struct tr_udp *b, uint32_t flags)
{
	union tr_sockaddr any = lo(0), placeholder = lo(9);

	assert_int_equal(tr_udp_open(a, &any, &placeholder, 0, flags), 0);
	assert_int_equal(tr_udp_open(b, &any, &a->local, 0, flags), 0);
	assert_int_equal(tr_udp_set_peer(a, &b->local), 0);
	assert_int_not_equal(ntohs(a->local.in.sin_port), 0);
}

/* Receives until `want` datagrams arrived or a second passed. */
static int recv_all(struct tr_udp *u, struct iovec *iov, int32_t *res, unsigned want)
{
	unsigned got = 0;

	while (got < want) {
		struct pollfd p = { .fd = u->fd, .events = POLLIN };
		if (poll(&p, 1, 1000) <= 0)
			break;
		int n = tr_udp_recv_burst(u, iov + got, res + got, want - got);
		if (n == -EAGAIN)
			continue;
		assert_true(n > 0);
		got += (unsigned)n;
	}
	return (int)got;
}

static void batch_through_slots(void **state)
{
	(void)state;
	static uint8_t tx_ring[40 * SLOT], rx_ring[40 * SLOT];
	struct iovec tx[40], rx[40];
	int32_t res[40];
	struct tr_udp a, b;

	pair(&a, &b, 0);
	for (unsigned i = 0; i < 40; i++) {
		size_t len = 1 + i * 37;
		tx[i] = (struct iovec){ tx_ring + i * SLOT + HEAD, len };
		memset(tx[i].iov_base, (int)i, len);
		rx[i] = (struct iovec){ rx_ring + i * SLOT + HEAD, SLOT - HEAD };
	}
	assert_int_equal(tr_udp_send_burst(&a, tx, 40), 40);
	assert_int_equal(a.stats.tx_datagrams, 40);
	assert_int_equal(recv_all(&b, rx, res, 40), 40);
	uint64_t bytes = 0;
	for (unsigned i = 0; i < 40; i++) {
		assert_int_equal(res[i], (int32_t)tx[i].iov_len);
		assert_memory_equal(rx_ring + i * SLOT + HEAD, tx[i].iov_base, tx[i].iov_len);
		/* Nothing written before the slot's data start. */
		assert_int_equal(rx_ring[i * SLOT + HEAD - 1], 0);
		bytes += tx[i].iov_len;
	}
	assert_int_equal(b.stats.rx_datagrams, 40);
	assert_int_equal(b.stats.rx_bytes, bytes);
	assert_int_equal(a.stats.tx_bytes, bytes);
	assert_int_equal(tr_udp_recv_burst(&b, rx, res, 40), -EAGAIN);
	assert_int_equal(tr_udp_send_burst(&a, tx, 0), 0);
	tr_udp_close(&a);
	tr_udp_close(&b);
}

static void burst_is_capped(void **state)
{
	(void)state;
	static uint8_t buf[100];
	struct iovec tx[100], rx[100];
	int32_t res[100];
	struct tr_udp a, b;

	pair(&a, &b, 0);
	for (unsigned i = 0; i < 100; i++) {
		tx[i] = (struct iovec){ buf, 1 + i % 50 };
		rx[i] = (struct iovec){ buf, sizeof(buf) };
	}
	assert_int_equal(tr_udp_send_burst(&a, tx, 100), TR_UDP_BATCH_MAX);
	assert_int_equal(recv_all(&b, rx, res, TR_UDP_BATCH_MAX), TR_UDP_BATCH_MAX);
	tr_udp_close(&a);
	tr_udp_close(&b);
}

static void foreign_and_oversize_dropped(void **state)
{
	(void)state;
	uint8_t big[1000] = { 0 }, slot[100];
	struct iovec rx[2] = { { slot, sizeof(slot) }, { slot, sizeof(slot) } };
	struct iovec tx = { big, sizeof(big) };
	int32_t res[2];
	struct tr_udp a, b;
	union tr_sockaddr any = lo(0);

	pair(&a, &b, 0);
	/* A stranger on the same host. */
	int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(c, &any.sa, sizeof(any.in)), 0);
	assert_int_equal(sendto(c, "junk", 4, 0, &b.local.sa, sizeof(b.local.in)), 4);
	assert_int_equal(recv_all(&b, rx, res, 1), 1);
	assert_int_equal(res[0], -EADDRNOTAVAIL);
	assert_int_equal(b.stats.rx_drop_peer, 1);
	assert_int_equal(b.stats.rx_datagrams, 0);

	/* Longer than the slot. */
	assert_int_equal(tr_udp_send_burst(&a, &tx, 1), 1);
	assert_int_equal(recv_all(&b, rx, res, 1), 1);
	assert_int_equal(res[0], -EMSGSIZE);
	assert_int_equal(b.stats.rx_drop_trunc, 1);

	/* The peer still gets through, and a datagram of 0 bytes is one. */
	tx.iov_len = 0;
	assert_int_equal(tr_udp_send_burst(&a, &tx, 1), 1);
	assert_int_equal(recv_all(&b, rx, res, 1), 1);
	assert_int_equal(res[0], 0);
	assert_int_equal(b.stats.rx_datagrams, 1);
	close(c);
	tr_udp_close(&a);
	tr_udp_close(&b);
}

static void connected_mode(void **state)
{
	(void)state;
	uint8_t slot[64];
	struct iovec rx = { slot, sizeof(slot) }, tx = { (void *)"esp", 3 };
	int32_t res;
	struct tr_udp a, b;
	union tr_sockaddr any = lo(0);

	pair(&a, &b, TR_UDP_F_CONNECT);
	int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(c, &any.sa, sizeof(any.in)), 0);
	assert_int_equal(sendto(c, "junk", 4, 0, &b.local.sa, sizeof(b.local.in)), 4);
	/* The kernel drops it for a connected socket. */
	struct pollfd p = { .fd = b.fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 50), 0);
	assert_int_equal(tr_udp_recv_burst(&b, &rx, &res, 1), -EAGAIN);
	assert_int_equal(tr_udp_send_burst(&a, &tx, 1), 1);
	assert_int_equal(recv_all(&b, &rx, &res, 1), 1);
	assert_int_equal(res, 3);
	assert_memory_equal(slot, "esp", 3);
	close(c);

	/* Nobody listens on a's old port any more: ICMP port unreachable comes
	 * back as an error on a later send, counted. */
	union tr_sockaddr gone = b.local;
	tr_udp_close(&b);
	assert_int_equal(tr_udp_set_peer(&a, &gone), 0);
	int r = 0;
	for (int i = 0; i < 20 && r >= 0; i++) {
		r = tr_udp_send_burst(&a, &tx, 1);
		usleep(1000);
	}
	assert_int_equal(r, -ECONNREFUSED);
	assert_int_equal(a.stats.tx_err, 1);
	tr_udp_close(&a);
}

/* A receive buffer that overflows: the kernel's drops are visible. */
static void kernel_drops_counted(void **state)
{
	(void)state;
	static uint8_t buf[1200];
	struct iovec tx[TR_UDP_BATCH_MAX];
	struct tr_udp a, b;
	union tr_sockaddr any = lo(0), placeholder = lo(9);
	int small = 4096;

	assert_int_equal(tr_udp_open(&a, &any, &placeholder, 0, 0), 0);
	assert_int_equal(tr_udp_open(&b, &any, &a.local, 0, 0), 0);
	assert_int_equal(tr_udp_set_peer(&a, &b.local), 0);
	assert_int_equal(setsockopt(b.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_int_equal(tr_udp_kernel_drops(&b), 0);
	for (unsigned i = 0; i < TR_UDP_BATCH_MAX; i++)
		tx[i] = (struct iovec){ buf, sizeof(buf) };
	assert_int_equal(tr_udp_send_burst(&a, tx, TR_UDP_BATCH_MAX), TR_UDP_BATCH_MAX);
	assert_true(tr_udp_kernel_drops(&b) > 0);
	tr_udp_close(&a);
	tr_udp_close(&b);
	assert_int_equal(tr_udp_kernel_drops(&b), 0);
}

static void open_errors_and_sizes(void **state)
{
	(void)state;
	struct tr_udp u;
	union tr_sockaddr v4 = lo(0), v6 = { 0 };

	v6.in6.sin6_family = AF_INET6;
	v6.in6.sin6_port = htons(4500);
	assert_int_equal(tr_udp_open(&u, &v4, &v6, 0, 0), -EAFNOSUPPORT);
	assert_int_equal(u.fd, -1);
	assert_int_equal(tr_udp_open(&u, &v4, &v4, 0, 0x80), -EINVAL);
	tr_udp_close(&u);

	union tr_sockaddr peer = lo(9);
	assert_int_equal(tr_udp_open(&u, &v4, &peer, 64 * 1024, 0), 0);
	/* Linux doubles the request for bookkeeping; either way at least that much. */
	assert_true(u.rcvbuf >= 64 * 1024);
	assert_true(u.sndbuf >= 64 * 1024);
	assert_int_equal(tr_udp_set_peer(&u, &v6), -EAFNOSUPPORT);
	/* The same local port twice is refused. */
	struct tr_udp u2;
	assert_int_equal(tr_udp_open(&u2, &u.local, &peer, 0, 0), -EADDRINUSE);
	tr_udp_close(&u);
}

static void address_compare(void **state)
{
	(void)state;
	union tr_sockaddr a = { 0 }, b = { 0 };

	a.in6.sin6_family = b.in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "fd00::2", &a.in6.sin6_addr);
	b.in6.sin6_addr = a.in6.sin6_addr;
	a.in6.sin6_port = b.in6.sin6_port = htons(4500);
	assert_true(tr_udp_addr_equal(&a, &b));
	b.in6.sin6_port = htons(4501);
	assert_false(tr_udp_addr_equal(&a, &b));
	b.in6.sin6_port = a.in6.sin6_port;
	b.in6.sin6_addr.s6_addr[15] ^= 1;
	assert_false(tr_udp_addr_equal(&a, &b));
	/* Flow label and scope do not matter; family does. */
	b.in6.sin6_addr = a.in6.sin6_addr;
	b.in6.sin6_flowinfo = 7;
	assert_true(tr_udp_addr_equal(&a, &b));
	union tr_sockaddr c = lo(4500);
	assert_false(tr_udp_addr_equal(&a, &c));
	union tr_sockaddr d = { 0 };
	assert_false(tr_udp_addr_equal(&d, &d));
}

/* Runs of equal datagrams, cut by a shorter last one, a longer next one,
 * the segment limit and the payload limit. */
static void gso_runs(void **state)
{
	(void)state;
	struct iovec v[100];

	for (unsigned i = 0; i < 100; i++)
		v[i] = (struct iovec){ NULL, 1000 };
	assert_int_equal(tr_udp_gso_run(v, 0, 65507), 0);
	assert_int_equal(tr_udp_gso_run(v, 1, 65507), 1);
	assert_int_equal(tr_udp_gso_run(v, 10, 65507), 10);
	assert_int_equal(tr_udp_gso_run(v, 100, 65507), TR_UDP_GSO_SEGS_MAX);
	assert_int_equal(tr_udp_gso_run(v, 100, 3000), 3);
	assert_int_equal(tr_udp_gso_run(v, 100, 2999), 2);
	v[5].iov_len = 400; /* shorter: joins as the last */
	assert_int_equal(tr_udp_gso_run(v, 100, 65507), 6);
	assert_int_equal(tr_udp_gso_run(v + 5, 95, 65507), 1); /* longer ones follow */
	v[5].iov_len = 1001; /* longer: ends the run before it */
	assert_int_equal(tr_udp_gso_run(v, 100, 65507), 5);
	/* 45 full-MTU ESP datagrams (a 64 KiB super-packet) make one message. */
	for (unsigned i = 0; i < 100; i++)
		v[i].iov_len = 1456;
	assert_int_equal(tr_udp_gso_run(v, 45, 65507), 44); /* 45 x 1456 = 65520 */
	assert_int_equal(tr_udp_gso_run(v, 45, 65527), 45); /* IPv6: 65520 fits */
	struct tr_udp u = { 0 };
	u.local.sa.sa_family = AF_INET;
	assert_int_equal(tr_udp_gso_max_payload(&u), 65507);
	u.local.sa.sa_family = AF_INET6;
	assert_int_equal(tr_udp_gso_max_payload(&u), 65527);
}

/* Fills iov[0..n) of len bytes each from buf with a pattern per datagram. */
static void fill(uint8_t *buf, struct iovec *iov, unsigned n, size_t len, size_t last)
{
	for (unsigned i = 0; i < n; i++) {
		size_t l = i + 1 < n ? len : last;
		iov[i] = (struct iovec){ buf + i * SLOT + HEAD, l };
		for (size_t j = 0; j < l; j++)
			buf[i * SLOT + HEAD + j] = (uint8_t)(i * 7 + j);
	}
}

/* UDP_SEGMENT out of scattered slots, UDP_GRO in: a batch arrives as one
 * message of gso_size segments back to back; a lone datagram as itself. A
 * receiver without GRO sees the same batch as separate datagrams. */
static void gso_and_gro(void **state)
{
	(void)state;
	static uint8_t tx_ring[12 * SLOT], big[TR_UDP_GRO_MSG_MAX], one[2048];
	struct iovec tx[12], rxv[2] = { { big, sizeof(big) }, { one, sizeof(one) } };
	struct tr_udp a, b;

	pair(&a, &b, TR_UDP_F_GSO | TR_UDP_F_GRO);
	if (!(a.flags & TR_UDP_F_GSO) || !(b.flags & TR_UDP_F_GRO))
		skip();
	fill(tx_ring, tx, 11, 1000, 500);
	tx[11] = (struct iovec){ tx_ring + 11 * SLOT + HEAD, 300 };
	memset(tx[11].iov_base, 0xab, 300);
	struct tr_udp_msg m[2] = {
		{ .iov = tx, .iovlen = 11, .seg = 1000 },
		{ .iov = &tx[11], .iovlen = 1 },
	};
	assert_int_equal(tr_udp_send_msgs(&a, m, 2), 2);
	assert_int_equal(a.stats.tx_syscalls, 1);
	assert_int_equal(a.stats.tx_gso_sends, 1);
	assert_int_equal(a.stats.tx_gso_segments, 11);
	assert_int_equal(a.stats.tx_datagrams, 12);
	assert_int_equal(a.stats.tx_bytes, 10 * 1000 + 500 + 300);

	/* A peek tells the batch's size and takes nothing. */
	uint32_t plen = 0, pseg = 0;
	struct pollfd pp = { .fd = b.fd, .events = POLLIN };
	assert_int_equal(poll(&pp, 1, 1000), 1);
	assert_int_equal(tr_udp_peek(&b, &plen, &pseg), 0);
	assert_int_equal(plen, 10500);
	assert_int_equal(pseg, 1000);
	assert_int_equal(tr_udp_peek(&b, &plen, &pseg), 0);
	assert_int_equal(plen, 10500);

	struct tr_udp_msg r[2] = { { .iov = &rxv[0], .iovlen = 1 }, { .iov = &rxv[1], .iovlen = 1 } };
	unsigned got = 0;
	for (int tries = 0; got < 2 && tries < 100; tries++) {
		struct pollfd p = { .fd = b.fd, .events = POLLIN };
		poll(&p, 1, 10);
		int c = tr_udp_recv_msgs(&b, r + got, 2 - got);
		if (c > 0)
			got += (unsigned)c;
	}
	assert_int_equal(got, 2);
	assert_int_equal(r[0].res, 0);
	assert_int_equal(r[0].len, 10500);
	assert_int_equal(r[0].seg, 1000);
	for (unsigned i = 0; i < 11; i++)
		assert_memory_equal(big + i * 1000, tx[i].iov_base, tx[i].iov_len);
	assert_int_equal(r[1].res, 0);
	assert_int_equal(r[1].len, 300);
	assert_int_equal(r[1].seg, 0);
	assert_memory_equal(one, tx[11].iov_base, 300);
	assert_int_equal(b.stats.rx_gro_batches, 1);
	assert_int_equal(b.stats.rx_gro_datagrams, 11);
	assert_int_equal(b.stats.rx_datagrams, 12);
	assert_true(b.stats.rx_syscalls >= 3); /* two peeks and a receive at least */
	assert_int_equal(tr_udp_peek(&b, &plen, &pseg), -EAGAIN);

	/* Past the kernel's segment limit: refused as a GSO problem, counted,
	 * so the tunnel falls back to one datagram per message. */
	static uint8_t small_dgrams[100];
	struct iovec many[TR_UDP_GSO_SEGS_MAX + 1];
	for (unsigned i = 0; i <= TR_UDP_GSO_SEGS_MAX; i++)
		many[i] = (struct iovec){ small_dgrams, sizeof(small_dgrams) };
	struct tr_udp_msg over = { .iov = many, .iovlen = TR_UDP_GSO_SEGS_MAX + 1, .seg = 100 };
	int err = tr_udp_send_msgs(&a, &over, 1);
	if (err != 1) { /* newer kernels take 128 segments */
		assert_true(tr_udp_gso_refused(err));
		assert_int_equal(a.stats.tx_err, 1);
	}
	assert_false(tr_udp_gso_refused(-ECONNREFUSED));
	assert_false(tr_udp_gso_refused(-EMSGSIZE));
	/* A room too small for the batch: truncated, dropped, counted. */
	struct iovec small = { big, 4000 };
	struct tr_udp_msg t = { .iov = &small, .iovlen = 1 };
	assert_int_equal(tr_udp_send_msgs(&a, m, 1), 1);
	struct pollfd p = { .fd = b.fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 1000), 1);
	assert_int_equal(tr_udp_recv_msgs(&b, &t, 1), 1);
	assert_int_equal(t.res, -EMSGSIZE);
	/* Every datagram of the batch that reached the room is counted, not
	 * the message (the batch is the 65 x 100 one if the kernel took it). */
	assert_true(t.seg > 0);
	assert_true(b.stats.rx_drop_trunc > 1);
	assert_int_equal(b.stats.rx_drop_trunc, (t.len + t.seg - 1) / t.seg);
	tr_udp_close(&b);

	/* Without GRO the kernel segments: 11 datagrams, each as sent. */
	struct tr_udp c;
	union tr_sockaddr any = lo(0);
	assert_int_equal(tr_udp_open(&c, &any, &a.local, 0, 0), 0);
	assert_int_equal(tr_udp_set_peer(&a, &c.local), 0);
	assert_int_equal(tr_udp_send_msgs(&a, m, 1), 1);
	static uint8_t rx_ring[11 * SLOT];
	struct iovec rx[11];
	int32_t res[11];
	for (unsigned i = 0; i < 11; i++)
		rx[i] = (struct iovec){ rx_ring + i * SLOT, SLOT };
	assert_int_equal(recv_all(&c, rx, res, 11), 11);
	for (unsigned i = 0; i < 11; i++) {
		assert_int_equal(res[i], (int32_t)tx[i].iov_len);
		assert_memory_equal(rx_ring + i * SLOT, tx[i].iov_base, tx[i].iov_len);
	}
	tr_udp_close(&a);
	tr_udp_close(&c);
}

/* The peer check holds for every message of a GRO receive. */
static void gro_peer_check(void **state)
{
	(void)state;
	static uint8_t room[2][2048];
	struct iovec v[2] = { { room[0], 2048 }, { room[1], 2048 } };
	struct tr_udp a, b;
	union tr_sockaddr any = lo(0);

	pair(&a, &b, TR_UDP_F_GRO);
	int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(c, &any.sa, sizeof(any.in)), 0);
	assert_int_equal(sendto(c, "junk", 4, 0, &b.local.sa, sizeof(b.local.in)), 4);
	struct iovec tx = { (void *)"esp!", 4 };
	/* The stranger's datagram heads the queue: no layout hint from it. */
	struct pollfd pp = { .fd = b.fd, .events = POLLIN };
	assert_int_equal(poll(&pp, 1, 1000), 1);
	uint32_t plen = 0, pseg = 0;
	assert_int_equal(tr_udp_peek(&b, &plen, &pseg), -EADDRNOTAVAIL);
	assert_int_equal(tr_udp_send_burst(&a, &tx, 1), 1);
	struct tr_udp_msg r[2] = { { .iov = &v[0], .iovlen = 1 }, { .iov = &v[1], .iovlen = 1 } };
	unsigned got = 0;
	for (int tries = 0; got < 2 && tries < 100; tries++) {
		struct pollfd p = { .fd = b.fd, .events = POLLIN };
		poll(&p, 1, 10);
		int n = tr_udp_recv_msgs(&b, r + got, 2 - got);
		if (n > 0)
			got += (unsigned)n;
	}
	assert_int_equal(got, 2);
	assert_int_equal(r[0].res, -EADDRNOTAVAIL);
	assert_int_equal(r[1].res, 0);
	assert_memory_equal(room[1], "esp!", 4);
	assert_int_equal(b.stats.rx_drop_peer, 1);
	assert_int_equal(b.stats.rx_datagrams, 1);
	close(c);
	tr_udp_close(&a);
	tr_udp_close(&b);
}

/* A burst that stops at an ICMP error returns the count sent and the
 * kernel drops the error: the error queue stays, poll says POLLERR, a
 * receive says EAGAIN, and only tr_udp_drain_errors clears it (the
 * tunnel's workers call it then, or every poll would return at once).
 * Loopback sends its port unreachables at once and without a rate limit. */
static void error_queue_drained(void **state)
{
	union tr_sockaddr any = lo(0), gone;
	struct tr_udp u;
	uint8_t buf[32] = { 0 }, rbuf[64];
	struct iovec iov[8], riov = { rbuf, sizeof(rbuf) };
	int32_t res;
	int fd, sent;

	(void)state;
	/* A port that was just closed: nobody listens there. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	gone = lo(0);
	assert_int_equal(bind(fd, &gone.sa, sizeof(gone.in)), 0);
	socklen_t len = sizeof(gone.in);
	assert_int_equal(getsockname(fd, &gone.sa, &len), 0);
	close(fd);
	assert_int_equal(tr_udp_open(&u, &any, &gone, 0, TR_UDP_F_ROAM), 0);
	for (int i = 0; i < 8; i++)
		iov[i] = (struct iovec){ buf, sizeof(buf) };
	sent = tr_udp_send_burst(&u, iov, 8);
	if (sent == 8 || sent < 0)
		skip(); /* the error came after the burst, or stopped it whole */
	struct pollfd p = { .fd = u.fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_true(p.revents & POLLERR);
	assert_int_equal(tr_udp_recv_burst(&u, &riov, &res, 1), -EAGAIN);
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_true(p.revents & POLLERR); /* the receive did not clear it */
	tr_udp_drain_errors(&u);
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 0), 0);
	tr_udp_close(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(batch_through_slots),
		cmocka_unit_test(burst_is_capped),
		cmocka_unit_test(foreign_and_oversize_dropped),
		cmocka_unit_test(connected_mode),
		cmocka_unit_test(kernel_drops_counted),
		cmocka_unit_test(open_errors_and_sizes),
		cmocka_unit_test(address_compare),
		cmocka_unit_test(gso_runs),
		cmocka_unit_test(gso_and_gro),
		cmocka_unit_test(error_queue_drained),
		cmocka_unit_test(gro_peer_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
