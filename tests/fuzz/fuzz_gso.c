/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes tr_gso_finish (src/engine/gso.c): what one TUN read with TSO hands
 * the TUN thread, offload metadata and headers both hostile. Input:
 *   byte 0    bits 0-1: slot room (656, 1280, 1400, 1500); bit 2: no TSO
 *             (one slot per read); bit 3: force the guess from bytes 1-2;
 *             bits 4-7: extra free slots after the read's (n_slots)
 *   bytes 1-2 the guess: header gap 40 + byte 1, payload per slot
 *             536 + byte 2 * 4 (tr_gso_set_guess may refuse it)
 *   bytes 3-12 the struct virtio_net_hdr, then the packet
 * The read is laid out over tr_gso_iov()'s iovec as readv(2) would, into
 * slots with canary bytes on both sides. Checks: a count of 1..n_slots or
 * -EINVAL/-ENOSPC with every length 0; no length beyond the room; canaries
 * intact; and every segment of a split TSO packet carries a right IPv4
 * header checksum and a right TCP checksum, by a plain RFC 1071 sum here
 * (the headers they share are summed once per read: this is its oracle).
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gso.h"
#include "../ref_csum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 140u    /* tr_gso_slots_needed() (124) and up to 15 more */
#define ROOM_MAX 1500u
#define CANARY 16u
#define STRIDE (CANARY + ROOM_MAX + CANARY)
#define FILL 0xa5

static uint8_t arena[SLOTS * STRIDE];

/* One output segment of a TSO split: a right IPv4 header checksum and a
 * right TCP checksum over the pseudo-header and the segment. */
static void check_segment(const uint8_t *p, uint32_t len, bool v6)
{
	uint32_t l4 = v6 ? 40u : (p[0] & 15u) * 4u;
	uint32_t ip_len = v6 ? 40u + (uint32_t)(p[4] << 8 | p[5]) : (uint32_t)(p[2] << 8 | p[3]);
	uint64_t sum;

	if (len < l4 + 20u || p[0] >> 4 != (v6 ? 6 : 4) || ip_len != len)
		abort(); /* the segment's own length in its IP header */
	if (!v6 && ref_csum_fold(ref_csum_add(0, p, l4)) != 0)
		abort(); /* IPv4 header checksum */
	sum = v6 ? ref_csum_add(0, p + 8, 32) : ref_csum_add(0, p + 12, 8);
	sum += 6u + (len - l4);
	if (ref_csum_fold(ref_csum_add(sum, p + l4, len - l4)) != 0)
		abort(); /* TCP checksum */
}

static void check_canaries(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *s = arena + (size_t)i * STRIDE;

		for (uint32_t k = 0; k < CANARY; k++)
			if (s[k] != FILL || s[CANARY + ROOM_MAX + k] != FILL)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t rooms[] = { 656, 1280, 1400, 1500 };
	uint8_t *slots[SLOTS], vh[TR_VNET_HDR_LEN];
	uint32_t lens[SLOTS], room, plen, done = 0;
	struct iovec iov[SLOTS + 1];
	struct virtio_net_hdr h;
	struct tr_gso_layout l;
	struct tr_gso g;
	unsigned n_slots, niov;
	int n;

	if (size < 3 + TR_VNET_HDR_LEN)
		return 0;
	room = rooms[data[0] & 3u];
	if (tr_gso_init(&g, room, data[0] & 4u ? 1u : tr_gso_slots_needed(room)))
		abort();
	if (data[0] & 8u)
		(void)tr_gso_set_guess(&g, 40u + data[1], 536u + data[2] * 4u);
	memset(arena, FILL, sizeof(arena));
	for (unsigned i = 0; i < SLOTS; i++)
		slots[i] = arena + (size_t)i * STRIDE + CANARY;
	memset(arena + CANARY, 0, ROOM_MAX); /* slot 0 as a fresh read leaves it */
	l = tr_gso_next(&g);
	if (l.slots + (data[0] >> 4) > SLOTS)
		abort();
	n_slots = l.slots + (data[0] >> 4);
	niov = tr_gso_iov(&l, vh, slots, iov);
	if (niov != l.slots + 1)
		abort();
	/* As readv(2): the header, then the packet over the slots in order. */
	memcpy(vh, data + 3, TR_VNET_HDR_LEN);
	memcpy(&h, vh, sizeof(h));
	data += 3 + TR_VNET_HDR_LEN;
	plen = (uint32_t)(size - 3 - TR_VNET_HDR_LEN);
	for (unsigned i = 1; i < niov && done < plen; i++) {
		size_t c = plen - done < iov[i].iov_len ? plen - done : iov[i].iov_len;

		memcpy(iov[i].iov_base, data + done, c);
		done += (uint32_t)c;
	}
	n = tr_gso_finish(&g, &l, vh, TR_VNET_HDR_LEN + done, slots, n_slots, lens);
	if (n < 0) {
		if (n != -EINVAL && n != -ENOSPC)
			abort();
		for (unsigned i = 0; i < n_slots; i++)
			if (lens[i])
				abort();
	} else {
		unsigned full = 0;

		for (unsigned i = 0; i < n_slots; i++) {
			if (lens[i] > room)
				abort();
			full += lens[i] > 0;
		}
		if (n < 1 || (unsigned)n > n_slots || full != (unsigned)n)
			abort();
		for (unsigned i = 0; i < n_slots; i++)
			if (lens[i] && h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
				check_segment(slots[i], lens[i],
					      (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) ==
						      VIRTIO_NET_HDR_GSO_TCPV6);
	}
	check_canaries(SLOTS);
	tr_gso_free(&g);
	return 0;
}
