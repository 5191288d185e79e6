/* SPDX-License-Identifier: MIT */
/*
 * A "wire" of two TUN devices in two namespaces, for tundev-offload.sh: the
 * device trwa is opened in the namespace we start in, trwb in the one named
 * by the argument, both with TR_TUNDEV_F_OFFLOAD unless -n; every packet on
 * trwa's egress ring is copied onto trwb's ingress ring and back the other
 * way (no crypto: this tests the engine, not a tunnel). A TCP connection
 * between the namespaces then runs through TSO splitting on egress and
 * vnet_hdr writes on ingress, both ways.
 *
 *   ns 1: 198.18.0.1/24 fd00::1/64 [trwa] ==wire== [trwb] 198.18.0.2/24 fd00::2/64 :ns 2
 *
 * Prints "ready" once both links are configured, runs until SIGTERM or
 * SIGINT, then prints the counters of both devices as "name key=value ...".
 * Usage: tundevwire [-p] [-n] [-c CAPACITY] [-h HEAD] [-t TAIL] NETNS2_PATH
 *   -p  plain read/write backend instead of io_uring
 *   -n  without TR_TUNDEV_F_OFFLOAD
 *   -c  ring capacity of both sessions (default 4 MiB)
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunroom/tun.h"
#include "tunroom/tunroom.h"

#define BURST 64
/* How long a packet may wait for room on a full ingress ring (2 s). */
#define ALLOC_WAIT_NS 2000000000ull

#define CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "tundevwire:%d: %s: ", __LINE__, #cond); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } } while (0)

static volatile sig_atomic_t g_stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

struct end {
	const char *name;
	struct tr_device *dev;
	struct tr_session *s;
	uint64_t forwarded, dropped;
};

static void print_log(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "tunroom: %s\n", line);
}

static void open_end(struct end *e, const char *name, const char *const *addrs, uint32_t flags,
		     uint32_t cap, uint32_t head, uint32_t tail)
{
	struct tr_tundev_config cfg = {
		.name = name, .mtu = 1500, .addresses = addrs, .n_addresses = 2,
		.flags = flags | TR_TUNDEV_F_CREATE, .log = print_log,
	};
	struct tr_session_config sc = { .capacity = cap, .head_room = head, .tail_room = tail };
	int err = tr_tundev_open(&e->dev, &cfg);

	CHECK(!err, "tr_tundev_open %s: %s (%s)", name, tr_strerror(err), tr_tundev_strerror(err));
	err = tr_session_open(&e->s, e->dev, &sc);
	CHECK(!err, "tr_session_open %s: %s", name, tr_strerror(err));
	e->name = name;
}

/* Copies what waits on from's egress ring onto to's ingress ring. Returns
 * packets taken, or a negative error. */
static int forward(struct end *from, struct end *to)
{
	struct tr_pkt in[BURST], out;
	int n = tr_rx_receive_burst(from->s, in, BURST);

	if (n <= 0)
		return n;
	for (int i = 0; i < n; i++) {
		int err = -EAGAIN;

		/* A full ingress ring drains as the other engine writes: wait
		 * rather than drop (the test counts a drop as a failure). By the
		 * clock, not by tries: on a loaded machine the engine may not
		 * run for many of our time slices. */
		uint64_t deadline = now_ns() + ALLOC_WAIT_NS;

		for (unsigned t = 0; err == -EAGAIN && !g_stop; t++) {
			err = tr_tx_allocate(to->s, in[i].len, &out);
			if (err != -EAGAIN || now_ns() > deadline)
				break;
			if (t < 1000)
				sched_yield();
			else
				usleep(100);
		}
		if (err) {
			to->dropped++;
			continue;
		}
		memcpy(tr_pkt_data(&out), tr_pkt_data(&in[i]), in[i].len);
		out.len = in[i].len;
		err = tr_tx_commit(to->s, &out, 0);
		CHECK(!err, "commit: %s", tr_strerror(err));
		from->forwarded++;
	}
	CHECK(tr_rx_release_burst(from->s, in, (unsigned)n) == 0, "release");
	return n;
}

