/* SPDX-License-Identifier: MIT */
/*
 * Internal: opening a Linux TUN device (IFF_TUN | IFF_NO_PI), created or
 * attached, one descriptor per queue. Link settings are netlink.h's job.
 */
#ifndef TR_ENGINE_TUN_H
#define TR_ENGINE_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#define TR_TUN_DEV_PATH "/dev/net/tun"
#define TR_TUN_NAME_DEFAULT "tr%d" /* the kernel picks the lowest free number */
#define TR_TUN_QUEUES_MAX 16

/* tr_tun_config.flags */
#define TR_TUN_F_ATTACH   0x1u /* the device must exist already (WintunOpenAdapter) */
#define TR_TUN_F_CREATE   0x2u /* the device must not exist yet; without ATTACH or CREATE: either */
#define TR_TUN_F_PERSIST  0x4u /* created device outlives its descriptors (TUNSETPERSIST) */
#define TR_TUN_F_VNET_HDR 0x8u /* packets carry a struct virtio_net_hdr first */
#define TR_TUN_F_ALL      0xfu

struct tr_tun_config {
	const char *name;     /* NULL or "" = TR_TUN_NAME_DEFAULT; at most one "%d" */
	unsigned queues;      /* 0 or 1 = one queue; more sets IFF_MULTI_QUEUE */
	uint32_t flags;       /* TR_TUN_F_* */
	const char *dev_path; /* NULL = TR_TUN_DEV_PATH (tests point it elsewhere) */
};

struct tr_tun {
	char name[IFNAMSIZ];  /* the device's real name (the kernel expands "%d") */
	int fds[TR_TUN_QUEUES_MAX]; /* O_NONBLOCK | O_CLOEXEC, one per queue */
	unsigned queues;
	bool created;         /* this open created the device */
	bool persist;         /* the device is persistent (set by us or found so) */
};

/* Checks a device name (or template) the way the kernel will, so that the
 * caller gets -EINVAL before any privilege is needed: 1..IFNAMSIZ-1 bytes, not
 * "." or "..", no '/', ':' or white space, at most one '%' and only as "%d".
 * Returns 0 or -EINVAL. */
int tr_tun_name_check(const char *name);

/* Opens the device for cfg into *t (all fds -1 on failure). Returns 0,
 * -EINVAL (bad name, flags or queue count; ATTACH and CREATE together; the
 * existing device is not a TUN device or its queue mode differs),
 * -ENOENT (no /dev/net/tun: module tun not loaded, or no such node in a
 * container), -EPERM (no CAP_NET_ADMIN, or no access to /dev/net/tun),
 * -ENODEV (ATTACH and no such device), -EEXIST (CREATE and it exists),
 * -EBUSY (a single-queue device already has its reader),
 * or another negative errno of open/ioctl. */
int tr_tun_open(struct tr_tun *t, const struct tr_tun_config *cfg);

/* Closes every queue. A device goes away with its last descriptor unless it
 * is persistent (tr_tun_set_persist(t, false) first, or delete the link over
 * netlink). Harmless on a *t that tr_tun_open() failed to fill (fds are -1). */
void tr_tun_close(struct tr_tun *t);

/* For a device opened with TR_TUN_F_VNET_HDR: a 10-byte virtio_net_hdr on
 * every queue (TUNSETVNETHDRSZ) and the offloads the kernel may hand us
 * (TUNSETOFFLOAD, TUN_F_* of linux/if_tun.h; device-wide). Returns 0 or the
 * ioctl's negative errno (-EINVAL: a feature this kernel does not know). */
int tr_tun_set_offload(struct tr_tun *t, unsigned features);

/* TUNSETPERSIST on the first queue. Returns 0 or the ioctl's negative errno. */
int tr_tun_set_persist(struct tr_tun *t, bool on);

/* One line on what to do about err from tr_tun_open(), for a CLI or a log:
 * "/dev/net/tun is missing: load the tun module (modprobe tun)...". Never NULL. */
const char *tr_tun_strerror(int err);

#endif /* TR_ENGINE_TUN_H */
