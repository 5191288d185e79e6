/* SPDX-License-Identifier: MIT */
/*
 * What the parser's files share and nothing else sees: the sections, the key
 * table (keys.c), and FILE:LINE messages.
 */
#ifndef TR_CONFIG_CONFIG_INT_H
#define TR_CONFIG_CONFIG_INT_H

#include "config/config.h"

enum tr_config_section { SEC_NONE, SEC_INTERFACE, SEC_SA, SEC_COUNT };
extern const char *const tr_config_section_names[SEC_COUNT];

enum tr_config_key_id {
	K_NAME, K_ADDRESS, K_MTU, K_LISTEN_ADDRESS, K_LISTEN_PORT, K_OUTER_MTU,
	K_OFFLOAD, K_ZERO_COPY, K_IO, K_QUEUES, K_RING_CAPACITY, K_SOCKET_BUFFER, K_USER,
	K_CHECKSUMS, K_INLINE, K_WORKERS, K_CRYPTO,
	K_CIPHER, K_ENDPOINT, K_OUT_SPI, K_OUT_KEY, K_OUT_AUTH_KEY,
	K_IN_SPI, K_IN_KEY, K_IN_AUTH_KEY, K_REPLAY_WINDOW, K_ESN,
	K_PEER_ADDRESSES, K_KEEPALIVE, K_ROUTES, K_FWMARK, K_TABLE,
	K_COUNT
};

struct tr_config_key;
typedef int tr_config_parse_fn(struct tr_config_ctx *ctx, const struct tr_config_key *k,
			       const char *val);

struct tr_config_key {
	const char *name;
	enum tr_config_section section;
	bool repeatable;
	tr_config_parse_fn *parse;
};

_Static_assert(K_COUNT <= sizeof(((struct tr_config_ctx *)0)->key_line) / sizeof(unsigned),
	       "key_line too small");

extern const struct tr_config_key tr_config_keys[K_COUNT];

/* The key of that name in any case, or NULL. */
const struct tr_config_key *tr_config_key_find(const char *name);
/* "Name, Address, ..." of one section, for the unknown-key message. */
void tr_config_known_keys(enum tr_config_section sec, char *buf, size_t len);

/* Puts "FILE:LINE: " and the message in ctx->err ("FILE: " for line 0, about
 * the file as a whole); returns -EINVAL. */
int tr_config_fail_at(struct tr_config_ctx *ctx, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define fail_at tr_config_fail_at
#define fail(ctx, ...) tr_config_fail_at(ctx, (ctx)->line, __VA_ARGS__)

#endif
