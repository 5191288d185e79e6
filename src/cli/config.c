/* SPDX-License-Identifier: MIT */
/*
 * The config file parser: INI lines into struct tr_config. Every message names
 * FILE:LINE, the key, what is wrong and how to fix it. Key material is never
 * echoed back in a message.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli/config.h"
#include "tunroom/ring_abi.h"
#include "tunroom/tunroom.h"

#define FILE_MAX (1u << 20) /* a config is a few hundred bytes; refuse nonsense early */

enum section { SEC_NONE, SEC_INTERFACE, SEC_SA };
static const char *const section_names[] = { "", "Interface", "SA" };

enum key_id {
	K_NAME, K_ADDRESS, K_MTU, K_LISTEN_ADDRESS, K_LISTEN_PORT, K_OUTER_MTU,
	K_OFFLOAD, K_ZERO_COPY, K_IO, K_QUEUES, K_RING_CAPACITY, K_SOCKET_BUFFER, K_USER,
	K_CIPHER, K_ENDPOINT, K_OUT_SPI, K_OUT_KEY, K_OUT_AUTH_KEY,
	K_IN_SPI, K_IN_KEY, K_IN_AUTH_KEY, K_REPLAY_WINDOW, K_ESN,
	K_COUNT
};

struct key;
typedef int parse_fn(struct tr_config_ctx *ctx, const struct key *k, const char *val);

struct key {
	const char *name;
	enum section section;
	bool repeatable;
	parse_fn *parse;
};

_Static_assert(K_COUNT <= sizeof(((struct tr_config_ctx *)0)->key_line) / sizeof(unsigned),
	       "key_line too small");

static int fail_at(struct tr_config_ctx *ctx, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct tr_config_ctx *ctx, unsigned line, const char *fmt, ...)
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

#define fail(ctx, ...) fail_at(ctx, (ctx)->line, __VA_ARGS__)

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

static int parse_range(struct tr_config_ctx *ctx, const struct key *k, const char *val,
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
	char buf[INET6_ADDRSTRLEN + 2];
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
	if (inet_pton(AF_INET6, buf, &sa->in6.sin6_addr) == 1) {
		sa->in6.sin6_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static void set_port(union tr_sockaddr *sa, uint16_t port)
{
	if (sa->sa.sa_family == AF_INET6)
		sa->in6.sin6_port = htons(port);
	else
		sa->in.sin_port = htons(port);
}

static uint16_t get_port(const union tr_sockaddr *sa)
{
	return ntohs(sa->sa.sa_family == AF_INET6 ? sa->in6.sin6_port : sa->in.sin_port);
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

const char *tr_sockaddr_str(const union tr_sockaddr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, get_port(a));
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, get_port(a));
	} else {
		snprintf(buf, len, "(none)");
	}
	return buf;
}

uint32_t tr_config_overhead(enum tr_esp_cipher c, int outer_family, uint32_t inner_len)
{
	uint32_t ip = outer_family == AF_INET6 ? 40 : 20;

	/* RFC 3948 §2.1: UDP 8. */
	return ip + 8 + tr_esp_encap_len(c, inner_len);
}

uint32_t tr_config_mtu_for(enum tr_esp_cipher c, int outer_family, uint32_t outer_mtu)
{
	uint32_t fixed = (outer_family == AF_INET6 ? 40 : 20) + 8;

	return outer_mtu > fixed ? tr_esp_inner_max(c, outer_mtu - fixed) : 0;
}

/* Config files and the command line take cipher names in any case. */
int tr_config_cipher_parse(const char *name, enum tr_esp_cipher *out)
{
	const char *n;

	for (unsigned c = 0; (n = tr_esp_cipher_name((enum tr_esp_cipher)c)); c++) {
		if (!strcasecmp(name, n)) {
			*out = (enum tr_esp_cipher)c;
			return 0;
		}
	}
	return -EINVAL;
}

const char *tr_config_cipher_names(void)
{
	return "aes128-gcm, aes256-gcm, aes128-cbc-sha1, aes256-cbc-sha256";
}

