/* SPDX-License-Identifier: MIT */
/*
 * One parser per key: the syntax of every value, the key table that maps a
 * name to its section and parser, and the FILE:LINE message of a bad value.
 * Key material is never echoed back in a message.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_int.h"
#include "tunroom/ring_abi.h"
#include "tunroom/tunroom.h"

const char *const tr_config_section_names[SEC_COUNT] = { "", "Interface", "SA" };

int tr_config_fail_at(struct tr_config_ctx *ctx, unsigned line, const char *fmt, ...)
{
	va_list ap;
	/* Line 0: about the file as a whole (an empty one, say). */
	int n = line ? snprintf(ctx->err, sizeof(ctx->err), "%s:%u: ", ctx->file, line)
		     : snprintf(ctx->err, sizeof(ctx->err), "%s: ", ctx->file);

	if (n < 0 || (size_t)n >= sizeof(ctx->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, sizeof(ctx->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Decimal (or 0x hex when hex_ok) into *out; no sign, no spaces, no overflow. */
static int parse_u64(const char *s, bool hex_ok, uint64_t *out)
{
	char *end;
	int base = 10;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (!hex_ok || !isxdigit((unsigned char)s[2]))
			return -EINVAL;
		base = 16;
	}
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_range(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val,
		       uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(val, false, &v) || v < min || v > max)
		return fail(ctx, "'%s' must be a whole number from %llu to %llu, got '%.64s'",
			    k->name, (unsigned long long)min, (unsigned long long)max, val);
	*out = (uint32_t)v;
	return 0;
}

/* Byte counts take an optional K, M or G suffix (powers of 1024). */
static int parse_size(const char *val, uint64_t *out)
{
	char num[32];
	size_t n = strlen(val);
	unsigned shift = 0;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, val, n + 1);
	switch (toupper((unsigned char)num[n - 1])) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	}
	if (shift)
		num[n - 1] = '\0';
	uint64_t v;
	if (parse_u64(num, false, &v) || v > (UINT64_MAX >> 30))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

static int parse_bool(const char *val, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (unsigned i = 0; i < 4; i++) {
		if (!strcasecmp(val, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(val, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* An IPv4 or IPv6 literal, IPv6 optionally in brackets. */
static int parse_ip(const char *val, union tr_sockaddr *sa)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 4];
	size_t n = strlen(val);

	if (n >= sizeof(buf))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, val, &sa->in.sin_addr) == 1) {
		sa->in.sin_family = AF_INET;
		return 0;
	}
	if (val[0] == '[' && n > 2 && val[n - 1] == ']') {
		memcpy(buf, val + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		memcpy(buf, val, n + 1);
	}
	/* A zone (fe80::2%eth0, RFC 4007 §11): only link-local addresses have
	 * one, and it names the interface, or its index. */
	char *zone = strchr(buf, '%');
	unsigned scope = 0;
	if (zone) {
		*zone++ = '\0';
		char *end;
		unsigned long v = strtoul(zone, &end, 10);
		if (*zone && !*end && v && v <= UINT32_MAX)
			scope = (unsigned)v;
		else if (!*zone || !(scope = if_nametoindex(zone)))
			return -ENODEV;
	}
	if (inet_pton(AF_INET6, buf, &sa->in6.sin6_addr) == 1) {
		sa->in6.sin6_family = AF_INET6;
		if (zone && !IN6_IS_ADDR_LINKLOCAL(&sa->in6.sin6_addr))
			return -EINVAL;
		sa->in6.sin6_scope_id = scope;
		return 0;
	}
	return -EINVAL;
}

static bool ip_unspecified(const union tr_sockaddr *sa)
{
	if (sa->sa.sa_family == AF_INET)
		return sa->in.sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&sa->in6.sin6_addr);
}

static bool ip_multicast(const union tr_sockaddr *sa)
{
	if (sa->sa.sa_family == AF_INET)
		return IN_MULTICAST(ntohl(sa->in.sin_addr.s_addr)) ||
		       sa->in.sin_addr.s_addr == htonl(INADDR_BROADCAST);
	return IN6_IS_ADDR_MULTICAST(&sa->in6.sin6_addr);
}

bool tr_config_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}


/* ---- one parser per key ---- */

static int p_name(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (!tr_config_name_ok(val))
		return fail(ctx, "'%s' must be 1 to %d letters, digits, '-', '_' or '.', got '%.64s' "
			    "(it names the TUN device and /run/tunroom/NAME.sock)",
			    k->name, IFNAMSIZ - 1, val);
	strcpy(ctx->cfg->name, val);
	return 0;
}

static int parse_one_address(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	struct tr_config *cfg = ctx->cfg;
	bool routes = !strcasecmp(k->name, "Routes");
	/* PeerAddresses and Routes are networks; Address is this end's. */
	bool peer = routes || !strcasecmp(k->name, "PeerAddresses");
	struct tr_config_addr *list = routes ? cfg->routes : peer ? cfg->peer_addr : cfg->addr;
	unsigned *n_list = routes ? &cfg->n_routes : peer ? &cfg->n_peer_addr : &cfg->n_addr;
	unsigned cap = peer ? TR_CONFIG_PEER_ADDR_MAX : TR_CONFIG_ADDR_MAX;
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(val, '/');
	size_t iplen = slash ? (size_t)(slash - val) : strlen(val);
	struct tr_config_addr a = { 0 };
	unsigned max;

	if (*n_list == cap)
		return fail(ctx, "too many '%s' entries, at most %u", k->name, cap);
	if (strpbrk(val, " \t"))
		return fail(ctx, "'%s' '%.64s' holds a space; separate addresses with commas or "
			    "repeat the key", k->name, val);
	if (iplen == 0 || iplen >= sizeof(ip))
		goto bad;
	memcpy(ip, val, iplen);
	ip[iplen] = '\0';
	if (inet_pton(AF_INET, ip, &a.v4) == 1) {
		a.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, ip, &a.v6) == 1) {
		a.family = AF_INET6;
		max = 128;
	} else {
		goto bad;
	}
	a.prefix = (uint8_t)max;
	if (slash) {
		uint64_t p;
		if (parse_u64(slash + 1, false, &p) || p > max)
			return fail(ctx, "'%s' prefix length in '%.64s' must be 0 to %u",
				    k->name, val, max);
		a.prefix = (uint8_t)p;
	}
	if (!peer) {
		union tr_sockaddr sa = { 0 };
		sa.sa.sa_family = (sa_family_t)a.family;
		if (a.family == AF_INET)
			sa.in.sin_addr = a.v4;
		else
			sa.in6.sin6_addr = a.v6;
		if (ip_unspecified(&sa))
			return fail(ctx, "'%s' %.64s is the unspecified address, which no host "
				    "has; give this end's tunnel address, e.g. 198.18.0.1/30",
				    k->name, val);
		if (ip_multicast(&sa))
			return fail(ctx, "'%s' %.64s is a multicast or broadcast address; give "
				    "a unicast address", k->name, val);
		uint32_t h = ntohl(a.v4.s_addr), host = a.prefix < 32 ? ~0u >> a.prefix : 0;
		if (a.family == AF_INET && a.prefix < 31 && (h & host) == host)
			return fail(ctx, "'%s' %.64s is the broadcast address of its /%u; give "
				    "a host address of it", k->name, val, a.prefix);
		for (unsigned i = 0; i < *n_list; i++)
			if (list[i].family == a.family &&
			    !memcmp(&list[i].v6, &a.v6, a.family == AF_INET ? 4 : 16))
				return fail(ctx, "'%s' %.64s is given twice (the kernel takes an "
					    "address once per device); remove one", k->name, val);
	}
	if (peer) {
		/* A prefix names a network: host bits set are a typo. */
		struct tr_config_addr net = a;
		uint8_t *b = (uint8_t *)&net.v4;
		bool host_bits = false;
		for (unsigned bit = a.prefix; bit < max; bit++)
			if (b[bit / 8] & (0x80u >> (bit % 8))) {
				b[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
				host_bits = true;
			}
		if (host_bits) {
			/* Name the network the user most likely meant. */
			inet_ntop(a.family, &net.v4, ip, sizeof(ip));
			return fail(ctx, "'%s' '%.64s' has host bits set beyond /%u; write the "
				    "network: %s/%u", k->name, val, a.prefix, ip, a.prefix);
		}
	}
	list[(*n_list)++] = a;
	return 0;
bad:
	return fail(ctx, "'%s' must be an IPv4 or IPv6 address with an optional /prefix "
		    "(e.g. 198.18.0.1/30 or fd00::1/64), got '%.64s'", k->name, val);
}

/* Repeatable, and also a comma-separated list on one line. */
static int p_address(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	char buf[TR_CONFIG_LINE_MAX + 1];
	char *save = NULL;
	unsigned n = 0;

	snprintf(buf, sizeof(buf), "%s", val);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		int r = parse_one_address(ctx, k, tok);
		if (r)
			return r;
		n++;
	}
	/* Only commas: the line would count as set and hold nothing (an
	 * empty PeerAddresses then left the filter to Address's networks). */
	if (!n)
		return fail(ctx, "'%s' lists no address, only commas; give at least one, e.g. "
			    "198.18.0.1/30", k->name);
	return 0;
}

