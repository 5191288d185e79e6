/* SPDX-License-Identifier: MIT */
/*
 * Packets per second TUN -> ring -> application -> ring -> TUN, side by side
 * with the loop every userspace VPN starts from: read(2) a TUN descriptor
 * into a buffer, copy the packet (to make room), write(2) it back.
 *
 * A UDP socket in a private network namespace sends to 198.18.0.2 (routed
 * into the TUN device, 198.18.0.1/24); the "application" turns each packet
 * around (swaps addresses and ports; the checksums stay valid) and hands it
 * back to the kernel, which delivers it to the same socket. The copy from
 * the egress slot to the ingress slot stands in for the network a VPN sends
 * over; the baseline has the same copy. At most WINDOW packets are in
 * flight, so neither path drops. Median of the repetitions, interleaved.
 * A benchmark, not a test: it prints figures and asserts nothing.
 *
 * usage: bench_tun [--quick] [--rr] [--json FILE]   (root: creates a namespace)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/netlink.h"
#include "engine/tun.h"
#include "tunroom/tun.h"
#include "tunroom/tunroom.h"
#include "tunroom/wintun.h"
#include "../tests/netns/icmp.h"

#define WINDOW 256
#define BATCH 32
#define REPS 3

struct result {
	double pps;
	double dev_syscalls; /* per packet, device side (engine thread or baseline loop) */
	double app_syscalls; /* per packet, application side (tunroom only) */
	double gen_us;       /* CPU microseconds per packet, the UDP generator's thread */
	double refl_us;      /* the same, the reflecting thread (plain: the whole loop;
			      * inline: application and TUN I/O; thread: the application) */
	uint64_t lost;
};

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of the whole process (all its threads, kernel time included):
 * on a shared machine it varies less than the wall clock does. */
static double cpu_now(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* CPU time of the calling thread alone. */
static double thread_cpu(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/* User-mode CPU time of the process: the share of cpu_now() spent outside
 * the kernel, where the ring code runs (split by the kernel's accounting,
 * so approximate). */
static double usr_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_tun: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* Swaps IPv4 source/destination and UDP ports in place: the IP header sum
 * and the UDP sum (pseudo-header included) are sums of the same words. */
static void turn_around(uint8_t *p, uint32_t len)
{
	uint8_t t[4];
	uint32_t ihl = (uint32_t)(p[0] & 15) * 4;

	if (len < ihl + 8 || p[0] >> 4 != 4)
		return;
	memcpy(t, p + 12, 4);
	memcpy(p + 12, p + 16, 4);
	memcpy(p + 16, t, 4);
	memcpy(t, p + ihl, 2);
	memcpy(p + ihl, p + ihl + 2, 2);
	memcpy(p + ihl + 2, t, 2);
}

/* The traffic: a connected UDP socket, WINDOW packets in flight. Returns
 * packets per second; *lost counts packets that never came back. */
static double generate(uint32_t size, uint64_t count, uint64_t *lost, double *cpu)
{
	struct sockaddr_in me = { .sin_family = AF_INET }, peer = { .sin_family = AF_INET,
								     .sin_port = htons(9000) };
	static uint8_t out[BATCH][2048], in[BATCH][2048];
	struct mmsghdr om[BATCH], im[BATCH];
	struct iovec ov[BATCH], iv[BATCH];
	uint64_t sent = 0, got = 0, inflight = 0;
	uint32_t payload = size - 28;
	double t0, last;
	int fd;

	inet_pton(AF_INET, "198.18.0.1", &me.sin_addr);
	inet_pton(AF_INET, "198.18.0.2", &peer.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (void *)&me, sizeof(me)) || connect(fd, (void *)&peer, sizeof(peer)))
		die("udp socket", errno);
	/* A full window of 1400-byte packets is more than the default
	 * receive buffer: make room so the socket is not where packets drop. */
	int buf = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	for (int i = 0; i < BATCH; i++) {
		memset(out[i], 0x5a, payload);
		ov[i] = (struct iovec){ out[i], payload };
		iv[i] = (struct iovec){ in[i], sizeof(in[i]) };
		om[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &ov[i], .msg_iovlen = 1 } };
		im[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iv[i], .msg_iovlen = 1 } };
	}
	t0 = last = now();
	*cpu = thread_cpu();
	while (got + *lost < count) {
		unsigned want = (unsigned)(WINDOW - inflight);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;

		if (want > BATCH)
			want = BATCH;
		if (want > count - sent)
			want = (unsigned)(count - sent);
		if (want) {
			n = sendmmsg(fd, om, want, 0);
			if (n > 0) {
				sent += (uint64_t)n;
				inflight += (uint64_t)n;
			}
		}
		n = recvmmsg(fd, im, BATCH, 0, NULL);
		if (n > 0) {
			got += (uint64_t)n;
			inflight -= (uint64_t)n < inflight ? (uint64_t)n : inflight;
			last = now();
			continue;
		}
		if (inflight == WINDOW || sent == count) {
			poll(&pfd, 1, 50);
			/* Nothing back for a while: count the window as lost. */
			if (now() - last > 0.2) {
				*lost += inflight;
				inflight = 0;
				last = now();
			}
		}
	}
	double t = now() - t0;
	*cpu = thread_cpu() - *cpu;
	close(fd);
	return (double)got / t;
}

