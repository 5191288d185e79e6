/* SPDX-License-Identifier: MIT */
/*
 * Batched TUN I/O: an io_uring backend that turns N reads or N writes into
 * one io_uring_enter, and the plain read(2)/write(2) loop it falls back to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef TR_HAVE_LIBURING
#include <liburing.h>
#endif

#include "engine/tunio.h"

struct tr_tunio {
	int fd;
	enum tr_tunio_backend backend;
	unsigned depth;
	int fallback_err;
	struct tr_tunio_stats stats;
#ifdef TR_HAVE_LIBURING
	struct io_uring ring;
	bool fixed; /* fd registered as fixed file 0: no fget/fput per request */
	int uring_err; /* the ring failed as a whole: every later batch fails */
	int rw_flags;  /* RWF_NOWAIT until the file says it does not support it */
#endif
};

#ifdef TR_HAVE_LIBURING
static int uring_setup(struct tr_tunio *io)
{
	struct io_uring_params p;
	int err;

	/* COOP_TASKRUN: completions are run when we enter the kernel anyway,
	 * not by interrupting this thread (kernel 5.19; without it, retry). */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_COOP_TASKRUN;
	err = io_uring_queue_init_params(io->depth, &io->ring, &p);
	if (err == -EINVAL) {
		memset(&p, 0, sizeof(p));
		err = io_uring_queue_init_params(io->depth, &io->ring, &p);
	}
	if (err < 0)
		return err;
	io->fixed = io_uring_register_files(&io->ring, &io->fd, 1) == 0;
	io->rw_flags = RWF_NOWAIT;
	return 0;
}

static int queue_one(struct tr_tunio *io, const struct tr_tunio_vec *v, uint64_t i, bool write)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
	int fd = io->fixed ? 0 : io->fd;
	const struct iovec *iov = v->iov;

	if (!sqe)
		return -EOVERFLOW; /* cannot happen with n <= depth */
	/* Offset -1: the descriptor's own position, as read(2) and write(2)
	 * use it (a TUN device ignores it). The iovec arrays stay alive until
	 * uring_batch has reaped every request. */
	if (v->cnt > 1 && write)
		io_uring_prep_writev(sqe, fd, iov, v->cnt, (uint64_t)-1);
	else if (v->cnt > 1)
		io_uring_prep_readv(sqe, fd, iov, v->cnt, (uint64_t)-1);
	else if (write)
		io_uring_prep_write(sqe, fd, iov->iov_base, (unsigned)iov->iov_len, (uint64_t)-1);
	else
		io_uring_prep_read(sqe, fd, iov->iov_base, (unsigned)iov->iov_len, (uint64_t)-1);
	/* io_uring does not take O_NONBLOCK as "never wait" for a file that
	 * can be polled (a socket): it would park the request until data
	 * comes. RWF_NOWAIT says it per request; a file that cannot do it
	 * refuses with -EOPNOTSUPP before touching any data, and for such a
	 * file io_uring does honour O_NONBLOCK: see uring_batch. */
	sqe->rw_flags = io->rw_flags;
	if (io->fixed)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, i);
	return 0;
}

/* Queues n requests (n <= depth, so the SQ has room: every earlier batch
 * was reaped completely) and enters once, waiting for all n completions.
 * With RWF_NOWAIT the kernel tries each request inline and completes it with
 * -EAGAIN instead of parking it, so the wait is normally over when the
 * submit returns. res[i] gets request i's result. */
static int uring_batch(struct tr_tunio *io, const struct tr_tunio_vec *iov, unsigned n,
		       bool write, int *res)
{
	struct io_uring_cqe *cqe;
	unsigned head, round, pending = 0;
	bool retried = false;
	int ret;

	if (io->uring_err)
		return io->uring_err;
	for (unsigned i = 0; i < n; i++) {
		ret = queue_one(io, &iov[i], i, write);
		if (ret)
			return ret;
		res[i] = -EAGAIN;
		pending++;
	}
again:
	while (pending > 0) {
		io->stats.syscalls++;
		ret = io_uring_submit_and_wait(&io->ring, pending);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			/* Requests may still be in flight and would complete
			 * into the next batch's indices: this ring is done. */
			io->uring_err = ret;
			return ret;
		}
		round = 0;
		io_uring_for_each_cqe(&io->ring, head, cqe) {
			uint64_t i = io_uring_cqe_get_data64(cqe);

			if (i < n)
				res[i] = cqe->res;
			round++;
		}
		io_uring_cq_advance(&io->ring, round);
		pending -= round < pending ? round : pending;
	}
	/* The file refused RWF_NOWAIT: drop the flag for good and redo the
	 * refused requests (in order, so reads keep the packet order). */
	if (!retried && io->rw_flags) {
		for (unsigned i = 0; i < n; i++) {
			if (res[i] != -EOPNOTSUPP)
				continue;
			io->rw_flags = 0;
		}
		if (!io->rw_flags) {
			for (unsigned i = 0; i < n; i++) {
				if (res[i] != -EOPNOTSUPP)
					continue;
				ret = queue_one(io, &iov[i], i, write);
				if (ret)
					return ret;
				res[i] = -EAGAIN;
				pending++;
			}
			retried = true;
			goto again;
		}
	}
	return 0;
}
#endif