static int p_mtu(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	ctx->cfg->mtu_derived = false;
	return parse_range(ctx, k, val, TR_CONFIG_MTU_MIN, 65535, &ctx->cfg->mtu);
}

static int p_outer_mtu(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	return parse_range(ctx, k, val, 576, 65535, &ctx->cfg->outer_mtu);
}

static int p_listen_address(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	union tr_sockaddr sa;

	int pr = parse_ip(val, &sa);
	if (pr == -ENODEV)
		return fail(ctx, "'%s' %.64s: no such interface for the zone on this host",
			    k->name, val);
	if (pr)
		return fail(ctx, "'%s' must be a local IPv4 or IPv6 address without a port "
			    "(the port goes in ListenPort), got '%.64s'", k->name, val);
	if (ip_multicast(&sa))
		return fail(ctx, "'%s' %.64s is a multicast or broadcast address; use a unicast "
			    "address of this host", k->name, val);
	uint16_t port = tr_sockaddr_port(&ctx->cfg->listen);
	ctx->cfg->listen = sa;
	tr_sockaddr_set_port(&ctx->cfg->listen, port);
	return 0;
}

static int p_listen_port(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	uint32_t port = 0;
	int r = parse_range(ctx, k, val, 1, 65535, &port);

	if (!r)
		tr_sockaddr_set_port(&ctx->cfg->listen, (uint16_t)port);
	return r;
}

