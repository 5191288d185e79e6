/* SPDX-License-Identifier: MIT */
/*
 * bench_csum: the TUN thread's checksum loop (src/engine/csum.c), portable
 * against AVX2, side by side in one run: ns per call and ns per byte for a
 * TSO segment's payload (1448 B) and others, hot in L1 (the same bytes over
 * and over), and walking a buffer the way the TUN thread walks one TSO read
 * (1448-byte segments of a 64 KiB super-packet) and a buffer larger than the
 * caches. Thread CPU time, variants interleaved, best burst of ROUNDS. Not a
 * test: no asserts on speed (tests/unit/test_csum.c checks the sums).
 *
 *   ninja -C build && build/bench/bench_csum [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_net.h>

#include "engine/csum.h"
#include "engine/gso.h"

#define ROUNDS 15

typedef uint64_t csum_fn(const void *p, uint32_t len, uint64_t sum);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Sums `calls` pieces of len bytes, the piece at offset (k * len) % span of
 * buf: span = len keeps them hot, a larger span walks the buffer. Returns
 * ns per call; *sink keeps the sums alive. */
static double burst(csum_fn *fn, const uint8_t *buf, uint32_t span, uint32_t len,
		    unsigned calls, uint64_t *sink)
{
	uint32_t off = 0;
	double t0 = now_ns();

	for (unsigned k = 0; k < calls; k++) {
		*sink += fn(buf + off, len, 0);
		off += len;
		if (off + len > span)
			off = 0;
	}
	return (now_ns() - t0) / calls;
}

/* ---- tr_gso_finish: one TSO read taken apart, as the TUN thread does ---- */

#define GSO_ROOM 1400u
#define GSO_SLOTS 128u
#define GSO_STRIDE 2048u /* a slot with its head and tail room */

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 TCP super-packet with timestamps, mss 1348 (inner MTU 1400), as
 * the kernel lays it over the read's iovec: headers and the first
 * segment's payload in slot 0, each later payload at slot k + 52. */
struct gso_rig {
	struct tr_gso g;
	struct tr_gso_layout l;
	uint8_t *mem, *slots[GSO_SLOTS], vh[TR_VNET_HDR_LEN], pkt[65536];
	uint32_t lens[GSO_SLOTS], plen;
};

static int gso_rig_init(struct gso_rig *r)
{
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				     .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 52,
				     .gso_size = GSO_ROOM - 52, .csum_start = 20, .csum_offset = 16 };
	uint8_t *b = r->pkt, *t = b + 20;

	r->plen = 52 + 48u * (GSO_ROOM - 52);
	r->mem = malloc((size_t)GSO_SLOTS * GSO_STRIDE);
	if (!r->mem || tr_gso_init(&r->g, GSO_ROOM, GSO_SLOTS) ||
	    tr_gso_set_guess(&r->g, 52, GSO_ROOM - 52))
		return -1;
	for (unsigned i = 0; i < GSO_SLOTS; i++)
		r->slots[i] = r->mem + (size_t)i * GSO_STRIDE + 128;
	memset(b, 0, 52);
	b[0] = 0x45;
	be16(b + 2, (uint16_t)r->plen);
	be16(b + 6, 0x4000);
	b[8] = 64;
	b[9] = 6;
	b[12] = 198, b[13] = 18, b[15] = 1, b[16] = 198, b[17] = 18, b[19] = 2;
	be16(t, 40000);
	be16(t + 2, 5201);
	t[12] = 8 << 4;
	t[13] = 0x18;
	t[20] = 1, t[21] = 1, t[22] = 8, t[23] = 10;
	for (uint32_t i = 52; i < r->plen; i++)
		b[i] = (uint8_t)(i * 2654435761u >> 11);
	memcpy(r->vh, &vh, sizeof(vh));
	r->l = tr_gso_next(&r->g);
	return r->l.hdr == 52 && r->l.slots <= GSO_SLOTS ? 0 : -1;
}