/* Configures a device made with the internal API (the baseline's). */
static void link_setup(const char *name)
{
	struct tr_ip_prefix p;
	struct tr_nl *nl;
	int idx, err;

	tr_ip_prefix_parse(&p, "198.18.0.1/24");
	if ((err = tr_nl_open(&nl)) || (err = tr_nl_link_index(nl, name, &idx)) ||
	    (err = tr_nl_addr_add(nl, idx, &p)) || (err = tr_nl_link_set_up(nl, idx, true)))
		die(name, err);
	tr_nl_close(nl);
}

struct reflector {
	struct tr_session *s;
	int fd;
	int stop;
	uint64_t syscalls, packets;
	double cpu; /* this thread's CPU seconds */
};

static void *ring_reflector(void *arg)
{
	struct reflector *r = arg;
	struct tr_pkt rx[BATCH];
	double c0 = thread_cpu();

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		int n = tr_rx_receive_burst(r->s, rx, BATCH);

		if (n < 0)
			break;
		if (n == 0) {
			tr_rx_wait(r->s, 50);
			continue;
		}
		/* One allocation and one commit per burst. */
		struct tr_pkt tx[BATCH];
		uint32_t len = 0;
		int k;

		for (int i = 0; i < n; i++)
			len = rx[i].len > len ? rx[i].len : len;
		while ((k = tr_tx_allocate_burst(r->s, len, tx, (unsigned)n)) == 0)
			tr_tx_wait(r->s, 50);
		if (k < 0)
			break;
		for (int i = 0; i < k; i++) {
			memcpy(tr_pkt_data(&tx[i]), tr_pkt_data(&rx[i]), rx[i].len);
			turn_around(tr_pkt_data(&tx[i]), rx[i].len);
			tx[i].len = rx[i].len;
		}
		tr_tx_commit_burst(r->s, tx, (unsigned)k, 0);
		tr_rx_release_burst(r->s, rx, (unsigned)n);
		r->packets += (uint64_t)n;
	}
	r->cpu = thread_cpu() - c0;
	return NULL;
}

/* inl: the session runs to completion (TR_SESSION_F_INLINE): the
 * reflector thread does the TUN I/O itself; else the engine's thread does. */
static struct result run_tunroom(uint32_t size, uint64_t count, bool inl)
{
	const char *addrs[] = { "198.18.0.1/24" };
	struct tr_tundev_config cfg = { .name = "trb%d", .addresses = addrs, .n_addresses = 1,
					.flags = TR_TUNDEV_F_CREATE };
	struct tr_session_config sc = { .capacity = 1u << 22, .head_room = 64, .tail_room = 64,
					.max_packet = 2048,
					.flags = inl ? TR_SESSION_F_INLINE : 0 };
	struct reflector r = { .fd = -1 };
	struct tr_tundev_stats ds;
	struct tr_device *dev;
	struct tr_stats st;
	struct result res = { 0 };
	pthread_t th;
	int err;