int tr_tunio_open(struct tr_tunio **out, int fd, unsigned depth, enum tr_tunio_backend want)
{
	struct tr_tunio *io;
	int fl;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (fd < 0 || depth > TR_TUNIO_DEPTH_MAX || want > TR_TUNIO_PLAIN)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -EBADF;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->fd = fd;
	io->depth = depth ? depth : TR_TUNIO_DEPTH_DEFAULT;
	io->backend = TR_TUNIO_PLAIN;
	if (want == TR_TUNIO_PLAIN) {
		io->fallback_err = -ECANCELED;
	} else {
#ifdef TR_HAVE_LIBURING
		io->fallback_err = uring_setup(io);
#else
		io->fallback_err = -ENOTSUP;
#endif
		if (!io->fallback_err) {
			io->backend = TR_TUNIO_URING;
		} else if (want == TR_TUNIO_URING) {
			int err = io->fallback_err;

			free(io);
			return err;
		}
	}
	*out = io;
	return 0;
}

void tr_tunio_close(struct tr_tunio *io)
{
	if (!io)
		return;
#ifdef TR_HAVE_LIBURING
	/* The registered file is a reference to the TUN queue that the ring
	 * would drop only when its teardown runs, asynchronously, after
	 * io_uring_queue_exit returns: a single-queue device would stay busy
	 * (-EBUSY for the next opener) and a non-persistent one would linger.
	 * Unregistering waits for the ring to let go of the file. */
	if (io->backend == TR_TUNIO_URING) {
		if (io->fixed)
			io_uring_unregister_files(&io->ring);
		io_uring_queue_exit(&io->ring);
	}
#endif
	free(io);
}

enum tr_tunio_backend tr_tunio_backend(const struct tr_tunio *io)
{
	return io->backend;
}

const char *tr_tunio_backend_name(const struct tr_tunio *io)
{
	return io->backend == TR_TUNIO_URING ? "io_uring" : "read/write";
}

int tr_tunio_fallback_reason(const struct tr_tunio *io)
{
	return io->fallback_err;
}

void tr_tunio_stats(const struct tr_tunio *io, struct tr_tunio_stats *out)
{
	*out = io->stats;
}

static void account_write(struct tr_tunio *io, int r)
{
	if (r >= 0) {
		io->stats.tx_packets++;
		io->stats.tx_bytes += (uint64_t)r;
	} else {
		io->stats.tx_err++;
	}
}

/* One packet (request/response, the inline path's usual case): a plain
 * write(2) or read(2) on either backend, made from the entry point itself,
 * not one call further down. Every call frame between the application and
 * the syscall costs a mispredicted return on the way back (the kernel's
 * TUN and IP path is deeper than the CPU's return stack): about 7 ns each
 * on a 2-core EPYC VM (docs/benchmarks.md, "Issue 14"). */
static inline __attribute__((always_inline)) int write_one(struct tr_tunio *io,
							   const struct iovec *v, unsigned cnt)
{
	ssize_t w;

	io->stats.syscalls++;
	w = cnt == 1 ? write(io->fd, v->iov_base, v->iov_len) : writev(io->fd, v, (int)cnt);
	int r = w < 0 ? -errno : (int)w;
	account_write(io, r);
	return r;
}

static inline __attribute__((always_inline)) int read_one(struct tr_tunio *io,
							  const struct iovec *v, unsigned cnt,
							  uint32_t *len)
{
	ssize_t rd;

	io->stats.syscalls++;
	rd = cnt == 1 ? read(io->fd, v->iov_base, v->iov_len) : readv(io->fd, v, (int)cnt);
	*len = 0;
	if (rd > 0) {
		*len = (uint32_t)rd;
		io->stats.rx_packets++;
		io->stats.rx_bytes += (uint64_t)rd;
		return 1;
	}
	if (rd == 0 || errno == EAGAIN || errno == EINTR)
		return 0;
	io->stats.rx_err++;
	return -errno;
}

