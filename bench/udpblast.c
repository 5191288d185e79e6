/* SPDX-License-Identifier: MIT */
/*
 * Small-packet UDP load generator and sink for the tunnel benchmarks
 * (scripts/bench-udp.py). iperf3 spends most of a 64-byte probe in its own
 * per-datagram work: on two cores its sender was the ceiling of every row,
 * plain veth included. This sends fixed-size datagrams with sendmmsg, paced
 * to a target rate (or flat out), for a bounded time and packet count, and
 * the sink counts with recvmmsg what arrived.
 *
 * usage: udpblast send ADDR PORT [--size B] [--rate PPS] [--secs S]
 *                              [--count N] [--token T]
 *        udpblast sink PORT [--bind ADDR] [--token T] [--secs S] [--idle-ms MS]
 *        (the sink binds 0.0.0.0 unless told otherwise: --bind :: for IPv6)
 *
 * Every datagram starts with the probe's token (8 bytes) and its sequence
 * number (8 bytes), so a sink counts only its own probe's datagrams: stale
 * ones from an earlier probe still queued in a tunnel are "foreign".
 * send: --rate 0 (the default) sends flat out. Paced, it sends in bursts
 * due every ~50 us (a burst is rate x 50 us datagrams, 1 to 64), sleeping
 * on an absolute clock in between; a sender that falls behind does not
 * catch up with a larger burst. A refused or dropped send (ENOBUFS,
 * ECONNREFUSED after an ICMP error...) counts as an error, not as sent.
 * sink: prints "ready" once bound, then exits after --idle-ms without a
 * datagram of its probe (after the first one), at --secs, or on SIGTERM /
 * SIGINT. Both print one line of JSON on stdout at the end.
 * A benchmark tool: it measures, it asserts nothing.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 64
#define MAX_SIZE 65507
#define MIN_SIZE 16		/* token + sequence number */
#define PACE_NS 50000		/* one paced burst per 50 us */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
		;
}

static int usage(void)
{
	fprintf(stderr, "usage: udpblast send ADDR PORT [--size B] [--rate PPS] [--secs S] [--count N] [--token T]\n"
			"       udpblast sink PORT [--bind ADDR] [--token T] [--secs S] [--idle-ms MS]\n");
	return 2;
}

