/* SPDX-License-Identifier: MIT */
/* TSO super-packets split into slots (src/engine/gso.c) without a TUN
 * device: the test builds the packet the kernel would hand over, scatters it
 * over the iovec tr_gso_iov() lays out as readv(2) would, and checks every
 * segment against a plain RFC 1071 checksum written here. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/gro.h"
#include "engine/gso.h"
#include "../ref_csum.h"

#define ROOM 1500u
#define GUARD 64u
#define NSLOTS 256u
#define STRIDE (GUARD + ROOM + GUARD)
#define POISON 0xa5

struct rig {
	struct tr_gso g;
	uint8_t *mem;                 /* NSLOTS slots of ROOM bytes between guards */
	uint8_t *slots[NSLOTS];
	uint32_t lens[NSLOTS];
	uint8_t vhdr[TR_VNET_HDR_LEN];
	uint8_t pkt[TR_GSO_PACKET_MAX];
	uint32_t plen;
};

/* 0 when the TCP/UDP checksum of the segment at ip (l4 at off, l4len long)
 * verifies. */
static uint16_t ref_l4_verify(const uint8_t *ip, bool v6, uint32_t off, uint32_t l4len,
			      uint8_t proto)
{
	uint64_t sum = v6 ? ref_csum_add(0, ip + 8, 32) : ref_csum_add(0, ip + 12, 8);

	sum += proto + (l4len >> 16) + (l4len & 0xffff);
	return ref_csum_fold(ref_csum_add(sum, ip + off, l4len));
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)be16(p) << 16 | be16(p + 2); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)(v >> 16)); wr16(p + 2, (uint16_t)v); }

/* ---- building what the kernel hands over ---- */

#define SEQ0 0xfffff000u /* wraps during the packet */
#define ID0 0xfff0u

/* IP + TCP (with a timestamp option when ts) + payload bytes; the TCP
 * check field holds the pseudo-header sum without length, as for GSO. */
static uint32_t build_tcp(uint8_t *b, bool v6, bool ts, uint32_t payload, uint8_t flags)
{
	uint32_t l3 = v6 ? 40 : 20, doff = ts ? 32 : 20, h = l3 + doff;

	memset(b, 0, h);
	if (v6) {
		b[0] = 0x60;
		wr16(b + 4, (uint16_t)(doff + payload));
		b[6] = 6;
		b[7] = 64;
		b[8] = 0xfd; b[23] = 2;
		b[24] = 0xfd; b[39] = 1;
	} else {
		b[0] = 0x45;
		wr16(b + 2, (uint16_t)(h + payload));
		wr16(b + 4, ID0);
		wr16(b + 6, 0x4000); /* DF */
		b[8] = 64;
		b[9] = 6;
		b[12] = 198; b[13] = 18; b[14] = 0; b[15] = 2;
		b[16] = 198; b[17] = 18; b[18] = 0; b[19] = 1;
	}
	uint8_t *t = b + l3;

	wr16(t, 40000);
	wr16(t + 2, 5201);
	wr32(t + 4, SEQ0);
	wr32(t + 8, 12345);
	t[12] = (uint8_t)((doff / 4) << 4);
	t[13] = flags;
	wr16(t + 14, 502);
	if (ts) {
		t[20] = 1; t[21] = 1; t[22] = 8; t[23] = 10;
		wr32(t + 24, 0x11223344);
		wr32(t + 28, 0x55667788);
	}
	for (uint32_t i = 0; i < payload; i++)
		b[h + i] = (uint8_t)(i * 31 + 7 + (i >> 8));
	uint64_t sum = v6 ? ref_csum_add(0, b + 8, 32) : ref_csum_add(0, b + 12, 8);

	wr16(t + 16, (uint16_t)~ref_csum_fold(sum + 6));
	return h + payload;
}