/* Offload = on (default): TUN TSO/GRO super-packets cut into slots by the
 * engine, UDP GSO on send, UDP GRO on receive, each as far as the kernel
 * takes it. off: one packet per TUN read/write and per datagram, so the gain
 * can be measured with everything else equal. */
static int p_offload(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (parse_bool(val, &ctx->cfg->offload))
		return fail(ctx, "'%s' must be on or off, got '%.64s'", k->name, val);
	return 0;
}

/* ZeroCopy = off: the copy path OpenConnect pays with Wintun today (one
 * memcpy out of the ring and one into it per packet), so benchmarks can show
 * what zero-copy buys with everything else equal. */
static int p_zero_copy(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (parse_bool(val, &ctx->cfg->zero_copy))
		return fail(ctx, "'%s' must be on or off, got '%.64s'", k->name, val);
	return 0;
}

/* Inline = off: a TUN engine thread per queue between the rings and the
 * device, as a tunroomd client gets, kept so the two can be compared. */
static int p_inline(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (parse_bool(val, &ctx->cfg->inline_io))
		return fail(ctx, "'%s' must be on or off, got '%.64s'", k->name, val);
	return 0;
}

/* IO = plain: TUN reads and writes with read(2)/write(2) instead of
 * io_uring, slower but what valgrind can follow (scripts/valgrind.sh) and a
 * way round a kernel whose io_uring is disabled or broken. */
