/* SPDX-License-Identifier: MIT */
/*
 * What needs the whole file: required keys, key lengths per cipher, the two
 * directions told apart, families that match, and the derived defaults (MTU,
 * ring size, listen address). Runs once, after the last line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config/config_int.h"

static const struct tr_config_key *const keys = tr_config_keys;
static const char *const *const section_names = tr_config_section_names;

/* The line a key was set on, or of its section header, or of the last line. */
static unsigned where(const struct tr_config_ctx *ctx, enum tr_config_key_id id)
{
	if (ctx->key_line[id])
		return ctx->key_line[id];
	if (ctx->section_line[keys[id].section])
		return ctx->section_line[keys[id].section];
	return ctx->line;
}

static int need(struct tr_config_ctx *ctx, enum tr_config_key_id id, const char *example)
{
	if (ctx->key_line[id])
		return 0;
	return fail_at(ctx, where(ctx, id), "[%s] has no '%s'; add e.g. '%s = %s'",
		       section_names[keys[id].section], keys[id].name, keys[id].name, example);
}

static int check_dir(struct tr_config_ctx *ctx, enum tr_esp_cipher c,
		     const struct tr_config_sa_dir *d, enum tr_config_key_id key, enum tr_config_key_id auth)
{
	const char *name = tr_esp_cipher_name(c);
	uint32_t key_len = tr_esp_key_len(c), auth_len = tr_esp_auth_key_len(c);

	if (d->key_len != key_len)
		return fail_at(ctx, where(ctx, key), "'%s' is %zu bytes; %s needs %u%s "
			       "(run 'tunroom genkey %s')", keys[key].name, d->key_len, name,
			       key_len, auth_len ? "" : ": AES key then 4-byte salt, "
			       "RFC 4106 §8.1", name);
	if (!auth_len && ctx->key_line[auth])
		return fail_at(ctx, where(ctx, auth), "'%s' is only for CBC ciphers; %s "
			       "authenticates with '%s' (remove the line)", keys[auth].name,
			       name, keys[key].name);
	if (auth_len && !ctx->key_line[auth])
		return fail_at(ctx, where(ctx, auth), "%s needs '%s' (%u bytes of hex; run "
			       "'tunroom genkey %s')", name, keys[auth].name, auth_len, name);
	if (d->auth_key_len != auth_len)
		return fail_at(ctx, where(ctx, auth), "'%s' is %zu bytes; %s needs %u "
			       "(run 'tunroom genkey %s')", keys[auth].name, d->auth_key_len,
			       name, auth_len, name);
	return 0;
}

static const char *addr_str(const struct tr_config_addr *a, char *buf, size_t len)
{
	return inet_ntop(a->family, &a->v6, buf, (socklen_t)len) ? buf : "?";
}

/* Whether the prefix a/len holds the host of e. */
static bool prefix_holds(const struct tr_config_addr *a, const union tr_sockaddr *e)
{
	const uint8_t *p = (const uint8_t *)&a->v6, *h;

	if (a->family != e->sa.sa_family)
		return false;
	h = a->family == AF_INET ? (const uint8_t *)&e->in.sin_addr
				 : (const uint8_t *)&e->in6.sin6_addr;
	for (unsigned bit = 0; bit < a->prefix; bit++) {
		uint8_t m = (uint8_t)(0x80u >> (bit % 8));
		if ((p[bit / 8] & m) != (h[bit / 8] & m))
			return false;
	}
	return true;
}

