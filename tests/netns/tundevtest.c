/* SPDX-License-Identifier: MIT */
/*
 * TUN device backend end to end, run inside tundev-echo.sh's namespace:
 * echo requests to the device's own addresses go in through the ingress ring
 * (tr_tx_allocate/commit) and the kernel's replies come back on the egress
 * ring (tr_rx_receive), IPv4 and IPv6, with and without head/tail room, both
 * I/O backends; an aggregated slot of three packets gives three replies; a
 * malformed member is a counted drop and the ring keeps working; then the
 * same through the Wintun-compatible API. Each session case runs twice:
 * served by the engine's thread, and run to completion in this thread
 * (TR_SESSION_F_INLINE), where also the session fd and tr_session_wake are
 * checked.
 * Usage: tundevtest  (exit 0 ok, 1 failure with a message)
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "icmp.h"
#include "tunroom/device.h"
#include "tunroom/tun.h"
#include "tunroom/tunroom.h"
#include "tunroom/wintun.h"

#define SRC4 "198.18.0.2"
#define DST4 "198.18.0.1"
#define SRC6 "fd00::2"
#define DST6 "fd00::1"
#define TIMEOUT_MS 3000

static struct tr_device *g_dev; /* for the counters in a failure message */
static uint32_t g_sflags;       /* session flags of this pass: 0 or TR_SESSION_F_INLINE */

#define CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "tundevtest:%d: %s: ", __LINE__, #cond); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); dump_stats(); exit(1); } } while (0)

static void dump_stats(void)
{
	struct tr_tundev_stats t;

	if (!g_dev || tr_tundev_stats(g_dev, &t))
		return;
	fprintf(stderr, "device: %llu in, %llu out, %llu malformed, %llu write errors, "
		"%llu read errors, %llu sleeps\n", (unsigned long long)t.ingress_packets,
		(unsigned long long)t.egress_packets, (unsigned long long)t.ingress_drop_malformed,
		(unsigned long long)t.ingress_err_write, (unsigned long long)t.egress_err_read,
		(unsigned long long)t.polls);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t build(uint8_t *buf, bool v6, uint16_t seq)
{
	return v6 ? build_echo6(buf, SRC6, DST6, seq) : build_echo4(buf, SRC4, DST4, seq);
}

static int reply_seq(const uint8_t *p, uint32_t len)
{
	int seq = echo_reply_seq(p, len, SRC4, DST4);

	return seq >= 0 ? seq : echo_reply_seq(p, len, SRC6, DST6);
}

/* Receives until every seq in [first, first + n) came back once; other
 * traffic (IPv6 router solicitations, MLD) is released and ignored. */
static void expect_replies(struct tr_session *s, uint16_t first, unsigned n,
			   uint32_t head, uint32_t tail)
{
	long deadline = now_ms() + TIMEOUT_MS;
	uint64_t seen = 0;
	unsigned got = 0;

	while (got < n) {
		struct tr_pkt pkt;
		int err, seq;

		err = tr_rx_receive(s, &pkt);
		if (err == -EAGAIN) {
			long left = deadline - now_ms();

			CHECK(left > 0, "%u of %u replies from seq %u", got, n, first);
			err = tr_rx_wait(s, (int)left);
			CHECK(err >= 0, "%s", tr_strerror(err));
			continue;
		}
		CHECK(err == 0, "%s", tr_strerror(err));
		/* The room is there, and ours to write (docs/ring-abi.md rule 1). */
		CHECK(tr_pkt_headroom(&pkt) >= head && tr_pkt_tailroom(&pkt) >= tail,
		      "room %u/%u, want %u/%u", tr_pkt_headroom(&pkt), tr_pkt_tailroom(&pkt),
		      head, tail);
		memset(pkt.buf, 0xa5, pkt.off);
		memset(tr_pkt_tail(&pkt), 0x5a, tr_pkt_tailroom(&pkt));
		seq = reply_seq(tr_pkt_data(&pkt), pkt.len);
		if (seq >= first && seq < first + (int)n && !(seen & (1ull << (seq - first)))) {
			seen |= 1ull << (seq - first);
			got++;
		}
		CHECK(tr_rx_release(s, &pkt) == 0, "release");
	}
}

static void send_one(struct tr_session *s, bool v6, uint16_t seq, uint32_t head, uint32_t tail)
{
	struct tr_pkt pkt;
	size_t len;
	int err;

	/* Over-allocate, write, then commit the real length (a shrink). */
	err = tr_tx_allocate(s, 1500, &pkt);
	CHECK(err == 0, "allocate: %s", tr_strerror(err));
	CHECK(tr_pkt_headroom(&pkt) >= head && tr_pkt_tailroom(&pkt) >= tail, "tx room");
	memset(pkt.buf, 0xee, pkt.off); /* head room is ours: the device must not send it */
	len = build(tr_pkt_data(&pkt), v6, seq);
	pkt.len = (uint32_t)len;
	memset(tr_pkt_tail(&pkt), 0xee, tr_pkt_tailroom(&pkt) < 64 ? tr_pkt_tailroom(&pkt) : 64);
	err = tr_tx_commit(s, &pkt, 0);
	CHECK(err == 0, "commit: %s", tr_strerror(err));
}

/* One slot holding several packets back to back (TR_TX_MULTI); garbage_at
 * >= 0 puts a non-IP member there, which drops the rest of the slot. */
static unsigned send_multi(struct tr_session *s, uint16_t seq, unsigned n, int garbage_at)
{
	struct tr_pkt pkt;
	uint32_t off = 0;
	unsigned sent = 0;
	int err;

	err = tr_tx_allocate(s, 4096, &pkt);
	CHECK(err == 0, "allocate: %s", tr_strerror(err));
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = tr_pkt_data(&pkt) + off;

		if ((int)i == garbage_at) {
			memset(p, 0x00, 60); /* version 0: not IP */
			off += 60;
			continue;
		}
		off += (uint32_t)build(p, i % 2, (uint16_t)(seq + i));
		if (garbage_at < 0 || (int)i < garbage_at)
			sent++;
	}
	pkt.len = off;
	err = tr_tx_commit(s, &pkt, TR_TX_MULTI);
	CHECK(err == 0, "commit multi: %s", tr_strerror(err));
	return sent;
}