static void set_vhdr(struct rig *r, uint8_t flags, uint8_t type, uint16_t mss, uint16_t start,
		     uint16_t off)
{
	struct virtio_net_hdr vh = {
		.flags = flags, .gso_type = type, .hdr_len = 0, .gso_size = mss,
		.csum_start = start, .csum_offset = off,
	};

	memcpy(r->vhdr, &vh, sizeof(vh));
}

/* As readv(2): the 10-byte header then the packet over the iovec in order.
 * Returns the bytes "read". */
static uint32_t scatter(struct rig *r, const struct tr_gso_layout *l)
{
	struct iovec iov[NSLOTS + 1];
	uint8_t vh[TR_VNET_HDR_LEN];
	unsigned n = tr_gso_iov(l, vh, r->slots, iov);
	uint32_t done = 0;

	assert_int_equal(n, l->slots + 1);
	assert_ptr_equal(iov[0].iov_base, vh);
	memcpy(vh, r->vhdr, sizeof(vh));
	for (unsigned i = 1; i < n && done < r->plen; i++) {
		size_t c = r->plen - done < iov[i].iov_len ? r->plen - done : iov[i].iov_len;

		memcpy(iov[i].iov_base, r->pkt + done, c);
		done += (uint32_t)c;
	}
	assert_int_equal(done, r->plen); /* the layout always holds 64 KiB */
	memcpy(r->vhdr, vh, sizeof(vh));
	return r->plen + TR_VNET_HDR_LEN;
}

static int setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->mem = malloc((size_t)NSLOTS * STRIDE);
	if (!r->mem || tr_gso_init(&r->g, ROOM, NSLOTS))
		return -1;
	memset(r->mem, POISON, (size_t)NSLOTS * STRIDE);
	for (unsigned i = 0; i < NSLOTS; i++)
		r->slots[i] = r->mem + (size_t)i * STRIDE + GUARD;
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rig *r = *state;

	tr_gso_free(&r->g);
	free(r->mem);
	free(r);
	return 0;
}

static void guards_intact(const struct rig *r)
{
	for (unsigned i = 0; i < NSLOTS; i++) {
		const uint8_t *s = r->slots[i];

		for (unsigned j = 1; j <= GUARD; j++) {
			assert_int_equal(s[-(int)j], POISON);
			assert_int_equal(s[ROOM + j - 1], POISON);
		}
	}
}

/* Every segment against the super-packet in r->pkt. */
static void check_segments(const struct rig *r, int nseg, bool v6, uint32_t h, uint32_t mss)
{
	uint32_t l3 = v6 ? 40 : 20, payload = r->plen - h;
	uint8_t sflags = r->pkt[l3 + 13];

	assert_int_equal(nseg, (payload + mss - 1) / mss);
	for (int k = 0; k < nseg; k++) {
		const uint8_t *s = r->slots[k];
		uint32_t pl = payload - (uint32_t)k * mss < mss ? payload - (uint32_t)k * mss : mss;
		bool last = k + 1 == nseg;
		uint8_t want = sflags;

		assert_int_equal(r->lens[k], h + pl);
		if (v6) {
			assert_int_equal(s[0] >> 4, 6);
			assert_int_equal(be16(s + 4), h - 40 + pl);
			assert_memory_equal(s + 6, r->pkt + 6, 34); /* next header .. addresses */
		} else {
			assert_int_equal(s[0], 0x45);
			assert_int_equal(be16(s + 2), h + pl);
			assert_int_equal(be16(s + 4), (uint16_t)(ID0 + k));
			assert_memory_equal(s + 6, r->pkt + 6, 4);
			assert_memory_equal(s + 12, r->pkt + 12, 8);
			assert_int_equal(ref_csum_fold(ref_csum_add(0, s, 20)), 0);
		}
		const uint8_t *t = s + l3;

		assert_int_equal(be32(t + 4), SEQ0 + (uint32_t)k * mss);
		if (!last)
			want &= (uint8_t)~0x09; /* FIN, PSH */
		if (k)
			want &= (uint8_t)~0x80; /* CWR */
		assert_int_equal(t[13], want);
		assert_memory_equal(t + 20, r->pkt + l3 + 20, h - l3 - 20); /* options */
		assert_memory_equal(s + h, r->pkt + h + (uint32_t)k * mss, pl);
		assert_int_equal(ref_l4_verify(s, v6, l3, h - l3 + pl, 6), 0);
	}
	for (unsigned k = (unsigned)nseg; k < NSLOTS; k++)
		assert_int_equal(r->lens[k], 0);
	guards_intact(r);
}

