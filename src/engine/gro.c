/* SPDX-License-Identifier: MIT */
/*
 * Coalescing consecutive TCP segments of one flow into one TSO write (see
 * gro.h). The rules are the ones a NIC's GRO follows, kept strict: same
 * addresses, ports, ACK number, window, options and IP fields; sequence
 * numbers back to back; every payload the size of the first but the last,
 * which may be shorter and may carry PSH; only ACK (and PSH) set; checksums
 * verified. Anything else ends the run, and that packet is written alone.
 */
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <string.h>

#include "engine/gro.h"

#define TCP_ACK 0x10u
#define TCP_PSH 0x08u

struct seg {
	uint8_t hdr[TR_GSO_HDR_MAX]; /* private copy of the packet's headers */
	uint32_t len, l4, h, payload, seq;
	uint8_t flags;
	bool v6;
};

/* A plain TCP segment with payload: IPv4 without options or fragments, or
 * IPv6 without extension headers, the IP length equal to the slot's. */
static bool parse(const struct iovec *pk, struct seg *s)
{
	uint32_t n, doff;
	const uint8_t *b = s->hdr;

	if (pk->iov_len < 40 || pk->iov_len > 65535u + 40u)
		return false;
	s->len = (uint32_t)pk->iov_len;
	n = s->len < TR_GSO_HDR_MAX ? s->len : TR_GSO_HDR_MAX;
	memcpy(s->hdr, pk->iov_base, n); /* judged from here on, never re-read */
	if (b[0] == 0x45) {
		s->v6 = false;
		s->l4 = 20;
		if (tr_be16_get(b + 2) != s->len || (tr_be16_get(b + 6) & 0x3fffu) || b[9] != 6 ||
		    tr_csum_fold(tr_csum_add(b, 20, 0)) != 0)
			return false;
	} else if (b[0] >> 4 == 6) {
		s->v6 = true;
		s->l4 = 40;
		if (s->len < 60 || tr_be16_get(b + 4) + 40u != s->len || b[6] != 6)
			return false;
	} else {
		return false;
	}
	doff = (b[s->l4 + 12] >> 4) * 4u;
	s->h = s->l4 + doff;
	if (doff < 20 || s->h > n || s->h >= s->len)
		return false;
	s->flags = b[s->l4 + 13];
	if (!(s->flags & TCP_ACK) || (s->flags & ~(TCP_ACK | TCP_PSH)))
		return false; /* SYN, FIN, RST, URG, ECE, CWR: alone */
	s->seq = (uint32_t)tr_be16_get(b + s->l4 + 4) << 16 | tr_be16_get(b + s->l4 + 6);
	s->payload = s->len - s->h;
	return true;
}

/* The segment's TCP checksum: headers from the copy, payload from the slot. */
static bool csum_ok(const struct iovec *pk, const struct seg *s)
{
	uint64_t sum = tr_csum_pseudo(s->hdr, s->v6, 6, s->len - s->l4);

	sum = tr_csum_add(s->hdr + s->l4, s->h - s->l4, sum);
	sum = tr_csum_add((const uint8_t *)pk->iov_base + s->h, s->payload, sum);
	return tr_csum_fold(sum) == 0;
}

static bool same_bytes(const struct seg *a, const struct seg *b, uint32_t from, uint32_t to)
{
	return memcmp(a->hdr + from, b->hdr + from, to - from) == 0;
}

/* Everything but the lengths, IPv4 ID and checksums, sequence and flags. */
static bool same_flow(const struct seg *a, const struct seg *b)
{
	uint32_t t = a->l4;

	if (a->v6 != b->v6 || a->h != b->h)
		return false;
	if (a->v6 ? !same_bytes(a, b, 0, 4) || !same_bytes(a, b, 6, 40)
		  : !same_bytes(a, b, 0, 2) || !same_bytes(a, b, 6, 10) || !same_bytes(a, b, 12, 20))
		return false;
	return same_bytes(a, b, t, t + 4) && same_bytes(a, b, t + 8, t + 13) &&
	       same_bytes(a, b, t + 14, t + 16) && same_bytes(a, b, t + 18, a->h);
}

static void build(struct tr_gro_run *run, const struct seg *s, uint32_t total, uint8_t flags)
{
	uint8_t *b = run->hdr, *tcp = run->hdr + s->l4;
	uint32_t tcp_len = s->h - s->l4 + total;
	uint16_t c;
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = s->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = (uint16_t)s->h, .gso_size = (uint16_t)s->payload,
		.csum_start = (uint16_t)s->l4, .csum_offset = 16,
	};

	memcpy(b, s->hdr, s->h);
	if (s->v6) {
		tr_be16_put(b + 4, (uint16_t)(tcp_len));
	} else {
		tr_be16_put(b + 2, (uint16_t)(s->h + total));
		tr_be16_put(b + 10, 0);
		c = tr_csum_fold(tr_csum_add(b, 20, 0));
		memcpy(b + 10, &c, 2);
	}
	tcp[13] = flags;
	/* A partial checksum, as the kernel's own GRO leaves it: the folded
	 * pseudo-header sum, not inverted. */
	c = (uint16_t)~tr_csum_fold(tr_csum_pseudo(b, s->v6, 6, tcp_len));
	memcpy(tcp + 16, &c, 2);
	memcpy(run->vhdr, &vh, sizeof(vh)); /* native order: legacy virtio */
}

static unsigned gro_run(const struct iovec *pkts, unsigned n, bool verify, struct tr_gro_run *run)
{
	struct seg first, cur;
	uint32_t mss, total, next, limit;
	uint8_t flags;
	unsigned k = 1;

	if (n < 2 || !parse(&pkts[0], &first) || (first.flags & TCP_PSH))
		return 1;
	mss = first.payload;
	total = mss;
	next = first.seq + mss;
	flags = first.flags;
	/* IPv4 total length, IPv6 payload length: 16 bits. */
	limit = first.v6 ? 65535u + 40u : 65535u;
	while (k < n && k < TR_GRO_SEGS_MAX) {
		if (!parse(&pkts[k], &cur) || !same_flow(&first, &cur) || cur.seq != next ||
		    cur.payload > mss || first.h + total + cur.payload > limit ||
		    /* the first segment's sum only once a second can join it:
		     * interleaved flows are not read twice */
		    (verify && ((k == 1 && !csum_ok(&pkts[0], &first)) || !csum_ok(&pkts[k], &cur))))
			break;
		total += cur.payload;
		next += cur.payload;
		flags = cur.flags;
		k++;
		if (cur.payload < mss || (cur.flags & TCP_PSH))
			break; /* a short or pushed segment ends the run */
	}
	if (k < 2)
		return 1;
	build(run, &first, total, flags);
	run->n = k;
	run->h = first.h;
	return k;
}

unsigned tr_gro_run(const struct iovec *pkts, unsigned n, struct tr_gro_run *run)
{
	return gro_run(pkts, n, true, run);
}

unsigned tr_gro_run_trusted(const struct iovec *pkts, unsigned n, struct tr_gro_run *run)
{
	return gro_run(pkts, n, false, run);
}