static void session_round(struct tr_device *dev, uint32_t head, uint32_t tail)
{
	struct tr_session_config sc = { .capacity = 1u << 20, .head_room = head, .tail_room = tail,
					.flags = g_sflags };
	struct tr_tundev_stats before, after;
	struct tr_session *s;
	struct tr_stats st;
	uint16_t seq = 0;
	int err;

	err = tr_session_open(&s, dev, &sc);
	CHECK(err == 0, "session open: %s", tr_strerror(err));

	/* A burst each way per family. */
	for (int v6 = 0; v6 < 2; v6++) {
		for (unsigned i = 0; i < 8; i++)
			send_one(s, v6, (uint16_t)(seq + i), head, tail);
		expect_replies(s, seq, 8, head, tail);
		seq += 8;
	}

	/* Three packets in one slot: three replies. */
	CHECK(send_multi(s, seq, 3, -1) == 3, "multi");
	expect_replies(s, seq, 3, head, tail);
	seq += 3;

	/* A malformed member: the members before it go, it and the rest are
	 * one counted drop, and the ring goes on working. */
	tr_tundev_stats(dev, &before);
	CHECK(send_multi(s, seq, 3, 1) == 1, "multi with garbage");
	expect_replies(s, seq, 1, head, tail);
	seq += 3;
	send_one(s, false, seq, head, tail);
	expect_replies(s, seq, 1, head, tail);
	seq++;
	tr_tundev_stats(dev, &after);
	CHECK(after.ingress_drop_malformed == before.ingress_drop_malformed + 1,
	      "malformed drops %llu -> %llu", (unsigned long long)before.ingress_drop_malformed,
	      (unsigned long long)after.ingress_drop_malformed);

	/* The engine's I/O counts while the port runs, not only once it
	 * stops: past its polls, at least one read or write for what moved. */
	long deadline = now_ms() + TIMEOUT_MS;
	do {
		CHECK(now_ms() < deadline, "syscalls %llu, polls %llu while running",
		      (unsigned long long)after.syscalls, (unsigned long long)after.polls);
		tr_tundev_stats(dev, &after);
	} while (after.syscalls <= after.polls);

	tr_session_stats(s, &st);
	tr_session_close(s);
	tr_tundev_stats(dev, &after);
	printf("  room %u/%u: tx %llu rx %llu packets; device: %llu in, %llu out, "
	       "%llu malformed, %llu syscalls, %llu sleeps\n", head, tail,
	       (unsigned long long)st.tx_packets, (unsigned long long)st.rx_packets,
	       (unsigned long long)after.ingress_packets, (unsigned long long)after.egress_packets,
	       (unsigned long long)after.ingress_drop_malformed,
	       (unsigned long long)after.syscalls, (unsigned long long)after.polls);
}