static int run(struct rig *r, struct tr_gso_layout *l)
{
	*l = tr_gso_next(&r->g);
	uint32_t nread = scatter(r, l);

	return tr_gso_finish(&r->g, l, r->vhdr, nread, r->slots, l->slots, r->lens);
}

/* ---- cases ---- */

static void test_csum_matches_reference(void **state)
{
	uint8_t buf[301];

	(void)state;
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 97 + 13);
	for (uint32_t off = 0; off < 8; off += 2) {
		for (uint32_t len = 0; len + off <= sizeof(buf); len += 7) {
			uint16_t c = tr_csum_fold(tr_csum_add(buf + off, len, 0));

			assert_int_equal(ntohs(c), ref_csum_fold(ref_csum_add(0, buf + off, len)));
		}
	}
	/* Chained at even offsets, from a seed of all ones: the same as one pass. */
	for (uint32_t cut = 0; cut <= 300; cut += 2) {
		uint64_t s = tr_csum_add(buf, cut, ~0ull);

		assert_int_equal(tr_csum_fold(tr_csum_add(buf + cut, 300 - cut, s)),
				 tr_csum_fold(tr_csum_add(buf, 300, ~0ull)));
	}
	memset(buf, 0xff, sizeof(buf)); /* carries all the way */
	assert_int_equal(ntohs(tr_csum_fold(tr_csum_add(buf, 300, 0))),
			 ref_csum_fold(ref_csum_add(0, buf, 300)));
	/* 64 KiB of ones: the accumulators grow large, the fold still right. */
	static uint8_t big[65536];

	memset(big, 0xff, sizeof(big));
	assert_int_equal(ntohs(tr_csum_fold(tr_csum_add(big, sizeof(big), 0))),
			 ref_csum_fold(ref_csum_add(0, big, sizeof(big))));
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 131 + 7);
	assert_int_equal(ntohs(tr_csum_fold(tr_csum_add(big + 2, sizeof(big) - 5, 0))),
			 ref_csum_fold(ref_csum_add(0, big + 2, sizeof(big) - 5)));
}

/* IPv4, timestamps, the layout guessed right: no copy, odd last segment,
 * FIN|PSH only on the last, CWR only on the first. */
static void test_v4_fast(void **state)
{
	struct rig *r = *state;
	struct tr_gso_layout l;
	int n;

	r->plen = build_tcp(r->pkt, false, true, 65535 - 52, 0x80 | 0x18 | 0x01);
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, ROOM - 52, 20, 16);
	n = run(r, &l);
	check_segments(r, n, false, 52, ROOM - 52);
	assert_int_equal(r->g.st.slow, 0);
	assert_int_equal(r->g.st.copied_bytes, 0);
	assert_int_equal(r->g.st.packets, 1);
	assert_int_equal(r->g.st.segments, (uint64_t)n);
	assert_int_equal(n, 46); /* 65483 = 45 * 1448 + 323 */
}

/* IPv6 with timestamps after an IPv4 guess: the first read is re-laid
 * through the private buffer, the next one lands in place. */