/* Up to depth packets at a time; v[i] is packet i's pieces. */
static int tunio_writev(struct tr_tunio *io, const struct tr_tunio_vec *v, unsigned n, int *res)
{
	int local[TR_TUNIO_DEPTH_MAX];
	unsigned done = 0, ok = 0;

	while (done < n) {
		unsigned chunk = n - done < io->depth ? n - done : io->depth;
		int *r = res ? res + done : local;

#ifdef TR_HAVE_LIBURING
		/* One packet: a write(2) is one syscall too, without the
		 * submission and completion around it. */
		if (io->backend == TR_TUNIO_URING && chunk > 1) {
			int err = uring_batch(io, v + done, chunk, true, r);

			if (err < 0) {
				/* The ring itself failed (not a packet): report
				 * what was not sent as failed. */
				for (unsigned i = 0; i < chunk; i++)
					r[i] = err;
			}
		} else
#endif
		{
			for (unsigned i = 0; i < chunk; i++) {
				r[i] = write_one(io, v[done + i].iov, v[done + i].cnt);
				ok += r[i] >= 0;
			}
			done += chunk;
			continue;
		}
		for (unsigned i = 0; i < chunk; i++) {
			account_write(io, r[i]);
			ok += r[i] >= 0;
		}
		done += chunk;
	}
	return (int)ok;
}

int tr_tunio_writev(struct tr_tunio *io, const struct tr_tunio_vec *v, unsigned n, int *res)
{
	if (!io || (n && !v))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!v[i].cnt || v[i].cnt > TR_TUNIO_IOV_MAX || !v[i].iov)
			return -EINVAL;
	if (n == 1) {
		int r = write_one(io, v->iov, v->cnt);

		if (res)
			res[0] = r;
		return r >= 0;
	}
	return tunio_writev(io, v, n, res);
}

int tr_tunio_write(struct tr_tunio *io, const struct iovec *pkts, unsigned n, int *res)
{
	struct tr_tunio_vec v[TR_TUNIO_DEPTH_MAX];
	unsigned done = 0;
	int ok = 0;

	if (!io || (n && !pkts))
		return -EINVAL;
	if (n == 1) {
		int r = write_one(io, pkts, 1);

		if (res)
			res[0] = r;
		return r >= 0;
	}
	while (done < n) {
		unsigned chunk = n - done < TR_TUNIO_DEPTH_MAX ? n - done : TR_TUNIO_DEPTH_MAX;

		for (unsigned i = 0; i < chunk; i++)
			v[i] = (struct tr_tunio_vec){ &pkts[done + i], 1 };
		ok += tunio_writev(io, v, chunk, res ? res + done : NULL);
		done += chunk;
	}
	return ok;
}

int tr_tunio_readv(struct tr_tunio *io, const struct tr_tunio_vec *v, unsigned n, uint32_t *lens)
{
	int r[TR_TUNIO_DEPTH_MAX];
	int got = 0, fail = 0;

	if (!io || n > io->depth || (n && (!v || !lens)))
		return -EINVAL;
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (!v[i].cnt || v[i].cnt > TR_TUNIO_IOV_MAX || !v[i].iov)
			return -EINVAL;
	if (n == 1)
		return read_one(io, v->iov, v->cnt, lens);
#ifdef TR_HAVE_LIBURING
	if (io->backend == TR_TUNIO_URING && n > 1) { /* one: as for writes */
		int err = uring_batch(io, v, n, false, r);

		if (err < 0)
			return err;
	} else
#endif
	{
		unsigned i;

		for (i = 0; i < n; i++) {
			ssize_t rd;

			io->stats.syscalls++;
			rd = v[i].cnt == 1 ? read(io->fd, v[i].iov->iov_base, v[i].iov->iov_len)
					   : readv(io->fd, v[i].iov, (int)v[i].cnt);
			r[i] = rd < 0 ? -errno : (int)rd;
			if (rd <= 0)
				break; /* empty (or broken): no point asking again */
		}
		for (i++; i < n; i++)
			r[i] = -EAGAIN;
	}
	for (unsigned i = 0; i < n; i++) {
		if (r[i] > 0) {
			lens[i] = (uint32_t)r[i];
			io->stats.rx_packets++;
			io->stats.rx_bytes += (uint64_t)r[i];
			got++;
			continue;
		}
		lens[i] = 0;
		if (r[i] < 0 && r[i] != -EAGAIN && r[i] != -EINTR) {
			io->stats.rx_err++;
			if (!fail)
				fail = r[i];
		}
	}
	return got ? got : fail;
}

int tr_tunio_read(struct tr_tunio *io, const struct iovec *bufs, unsigned n, uint32_t *lens)
{
	struct tr_tunio_vec v[TR_TUNIO_DEPTH_MAX];

	if (!io || n > io->depth || (n && (!bufs || !lens)))
		return -EINVAL;
	if (n == 1)
		return read_one(io, bufs, 1, lens);
	for (unsigned i = 0; i < n; i++)
		v[i] = (struct tr_tunio_vec){ &bufs[i], 1 };
	return tr_tunio_readv(io, v, n, lens);
}