	if ((err = tr_tundev_open(&dev, &cfg)))
		die(tr_tundev_strerror(err), 0);
	if ((err = tr_session_open(&r.s, dev, &sc)))
		die("session", err);
	double gen;

	pthread_create(&th, NULL, ring_reflector, &r);
	res.pps = generate(size, count, &res.lost, &gen);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	tr_session_stats(r.s, &st);
	tr_session_close(r.s);
	tr_tundev_stats(dev, &ds);
	tr_device_close(dev);
	/* Device side: TUN reads/writes, io_uring_enter, poll. Application
	 * side: its sleeps (one poll each) and eventfd wake-ups. */
	res.dev_syscalls = (double)ds.syscalls / (double)(r.packets ? r.packets : 1);
	res.app_syscalls = (double)(st.sleeps + st.wakeups_sent) / (double)(r.packets ? r.packets : 1);
	res.gen_us = gen * 1e6 / (double)(r.packets ? r.packets : 1);
	res.refl_us = r.cpu * 1e6 / (double)(r.packets ? r.packets : 1);
	return res;
}

static void *plain_reflector(void *arg)
{
	struct reflector *r = arg;
	static uint8_t buf[2048], copy[2048 + 128];
	double c0 = thread_cpu();

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		ssize_t n;

		r->syscalls++;
		n = read(r->fd, buf, sizeof(buf));
		if (n <= 0) {
			r->syscalls++;
			poll(&pfd, 1, 50);
			continue;
		}
		/* The copy a VPN makes to get room around the packet. */
		memcpy(copy + 64, buf, (size_t)n);
		turn_around(copy + 64, (uint32_t)n);
		r->syscalls++;
		if (write(r->fd, copy + 64, (size_t)n) == n)
			r->packets++;
	}
	r->cpu = thread_cpu() - c0;
	return NULL;
}

static struct result run_plain(uint32_t size, uint64_t count)
{
	struct reflector r = { 0 };
	struct result res = { 0 };
	struct tr_tun t;
	pthread_t th;
	int err;

	if ((err = tr_tun_open(&t, &(struct tr_tun_config){ .name = "trp%d",
							   .flags = TR_TUN_F_CREATE })))
		die(tr_tun_strerror(err), 0);
	link_setup(t.name);
	r.fd = t.fds[0];
	double gen;

	pthread_create(&th, NULL, plain_reflector, &r);
	res.pps = generate(size, count, &res.lost, &gen);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	tr_tun_close(&t);
	res.dev_syscalls = (double)r.syscalls / (double)(r.packets ? r.packets : 1);
	res.gen_us = gen * 1e6 / (double)(r.packets ? r.packets : 1);
	res.refl_us = r.cpu * 1e6 / (double)(r.packets ? r.packets : 1);
	return res;
}

static int cmp(const void *a, const void *b)
{
	double x = ((const struct result *)a)->pps, y = ((const struct result *)b)->pps;

	return (x > y) - (x < y);
}

/* Request/response: BURST ICMP echo requests to the device's own address,
 * then wait for the BURST replies, as an application using the Wintun API
 * does (WintunStartSessionWithPadding, 4 MiB, lead and trail 64), side by
 * side with the naive loop on a TUN descriptor: write each request, then
 * poll and read(2) the replies into a buffer and copy each out. Round trips
 * per second. */
#define RR_SRC "198.18.0.2"
#define RR_DST "198.18.0.1"

