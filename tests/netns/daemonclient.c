/* SPDX-License-Identifier: MIT */
/*
 * Clients of tunroomd for daemon.sh, each dropping to an unprivileged user
 * before it connects:
 *   daemonclient echo SOCKET USER SECONDS N  echo requests from 198.18.0.N and
 *                                            fd00::N over a session until SECONDS
 *                                            pass (0: one round). Sessions on
 *                                            other queues use other N: the TUN
 *                                            driver steers a flow's replies to the
 *                                            queue that last wrote that flow.
 *   daemonclient garbage SOCKET USER         takes a session, overwrites its
 *                                            ring memory, expects the daemon
 *                                            to end the session
 *   daemonclient crash SOCKET USER           takes a session and dies (SIGKILL)
 *   daemonclient badreq SOCKET USER          sends a malformed request
 *   daemonclient denied SOCKET USER          expects EACCES (outside the group)
 *   daemonclient hog SOCKET USER             doorbells blocking, flooded, never
 *                                            drained; then closes its ring
 *   daemonclient closed SOCKET USER          sets only the egress consumer_closed
 *   daemonclient silent SOCKET USER N S FILE N connections that say nothing for
 *                                            S seconds; FILE once all connected
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "icmp.h"
#include "tunroom/daemon.h"
#include "tunroom/ring_abi.h"

#define CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "daemonclient:%d: %s: ", __LINE__, #cond); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } } while (0)

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void become(const char *user)
{
	struct passwd *pw = getpwnam(user);

	CHECK(pw, "no user %s", user);
	CHECK(setgroups(0, NULL) == 0 && setgid(pw->pw_gid) == 0 && setuid(pw->pw_uid) == 0,
	      "%s", strerror(errno));
	CHECK(getuid() != 0, "still root");
}

static char src4[32], src6[32];

/* One round: 4 requests per family; returns how many replies came back
 * within timeout_ms. */
static unsigned echo_round(struct tr_session *s, uint16_t first, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	unsigned got = 0;
	uint64_t seen = 0;

	for (uint16_t i = 0; i < 8; i++) {
		struct tr_pkt p;
		bool v6 = i >= 4;

		CHECK(tr_tx_allocate(s, 200, &p) == 0, "allocate");
		CHECK(tr_pkt_headroom(&p) >= 64 && tr_pkt_tailroom(&p) >= 32, "room");
		p.len = (uint32_t)(v6 ? build_echo6(tr_pkt_data(&p), src6, "fd00::1",
						    (uint16_t)(first + i))
				      : build_echo4(tr_pkt_data(&p), src4, "198.18.0.1",
						    (uint16_t)(first + i)));
		CHECK(tr_tx_commit(s, &p, 0) == 0, "commit");
	}
	while (got < 8) {
		struct tr_pkt p;
		int err = tr_rx_receive(s, &p), seq;

		if (err == -EAGAIN) {
			if (now_ms() >= deadline)
				break;
			tr_rx_wait(s, 100);
			continue;
		}
		CHECK(err == 0, "%s", tr_strerror(err));
		seq = echo_reply_seq(tr_pkt_data(&p), p.len, src4, "198.18.0.1");
		if (seq < 0)
			seq = echo_reply_seq(tr_pkt_data(&p), p.len, src6, "fd00::1");
		if (seq >= first && seq < first + 8 && !(seen & (1ull << (seq - first)))) {
			seen |= 1ull << (seq - first);
			got++;
		}
		tr_rx_release(s, &p);
	}
	return got;
}

/* While other sessions come and go, the TUN driver may steer a reply to
 * their queue: when a second queue attaches, flows it has not seen written
 * yet (it learns them only with more than one queue) go by hash. So rounds
 * may lose a reply, never all of them, and once the churn is over a round
 * must be complete. */
static int cmd_echo(const char *path, long seconds)
{
	struct tr_session_config sc = { .capacity = 1u << 20, .head_room = 64, .tail_room = 32 };
	struct tr_session *s;
	long end = now_ms() + seconds * 1000;
	unsigned rounds = 0, lost = 0, got;
	int conn, err;

	err = tr_session_connect(&s, path, &sc, &conn);
	CHECK(err == 0, "connect: %s", tr_strerror(err));
	while (seconds && now_ms() < end) {
		got = echo_round(s, (uint16_t)(8 * (rounds++ % 4096)), 1000);
		CHECK(got > 0, "no reply at all in round %u", rounds);
		lost += 8 - got;
		usleep(50000);
	}
	got = echo_round(s, (uint16_t)(8 * (rounds++ % 4096)), 3000);
	CHECK(got == 8, "%u of 8 replies in the last round", got);
	tr_session_close(s);
	close(conn);
	printf("echo: uid %u, %u rounds of 8 echoes over tunroomd, %u replies steered to "
	       "other sessions' queues: ok\n", (unsigned)getuid(), rounds, lost);
	return 0;
}