/* ---- one parser per key ---- */

static int p_name(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	if (!tr_config_name_ok(val))
		return fail(ctx, "'%s' must be 1 to %d letters, digits, '-', '_' or '.', got '%.64s' "
			    "(it names the TUN device and /run/tunroom/NAME.sock)",
			    k->name, IFNAMSIZ - 1, val);
	strcpy(ctx->cfg->name, val);
	return 0;
}

static int parse_one_address(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	struct tr_config *cfg = ctx->cfg;
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(val, '/');
	size_t iplen = slash ? (size_t)(slash - val) : strlen(val);
	struct tr_config_addr a = { 0 };
	unsigned max;

	if (cfg->n_addr == TR_CONFIG_ADDR_MAX)
		return fail(ctx, "too many '%s' entries, at most %d", k->name, TR_CONFIG_ADDR_MAX);
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
	cfg->addr[cfg->n_addr++] = a;
	return 0;
bad:
	return fail(ctx, "'%s' must be an IPv4 or IPv6 address with an optional /prefix "
		    "(e.g. 198.18.0.1/30 or fd00::1/64), got '%.64s'", k->name, val);
}

/* Repeatable, and also a comma-separated list on one line. */
static int p_address(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	char buf[TR_CONFIG_LINE_MAX + 1];
	char *save = NULL;

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
	}
	return 0;
}

static int p_mtu(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	ctx->cfg->mtu_derived = false;
	return parse_range(ctx, k, val, TR_CONFIG_MTU_MIN, 65535, &ctx->cfg->mtu);
}

static int p_outer_mtu(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	return parse_range(ctx, k, val, 576, 65535, &ctx->cfg->outer_mtu);
}

static int p_listen_address(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	union tr_sockaddr sa;

	if (parse_ip(val, &sa))
		return fail(ctx, "'%s' must be a local IPv4 or IPv6 address without a port "
			    "(the port goes in ListenPort), got '%.64s'", k->name, val);
	if (ip_multicast(&sa))
		return fail(ctx, "'%s' %.64s is a multicast or broadcast address; use a unicast "
			    "address of this host", k->name, val);
	uint16_t port = get_port(&ctx->cfg->listen);
	ctx->cfg->listen = sa;
	set_port(&ctx->cfg->listen, port);
	return 0;
}

static int p_listen_port(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	uint32_t port = 0;
	int r = parse_range(ctx, k, val, 1, 65535, &port);

	if (!r)
		set_port(&ctx->cfg->listen, (uint16_t)port);
	return r;
}

/* Offload = on (default): TUN TSO/GRO super-packets cut into slots by the
 * engine, UDP GSO on send, UDP GRO on receive, each as far as the kernel
 * takes it. off: one packet per TUN read/write and per datagram, so the gain
 * can be measured with everything else equal. */
static int p_offload(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	if (parse_bool(val, &ctx->cfg->offload))
		return fail(ctx, "'%s' must be on or off, got '%.64s'", k->name, val);
	return 0;
}

/* ZeroCopy = off: the copy path OpenConnect pays with Wintun today (one
 * memcpy out of the ring and one into it per packet), so benchmarks can show
 * what zero-copy buys with everything else equal. */
static int p_zero_copy(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	if (parse_bool(val, &ctx->cfg->zero_copy))
		return fail(ctx, "'%s' must be on or off, got '%.64s'", k->name, val);
	return 0;
}

/* IO = plain: TUN reads and writes with read(2)/write(2) instead of
 * io_uring, slower but what valgrind can follow (scripts/valgrind.sh) and a
 * way round a kernel whose io_uring is disabled or broken. */
static int p_io(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	if (!strcmp(val, "auto"))
		ctx->cfg->plain_io = false;
	else if (!strcmp(val, "plain"))
		ctx->cfg->plain_io = true;
	else
		return fail(ctx, "'%s' must be auto or plain, got '%.64s'", k->name, val);
	return 0;
}

