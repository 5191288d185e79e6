/* SPDX-License-Identifier: MIT */
/*
 * Splitting TSO super-packets read from TUN into per-segment egress slots,
 * and completing partial checksums (see gso.h). The metadata (virtio_net_hdr)
 * comes from the kernel, the headers from a slot the application can write
 * to: both are checked, from private copies, before anything is written, and
 * every write stays inside the slots handed in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gso.h"

#define IPPROTO_TCP_ 6u
#define TCP_HDR_MIN 20u
#define TCP_CHECK_OFF 16u /* offsetof(struct tcphdr, check) */
#define UDP_CHECK_OFF 6u  /* offsetof(struct udphdr, check) */
#define TCP_FIN 0x01u
#define TCP_PSH 0x08u
#define TCP_CWR 0x80u
#define HDR_GUESS 52u     /* IPv4 + TCP with timestamps: the common case */
#define ROOM_TSO_MIN (TR_GSO_SEG_MIN + 120u)

/* The parsed and checked headers of a super-packet, all engine-private. */
struct gso_hdrs {
	uint8_t tmpl[TR_GSO_HDR_MAX]; /* first segment's headers, as read */
	uint32_t h;       /* IP + TCP header bytes */
	uint32_t l4;      /* csum_start: where TCP starts */
	uint32_t mss;     /* gso_size */
	uint32_t seq;     /* host order */
	uint16_t id;      /* IPv4 ID, host order */
	uint8_t tcp_flags;
	bool v6;
	/* Sums of what every segment shares, in tr_csum_add's order: the IPv4
	 * header without total length, ID and checksum; the TCP header without
	 * sequence number, flags and checksum, plus the pseudo-header without
	 * its length. A segment adds its own fields and payload (write_segment). */
	uint64_t ip_sum, tcp_sum;
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	tr_be16_put(p, (uint16_t)(v >> 16));
	tr_be16_put(p + 2, (uint16_t)v);
}

static void store_csum(uint8_t *p, uint16_t c)
{
	memcpy(p, &c, 2); /* in the order tr_csum_add loaded the words */
}

unsigned tr_gso_slots_needed(uint32_t room)
{
	if (room < ROOM_TSO_MIN || room > 65535u)
		return 0;
	return 1u + (TR_GSO_PACKET_MAX + TR_GSO_SEG_MIN - 1) / TR_GSO_SEG_MIN;
}

static unsigned layout_slots(const struct tr_gso *g, uint32_t first, uint32_t seg)
{
	unsigned n = 1u + (TR_GSO_PACKET_MAX - first + seg - 1) / seg;

	if (n < g->span_min)
		n = g->span_min;
	return n < g->slots_max ? n : g->slots_max;
}

static void learn(struct tr_gso *g, uint32_t h, uint32_t mss)
{
	/* An MSS below TR_GSO_SEG_MIN would need more slots per read than the
	 * engine reserves: such packets keep taking the slow path. */
	if (mss < TR_GSO_SEG_MIN || h + mss > g->room)
		return;
	g->next = (struct tr_gso_layout){ .first = h + mss, .hdr = h, .seg = mss,
					  .slots = layout_slots(g, h + mss, mss) };
}

int tr_gso_init(struct tr_gso *g, uint32_t room, unsigned slots_max)
{
	if (!g || room < 68 || room > 65535u || !slots_max)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->room = room;
	g->slots_max = slots_max;
	g->next = (struct tr_gso_layout){ .first = room, .hdr = 0, .seg = 0, .slots = 1 };
	if (slots_max == 1)
		return 0; /* no TSO: one packet per read, nothing to re-lay */
	if (slots_max < tr_gso_slots_needed(room))
		return -EINVAL;
	g->bounce = malloc(TR_GSO_PACKET_MAX);
	if (!g->bounce)
		return -ENOMEM;
	g->next = (struct tr_gso_layout){ .first = room, .hdr = HDR_GUESS,
					  .seg = room - HDR_GUESS };
	g->next.slots = layout_slots(g, room, room - HDR_GUESS);
	return 0;
}

