/* SPDX-License-Identifier: MIT */
/* Routes = and Table =, and the policy routing of a default route: route.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config/config.h"
#include "engine/netlink.h"
#include "tunnel/route.h"

#define TABLE_MAIN 254u

void tr_route_plan(const struct tr_config *cfg, struct tr_route_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->mark = cfg->fwmark;
	if (cfg->table == TR_CONFIG_TABLE_OFF)
		return;
	p->table = cfg->table == TR_CONFIG_TABLE_AUTO ? TABLE_MAIN : cfg->table;
	if (cfg->table != TR_CONFIG_TABLE_AUTO)
		return;
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		if (cfg->routes[i].prefix)
			continue;
		p->policy4 |= cfg->routes[i].family == AF_INET;
		p->policy6 |= cfg->routes[i].family == AF_INET6;
	}
	if (!p->policy4 && !p->policy6)
		return;
	/* As wg-quick: the table is the mark, FwMark if set, else the port. */
	p->policy_table = cfg->fwmark ? cfg->fwmark : tr_sockaddr_port(&cfg->listen);
	if (p->policy_table == TABLE_MAIN || p->policy_table == 253 || p->policy_table == 255)
		p->policy_table += 1000;
	p->mark = p->policy_table;
}

/* The two rules per family: unmarked packets look in the tunnel's table;
 * the main table is asked first but its default routes are ignored (so
 * its more specific routes, the LAN, still win). */
static void rules_of(const struct tr_route_plan *p, int family, struct tr_nl_rule r[2])
{
	r[0] = (struct tr_nl_rule){ .family = family, .table = p->policy_table, .fwmark = p->mark,
				    .invert = true, .suppress_prefixlen = -1 };
	r[1] = (struct tr_nl_rule){ .family = family, .table = TABLE_MAIN,
				    .suppress_prefixlen = 0 };
}

static void rules_del(struct tr_nl *nl, const struct tr_route_plan *p)
{
	struct tr_nl_rule r[2];

	for (int f = 0; f < 2; f++) {
		if (!(f ? p->policy6 : p->policy4))
			continue;
		rules_of(p, f ? AF_INET6 : AF_INET, r);
		tr_nl_rule_del(nl, &r[0]);
		tr_nl_rule_del(nl, &r[1]);
	}
}

/* The cleanup helper: waits for the tunnel to end (its end of the pipe
 * closes with the process, even on SIGKILL), then removes the rules. It
 * keeps no descriptor of the tunnel's but keep_fd and the pipe. */
static void helper(int rd, int keep_fd, const struct tr_route_plan *p)
{
	int lo = rd < keep_fd ? rd : keep_fd, hi = rd < keep_fd ? keep_fd : rd;
	char c;

	syscall(SYS_close_range, 3u, (unsigned)lo - 1, 0u);
	syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0u);
	syscall(SYS_close_range, (unsigned)hi + 1, ~0u, 0u);
	/* Nor the terminal or pipe `up` was started from: a caller reading
	 * up's output to its end would otherwise wait for this process. */
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2 && null != rd && null != keep_fd)
			close(null);
	}
	prctl(PR_SET_NAME, "tunroom-rules");
	/* A service manager signals the whole group when it stops the
	 * tunnel: this one leaves when the tunnel has. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	while (read(rd, &c, 1) < 0 && errno == EINTR)
		;
	struct tr_nl *nl;
	if (!tr_nl_open(&nl)) {
		rules_del(nl, p);
		tr_nl_close(nl);
	}
	_exit(0);
}

int tr_route_apply(const struct tr_config *cfg, const struct tr_route_plan *p, const char *dev,
		   int keep_fd)
{
	struct tr_nl *nl;
	int ifindex, err;
	unsigned added = 0;

	if (!p->table || !cfg->n_routes)
		return 0;
	if ((err = tr_nl_open(&nl)))
		goto out_said;
	if ((err = tr_nl_link_index(nl, dev, &ifindex)))
		goto out;
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		const struct tr_config_addr *a = &cfg->routes[i];
		struct tr_ip_prefix dst = { .family = a->family, .len = a->prefix };
		uint32_t table = !a->prefix && p->policy_table ? p->policy_table : p->table;
		char ip[INET6_ADDRSTRLEN];

		memcpy(&dst.addr, &a->v6, a->family == AF_INET ? 4 : 16);
		err = tr_nl_route_add(nl, ifindex, &dst, table);
		if (err == -EEXIST) /* the device's own prefix route, say */
			err = 0;
		if (err) {
			fprintf(stderr, "tunroom: %s: route %s/%u dev %s table %u: %s\n", cfg->name,
				inet_ntop(a->family, &a->v6, ip, sizeof(ip)), a->prefix, dev, table,
				strerror(-err));
			goto out;
		}
		added++;
	}
	if (p->policy_table) {
		int pfd[2];
		struct tr_nl_rule r[2];

		for (int f = 0; f < 2; f++) {
			if (!(f ? p->policy6 : p->policy4))
				continue;
			rules_of(p, f ? AF_INET6 : AF_INET, r);
			for (int k = 0; k < 2; k++) {
				err = tr_nl_rule_add(nl, &r[k]);
				if (err && err != -EEXIST) {
					fprintf(stderr, "tunroom: %s: policy rule for the default route: "
						"%s\n", cfg->name, strerror(-err));
					rules_del(nl, p);
					goto out;
				}
			}
		}
		/* As wg-quick: the reverse-path filter must see the mark, or
		 * strict rp_filter drops the peer's datagrams (their reverse
		 * route, unmarked, would be the tunnel). Left set afterwards,
		 * as wg-quick leaves it. */
		if (p->policy4) {
			int fd = open("/proc/sys/net/ipv4/conf/all/src_valid_mark", O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, "1", 1) != 1)
				fprintf(stderr, "tunroom: %s: net.ipv4.conf.all.src_valid_mark = 1: %s "
					"(with strict rp_filter the peer's datagrams may be dropped)\n",
					cfg->name, strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		if (pipe2(pfd, O_CLOEXEC) < 0) {
			err = -errno;
			rules_del(nl, p);
			goto out;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			close(pfd[1]);
			helper(pfd[0], keep_fd, p);
		}
		close(pfd[0]);
		if (pid < 0) {
			err = -errno;
			close(pfd[1]);
			rules_del(nl, p);
			goto out;
		}
		/* pfd[1] stays open for the life of the process, on purpose. */
		fprintf(stderr, "tunroom: %s: default route through the tunnel in table %u; the "
			"tunnel's own datagrams carry mark %u and keep the main table's routes "
			"(rules removed when the tunnel ends)\n", cfg->name, p->policy_table, p->mark);
	}
	fprintf(stderr, "tunroom: %s: %u route(s) through %s\n", cfg->name, added, dev);
	err = 0;
out:
	tr_nl_close(nl);
	return err;
out_said:
	fprintf(stderr, "tunroom: %s: routes: netlink: %s\n", cfg->name, strerror(-err));
	return err;
}
