/* SPDX-License-Identifier: MIT */
/*
 * Internal: batched packet I/O on a TUN descriptor (or anything that keeps
 * message boundaries: a SOCK_SEQPACKET socket in tests). One interface, two
 * backends: io_uring (N reads or N writes per io_uring_enter) and plain
 * read(2)/write(2), chosen at open; the plain one is the fallback when
 * io_uring cannot be set up, and it says why.
 */
#ifndef TR_ENGINE_TUNIO_H
#define TR_ENGINE_TUNIO_H

#include <stdint.h>
#include <sys/uio.h>

#define TR_TUNIO_DEPTH_MAX 1024u
#define TR_TUNIO_DEPTH_DEFAULT 64u
#define TR_TUNIO_IOV_MAX 1024u /* pieces of one packet (IOV_MAX) */

enum tr_tunio_backend {
	TR_TUNIO_AUTO = 0, /* io_uring if it can be set up, else plain */
	TR_TUNIO_URING,    /* io_uring or fail */
	TR_TUNIO_PLAIN,    /* one read(2)/write(2) per packet */
};

struct tr_tunio_stats {
	uint64_t syscalls;             /* read/write/io_uring_enter calls made */
	uint64_t rx_packets, rx_bytes; /* packets read from the descriptor */
	uint64_t tx_packets, tx_bytes; /* packets the descriptor accepted */
	uint64_t tx_err;               /* packets it refused (-EINVAL: not IP, ...) */
	uint64_t rx_err;               /* reads that failed other than -EAGAIN */
};

struct tr_tunio;

/* One packet in pieces, for readv(2)/writev(2): a virtio_net_hdr from engine
 * memory and the packet in a slot, or a super-packet over many slots. */
struct tr_tunio_vec {
	const struct iovec *iov;
	unsigned cnt; /* 1..TR_TUNIO_IOV_MAX */
};

/* Sets fd O_NONBLOCK (it stays owned by the caller) and prepares a backend
 * for bursts of up to depth packets (0 = TR_TUNIO_DEPTH_DEFAULT).
 * Returns 0, -EINVAL (bad fd, depth above TR_TUNIO_DEPTH_MAX, unknown
 * backend), -ENOMEM, or for TR_TUNIO_URING the error of io_uring setup
 * (-ENOTSUP when built without liburing). */
int tr_tunio_open(struct tr_tunio **out, int fd, unsigned depth, enum tr_tunio_backend want);
void tr_tunio_close(struct tr_tunio *io);

/* The backend in use: TR_TUNIO_URING or TR_TUNIO_PLAIN. */
enum tr_tunio_backend tr_tunio_backend(const struct tr_tunio *io);
const char *tr_tunio_backend_name(const struct tr_tunio *io);
/* Why io_uring is not in use: 0 if it is, -ECANCELED if PLAIN was asked
 * for, -ENOTSUP without liburing, else io_uring_queue_init's error
 * (-ENOSYS, -EPERM under seccomp or io_uring_disabled, -ENOMEM ...). */
int tr_tunio_fallback_reason(const struct tr_tunio *io);
void tr_tunio_stats(const struct tr_tunio *io, struct tr_tunio_stats *out);

/* Writes n packets, one per iovec, in order: io_uring submits them all with
 * one io_uring_enter (per depth packets). res, if not NULL, gets each
 * packet's result (bytes written or a negative errno). A refused packet is
 * counted in tx_err and does not stop the others.
 * Returns how many packets were accepted (0..n), or -EINVAL. */
int tr_tunio_write(struct tr_tunio *io, const struct iovec *pkts, unsigned n, int *res);

/* Reads up to n packets (n <= depth), packet i into bufs[i]; lens[i] is its
 * length, or 0 if no packet landed in bufs[i]. Packets keep the order they
 * were read in; with io_uring a 0 may sit between two packets (the queue ran
 * dry on one read and refilled before the next) -- callers skip zeros.
 * Returns the number of packets (0 = nothing waiting), or a negative errno
 * if nothing was read and a read failed other than with -EAGAIN (-EBADFD:
 * the device was deleted; -EINVAL: n or an argument out of range). */
int tr_tunio_read(struct tr_tunio *io, const struct iovec *bufs, unsigned n, uint32_t *lens);

/* The same with each packet in pieces (io_uring READV/WRITEV, or plain
 * readv(2)/writev(2)); lens[i] and res[i] count all pieces of packet i. */
int tr_tunio_readv(struct tr_tunio *io, const struct tr_tunio_vec *v, unsigned n, uint32_t *lens);
int tr_tunio_writev(struct tr_tunio *io, const struct tr_tunio_vec *v, unsigned n, int *res);

#endif /* TR_ENGINE_TUNIO_H */