static void tundev_rounds(uint32_t flags)
{
	const char *addrs[] = { DST4 "/24", DST6 "/64" };
	struct tr_tundev_config cfg = {
		.name = "trs%d", .mtu = 1400, .addresses = addrs, .n_addresses = 2,
		.flags = TR_TUNDEV_F_CREATE | flags,
	};
	struct tr_device *dev;
	char name[IFNAMSIZ];
	int err;

	err = tr_tundev_open(&dev, &cfg);
	CHECK(err == 0, "%s", tr_tundev_strerror(err));
	g_dev = dev;
	snprintf(name, sizeof(name), "%s", tr_tundev_name(dev));
	CHECK(if_nametoindex(name) == (unsigned)tr_tundev_ifindex(dev), "ifindex");
	printf("%s (%s, %s):\n", name, tr_tundev_io_backend(dev), g_sflags ? "inline" : "thread");
	session_round(dev, 0, 0);
	session_round(dev, 64, 32);
	/* A second session after the first closed reuses the queue. */
	session_round(dev, 1024, 1024);
	g_dev = NULL;
	tr_device_close(dev);
	/* Not persistent: the device went with its last descriptor. */
	CHECK(if_nametoindex(name) == 0, "%s still exists", name);
}

static uint8_t *wintun_receive(WINTUN_SESSION_HANDLE s, uint32_t *size, long deadline)
{
	for (;;) {
		uint8_t *p = WintunReceivePacket(s, size);
		struct pollfd pfd = { .fd = WintunGetReadWaitEvent(s), .events = POLLIN };

		if (p)
			return p;
		CHECK(errno == ERROR_NO_MORE_ITEMS, "receive: %s", strerror(errno));
		CHECK(now_ms() < deadline, "no reply");
		poll(&pfd, 1, 100);
	}
}

static void wintun_round(WINTUN_SESSION_HANDLE s, bool shrink, uint16_t first)
{
	long deadline = now_ms() + TIMEOUT_MS;
	unsigned got = 0;

	for (uint16_t i = 0; i < 4; i++) {
		uint8_t tmp[256];
		size_t len = build(tmp, i % 2, (uint16_t)(first + i));
		uint8_t *p = WintunAllocateSendPacket(s, shrink ? 1400 : (uint32_t)len);

		CHECK(p, "allocate: %s", strerror(errno));
		memcpy(p, tmp, len); /* the test builds elsewhere; a VPN decrypts here */
		if (shrink)
			CHECK(WintunShrinkAndSendPacket(s, p, (uint32_t)len) == 0, "shrink");
		else
			WintunSendPacket(s, p);
	}
	while (got < 4) {
		uint32_t size;
		uint8_t *p = wintun_receive(s, &size, deadline);
		int seq = reply_seq(p, size);

		got += seq >= first && seq < first + 4;
		WintunReleaseReceivePacket(s, p);
	}
}

/* Request/response through the Wintun API the way an application drives
 * it: a burst of 32 echo requests, then wait on the read event for the 32
 * replies, release each, repeat. Far more bursts than a 4 MiB ring holds
 * reservations for, so space that is never given back stalls the session
 * (issue 14: in-order releases by pointer did not advance the consumer).
 * A wait on the read event that ends with nothing to receive for a whole
 * STALL_MS is that stall: progress never depends on a timeout here. */
#define RR_BURST 32
#define RR_BURSTS 400
#define STALL_MS 2000