static int p_queues(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	return parse_range(ctx, k, val, 1, TR_CONFIG_QUEUES_MAX, &ctx->cfg->queues);
}

static int p_ring_capacity(struct tr_config_ctx *ctx, const struct key *k, const char *val)
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

static int p_socket_buffer(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	uint64_t v;

	if (parse_size(val, &v) || (v != 0 && v < 4096) || v > TR_CONFIG_SOCKBUF_MAX)
		return fail(ctx, "'%s' must be 0 (kernel default) or 4K to 1G bytes, got '%.64s'",
			    k->name, val);
	ctx->cfg->socket_buffer = (uint32_t)v;
	return 0;
}

static int p_cipher(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	if (tr_config_cipher_parse(val, &ctx->cfg->cipher))
		return fail(ctx, "unknown '%s' '%.64s'; use one of %s", k->name, val,
			    tr_config_cipher_names());
	return 0;
}

static int p_endpoint(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	char host[INET6_ADDRSTRLEN + 3];
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
	if (parse_ip(host, &sa))
		return fail(ctx, "'%s' needs a numeric IPv4 or IPv6 address (host names are not "
			    "resolved), got '%.64s'", k->name, host);
	if (ip_unspecified(&sa) || ip_multicast(&sa))
		return fail(ctx, "'%s' %.64s is not a unicast peer address", k->name, host);
	if (parse_u64(colon + 1, false, &port) || port < 1 || port > 65535)
		return fail(ctx, "'%s' port must be 1 to 65535, got '%.16s'", k->name, colon + 1);
	set_port(&sa, (uint16_t)port);
	ctx->cfg->endpoint = sa;
	return 0;
}

