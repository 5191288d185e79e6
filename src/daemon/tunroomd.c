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
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
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
#define REQUEST_MS 1000 /* a connection's time to send its request */
#define QUEUES_MAX 16 /* TUN queues of one device (the kernel's limit is higher; ours) */
#ifndef TR_VERSION
#define TR_VERSION "unknown"
#endif

/* A connection: pending (no port yet, waiting for its request until
 * deadline) or serving a session (port set). */
struct client {
	int conn;
	struct tr_port *port;
	long deadline; /* ms, CLOCK_MONOTONIC: a pending one is dropped after it */
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

static void device_log(void *arg, const char *line)
{
	(void)arg;
	logf_("%s", line);
}

static const char usage_text[] =
	"usage: tunroomd [--name NAME] [--mtu N] [--address PREFIX]... [--queues N]\n"
	"                [--socket PATH] [--socket-mode OCTAL] [--socket-group GROUP]\n"
	"                [--user USER] [--persist]\n"
	"       tunroomd --help | --version\n";

static void usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

/* A bad option value: its own message, then usage's exit status. */
static void bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "tunroomd: %s '%s': %s\n", opt, val, want);
	exit(2);
}

static unsigned long number(const char *opt, const char *v, int base, unsigned long min,
			    unsigned long max, const char *want)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, base);
	if (!*v || *end || errno || v[0] == '-' || n < min || n > max)
		bad(opt, v, want);
	return n;
}

/* ADDRESS/LENGTH, IPv4 or IPv6, checked here so that a typo is reported as
 * one (the device would only say "invalid argument"). */
static void check_prefix(const char *v)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned char buf[16];
	const char *slash = strchr(v, '/');
	size_t len = slash ? (size_t)(slash - v) : 0;

	if (!slash || !len || len >= sizeof(ip))
		bad("--address", v, "want ADDRESS/LENGTH, e.g. 198.18.0.1/24 or fd00::1/64");
	memcpy(ip, v, len);
	ip[len] = '\0';
	unsigned long max = inet_pton(AF_INET, ip, buf) == 1 ? 32 :
			    inet_pton(AF_INET6, ip, buf) == 1 ? 128 : 0;
	char *end;

	if (!max)
		bad("--address", v, "not an IPv4 or IPv6 address");
	errno = 0;
	unsigned long n = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || errno || slash[1] == '-' || n > max)
		bad("--address", v, max == 32 ? "prefix length of an IPv4 address: 0-32"
					      : "prefix length of an IPv6 address: 0-128");
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
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (!strcmp(a, "--version")) {
			printf("tunroomd %s (ring ABI %u)\n", TR_VERSION, TR_ABI_VERSION);
			exit(0);
		}
		if (!v) {
			fprintf(stderr, "tunroomd: %s: %s\n", a,
				a[0] == '-' ? "unknown option, or it needs a value" : "not an option");
			usage();
		}
		i++;
		if (!strcmp(a, "--name")) {
			o->name = v;
		} else if (!strcmp(a, "--mtu")) {
			o->mtu = (uint32_t)number(a, v, 10, 68, 65535, "MTU: a number, 68-65535");
		} else if (!strcmp(a, "--address")) {
			if (o->n_addrs == ADDR_MAX)
				bad(a, v, "at most 16 addresses");
			check_prefix(v);
			o->addrs[o->n_addrs++] = v;
		} else if (!strcmp(a, "--queues")) {
			o->queues = (unsigned)number(a, v, 10, 1, QUEUES_MAX,
						     "queues: a number, 1-16");
		} else if (!strcmp(a, "--socket")) {
			if (!v[0] || strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
				bad(a, v, "a path of 1-107 bytes");
			o->socket = v;
		} else if (!strcmp(a, "--socket-mode")) {
			o->mode = (mode_t)number(a, v, 8, 0, 0777, "permissions in octal, e.g. 0660");
		} else if (!strcmp(a, "--socket-group")) {
			o->group = v;
		} else if (!strcmp(a, "--user")) {
			o->user = v;
		} else {
			fprintf(stderr, "tunroomd: %s: unknown option\n", a);
			usage();
		}
	}
}

