/* SPDX-License-Identifier: MIT */
/*
 * tunroom/memdev.h - the memory-only device: a struct tr_device that serves
 * sessions from a thread of its own with no TUN device and no privileges,
 * for tests and benchmarks.
 */
#ifndef TUNROOM_MEMDEV_H
#define TUNROOM_MEMDEV_H

#include <stdint.h>

#include "tunroom/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The memory-only device, for tests and benchmarks: no TUN, no privileges. */
enum tr_memdev_mode {
	TR_MEMDEV_LOOPBACK,  /* every ingress packet comes back on the egress ring (split MULTI) */
	TR_MEMDEV_GENERATOR, /* publishes count egress packets of size bytes, numbered from 0 */
	TR_MEMDEV_SINK,      /* consumes ingress and counts */
};
struct tr_memdev_config {
	enum tr_memdev_mode mode;
	uint32_t size;    /* GENERATOR: packet size */
	uint64_t count;   /* GENERATOR: packets to produce; 0 = until stopped */
	unsigned burst;   /* packets per flush; 0 = 32 */
	uint32_t flags;   /* TR_MEMDEV_F_* */
};
#define TR_MEMDEV_F_COPY 0x1u /* GENERATOR fills every byte; SINK reads every byte (copy baseline) */

/* Returns 0, -EINVAL, -ENOMEM. GENERATOR writes the packet number as a
 * little-endian uint64 at the start of each packet (size >= 8). */
int tr_memdev_open(struct tr_device **out, const struct tr_memdev_config *cfg);

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_MEMDEV_H */