static void test_v6_slow_then_fast(void **state)
{
	struct rig *r = *state;
	struct tr_gso_layout l;
	uint32_t mss = ROOM - 72;
	int n;

	r->plen = build_tcp(r->pkt, true, true, 30001, 0x08);
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, (uint16_t)mss, 40, 16);
	n = run(r, &l);
	check_segments(r, n, true, 72, mss);
	assert_int_equal(r->g.st.slow, 1);
	assert_true(r->g.st.copied_bytes >= 2ull * 30001);
	l = tr_gso_next(&r->g);
	assert_int_equal(l.hdr, 72);
	assert_int_equal(l.seg, mss);
	assert_int_equal(l.first, ROOM);

	memset(r->mem, POISON, (size_t)NSLOTS * STRIDE);
	r->plen = build_tcp(r->pkt, true, true, 65535 - 32, 0x10 | 0x01);
	n = run(r, &l);
	check_segments(r, n, true, 72, mss);
	assert_int_equal(r->g.st.slow, 1); /* no second copy */
	assert_int_equal(r->g.st.packets, 2);
}

/* A smaller MSS than guessed needs more slots than the read spans: with
 * only those at hand it is dropped (counted), with the burst's free slots
 * after it it is re-laid; either way the next read fits. */
static void test_smaller_mss(void **state)
{
	struct rig *r = *state;
	struct tr_gso_layout l = tr_gso_next(&r->g);
	uint32_t nread;
	int n;

	r->plen = build_tcp(r->pkt, false, false, 60000, 0x10);
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 20, 16);
	nread = scatter(r, &l);
	n = tr_gso_finish(&r->g, &l, r->vhdr, nread, r->slots, l.slots, r->lens);
	assert_int_equal(n, -ENOSPC);
	assert_int_equal(r->g.st.drop_room, 1);
	for (unsigned i = 0; i < l.slots; i++)
		assert_int_equal(r->lens[i], 0);

	nread = scatter(r, &l); /* the same read again, more slots at hand */
	n = tr_gso_finish(&r->g, &l, r->vhdr, nread, r->slots, NSLOTS, r->lens);
	check_segments(r, n, false, 40, 1000);
	assert_int_equal(r->g.st.slow, 1);

	memset(r->mem, POISON, (size_t)NSLOTS * STRIDE);
	n = run(r, &l);
	assert_int_equal(l.seg, 1000);
	assert_int_equal(l.slots, 1 + (TR_GSO_PACKET_MAX - 1040 + 999) / 1000);
	check_segments(r, n, false, 40, 1000);
	assert_int_equal(r->g.st.slow, 1);

	/* Another flow, full-size segments: a slow read that moves the
	 * layout back, but reads keep the span the 1000-byte MSS needed... */
	r->plen = build_tcp(r->pkt, false, false, 60000, 0x10);
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1400, 20, 16);
	memset(r->mem, POISON, (size_t)NSLOTS * STRIDE);
	n = run(r, &l);
	check_segments(r, n, false, 40, 1400);
	assert_int_equal(r->g.st.slow, 2);
	assert_int_equal(tr_gso_next(&r->g).seg, 1400);
	assert_true(tr_gso_next(&r->g).slots >= 60);
	/* ...so the first flow's next packet is re-laid, not dropped. */
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 20, 16);
	memset(r->mem, POISON, (size_t)NSLOTS * STRIDE);
	n = run(r, &l);
	check_segments(r, n, false, 40, 1000);
	assert_int_equal(r->g.st.slow, 3);
	assert_int_equal(r->g.st.drop_room, 1);
}

