/* SPDX-License-Identifier: MIT */
/* https://HOST[:PORT][/PATH], parsed strictly: it ends up in HTTP headers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "anyconnect/url.h"

static int clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

int tr_ac_url_parse(const char *s, struct tr_ac_url *u)
{
	const char *host, *end, *p;
	size_t hl;

	memset(u, 0, sizeof(*u));
	if (!s || !*s || !clean(s))
		return -EINVAL;
	if (!strncasecmp(s, "https://", 8))
		s += 8;
	else if (strstr(s, "://"))
		return -EINVAL; /* http:// and the rest: AnyConnect is TLS only */
	if (*s == '[') {
		host = s + 1;
		end = strchr(host, ']');
		if (!end)
			return -EINVAL;
		p = end + 1;
		u->ipv6_literal = 1;
		if (!memchr(host, ':', (size_t)(end - host)))
			return -EINVAL;
	} else {
		host = s;
		end = host + strcspn(host, ":/?#");
		p = end;
	}
	hl = (size_t)(end - host);
	if (!hl || hl >= sizeof(u->host))
		return -EINVAL;
	memcpy(u->host, host, hl);
	u->port = 443;
	if (*p == ':') {
		char *e;
		unsigned long v;

		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = strtoul(p, &e, 10);
		if (v == 0 || v > 65535 || (*e && *e != '/'))
			return -EINVAL;
		u->port = (uint16_t)v;
		p = e;
	}
	if (!*p) {
		strcpy(u->path, "/");
		return 0;
	}
	if (*p != '/')
		return -EINVAL;
	if (strlen(p) >= sizeof(u->path))
		return -EINVAL;
	strcpy(u->path, p);
	return 0;
}

int tr_ac_url_hostport(const struct tr_ac_url *u, char *out, unsigned cap)
{
	int n;

	if (u->port == 443)
		n = snprintf(out, cap, u->ipv6_literal ? "[%s]" : "%s", u->host);
	else
		n = snprintf(out, cap, u->ipv6_literal ? "[%s]:%u" : "%s:%u", u->host, u->port);
	return n < 0 || (unsigned)n >= cap ? -ENOSPC : n;
}