static void wintun_request_response(WINTUN_ADAPTER_HANDLE a)
{
	WINTUN_SESSION_HANDLE s = WintunStartSessionWithPadding(a, 0x400000, 64, 64);
	uint16_t seq = 1000;

	CHECK(s, "rr session: %s", strerror(errno));
	for (unsigned b = 0; b < RR_BURSTS; b++) {
		unsigned got = 0;

		for (unsigned i = 0; i < RR_BURST; i++) {
			uint8_t tmp[256];
			size_t len = build(tmp, false, (uint16_t)(seq + i));
			uint8_t *p = WintunAllocateSendPacket(s, (uint32_t)len);

			CHECK(p, "burst %u: allocate: %s", b, strerror(errno));
			memcpy(p, tmp, len);
			WintunSendPacket(s, p);
		}
		while (got < RR_BURST) {
			uint32_t size;
			uint8_t *p = WintunReceivePacket(s, &size);

			if (!p) {
				struct pollfd pfd = { .fd = WintunGetReadWaitEvent(s),
						      .events = POLLIN };

				CHECK(errno == ERROR_NO_MORE_ITEMS, "receive: %s", strerror(errno));
				CHECK(poll(&pfd, 1, STALL_MS) == 1,
				      "stalled in burst %u after %u round trips: %u of %u replies",
				      b, b * RR_BURST + got, got, RR_BURST);
				continue;
			}
			int r = reply_seq(p, size);
			got += r >= seq && r < seq + RR_BURST;
			errno = 0;
			WintunReleaseReceivePacket(s, p);
			CHECK(errno == 0, "release: %s", strerror(errno));
		}
		seq = (uint16_t)(seq + RR_BURST);
	}
	WintunEndSession(s);
	printf("wintun: %u request/response bursts of %u, 4 MiB ring, lead/trail 64: ok\n",
	       RR_BURSTS, RR_BURST);
}

static void wintun_rounds(void)
{
	const char *addrs[] = { DST4 "/24", DST6 "/64" };
	struct tr_tundev_config cfg = { .name = "trwin0", .addresses = addrs, .n_addresses = 2,
					.flags = TR_TUNDEV_F_PERSIST };
	WINTUN_ADAPTER_HANDLE a;
	WINTUN_SESSION_HANDLE s;
	struct tr_device *dev;

	/* Addresses are set up by the OS side in Wintun's model; here a
	 * persistent device stands in for that, and WintunOpenAdapter finds it. */
	CHECK(tr_tundev_open(&dev, &cfg) == 0, "setup");
	tr_device_close(dev);

	errno = 0;
	CHECK(!WintunOpenAdapter("trnosuch0"), "open of a missing adapter");
	CHECK(errno == ENODEV, "errno %d", errno);
	a = WintunOpenAdapter("trwin0");
	CHECK(a, "open adapter: %s", strerror(errno));
	s = WintunStartSession(a, 0x400000);
	CHECK(s, "session: %s", strerror(errno));
	wintun_round(s, false, 100);
	WintunEndSession(s);
	s = WintunStartSessionWithPadding(a, 0x400000, 73, 40);
	CHECK(s, "padded session: %s", strerror(errno));
	wintun_round(s, true, 200);
	WintunEndSession(s);
	wintun_request_response(a);
	WintunCloseAdapter(a);
	/* Opened, not created: closing leaves it. */
	CHECK(if_nametoindex("trwin0") != 0, "trwin0 removed by close of an opened adapter");

	/* Created by WintunCreateAdapter: up, no addresses, gone on close. */
	a = WintunCreateAdapter("trwin1", "tunroom", NULL);
	CHECK(a, "create adapter: %s", strerror(errno));
	CHECK(if_nametoindex("trwin1") != 0, "trwin1 missing");
	WintunCloseAdapter(a);
	CHECK(if_nametoindex("trwin1") == 0, "trwin1 left behind");
	errno = 0;
	CHECK(!WintunCreateAdapter("a-name-far-too-long", "tunroom", NULL), "long name");
	CHECK(errno == EINVAL, "errno %d", errno);
	printf("wintun: open/create/close, sessions with and without padding, shrink: ok\n");
}

