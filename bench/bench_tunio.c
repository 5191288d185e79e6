/* SPDX-License-Identifier: MIT */
/*
 * What one packet's TUN read or write costs, one syscall each against N per
 * io_uring_enter: the bound on what batching can save (docs/benchmarks.md,
 * "Issue 14: request/response and the packet rate against the plain loop").
 *
 * Reads: a UDP socket in a private namespace queues N packets in the TUN
 * device (sendmmsg to 198.18.0.2, routed into it; not timed), then the
 * timed part takes them out: N read(2) calls, or tunio.c's plain backend
 * (the same read(2) calls through the engine's code), or tunio.c's io_uring
 * backend (N reads, fixed file, RWF_NOWAIT, one io_uring_enter), the way the
 * engine reads. Writes: N packets written in (IPv4 with a wrong header
 * checksum, which ip_rcv drops at once, so the kernel's work behind the
 * write is as small as it gets and the I/O itself is most of what is
 * timed) by N write(2) calls or one io_uring_enter. Also an empty read
 * (-EAGAIN) each way, io_uring set up other ways for 64 reads, and what a
 * syscall or an io_uring request that does nothing costs. Nanoseconds per
 * packet, median of the rounds.
 * A benchmark, not a test: it prints figures and asserts nothing.
 *
 * usage: bench_tunio [--quick] [--size BYTES]   (root: creates a namespace)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef TR_HAVE_LIBURING
#include <liburing.h>
#endif

#include "engine/netlink.h"
#include "engine/tun.h"
#include "engine/tunio.h"
#include "tunroom/ip.h"
#include "../tests/netns/icmp.h"

#define NMAX 256u
#define ROUNDS_MAX 4001u

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_tunio: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

struct rig {
	struct tr_tun t;
	int fd;      /* the TUN queue */
	int udp;     /* the sender that fills it */
	uint32_t size; /* IP packet size */
	struct tr_tunio *plain, *uring;
	struct mmsghdr m[NMAX];
	struct iovec mv[NMAX];
	uint8_t out[2048];
	uint8_t bufs[NMAX][2048];
	struct iovec iov[NMAX];
	uint8_t bad[NMAX][2048]; /* packets to write: dropped by ip_rcv */
	struct iovec wiov[NMAX];
};

static void rig_open(struct rig *g, uint32_t size)
{
	struct sockaddr_in me = { .sin_family = AF_INET }, peer = { .sin_family = AF_INET,
								     .sin_port = htons(9) };
	struct ifreq ifr = { 0 };
	struct tr_ip_prefix p;
	struct tr_nl *nl;
	int idx, err, s;

	g->size = size;
	if ((err = tr_tun_open(&g->t, &(struct tr_tun_config){ .name = "trio%d",
							      .flags = TR_TUN_F_CREATE })))
		die(tr_tun_strerror(err), 0);
	g->fd = g->t.fds[0];
	/* Room for NMAX queued packets (the default txqueuelen is 500). */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", g->t.name);
	ifr.ifr_qlen = 4096;
	if (s < 0 || ioctl(s, SIOCSIFTXQLEN, &ifr) < 0)
		die("txqueuelen", errno);
	close(s);
	tr_ip_prefix_parse(&p, "198.18.0.1/24");
	if ((err = tr_nl_open(&nl)) || (err = tr_nl_link_index(nl, g->t.name, &idx)) ||
	    (err = tr_nl_addr_add(nl, idx, &p)) || (err = tr_nl_link_set_up(nl, idx, true)))
		die(g->t.name, err);
	tr_nl_close(nl);
	if ((err = tr_tunio_open(&g->plain, g->fd, NMAX, TR_TUNIO_PLAIN)))
		die("tunio plain", err);
	if ((err = tr_tunio_open(&g->uring, g->fd, NMAX, TR_TUNIO_URING)))
		die("tunio io_uring", err);

	inet_pton(AF_INET, "198.18.0.1", &me.sin_addr);
	inet_pton(AF_INET, "198.18.0.2", &peer.sin_addr);
	g->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (g->udp < 0 || bind(g->udp, (void *)&me, sizeof(me)) ||
	    connect(g->udp, (void *)&peer, sizeof(peer)))
		die("udp socket", errno);
	int buf = 8 << 20;
	setsockopt(g->udp, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	memset(g->out, 0x5a, sizeof(g->out));
	for (unsigned i = 0; i < NMAX; i++) {
		g->mv[i] = (struct iovec){ g->out, size - 28 };
		g->m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &g->mv[i], .msg_iovlen = 1 } };
		g->iov[i] = (struct iovec){ g->bufs[i], sizeof(g->bufs[i]) };
		/* IPv4 from 198.18.0.2 to 198.18.0.1, header checksum left 0:
		 * ip_rcv_core drops it (InCsumErrors) before any routing. */
		build_ip4(g->bad[i], size, 17, "198.18.0.2", "198.18.0.1", 0, false);
		g->wiov[i] = (struct iovec){ g->bad[i], size };
	}
}