/* Plain packets with a partial checksum: TCP over IPv6, UDP over IPv4. */
static void test_needs_csum(void **state)
{
	struct rig *r = *state;
	struct tr_gso_layout l;
	uint64_t sum;
	int n;

	r->plen = build_tcp(r->pkt, true, true, 777, 0x18);
	/* Not GSO: the field holds the pseudo-header sum with the length. */
	sum = ref_csum_add(0, r->pkt + 8, 32) + 6 + (32 + 777);
	wr16(r->pkt + 40 + 16, (uint16_t)~ref_csum_fold(sum));
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, 0, 40, 16);
	n = run(r, &l);
	assert_int_equal(n, 1);
	assert_int_equal(r->lens[0], r->plen);
	assert_int_equal(ref_l4_verify(r->slots[0], true, 40, 32 + 777, 6), 0);
	assert_memory_equal(r->slots[0], r->pkt, 56); /* nothing else touched */

	uint8_t *u = r->pkt;

	memset(u, 0, 28);
	u[0] = 0x45; wr16(u + 2, 28 + 101); u[8] = 64; u[9] = 17;
	u[12] = 198; u[13] = 18; u[15] = 2; u[16] = 198; u[17] = 18; u[19] = 1;
	wr16(u + 20, 4500); wr16(u + 22, 4500); wr16(u + 24, 8 + 101);
	for (unsigned i = 0; i < 101; i++)
		u[28 + i] = (uint8_t)(i ^ 0x5a);
	sum = ref_csum_add(0, u + 12, 8) + 17 + 8 + 101;
	wr16(u + 26, (uint16_t)~ref_csum_fold(sum));
	r->plen = 28 + 101;
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, 0, 20, 6);
	n = run(r, &l);
	assert_int_equal(n, 1);
	assert_int_not_equal(be16(r->slots[0] + 26), 0);
	assert_int_equal(ref_l4_verify(r->slots[0], false, 20, 8 + 101, 17), 0);
	assert_int_equal(r->g.st.csum_completed, 2);
	assert_int_equal(r->g.st.drop_bad, 0);
}

/* Hostile metadata and headers: each one a counted drop, nothing written
 * outside the slots, no slot reported. */