static int p_io(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (!strcmp(val, "auto"))
		ctx->cfg->plain_io = false;
	else if (!strcmp(val, "plain"))
		ctx->cfg->plain_io = true;
	else
		return fail(ctx, "'%s' must be auto or plain, got '%.64s'", k->name, val);
	return 0;
}

/* Crypto = auto (default): AES-GCM through ipsec-mb where tunroom has it and
 * the CPU suits it, else OpenSSL. openssl: OpenSSL always. The wire is the
 * same either way, so the two ends may differ. */
static int p_crypto(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (!strcmp(val, "auto"))
		ctx->cfg->crypto_openssl = false;
	else if (!strcmp(val, "openssl"))
		ctx->cfg->crypto_openssl = true;
	else
		return fail(ctx, "'%s' must be auto or openssl, got '%.64s'", k->name, val);
	return 0;
}

/* Checksums = partial (default): packets ESP authenticated go to TUN marked
 * checksum-verified (TR_TUNDEV_F_TRUST_CSUM), as kernel WireGuard does after
 * decrypting. full: the engine verifies every TCP checksum before it
 * coalesces segments, and plain packets leave the check to the kernel. */
static int p_checksums(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (!strcmp(val, "partial"))
		ctx->cfg->csum_full = false;
	else if (!strcmp(val, "full"))
		ctx->cfg->csum_full = true;
	else
		return fail(ctx, "'%s' must be full or partial, got '%.64s'", k->name, val);
	return 0;
}

static int p_queues(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	return parse_range(ctx, k, val, 1, TR_CONFIG_QUEUES_MAX, &ctx->cfg->queues);
}

static int p_workers(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	return parse_range(ctx, k, val, 1, 2, &ctx->cfg->workers);
}

static int p_ring_capacity(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	uint64_t v;

	if (parse_size(val, &v) || v < TR_ABI_CAPACITY_MIN || v > TR_ABI_CAPACITY_MAX ||
	    (v & (v - 1)))
		return fail(ctx, "'%s' must be a power of two from %uK to %uM bytes (K and M "
			    "suffixes allowed, e.g. 4M), got '%.64s'", k->name,
			    TR_ABI_CAPACITY_MIN >> 10, TR_ABI_CAPACITY_MAX >> 20, val);
	ctx->cfg->ring_capacity = (uint32_t)v;
	return 0;
}

static int p_socket_buffer(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	uint64_t v;

	if (parse_size(val, &v) || (v != 0 && v < 4096) || v > TR_CONFIG_SOCKBUF_MAX)
		return fail(ctx, "'%s' must be 0 (kernel default) or 4K to 1G bytes, got '%.64s'",
			    k->name, val);
	ctx->cfg->socket_buffer = (uint32_t)v;
	return 0;
}

static int p_cipher(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (tr_config_cipher_parse(val, &ctx->cfg->cipher))
		return fail(ctx, "unknown '%s' '%.64s'; use one of %s", k->name, val,
			    tr_config_cipher_names());
	return 0;
}

