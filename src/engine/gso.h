/* SPDX-License-Identifier: MIT */
/*
 * Internal: TUN offloads on the egress path, with no TUN in sight so that it
 * can be unit-tested. With IFF_VNET_HDR and TSO on, one read(2) of the TUN
 * device returns a struct virtio_net_hdr and a TCP "super-packet" of up to
 * 64 KiB that the kernel expects us to cut into MSS-sized segments.
 *
 * tr_gso_iov() lays one read out so that the kernel itself drops each
 * segment's payload into its own egress slot, leaving a gap in front of it
 * for the segment's IP and TCP headers:
 *
 *   iov[0]   the 10-byte virtio_net_hdr (engine memory, the caller's)
 *   iov[1]   slot 0, `first` bytes: headers + first segment's payload
 *   iov[k]   slot k-1 + `hdr`, `seg` bytes: segment k-1's payload
 *
 * tr_gso_finish() then validates the offload metadata and the headers (from
 * a private copy: slots are shared memory), writes every segment's headers
 * into its gap and computes its checksums. When the layout guessed for the
 * read was wrong (another MSS, other TCP options, IPv6 after IPv4) it
 * gathers the packet into a private buffer, re-lays it into the slots
 * (counted: slow, copied_bytes) and learns the layout for the next read.
 */
#ifndef TR_ENGINE_GSO_H
#define TR_ENGINE_GSO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "engine/csum.h"

#define TR_VNET_HDR_LEN 10u       /* struct virtio_net_hdr, TUNSETVNETHDRSZ */
#define TR_GSO_PACKET_MAX 65575u  /* IPv6: 40 + a 65535-byte payload */
#define TR_GSO_HDR_MAX 192u       /* IP + TCP headers of one segment, at most */
#define TR_GSO_SEG_MIN 536u       /* smallest MSS the read layout plans for */

/* Where one read put its bytes: fixed when its iovec is built, so that a
 * guess learnt from an earlier read of the same batch does not change how
 * this one is taken apart. */
struct tr_gso_layout {
	uint32_t first;  /* bytes read into slot 0 */
	uint32_t hdr;    /* gap left in front of the payload of slots 1.. */
	uint32_t seg;    /* payload bytes read into each of slots 1.. */
	unsigned slots;  /* slots the read spans */
};

struct tr_gso_stats {
	uint64_t packets;        /* super-packets split */
	uint64_t segments;       /* segments they gave */
	uint64_t csum_completed; /* non-GSO packets whose checksum we completed */
	uint64_t drop_bad;       /* bad offload metadata or headers: dropped */
	uint64_t drop_room;      /* more segments than slots at hand: dropped */
	uint64_t slow;           /* reads re-laid through the private buffer */
	uint64_t copied_bytes;   /* bytes the slow path copied (gathered + re-laid) */
};

struct tr_gso {
	uint32_t room;           /* packet bytes one slot holds (the MTU) */
	unsigned slots_max;      /* most slots one read may span */
	struct tr_gso_layout next; /* the guess for the next read */
	unsigned span_min;       /* most segments a super-packet has needed: reads
				  * never span fewer slots again (see learn) */
	struct tr_gso_stats st;
	uint8_t *bounce;         /* TR_GSO_PACKET_MAX bytes, for the slow path */
};

/* room: bytes of packet per slot (68..65535). slots_max: most slots a read
 * may span (at least tr_gso_slots_needed(room)) or 1 for a device without
 * TSO (each read is one packet: vnet header + one slot). Allocates the
 * bounce buffer when slots_max > 1. Returns 0, -EINVAL, -ENOMEM. */
int tr_gso_init(struct tr_gso *g, uint32_t room, unsigned slots_max);
void tr_gso_free(struct tr_gso *g);

/* Sets the guess (tests: to force the slow path). Returns 0, or -EINVAL
 * without TSO or for a layout no read could have. */
int tr_gso_set_guess(struct tr_gso *g, uint32_t hdr, uint32_t seg);

/* Slots a read must be able to span for TSO with an MSS of TR_GSO_SEG_MIN
 * in slots of room bytes: the engine turns TSO off when the ring cannot
 * give that many. */
unsigned tr_gso_slots_needed(uint32_t room);

/* The layout of the next read: the guess (slots = 1 without TSO). */
struct tr_gso_layout tr_gso_next(const struct tr_gso *g);

/* Builds the iovec of one read with layout l: iov[0] = vhdr (10 bytes),
 * then one entry per slot; slots[i] is slot i's data start (room bytes
 * each). Returns the iovec count, l->slots + 1. */
unsigned tr_gso_iov(const struct tr_gso_layout *l, void *vhdr, uint8_t *const *slots,
		    struct iovec *iov);

/* Takes apart one read of nread bytes (vnet header included) laid out as l:
 * slots[0..n_slots) may be used (n_slots >= l->slots; more when the slots
 * after this read's are free). lens[i] gets slot i's packet length, 0 for a
 * slot left empty. Returns the number of slots holding a packet (>= 1), or
 * -EINVAL (bad metadata or headers), -ENOSPC (more segments than n_slots):
 * the packet is dropped and counted, lens all 0. */
int tr_gso_finish(struct tr_gso *g, const struct tr_gso_layout *l, const void *vhdr,
		  uint32_t nread, uint8_t *const *slots, unsigned n_slots, uint32_t *lens);

/* Big-endian 16-bit header fields, at any alignment (gso.c, gro.c). */
static inline uint16_t tr_be16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void tr_be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#endif /* TR_ENGINE_GSO_H */