int tr_gso_set_guess(struct tr_gso *g, uint32_t hdr, uint32_t seg)
{
	if (!g->bounce || hdr < 40 || hdr > TR_GSO_HDR_MAX || seg < TR_GSO_SEG_MIN ||
	    hdr + seg > g->room)
		return -EINVAL;
	learn(g, hdr, seg);
	return 0;
}

void tr_gso_free(struct tr_gso *g)
{
	if (!g)
		return;
	free(g->bounce);
	g->bounce = NULL;
}

struct tr_gso_layout tr_gso_next(const struct tr_gso *g)
{
	return g->next;
}

unsigned tr_gso_iov(const struct tr_gso_layout *l, void *vhdr, uint8_t *const *slots,
		    struct iovec *iov)
{
	iov[0] = (struct iovec){ vhdr, TR_VNET_HDR_LEN };
	iov[1] = (struct iovec){ slots[0], l->first };
	for (unsigned k = 1; k < l->slots; k++)
		iov[k + 1] = (struct iovec){ slots[k] + l->hdr, l->seg };
	return l->slots + 1;
}

/* Copies the packet as the read laid it out into g->bounce. Returns 0, or
 * -EINVAL if the layout cannot have held plen bytes. */
static int gather(struct tr_gso *g, const struct tr_gso_layout *l, uint8_t *const *slots,
		  uint32_t plen)
{
	uint32_t n = plen < l->first ? plen : l->first, done = n;

	if (plen > TR_GSO_PACKET_MAX)
		return -EINVAL;
	memcpy(g->bounce, slots[0], n);
	for (unsigned k = 1; k < l->slots && done < plen; k++) {
		n = plen - done < l->seg ? plen - done : l->seg;
		memcpy(g->bounce + done, slots[k] + l->hdr, n);
		done += n;
	}
	if (done < plen)
		return -EINVAL;
	g->st.copied_bytes += plen;
	return 0;
}

/* A partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) on a plain packet: the
 * field already holds the pseudo-header sum, so the sum from csum_start to
 * the end, inverted, is the checksum. */
static int complete_csum(uint8_t *pkt, uint32_t plen, uint32_t start, uint32_t off)
{
	uint16_t c;

	if ((off != TCP_CHECK_OFF && off != UDP_CHECK_OFF) || start < 20 ||
	    start > plen || off + 2 > plen - start)
		return -EINVAL;
	c = tr_csum_fold(tr_csum_add(pkt + start, plen - start, 0));
	if (off == UDP_CHECK_OFF && c == 0)
		c = 0xffff; /* 0 means "no checksum" in UDP */
	store_csum(pkt + start + off, c);
	return 0;
}

/* The sums of gso_hdrs: the header fields that change per segment zeroed
 * in a copy. Both headers are at most 60 bytes (IHL, TCP data offset). */
static void shared_sums(struct gso_hdrs *x)
{
	uint8_t b[60];
	uint32_t tl = x->h - x->l4;

	x->ip_sum = 0;
	if (!x->v6) {
		memcpy(b, x->tmpl, x->l4);
		memset(b + 2, 0, 4);  /* total length, ID */
		memset(b + 10, 0, 2); /* checksum */
		x->ip_sum = tr_csum_add(b, x->l4, 0);
	}
	memcpy(b, x->tmpl + x->l4, tl);
	memset(b + 4, 0, 4);                /* sequence number */
	b[13] = 0;                          /* flags */
	memset(b + TCP_CHECK_OFF, 0, 2);    /* checksum */
	x->tcp_sum = tr_csum_add(b, tl, tr_csum_pseudo(x->tmpl, x->v6, IPPROTO_TCP_, 0));
}

/* Checks a super-packet's metadata and headers. hdr[0..n) is a private copy
 * of the packet's first n bytes, plen the packet's length. */
