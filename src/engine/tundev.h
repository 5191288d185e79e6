/* SPDX-License-Identifier: MIT */
/*
 * Internal: the TUN device backend's state, shared by its two halves.
 * tundev.c is the device: open, link setup, offload mode, port start and
 * stop, getters and stats. tunport.c is the data path: the thread each
 * session (port) gets, moving packets between its TUN queue and its rings.
 *
 * Who writes what:
 * - struct tundev is filled by tr_tundev_open() before the device is handed
 *   out. After that only start_port/stop_port write it: ports[], io_name,
 *   and, under lock, tso_blockers, off_why and the offload pointer (which
 *   any thread reads with tr_load_acquire). Port threads read burst only.
 * - struct tunport is set up by start_port before it creates the thread
 *   (pthread_create orders those stores) and torn down by stop_port after
 *   pthread_join. In between it belongs to the port's thread, except stop
 *   (stop_port sets it, release; the thread reads it, acquire) and st and
 *   syscalls, which the one writer updates with STAT_ADD while
 *   tr_tundev_stats reads them relaxed from any thread (the thread folds
 *   tunio's own syscall count into syscalls as it runs: io_seen).
 * - An inline port (TR_SESSION_F_INLINE) has no thread: its egress half
 *   (eg*, the gso and vnet read state, io, syscalls, the egress counters)
 *   belongs to the application thread that receives, its ingress half
 *   (iov, res, in_*, runs, io_in, syscalls_in, the ingress counters) to
 *   the one that commits. Each half has its own tunio, so they never share
 *   an io_uring.
 */
#ifndef TR_ENGINE_TUNDEV_H
#define TR_ENGINE_TUNDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "engine/gro.h"
#include "engine/gso.h"
#include "engine/tun.h"
#include "engine/tunio.h"
#include "lib/barrier.h"
#include "tunroom/port.h"
#include "tunroom/tun.h"

#define OFFLOAD_MODE_LEN 160
/* Slots one egress batch may reserve with TSO: several reads of up to
 * TR_TUNDEV_BURST_MAX slots each (see vnet_reads). */
#define EG_SLOTS_MAX 1024u

struct tundev;

/* Counters written by the port's thread only; others read them relaxed. */
struct tunport_stats {
	uint64_t egress_packets, ingress_packets;
	uint64_t ingress_drop_malformed, ingress_err_write, egress_err_read;
	uint64_t egress_hole_voids;
	uint64_t polls;
	uint64_t ingress_gso_packets, ingress_gso_segments;
	uint64_t ingress_csum_trusted;
	struct tr_gso_stats gso; /* folded in from struct tr_gso after each batch */
};

struct tunport {
	struct tundev *d;
	struct tr_port *port;   /* NULL: this queue is free */
	int fd;                 /* the TUN queue; owned by d->tun */
	struct tr_tunio *io;    /* egress reads (and ingress writes, with a thread) */
	struct tr_tunio *io_in; /* ingress writes: io, or an inline port's own */
	bool inl;               /* run to completion: no thread (see above) */
	pthread_t thread;
	int stop;
	struct tunport_stats st;
	uint64_t syscalls;      /* poll(2), TUNSETQUEUE and tunio's I/O calls */
	uint64_t io_seen;       /* tunio's syscalls already added to syscalls */
	uint64_t syscalls_in;   /* an inline port's io_in calls */
	uint64_t io_in_seen;
	/* Ingress batch: packets of committed slots, written in one go. */
	struct iovec iov[TR_TUNDEV_BURST_MAX];
	int res[TR_TUNDEV_BURST_MAX];
	unsigned n_iov;
	/* Egress batch: reserved slots and the reads into them. */
	struct tr_pkt eg[EG_SLOTS_MAX];
	struct iovec eg_iov[TR_TUNDEV_BURST_MAX];
	uint32_t eg_lens[TR_TUNDEV_BURST_MAX];
	uint32_t eg_size; /* room per egress slot: the MTU, at most max_packet */
	/* vnet_hdr mode (TR_TUNDEV_F_OFFLOAD): each read is a readv of an
	 * engine-private virtio_net_hdr and one or (TSO) many slots. */
	bool vnet;
	bool tso;                /* this port reads with the TSO layout */
	bool tso_blocker;        /* its ring is too small: TSO off while it runs */
	unsigned slots_frac;     /* slots a batch may reserve (an eighth of the ring) */
	uint32_t batch_used_max; /* egress bytes in use above which a batch is one read */
	unsigned reads_hint;     /* reads the next batch makes at most */
	unsigned reads_cap;      /* inline: and at most this many (0: no cap) */
	struct tr_gso gso;
	struct tr_gso_stats gso_seen; /* part of gso.st already folded into st.gso */
	uint8_t vh[TR_TUNDEV_BURST_MAX][TR_VNET_HDR_LEN];
	struct iovec rd_iov[EG_SLOTS_MAX + TR_TUNDEV_BURST_MAX];
	struct tr_tunio_vec rd_vec[TR_TUNDEV_BURST_MAX];
	uint8_t *slot_ptr[EG_SLOTS_MAX];
	uint32_t slot_len[EG_SLOTS_MAX];
	struct tr_tunio_vec in_vec[TR_TUNDEV_BURST_MAX];
	unsigned in_pkts[TR_TUNDEV_BURST_MAX];   /* packets in each ingress write */
	struct iovec in_iovs[3 * TR_TUNDEV_BURST_MAX];
	struct tr_gro_run runs[TR_TUNDEV_BURST_MAX];
};

struct tundev {
	struct tr_device dev; /* first: the ops get it back by cast */
	struct tr_tun tun;
	int ifindex;
	unsigned burst;
	enum tr_tunio_backend io_want;
	const char *io_name;
	bool vnet;            /* queues opened with IFF_VNET_HDR */
	bool tso_ok;          /* the kernel took TSO_FEATURES */
	bool trust_csum;      /* TR_TUNDEV_F_TRUST_CSUM (and vnet): no checksum checks on ingress */
	unsigned tso_blockers; /* running ports whose ring cannot take a TSO read */
	pthread_mutex_t lock; /* offload switching between port starts and stops */
	/* tr_tundev_offload(): "tso", "off", or off_why, swapped with one
	 * pointer store so that a reader on another thread never sees a
	 * string being written (off_why is written only while not shown). */
	const char *offload;
	char off_why[OFFLOAD_MODE_LEN];
	void (*log)(void *arg, const char *line); /* tr_tundev_config.log, or NULL */
	void *log_arg;
	struct tunport ports[TR_TUN_QUEUES_MAX];
};

/* Counters have one writer (the port's thread) and are read by others
 * (tr_tundev_stats) without a lock: whole-word stores, no torn values. */
#define STAT_ADD(field, n) tr_stat_add(&(field), (n))

/* The data-path thread of one port (tunport.c); arg is its struct tunport.
 * Returns when stop is set or the port stopped. */
void *tr_tunport_thread(void *arg);

/* An inline port's two halves (struct tr_device_inline; ctx is the
 * struct tunport): one egress batch, and every committed ingress slot. */
int tr_tunport_inline_egress(void *ctx, unsigned max, int *ring_full);
int tr_tunport_inline_ingress(void *ctx);

#endif /* TR_ENGINE_TUNDEV_H */