/* An IPv4 echo request of total bytes (RFC 792), the reply the same size. */
static size_t build_echo4_sized(uint8_t *buf, uint16_t seq, size_t total)
{
	uint8_t *icmp = buf + 20;

	memset(buf, 0, total);
	buf[0] = 0x45;
	put16(buf + 2, (uint16_t)total);
	put16(buf + 4, seq);
	buf[8] = 64;
	buf[9] = 1;
	inet_pton(AF_INET, SRC4, buf + 12);
	inet_pton(AF_INET, DST4, buf + 16);
	put16(buf + 10, ref_csum_fold(ref_csum_add(0, buf, 20)));
	icmp[0] = 8;
	put16(icmp + 4, ICMP_ECHO_ID);
	put16(icmp + 6, seq);
	for (size_t i = 8; i < total - 20; i++)
		icmp[i] = (uint8_t)(seq + i);
	put16(icmp + 2, ref_csum_fold(ref_csum_add(0, icmp, total - 20)));
	return total;
}

/* Ring space sized to packets (issue 14, item 2): a 4 MiB ring holds at
 * least 2,000 packets of 1,500 bytes in flight each way, with TUN offloads
 * on (vnet_hdr + TSO, where every read spans room for a 64 KiB packet).
 * Egress: 1,500-byte echo replies received and held, never released,
 * until the ring is full. Ingress: 1,500-byte allocations held, never
 * committed. Prints both counts (docs/ring-abi.md, "Ring space"). */
#define HELD_MAX 4000
#define HELD_WANT 2000

static void ring_holds_packets(void)
{
	const char *addrs[] = { DST4 "/24" };
	struct tr_tundev_config cfg = { .name = "trh%d", .mtu = 1500, .addresses = addrs,
					.n_addresses = 1,
					.flags = TR_TUNDEV_F_CREATE | TR_TUNDEV_F_OFFLOAD };
	struct tr_session_config sc = { .capacity = 4u << 20, .head_room = 64, .tail_room = 64,
					.flags = g_sflags };
	static struct tr_pkt held[HELD_MAX];
	struct tr_session *s;
	struct tr_device *dev;
	unsigned n = 0, tx_held = 0;
	uint16_t seq = 0;

	CHECK(tr_tundev_open(&dev, &cfg) == 0, "open");
	CHECK(tr_session_open(&s, dev, &sc) == 0, "session");
	/* Bursts of 50 requests; each burst's replies are received and kept.
	 * A burst that brings back fewer means the egress ring is full. */
	for (;;) {
		unsigned want = n + 50, before = n;
		long deadline;

		for (unsigned i = 0; i < 50; i++) {
			struct tr_pkt p;

			CHECK(tr_tx_allocate(s, 1500, &p) == 0, "allocate");
			p.len = (uint32_t)build_echo4_sized(tr_pkt_data(&p), seq++, 1500);
			CHECK(tr_tx_commit(s, &p, 0) == 0, "commit");
		}
		deadline = now_ms() + 1000;
		while (n < want && n < HELD_MAX && now_ms() < deadline) {
			int err = tr_rx_receive(s, &held[n]);

			if (err == -EAGAIN) {
				tr_rx_wait(s, 50);
				continue;
			}
			CHECK(err == 0, "%s", tr_strerror(err));
			if (held[n].len == 1500)
				n++;
			else
				tr_rx_release(s, &held[n]); /* other traffic: not counted */
		}
		if (n - before < 50 || n >= HELD_MAX - 50)
			break;
	}
	/* Ingress: allocations of 1,500 bytes, held. */
	static struct tr_pkt tx[HELD_MAX];
	while (tx_held < HELD_MAX && tr_tx_allocate(s, 1500, &tx[tx_held]) == 0)
		tx_held++;
	printf("ring space (%s): 4 MiB ring, TUN offloads %s: %u egress packets of 1500 bytes "
	       "held, %u ingress allocations of 1500 bytes held\n",
	       g_sflags ? "inline" : "thread", tr_tundev_offload(dev), n, tx_held);
	CHECK(n >= HELD_WANT, "egress: only %u packets of 1500 bytes in flight (want %u)", n,
	      HELD_WANT);
	CHECK(tx_held >= HELD_WANT, "ingress: only %u allocations of 1500 bytes (want %u)",
	      tx_held, HELD_WANT);
	CHECK(tr_tx_abandon_burst(s, tx, tx_held) == 0, "abandon");
	CHECK(tr_rx_release_burst(s, held, n) == 0, "release");
	tr_session_close(s);
	tr_device_close(dev);
}

