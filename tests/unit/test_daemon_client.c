/* SPDX-License-Identifier: MIT */
/*
 * The application's end of tunroomd's socket (tr_daemon_connect) against a
 * daemon that does not keep to tunroom/daemon.h: whatever descriptors come
 * with a reply the client refuses are closed, none is left in its table.
 * The "daemon" is a thread of this process on a socket in a private
 * directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "tunroom/daemon.h"

struct fake {
	int lfd;
	struct tr_daemon_rep rep;
	unsigned nfds;   /* descriptors sent with the reply (0..4) */
	int status;      /* 0 once the reply went */
};

static void *daemon_thread(void *arg)
{
	struct fake *f = arg;
	struct tr_daemon_req req;
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { &f->rep, sizeof(f->rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[4], conn = accept(f->lfd, NULL, NULL);

	f->status = -1;
	if (conn < 0)
		return NULL;
	if (recv(conn, &req, sizeof(req), 0) == (ssize_t)sizeof(req)) {
		for (unsigned i = 0; i < f->nfds; i++)
			fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (f->nfds) {
			struct cmsghdr *c;

			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.buf;
			mh.msg_controllen = CMSG_SPACE(f->nfds * sizeof(int));
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(f->nfds * sizeof(int));
			memcpy(CMSG_DATA(c), fds, f->nfds * sizeof(int));
		}
		if (sendmsg(conn, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(f->rep))
			f->status = 0;
		/* Ours go: only the client's copies are left. */
		for (unsigned i = 0; i < f->nfds; i++)
			close(fds[i]);
	}
	close(conn);
	return NULL;
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* One connect against a daemon that answers rep with nfds descriptors:
 * returns tr_daemon_connect's result, after checking that the client's
 * descriptor table is as it was (or holds exactly the grant's four). */
static int against(const struct tr_daemon_rep *rep, unsigned nfds)
{
	char dir[] = "/tmp/tr-daemon-client-XXXXXX", path[sizeof(dir) + 8];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tr_session_config cfg = { .capacity = 1u << 17 };
	struct fake f = { .rep = *rep, .nfds = nfds };
	struct tr_daemon_grant g;
	pthread_t th;
	unsigned before;
	int err;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/d.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	f.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(f.lfd >= 0);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f.lfd, 1), 0);
	before = open_fds();
	assert_int_equal(pthread_create(&th, NULL, daemon_thread, &f), 0);
	err = tr_daemon_connect(path, &cfg, &g);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(f.status, 0);
	if (!err) {
		assert_int_equal(open_fds(), before + 4); /* conn and the three */
		close(g.conn);
		close(g.memfd);
		close(g.app_evt);
		close(g.dev_evt);
	}
	assert_int_equal(open_fds(), before);
	close(f.lfd);
	unlink(path);
	rmdir(dir);
	return err;
}

static void refused_replies_leave_no_descriptor(void **state)
{
	(void)state;
	struct tr_daemon_rep ok = { .magic = TR_DAEMON_MAGIC, .name = "trd0" };
	struct tr_daemon_rep busy = { .magic = TR_DAEMON_MAGIC, .err = -EBUSY };
	struct tr_daemon_rep wrong = { .magic = TR_DAEMON_MAGIC ^ 1 };

	/* As the protocol says: a grant of three. */
	assert_int_equal(against(&ok, 3), 0);
	/* Success without descriptors, or with another number of them. */
	assert_int_equal(against(&ok, 0), -EPROTO);
	assert_int_equal(against(&ok, 1), -EPROTO);
	assert_int_equal(against(&ok, 2), -EPROTO);
	assert_int_equal(against(&ok, 4), -EPROTO);
	/* An error, or not a reply at all, that brings descriptors anyway. */
	assert_int_equal(against(&busy, 3), -EBUSY);
	assert_int_equal(against(&busy, 1), -EBUSY);
	assert_int_equal(against(&wrong, 3), -EPROTO);
	assert_int_equal(against(&wrong, 2), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refused_replies_leave_no_descriptor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
