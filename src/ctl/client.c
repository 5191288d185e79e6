/* SPDX-License-Identifier: MIT */
/* The control socket's client: connect (removing a stale socket) and one call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/client.h"
#include "ctl/ctl_int.h"

int tr_ctl_connect(const char *dir, const char *name)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, r;

	r = tr_ctl_sock_path(&a, dir, name);
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

int tr_ctl_call(int fd, enum tr_ctl_cmd cmd, char *buf, size_t cap)
{
	int64_t deadline = tr_ctl_now_ms() + TR_CTL_TIMEOUT_MS;
	const char *req = cmd == TR_CTL_STOP ? "stop=1\n\n" : "get=1\n\n";
	int len, r;

	if (cap < 16)
		return -EINVAL;
	r = tr_ctl_write_all(fd, req, strlen(req), deadline);
	if (r)
		return r;
	len = tr_ctl_read_message(fd, buf, cap - 1, deadline, true);
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