static int p_spi(struct tr_config_ctx *ctx, const struct key *k, const char *val)
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
static int parse_hex(struct tr_config_ctx *ctx, const struct key *k, const char *val,
		     uint8_t *out, size_t max, size_t *len)
{
	const char *s = val;
	size_t n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return fail(ctx, "'%s' has a non-hex character at position %zu; write the "
				    "key as hex digits, optionally after 0x", k->name,
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

static int p_key(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	struct tr_config_sa_dir *d = !strcasecmp(k->name, "OutKey") ? &ctx->cfg->out : &ctx->cfg->in;

	return parse_hex(ctx, k, val, d->key, sizeof(d->key), &d->key_len);
}

static int p_auth_key(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	struct tr_config_sa_dir *d = !strcasecmp(k->name, "OutAuthKey") ? &ctx->cfg->out :
									   &ctx->cfg->in;

	return parse_hex(ctx, k, val, d->auth_key, sizeof(d->auth_key), &d->auth_key_len);
}

static int p_replay(struct tr_config_ctx *ctx, const struct key *k, const char *val)
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
static int p_user(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	if (!tr_config_user_ok(val))
		return fail(ctx, "'%s' must be a user name of 1 to %d letters, digits, '-', '_' or "
			    "'.', got '%.64s'", k->name, TR_CONFIG_USER_MAX - 1, val);
	strcpy(ctx->cfg->user, val);
	ctx->cfg->user_line = ctx->line;
	return 0;
}

static int p_esn(struct tr_config_ctx *ctx, const struct key *k, const char *val)
{
	if (parse_bool(val, &ctx->cfg->esn))
		return fail(ctx, "'%s' must be on or off (the same on both ends), got '%.64s'",
			    k->name, val);
	return 0;
}

static const struct key keys[K_COUNT] = {
	[K_NAME]           = { "Name",          SEC_INTERFACE, false, p_name },
	[K_ADDRESS]        = { "Address",       SEC_INTERFACE, true,  p_address },
	[K_MTU]            = { "MTU",           SEC_INTERFACE, false, p_mtu },
	[K_LISTEN_ADDRESS] = { "ListenAddress", SEC_INTERFACE, false, p_listen_address },
	[K_LISTEN_PORT]    = { "ListenPort",    SEC_INTERFACE, false, p_listen_port },
	[K_OUTER_MTU]      = { "OuterMTU",      SEC_INTERFACE, false, p_outer_mtu },
	[K_OFFLOAD]        = { "Offload",       SEC_INTERFACE, false, p_offload },
	[K_ZERO_COPY]      = { "ZeroCopy",      SEC_INTERFACE, false, p_zero_copy },
	[K_IO]             = { "IO",            SEC_INTERFACE, false, p_io },
	[K_QUEUES]         = { "Queues",        SEC_INTERFACE, false, p_queues },
	[K_RING_CAPACITY]  = { "RingCapacity",  SEC_INTERFACE, false, p_ring_capacity },
	[K_SOCKET_BUFFER]  = { "SocketBuffer",  SEC_INTERFACE, false, p_socket_buffer },
	[K_USER]           = { "User",          SEC_INTERFACE, false, p_user },
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
};

static void known_keys(enum section sec, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < K_COUNT; i++) {
		if (keys[i].section != sec)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", keys[i].name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

void tr_config_init(struct tr_config_ctx *ctx, struct tr_config *cfg, const char *file)
{
	memset(ctx, 0, sizeof(*ctx));
	memset(cfg, 0, sizeof(*cfg));
	ctx->cfg = cfg;
	ctx->file = file;
	cfg->outer_mtu = TR_CONFIG_OUTER_MTU_DEFAULT;
	cfg->queues = 1;
	cfg->ring_capacity = TR_SESSION_CAPACITY_DEFAULT;
	cfg->replay_window = TR_CONFIG_REPLAY_DEFAULT;
	cfg->zero_copy = true;
	cfg->offload = true;
	cfg->socket_buffer = TR_CONFIG_SOCKBUF_DEFAULT;
	cfg->cipher = TR_ESP_AES128_GCM;
	cfg->listen.in.sin_port = htons(TR_CONFIG_PORT_DEFAULT);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int parse_line(struct tr_config_ctx *ctx, char *buf)
{
	char *s, *eq;

	/* Comments start at '#' or ';' anywhere: no value ever contains either. */
	buf[strcspn(buf, "#;")] = '\0';
	s = trim(buf);
	if (!*s)
		return 0;

	if (*s == '[') {
		char *close = strchr(s, ']');
		enum section sec;
		if (!close || trim(close + 1)[0])
			return fail(ctx, "section header '%.16s' must be [Interface] or [SA] "
				    "alone on its line", s);
		*close = '\0';
		char *name = trim(s + 1);
		if (!strcasecmp(name, "Interface"))
			sec = SEC_INTERFACE;
		else if (!strcasecmp(name, "SA"))
			sec = SEC_SA;
		else
			return fail(ctx, "unknown section [%.64s]; use [Interface] or [SA]", name);
		if (ctx->section_line[sec])
			return fail(ctx, "second [%s] section (the first is on line %u); a tunnel "
				    "has one of each, merge them", section_names[sec],
				    ctx->section_line[sec]);
		ctx->section = sec;
		ctx->section_line[sec] = ctx->line;
		return 0;
	}

	eq = strchr(s, '=');
	if (!eq)
		/* Quote the first word only: the rest may be a key's value. */
		return fail(ctx, "no '=' after '%.*s'; lines are 'Key = value', a [Section] "
			    "or a # comment", (int)(strcspn(s, " \t") < 32 ? strcspn(s, " \t") : 32),
			    s);
	*eq = '\0';
	char *key = trim(s), *val = trim(eq + 1);
	const struct key *k = NULL;
	for (unsigned i = 0; i < K_COUNT; i++) {
		if (!strcasecmp(key, keys[i].name)) {
			k = &keys[i];
			break;
		}
	}
	if (!*key)
		return fail(ctx, "'= %.64s' has no key name before the '='", val);
	if (ctx->section == SEC_NONE)
		return fail(ctx, "key '%.64s' comes before any section; put it under %s",
			    key, k && k->section == SEC_SA ? "[SA]" : "[Interface]");
	if (!k) {
		char known[256];
		known_keys(ctx->section, known, sizeof(known));
		return fail(ctx, "unknown key '%.64s' in [%s] (known there: %s)", key,
			    section_names[ctx->section], known);
	}
	if (k->section != (enum section)ctx->section)
		return fail(ctx, "'%s' belongs in [%s], not [%s]; move the line", k->name,
			    section_names[k->section], section_names[ctx->section]);
	unsigned id = (unsigned)(k - keys);
	if (ctx->key_line[id] && !k->repeatable)
		return fail(ctx, "'%s' is set twice (first on line %u); keep one", k->name,
			    ctx->key_line[id]);
	if (!*val)
		return fail(ctx, "'%s' has no value after the '='", k->name);
	int r = k->parse(ctx, k, val);
	if (r)
		return r;
	ctx->key_line[id] = ctx->line;
	return 0;
}

int tr_config_read_line(struct tr_config_ctx *ctx, const char *line, size_t len)
{
	char buf[TR_CONFIG_LINE_MAX + 2];
	int r;

	ctx->line++;
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (len > TR_CONFIG_LINE_MAX)
		return fail(ctx, "line is longer than %d bytes; no key needs that much",
			    TR_CONFIG_LINE_MAX);
	if (memchr(line, '\0', len))
		return fail(ctx, "line holds a NUL byte; the file must be plain text");
	memcpy(buf, line, len);
	buf[len] = '\0';
	r = parse_line(ctx, buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

/* The line a key was set on, or of its section header, or of the last line. */
static unsigned where(const struct tr_config_ctx *ctx, enum key_id id)
{
	if (ctx->key_line[id])
		return ctx->key_line[id];
	if (ctx->section_line[keys[id].section])
		return ctx->section_line[keys[id].section];
	return ctx->line;
}

static int need(struct tr_config_ctx *ctx, enum key_id id, const char *example)
{
	if (ctx->key_line[id])
		return 0;
	return fail_at(ctx, where(ctx, id), "[%s] has no '%s'; add e.g. '%s = %s'",
		       section_names[keys[id].section], keys[id].name, keys[id].name, example);
}

static int check_dir(struct tr_config_ctx *ctx, enum tr_esp_cipher c,
		     const struct tr_config_sa_dir *d, enum key_id key, enum key_id auth)
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
		uint16_t port = get_port(&cfg->listen);
		memset(&cfg->listen, 0, sizeof(cfg->listen));
		cfg->listen.sa.sa_family = (sa_family_t)fam;
		if (fam == AF_INET6)
			cfg->listen.in6.sin6_addr = in6addr_any;
		set_port(&cfg->listen, port);
	}

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

int tr_config_parse(struct tr_config *cfg, const char *file, const char *buf, size_t len,
		    char *err, size_t errlen)
{
	struct tr_config_ctx ctx;
	size_t off = 0;
	int r = 0;

	tr_config_init(&ctx, cfg, file);
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
		r = tr_config_read_line(&ctx, buf + off, n);
		if (r)
			goto out;
		off += n;
	}
	r = tr_config_finish(&ctx);
out:
	if (r) {
		if (err && errlen)
			snprintf(err, errlen, "%s", ctx.err);
		tr_config_wipe(cfg);
	}
	return r;
}

int tr_config_load(struct tr_config *cfg, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	memset(cfg, 0, sizeof(*cfg));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out_close;
	}
	/* Like wg warns about private keys: the file holds the SA keys. */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		r = -EACCES;
		snprintf(err, errlen, "%s: accessible by group or others (mode %04o) but it holds "
			 "keys; run: chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
		goto out_close;
	}
	if (st.st_size > FILE_MAX) {
		r = -EFBIG;
		snprintf(err, errlen, "%s: larger than %u bytes; not a tunroom config", path,
			 FILE_MAX);
		goto out_close;
	}
	buf = malloc(FILE_MAX + 1);
	if (!buf) {
		r = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out_close;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > FILE_MAX) {
			r = -EFBIG;
			snprintf(err, errlen, "%s: larger than %u bytes; not a tunroom config",
				 path, FILE_MAX);
			goto out_free;
		}
	}
	r = tr_config_parse(cfg, path, buf, len, err, errlen);
out_free:
	OPENSSL_cleanse(buf, len);
	free(buf);
out_close:
	close(fd);
	return r;
}

void tr_config_sa(const struct tr_config *cfg, bool inbound, struct tr_esp_sa_config *out)
{
	const struct tr_config_sa_dir *d = inbound ? &cfg->in : &cfg->out;

	*out = (struct tr_esp_sa_config){
		.cipher = cfg->cipher,
		.spi = d->spi,
		.key = d->key,
		.key_len = (uint32_t)d->key_len,
		.auth_key = d->auth_key_len ? d->auth_key : NULL,
		.auth_key_len = (uint32_t)d->auth_key_len,
		.replay_window = cfg->replay_window,
		.flags = cfg->esn ? TR_ESP_F_ESN : 0,
	};
}

void tr_config_wipe(struct tr_config *cfg)
{
	OPENSSL_cleanse(&cfg->out, sizeof(cfg->out));
	OPENSSL_cleanse(&cfg->in, sizeof(cfg->in));
}

static int hex_line(char *buf, size_t len, size_t *used, const char *key, size_t n)
{
	uint8_t bytes[TR_CONFIG_KEY_MAX];
	int w;

	if (RAND_bytes(bytes, (int)n) != 1)
		return -EIO;
	w = snprintf(buf + *used, len - *used, "%s = 0x", key);
	for (size_t i = 0; w > 0 && i < n; i++)
		w += snprintf(buf + *used + w, len - *used - (size_t)w, "%02x", bytes[i]);
	OPENSSL_cleanse(bytes, sizeof(bytes));
	if (w < 0 || (size_t)w + 2 > len - *used)
		return -EMSGSIZE;
	buf[*used + (size_t)w] = '\n';
	buf[*used + (size_t)w + 1] = '\0';
	*used += (size_t)w + 1;
	return 0;
}

static int random_spi(uint32_t *spi, uint32_t other)
{
	do {
		if (RAND_bytes((unsigned char *)spi, sizeof(*spi)) != 1)
			return -EIO;
	} while (*spi < 256 || *spi == other); /* RFC 4303 §2.1 reserves 0..255 */
	return 0;
}

int tr_config_genkey(enum tr_esp_cipher c, char *buf, size_t len)
{
	const char *name = tr_esp_cipher_name(c);
	uint32_t key_len = tr_esp_key_len(c), auth_len = tr_esp_auth_key_len(c);
	uint32_t out_spi, in_spi = 0;
	size_t used = 0;
	int r, w;

	if (!name)
		return -EINVAL;
	if ((r = random_spi(&out_spi, 0)) || (r = random_spi(&in_spi, out_spi)))
		return r;
	w = snprintf(buf, len,
		     "# %s keys from 'tunroom genkey', for [SA] on this side. The peer takes\n"
		     "# the same lines with In and Out swapped (its OutSPI is our InSPI, ...).\n"
		     "Cipher = %s\nOutSPI = 0x%08x\n", name, name, out_spi);
	if (w < 0 || (size_t)w >= len)
		return -EMSGSIZE;
	used = (size_t)w;
	if ((r = hex_line(buf, len, &used, "OutKey", key_len)))
		goto fail;
	if (auth_len && (r = hex_line(buf, len, &used, "OutAuthKey", auth_len)))
		goto fail;
	w = snprintf(buf + used, len - used, "InSPI = 0x%08x\n", in_spi);
	if (w < 0 || (size_t)w >= len - used) {
		r = -EMSGSIZE;
		goto fail;
	}
	used += (size_t)w;
	if ((r = hex_line(buf, len, &used, "InKey", key_len)))
		goto fail;
	if (auth_len && (r = hex_line(buf, len, &used, "InAuthKey", auth_len)))
		goto fail;
	return (int)used;
fail:
	OPENSSL_cleanse(buf, len);
	return r;
}
