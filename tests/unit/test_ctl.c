/* SPDX-License-Identifier: MIT */
/*
 * Control socket: the request parser against hostile input, a full round trip
 * over a socketpair, the listening socket's modes and stale-socket rules, and
 * a connection that comes while the process has no descriptor to spare.
 */
#include <pthread.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctl/client.h"
#include "ctl/server.h"

static int req(const char *s)
{
	return tr_ctl_parse_request(s, strlen(s));
}

/* Files in dir, . and .. aside. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void request_parser(void **state)
{
	(void)state;
	char big[TR_CTL_REQUEST_MAX + 16];

	assert_int_equal(req("get=1\n\n"), TR_CTL_GET);
	assert_int_equal(req("stop=1\n\n"), TR_CTL_STOP);
	/* Bytes after the blank line are not looked at. */
	assert_int_equal(req("get=1\n\ngarbage"), TR_CTL_GET);
	/* Not finished yet. */
	assert_int_equal(req(""), -EAGAIN);
	assert_int_equal(req("get=1"), -EAGAIN);
	assert_int_equal(req("get=1\n"), -EAGAIN);
	assert_int_equal(req("get=1\r\n\r\n"), -EAGAIN);
	/* Malformed. */
	assert_int_equal(req("\n"), -EINVAL);
	assert_int_equal(req("\n\n"), -EINVAL);
	assert_int_equal(req("get\n\n"), -EINVAL);
	assert_int_equal(req("get=\n\n"), -EINVAL);
	assert_int_equal(req("get=2\n\n"), -EINVAL);
	assert_int_equal(req("get=11\n\n"), -EINVAL);
	assert_int_equal(req("get= 1\n\n"), -EINVAL);
	assert_int_equal(req("GET=1\n\n"), -EINVAL);
	assert_int_equal(req("set=1\n\n"), -EINVAL);
	assert_int_equal(req("=1\n\n"), -EINVAL);
	assert_int_equal(req("get=1\nget=1\n\n"), -EINVAL);
	assert_int_equal(req("get=1\nstop=1\n\n"), -EINVAL);
	assert_int_equal(req("get=1\nprotocol_version=1\n\n"), -EINVAL);
	assert_int_equal(tr_ctl_parse_request("ge\0t=1\n\n", 8), -EINVAL);
	assert_int_equal(tr_ctl_parse_request("get=1\0\n\n", 8), -EINVAL);
	/* Too long: a line, and a request without its blank line. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "get=", 4);
	big[TR_CTL_LINE_MAX + 1] = '\n';
	big[TR_CTL_LINE_MAX + 2] = '\n';
	assert_int_equal(tr_ctl_parse_request(big, TR_CTL_LINE_MAX + 3), -EMSGSIZE);
	memset(big, 'a', sizeof(big));
	assert_int_equal(tr_ctl_parse_request(big, TR_CTL_REQUEST_MAX), -EMSGSIZE);
	assert_int_equal(tr_ctl_parse_request(big, TR_CTL_REQUEST_MAX - 1), -EAGAIN);
	for (size_t i = 0; i + 1 < sizeof(big); i += 2) {
		big[i] = 'x';
		big[i + 1] = '\n';
	}
	assert_int_equal(tr_ctl_parse_request(big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(req("x\nx\n\n"), -EINVAL);
}

/* Random requests: the parser only ever answers with its documented codes. */
static void request_mutations(void **state)
{
	(void)state;
	static const char alphabet[] = "getstop=1\n\n\0x";
	char buf[TR_CTL_REQUEST_MAX + 64];
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (int iter = 0; iter < 50000; iter++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t len = (x >> 8) % (iter % 10 ? 16 : sizeof(buf));
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
		}
		int r = tr_ctl_parse_request(buf, len);
		assert_true(r == TR_CTL_GET || r == TR_CTL_STOP || r == -EINVAL ||
			    r == -EMSGSIZE || r == -EAGAIN);
	}
}

