/* SPDX-License-Identifier: MIT */
/* vpnc-script environment and execution. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "anyconnect/script.h"

extern char **environ;

/* How long past a script's timeout the helper may take to kill it, reap it
 * and answer. */
#define HELPER_MARGIN_MS 5000

static int add(struct tr_ac_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int add(struct tr_ac_env *e, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (e->n == TR_AC_ENV_MAX)
		return -E2BIG;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
	return 0;
}

/* Prefix length of a dotted netmask, -1 when it is not contiguous. */
static int masklen(const char *mask)
{
	struct in_addr a;
	uint32_t m;
	int n = 0;

	if (inet_pton(AF_INET, mask, &a) != 1)
		return -1;
	m = ntohl(a.s_addr);
	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return m ? -1 : n;
}

/* "a.b.c.d/m.m.m.m" or "a.b.c.d/len" into address, mask, length. */
static int split_route(const char *r, char *addr, char *mask, int *len)
{
	char tmp[64];
	char *slash;

	snprintf(tmp, sizeof(tmp), "%s", r);
	slash = strchr(tmp, '/');
	if (!slash)
		return -EINVAL;
	*slash++ = 0;
	if (strlen(tmp) >= INET_ADDRSTRLEN)
		return -EINVAL;
	memcpy(addr, tmp, strlen(tmp) + 1);
	if (strchr(slash, '.')) {
		if (strlen(slash) >= INET_ADDRSTRLEN)
			return -EINVAL;
		memcpy(mask, slash, strlen(slash) + 1);
		*len = masklen(mask);
	} else {
		*len = atoi(slash);
		struct in_addr m = { htonl(*len ? ~0u << (32 - *len) : 0) };
		inet_ntop(AF_INET, &m, mask, INET_ADDRSTRLEN);
	}
	return *len < 0 ? -EINVAL : 0;
}

void tr_ac_env_free(struct tr_ac_env *e)
{
	/* Every entry is our own copy, the inherited ones too. */
	for (unsigned i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}

int tr_ac_env_build(struct tr_ac_env *e, const char *reason, const char *tundev,
		    const char *gateway, const struct tr_ac_params *p)
{
	static const char *const keep[] = { "PATH=", "LANG=", "LC_ALL=", "TERM=", "HOME=", NULL };
	int r = 0;

	memset(e, 0, sizeof(*e));
	for (char **ev = environ; ev && *ev; ev++)
		for (const char *const *k = keep; *k; k++)
			if (!strncmp(*ev, *k, strlen(*k)))
				r = r ? r : add(e, "%s", *ev);
	r = r ? r : add(e, "reason=%s", reason);
	if (gateway && *gateway)
		r = r ? r : add(e, "VPNGATEWAY=%s", gateway);
	r = r ? r : add(e, "VPNPID=%ld", (long)getpid());
	r = r ? r : add(e, "LOG_LEVEL=%d", 1);
	if (tundev)
		r = r ? r : add(e, "TUNDEV=%s", tundev);
	if (!p)
		return r;
	if (p->addr4[0]) {
		struct in_addr a, m;
		int ml = masklen(p->mask4);
		inet_pton(AF_INET, p->addr4, &a);
		inet_pton(AF_INET, p->mask4, &m);
		struct in_addr net = { a.s_addr & m.s_addr };
		char nb[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &net, nb, sizeof(nb));
		r = r ? r : add(e, "INTERNAL_IP4_ADDRESS=%s", p->addr4);
		r = r ? r : add(e, "INTERNAL_IP4_NETMASK=%s", p->mask4);
		if (ml >= 0)
			r = r ? r : add(e, "INTERNAL_IP4_NETMASKLEN=%d", ml);
		r = r ? r : add(e, "INTERNAL_IP4_NETADDR=%s", nb);
	}
	r = r ? r : add(e, "INTERNAL_IP4_MTU=%u", p->mtu);
	if (p->n_dns) {
		char v4[TR_AC_LIST_MAX * (INET6_ADDRSTRLEN + 1)] = "";
		char v6[sizeof(v4)] = "";
		for (unsigned i = 0; i < p->n_dns; i++) {
			char *dst = strchr(p->dns[i], ':') ? v6 : v4;
			if (*dst)
				strcat(dst, " ");
			strcat(dst, p->dns[i]);
		}
		if (*v4)
			r = r ? r : add(e, "INTERNAL_IP4_DNS=%s", v4);
		if (*v6)
			r = r ? r : add(e, "INTERNAL_IP6_DNS=%s", v6);
	}
	if (p->default_domain[0])
		r = r ? r : add(e, "CISCO_DEF_DOMAIN=%s", p->default_domain);
	if (p->banner[0])
		r = r ? r : add(e, "CISCO_BANNER=%s", p->banner);
	if (p->idle_timeout > 0)
		r = r ? r : add(e, "IDLE_TIMEOUT=%d", p->idle_timeout);
	struct { const char *name; const char (*list)[INET6_ADDRSTRLEN + 20]; unsigned n; } v4l[] = {
		{ "CISCO_SPLIT_INC", p->split_inc, p->n_split_inc },
		{ "CISCO_SPLIT_EXC", p->split_exc, p->n_split_exc },
	};
	for (unsigned l = 0; l < 2; l++) {
		unsigned n = 0;
		for (unsigned i = 0; i < v4l[l].n; i++) {
			char a[INET_ADDRSTRLEN], m[INET_ADDRSTRLEN];
			int len;
			if (split_route(v4l[l].list[i], a, m, &len))
				continue;
			r = r ? r : add(e, "%s_%u_ADDR=%s", v4l[l].name, n, a);
			r = r ? r : add(e, "%s_%u_MASK=%s", v4l[l].name, n, m);
			r = r ? r : add(e, "%s_%u_MASKLEN=%d", v4l[l].name, n, len);
			r = r ? r : add(e, "%s_%u_PROTOCOL=0", v4l[l].name, n);
			r = r ? r : add(e, "%s_%u_SPORT=0", v4l[l].name, n);
			r = r ? r : add(e, "%s_%u_DPORT=0", v4l[l].name, n);
			n++;
		}
		if (n)
			r = r ? r : add(e, "%s=%u", v4l[l].name, n);
	}
	if (p->addr6[0]) {
		char a[INET6_ADDRSTRLEN + 4];
		snprintf(a, sizeof(a), "%s", p->addr6);
		char *slash = strchr(a, '/');
		r = r ? r : add(e, "INTERNAL_IP6_NETMASK=%s", p->addr6);
		if (slash)
			*slash = 0;
		r = r ? r : add(e, "INTERNAL_IP6_ADDRESS=%s", a);
	}
	for (unsigned i = 0; i < p->n_split_inc6; i++) {
		char a[INET6_ADDRSTRLEN + 4];
		snprintf(a, sizeof(a), "%s", p->split_inc6[i]);
		char *slash = strchr(a, '/');
		if (!slash)
			continue;
		*slash++ = 0;
		r = r ? r : add(e, "CISCO_IPV6_SPLIT_INC_%u_ADDR=%s", i, a);
		r = r ? r : add(e, "CISCO_IPV6_SPLIT_INC_%u_MASKLEN=%s", i, slash);
	}
	if (p->n_split_inc6)
		r = r ? r : add(e, "CISCO_IPV6_SPLIT_INC=%u", p->n_split_inc6);
	return r;
}

int tr_ac_script_run(const char *script, const struct tr_ac_env *e, int timeout_s)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* The script's output goes where ours does; stdin is not its. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* The root helper ignores the stop signals, the session
		 * SIGPIPE; an ignored signal stays ignored across exec, in the
		 * script and all it starts (a pipeline's writer would not end). */
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execle(script, script, (char *)NULL, e->v);
		_exit(127);
	}
	for (int waited = 0; waited < timeout_s * 20; waited++) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (w < 0 && errno != EINTR)
			return -errno;
		nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -ETIMEDOUT;
}

/* The helper's life: one byte in, the script's status out. */
static void helper_main(int fd, const char *script, const struct tr_ac_env *reconnect,
			const struct tr_ac_env *disconnect, int timeout_s)
{
	/* Ctrl-C reaches the whole process group; the helper must outlive
	 * it to run disconnect. It ends on 'D' or when the session's end of
	 * the socket closes. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	for (;;) {
		char c = 'D';
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			c = 'D';
		int r = tr_ac_script_run(script, c == 'R' ? reconnect : disconnect, timeout_s);
		unsigned char st = r < 0 ? 255 : (unsigned char)r;
		if (write(fd, &st, 1) != 1) {
			/* the session is gone; nothing to tell */
		}
		if (c != 'R')
			_exit(0);
	}
}