static double rr_wintun(unsigned burst, unsigned rounds, double *cpu_us, double *usr_us)
{
	const char *addrs[] = { RR_DST "/24" };
	struct tr_tundev_config cfg = { .name = "trr%d", .addresses = addrs, .n_addresses = 1,
					.flags = TR_TUNDEV_F_CREATE };
	struct tr_device *dev;
	uint16_t seq = 0;
	int err;

	if ((err = tr_tundev_open(&dev, &cfg)))
		die(tr_tundev_strerror(err), 0);
	WINTUN_ADAPTER_HANDLE a = tr_wintun_adapter_from_device(dev);
	WINTUN_SESSION_HANDLE s = WintunStartSessionWithPadding(a, getenv("RRCAP") ? (uint32_t)strtoul(getenv("RRCAP"), 0, 0) : 0x400000, 64, 64);
	if (!s)
		die("wintun session", errno);
	double t0 = now(), c0 = cpu_now(), u0 = usr_now();
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < burst; i++) {
			uint8_t *p = WintunAllocateSendPacket(s, 20 + 8 + ICMP_PAYLOAD);
			if (!p)
				die("allocate", errno);
			build_echo4(p, RR_SRC, RR_DST, seq++);
			WintunSendPacket(s, p);
		}
		for (unsigned got = 0; got < burst;) {
			uint32_t size;
			uint8_t *p = WintunReceivePacket(s, &size);
			if (!p) {
				struct pollfd pfd = { .fd = WintunGetReadWaitEvent(s), .events = POLLIN };
				if (poll(&pfd, 1, 1000) == 0)
					die("wintun round trip stalled", ETIMEDOUT);
				continue;
			}
			got += echo_reply_seq(p, size, RR_SRC, RR_DST) >= 0;
			WintunReleaseReceivePacket(s, p);
		}
	}
	double rate = (double)burst * rounds / (now() - t0);
	*cpu_us = (cpu_now() - c0) * 1e6 / ((double)burst * rounds);
	*usr_us = (usr_now() - u0) * 1e6 / ((double)burst * rounds);
	WintunEndSession(s);
	WintunCloseAdapter(a);
	tr_device_close(dev);
	return rate;
}

static double rr_plain(unsigned burst, unsigned rounds, double *cpu_us, double *usr_us)
{
	static uint8_t buf[2048], copy[2048];
	struct tr_tun t;
	uint16_t seq = 0;
	int err;

	if ((err = tr_tun_open(&t, &(struct tr_tun_config){ .name = "trq%d",
							   .flags = TR_TUN_F_CREATE })))
		die(tr_tun_strerror(err), 0);
	link_setup(t.name);
	int fd = t.fds[0];
	double t0 = now(), c0 = cpu_now(), u0 = usr_now();
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < burst; i++) {
			size_t len = build_echo4(buf, RR_SRC, RR_DST, seq++);
			if (write(fd, buf, len) != (ssize_t)len)
				die("write", errno);
		}
		for (unsigned got = 0; got < burst;) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n <= 0) {
				struct pollfd pfd = { .fd = fd, .events = POLLIN };
				if (poll(&pfd, 1, 1000) == 0)
					die("plain round trip stalled", ETIMEDOUT);
				continue;
			}
			memcpy(copy, buf, (size_t)n);
			got += echo_reply_seq(copy, (size_t)n, RR_SRC, RR_DST) >= 0;
		}
	}
	double rate = (double)burst * rounds / (now() - t0);
	*cpu_us = (cpu_now() - c0) * 1e6 / ((double)burst * rounds);
	*usr_us = (usr_now() - u0) * 1e6 / ((double)burst * rounds);
	tr_tun_close(&t);
	return rate;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v)
{
	qsort(v, REPS, sizeof(v[0]), cmp_double);
	return v[REPS / 2];
}

/* only: -1 both, 2 the plain loop, 3 Wintun; burst: 0 both, else that one;
 * total: round trips per run, 0 for the default. */