static void test_hostile(void **state)
{
	struct rig *r = *state;
	struct tr_gso_layout l;
	uint64_t bad = 0;
	const uint8_t v4 = VIRTIO_NET_HDR_GSO_TCPV4, v6 = VIRTIO_NET_HDR_GSO_TCPV6;
	const uint8_t nc = VIRTIO_NET_HDR_F_NEEDS_CSUM;

	struct {
		const char *what;
		bool pkt_v6;
		uint8_t flags, type;
		uint16_t mss, start, off;
		uint32_t truncate; /* 0: whole packet */
	} cases[] = {
		{ "csum_start inside the IP header", false, nc, v4, 1448, 12, 16, 0 },
		{ "csum_start past the packet", false, nc, v4, 1448, 60000, 16, 0 },
		{ "csum_start not the IHL", false, nc, v4, 1448, 24, 16, 0 },
		{ "csum_offset not TCP's", false, nc, v4, 1448, 20, 6, 0 },
		{ "gso_size 0", false, nc, v4, 0, 20, 16, 0 },
		{ "gso_size bigger than a slot", false, nc, v4, ROOM - 30, 20, 16, 0 },
		{ "gso_size 65535", false, nc, v4, 65535, 20, 16, 0 },
		{ "truncated TCP header", false, nc, v4, 1448, 20, 16, 30 },
		{ "headers only, no payload", false, nc, v4, 1448, 20, 16, 52 },
		{ "TCPV4 type on an IPv6 packet", true, nc, v4, 1428, 40, 16, 0 },
		{ "TCPV6 type on an IPv4 packet", false, nc, v6, 1448, 20, 16, 0 },
		{ "UDP_L4 (USO was not asked for)", false, nc, 5, 1448, 20, 16, 0 },
		{ "unknown gso type", false, nc, 0x42, 1448, 20, 16, 0 },
		{ "GSO without NEEDS_CSUM", false, 0, v4, 1448, 20, 16, 0 },
		{ "partial csum past the end", false, nc, 0, 0, 20, 16, 25 },
		{ "partial csum in the IP header", false, nc, 0, 0, 4, 6, 0 },
		{ "partial csum, odd offset", false, nc, 0, 0, 20, 7, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(r->mem, POISON, (size_t)NSLOTS * STRIDE);
		r->plen = build_tcp(r->pkt, cases[i].pkt_v6, true, 20000, 0x10);
		if (cases[i].truncate)
			r->plen = cases[i].truncate;
		set_vhdr(r, cases[i].flags, cases[i].type, cases[i].mss, cases[i].start,
			 cases[i].off);
		int n = run(r, &l);

		if (n != -EINVAL)
			fail_msg("case '%s': %d, not -EINVAL", cases[i].what, n);
		assert_int_equal(r->g.st.drop_bad, ++bad);
		for (unsigned k = 0; k < NSLOTS; k++)
			assert_int_equal(r->lens[k], 0);
		guards_intact(r);
	}
	/* IPv4 fragment, protocol not TCP, bad TCP data offset. */
	struct { const char *what; unsigned at; uint8_t val; } pokes[] = {
		{ "MF set", 6, 0x20 }, { "protocol UDP", 9, 17 }, { "doff 4", 32, 0x40 },
		{ "IHL 4", 0, 0x44 },
	};
	for (size_t i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
		r->plen = build_tcp(r->pkt, false, false, 5000, 0x10);
		r->pkt[pokes[i].at] = pokes[i].val;
		set_vhdr(r, nc, v4, 1460, 20, 16);
		if (run(r, &l) != -EINVAL)
			fail_msg("poke '%s' accepted", pokes[i].what);
		assert_int_equal(r->g.st.drop_bad, ++bad);
	}
	/* A read shorter than the vnet header. */
	l = tr_gso_next(&r->g);
	assert_int_equal(tr_gso_finish(&r->g, &l, r->vhdr, 9, r->slots, l.slots, r->lens), -EINVAL);
	assert_int_equal(r->g.st.drop_bad, ++bad);
	assert_int_equal(r->g.st.packets, 0);
	guards_intact(r);
}

/* Without TSO a read is one slot, and a GSO packet is refused. */
static void test_no_tso(void **state)
{
	struct rig *r = *state;
	struct tr_gso g;
	struct tr_gso_layout l;
	uint32_t nread;

	(void)state;
	assert_int_equal(tr_gso_init(&g, ROOM, 1), 0);
	l = tr_gso_next(&g);
	assert_int_equal(l.slots, 1);
	assert_int_equal(l.first, ROOM);
	r->plen = build_tcp(r->pkt, false, false, 1000, 0x10);
	set_vhdr(r, 0, VIRTIO_NET_HDR_GSO_NONE, 0, 0, 0);
	nread = scatter(r, &l);
	assert_int_equal(tr_gso_finish(&g, &l, r->vhdr, nread, r->slots, 1, r->lens), 1);
	assert_int_equal(r->lens[0], 1040);
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 500, 20, 16);
	nread = scatter(r, &l);
	assert_int_equal(tr_gso_finish(&g, &l, r->vhdr, nread, r->slots, 1, r->lens), -EINVAL);
	assert_int_equal(g.st.drop_bad, 1);
	tr_gso_free(&g);
	/* TSO needs slots for a 64 KiB packet at the smallest planned MSS. */
	assert_int_equal(tr_gso_init(&g, ROOM, tr_gso_slots_needed(ROOM) - 1), -EINVAL);
	assert_int_equal(tr_gso_slots_needed(200), 0);
}

/* ---- ingress: segments coalesced into one TSO write (gro.c) ---- */

/* Splits r->pkt with the splitter above and returns the segments as
 * iovecs over the slots, as the engine's ingress would see them. */
static unsigned split_into(struct rig *r, struct iovec *iov)
{
	struct tr_gso_layout l = tr_gso_next(&r->g);
	uint32_t nread = scatter(r, &l);
	int n = tr_gso_finish(&r->g, &l, r->vhdr, nread, r->slots, NSLOTS, r->lens);

	assert_true(n > 1);
	for (int k = 0; k < n; k++)
		iov[k] = (struct iovec){ r->slots[k], r->lens[k] };
	return (unsigned)n;
}