/* Lays the packet out as the read would; not timed. */
static void gso_scatter(struct gso_rig *r)
{
	struct iovec iov[GSO_SLOTS + 1];
	uint8_t vh[TR_VNET_HDR_LEN];
	unsigned n = tr_gso_iov(&r->l, vh, r->slots, iov);
	uint32_t done = 0;

	for (unsigned i = 1; i < n && done < r->plen; i++) {
		size_t c = r->plen - done < iov[i].iov_len ? r->plen - done : iov[i].iov_len;

		memcpy(iov[i].iov_base, r->pkt + done, c);
		done += (uint32_t)c;
	}
}

/* ns per super-packet. The first call rewrites slot 0's headers into the
 * first segment's, which parse as well as the original (only the last
 * segment's PSH is lost), and leaves the payloads where they are: the same
 * read can be taken apart again and again. */
static double gso_burst(struct gso_rig *r, unsigned calls)
{
	double t0;

	gso_scatter(r);
	t0 = now_ns();
	for (unsigned k = 0; k < calls; k++)
		if (tr_gso_finish(&r->g, &r->l, r->vh, r->plen + TR_VNET_HDR_LEN, r->slots,
				  GSO_SLOTS, r->lens) != 48)
			return -1;
	return (now_ns() - t0) / calls;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		uint32_t len, span;
	} cases[] = {
		{ "20 B (IPv4 header), hot", 20, 20 },
		{ "64 B, hot", 64, 64 },
		{ "1448 B, hot", 1448, 1448 },
		{ "1448 B, walking 64 KiB (a TSO read)", 1448, 65536 },
		{ "1448 B, walking 16 MiB (out of cache)", 1448, 16u << 20 },
		{ "65536 B, hot", 65536, 65536 },
	};
	int quick = argc > 1 && !strcmp(argv[1], "--quick");
	double budget = quick ? 2e6 : 20e6; /* ns of work per variant and round */
	uint32_t size = 16u << 20;
	uint8_t *buf = malloc(size);
	uint64_t sink = 0;

	if (!buf)
		return 1;
	for (uint32_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	printf("bench_csum: this CPU %s AVX2; best of %d interleaved bursts, thread CPU time\n",
	       tr_csum_avx2() ? "has" : "lacks", quick ? 3 : ROUNDS);
	printf("%-40s %12s %12s %12s %12s %7s\n", "case", "scalar ns", "avx2 ns", "scalar ns/B",
	       "avx2 ns/B", "ratio");
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint32_t len = cases[c].len;
		unsigned calls = (unsigned)(budget / (len * 0.04 + 5));
		double best[2] = { 1e18, 1e18 };

		if (!tr_csum_avx2()) {
			best[1] = 0;
		}
		for (int r = 0; r < (quick ? 3 : ROUNDS); r++) {
			double t = burst(tr_csum_add_scalar, buf, cases[c].span, len, calls, &sink);

			best[0] = t < best[0] ? t : best[0];
			if (tr_csum_avx2()) {
				t = burst(tr_csum_add_avx2, buf, cases[c].span, len, calls, &sink);
				best[1] = t < best[1] ? t : best[1];
			}
		}
		printf("%-40s %12.1f %12.1f %12.4f %12.4f %6.2fx\n", cases[c].name, best[0], best[1],
		       best[0] / len, best[1] / len, best[1] > 0 ? best[0] / best[1] : 0);
	}
	free(buf);

	struct gso_rig *r = calloc(1, sizeof(*r));
	double best = 1e18;

	if (!r || gso_rig_init(r))
		return 1;
	for (int k = 0; k < (quick ? 3 : ROUNDS); k++) {
		double t = gso_burst(r, quick ? 200 : 2000);

		if (t < 0)
			return 1;
		best = t < best ? t : best;
	}
	printf("tr_gso_finish, one TSO read of 48 segments of 1348 B (IPv4, timestamps): "
	       "%.0f ns, %.4f ns/B (tr_csum_add: %s)\n",
	       best, best / (r->plen - 52), tr_csum_avx2() ? "avx2" : "portable");
	tr_gso_free(&r->g);
	free(r->mem);
	free(r);
	return sink == 42; /* never: keeps the sums computed */
}