/* Two queues, two sessions at once; a third finds no free queue. The
 * kernel picks the queue of each reply by flow hash, so a reply may come
 * back on either session: together they get all of them. */
static void multi_queue(void)
{
	const char *addrs[] = { DST4 "/24" };
	struct tr_tundev_config cfg = { .name = "trq%d", .addresses = addrs, .n_addresses = 1,
					.queues = 2, .flags = TR_TUNDEV_F_CREATE };
	struct tr_session_config sc = { .capacity = 1u << 20, .flags = g_sflags };
	struct tr_session *a, *b, *c;
	struct tr_device *dev;
	long deadline = now_ms() + TIMEOUT_MS;
	uint64_t seen = 0;
	unsigned got = 0, on_b = 0;
	int err;

	err = tr_tundev_open(&dev, &cfg);
	CHECK(err == 0, "%s", tr_tundev_strerror(err));
	CHECK(tr_session_open(&a, dev, &sc) == 0, "session a");
	CHECK(tr_session_open(&b, dev, &sc) == 0, "session b");
	CHECK(tr_session_open(&c, dev, &sc) == -EBUSY, "third session on two queues");
	for (uint16_t i = 0; i < 16; i++)
		send_one(i % 2 ? b : a, false, i, 0, 0);
	while (got < 16) {
		struct tr_session *s = got % 2 ? a : b;
		struct tr_pkt pkt;
		int seq;

		CHECK(now_ms() < deadline, "%u of 16 replies", got);
		for (int k = 0; k < 2; k++, s = s == a ? b : a) {
			if (tr_rx_receive(s, &pkt) != 0)
				continue;
			seq = reply_seq(tr_pkt_data(&pkt), pkt.len);
			if (seq >= 0 && seq < 16 && !(seen & (1ull << seq))) {
				seen |= 1ull << seq;
				got++;
				on_b += s == b;
			}
			tr_rx_release(s, &pkt);
		}
		tr_rx_wait(a, 10);
	}
	/* A queue freed by a closed session serves the next one. */
	tr_session_close(b);
	CHECK(tr_session_open(&c, dev, &sc) == 0, "session after a close");
	tr_session_close(c);
	tr_session_close(a);
	tr_device_close(dev);
	printf("multi-queue: 16 replies over 2 sessions (%u on the second)\n", on_b);
}

/* The link deleted under a running session: the session ends (-EPIPE),
 * nothing crashes, and closing still works. */
static void link_deleted(void)
{
	const char *addrs[] = { DST4 "/24" };
	struct tr_tundev_config cfg = { .name = "trd0", .addresses = addrs, .n_addresses = 1,
					.flags = TR_TUNDEV_F_CREATE };
	struct tr_session_config sc = { .capacity = 1u << 20, .flags = g_sflags };
	struct tr_session *s;
	struct tr_device *dev;
	struct tr_pkt pkt;
	long deadline = now_ms() + TIMEOUT_MS;
	int err;

	CHECK(tr_tundev_open(&dev, &cfg) == 0, "open");
	CHECK(tr_session_open(&s, dev, &sc) == 0, "session");
	CHECK(system("ip link del dev trd0") == 0, "ip link del");
	do {
		CHECK(now_ms() < deadline, "session still running after the link went");
		tr_rx_wait(s, 100);
		err = tr_rx_receive(s, &pkt);
		if (err == 0)
			tr_rx_release(s, &pkt);
	} while (err == 0 || err == -EAGAIN);
	CHECK(err == -EPIPE, "%s", tr_strerror(err));
	tr_session_close(s);
	tr_device_close(dev);
	printf("link deleted under a session: session over (%s)\n", tr_strerror(err));
}

static void *wake_later(void *arg)
{
	poll(NULL, 0, 50);
	tr_session_wake(arg);
	return NULL;
}

/* tr_session_wake ends a tr_rx_wait that has nothing to wait for well
 * before its timeout, in both modes. */
