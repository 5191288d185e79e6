/* SPDX-License-Identifier: MIT */
/*
 * tunroomd: owns a TUN device and serves sessions on it to unprivileged
 * applications over a Unix socket (tunroom/daemon.h). Sets the device up as
 * root, then drops to an unprivileged user for good; each client gets its
 * own ring memory and eventfds, checked as hostile by the port (ring.c), and
 * a client that disconnects, crashes or corrupts its ring loses its session
 * and nothing else.
 *
 * usage: tunroomd [--name NAME] [--mtu N] [--address PREFIX]... [--queues N]
 *                 [--socket PATH] [--socket-mode OCTAL] [--socket-group GROUP]
 *                 [--user USER] [--persist]
 */
#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/privdrop.h"
#include "common/tunfence.h"
#include "tunroom/daemon.h"
#include "tunroom/device.h"
#include "tunroom/port.h"
#include "tunroom/tun.h"

#define MAX_CLIENTS 64
#define ADDR_MAX 16
#define CHECK_MS 200 /* how often a port's error is looked at */

struct client {
	int conn;
	struct tr_port *port;
	pid_t pid;
	uid_t uid;
};

struct opts {
	const char *name, *socket, *user, *group;
	const char *addrs[ADDR_MAX];
	unsigned n_addrs, queues;
	uint32_t mtu, flags;
	mode_t mode;
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("tunroomd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void usage(void)
{
	fprintf(stderr, "usage: tunroomd [--name NAME] [--mtu N] [--address PREFIX]... "
		"[--queues N]\n                [--socket PATH] [--socket-mode OCTAL] "
		"[--socket-group GROUP] [--user USER] [--persist]\n");
	exit(2);
}

static void parse(struct opts *o, int argc, char **argv)
{
	*o = (struct opts){ .name = "tr%d", .socket = TR_DAEMON_SOCKET_DEFAULT, .user = "nobody",
			    .mode = 0660 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--persist")) {
			o->flags |= TR_TUNDEV_F_PERSIST;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--name"))
			o->name = v;
		else if (!strcmp(a, "--mtu"))
			o->mtu = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--address") && o->n_addrs < ADDR_MAX)
			o->addrs[o->n_addrs++] = v;
		else if (!strcmp(a, "--queues"))
			o->queues = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--socket"))
			o->socket = v;
		else if (!strcmp(a, "--socket-mode"))
			o->mode = (mode_t)strtoul(v, NULL, 8);
		else if (!strcmp(a, "--socket-group"))
			o->group = v;
		else if (!strcmp(a, "--user"))
			o->user = v;
		else
			usage();
	}
}

static int listen_on(const struct opts *o, gid_t gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(o->socket) >= sizeof(sa.sun_path)) {
		logf_("%s: socket path too long", o->socket);
		return -1;
	}
	memcpy(sa.sun_path, o->socket, strlen(o->socket) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* A socket file left by a daemon that died is removed; a live one
	 * answers connect() and is left alone (bind fails below). */
	int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno == ECONNREFUSED)
		unlink(o->socket);
	if (probe >= 0)
		close(probe);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
	    chmod(o->socket, o->mode) < 0 || (gid != (gid_t)-1 && chown(o->socket, 0, gid) < 0)) {
		logf_("%s: %s", o->socket, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Gives up root for good: groups, gid, uid, and no way back through
 * set-uid binaries. The TUN descriptors keep working without privileges
 * (reads, writes, TUNSETQUEUE on a device with no owner set); a seccomp
 * filter (src/common/tunfence.h) takes TUNSETPERSIST and the like away. */
static int drop_privileges(const char *user)
{
	struct tr_privdrop_user u;
	const char *step = NULL;
	int err = tr_privdrop_lookup(user, &u);

	if (err) {
		logf_("no user '%s' to drop to%s%s", user, err == -ENOENT ? "" : ": ",
		      err == -ENOENT ? "" : strerror(-err));
		return -1;
	}
	err = tr_privdrop_to(&u, &step);
	/* The TUN ioctls that would change the device beyond this process
	 * (persistent, another owner) need no privilege: fence them off. */
	if (!err && (err = tr_tunfence()))
		step = "seccomp filter for the TUN ioctls";
	if (err) {
		logf_("dropping to %s: %s: %s", user, step, strerror(-err));
		return -1;
	}
	return 0;
}

static void reply(int conn, int err, struct tr_device *dev, const struct tr_port_fds *fds)
{
	struct tr_daemon_rep rep = { .magic = TR_DAEMON_MAGIC, .err = err };
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { &rep, sizeof(rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	rep.ifindex = (uint32_t)tr_tundev_ifindex(dev);
	snprintf(rep.name, sizeof(rep.name), "%s", tr_tundev_name(dev));
	if (!err) {
		int f[3] = { fds->memfd, fds->app_evt, fds->dev_evt };
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(f));
		memcpy(CMSG_DATA(c), f, sizeof(f));
	}
	sendmsg(conn, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Reads the client's one request and starts its session. Everything in the
 * request is checked (tr_port_open checks the configuration against the
 * documented limits); a bad one is answered with the error and dropped. */
static int serve_request(struct client *c, struct tr_device *dev)
{
	struct tr_daemon_req req;
	struct tr_session_config cfg;
	struct tr_port_fds fds;
	struct pollfd pfd = { .fd = c->conn, .events = POLLIN };
	ssize_t n;
	int err;

	/* A client that connects and says nothing does not hold us up long. */
	if (poll(&pfd, 1, 1000) <= 0)
		return -ETIMEDOUT;
	n = recv(c->conn, &req, sizeof(req), MSG_DONTWAIT | MSG_TRUNC);
	if (n != (ssize_t)sizeof(req) || req.magic != TR_DAEMON_MAGIC) {
		reply(c->conn, -EPROTO, dev, NULL);
		return -EPROTO;
	}
	if (req.abi_version != TR_ABI_VERSION) {
		logf_("client pid %d maps ring ABI %u, this daemon serves %u: refused",
		      (int)c->pid, req.abi_version, TR_ABI_VERSION);
		reply(c->conn, -EPROTONOSUPPORT, dev, NULL);
		return -EPROTONOSUPPORT;
	}
	cfg = (struct tr_session_config){ .capacity = req.capacity, .head_room = req.head_room,
					  .tail_room = req.tail_room, .max_packet = req.max_packet,
					  .flags = req.flags };
	err = tr_port_open(&c->port, &cfg);
	if (!err) {
		err = dev->ops->start_port(dev, c->port);
		if (err) {
			tr_port_close(c->port);
			c->port = NULL;
		}
	}
	if (err) {
		reply(c->conn, err, dev, NULL);
		return err;
	}
	tr_port_get_fds(c->port, &fds);
	reply(c->conn, 0, dev, &fds);
	return 0;
}

static void client_end(struct client *c, struct tr_device *dev, const char *why)
{
	if (c->port) {
		struct tr_port_stats st;

		dev->ops->stop_port(dev, c->port);
		tr_port_stats(c->port, &st);
		logf_("client pid %d uid %u: session ended (%s); %llu packets out, %llu in, "
		      "%llu malformed", (int)c->pid, (unsigned)c->uid, why,
		      (unsigned long long)st.egress_packets, (unsigned long long)st.ingress_packets,
		      (unsigned long long)st.ingress_drop_malformed);
		tr_port_close(c->port);
	}
	close(c->conn);
	*c = (struct client){ .conn = -1 };
}

static void accept_client(int lfd, struct client *clients, struct tr_device *dev)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c = NULL;
	int conn, err;

	conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].conn < 0) {
			c = &clients[i];
			break;
		}
	}
	if (!c) {
		reply(conn, -EUSERS, dev, NULL);
		close(conn);
		return;
	}
	*c = (struct client){ .conn = conn, .pid = -1, .uid = (uid_t)-1 };
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->pid = cred.pid;
		c->uid = cred.uid;
	}
	err = serve_request(c, dev);
	if (err) {
		logf_("client pid %d uid %u: refused: %s", (int)c->pid, (unsigned)c->uid,
		      err == -EPROTO ? "not a tunroomd request" : tr_strerror(err));
		close(conn);
		*c = (struct client){ .conn = -1 };
		return;
	}
	logf_("client pid %d uid %u: session started on %s", (int)c->pid, (unsigned)c->uid,
	      tr_tundev_name(dev));
}

int main(int argc, char **argv)
{
	struct client clients[MAX_CLIENTS];
	struct tr_device *dev;
	struct opts o;
	sigset_t sigs;
	gid_t gid = (gid_t)-1;
	int lfd, sfd, err;

	parse(&o, argc, argv);
	if (o.group) {
		struct group *gr = getgrnam(o.group);

		if (!gr) {
			logf_("no group '%s' for the socket", o.group);
			return 1;
		}
		gid = gr->gr_gid;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);

	err = tr_tundev_open(&dev, &(struct tr_tundev_config){
		.name = o.name, .mtu = o.mtu, .addresses = o.addrs, .n_addresses = o.n_addrs,
		.queues = o.queues, .flags = o.flags });
	if (err) {
		logf_("%s: %s", o.name, tr_tundev_strerror(err));
		return 1;
	}
	lfd = listen_on(&o, gid);
	if (lfd < 0 || sfd < 0 || drop_privileges(o.user)) {
		tr_device_close(dev);
		return 1;
	}
	logf_("serving %s on %s as %s (%u session%s at a time, %s io)", tr_tundev_name(dev),
	      o.socket, o.user, o.queues > 1 ? o.queues : 1, o.queues > 1 ? "s" : "",
	      tr_tundev_io_backend(dev));
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i] = (struct client){ .conn = -1 };