static int parse_gso(const struct virtio_net_hdr *vh, const uint8_t *hdr, uint32_t n,
		     uint32_t plen, uint32_t room, struct gso_hdrs *out)
{
	uint8_t type = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	uint32_t l4 = vh->csum_start, doff;

	if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || vh->csum_offset != TCP_CHECK_OFF)
		return -EINVAL;
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6)
		return -EINVAL;
	out->v6 = type == VIRTIO_NET_HDR_GSO_TCPV6;
	out->mss = vh->gso_size;
	if (!out->mss || n < 1 || l4 + TCP_HDR_MIN > n)
		return -EINVAL;
	if (out->v6) {
		/* No extension headers: Linux TCP sends none, and walking
		 * them is not worth the risk here. */
		if (hdr[0] >> 4 != 6 || l4 != 40 || hdr[6] != IPPROTO_TCP_)
			return -EINVAL;
	} else {
		if (hdr[0] >> 4 != 4 || (hdr[0] & 15u) * 4u != l4 || l4 < 20 ||
		    hdr[9] != IPPROTO_TCP_ || (tr_be16_get(hdr + 6) & 0x3fffu))
			return -EINVAL; /* IHL, protocol, or a fragment */
		out->id = tr_be16_get(hdr + 4);
	}
	doff = (hdr[l4 + 12] >> 4) * 4u;
	if (doff < TCP_HDR_MIN || l4 + doff > n)
		return -EINVAL;
	out->l4 = l4;
	out->h = l4 + doff;
	if (out->h >= plen || out->h + out->mss > room)
		return -EINVAL; /* no payload, or a segment that fits no slot */
	out->seq = get32(hdr + l4 + 4);
	out->tcp_flags = hdr[l4 + 13];
	memcpy(out->tmpl, hdr, out->h);
	shared_sums(out);
	return 0;
}

/* Writes segment k's headers into d (its payload, pl bytes, at d + h) and
 * its checksums, from the private template only. The checksums start from
 * the shared sums and add this segment's fields as they are stored (htons,
 * htonl: the order tr_csum_add loads them in; the flags are the low byte of
 * the 16-bit word at TCP offset 12), then the payload: the headers are not
 * summed again per segment (bench_csum, "tr_gso_finish"). */
static void write_segment(const struct gso_hdrs *x, uint8_t *d, unsigned k, bool last,
			  uint32_t pl)
{
	uint8_t *tcp = d + x->l4;
	uint8_t fl = x->tcp_flags;
	uint32_t tcp_len = x->h - x->l4 + pl, seq = x->seq + (uint32_t)k * x->mss;
	uint64_t sum;

	memcpy(d, x->tmpl, x->h);
	if (x->v6) {
		tr_be16_put(d + 4, (uint16_t)(x->h - 40 + pl));
	} else {
		uint16_t id = (uint16_t)(x->id + k);

		tr_be16_put(d + 2, (uint16_t)(x->h + pl));
		tr_be16_put(d + 4, id);
		sum = x->ip_sum + htons((uint16_t)(x->h + pl)) + htons(id);
		store_csum(d + 10, tr_csum_fold(sum));
	}
	put32(tcp + 4, seq);
	if (!last)
		fl &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (k)
		fl &= (uint8_t)~TCP_CWR;
	tcp[13] = fl;
	/* From scratch: for GSO the kernel leaves a pseudo-header sum without
	 * the length in the field. The payload starts at an even offset
	 * (h is a multiple of 4), so its words line up with the headers'. */
	sum = x->tcp_sum + htonl(tcp_len) + htonl(seq) + htons(fl);
	store_csum(tcp + TCP_CHECK_OFF, tr_csum_fold(tr_csum_add(d + x->h, pl, sum)));
}