static void fix_tcp_csum(uint8_t *s, uint32_t len, bool v6)
{
	uint32_t l3 = v6 ? 40 : 20;

	wr16(s + l3 + 16, 0);
	wr16(s + l3 + 16, ref_l4_verify(s, v6, l3, len - l3, 6));
}

/* The run against the super-packet the segments came from. */
static void check_run(const struct rig *r, const struct tr_gro_run *g, const struct iovec *iov,
		      unsigned n, bool v6, uint32_t h, uint32_t mss, uint8_t flags)
{
	struct virtio_net_hdr vh;
	uint32_t l3 = v6 ? 40 : 20, total = 0;
	const uint8_t *b = g->hdr;

	memcpy(&vh, g->vhdr, sizeof(vh));
	assert_int_equal(g->n, n);
	assert_int_equal(g->h, h);
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.gso_type, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.gso_size, mss);
	assert_int_equal(vh.hdr_len, h);
	assert_int_equal(vh.csum_start, l3);
	assert_int_equal(vh.csum_offset, 16);
	for (unsigned k = 0; k < n; k++) {
		/* Payload k is segment k's, at h in its slot: in order, whole. */
		assert_int_equal(iov[k].iov_len - h, k + 1 < n ? mss : iov[k].iov_len - h);
		assert_memory_equal((const uint8_t *)iov[k].iov_base + h, r->pkt + h + total,
				    iov[k].iov_len - h);
		total += (uint32_t)iov[k].iov_len - h;
	}
	if (v6) {
		assert_int_equal(be16(b + 4), h - 40 + total);
	} else {
		assert_int_equal(be16(b + 2), h + total);
		assert_int_equal(ref_csum_fold(ref_csum_add(0, b, 20)), 0);
	}
	assert_int_equal(be32(b + l3 + 4), SEQ0);
	assert_int_equal(b[l3 + 13], flags);
	assert_memory_equal(b + l3 + 20, r->pkt + l3 + 20, h - l3 - 20);
	/* Partial: the folded pseudo-header sum for the whole length. */
	uint64_t ps = v6 ? ref_csum_add(0, b + 8, 32) : ref_csum_add(0, b + 12, 8);

	ps += 6 + (h - l3 + total);
	assert_int_equal(be16(b + l3 + 16), (uint16_t)~ref_csum_fold(ps));
}

static void test_gro_roundtrip(void **state)
{
	struct rig *r = *state;
	struct iovec iov[NSLOTS];
	struct tr_gro_run g;
	unsigned n;

	/* IPv4, timestamps, PSH on the super-packet: only the last has it. */
	r->plen = build_tcp(r->pkt, false, true, 40001, 0x18);
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, ROOM - 52, 20, 16);
	n = split_into(r, iov);
	assert_int_equal(tr_gro_run(iov, n, &g), n);
	check_run(r, &g, iov, n, false, 52, ROOM - 52, 0x18);

	/* IPv6: the splitter learns the layout through its slow path. */
	r->plen = build_tcp(r->pkt, true, true, 30000, 0x10);
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, ROOM - 72, 40, 16);
	n = split_into(r, iov);
	assert_int_equal(tr_gro_run(iov, n, &g), n);
	check_run(r, &g, iov, n, true, 72, ROOM - 72, 0x10);

	/* More than TR_GRO_SEGS_MAX segments: the run stops there. */
	r->plen = build_tcp(r->pkt, false, false, 60000, 0x10);
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 600, 20, 16);
	n = split_into(r, iov);
	assert_int_equal(n, 100);
	assert_int_equal(tr_gro_run(iov, n, &g), TR_GRO_SEGS_MAX);
	check_run(r, &g, iov, TR_GRO_SEGS_MAX, false, 40, 600, 0x10);
	assert_int_equal(tr_gro_run(iov + 64, n - 64, &g), n - 64);
}