int tr_config_finish(struct tr_config_ctx *ctx)
{
	struct tr_config *cfg = ctx->cfg;
	const char *cipher;
	int r, fam;

	if (!ctx->section_line[SEC_INTERFACE])
		return fail(ctx, "no [Interface] section; the file needs [Interface] and [SA]");
	if (!ctx->section_line[SEC_SA])
		return fail(ctx, "no [SA] section; the file needs [Interface] and [SA]");
	if ((r = need(ctx, K_NAME, "tr0")) || (r = need(ctx, K_CIPHER, "aes128-gcm")) ||
	    (r = need(ctx, K_ENDPOINT, "192.0.2.2:4500")) ||
	    (r = need(ctx, K_OUT_SPI, "0x00001001")) || (r = need(ctx, K_OUT_KEY, "0x...")) ||
	    (r = need(ctx, K_IN_SPI, "0x00001002")) || (r = need(ctx, K_IN_KEY, "0x...")))
		return r;

	cipher = tr_esp_cipher_name(cfg->cipher);
	if ((r = check_dir(ctx, cfg->cipher, &cfg->out, K_OUT_KEY, K_OUT_AUTH_KEY)) ||
	    (r = check_dir(ctx, cfg->cipher, &cfg->in, K_IN_KEY, K_IN_AUTH_KEY)))
		return r;
	/* Same key both ways: GCM would reuse nonces across the two senders
	 * (RFC 4106 §3.1 needs them unique per key) and a reflected packet would
	 * authenticate. */
	if (!CRYPTO_memcmp(cfg->out.key, cfg->in.key, tr_esp_key_len(cfg->cipher)))
		return fail_at(ctx, where(ctx, K_IN_KEY), "'InKey' equals 'OutKey' (line %u); each "
			       "direction needs its own key (run 'tunroom genkey %s')",
			       where(ctx, K_OUT_KEY), cipher);
	if (cfg->out.spi == cfg->in.spi)
		return fail_at(ctx, where(ctx, K_IN_SPI), "'InSPI' equals 'OutSPI' (line %u); "
			       "give each direction its own SPI", where(ctx, K_OUT_SPI));
	/* Queues = N: queue q uses SPI + q each way (src/tunnel/queues.h). */
	if (cfg->queues > 1) {
		uint64_t o = cfg->out.spi, i = cfg->in.spi, n = cfg->queues;
		if (o + n - 1 > UINT32_MAX || i + n - 1 > UINT32_MAX || (o < i + n && i < o + n))
			return fail_at(ctx, where(ctx, K_IN_SPI), "Queues = %u uses SPIs OutSPI to "
				       "OutSPI+%u and InSPI to InSPI+%u; these ranges overlap or pass "
				       "0xffffffff: move InSPI or OutSPI (line %u) apart",
				       cfg->queues, cfg->queues - 1, cfg->queues - 1,
				       where(ctx, K_OUT_SPI));
	}

	/* One thread for both directions sleeps on the TUN queue itself: only
	 * a session run to completion has it to offer. */
	if (cfg->workers == 1 && !cfg->inline_io) {
		if (ctx->key_line[K_WORKERS])
			return fail_at(ctx, where(ctx, K_WORKERS), "'Workers = 1' needs 'Inline = on' "
				       "(line %u): one thread per queue does the TUN I/O itself",
				       where(ctx, K_INLINE));
		cfg->workers = 2; /* the default follows Inline = off */
	}

	if (cfg->offload && !ctx->key_line[K_RING_CAPACITY])
		cfg->ring_capacity = TR_CONFIG_RING_OFFLOAD_DEFAULT;

	fam = cfg->endpoint.sa.sa_family;
	if (ctx->key_line[K_LISTEN_ADDRESS]) {
		if (cfg->listen.sa.sa_family != fam)
			return fail_at(ctx, where(ctx, K_LISTEN_ADDRESS), "'ListenAddress' is %s "
				       "but 'Endpoint' (line %u) is %s; both ends of the UDP "
				       "path must be the same family",
				       cfg->listen.sa.sa_family == AF_INET ? "IPv4" : "IPv6",
				       where(ctx, K_ENDPOINT), fam == AF_INET ? "IPv4" : "IPv6");
	} else {
		uint16_t port = tr_sockaddr_port(&cfg->listen);
		memset(&cfg->listen, 0, sizeof(cfg->listen));
		cfg->listen.sa.sa_family = (sa_family_t)fam;
		if (fam == AF_INET6)
			cfg->listen.in6.sin6_addr = in6addr_any;
		tr_sockaddr_set_port(&cfg->listen, port);
	}

	/* The underlay must stay outside the tunnel: an Address prefix that
	 * holds the Endpoint routes the tunnel's own datagrams into itself. */
	for (unsigned i = 0; i < cfg->n_addr; i++) {
		const struct tr_config_addr *a = &cfg->addr[i];
		const union tr_sockaddr *ends[2] = { &cfg->endpoint, &cfg->listen };
		for (int e = 0; e < 2; e++) {
			if (e == 1 && !ctx->key_line[K_LISTEN_ADDRESS])
				continue;
			if (!prefix_holds(a, ends[e]))
				continue;
			char ip[64];
			return fail_at(ctx, where(ctx, K_ADDRESS), "'Address' %s/%u holds the %s "
				       "%s (line %u): the route to the tunnel's network would carry "
				       "the tunnel's own datagrams into it; use a tunnel network apart "
				       "from the underlay (e.g. 198.18.0.0/30)",
				       addr_str(a, ip, sizeof(ip)), a->prefix,
				       e ? "ListenAddress" : "Endpoint",
				       tr_sockaddr_str(ends[e], (char[64]){ 0 }, 64),
				       where(ctx, e ? K_LISTEN_ADDRESS : K_ENDPOINT));
		}
	}
	if (ctx->key_line[K_LISTEN_ADDRESS] && tr_sockaddr_equal(&cfg->listen, &cfg->endpoint))
		return fail_at(ctx, where(ctx, K_ENDPOINT), "'Endpoint' is our own ListenAddress "
			       "and ListenPort (line %u): it must be the peer's", where(ctx,
			       K_LISTEN_ADDRESS));

	unsigned v6_line = 0;
	for (unsigned i = 0; i < cfg->n_addr && !v6_line; i++)
		if (cfg->addr[i].family == AF_INET6)
			v6_line = where(ctx, K_ADDRESS);
	uint32_t max_mtu = tr_config_mtu_for(cfg->cipher, fam, 65535 + (fam == AF_INET6 ? 40 : 0));
	if (!ctx->key_line[K_MTU]) {
		cfg->mtu = tr_config_mtu_for(cfg->cipher, fam, cfg->outer_mtu);
		cfg->mtu_derived = true;
		unsigned min = v6_line ? TR_CONFIG_MTU_MIN_V6 : TR_CONFIG_MTU_MIN;
		if (cfg->mtu < min)
			return fail_at(ctx, where(ctx, K_OUTER_MTU), "'OuterMTU' %u leaves an inner "
				       "MTU of %u after %s overhead, below the %u that %s needs; "
				       "raise OuterMTU", cfg->outer_mtu, cfg->mtu, cipher, min,
				       v6_line ? "IPv6 (RFC 8200 §5)" : "IPv4 (RFC 791)");
	} else {
		if (v6_line && cfg->mtu < TR_CONFIG_MTU_MIN_V6)
			return fail_at(ctx, where(ctx, K_MTU), "'MTU' %u is below 1280, the IPv6 "
				       "minimum (RFC 8200 §5), and Address on line %u is IPv6; raise "
				       "MTU", cfg->mtu, v6_line);
		if (cfg->mtu > max_mtu)
			return fail_at(ctx, where(ctx, K_MTU), "'MTU' %u plus %s overhead exceeds a "
				       "65535-byte UDP datagram; use at most %u", cfg->mtu,
				       cipher, max_mtu);
	}
	return 0;
}