static int p_endpoint(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 4];
	const char *colon = strrchr(val, ':');
	union tr_sockaddr sa;
	uint64_t port;

	/* An IPv6 endpoint needs brackets, or its last group reads as a port. */
	if (!colon || (strchr(val, ':') != colon && (val[0] != '[' || colon[-1] != ']')))
		return fail(ctx, "'%s' must be ADDRESS:PORT, IPv6 in brackets "
			    "(192.0.2.2:4500 or [fd00::2]:4500), got '%.64s'", k->name, val);
	if ((size_t)(colon - val) >= sizeof(host))
		return fail(ctx, "'%s' address in '%.64s' is too long", k->name, val);
	memcpy(host, val, (size_t)(colon - val));
	host[colon - val] = '\0';
	int pr = parse_ip(host, &sa);
	if (pr == -ENODEV)
		return fail(ctx, "'%s' %.64s: no such interface for the zone on this host (the "
			    "zone after %% names the link of a link-local address, e.g. "
			    "[fe80::2%%eth0]:4500)", k->name, host);
	if (pr)
		return fail(ctx, "'%s' needs a numeric IPv4 or IPv6 address (host names are not "
			    "resolved; a %%zone only on a link-local fe80:: address), got '%.64s'",
			    k->name, host);
	if (sa.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&sa.in6.sin6_addr) &&
	    !sa.in6.sin6_scope_id)
		return fail(ctx, "'%s' %.64s is link-local: name its link with a zone, e.g. "
			    "[fe80::2%%eth0]:4500", k->name, host);
	if (ip_unspecified(&sa) || ip_multicast(&sa))
		return fail(ctx, "'%s' %.64s is not a unicast peer address", k->name, host);
	if (parse_u64(colon + 1, false, &port) || port < 1 || port > 65535)
		return fail(ctx, "'%s' port must be 1 to 65535, got '%.16s'", k->name, colon + 1);
	tr_sockaddr_set_port(&sa, (uint16_t)port);
	ctx->cfg->endpoint = sa;
	return 0;
}

static int p_spi(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	uint64_t v;

	if (parse_u64(val, true, &v) || v > UINT32_MAX)
		return fail(ctx, "'%s' must be a 32-bit number, hex with 0x or decimal, got '%.64s'",
			    k->name, val);
	/* RFC 4303 §2.1: SPI 0 is reserved for local use and 1..255 by IANA. */
	if (v < 256)
		return fail(ctx, "'%s' %.64s is reserved (RFC 4303 §2.1: 0 to 255); use 256 "
			    "(0x00000100) or more", k->name, val);
	if (!strcasecmp(k->name, "OutSPI"))
		ctx->cfg->out.spi = (uint32_t)v;
	else
		ctx->cfg->in.spi = (uint32_t)v;
	return 0;
}

/* Hex with or without 0x; lengths are checked per cipher in finish. */
static int parse_hex(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val,
		     uint8_t *out, size_t max, size_t *len)
{
	const char *s = val;
	size_t n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return fail(ctx, "'%s' has a non-hex character '%c' at position %zu of the "
				    "value (0x counted); write the key as hex digits, optionally "
				    "after 0x", k->name, isprint((unsigned char)s[i]) ? s[i] : '?',
				    (size_t)(s - val) + i + 1);
	}
	if (n == 0)
		return fail(ctx, "'%s' has no hex digits", k->name);
	if (n % 2)
		return fail(ctx, "'%s' has an odd number of hex digits (%zu); each byte is two "
			    "digits", k->name, n);
	if (n / 2 > max)
		return fail(ctx, "'%s' is %zu bytes, no cipher takes more than %zu "
			    "(run 'tunroom genkey CIPHER' for keys of the right length)",
			    k->name, n / 2, max);
	for (size_t i = 0; i < n / 2; i++) {
		char byte[3] = { s[2 * i], s[2 * i + 1], 0 };
		out[i] = (uint8_t)strtoul(byte, NULL, 16);
	}
	*len = n / 2;
	return 0;
}

static int p_key(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	struct tr_config_sa_dir *d = !strcasecmp(k->name, "OutKey") ? &ctx->cfg->out : &ctx->cfg->in;

	return parse_hex(ctx, k, val, d->key, sizeof(d->key), &d->key_len);
}