/* The socket's directory: one tunroomd makes (the default, /run/tunroomd,
 * or any missing last component) belongs to the user it drops to, so that
 * it can remove its socket on exit, with the socket's group and mode 0750
 * when --socket-group names one (members may enter), else 0755. An existing
 * directory other than the default is the administrator's and left alone. */
static int socket_dir(const struct opts *o, uid_t uid, gid_t gid)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	bool ours;

	snprintf(dir, sizeof(dir), "%s", o->socket);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0; /* relative name, or in / */
	*slash = '\0';
	ours = !strcmp(o->socket, TR_DAEMON_SOCKET_DEFAULT);
	if (mkdir(dir, 0700) == 0)
		ours = true;
	else if (errno != EEXIST) {
		logf_("%s: cannot create the socket's directory: %s", dir, strerror(errno));
		return -1;
	}
	if (ours && (chown(dir, uid, gid != (gid_t)-1 ? gid : 0) < 0 ||
		     chmod(dir, gid != (gid_t)-1 ? 0750 : 0755) < 0)) {
		logf_("%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int listen_on(const struct opts *o, uid_t uid, gid_t gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (socket_dir(o, uid, gid))
		return -1;
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
		logf_("%s: %s%s", o->socket, strerror(errno),
		      errno == EADDRINUSE ? " (another tunroomd serves it)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

/* Gives up root for good: groups, gid, uid, and no way back through
 * set-uid binaries. The TUN descriptors keep working without privileges
 * (reads, writes, TUNSETQUEUE on a device with no owner set); a seccomp
 * filter (src/common/tunfence.h) takes TUNSETPERSIST and the like away. */
static int drop_privileges(const char *user, const struct tr_privdrop_user *u)
{
	const char *step = NULL;
	int err = tr_privdrop_to(u, &step);
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
	ssize_t n;
	int err;

	/* Called only when the connection polled readable: never waits. */
	n = recv(c->conn, &req, sizeof(req), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && errno == EAGAIN)
		return -EAGAIN;
	/* End of file (a zero-length record that is not one says no hang-up):
	 * the client went before a word, crashed or a probe of the socket.
	 * Nobody to answer, and no malformed request to blame. */
	if (n == 0) {
		struct pollfd p = { .fd = c->conn, .events = POLLRDHUP };

		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP)))
			return -ECONNRESET;
	}
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

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The pending connection's request, if it came: a session, or a refusal. */
static void pending_request(struct client *c, struct tr_device *dev)
{
	int err = serve_request(c, dev);

	if (err == -EAGAIN)
		return; /* not yet: it has until its deadline */
	if (err == -ECONNRESET) {
		logf_("client pid %d uid %u: hung up before its request", (int)c->pid,
		      (unsigned)c->uid);
		close(c->conn);
		*c = (struct client){ .conn = -1 };
		return;
	}
	if (err) {
		logf_("client pid %d uid %u: refused: %s", (int)c->pid, (unsigned)c->uid,
		      err == -EPROTO ? "not a tunroomd request" : tr_strerror(err));
		close(c->conn);
		*c = (struct client){ .conn = -1 };
		return;
	}
	logf_("client pid %d uid %u: session started on %s", (int)c->pid, (unsigned)c->uid,
	      tr_tundev_name(dev));
}

/* Takes every waiting connection without blocking on any of them: each is
 * pending until its request comes (served as soon as it polls readable) or
 * its REQUEST_MS run out. Connections that say nothing hold a slot, not the
 * daemon; with every slot taken the oldest pending one makes room. */
static void accept_clients(int lfd, struct client *clients, struct tr_device *dev)
{
	for (int k = 0; k < MAX_CLIENTS; k++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct client *c = NULL, *oldest = NULL;
		int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (conn < 0)
			return;
		for (int i = 0; i < MAX_CLIENTS && !c; i++) {
			if (clients[i].conn < 0)
				c = &clients[i];
			else if (!clients[i].port &&
				 (!oldest || clients[i].deadline < oldest->deadline))
				oldest = &clients[i];
		}
		if (!c && oldest) {
			logf_("client pid %d uid %u: dropped unheard: every slot is taken",
			      (int)oldest->pid, (unsigned)oldest->uid);
			close(oldest->conn);
			c = oldest;
		}
		if (!c) {
			reply(conn, -EUSERS, dev, NULL);
			close(conn);
			continue;
		}
		*c = (struct client){ .conn = conn, .pid = -1, .uid = (uid_t)-1,
				      .deadline = now_ms() + REQUEST_MS };
		if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			c->pid = cred.pid;
			c->uid = cred.uid;
		}
		pending_request(c, dev); /* it usually sent its request already */
	}
}