static void rig_close(struct rig *g)
{
	tr_tunio_close(g->plain);
	tr_tunio_close(g->uring);
	close(g->udp);
	tr_tun_close(&g->t);
}

/* Queues n packets in the TUN device (not timed). */
static void fill(struct rig *g, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		int k = sendmmsg(g->udp, g->m, n - done, 0);

		if (k <= 0)
			die("sendmmsg", errno);
		done += (unsigned)k;
	}
}

enum way { RAW, PLAIN, URING };

/* Takes n queued packets out one way; returns how many it got. */
static unsigned take(struct rig *g, enum way w, unsigned n)
{
	uint32_t lens[NMAX];
	unsigned got = 0;

	if (w == RAW) {
		for (unsigned i = 0; i < n; i++)
			got += read(g->fd, g->bufs[i], sizeof(g->bufs[i])) > 0;
		return got;
	}
	int k = tr_tunio_read(w == PLAIN ? g->plain : g->uring, g->iov, n, lens);
	return k > 0 ? (unsigned)k : 0;
}

static unsigned put(struct rig *g, enum way w, unsigned n)
{
	unsigned ok = 0;

	if (w == RAW) {
		for (unsigned i = 0; i < n; i++)
			ok += write(g->fd, g->wiov[i].iov_base, g->wiov[i].iov_len) > 0;
		return ok;
	}
	int k = tr_tunio_write(w == PLAIN ? g->plain : g->uring, g->wiov, n, NULL);
	return k > 0 ? (unsigned)k : 0;
}

/* ns per packet of reading n queued packets (or, empty, of n reads that
 * find nothing), median over rounds; the three ways interleaved. */
static void measure(struct rig *g, unsigned n, unsigned rounds, bool write, bool empty,
		    double out[3])
{
	static double v[3][ROUNDS_MAX];
	unsigned short_reads = 0;

	for (unsigned r = 0; r < rounds; r++) {
		for (int w = 0; w < 3; w++) {
			unsigned got;
			double t0;

			if (!write && !empty)
				fill(g, n);
			t0 = now_ns();
			got = write ? put(g, (enum way)w, n) : take(g, (enum way)w, n);
			v[w][r] = (now_ns() - t0) / n;
			if (!empty && got != n) {
				short_reads++;
				while (!write && take(g, RAW, 1)) /* leave it empty */
					;
			}
		}
	}
	for (int w = 0; w < 3; w++)
		out[w] = median(v[w], rounds);
	if (short_reads)
		printf("        (%u rounds moved fewer than %u packets)\n", short_reads, n);
}

/* io_uring set up other ways than tunio.c's, for N=64 queued reads: to see
 * whether a setting makes a TUN read cheaper than read(2) on this kernel.
 * 0: as tunio.c (COOP_TASKRUN, fixed file, RWF_NOWAIT); 1: the descriptor
 * not registered; 2: registered buffers (READ_FIXED); 3: SINGLE_ISSUER |
 * DEFER_TASKRUN instead of COOP_TASKRUN. */
static void uring_variants(struct rig *g, unsigned rounds)
{
#ifdef TR_HAVE_LIBURING
	static const char *names[] = { "as tunio.c", "no fixed file", "registered buffers",
				       "DEFER_TASKRUN" };
	static double v[5][ROUNDS_MAX];
	const unsigned n = 64;
	struct io_uring ring[4];

	for (int c = 0; c < 4; c++) {
		struct io_uring_params p = {
			.flags = c == 3 ? IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
					: IORING_SETUP_COOP_TASKRUN,
		};
		struct iovec all = { g->bufs, sizeof(g->bufs) };

		if (io_uring_queue_init_params(NMAX, &ring[c], &p) < 0 ||
		    io_uring_register_files(&ring[c], &g->fd, 1) < 0 ||
		    (c == 2 && io_uring_register_buffers(&ring[c], &all, 1) < 0)) {
			printf("%-22s (io_uring variant %s: cannot set up)\n", "", names[c]);
			return;
		}
	}
	for (unsigned r = 0; r < rounds; r++) {
		fill(g, n);
		double t0 = now_ns();
		take(g, RAW, n);
		v[0][r] = (now_ns() - t0) / n;
		for (int c = 0; c < 4; c++) {
			struct io_uring_cqe *cqe;
			unsigned head, k = 0;

			fill(g, n);
			t0 = now_ns();
			for (unsigned i = 0; i < n; i++) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring[c]);

				if (c == 2)
					io_uring_prep_read_fixed(sqe, 0, g->bufs[i], sizeof(g->bufs[i]),
								 (uint64_t)-1, 0);
				else
					io_uring_prep_read(sqe, c == 1 ? g->fd : 0, g->bufs[i],
							   sizeof(g->bufs[i]), (uint64_t)-1);
				sqe->rw_flags = RWF_NOWAIT;
				if (c != 1)
					sqe->flags |= IOSQE_FIXED_FILE;
			}
			io_uring_submit_and_wait(&ring[c], n);
			io_uring_for_each_cqe(&ring[c], head, cqe)
				k++;
			io_uring_cq_advance(&ring[c], k);
			v[1 + c][r] = (now_ns() - t0) / n;
			while (take(g, RAW, 1)) /* a short round leaves the rest: empty it */
				;
		}
	}
	double base = median(v[0], rounds);
	for (int c = 0; c < 4; c++) {
		double x = median(v[1 + c], rounds);

		printf("%-22s %5u  %9.0f %9s %9.0f  %7.2fx  io_uring %s\n",
		       c ? "" : "read, 64 queued", n, base, "", x, x / base, names[c]);
		io_uring_queue_exit(&ring[c]);
	}