static void session_wake(struct tr_device *dev)
{
	struct tr_session_config sc = { .capacity = 1u << 20, .flags = g_sflags };
	struct tr_session *s;
	pthread_t th;
	struct tr_pkt pkt;

	CHECK(tr_session_open(&s, dev, &sc) == 0, "session");
	while (tr_rx_receive(s, &pkt) == 0) /* router solicitations and the like */
		tr_rx_release(s, &pkt);
	long t0 = now_ms();
	CHECK(pthread_create(&th, NULL, wake_later, s) == 0, "thread");
	int w = tr_rx_wait(s, 5000);
	long took = now_ms() - t0;
	pthread_join(th, NULL);
	CHECK(w == 1 && took < 4000, "tr_rx_wait returned %d after %ld ms", w, took);

	/* tr_rx_wait_fds: a descriptor of the caller's own is reported in
	 * its revents (0: the session itself has nothing), a wake-up is the
	 * session's (1), and too many descriptors are refused. */
	int pp[2];
	CHECK(pipe(pp) == 0, "pipe");
	CHECK(write(pp[1], "x", 1) == 1, "pipe write");
	struct pollfd extra[TR_RX_WAIT_FDS_MAX + 1] = { { .fd = pp[0], .events = POLLIN } };
	/* The kernel's own traffic on a new link (router solicitations) may
	 * make the session ready, and a doorbell rung for an earlier packet
	 * may wake it once for nothing: take what came and look again. */
	for (int tries = 0; tries < 20; tries++) {
		w = tr_rx_wait_fds(s, extra, 1, 5000);
		if (w != 1)
			break;
		while (tr_rx_receive(s, &pkt) == 0)
			tr_rx_release(s, &pkt);
	}
	CHECK(w == 0 && (extra[0].revents & POLLIN), "wait_fds: %d, revents %#x", w,
	      extra[0].revents);
	CHECK(tr_session_wake(s) == 0, "wake");
	extra[0].fd = -1;
	w = tr_rx_wait_fds(s, extra, 1, 5000);
	CHECK(w == 1 && !extra[0].revents, "wait_fds after a wake-up: %d", w);
	CHECK(tr_rx_wait_fds(s, extra, TR_RX_WAIT_FDS_MAX + 1, 0) == -EINVAL, "too many fds");
	close(pp[0]);
	close(pp[1]);
	tr_session_close(s);
}

/* Inline only: the session fd is the device's readiness. Requests are
 * written inside the commit; the fd then polls readable for the replies
 * (nothing was received yet: they wait in the kernel's TUN queue), and
 * once they are all received and released, not readable. */
static void inline_fd(struct tr_device *dev)
{
	struct tr_session_config sc = { .capacity = 1u << 20, .flags = TR_SESSION_F_INLINE };
	struct tr_session *s;
	struct tr_stats st;

	CHECK(tr_session_open(&s, dev, &sc) == 0, "session");
	struct pollfd pfd = { .fd = tr_session_fd(s), .events = POLLIN };
	for (uint16_t i = 0; i < 4; i++)
		send_one(s, false, (uint16_t)(5000 + i), 0, 0);
	tr_session_stats(s, &st);
	CHECK(st.wakeups_sent == 0, "%llu doorbell rings with no device thread",
	      (unsigned long long)st.wakeups_sent);
	CHECK(poll(&pfd, 1, TIMEOUT_MS) == 1 && pfd.revents & POLLIN,
	      "session fd not readable with replies waiting");
	expect_replies(s, 5000, 4, 0, 0);
	/* Drain whatever else came (IPv6 neighbour traffic has no address
	 * to come from here, but be safe), then the fd must go quiet. */
	struct tr_pkt pkt;
	while (tr_rx_receive(s, &pkt) == 0)
		tr_rx_release(s, &pkt);
	CHECK(poll(&pfd, 1, 0) == 0, "session fd readable with nothing to receive");
	/* tr_rx_wait reads from the device itself here, and says 1 however
	 * many packets that read moved (the engine's batches grow: 1, 2, 4). */
	for (uint16_t i = 0; i < 8; i++)
		send_one(s, false, (uint16_t)(5100 + i), 0, 0);
	struct tr_pkt pkts[64];
	unsigned got = 0;
	int w, n;
	/* A burst receive reads nothing once it took what the ring held, so
	 * each wait's read is the next (larger) batch. */
	while (got < 8 && (w = tr_rx_wait(s, TIMEOUT_MS)) > 0) {
		CHECK(w == 1, "tr_rx_wait returned %d, not 1", w);
		n = tr_rx_receive_burst(s, pkts, 64);
		CHECK(n >= 0, "receive: %s", tr_strerror(n));
		CHECK(tr_rx_release_burst(s, pkts, (unsigned)n) == 0, "release");
		got += (unsigned)n;
	}
	CHECK(got >= 8, "%u of 8 replies", got);
	tr_session_close(s);
	printf("inline: session fd readable exactly while replies wait, no doorbells\n");
}

