/* SPDX-License-Identifier: MIT */
/*
 * tunroom/ring_abi.h - the shared-memory layout between a device side (the
 * owner of the TUN device) and an application. This header is the ABI and
 * nothing else: structs, flags, limits and the version. docs/ring-abi.md
 * describes it with diagrams; a change here bumps TR_ABI_VERSION there too.
 *
 * One mapping (a sealed memfd) holds a header and two single-producer,
 * single-consumer rings of variable-size slots:
 *   egress  ring: device produces, application consumes (OS -> tunnel)
 *   ingress ring: application produces, device consumes (tunnel -> OS)
 * All fields are little-endian host order of the machine both sides run on.
 */
#ifndef TUNROOM_RING_ABI_H
#define TUNROOM_RING_ABI_H

#include <stddef.h>
#include <stdint.h>

#define TR_ABI_MAGIC        0x314d4f4f524e5554ULL /* "TUNROOM1" */
#define TR_ABI_VERSION      2u /* 2: void slots allowed on the egress ring */

#define TR_ABI_PAGE         4096u
#define TR_ABI_CACHELINE    64u
/* Each index lives in its own 128-byte block: adjacent-line prefetchers pull
 * pairs of 64-byte lines, so 64 bytes apart is not far enough. */
#define TR_ABI_INDEX_BLOCK  128u

#define TR_ABI_SLOT_ALIGN   16u      /* slot sizes and starts are multiples of this */
#define TR_ABI_CAPACITY_MIN (1u << 17) /* 128 KiB per ring */
#define TR_ABI_CAPACITY_MAX (1u << 26) /* 64 MiB per ring */
#define TR_ABI_ROOM_MAX     4096u    /* head_room and tail_room, each */
#define TR_ABI_PACKET_MIN   64u      /* smallest max_packet a session may ask for */
#define TR_ABI_PACKET_MAX   65536u   /* largest packet (or aggregate) one slot carries */

/* Slot flags (tr_abi_slot.flags). Unknown bits in a published slot are corruption. */
#define TR_SLOT_F_BUSY      0x1u /* allocated, not committed yet: never seen past the producer index */
#define TR_SLOT_F_MULTI     0x2u /* data is several whole IPv4/IPv6 packets back to back */
#define TR_SLOT_F_VOID      0x4u /* no packet (abandoned allocation, empty read): consumer skips it */
#define TR_SLOT_F_RELEASED  0x8u /* consumer-private mark: released out of order, not yet passed */
#define TR_SLOT_F_KNOWN     0xfu

/* Every slot starts with this header; data lives at (header + 1) + offset. */
struct tr_abi_slot {
	uint32_t size;   /* whole slot including this header; multiple of TR_ABI_SLOT_ALIGN */
	uint32_t offset; /* data start, in bytes after the end of this header */
	uint32_t length; /* data length; offset + length <= size - sizeof(header) */
	uint32_t flags;  /* TR_SLOT_F_* */
};

/* Indices are free-running 32-bit byte counts, masked with (capacity - 1)
 * only to address memory, so (producer - consumer) is the bytes in use even
 * across wrap-around. Each side writes only its own block. */
struct tr_abi_ring {
	uint32_t producer;         /* next byte the producer will publish */
	uint32_t producer_waiting; /* 1: producer sleeps until space frees (ring was full) */
	uint32_t producer_closed;  /* 0 while the producer runs; else the positive errno it stopped with */
	uint8_t  pad0[TR_ABI_INDEX_BLOCK - 12];
	uint32_t consumer;         /* next byte the consumer will release */
	uint32_t consumer_waiting; /* 1: consumer sleeps until data arrives (ring was empty) */
	uint32_t consumer_closed;  /* 0 while the consumer runs; else the positive errno it stopped with */
	uint8_t  pad1[TR_ABI_INDEX_BLOCK - 12];
};