static int finish_plain(struct tr_gso *g, const struct tr_gso_layout *l,
			const struct virtio_net_hdr *vh, uint32_t plen, uint8_t *const *slots,
			uint32_t *lens)
{
	if (!plen || plen > g->room)
		return -EINVAL;
	if (plen > l->first) {
		/* It spilled into the next slot's payload area: the guess was
		 * for a smaller first segment. */
		if (!g->bounce || gather(g, l, slots, plen))
			return -EINVAL;
		memcpy(slots[0], g->bounce, plen);
		g->st.copied_bytes += plen;
		g->st.slow++;
	}
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (complete_csum(slots[0], plen, vh->csum_start, vh->csum_offset))
			return -EINVAL;
		g->st.csum_completed++;
	}
	lens[0] = plen;
	return 1;
}

static int finish_gso(struct tr_gso *g, const struct tr_gso_layout *l,
		      const struct virtio_net_hdr *vh, uint32_t plen, uint8_t *const *slots,
		      unsigned n_slots, uint32_t *lens)
{
	uint8_t copy[TR_GSO_HDR_MAX];
	struct gso_hdrs x;
	uint32_t n = plen, payload, nseg;
	bool fast;

	if (l->slots < 2 || !g->bounce)
		return -EINVAL; /* TSO is off: the kernel has no business sending one */
	if (n > l->first)
		n = l->first;
	if (n > sizeof(copy))
		n = sizeof(copy);
	memcpy(copy, slots[0], n); /* one read of shared memory, then only the copy */
	if (parse_gso(vh, copy, n, plen, g->room, &x))
		return -EINVAL;
	payload = plen - x.h;
	nseg = (payload + x.mss - 1) / x.mss;
	fast = l->hdr == x.h && l->seg == x.mss && l->first == x.h + x.mss;
	if (fast && nseg > l->slots)
		return -EINVAL; /* more bytes than the read had room for */
	if (!fast) {
		/* Two flows of different MSS take turns with the layout: each
		 * switch is a slow read, but a read sized for the larger MSS
		 * must not then be too short for the smaller one's packet (a
		 * whole 64 KiB lost per switch). Reads keep the widest span
		 * seen; only the first packet of a smaller MSS can be lost. */
		if (nseg > g->span_min)
			g->span_min = nseg;
		learn(g, x.h, x.mss);
		if (nseg > n_slots) {
			g->st.drop_room++;
			return -ENOSPC;
		}
		if (gather(g, l, slots, plen))
			return -EINVAL;
		g->st.slow++;
	}
	for (unsigned k = 0; k < nseg; k++) {
		uint32_t off = k * x.mss, pl = payload - off < x.mss ? payload - off : x.mss;

		if (!fast) {
			memcpy(slots[k] + x.h, g->bounce + x.h + off, pl);
			g->st.copied_bytes += pl;
		}
		write_segment(&x, slots[k], k, k + 1 == nseg, pl);
		lens[k] = x.h + pl;
	}
	g->st.packets++;
	g->st.segments += nseg;
	return (int)nseg;
}

int tr_gso_finish(struct tr_gso *g, const struct tr_gso_layout *l, const void *vhdr,
		  uint32_t nread, uint8_t *const *slots, unsigned n_slots, uint32_t *lens)
{
	struct virtio_net_hdr vh;
	int ret;

	for (unsigned i = 0; i < n_slots; i++)
		lens[i] = 0;
	if (nread < TR_VNET_HDR_LEN || n_slots < l->slots || !l->slots) {
		g->st.drop_bad++;
		return -EINVAL;
	}
	memcpy(&vh, vhdr, sizeof(vh)); /* native byte order: legacy virtio */
	if (vh.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		ret = finish_plain(g, l, &vh, nread - TR_VNET_HDR_LEN, slots, lens);
	else
		ret = finish_gso(g, l, &vh, nread - TR_VNET_HDR_LEN, slots, n_slots, lens);
	if (ret == -EINVAL)
		g->st.drop_bad++;
	if (ret < 0) {
		for (unsigned i = 0; i < n_slots; i++)
			lens[i] = 0;
	}
	return ret;
}