#else
	(void)g;
	(void)rounds;
#endif
}

/* The floors: a syscall that does nothing (getppid), and io_uring's cost
 * per request for a request that does nothing (NOP, n per enter). */
static double null_syscall_ns(unsigned rounds)
{
	double v[ROUNDS_MAX];

	for (unsigned r = 0; r < rounds; r++) {
		double t0 = now_ns();
		for (int i = 0; i < 64; i++)
			syscall(SYS_getppid);
		v[r] = (now_ns() - t0) / 64;
	}
	return median(v, rounds);
}

static double uring_nop_ns(unsigned n, unsigned rounds)
{
#ifdef TR_HAVE_LIBURING
	static double v[ROUNDS_MAX];
	struct io_uring ring;
	struct io_uring_params p = { .flags = IORING_SETUP_COOP_TASKRUN };

	if (io_uring_queue_init_params(NMAX, &ring, &p) < 0)
		return 0;
	for (unsigned r = 0; r < rounds; r++) {
		double t0 = now_ns();
		for (unsigned i = 0; i < n; i++)
			io_uring_prep_nop(io_uring_get_sqe(&ring));
		io_uring_submit_and_wait(&ring, n);
		io_uring_cq_advance(&ring, n);
		v[r] = (now_ns() - t0) / n;
	}
	io_uring_queue_exit(&ring);
	return median(v, rounds);
#else
	(void)n;
	(void)rounds;
	return 0;
#endif
}

int main(int argc, char **argv)
{
	static const unsigned ns[] = { 1, 4, 16, 64, 256 };
	static struct rig g;
	unsigned rounds = 2001;
	uint32_t size = 64;
	struct tr_nl *nl;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			rounds = 201;
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = (uint32_t)atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_tunio [--quick] [--size BYTES]\n");
			return 2;
		}
	}
	if (size < 28 || size > 1500) {
		fprintf(stderr, "bench_tunio: --size 28..1500\n");
		return 2;
	}
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		printf("tunio: skipped: needs root for a TUN device in a private network namespace\n");
		return 0;
	}
	if (tr_nl_open(&nl) == 0) {
		tr_nl_link_set_up(nl, 1, true);
		tr_nl_close(nl);
	}
	rig_open(&g, size);
	printf("tunio: ns per %u-byte packet moved through a TUN queue, median of %u rounds:\n"
	       "       read(2)/write(2) each; tunio.c plain (the same calls through the engine's\n"
	       "       code); tunio.c io_uring (N requests, one io_uring_enter, fixed file)\n",
	       size, rounds);
	printf("%-22s %5s  %9s %9s %9s  %8s\n", "", "N", "syscall", "tunio", "io_uring",
	       "uring/sc");
	for (int kind = 0; kind < 3; kind++) {
		const char *name = kind == 0 ? "read, N queued" : kind == 1 ? "write, N (dropped)"
									 : "read, queue empty";
		for (unsigned i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
			double r[3];

			if (kind == 2 && ns[i] > 16)
				continue;
			measure(&g, ns[i], rounds, kind == 1, kind == 2, r);
			printf("%-22s %5u  %9.0f %9.0f %9.0f  %7.2fx\n", i ? "" : name, ns[i], r[0],
			       r[1], r[2], r[2] / r[0]);
		}
	}
	uring_variants(&g, rounds);
	printf("%-22s %5s  %9.0f %9s %9.0f\n", "nothing (getppid, NOP)", "1",
	       null_syscall_ns(rounds), "", uring_nop_ns(1, rounds));
	for (unsigned i = 2; i < sizeof(ns) / sizeof(ns[0]); i++)
		printf("%-22s %5u  %9s %9s %9.0f\n", "", ns[i], "", "", uring_nop_ns(ns[i], rounds));
	rig_close(&g);
	return 0;
}