/* Where one ring lives, as offsets from the start of the mapping. */
struct tr_abi_ring_desc {
	uint32_t capacity;    /* data area bytes, a power of two */
	uint32_t slack;       /* bytes after the data area: one largest slot, so slots never wrap */
	uint64_t ctrl_offset; /* struct tr_abi_ring */
	uint64_t data_offset; /* capacity + slack bytes, page aligned */
};

/* Offset 0 of the mapping. Written once by the side that creates the memory,
 * before it is shared; read (and checked) by both sides on attach. */
struct tr_abi_header {
	uint64_t magic;        /* TR_ABI_MAGIC */
	uint32_t abi_version;  /* TR_ABI_VERSION */
	uint32_t header_size;  /* sizeof(struct tr_abi_header) */
	uint64_t map_size;     /* total mapping size, a multiple of TR_ABI_PAGE */
	uint32_t head_room;    /* bytes every slot has before its packet */
	uint32_t tail_room;    /* bytes every slot has after its packet */
	uint32_t max_packet;   /* largest data length of one slot */
	uint32_t max_slot;     /* largest slot size: align(16 + head + max_packet + tail) */
	uint32_t flags;        /* reserved, 0 */
	uint32_t reserved;
	struct tr_abi_ring_desc egress;
	struct tr_abi_ring_desc ingress;
	uint8_t pad[128 - 96];
};

/* Fixed places in the first page; data areas follow page aligned. */
#define TR_ABI_EGRESS_CTRL  256u
#define TR_ABI_INGRESS_CTRL 512u
#define TR_ABI_DATA_START   TR_ABI_PAGE

/* The layout is checked at compile time in C and in C++ alike. */
#ifdef __cplusplus
#define TR_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define TR_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

TR_ABI_ASSERT(sizeof(struct tr_abi_slot) == 16, "slot header is 16 bytes");
TR_ABI_ASSERT(sizeof(struct tr_abi_slot) % TR_ABI_SLOT_ALIGN == 0, "data stays aligned");
TR_ABI_ASSERT(offsetof(struct tr_abi_slot, size) == 0, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_slot, offset) == 4, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_slot, length) == 8, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_slot, flags) == 12, "abi");
TR_ABI_ASSERT(sizeof(struct tr_abi_ring) == 2 * TR_ABI_INDEX_BLOCK, "ring control is 256 bytes");
TR_ABI_ASSERT(offsetof(struct tr_abi_ring, producer) == 0, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_ring, producer_waiting) == 4, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_ring, producer_closed) == 8, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_ring, consumer) == TR_ABI_INDEX_BLOCK, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_ring, consumer_closed) == TR_ABI_INDEX_BLOCK + 8, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_ring, consumer_waiting) == TR_ABI_INDEX_BLOCK + 4, "abi");
TR_ABI_ASSERT(sizeof(struct tr_abi_ring_desc) == 24, "abi");
TR_ABI_ASSERT(sizeof(struct tr_abi_header) == 128, "header is 128 bytes");
TR_ABI_ASSERT(offsetof(struct tr_abi_header, abi_version) == 8, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_header, map_size) == 16, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_header, head_room) == 24, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_header, max_slot) == 36, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_header, egress) == 48, "abi");
TR_ABI_ASSERT(offsetof(struct tr_abi_header, ingress) == 72, "abi");
TR_ABI_ASSERT(TR_ABI_EGRESS_CTRL >= sizeof(struct tr_abi_header), "abi");
TR_ABI_ASSERT(TR_ABI_INGRESS_CTRL >= TR_ABI_EGRESS_CTRL + sizeof(struct tr_abi_ring), "abi");
TR_ABI_ASSERT(TR_ABI_DATA_START >= TR_ABI_INGRESS_CTRL + sizeof(struct tr_abi_ring), "abi");
TR_ABI_ASSERT((TR_ABI_CAPACITY_MIN & (TR_ABI_CAPACITY_MIN - 1)) == 0, "power of two");
TR_ABI_ASSERT((TR_ABI_CAPACITY_MAX & (TR_ABI_CAPACITY_MAX - 1)) == 0, "power of two");

#endif /* TUNROOM_RING_ABI_H */