/* Waits for the daemon to close our connection. */
static void expect_hangup(int conn)
{
	struct pollfd pfd = { .fd = conn, .events = POLLIN };
	char c;

	CHECK(poll(&pfd, 1, 5000) == 1, "daemon kept the session");
	CHECK(recv(conn, &c, 1, MSG_DONTWAIT) == 0, "not a hang-up");
}

static int cmd_garbage(const char *path)
{
	struct tr_session_config sc = { .capacity = 1u << 17 };
	struct tr_daemon_grant g;
	struct stat st;
	uint64_t one = 1;
	uint8_t *map;
	int err;

	err = tr_daemon_connect(path, &sc, &g);
	CHECK(err == 0, "connect: %s", tr_strerror(err));
	CHECK(fstat(g.memfd, &st) == 0, "fstat");
	/* The seals hold: the client cannot shrink the daemon's mapping. */
	CHECK(ftruncate(g.memfd, 4096) != 0, "memfd could be shrunk");
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, g.memfd, 0);
	CHECK(map != MAP_FAILED, "mmap");
	/* Indices, slot headers, everything: garbage. Then wake the daemon. */
	for (off_t i = 0; i < st.st_size; i++)
		map[i] = (uint8_t)(i * 131 + 7);
	/* The daemon may have found the garbage already, without our wake-up:
	 * a packet from the kernel for this session's queue (a reply the TUN
	 * driver steers here from the echo client's flows, IPv6 link-local
	 * chatter) makes its port write the ring, and a slow fill (sanitizer,
	 * loaded machine) gives its main loop (CHECK_MS) time to end the
	 * session: then its end of the doorbell is closed (ECONNREFUSED).
	 * The hang-up below must come either way. */
	ssize_t w = send(g.dev_evt, &one, sizeof(one), MSG_NOSIGNAL);
	CHECK(w == sizeof(one) || (w < 0 && (errno == ECONNREFUSED || errno == EPIPE)),
	      "wake: %s", w < 0 ? strerror(errno) : "short");
	expect_hangup(g.conn);
	printf("garbage: daemon ended the session of the client that corrupted its ring%s\n",
	       w < 0 ? " (before the wake-up)" : "");
	return 0;
}

static int cmd_crash(const char *path)
{
	struct tr_session_config sc = { .capacity = 1u << 17 };
	struct tr_session *s;
	int conn;

	CHECK(tr_session_connect(&s, path, &sc, &conn) == 0, "connect");
	raise(SIGKILL);
	return 1;
}

static int cmd_badreq(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tr_daemon_rep rep;
	char junk[7] = "hello!";
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "%s", strerror(errno));
	CHECK(send(fd, junk, sizeof(junk), 0) == sizeof(junk), "send");
	CHECK(recv(fd, &rep, sizeof(rep), 0) == sizeof(rep), "reply");
	CHECK(rep.magic == TR_DAEMON_MAGIC && rep.err == -EPROTO, "err %d", rep.err);
	close(fd);
	printf("badreq: refused (EPROTO)\n");
	return 0;
}

/* Maps a grant's ring memory as a client that ignores the library would. */
static uint8_t *map_grant(const struct tr_daemon_grant *g, size_t *size)
{
	struct stat st;
	uint8_t *map;

	CHECK(fstat(g->memfd, &st) == 0, "fstat");
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
	CHECK(map != MAP_FAILED, "mmap");
	*size = (size_t)st.st_size;
	return map;
}

/* Attack 1 (issue 14, item 10): make the doorbells block. Clears
 * O_NONBLOCK on every descriptor it got, fills the daemon's end with
 * wake-ups and never reads its own, so that every signal the daemon sends
 * finds a full queue; then closes its ring (the daemon signals it once
 * more) and expects the daemon to end the session all the same. With
 * descriptors shared with the daemon, this blocked its port thread and
 * then its main loop. */