int tr_ac_script_helper_start(struct tr_ac_script_helper *h, const char *script,
			      const struct tr_ac_env *reconnect, const struct tr_ac_env *disconnect,
			      int timeout_s)
{
	int sv[2];

	h->fd = -1;
	h->pid = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fflush(NULL);
	h->pid = fork();
	if (h->pid < 0) {
		int err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (h->pid == 0) {
		/* Nothing of the session's but this socket: no TUN descriptor,
		 * no TLS socket, no control socket. */
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		/* dup2 clears close-on-exec: the script (root) must not
		 * inherit the socket to the unprivileged session. */
		fcntl(3, F_SETFD, FD_CLOEXEC);
		closefrom(4);
		helper_main(3, script, reconnect, disconnect, timeout_s);
		_exit(0);
	}
	close(sv[1]);
	h->fd = sv[0];
	return 0;
}

int tr_ac_script_helper_run(struct tr_ac_script_helper *h, char reason, int timeout_s)
{
	unsigned char st;
	int r;

	if (h->fd < 0)
		return -ENOTCONN;
	/* A helper that died must not end us by SIGPIPE: an error, said. */
	if (send(h->fd, &reason, 1, MSG_NOSIGNAL) != 1) {
		r = -EPIPE;
		goto out;
	}
	struct pollfd p = { .fd = h->fd, .events = POLLIN };
	/* The helper kills a script at its timeout_s and answers then: wait
	 * past that, so that the answer, not our giving up, ends the wait (a
	 * closed socket is the helper's cue to run disconnect). */
	r = poll(&p, 1, timeout_s * 1000 + HELPER_MARGIN_MS);
	if (r <= 0) {
		r = r ? -errno : -ETIMEDOUT;
		goto out;
	}
	r = read(h->fd, &st, 1) == 1 ? st : -EPIPE;
	if (reason == 'R')
		return r;
out:
	close(h->fd);
	h->fd = -1;
	if (h->pid > 0) {
		int status;
		/* A helper that did not answer in time is left to finish its
		 * script: it exits after it (its socket is closed). */
		waitpid(h->pid, &status, r == -ETIMEDOUT ? WNOHANG : 0);
	}
	h->pid = -1;
	return r;
}
