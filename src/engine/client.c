/* SPDX-License-Identifier: MIT */
/* The application's end of tunroomd's socket (tunroom/daemon.h): one
 * request, one reply with three descriptors. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/api.h"
#include "tunroom/daemon.h"

#define REPLY_TIMEOUT_MS 5000

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

TR_API int tr_daemon_connect(const char *path, const struct tr_session_config *cfg,
			     struct tr_daemon_grant *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tr_daemon_req req;
	struct tr_daemon_rep rep;
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { &rep, sizeof(rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct pollfd pfd;
	int fds[3] = { -1, -1, -1 }, fd, err;
	ssize_t n;

	if (!cfg || !out)
		return -EINVAL;
	path = path ? path : TR_DAEMON_SOCKET_DEFAULT;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto err_errno;
	req = (struct tr_daemon_req){
		.magic = TR_DAEMON_MAGIC, .abi_version = TR_ABI_VERSION,
		.capacity = cfg->capacity, .head_room = cfg->head_room,
		.tail_room = cfg->tail_room, .max_packet = cfg->max_packet, .flags = cfg->flags,
	};
	if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req))
		goto err_errno;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, REPLY_TIMEOUT_MS) <= 0) {
		err = -ETIMEDOUT;
		goto err_close;
	}
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		goto err_errno;
	/* Descriptors first, so that every path below closes them. The
	 * kernel put every one that came into our table, whatever their
	 * number: those that are not the three a grant has are closed here. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		if (c->cmsg_len == CMSG_LEN(sizeof(fds)) && fds[0] < 0) {
			memcpy(fds, CMSG_DATA(c), sizeof(fds));
			continue;
		}
		size_t k = c->cmsg_len > CMSG_LEN(0) ? (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;
		for (size_t i = 0; i < k; i++) {
			int stray;

			memcpy(&stray, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(stray);
		}
	}
	if (n != (ssize_t)sizeof(rep) || rep.magic != TR_DAEMON_MAGIC ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		err = -EPROTO;
		goto err_fds;
	}
	if (rep.err) {
		err = rep.err < 0 ? rep.err : -EPROTO;
		goto err_fds;
	}
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
		err = -EPROTO;
		goto err_fds;
	}
	*out = (struct tr_daemon_grant){ .conn = fd, .memfd = fds[0], .app_evt = fds[1],
					 .dev_evt = fds[2], .ifindex = (int)rep.ifindex };
	memcpy(out->name, rep.name, sizeof(out->name));
	out->name[sizeof(out->name) - 1] = '\0';
	return 0;

err_errno:
	err = -errno;
	goto err_close;
err_fds:
	close_fds(fds, 3);
err_close:
	close(fd);
	return err;
}

TR_API int tr_session_connect(struct tr_session **out, const char *path,
			      const struct tr_session_config *cfg, int *conn)
{
	struct tr_daemon_grant g;
	int err;

	if (!out || !conn)
		return -EINVAL;
	err = tr_daemon_connect(path, cfg, &g);
	if (err)
		return err;
	/* tr_session_attach owns the three ring descriptors, also on failure. */
	err = tr_session_attach(out, g.memfd, g.app_evt, g.dev_evt, cfg->flags);
	if (err) {
		close(g.conn);
		return err;
	}
	*conn = g.conn;
	return 0;
}
