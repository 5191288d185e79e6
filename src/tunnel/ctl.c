/* SPDX-License-Identifier: MIT */
/*
 * Control socket: request parser (hostile input), one-connection server, the
 * listening socket with its stale-socket handling and thread, and the client.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include <time.h>
#include <unistd.h>

#include "tunnel/ctl.h"

struct tr_ctl {
	int fd;
	uid_t owner; /* euid at open: `tunroom up` may run as User by now */
	int stop_evt;
	bool thread_running;
	pthread_t thread;
	const struct tr_ctl_ops *ops;
	void *arg;
	struct sockaddr_un addr;
};

static bool key_ok(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > TR_CTL_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)key[i]) && !isdigit((unsigned char)key[i]) &&
		    key[i] != '_')
			return false;
	return true;
}

void tr_ctl_put_str(struct tr_ctl_reply *r, const char *key, const char *val)
{
	size_t start = r->len;

	if (r->err)
		return;
	if (!key_ok(key)) {
		r->err = -EINVAL;
		return;
	}
	int n = snprintf(r->buf + r->len, r->cap - r->len, "%s=%s\n", key, val);
	if (n < 0 || (size_t)n >= r->cap - r->len) {
		r->err = -EMSGSIZE;
		r->buf[start] = '\0';
		return;
	}
	/* A value must not end the line or the reply early. */
	for (size_t i = start + strlen(key) + 1; i < start + (size_t)n - 1; i++)
		if (iscntrl((unsigned char)r->buf[i]))
			r->buf[i] = '?';
	r->len += (size_t)n;
}

void tr_ctl_put_u64(struct tr_ctl_reply *r, const char *key, uint64_t val)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, val);
	tr_ctl_put_str(r, key, num);
}

int tr_ctl_parse_request(const char *buf, size_t len)
{
	const char *end = NULL;
	int cmd = 0;

	/* Look for the blank line first: everything up to it is the request. */
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] == '\n')) {
			end = buf + i;
			break;
		}
	}
	if (!end)
		return len >= TR_CTL_REQUEST_MAX ? -EMSGSIZE : -EAGAIN;
	if ((size_t)(end - buf) + 1 > TR_CTL_REQUEST_MAX)
		return -EMSGSIZE;

	for (const char *line = buf; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)(nl - line);
		char copy[TR_CTL_LINE_MAX + 1];

		if (n > TR_CTL_LINE_MAX)
			return -EMSGSIZE;
		memcpy(copy, line, n);
		copy[n] = '\0';
		if (strlen(copy) != n)
			return -EINVAL; /* NUL byte */
		char *eq = strchr(copy, '=');
		if (!eq)
			return -EINVAL;
		*eq = '\0';
		const char *val = eq + 1;
		int this;
		if (!strcmp(copy, "get"))
			this = TR_CTL_GET;
		else if (!strcmp(copy, "stop"))
			this = TR_CTL_STOP;
		else
			return -EINVAL;
		if (strcmp(val, "1") || cmd)
			return -EINVAL;
		cmd = this;
		line = nl + 1;
	}
	return cmd ? cmd : -EINVAL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd until the deadline; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int write_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r)
				return r;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the blank line that ends a message; returns its length. */
static int read_message(int fd, char *buf, size_t cap, int64_t deadline, bool reply)
{
	size_t len = 0;

	for (;;) {
		if (len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n')
			return (int)len;
		if (!reply && len == 1 && buf[0] == '\n')
			return 1;
		if (len == cap)
			return -EMSGSIZE;
		ssize_t n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			int r = wait_fd(fd, POLLIN, deadline);
			if (r)
				return r;
			continue;
		}
		if (n == 0)
			return len ? -EBADMSG : -ECONNRESET;
		/* A request needs no more than one message: stop at its end so a
		 * hostile client cannot make us scan past it. */
		len += (size_t)n;
		if (!reply) {
			int r = tr_ctl_parse_request(buf, len);
			if (r != -EAGAIN)
				return (int)len;
		}
	}
}

int tr_ctl_serve(int fd, const struct tr_ctl_ops *ops, void *arg)
{
	int64_t deadline = now_ms() + TR_CTL_TIMEOUT_MS;
	char req[TR_CTL_REQUEST_MAX];
	struct tr_ctl_reply r = { 0 };
	char tail[32];
	int cmd, err = 0, ret;

	ret = read_message(fd, req, sizeof(req), deadline, false);
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
	ret = r.len ? write_all(fd, r.buf, r.len, deadline) : 0;
	free(r.buf);
	if (ret)
		return ret;
	snprintf(tail, sizeof(tail), "errno=%d\n\n", -err);
	ret = write_all(fd, tail, strlen(tail), deadline);
	if (ret)
		return ret;
	return err ? err : cmd;
}

static int sock_path(struct sockaddr_un *a, const char *dir, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	int n = snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s.sock",
			 dir ? dir : TR_CTL_DIR_DEFAULT, name);
	if (n < 0 || (size_t)n >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	return 0;
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

int tr_ctl_connect(const char *dir, const char *name)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, r;

	r = sock_path(&a, dir, name);
	if (r)
		return r;
	if (lstat(a.sun_path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		struct stat now;

		r = -errno;
		close(fd);
		/* Nobody listens: a tunnel that died without cleaning up (or ran
		 * as its User and could not). Remove that file, not one a tunnel
		 * starting under the name has put there since. */
		if (r == -ECONNREFUSED && lstat(a.sun_path, &now) == 0 &&
		    now.st_ino == st.st_ino && now.st_dev == st.st_dev)
			unlink(a.sun_path);
		return r;
	}
	return fd;
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
	c->ops = ops;
	c->arg = arg;
	c->owner = geteuid();
	r = sock_path(&c->addr, dir, name);
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
	free(c);
}

int tr_ctl_call(int fd, enum tr_ctl_cmd cmd, char *buf, size_t cap)
{
	int64_t deadline = now_ms() + TR_CTL_TIMEOUT_MS;
	const char *req = cmd == TR_CTL_STOP ? "stop=1\n\n" : "get=1\n\n";
	int len, r;

	if (cap < 16)
		return -EINVAL;
	r = write_all(fd, req, strlen(req), deadline);
	if (r)
		return r;
	len = read_message(fd, buf, cap - 1, deadline, true);
	if (len < 0)
		return len == -ECONNRESET ? -EBADMSG : len;
	buf[len] = '\0';
	/* The reply ends "errno=N\n\n"; find the start of that last line. */
	buf[len - 2] = '\0';
	char *last = strrchr(buf, '\n');
	last = last ? last + 1 : buf;
	if (strncmp(last, "errno=", 6))
		return -EBADMSG;
	char *end;
	long e = strtol(last + 6, &end, 10);
	if (*end || end == last + 6 || e < 0 || e > 4095)
		return -EBADMSG;
	*last = '\0';
	if (e)
		return (int)-e;
	return (int)(last - buf);
}

int tr_ctl_next(char **cursor, char **key, char **val)
{
	char *s = *cursor;

	if (!*s)
		return 0;
	char *nl = strchr(s, '\n');
	if (!nl)
		return -EBADMSG;
	*nl = '\0';
	char *eq = strchr(s, '=');
	if (!eq || eq == s)
		return -EBADMSG;
	*eq = '\0';
	*key = s;
	*val = eq + 1;
	*cursor = nl + 1;
	return 1;
}