static void reply_builder(void **state)
{
	(void)state;
	char buf[64];
	struct tr_ctl_reply r = { .buf = buf, .cap = sizeof(buf) };

	tr_ctl_put_str(&r, "name", "tr0");
	tr_ctl_put_u64(&r, "rx_packets", 18446744073709551615ull);
	assert_string_equal(buf, "name=tr0\nrx_packets=18446744073709551615\n");
	assert_int_equal(r.err, 0);
	/* A value cannot end its line or the reply. */
	r.len = 0;
	tr_ctl_put_str(&r, "x", "a\nb\n\nerrno=0");
	assert_string_equal(buf, "x=a?b??errno=0\n");
	/* Keys are [a-z0-9_]. */
	tr_ctl_put_str(&r, "Bad=Key", "1");
	assert_int_equal(r.err, -EINVAL);
	/* Overflow is remembered and nothing half-written stays. */
	r = (struct tr_ctl_reply){ .buf = buf, .cap = sizeof(buf) };
	tr_ctl_put_str(&r, "a", "0123456789012345678901234567890123456789");
	size_t len = r.len;
	tr_ctl_put_str(&r, "b", "0123456789012345678901234567890123456789");
	assert_int_equal(r.err, -EMSGSIZE);
	assert_int_equal(r.len, len);
	assert_int_equal(strlen(buf), len);
}

struct fake_tunnel {
	int stops;
	int get_err;
	bool huge;
};

static int fake_get(void *arg, struct tr_ctl_reply *r)
{
	struct fake_tunnel *t = arg;

	if (t->get_err)
		return t->get_err;
	tr_ctl_put_str(r, "name", "tr0");
	tr_ctl_put_str(r, "cipher", "aes128-gcm");
	tr_ctl_put_u64(r, "rx_packets", 7);
	tr_ctl_put_u64(r, "rx_err_auth", 2);
	for (int i = 0; t->huge && i < 10000; i++)
		tr_ctl_put_u64(r, "padding_counter_with_a_long_name", (uint64_t)i);
	return 0;
}

static int fake_stop(void *arg)
{
	((struct fake_tunnel *)arg)->stops++;
	return 0;
}

static const struct tr_ctl_ops fake_ops = { fake_get, fake_stop };

struct server {
	int fd;
	struct fake_tunnel *t;
	int ret;
	pthread_t th;
};

static void *serve_thread(void *p)
{
	struct server *s = p;

	s->ret = tr_ctl_serve(s->fd, &fake_ops, s->t);
	close(s->fd);
	return NULL;
}

/* Serves one request on a socketpair; returns the client end. */
static int start(struct server *s, struct fake_tunnel *t)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s->fd = sv[1];
	s->t = t;
	assert_int_equal(pthread_create(&s->th, NULL, serve_thread, s), 0);
	return sv[0];
}

static int finish(struct server *s, int client)
{
	pthread_join(s->th, NULL);
	close(client);
	return s->ret;
}

static void round_trip(void **state)
{
	(void)state;
	struct fake_tunnel t = { 0 };
	struct server s;
	char buf[TR_CTL_REPLY_MAX];
	char *cur, *key, *val;
	int c, n;

	c = start(&s, &t);
	n = tr_ctl_call(c, TR_CTL_GET, buf, sizeof(buf));
	assert_int_equal(finish(&s, c), TR_CTL_GET);
	assert_int_equal(n, (int)strlen("name=tr0\ncipher=aes128-gcm\nrx_packets=7\nrx_err_auth=2\n"));
	cur = buf;
	assert_int_equal(tr_ctl_next(&cur, &key, &val), 1);
	assert_string_equal(key, "name");
	assert_string_equal(val, "tr0");
	assert_int_equal(tr_ctl_next(&cur, &key, &val), 1);
	assert_int_equal(tr_ctl_next(&cur, &key, &val), 1);
	assert_string_equal(key, "rx_packets");
	assert_string_equal(val, "7");
	assert_int_equal(tr_ctl_next(&cur, &key, &val), 1);
	assert_int_equal(tr_ctl_next(&cur, &key, &val), 0);

	c = start(&s, &t);
	assert_int_equal(tr_ctl_call(c, TR_CTL_STOP, buf, sizeof(buf)), 0);
	assert_int_equal(finish(&s, c), TR_CTL_STOP);
	assert_int_equal(t.stops, 1);

	/* The tunnel's error travels as errno=N. */
	t.get_err = -EIO;
	c = start(&s, &t);
	assert_int_equal(tr_ctl_call(c, TR_CTL_GET, buf, sizeof(buf)), -EIO);
	assert_int_equal(finish(&s, c), -EIO);
	t.get_err = 0;

	/* A reply past TR_CTL_REPLY_MAX is refused whole, not cut. */
	t.huge = true;
	c = start(&s, &t);
	assert_int_equal(tr_ctl_call(c, TR_CTL_GET, buf, sizeof(buf)), -EMSGSIZE);
	assert_int_equal(finish(&s, c), -EMSGSIZE);
	t.huge = false;

	/* The client's own buffer too small for a good reply. */
	c = start(&s, &t);
	assert_int_equal(tr_ctl_call(c, TR_CTL_GET, buf, 32), -EMSGSIZE);
	finish(&s, c);
}

