/* SPDX-License-Identifier: MIT */
/*
 * Which inner source addresses the peer may use (PeerAddresses), as
 * WireGuard's AllowedIPs filters: the prefixes given, or else the networks of
 * our own Address prefixes (a point-to-point /30 or /64 holds the peer's
 * tunnel address). Our own addresses are never the peer's. The rx thread
 * checks every decapsulated packet against this table (rx.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "tunnel/dataplane.h"
#include "tunnel/filter.h"

static void to_prefix(const struct tr_config_addr *a, uint8_t len, struct tr_prefix *x)
{
	unsigned n = a->family == AF_INET ? 4 : 16;

	memset(x, 0, sizeof(*x));
	x->family = a->family == AF_INET ? 4 : 6;
	x->len = len;
	memcpy(x->addr, &a->v4, n);
	for (unsigned i = 0; i < n; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;
		x->mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
		x->addr[i] &= x->mask[i];
	}
}

static void say(const struct tr_config *cfg, const struct tr_tunnel *t, const char *how)
{
	if (!t->tell)
		return; /* every queue has the same table: said once */
	char line[1024];
	size_t used = 0;

	line[0] = '\0';
	for (unsigned i = 0; i < t->n_src_ok && used < sizeof(line) - 64; i++) {
		char ip[INET6_ADDRSTRLEN];
		const struct tr_prefix *x = &t->src_ok[i];

		inet_ntop(x->family == 4 ? AF_INET : AF_INET6, x->addr, ip, sizeof(ip));
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s/%u", used ? ", " : "",
					 ip, x->len);
	}
	fprintf(stderr, "tunroom: %s: inner sources accepted from the peer (%s): %s\n", cfg->name,
		how, used ? line : "none: set PeerAddresses");
}

void tr_filter_setup(struct tr_tunnel *t, const struct tr_config *cfg, bool tell)
{
	t->n_src_ok = t->n_src_own = 0;
	t->tell = tell;
	for (unsigned i = 0; i < cfg->n_addr; i++)
		to_prefix(&cfg->addr[i], cfg->addr[i].family == AF_INET ? 32 : 128,
			  &t->src_own[t->n_src_own++]);
	if (cfg->n_peer_addr) {
		for (unsigned i = 0; i < cfg->n_peer_addr && i < TR_TUNNEL_PREFIX_MAX; i++)
			to_prefix(&cfg->peer_addr[i], cfg->peer_addr[i].prefix, &t->src_ok[t->n_src_ok++]);
		say(cfg, t, "PeerAddresses");
		return;
	}
	if (!cfg->n_addr && !cfg->n_routes) {
		/* Nothing to derive from: addresses come from elsewhere. */
		struct tr_config_addr any4 = { .family = AF_INET }, any6 = { .family = AF_INET6 };
		to_prefix(&any4, 0, &t->src_ok[t->n_src_ok++]);
		to_prefix(&any6, 0, &t->src_ok[t->n_src_ok++]);
		say(cfg, t, "no Address and no PeerAddresses: not filtered");
		return;
	}
	bool v6 = false;
	for (unsigned i = 0; i < cfg->n_addr; i++) {
		const struct tr_config_addr *a = &cfg->addr[i];
		v6 |= a->family == AF_INET6;
		if (a->prefix < (a->family == AF_INET ? 32 : 128))
			to_prefix(a, a->prefix, &t->src_ok[t->n_src_ok++]);
	}
	/* The tunnel is a link: IPv6 speaks on it from link-local addresses
	 * (neighbour discovery, MLD, routing protocols), and from :: while it
	 * has none yet (duplicate address detection, RFC 4862 §5.4.2). */
	if (v6) {
		struct tr_config_addr ll = { .family = AF_INET6 }, none = { .family = AF_INET6 };
		ll.v6.s6_addr[0] = 0xfe;
		ll.v6.s6_addr[1] = 0x80;
		to_prefix(&ll, 10, &t->src_ok[t->n_src_ok++]);
		to_prefix(&none, 128, &t->src_ok[t->n_src_ok++]);
	}
	/* What we route to the peer may answer from there (AllowedIPs). */
	for (unsigned i = 0; i < cfg->n_routes && t->n_src_ok < TR_TUNNEL_PREFIX_MAX; i++)
		to_prefix(&cfg->routes[i], cfg->routes[i].prefix, &t->src_ok[t->n_src_ok++]);
	say(cfg, t, "the networks of Address and Routes; PeerAddresses sets others");
}