struct waiter {
	struct tr_session *s;
	int released;        /* set by the main thread just before its release */
	int ret, early;
	long took;
};

static void *wait_full(void *arg)
{
	struct waiter *w = arg;
	long t0 = now_ms();

	w->ret = tr_rx_wait(w->s, 5000);
	w->early = !__atomic_load_n(&w->released, __ATOMIC_ACQUIRE);
	w->took = now_ms() - t0;
	return NULL;
}

/* Inline only: with the egress ring full (every slot received and held),
 * a thread in tr_rx_wait sleeps until another thread's release makes room,
 * and that release wakes it (it used to look again every millisecond). */
static void inline_full_wake(struct tr_device *dev)
{
	struct tr_session_config sc = { .capacity = 1u << 17,
					.flags = TR_SESSION_F_INLINE | TR_SESSION_F_THREADSAFE };
	static struct tr_pkt held[256];
	struct tr_session *s;
	unsigned n = 0;
	uint16_t seq = 7000;

	CHECK(tr_session_open(&s, dev, &sc) == 0, "session");
	/* 128 KiB of 1,400-byte replies: the ring is full well before 128. */
	for (int i = 0; i < 128; i++) {
		struct tr_pkt p;

		CHECK(tr_tx_allocate(s, 1400, &p) == 0, "allocate");
		p.len = (uint32_t)build_echo4_sized(tr_pkt_data(&p), seq++, 1400);
		CHECK(tr_tx_commit(s, &p, 0) == 0, "commit");
	}
	long deadline = now_ms() + TIMEOUT_MS;
	while (n < 256 && now_ms() < deadline) {
		if (tr_rx_receive(s, &held[n]) == 0)
			n++;
		else if (n > 8)
			break; /* empty: nothing came, or the ring is full */
	}
	CHECK(n > 8 && n < 128, "%u replies held: the ring should have filled", n);
	struct waiter w = { .s = s };
	pthread_t th;
	CHECK(pthread_create(&th, NULL, wait_full, &w) == 0, "thread");
	poll(NULL, 0, 100);
	__atomic_store_n(&w.released, 1, __ATOMIC_RELEASE);
	CHECK(tr_rx_release_burst(s, held, n) == 0, "release");
	pthread_join(th, NULL);
	CHECK(!w.early, "a wait on a full ring returned %d before any release", w.ret);
	CHECK(w.ret == 1 && w.took < 4000, "a wait on a full ring: %d after %ld ms", w.ret, w.took);
	tr_session_close(s);
	printf("inline: a full ring's waiter is woken by the release (%ld ms)\n", w.took);
}

static void mode_checks(void)
{
	const char *addrs[] = { DST4 "/24" };
	struct tr_tundev_config cfg = { .name = "trk%d", .addresses = addrs, .n_addresses = 1,
					.flags = TR_TUNDEV_F_CREATE };
	struct tr_device *dev;

	CHECK(tr_tundev_open(&dev, &cfg) == 0, "open");
	session_wake(dev);
	if (g_sflags) {
		inline_fd(dev);
		inline_full_wake(dev);
	}
	tr_device_close(dev);
	printf("tr_session_wake ends tr_rx_wait (%s)\n", g_sflags ? "inline" : "thread");
}

int main(void)
{
	for (int pass = 0; pass < 2; pass++) {
		g_sflags = pass ? TR_SESSION_F_INLINE : 0;
		ring_holds_packets();
		multi_queue();
		link_deleted();
		mode_checks();
		tundev_rounds(0);
		tundev_rounds(TR_TUNDEV_F_PLAIN_IO);
	}
	wintun_rounds(); /* inline on a TUN adapter (wintun.c) */
	return 0;
}
