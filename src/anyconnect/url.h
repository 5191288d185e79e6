/* SPDX-License-Identifier: MIT */
/* The server argument of `tunroom connect`: https://HOST[:PORT][/PATH]. */
#ifndef TR_ANYCONNECT_URL_H
#define TR_ANYCONNECT_URL_H

#include <stdint.h>

#define TR_AC_HOST_MAX 256
#define TR_AC_PATH_MAX 256

struct tr_ac_url {
	char host[TR_AC_HOST_MAX]; /* without the brackets of an IPv6 literal */
	uint16_t port;             /* 443 unless given */
	char path[TR_AC_PATH_MAX]; /* "/" or "/group", always starts with '/' */
	int ipv6_literal;          /* host was [..]: no SNI, brackets in Host: */
};

/* Parses s: "https://" may be left out, as openconnect allows; any other
 * scheme, an empty host, a port outside 1..65535, a host or path too long,
 * white space or control characters are -EINVAL. */
int tr_ac_url_parse(const char *s, struct tr_ac_url *u);

/* "host", "host:port", "[v6]" or "[v6]:port" as the Host header wants it (the
 * port is left out when it is 443). Returns the length or -ENOSPC. */
int tr_ac_url_hostport(const struct tr_ac_url *u, char *out, unsigned cap);

#endif