/* What ends a run, and what is never coalesced. */
static void test_gro_breaks(void **state)
{
	struct rig *r = *state;
	struct iovec iov[NSLOTS];
	struct tr_gro_run g;
	uint8_t *s1, *s3;
	unsigned n;

	r->plen = build_tcp(r->pkt, false, true, 10 * 1448, 0x10);
	set_vhdr(r, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 20, 16);
	n = split_into(r, iov);
	assert_int_equal(n, 10);
	s1 = r->slots[1];
	s3 = r->slots[3];

	assert_int_equal(tr_gro_run(iov, 1, &g), 1);
	/* A corrupt payload byte: not verified, not coalesced. Trusted
	 * (TR_TUNDEV_F_TRUST_CSUM) the payload is not read: it joins, and the
	 * run is built the same (the kernel completes the partial sum). */
	s3[100] ^= 1;
	assert_int_equal(tr_gro_run(iov, n, &g), 3);
	assert_int_equal(tr_gro_run_trusted(iov, n, &g), n);
	assert_int_equal(g.n, n);
	s3[100] ^= 1;
	/* Trusted runs still judge the headers: a bad IPv4 header checksum
	 * (below) and a gap end them as before. */
	s1[8]--;
	assert_int_equal(tr_gro_run_trusted(iov, n, &g), 1);
	s1[8]++;
	assert_int_equal(tr_gro_run(iov, n, &g), n);
	/* A gap in the sequence. */
	struct iovec gap[3] = { iov[0], iov[1], iov[3] };

	assert_int_equal(tr_gro_run(gap, 3, &g), 2);
	assert_int_equal(tr_gro_run_trusted(gap, 3, &g), 2);
	/* Another ACK number or window, checksum valid: another flow state. */
	s1[20 + 8] ^= 1;
	fix_tcp_csum(s1, r->lens[1], false);
	assert_int_equal(tr_gro_run(iov, n, &g), 1);
	s1[20 + 8] ^= 1;
	s1[20 + 14] ^= 1;
	fix_tcp_csum(s1, r->lens[1], false);
	assert_int_equal(tr_gro_run(iov, n, &g), 1);
	s1[20 + 14] ^= 1;
	fix_tcp_csum(s1, r->lens[1], false);
	/* PSH in the middle ends the run after that segment. */
	s3[20 + 13] |= 0x08;
	fix_tcp_csum(s3, r->lens[3], false);
	assert_int_equal(tr_gro_run(iov, n, &g), 4);
	assert_int_equal(g.hdr[20 + 13], 0x18);
	s3[20 + 13] = 0x10;
	fix_tcp_csum(s3, r->lens[3], false);
	/* A bad IPv4 header checksum. */
	s1[8]--; /* TTL */
	assert_int_equal(tr_gro_run(iov, n, &g), 1);
	s1[8]++;
	/* SYN, FIN, or PSH on the first: alone. */
	for (unsigned i = 0; i < 3; i++) {
		static const uint8_t fl[3] = { 0x12, 0x11, 0x18 };

		r->slots[0][20 + 13] = fl[i];
		fix_tcp_csum(r->slots[0], r->lens[0], false);
		assert_int_equal(tr_gro_run(iov, n, &g), 1);
	}
	r->slots[0][20 + 13] = 0x10;
	fix_tcp_csum(r->slots[0], r->lens[0], false);
	assert_int_equal(tr_gro_run(iov, n, &g), n);
	/* A slot longer than its IP length, or not IP at all. */
	iov[2].iov_len++;
	assert_int_equal(tr_gro_run(iov, n, &g), 2);
	iov[2].iov_len--;
	iov[0].iov_len = 10;
	assert_int_equal(tr_gro_run(iov, n, &g), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_matches_reference),
		cmocka_unit_test_setup_teardown(test_v4_fast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6_slow_then_fast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smaller_mss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_csum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_tso, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gro_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gro_breaks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