	for (;;) {
		struct pollfd pfd[2 + MAX_CLIENTS];
		int map[2 + MAX_CLIENTS], n = 0;

		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].conn < 0)
				continue;
			map[n] = i;
			pfd[n++] = (struct pollfd){ .fd = clients[i].conn, .events = POLLIN };
		}
		poll(pfd, (nfds_t)n, CHECK_MS);
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLIN)
			accept_client(lfd, clients, dev);
		/* A client says nothing after its request: anything on its
		 * connection is the end of it (close, crash, or a protocol
		 * violation). */
		for (int k = 2; k < n; k++) {
			struct client *c = &clients[map[k]];

			if (c->conn >= 0 && pfd[k].revents)
				client_end(c, dev, pfd[k].revents & POLLIN ?
					   "connection closed or unexpected data" : "connection lost");
		}
		/* The port stops itself on a corrupt ring (-EPROTO) or when the
		 * application closed its session (-EPIPE). */
		for (int i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &clients[i];
			int perr;

			if (c->conn < 0 || !c->port || !(perr = tr_port_error(c->port)))
				continue;
			client_end(c, dev, perr == -EPROTO ? "corrupt ring: the client broke the "
				   "ring ABI" : tr_strerror(perr));
		}
	}
	char name[IFNAMSIZ];

	snprintf(name, sizeof(name), "%s", tr_tundev_name(dev));
	logf_("shutting down");
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].conn >= 0)
			client_end(&clients[i], dev, "daemon shutting down");
	close(lfd);
	unlink(o.socket); /* may fail after the drop; a stale file is removed at start */
	tr_device_close(dev);
	logf_("%s %s", o.flags & TR_TUNDEV_F_PERSIST ? "kept persistent device" : "removed",
	      name);
	return 0;
}