static void rr_table(FILE *jf, bool quick, int only, unsigned burst, unsigned total)
{
	static const unsigned bursts[] = { 1, 32 };

	if (!total)
		total = quick ? 20000 : 100000;

	printf("tun rr: ICMP echo round trips/s to the device's own address, Wintun API\n"
	       "     (4 MiB, lead/trail 64) vs write/read/copy on the TUN fd, median of %d;\n"
	       "     cpu: process CPU microseconds per round trip (all threads), usr: the\n"
	       "     part of it in user mode\n", REPS);
	printf("%6s  %12s %7s %7s  %12s %7s %7s  %7s %7s\n", "burst", "wintun rt/s", "cpu us",
	       "usr us", "plain rt/s", "cpu us", "usr us", "rt/s", "cpu");
	for (unsigned bi = 0; bi < 2; bi++) {
		double w[REPS] = { 0 }, p[REPS] = { 0 }, wc[REPS] = { 0 }, pc[REPS] = { 0 };
		double wu[REPS] = { 0 }, pu[REPS] = { 0 };
		unsigned rounds = total / bursts[bi];

		if (burst && burst != bursts[bi])
			continue;
		for (int r = 0; r < REPS; r++) {
			if (only != 2)
				w[r] = rr_wintun(bursts[bi], rounds, &wc[r], &wu[r]);
			if (only != 3)
				p[r] = rr_plain(bursts[bi], rounds, &pc[r], &pu[r]);
		}
		double mw = median(w), mp = median(p), mwc = median(wc), mpc = median(pc);
		double mwu = median(wu), mpu = median(pu);
		printf("%6u  %12.0f %7.2f %7.2f  %12.0f %7.2f %7.2f  %6.2fx %6.2fx\n", bursts[bi], mw,
		       mwc, mwu, mp, mpc, mpu, mp > 0 ? mw / mp : 0, mpc > 0 ? mwc / mpc : 0);
		if (jf)
			fprintf(jf, "%s{\"burst\":%u,\"wintun\":%.0f,\"plain\":%.0f,"
				"\"wintun_cpu_us\":%.3f,\"plain_cpu_us\":%.3f,"
				"\"wintun_usr_us\":%.3f,\"plain_usr_us\":%.3f}",
				bi ? "," : "", bursts[bi], mw, mp, mwc, mpc, mwu, mpu);
	}
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 64, 1400 };
	/* [size][tunroom with the engine thread, inline, plain loop][rep] */
	struct result res[2][3][REPS] = { 0 };
	const char *json = NULL;
	uint64_t count = 200000;
	bool rr_only = false; /* --rr: the request/response table only */
	bool no_rr = false;   /* --no-rr: without it */
	/* --only thread|inline|plain|wintun, --size 64|1400, --burst 1|32,
	 * --rounds N (round trips per --rr run): for profiling one path */
	int only = -1, only_size = -1;
	unsigned rr_burst = 0, rr_total = 0;
	struct tr_nl *nl;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			count = 30000;
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			i++;
			only = !strcmp(argv[i], "wintun") ? 3 : !strcmp(argv[i], "plain") ? 2
			       : !strcmp(argv[i], "inline") ? 1 : 0;
		}
		else if (!strcmp(argv[i], "--rr"))
			rr_only = true;
		else if (!strcmp(argv[i], "--no-rr"))
			no_rr = true;
		else if (!strcmp(argv[i], "--burst") && i + 1 < argc)
			rr_burst = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rr_total = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			only_size = strcmp(argv[++i], "64") ? 1 : 0;
		else {
			fprintf(stderr, "usage: bench_tun [--quick] [--rr] [--json FILE] "
				"[--no-rr] [--only thread|inline|plain|wintun] [--size 64|1400] "
				"[--burst 1|32] [--rounds N]\n");
			return 2;
		}
	}
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		printf("tun: skipped: needs root for a TUN device in a private network namespace\n");
		return 0;
	}
	/* The namespace is ours alone and goes away with this process. */
	if (tr_nl_open(&nl) == 0) {
		tr_nl_link_set_up(nl, 1, true);
		tr_nl_close(nl);
	}
	if (rr_only) {
		rr_table(NULL, count < 200000, only, rr_burst, rr_total);
		return 0;
	}
	for (int r = 0; r < REPS; r++)
		for (int si = 0; si < 2; si++) {
			if (only_size >= 0 && si != only_size)
				continue;
			if (only < 0 || only == 0)
				res[si][0][r] = run_tunroom(sizes[si], count, false);
			if (only < 0 || only == 1)
				res[si][1][r] = run_tunroom(sizes[si], count, true);
			if (only < 0 || only == 2)
				res[si][2][r] = run_plain(sizes[si], count);
		}

	FILE *jf = json ? fopen(json, "w") : NULL;
	if (jf)
		fprintf(jf, "{\"bench\":\"tun\",\"unit\":\"kpps\",\"results\":[");
	printf("tun: packets/s TUN -> ring -> app -> ring -> TUN vs read/copy/write on the TUN fd,\n"
	       "     UDP turned around in a private namespace, %d in flight, median of %d.\n"
	       "     thread: the engine's thread serves the rings; inline: the application's\n"
	       "     thread does the TUN I/O (TR_SESSION_F_INLINE). sc/p: syscalls per packet,\n"
	       "     device side + application side. cpu us/pkt: thread CPU time per packet\n"
	       "     of the UDP generator and of the reflecting thread (thread: the\n"
	       "     application's only, not the engine's)\n", WINDOW, REPS);
	printf("%6s  %12s %8s  %12s %8s  %12s %6s  %7s %7s\n", "size", "thread kpps", "sc/p",
	       "inline kpps", "sc/p", "plain kpps", "sc/p", "thr/pl", "inl/pl");
	for (int si = 0; si < 2; si++) {
		for (int k = 0; k < 3; k++)
			qsort(res[si][k], REPS, sizeof(struct result), cmp);
		struct result *a = &res[si][0][REPS / 2], *i = &res[si][1][REPS / 2],
			      *b = &res[si][2][REPS / 2];
		if (only_size >= 0 && si != only_size)
			continue;
		printf("%6u  %12.1f %8.2f  %12.1f %8.2f  %12.1f %6.2f  %6.2fx %6.2fx%s\n",
		       sizes[si], a->pps / 1e3, a->dev_syscalls + a->app_syscalls, i->pps / 1e3,
		       i->dev_syscalls + i->app_syscalls, b->pps / 1e3, b->dev_syscalls,
		       b->pps > 0 ? a->pps / b->pps : 0, b->pps > 0 ? i->pps / b->pps : 0,
		       a->lost || i->lost || b->lost ? "  (lost: see below)" : "");
		if (a->lost || i->lost || b->lost)
			printf("        lost in the median runs: thread %llu, inline %llu, plain %llu\n",
			       (unsigned long long)a->lost, (unsigned long long)i->lost,
			       (unsigned long long)b->lost);
		/* Which thread bounds the rate: on two cores the generator and
		 * the reflecting thread each have one. */
		printf("        cpu us/pkt: generator %.2f %.2f %.2f; reflecting thread %.2f %.2f %.2f"
		       " (thread, inline, plain)\n", a->gen_us, i->gen_us, b->gen_us, a->refl_us,
		       i->refl_us, b->refl_us);
		if (jf)
			fprintf(jf, "%s{\"size\":%u,\"tunroom\":%.1f,\"tunroom_inline\":%.1f,"
				"\"plain\":%.1f,\"tunroom_dev_syscalls_per_pkt\":%.3f,"
				"\"tunroom_app_syscalls_per_pkt\":%.3f,"
				"\"tunroom_inline_syscalls_per_pkt\":%.3f,"
				"\"plain_syscalls_per_pkt\":%.3f}", si ? "," : "", sizes[si],
				a->pps / 1e3, i->pps / 1e3, b->pps / 1e3, a->dev_syscalls,
				a->app_syscalls, i->dev_syscalls + i->app_syscalls, b->dev_syscalls);
	}
	/* Round trips in their own list: "results" stays packets/s by size. */
	if (jf)
		fprintf(jf, "],\"rr\":[");
	if (!no_rr)
		rr_table(jf, count < 200000, only, rr_burst, rr_total);
	if (jf) {
		fprintf(jf, "]}\n");
		fclose(jf);
	}
	return 0;
}