/* A socket of ADDR's family, bound (sink) or connected (send) to ADDR:PORT. */
static int open_socket(const char *addr, const char *port, int sink)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV },
			*ai;
	int err, fd;

	if (sink)
		hints.ai_flags |= AI_PASSIVE;
	if ((err = getaddrinfo(addr, port, &hints, &ai))) {
		fprintf(stderr, "udpblast: %s port %s: %s\n", addr, port, gai_strerror(err));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (sink ? bind(fd, ai->ai_addr, ai->ai_addrlen) : connect(fd, ai->ai_addr, ai->ai_addrlen))) {
		fprintf(stderr, "udpblast: %s %s port %s: %s\n", sink ? "bind" : "connect", addr, port,
			strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (sink && fd >= 0) {
		/* Root may exceed rmem_max: the sink should not be what drops. */
		int buf = 8 << 20;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	return fd;
}

static int do_send(int fd, size_t size, double rate, double secs, uint64_t count, uint64_t token)
{
	static uint8_t buf[MAX_BATCH][MAX_SIZE < 2048 ? MAX_SIZE : 2048];
	static uint8_t big[MAX_SIZE];
	struct mmsghdr msg[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	uint64_t sent = 0, errors = 0, calls = 0, seq = 0;
	unsigned batch = MAX_BATCH;

	memset(msg, 0, sizeof(msg));
	for (unsigned i = 0; i < MAX_BATCH; i++) {
		/* Datagrams above 2 KiB share one buffer: their sequence numbers
		 * collide, their count does not. */
		iov[i].iov_base = size <= sizeof(buf[i]) ? buf[i] : big;
		iov[i].iov_len = size;
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		memcpy(iov[i].iov_base, &token, sizeof(token));
	}
	if (rate > 0) {
		double b = rate * PACE_NS / 1e9;

		batch = b < 1 ? 1 : b > MAX_BATCH ? MAX_BATCH : (unsigned)b;
	}
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), t = t0;
	while (!stop && t < end && sent + errors < count) {
		unsigned n = batch;

		if (rate > 0) {
			/* Datagrams due by now; none yet: sleep until the next burst is. */
			double due = (double)(t - t0) * rate / 1e9 - (double)(sent + errors);

			if (due < 1) {
				sleep_until(t0 + (uint64_t)(((double)(sent + errors) + n) / rate * 1e9));
				t = now_ns();
				continue;
			}
			if (due < n)
				n = (unsigned)due;
		}
		if (count - sent - errors < n)
			n = (unsigned)(count - sent - errors);
		for (unsigned i = 0; i < n; i++) {
			uint64_t s = seq + i;

			memcpy((uint8_t *)iov[i].iov_base + sizeof(token), &s, sizeof(s));
		}
		int r = sendmmsg(fd, msg, n, 0);
		calls++;
		if (r > 0) {
			sent += (unsigned)r;
			seq += (unsigned)r;
		} else if (r < 0 && errno != EINTR) {
			/* The first datagram of the burst was refused: skip it. */
			errors++;
			seq++;
		}
		t = now_ns();
	}
	double dt = (double)(t - t0) / 1e9;
	printf("{\"mode\":\"send\",\"size\":%zu,\"rate\":%.0f,\"sent\":%llu,\"errors\":%llu,\"calls\":%llu,"
	       "\"secs\":%.6f,\"pps\":%.1f}\n", size, rate, (unsigned long long)sent, (unsigned long long)errors,
	       (unsigned long long)calls, dt, dt > 0 ? (double)sent / dt : 0.0);
	return 0;
}

static int do_sink(int fd, uint64_t token, double secs, unsigned idle_ms)
{
	static uint8_t buf[MAX_BATCH][2048];
	struct mmsghdr msg[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	uint64_t got = 0, foreign = 0, bytes = 0, first = 0, last = 0, seq_max = 0;

	memset(msg, 0, sizeof(msg));
	for (unsigned i = 0; i < MAX_BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizeof(buf[i]);
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	printf("ready\n");
	fflush(stdout);
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
	for (;;) {
		int r = recvmmsg(fd, msg, MAX_BATCH, MSG_DONTWAIT, NULL);
		uint64_t t = now_ns();

		if (r > 0) {
			for (int i = 0; i < r; i++) {
				uint64_t tok, seq;

				if (msg[i].msg_len < MIN_SIZE) {
					foreign++;
					continue;
				}
				memcpy(&tok, buf[i], sizeof(tok));
				memcpy(&seq, buf[i] + sizeof(tok), sizeof(seq));
				if (tok != token) {
					foreign++;
					continue;
				}
				if (!got)
					first = t;
				got++;
				bytes += msg[i].msg_len;
				if (seq > seq_max)
					seq_max = seq;
				last = t;
			}
			continue;
		}
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "udpblast: recvmmsg: %s\n", strerror(errno));
			return 1;
		}
		if (stop || t >= end || (got && t - last >= (uint64_t)idle_ms * 1000000u))
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 10);
	}
	double dt = got > 1 ? (double)(last - first) / 1e9 : 0;
	printf("{\"mode\":\"sink\",\"received\":%llu,\"foreign\":%llu,\"bytes\":%llu,\"seq_max\":%llu,"
	       "\"secs\":%.6f,\"pps\":%.1f}\n", (unsigned long long)got, (unsigned long long)foreign,
	       (unsigned long long)bytes, (unsigned long long)seq_max, dt, dt > 0 ? (double)got / dt : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *bind_addr = "0.0.0.0";
	double rate = 0, secs = -1;
	unsigned long long count = UINT64_MAX, token = 0, size = 64, idle_ms = 300;
	int sink, fd, npos;

	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "send"))
		sink = 0, npos = 2;
	else if (!strcmp(argv[1], "sink"))
		sink = 1, npos = 1;
	else
		return usage();
	if (argc < 2 + npos)
		return usage();
	for (int i = 2 + npos; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *e = NULL;

		if (!v)
			return usage();
		i++;
		if (!strcmp(o, "--size") && !sink)
			size = strtoull(v, &e, 10);
		else if (!strcmp(o, "--rate") && !sink)
			rate = strtod(v, &e);
		else if (!strcmp(o, "--count") && !sink)
			count = strtoull(v, &e, 10);
		else if (!strcmp(o, "--secs"))
			secs = strtod(v, &e);
		else if (!strcmp(o, "--token"))
			token = strtoull(v, &e, 0);
		else if (!strcmp(o, "--idle-ms") && sink)
			idle_ms = strtoull(v, &e, 10);
		else if (!strcmp(o, "--bind") && sink)
			bind_addr = v, e = "";
		else
			return usage();
		if (!e || *e) {
			fprintf(stderr, "udpblast: %s: bad value '%s'\n", o, v);
			return 2;
		}
	}
	if (size < MIN_SIZE || size > MAX_SIZE || rate < 0 || idle_ms > 60000) {
		fprintf(stderr, "udpblast: --size %d..%d, --rate >= 0, --idle-ms <= 60000\n", MIN_SIZE, MAX_SIZE);
		return 2;
	}
	/* Bounded always: the default is 10 s of sending, 30 s of sinking. */
	if (secs < 0)
		secs = sink ? 30 : 10;
	if (secs > 3600) {
		fprintf(stderr, "udpblast: --secs at most 3600\n");
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Paced bursts 50 us apart: the default 50 us timer slack would double the gap. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	fd = sink ? open_socket(bind_addr, argv[2], 1) : open_socket(argv[2], argv[3], 0);
	if (fd < 0)
		return 1;
	int r = sink ? do_sink(fd, token, secs, (unsigned)idle_ms)
		     : do_send(fd, (size_t)size, rate, secs, count, token);
	close(fd);
	return r;
}