/* Raw bytes in, raw reply out. */
static void raw(const char *in, size_t len, const char *want_reply, int want_ret)
{
	struct fake_tunnel t = { 0 };
	struct server s;
	char buf[256];
	size_t got = 0;
	ssize_t n;
	int c = start(&s, &t);

	assert_int_equal(write(c, in, len), (ssize_t)len);
	shutdown(c, SHUT_WR);
	while ((n = read(c, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	assert_int_equal(finish(&s, c), want_ret);
	assert_string_equal(buf, want_reply);
	assert_int_equal(t.stops, 0);
}

static void hostile_clients(void **state)
{
	(void)state;
	char big[4096];

	raw("set=1\n\n", 7, "errno=22\n\n", -EINVAL);
	raw("get=1\nstop=1\n\n", 14, "errno=22\n\n", -EINVAL);
	raw("\n", 1, "errno=22\n\n", -EINVAL);
	raw("stop=1\n", 7, "errno=22\n\n", -EINVAL); /* closed before the blank line */
	raw("", 0, "", -ECONNRESET);
	memset(big, 'a', sizeof(big));
	raw(big, sizeof(big), "errno=90\n\n", -EMSGSIZE);
	raw("st\0p=1\n\n", 8, "errno=22\n\n", -EINVAL);
}

static void slow_client_times_out(void **state)
{
	(void)state;
	struct fake_tunnel t = { 0 };
	struct server s;
	int c = start(&s, &t);

	assert_int_equal(write(c, "get=1\n", 6), 6); /* and never the blank line */
	assert_int_equal(finish(&s, c), -ETIMEDOUT);
}

static void listening_socket(void **state)
{
	(void)state;
	char dir[] = "/tmp/tr-ctl-XXXXXX", run[64], path[96], buf[256];
	struct fake_tunnel t = { 0 };
	struct tr_ctl *ctl, *ctl2;
	struct stat st;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(path, sizeof(path), "%s/tr0.sock", run);

	assert_int_equal(tr_ctl_connect(run, "tr0"), -ENOENT);
	assert_int_equal(tr_ctl_open(&ctl, run, "tr0", &fake_ops, &t), 0);
	assert_int_equal(stat(run, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Served from a poll loop of the caller's ... */
	fd = tr_ctl_connect(run, "tr0");
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "get=1\n\n", 7), 7);
	assert_int_equal(tr_ctl_accept(ctl), TR_CTL_GET);
	close(fd);
	assert_int_equal(tr_ctl_accept(ctl), -EAGAIN);
	/* ... or from its own thread. */
	assert_int_equal(tr_ctl_start(ctl), 0);
	fd = tr_ctl_connect(run, "tr0");
	assert_true(fd >= 0);
	assert_true(tr_ctl_call(fd, TR_CTL_GET, buf, sizeof(buf)) > 0);
	close(fd);
	assert_non_null(strstr(buf, "rx_err_auth=2\n"));

	/* A live tunnel keeps its name. The socket was bound and listening
	 * under a name of its own before it appeared as tr0.sock (so no client
	 * takes a new one for stale); neither open leaves that name behind. */
	assert_int_equal(tr_ctl_open(&ctl2, run, "tr0", &fake_ops, &t), -EADDRINUSE);
	assert_int_equal(entries(run), 1);
	tr_ctl_close(ctl);
	assert_int_equal(lstat(path, &st), -1);

	/* A stale socket (its owner died) is replaced... */
	int dead = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(dead, (struct sockaddr *)&a, sizeof(a)), 0);
	close(dead);
	assert_int_equal(tr_ctl_open(&ctl, run, "tr0", &fake_ops, &t), 0);
	tr_ctl_close(ctl);
	/* ... and a client finding one removes it. */
	dead = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(dead, (struct sockaddr *)&a, sizeof(a)), 0);
	close(dead);
	assert_int_equal(tr_ctl_connect(run, "tr0"), -ECONNREFUSED);
	assert_int_equal(lstat(path, &st), -1);

	/* Something that is not a socket is never unlinked. */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(tr_ctl_connect(run, "tr0"), -ENOTSOCK);
	assert_int_equal(tr_ctl_open(&ctl, run, "tr0", &fake_ops, &t), -EEXIST);
	assert_int_equal(lstat(path, &st), 0);
	unlink(path);

	/* Names cannot escape the directory; a loose directory is tightened. */
	assert_int_equal(tr_ctl_open(&ctl, run, "../x", &fake_ops, &t), -EINVAL);
	assert_int_equal(tr_ctl_connect(run, ".."), -EINVAL);
	assert_int_equal(chmod(run, 0755), 0);
	assert_int_equal(tr_ctl_open(&ctl, run, "tr1", &fake_ops, &t), 0);
	assert_int_equal(stat(run, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	tr_ctl_close(ctl);
	tr_ctl_close(NULL);
	rmdir(run);
	rmdir(dir);
}

/* Out of descriptors (EMFILE), a connection that cannot be accepted would
 * stay queued: the listening socket stays readable and the caller's poll
 * loop (the tunnel's control thread) returns at once, again and again, a
 * core at 100 % until a descriptor frees. It is taken and closed instead:
 * the client sees the end, the socket is quiet again. */
static void out_of_descriptors(void **state)
{
	(void)state;
	char dir[] = "/tmp/tr-ctl-XXXXXX", run[64], b;
	struct fake_tunnel t = { 0 };
	struct tr_ctl *ctl;
	struct rlimit old, low;
	int fill[64], n = 0, fd, probe;

	assert_non_null(mkdtemp(dir));
	snprintf(run, sizeof(run), "%s/run", dir);
	assert_int_equal(tr_ctl_open(&ctl, run, "tr0", &fake_ops, &t), 0);
	fd = tr_ctl_connect(run, "tr0");
	assert_true(fd >= 0);
	/* A table with a few free slots above what is open, then filled. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	probe = dup(0);
	assert_true(probe >= 0);
	close(probe);
	low = old;
	low.rlim_cur = (rlim_t)probe + 8;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 64 && (fill[n] = dup(0)) >= 0)
		n++;
	assert_true(n < 64 && errno == EMFILE);

	assert_int_equal(tr_ctl_accept(ctl), -EMFILE);
	struct pollfd p = { .fd = tr_ctl_fd(ctl), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0); /* nothing left queued */

	while (n > 0)
		close(fill[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(read(fd, &b, 1), 0); /* closed on the client */
	close(fd);
	/* And the next one is served as ever. */
	fd = tr_ctl_connect(run, "tr0");
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "get=1\n\n", 7), 7);
	assert_int_equal(tr_ctl_accept(ctl), TR_CTL_GET);
	close(fd);
	tr_ctl_close(ctl);
	rmdir(run);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_parser),
		cmocka_unit_test(request_mutations),
		cmocka_unit_test(reply_builder),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(hostile_clients),
		cmocka_unit_test(slow_client_times_out),
		cmocka_unit_test(listening_socket),
		cmocka_unit_test(out_of_descriptors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
