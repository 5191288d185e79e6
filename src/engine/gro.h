/* SPDX-License-Identifier: MIT */
/*
 * Internal: the ingress half of TUN offloads. Consecutive TCP segments of
 * one flow, committed by the application one per slot, go to the kernel as
 * one TSO super-packet (a single writev with a GSO virtio_net_hdr), so the
 * receiving stack handles one 64 KiB skb instead of dozens -- what GRO does
 * for a NIC. Nothing is copied: the writev takes the first segment's
 * headers from an engine-private, rewritten copy and every payload from its
 * slot.
 *
 * The super-packet goes in with a partial checksum, which the kernel takes
 * as verified: so each segment's TCP checksum (and IPv4 header checksum) is
 * verified here first, and a segment that fails is left to be written on
 * its own (the kernel then drops it and counts it as usual). An application
 * that rewrites a payload in the ring after that check gets it into its own
 * connection unverified -- no more than it could do by committing those
 * bytes with a valid checksum; the headers the kernel parses are ours.
 */
#ifndef TR_ENGINE_GRO_H
#define TR_ENGINE_GRO_H

#include <stdint.h>
#include <sys/uio.h>

#include "engine/gso.h"

#define TR_GRO_SEGS_MAX 64u /* segments in one super-packet */

struct tr_gro_run {
	unsigned n;                   /* packets the run takes (>= 2) */
	uint32_t h;                   /* header bytes in front of each payload */
	uint8_t vhdr[TR_VNET_HDR_LEN]; /* GSO virtio_net_hdr for the write */
	uint8_t hdr[TR_GSO_HDR_MAX];  /* the super-packet's IP + TCP headers */
};

/* Looks at pkts[0..n) (whole IP packets, in ring memory). Returns how many
 * from the start can go to the kernel as one TSO super-packet -- then *run
 * is filled and payload k is pkts[k] from byte run->h on -- or 1: write
 * pkts[0] on its own. Headers are judged from private copies; payload bytes
 * are read once, for the checksums. */
unsigned tr_gro_run(const struct iovec *pkts, unsigned n, struct tr_gro_run *run);

/* The same without reading the payloads: no checksum is verified (the
 * headers still are judged). For TR_TUNDEV_F_TRUST_CSUM only: the run goes
 * in with a partial checksum, which the kernel accepts for local delivery
 * and completes itself if it forwards the packet. */
unsigned tr_gro_run_trusted(const struct iovec *pkts, unsigned n, struct tr_gro_run *run);

#endif /* TR_ENGINE_GRO_H */