static int cmd_hog(const char *path)
{
	struct tr_session_config sc = { .capacity = 1u << 17 };
	struct tr_daemon_grant g;
	size_t size;
	char one = 1;
	int err, sent = 0;

	err = tr_daemon_connect(path, &sc, &g);
	CHECK(err == 0, "connect: %s", tr_strerror(err));
	CHECK(fcntl(g.app_evt, F_SETFL, 0) == 0 && fcntl(g.dev_evt, F_SETFL, 0) == 0, "fcntl");
	while (send(g.dev_evt, &one, 1, MSG_DONTWAIT) == 1 && sent < 1000000)
		sent++;
	CHECK(errno == EAGAIN, "flood: %s", strerror(errno));
	uint8_t *map = map_grant(&g, &size);
	struct tr_abi_ring *in = (struct tr_abi_ring *)(map + TR_ABI_INGRESS_CTRL);
	__atomic_store_n(&in->producer_closed, ESHUTDOWN, __ATOMIC_SEQ_CST);
	expect_hangup(g.conn);
	printf("hog: %d wake-ups queued, descriptors blocking, never drained: the daemon "
	       "ended the session anyway\n", sent);
	return 0;
}

/* Attack 2: the egress consumer_closed word alone, with the daemon waiting
 * for egress space or not: it must end the session, not take "closed" for
 * "space freed" and spin. */
static int cmd_closed(const char *path)
{
	struct tr_session_config sc = { .capacity = 1u << 17 };
	struct tr_daemon_grant g;
	size_t size;
	char one = 1;
	int err;

	err = tr_daemon_connect(path, &sc, &g);
	CHECK(err == 0, "connect: %s", tr_strerror(err));
	uint8_t *map = map_grant(&g, &size);
	struct tr_abi_ring *eg = (struct tr_abi_ring *)(map + TR_ABI_EGRESS_CTRL);
	__atomic_store_n(&eg->consumer_closed, ESHUTDOWN, __ATOMIC_SEQ_CST);
	CHECK(send(g.dev_evt, &one, 1, MSG_DONTWAIT) == 1, "wake");
	expect_hangup(g.conn);
	printf("closed: the daemon ended the session whose egress consumer closed\n");
	return 0;
}

/* Attack 3: N connections that never say anything, held for SECONDS; the
 * file READY appears once all are accepted by the kernel. */
static int cmd_silent(const char *path, int n, int seconds, const char *ready)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fds[64];

	CHECK(n > 0 && n <= 64, "n");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		CHECK(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) == 0, "%s",
		      strerror(errno));
	}
	FILE *f = fopen(ready, "w");
	CHECK(f, "%s", ready);
	fclose(f);
	sleep((unsigned)seconds);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	printf("silent: %d connections said nothing for %d s\n", n, seconds);
	return 0;
}

/* A user the socket's group and mode leave out gets -EACCES, nothing else. */
static int cmd_denied(const char *path)
{
	struct tr_session_config sc = { .capacity = 1u << 17 };
	struct tr_daemon_grant g;
	int err = tr_daemon_connect(path, &sc, &g);

	CHECK(err == -EACCES, "connect: %s, want EACCES", tr_strerror(err));
	printf("denied: EACCES for a user outside the socket's group\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: daemonclient echo|garbage|crash|badreq|denied|hog|closed|silent SOCKET USER ...\n");
		return 2;
	}
	become(argv[3]);
	if (!strcmp(argv[1], "echo") && argc == 6) {
		snprintf(src4, sizeof(src4), "198.18.0.%s", argv[5]);
		snprintf(src6, sizeof(src6), "fd00::%s", argv[5]);
		return cmd_echo(argv[2], strtol(argv[4], NULL, 10));
	}
	if (!strcmp(argv[1], "garbage"))
		return cmd_garbage(argv[2]);
	if (!strcmp(argv[1], "crash"))
		return cmd_crash(argv[2]);
	if (!strcmp(argv[1], "badreq"))
		return cmd_badreq(argv[2]);
	if (!strcmp(argv[1], "denied"))
		return cmd_denied(argv[2]);
	if (!strcmp(argv[1], "hog"))
		return cmd_hog(argv[2]);
	if (!strcmp(argv[1], "closed"))
		return cmd_closed(argv[2]);
	if (!strcmp(argv[1], "silent") && argc == 7)
		return cmd_silent(argv[2], atoi(argv[4]), atoi(argv[5]), argv[6]);
	return 2;
}