int main(int argc, char **argv)
{
	struct client clients[MAX_CLIENTS];
	struct tr_device *dev;
	struct tr_privdrop_user user;
	struct opts o;
	sigset_t sigs;
	gid_t gid = (gid_t)-1;
	int lfd, sfd, err;

	parse(&o, argc, argv);
	err = tr_privdrop_lookup(o.user, &user);
	if (err) {
		logf_("no user '%s' to drop to%s%s", o.user, err == -ENOENT ? "" : ": ",
		      err == -ENOENT ? "" : strerror(-err));
		return 1;
	}
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
		.queues = o.queues, .flags = o.flags, .log = device_log });
	if (err) {
		/* Not tr_tundev_strerror's hint to use tunroomd: we are it. */
		logf_("%s: %s", o.name, err == -EPERM ?
		      "setting up the TUN device needs root or CAP_NET_ADMIN; tunroomd "
		      "drops them once the device and socket exist" : tr_tundev_strerror(err));
		return 1;
	}
	lfd = listen_on(&o, user.uid, gid);
	if (lfd < 0 || sfd < 0 || drop_privileges(o.user, &user)) {
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
		int map[2 + MAX_CLIENTS], n = 0, timeout = CHECK_MS;
		long now = now_ms();

		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].conn < 0)
				continue;
			if (!clients[i].port && clients[i].deadline - now < timeout)
				timeout = clients[i].deadline - now > 0 ?
					  (int)(clients[i].deadline - now) : 0;
			map[n] = i;
			pfd[n++] = (struct pollfd){ .fd = clients[i].conn, .events = POLLIN };
		}
		poll(pfd, (nfds_t)n, timeout);
		if (pfd[0].revents)
			break;
		now = now_ms();
		for (int k = 2; k < n; k++) {
			struct client *c = &clients[map[k]];

			if (c->conn < 0)
				continue;
			if (!c->port) {
				/* Pending: its request, or its time is up. */
				if (pfd[k].revents & POLLIN)
					pending_request(c, dev);
				else if (pfd[k].revents)
					client_end(c, dev, "connection lost before its request");
				if (c->conn >= 0 && !c->port && now >= c->deadline) {
					logf_("client pid %d uid %u: no request within %d ms: dropped",
					      (int)c->pid, (unsigned)c->uid, REQUEST_MS);
					client_end(c, dev, "no request");
				}
				continue;
			}
			/* A client says nothing after its request: anything on
			 * its connection is the end of it (close, crash, or a
			 * protocol violation). */
			if (pfd[k].revents)
				client_end(c, dev, pfd[k].revents & POLLIN ?
					   "connection closed or unexpected data" : "connection lost");
		}
		/* New connections only after the events of this poll are
		 * handled: an accept may reuse the slot of a pending connection
		 * (every slot taken), and that connection's events, a hang-up
		 * say, must not be taken for the newcomer's. */
		if (pfd[1].revents & POLLIN)
			accept_clients(lfd, clients, dev);
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
	/* The directory tunroomd made is its user's; in an administrator's
	 * directory it may not be: a stale file is removed at the next start. */
	if (unlink(o.socket) < 0 && errno != ENOENT)
		logf_("%s left behind (%s); the next start removes it", o.socket,
		      strerror(errno));
	tr_device_close(dev);
	logf_("%s %s", o.flags & TR_TUNDEV_F_PERSIST ? "kept persistent device" : "removed",
	      name);
	return 0;
}
