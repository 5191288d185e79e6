/* SPDX-License-Identifier: MIT */
/*
 * The control socket's server: one request per connection, the listening
 * socket with its private directory and stale-socket handling, and an
 * optional thread of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/client.h"
#include "ctl/ctl_int.h"
#include "ctl/server.h"

struct tr_ctl {
	int fd;
	int spare; /* a descriptor to give up when the table is full (tr_ctl_accept) */
	uid_t owner; /* euid at open: `tunroom up` may run as User by now */
	int stop_evt;
	bool thread_running;
	pthread_t thread;
	const struct tr_ctl_ops *ops;
	void *arg;
	struct sockaddr_un addr;
};

int tr_ctl_serve(int fd, const struct tr_ctl_ops *ops, void *arg)
{
	int64_t deadline = tr_ctl_now_ms() + TR_CTL_TIMEOUT_MS;
	char req[TR_CTL_REQUEST_MAX];
	struct tr_ctl_reply r = { 0 };
	char tail[32];
	int cmd, err = 0, ret;

	ret = tr_ctl_read_message(fd, req, sizeof(req), deadline, false);
	cmd = ret < 0 ? ret : tr_ctl_parse_request(req, (size_t)ret);
	if (cmd == -ECONNRESET || cmd == -ETIMEDOUT)
		return cmd;
	if (cmd < 0) {
		/* Cut short or malformed alike: the client gets EINVAL. */
		err = cmd == -EAGAIN || cmd == -EBADMSG ? -EINVAL : cmd;
	} else if (cmd == TR_CTL_GET) {
		r.cap = TR_CTL_REPLY_MAX;
		r.buf = malloc(r.cap);
		if (!r.buf)
			err = -ENOMEM;
		else
			r.buf[0] = '\0';
		if (!err && ops && ops->get)
			err = ops->get(arg, &r);
		if (!err)
			err = r.err;
	} else if (cmd == TR_CTL_STOP) {
		err = ops && ops->stop ? ops->stop(arg) : -ENOTSUP;
	}
	if (err)
		r.len = 0;
	ret = r.len ? tr_ctl_write_all(fd, r.buf, r.len, deadline) : 0;
	free(r.buf);
	if (ret)
		return ret;
	snprintf(tail, sizeof(tail), "errno=%d\n\n", -err);
	ret = tr_ctl_write_all(fd, tail, strlen(tail), deadline);
	if (ret)
		return ret;
	return err ? err : cmd;
}

/* The directory must be ours and closed to everyone else: the socket's 0600
 * alone would leave a window between bind and chmod. */
static int make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid())
		return -EPERM;
	if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) < 0)
		return -errno;
	return 0;
}

/*
 * Puts the socket, bound and listening at tmp, at its name in one step: a
 * hard link, which fails if the name exists. So no client ever finds a
 * socket there that does not listen yet, and takes it for a stale one to
 * remove. If the name exists, a live tunnel answers there (-EADDRINUSE), or
 * connecting removes the stale socket and the link is tried again.
 */
static int publish(struct tr_ctl *c, const char *tmp, const char *dir, const char *name)
{
	for (int tries = 0; tries < 3; tries++) {
		if (link(tmp, c->addr.sun_path) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
		int probe = tr_ctl_connect(dir, name);
		if (probe >= 0) {
			close(probe);
			return -EADDRINUSE; /* a live tunnel answers there */
		}
		if (probe == -ENOTSOCK)
			return -EEXIST;
		if (probe != -ECONNREFUSED && probe != -ENOENT)
			return probe;
	}
	return -EADDRINUSE; /* another tunnel of the name won each time */
}

int tr_ctl_open(struct tr_ctl **out, const char *dir, const char *name,
		const struct tr_ctl_ops *ops, void *arg)
{
	struct tr_ctl *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->stop_evt = -1;
	c->spare = open("/dev/null", O_RDONLY | O_CLOEXEC); /* none: EMFILE is as before */
	c->ops = ops;
	c->arg = arg;
	c->owner = geteuid();
	r = tr_ctl_sock_path(&c->addr, dir, name);
	if (r)
		goto err_free;
	r = make_dir(dir ? dir : TR_CTL_DIR_DEFAULT);
	if (r)
		goto err_free;
	/* Bound and made listening under a name of this process's own first,
	 * then published under NAME.sock: see publish(). */
	struct sockaddr_un tmp = { .sun_family = AF_UNIX };
	int n = snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s/.%s.sock.%ld",
			 dir ? dir : TR_CTL_DIR_DEFAULT, name, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp.sun_path)) {
		r = -ENAMETOOLONG;
		goto err_free;
	}
	unlink(tmp.sun_path); /* left by an earlier process of this pid */
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		r = -errno;
		goto err_free;
	}
	if (bind(c->fd, (struct sockaddr *)&tmp, sizeof(tmp)) < 0) {
		r = -errno;
		goto err_close;
	}
	if (chmod(tmp.sun_path, 0600) < 0 || listen(c->fd, 8) < 0) {
		r = -errno;
		goto err_unlink;
	}
	r = publish(c, tmp.sun_path, dir, name);
	if (r)
		goto err_unlink;
	unlink(tmp.sun_path);
	*out = c;
	return 0;

err_unlink:
	unlink(tmp.sun_path);
err_close:
	close(c->fd);
err_free:
	if (c->spare >= 0)
		close(c->spare);
	free(c);
	return r;
}

int tr_ctl_fd(const struct tr_ctl *c)
{
	return c->fd;
}

int tr_ctl_accept(struct tr_ctl *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, r;

	fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && c->spare >= 0) {
		/* No descriptor for it: left queued, it would keep the socket
		 * readable and the caller's poll loop spinning. Taken with the
		 * spare one and closed, the client sees the end. */
		r = -errno;
		close(c->spare);
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		c->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return r;
	}
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* The file mode already keeps others out; check the peer anyway. The
	 * uid that created the socket, not the current one: other processes
	 * of the User the tunnel dropped to (nobody, say) must not stop it. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != c->owner)) {
		close(fd);
		return -EPERM;
	}
	r = tr_ctl_serve(fd, c->ops, c->arg);
	close(fd);
	return r;
}

static void *ctl_thread(void *p)
{
	struct tr_ctl *c = p;
	struct pollfd fds[2] = {
		{ .fd = c->fd, .events = POLLIN },
		{ .fd = c->stop_evt, .events = POLLIN },
	};

	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (fds[0].revents)
			tr_ctl_accept(c);
	}
	return NULL;
}

int tr_ctl_start(struct tr_ctl *c)
{
	int r;

	c->stop_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stop_evt < 0)
		return -errno;
	r = pthread_create(&c->thread, NULL, ctl_thread, c);
	if (r) {
		close(c->stop_evt);
		c->stop_evt = -1;
		return -r;
	}
	c->thread_running = true;
	return 0;
}

void tr_ctl_close(struct tr_ctl *c)
{
	if (!c)
		return;
	if (c->thread_running) {
		uint64_t one = 1;
		if (write(c->stop_evt, &one, sizeof(one)) < 0) {
			/* an eventfd at 0 cannot fail this write */
		}
		pthread_join(c->thread, NULL);
	}
	if (c->stop_evt >= 0)
		close(c->stop_evt);
	unlink(c->addr.sun_path);
	close(c->fd);
	if (c->spare >= 0)
		close(c->spare);
	free(c);
}

