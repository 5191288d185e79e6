/* SPDX-License-Identifier: MIT */
/*
 * The control protocol: the reply builder, the request parser (hostile
 * input), the reply walker, and messages over a stream socket under a
 * deadline, with where a tunnel's socket lives.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ctl/ctl_int.h"

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

int64_t tr_ctl_now_ms(void)
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
		int64_t left = deadline - tr_ctl_now_ms();
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

int tr_ctl_write_all(int fd, const char *buf, size_t len, int64_t deadline)
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

int tr_ctl_read_message(int fd, char *buf, size_t cap, int64_t deadline, bool reply)
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

int tr_ctl_sock_path(struct sockaddr_un *a, const char *dir, const char *name)
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