static int p_auth_key(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	struct tr_config_sa_dir *d = !strcasecmp(k->name, "OutAuthKey") ? &ctx->cfg->out :
									   &ctx->cfg->in;

	return parse_hex(ctx, k, val, d->auth_key, sizeof(d->auth_key), &d->auth_key_len);
}

static int p_replay(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	uint64_t v;

	/* The codec always checks replay: no 0 = off, as RFC 4303 §3.4.3 would allow. */
	if (parse_u64(val, false, &v) || v < TR_CONFIG_REPLAY_MIN || v > TR_CONFIG_REPLAY_MAX)
		return fail(ctx, "'%s' must be %u to %u packets, got '%.64s'",
			    k->name, TR_CONFIG_REPLAY_MIN, TR_CONFIG_REPLAY_MAX, val);
	ctx->cfg->replay_window = (uint32_t)v;
	return 0;
}

bool tr_config_user_ok(const char *user)
{
	size_t n = strlen(user);

	/* The portable user name set (POSIX 3.437) plus the '$' Samba machine
	 * accounts end in; no leading '-', which tools would take for an option. */
	if (n == 0 || n >= TR_CONFIG_USER_MAX || user[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)user[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.' && !(c == '$' && i == n - 1))
			return false;
	}
	return true;
}

/* User = NAME: whom `tunroom up` runs as once setup is done. Only the syntax
 * here (parsing does not consult the system); `tunroom up` and `up -n` look
 * the name up and say when there is no such user. */
static int p_user(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (!tr_config_user_ok(val))
		return fail(ctx, "'%s' must be a user name of 1 to %d letters, digits, '-', '_' or "
			    "'.', got '%.64s'", k->name, TR_CONFIG_USER_MAX - 1, val);
	strcpy(ctx->cfg->user, val);
	ctx->cfg->user_line = ctx->line;
	return 0;
}

/* PersistentKeepalive = SECONDS: an authentic keepalive after that long
 * without sending (keeps NAT mappings and the peer's liveness view fresh). */
static int p_keepalive(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (!strcasecmp(val, "off")) {
		ctx->cfg->keepalive = 0;
		return 0;
	}
	return parse_range(ctx, k, val, 0, 65535, &ctx->cfg->keepalive);
}

/* FwMark = off | N: the mark of the tunnel's own UDP datagrams (SO_MARK), so
 * that policy routing can send them outside the tunnel. */
static int p_fwmark(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	uint64_t v;

	if (!strcasecmp(val, "off")) {
		ctx->cfg->fwmark = 0;
		return 0;
	}
	if (parse_u64(val, true, &v) || v < 1 || v > UINT32_MAX)
		return fail(ctx, "'%s' must be off or a mark from 1 to 0xffffffff, got '%.64s'",
			    k->name, val);
	ctx->cfg->fwmark = (uint32_t)v;
	return 0;
}

/* Table = auto | off | main | N: where Routes go (wg-quick's Table). */
static int p_table(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	uint64_t v;

	if (!strcasecmp(val, "auto"))
		ctx->cfg->table = TR_CONFIG_TABLE_AUTO;
	else if (!strcasecmp(val, "off"))
		ctx->cfg->table = TR_CONFIG_TABLE_OFF;
	else if (!strcasecmp(val, "main"))
		ctx->cfg->table = 254;
	else if (parse_u64(val, false, &v) || v < 1 || v >= TR_CONFIG_TABLE_OFF || v == 253 ||
		 v == 255)
		return fail(ctx, "'%s' must be auto, off, main or a routing table number (1 to "
			    "4294967294, not 253 default or 255 local), got '%.64s'", k->name, val);
	else
		ctx->cfg->table = (uint32_t)v;
	return 0;
}

static int p_esn(struct tr_config_ctx *ctx, const struct tr_config_key *k, const char *val)
{
	if (parse_bool(val, &ctx->cfg->esn))
		return fail(ctx, "'%s' must be on or off (the same on both ends), got '%.64s'",
			    k->name, val);
	return 0;
}

const struct tr_config_key tr_config_keys[K_COUNT] = {
	[K_NAME]           = { "Name",          SEC_INTERFACE, false, p_name },
	[K_ADDRESS]        = { "Address",       SEC_INTERFACE, true,  p_address },
	[K_MTU]            = { "MTU",           SEC_INTERFACE, false, p_mtu },
	[K_LISTEN_ADDRESS] = { "ListenAddress", SEC_INTERFACE, false, p_listen_address },
	[K_LISTEN_PORT]    = { "ListenPort",    SEC_INTERFACE, false, p_listen_port },
	[K_OUTER_MTU]      = { "OuterMTU",      SEC_INTERFACE, false, p_outer_mtu },
	[K_OFFLOAD]        = { "Offload",       SEC_INTERFACE, false, p_offload },
	[K_ZERO_COPY]      = { "ZeroCopy",      SEC_INTERFACE, false, p_zero_copy },
	[K_IO]             = { "IO",            SEC_INTERFACE, false, p_io },
	[K_INLINE]         = { "Inline",        SEC_INTERFACE, false, p_inline },
	[K_WORKERS]        = { "Workers",       SEC_INTERFACE, false, p_workers },
	[K_QUEUES]         = { "Queues",        SEC_INTERFACE, false, p_queues },
	[K_RING_CAPACITY]  = { "RingCapacity",  SEC_INTERFACE, false, p_ring_capacity },
	[K_SOCKET_BUFFER]  = { "SocketBuffer",  SEC_INTERFACE, false, p_socket_buffer },
	[K_USER]           = { "User",          SEC_INTERFACE, false, p_user },
	[K_CHECKSUMS]      = { "Checksums",     SEC_INTERFACE, false, p_checksums },
	[K_CRYPTO]         = { "Crypto",        SEC_INTERFACE, false, p_crypto },
	[K_CIPHER]         = { "Cipher",        SEC_SA,        false, p_cipher },
	[K_ENDPOINT]       = { "Endpoint",      SEC_SA,        false, p_endpoint },
	[K_OUT_SPI]        = { "OutSPI",        SEC_SA,        false, p_spi },
	[K_OUT_KEY]        = { "OutKey",        SEC_SA,        false, p_key },
	[K_OUT_AUTH_KEY]   = { "OutAuthKey",    SEC_SA,        false, p_auth_key },
	[K_IN_SPI]         = { "InSPI",         SEC_SA,        false, p_spi },
	[K_IN_KEY]         = { "InKey",         SEC_SA,        false, p_key },
	[K_IN_AUTH_KEY]    = { "InAuthKey",     SEC_SA,        false, p_auth_key },
	[K_REPLAY_WINDOW]  = { "ReplayWindow",  SEC_SA,        false, p_replay },
	[K_ESN]            = { "ESN",           SEC_SA,        false, p_esn },
	[K_PEER_ADDRESSES] = { "PeerAddresses", SEC_SA,        true,  p_address },
	[K_KEEPALIVE]      = { "PersistentKeepalive", SEC_SA,  false, p_keepalive },
	[K_ROUTES]         = { "Routes",        SEC_SA,        true,  p_address },
	[K_FWMARK]         = { "FwMark",        SEC_INTERFACE, false, p_fwmark },
	[K_TABLE]          = { "Table",         SEC_INTERFACE, false, p_table },
};

void tr_config_known_keys(enum tr_config_section sec, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < K_COUNT; i++) {
		if (tr_config_keys[i].section != sec)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", tr_config_keys[i].name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}


const struct tr_config_key *tr_config_key_find(const char *name)
{
	for (unsigned i = 0; i < K_COUNT; i++)
		if (!strcasecmp(name, tr_config_keys[i].name))
			return &tr_config_keys[i];
	return NULL;
}