static void print_end(const struct end *e)
{
	struct tr_tundev_stats t;

	CHECK(tr_tundev_stats(e->dev, &t) == 0, "stats");
	printf("%s offload=%s forwarded=%llu dropped=%llu egress_packets=%llu ingress_packets=%llu "
	       "syscalls=%llu hole_voids=%llu err_read=%llu err_write=%llu malformed=%llu "
	       "gso_packets=%llu gso_segments=%llu csum_completed=%llu drop_gso_bad=%llu "
	       "gso_slow=%llu copied_bytes=%llu drop_gso_room=%llu in_gso_packets=%llu "
	       "in_gso_segments=%llu\n",
	       e->name, tr_tundev_offload(e->dev), (unsigned long long)e->forwarded,
	       (unsigned long long)e->dropped, (unsigned long long)t.egress_packets,
	       (unsigned long long)t.ingress_packets, (unsigned long long)t.syscalls,
	       (unsigned long long)t.egress_hole_voids, (unsigned long long)t.egress_err_read,
	       (unsigned long long)t.ingress_err_write, (unsigned long long)t.ingress_drop_malformed,
	       (unsigned long long)t.egress_gso_packets, (unsigned long long)t.egress_gso_segments,
	       (unsigned long long)t.egress_csum_completed, (unsigned long long)t.egress_drop_gso_bad,
	       (unsigned long long)t.egress_gso_slow, (unsigned long long)t.egress_copied_bytes,
	       (unsigned long long)t.egress_drop_gso_room, (unsigned long long)t.ingress_gso_packets,
	       (unsigned long long)t.ingress_gso_segments);
}

int main(int argc, char **argv)
{
	static const char *const addrs_a[] = { "198.18.0.1/24", "fd00::1/64" };
	static const char *const addrs_b[] = { "198.18.0.2/24", "fd00::2/64" };
	uint32_t flags = TR_TUNDEV_F_OFFLOAD, cap = 0, head = 32, tail = 16;
	struct end a = { 0 }, b = { 0 };
	int opt, nsfd;

	while ((opt = getopt(argc, argv, "pnc:h:t:")) != -1) {
		if (opt == 'p')
			flags |= TR_TUNDEV_F_PLAIN_IO;
		else if (opt == 'n')
			flags &= ~TR_TUNDEV_F_OFFLOAD;
		else if (opt == 'c')
			cap = (uint32_t)strtoul(optarg, NULL, 0);
		else if (opt == 'h')
			head = (uint32_t)atoi(optarg);
		else if (opt == 't')
			tail = (uint32_t)atoi(optarg);
		else
			return 2;
	}
	CHECK(optind + 1 == argc, "usage: tundevwire [-p] [-n] [-c CAP] [-h HEAD] [-t TAIL] NETNS2_PATH");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	/* The session's start asks the link's MTU over netlink in the calling
	 * thread's namespace: each end is opened whole before the switch. */
	open_end(&a, "trwa", addrs_a, flags, cap, head, tail);
	nsfd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	CHECK(nsfd >= 0 && setns(nsfd, CLONE_NEWNET) == 0, "setns %s: %s", argv[optind],
	      strerror(errno));
	close(nsfd);
	open_end(&b, "trwb", addrs_b, flags, cap, head, tail);
	printf("ready a=%s b=%s\n", tr_tundev_offload(a.dev), tr_tundev_offload(b.dev));
	fflush(stdout);

	while (!g_stop) {
		int x = forward(&a, &b), y = forward(&b, &a);

		CHECK(x >= 0 && y >= 0, "session ended: %s", tr_strerror(x < 0 ? x : y));
		if (x || y)
			continue;
		struct pollfd p[2] = {
			{ .fd = tr_session_fd(a.s), .events = POLLIN },
			{ .fd = tr_session_fd(b.s), .events = POLLIN },
		};
		poll(p, 2, 200);
	}
	/* The I/O backends' syscall counts reach the device's counters when
	 * the sessions stop. */
	tr_session_close(a.s);
	tr_session_close(b.s);
	print_end(&a);
	print_end(&b);
	fflush(stdout);
	tr_device_close(a.dev);
	tr_device_close(b.dev);
	return 0;
}
