/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes tr_gro_run and tr_gro_run_trusted (src/engine/gro.c): the ingress
 * packets an application committed, whose headers the engine judges and
 * rewrites into one TSO write. Input:
 *   byte 0    bit 0: trusted (no checksum read)
 *   then      packets, each a big-endian 16-bit length and that many bytes
 *             (the last one cut at the input's end), at most 64
 * Each packet sits in an allocation of its own size, so ASan sees any read
 * past it. When a run of k >= 2 comes back, the write it stands for is
 * rebuilt (run->hdr, then each packet's bytes from run->h on) and held to
 * what the kernel will take it for: one TCP flow whose segments follow each
 * other in sequence, all of the first one's payload size but the last, an
 * IP length that is the write's, a right IPv4 header checksum, a virtio_net
 * header that says so, and a partial TCP checksum that the kernel's
 * completion turns into a right one (a plain RFC 1071 sum here). Verified
 * runs also need every segment's own checksums right.
 */
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gro.h"
#include "../ref_csum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PKTS 64u

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return be16(p) << 16 | be16(p + 2);
}

/* The pseudo-header sum of the IP header at ip, for tcp_len bytes of TCP. */
static uint64_t pseudo(const uint8_t *ip, bool v6, uint32_t tcp_len)
{
	uint64_t sum = v6 ? ref_csum_add(0, ip + 8, 32) : ref_csum_add(0, ip + 12, 8);

	return sum + 6u + tcp_len;
}

/* A segment as it came: its IPv4 header and TCP checksums are right. */
static bool segment_ok(const uint8_t *p, uint32_t len, bool v6, uint32_t l4)
{
	if (!v6 && ref_csum_fold(ref_csum_add(0, p, l4)) != 0)
		return false;
	return ref_csum_fold(ref_csum_add(pseudo(p, v6, len - l4), p + l4, len - l4)) == 0;
}

static void check_run(const struct iovec *pk, unsigned k, bool trusted,
		      const struct tr_gro_run *run)
{
	const uint8_t *first = pk[0].iov_base, *hdr = run->hdr;
	bool v6 = first[0] >> 4 == 6;
	uint32_t l4 = v6 ? 40u : 20u, h = run->h, mss, total = 0;
	struct virtio_net_hdr vh;

	if (h < l4 + 20u || h > TR_GSO_HDR_MAX || h != l4 + (first[l4 + 12] >> 4) * 4u)
		abort();
	mss = (uint32_t)pk[0].iov_len - h;
	for (unsigned j = 0; j < k; j++) {
		const uint8_t *p = pk[j].iov_base;
		uint32_t len = (uint32_t)pk[j].iov_len, pl = len - h;

		if (len <= h || pl > mss || (pl < mss && j + 1 < k))
			abort(); /* payload sizes: the first one's, a shorter last */
		/* The flow: what must not differ did not, and the numbers follow. */
		if (v6 ? memcmp(p, first, 4) || memcmp(p + 6, first + 6, 34)
		       : memcmp(p, first, 2) || memcmp(p + 6, first + 6, 4) ||
			 memcmp(p + 12, first + 12, 8))
			abort();
		if (memcmp(p + l4, first + l4, 4) || memcmp(p + l4 + 8, first + l4 + 8, 5) ||
		    memcmp(p + l4 + 14, first + l4 + 14, 2) ||
		    memcmp(p + l4 + 18, first + l4 + 18, h - l4 - 18))
			abort();
		if (be32(p + l4 + 4) != be32(first + l4 + 4) + total)
			abort();
		if ((v6 ? 40u + be16(p + 4) : be16(p + 2)) != len)
			abort(); /* each packet's IP length is its own */
		if (!trusted && !segment_ok(p, len, v6, l4))
			abort(); /* a verified run holds no bad checksum */
		total += pl;
	}
	/* The write's headers: IP length and checksum, flags of the last. */
	if (memcmp(hdr, first, 2) || memcmp(hdr + l4, first + l4, 13))
		abort();
	if (v6 ? 40u + be16(hdr + 4) != h + total : be16(hdr + 2) != h + total)
		abort();
	if (!v6 && (ref_csum_fold(ref_csum_add(0, hdr, 20)) != 0 || h + total > 65535u))
		abort();
	if (hdr[l4 + 13] != ((const uint8_t *)pk[k - 1].iov_base)[l4 + 13])
		abort();
	memcpy(&vh, run->vhdr, sizeof(vh));
	if (vh.flags != VIRTIO_NET_HDR_F_NEEDS_CSUM || vh.hdr_len != h || vh.gso_size != mss ||
	    vh.csum_start != l4 || vh.csum_offset != 16 ||
	    vh.gso_type != (v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4))
		abort();
	/* The kernel completes the partial checksum: the sum over the whole
	 * TCP part of the write (its header from run->hdr, field included,
	 * then the payloads), inverted, into the field. That must then be a
	 * right TCP checksum over the pseudo header and the same bytes. */
	uint32_t tcp_len = h - l4 + total, at = h - l4;
	uint8_t *w = malloc(tcp_len);
	uint16_t c;

	if (!w)
		abort();
	memcpy(w, hdr + l4, h - l4);
	for (unsigned j = 0; j < k; j++) {
		memcpy(w + at, (const uint8_t *)pk[j].iov_base + h, pk[j].iov_len - h);
		at += (uint32_t)pk[j].iov_len - h;
	}
	c = ref_csum_fold(ref_csum_add(0, w, tcp_len));
	w[16] = (uint8_t)(c >> 8);
	w[17] = (uint8_t)c;
	if (ref_csum_fold(ref_csum_add(pseudo(hdr, v6, tcp_len), w, tcp_len)) != 0)
		abort();
	free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iovec pk[PKTS];
	struct tr_gro_run run;
	unsigned n = 0;
	bool trusted;
	size_t at = 1;

	if (size < 1)
		return 0;
	trusted = data[0] & 1u;
	while (n < PKTS && at + 2 <= size) {
		size_t len = be16(data + at);

		at += 2;
		if (len > size - at)
			len = size - at;
		/* Exactly its size (at least 1: malloc(0) may share). */
		uint8_t *p = malloc(len ? len : 1);
		if (!p)
			abort();
		memcpy(p, data + at, len);
		pk[n++] = (struct iovec){ p, len };
		at += len;
	}
	for (unsigned i = 0; i < n;) {
		memset(&run, 0x5a, sizeof(run));
		unsigned k = trusted ? tr_gro_run_trusted(&pk[i], n - i, &run)
				     : tr_gro_run(&pk[i], n - i, &run);

		if (k < 1 || k > n - i || k > TR_GRO_SEGS_MAX)
			abort();
		if (k >= 2) {
			if (run.n != k)
				abort();
			check_run(&pk[i], k, trusted, &run);
		}
		i += k;
	}
	for (unsigned i = 0; i < n; i++)
		free(pk[i].iov_base);
	return 0;
}
