/* SPDX-License-Identifier: MIT */
/*
 * tunroom/tun.h - the TUN device: a struct tr_device that serves sessions
 * against a Linux TUN interface (IFF_TUN | IFF_NO_PI), in-process, one thread
 * per session -- or none: a session opened with TR_SESSION_F_INLINE runs to
 * completion in the application's own threads (tunroom/tunroom.h). Open it,
 * then tr_session_open() on it.
 *
 * Egress: the thread reads the TUN descriptor straight into the next egress
 * slot at the session's head room and publishes it. Ingress: it writes each
 * committed slot's [offset, offset + length) to the descriptor, splitting
 * aggregated (TR_TX_MULTI) slots by their IP length fields. Malformed and
 * non-IP packets are dropped and counted. Needs root or CAP_NET_ADMIN.
 *
 * With TR_TUNDEV_F_OFFLOAD the device is opened with IFF_VNET_HDR and TSO
 * (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN): one read returns a
 * TCP super-packet of up to 64 KiB whose segments land each in its own
 * ordinary egress slot (the engine writes their headers and checksums; see
 * docs/ring-abi.md), and partial checksums are completed; on ingress,
 * consecutive TCP segments of a flow are written as one TSO super-packet.
 * The application sees and commits MTU-sized packets as without the flag.
 * If the kernel refuses, the device works one packet per read and
 * tr_tundev_offload() says why. Each read spans ~64 KiB of egress ring; the
 * engine batches reads only while the application keeps up, so a 4 MiB ring
 * still holds over 2,000 packets of 1,500 bytes in flight (docs/ring-abi.md,
 * "Ring space").
 */
#ifndef TUNROOM_TUN_H
#define TUNROOM_TUN_H

#include <stdint.h>

#include "tunroom/device.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TR_TUNDEV_QUEUES_MAX 16
#define TR_TUNDEV_BURST_MAX 256

/* tr_tundev_config.flags */
#define TR_TUNDEV_F_ATTACH   0x01u /* open an existing device, never create one */
#define TR_TUNDEV_F_CREATE   0x02u /* create a new one, fail if the name is taken */
#define TR_TUNDEV_F_PERSIST  0x04u /* a created device outlives tr_device_close() */
#define TR_TUNDEV_F_NO_UP    0x08u /* leave the link down (default: set it up) */
#define TR_TUNDEV_F_PLAIN_IO 0x10u /* read(2)/write(2) only, no io_uring */
#define TR_TUNDEV_F_OFFLOAD  0x20u /* IFF_VNET_HDR + TSO: 64 KiB reads split into slots */
/* With OFFLOAD: ingress TCP segments are coalesced into TSO writes without
 * verifying their checksums in userspace (the run's partial checksum is
 * taken as valid by the kernel, and completed if it forwards the packet).
 * Only for an application that authenticated every packet it commits (an
 * AEAD tunnel in this process, as kernel WireGuard trusts what it
 * decrypted); never for slots from untrusted writers. Single packets are
 * checked by the kernel either way. */
#define TR_TUNDEV_F_TRUST_CSUM 0x40u

struct tr_tundev_config {
	const char *name;     /* NULL or "" = "tr%d" (the kernel picks the number) */
	uint32_t mtu;         /* 0 = leave as it is (1500 for a new device) */
	const char *const *addresses; /* "198.18.0.1/24", "fd00::1/64"; n_addresses of them */
	unsigned n_addresses;
	unsigned queues;      /* sessions at a time; 0 or 1 = one; more = IFF_MULTI_QUEUE */
	unsigned burst;       /* packets per batch each way; 0 = 64 */
	uint32_t flags;       /* TR_TUNDEV_F_* */
	/* What the device decides on its own while it runs (offloads turned
	 * off, and why) as one line without a newline, e.g. "tr0: TUN offload
	 * off, one packet per read: ...". The library itself never prints;
	 * NULL: nothing is reported (tr_tundev_offload() still tells). Called
	 * from the thread that opens the device or starts a session. */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

/* Device-side counters summed over the device's sessions (running ones
 * included; the ports' own tr_port_stats count ring traffic). */
struct tr_tundev_stats {
	uint64_t egress_packets;          /* read from TUN into egress slots */
	uint64_t ingress_packets;         /* written from ingress slots to TUN */
	uint64_t ingress_drop_malformed;  /* not IPv4/IPv6 or length fields wrong */
	uint64_t ingress_err_write;       /* the kernel refused the write */
	uint64_t egress_err_read;         /* a read failed (packet lost) */
	uint64_t egress_hole_voids;       /* empty reads between full ones, published as void slots */
	uint64_t syscalls;                /* TUN reads, writes, io_uring_enter, poll */
	uint64_t polls;                   /* times a session thread slept */
	/* TR_TUNDEV_F_OFFLOAD (all 0 without it): */
	uint64_t egress_gso_packets;      /* TSO super-packets read and split */
	uint64_t egress_gso_segments;     /* slots they filled (also in egress_packets) */
	uint64_t egress_csum_completed;   /* partial checksums completed (non-TSO packets) */
	uint64_t egress_drop_gso_bad;     /* bad offload metadata or headers: dropped */
	uint64_t egress_gso_slow;         /* reads the guessed layout missed: re-laid by copy */
	uint64_t egress_copied_bytes;     /* bytes the slow path copied */
	uint64_t egress_drop_gso_room;    /* more segments than reserved slots: dropped */
	uint64_t ingress_gso_packets;     /* TCP segment runs written as one TSO packet */
	uint64_t ingress_gso_segments;    /* segments in them (also in ingress_packets) */
	uint64_t ingress_csum_trusted;    /* TRUST_CSUM: segments coalesced with no checksum check */
};

/* Creates or attaches the TUN device, sets its MTU, adds the addresses and
 * sets the link up. Returns 0; -EINVAL (bad name, flags, address, queue
 * count or burst); -ENOENT (no /dev/net/tun); -EPERM (needs CAP_NET_ADMIN);
 * -ENODEV (ATTACH: no such device); -EEXIST (CREATE: name taken, or an
 * address already on the link); -EBUSY (single-queue device in use);
 * -ENOMEM; or the kernel's error for the MTU or an address. On failure a
 * device this call created is removed again. */
int tr_tundev_open(struct tr_device **out, const struct tr_tundev_config *cfg);

/* For a device from tr_tundev_open(): its interface name and index, and the
 * I/O backend its sessions use ("io_uring" or "read/write"). NULL/-EINVAL
 * for any other device. */
const char *tr_tundev_name(const struct tr_device *dev);
int tr_tundev_ifindex(const struct tr_device *dev);
const char *tr_tundev_io_backend(const struct tr_device *dev);
/* The offload mode: "tso", "off" (not asked for), or "off (why)" when
 * TR_TUNDEV_F_OFFLOAD was asked for and the kernel or the session's ring
 * could not take it. NULL for any other device. */
const char *tr_tundev_offload(const struct tr_device *dev);
/* Returns 0 or -EINVAL. */
int tr_tundev_stats(const struct tr_device *dev, struct tr_tundev_stats *out);

/* One line on what to do about an error from tr_tundev_open() ("load the tun
 * module", "needs CAP_NET_ADMIN", ...). Never NULL. */
const char *tr_tundev_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_TUN_H */
