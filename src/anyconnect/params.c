/* SPDX-License-Identifier: MIT */
/* X-CSTP-* and X-DTLS-* of the CONNECT reply (as ocserv 1.1.6 writes them). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "anyconnect/params.h"

/* Seconds: a decimal number up to ten years; "none" and "0" are 0 (or -1
 * for want_none). Returns -2 when bad. */
static int seconds(const char *v, int none)
{
	char *e;
	long n;

	if (!strcasecmp(v, "none"))
		return none;
	if (*v < '0' || *v > '9')
		return -2;
	n = strtol(v, &e, 10);
	if (*e || n > 315360000L)
		return -2;
	return (int)n;
}

static int copy(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < ' ' || v[i] == 0x7f)
			return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

static int is_ip(int af, const char *v)
{
	unsigned char buf[16];

	return inet_pton(af, v, buf) == 1;
}

/* "a.b.c.d/m.m.m.m" or "a.b.c.d/len" (IPv4 split routes); "v6/len" for IPv6. */
static int is_route(int af, const char *v)
{
	char tmp[INET6_ADDRSTRLEN + 20];
	char *slash, *e;

	if (copy(tmp, sizeof(tmp), v))
		return 0;
	slash = strchr(tmp, '/');
	if (!slash)
		return 0;
	*slash++ = 0;
	if (!is_ip(af, tmp))
		return 0;
	if (af == AF_INET && is_ip(AF_INET, slash))
		return 1;
	long n = strtol(slash, &e, 10);
	return *slash >= '0' && *slash <= '9' && !*e && n <= (af == AF_INET ? 32 : 128);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *v, uint8_t *out, unsigned cap)
{
	size_t n = strlen(v);

	if (!n || n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(v[i]), lo = hexval(v[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

/* The "PSK-NEGOTIATE" token, alone or first in a ':' list. */
static int psk_negotiate(const char *v)
{
	return !strncmp(v, "PSK-NEGOTIATE", 13) && (v[13] == 0 || v[13] == ':');
}

/* What ocserv 1.1.6 sends that a client needs nothing from. */
static int ignored(const char *k)
{
	static const char *const names[] = {
		"X-CSTP-Version", "X-CSTP-Hostname", "X-CSTP-Tunnel-All-DNS",
		"X-CSTP-Client-Bypass-Protocol", "X-CSTP-Smartcard-Removal-Disconnect",
		"X-CSTP-Session-Timeout-Remaining", "X-CSTP-Disconnected-Timeout", "X-CSTP-Keep",
		"X-CSTP-TCP-Keepalive", "X-CSTP-License", "X-DTLS-Rekey-Method", "X-CSTP-NBNS",
		"X-CSTP-Split-DNS", NULL,
	};
	for (int i = 0; names[i]; i++)
		if (!strcasecmp(k, names[i]))
			return 1;
	return 0;
}

#define LIST_ADD(arr, n, val, ok) do { \
	if ((ok) && (n) < TR_AC_LIST_MAX && !copy((arr)[n], sizeof((arr)[n]), (val))) \
		(n)++; \
	else \
		p->counted_bad++; \
} while (0)

static void one(struct tr_ac_params *p, const char *k, const char *v, int *psk, int *mtu_ok)
{
	int s;

	if (!strcasecmp(k, "X-CSTP-Address")) {
		/* ocserv gives an IPv6 address here too when not in Full-IPv6 mode. */
		if (is_ip(AF_INET, v))
			copy(p->addr4, sizeof(p->addr4), v);
		else if (!is_ip(AF_INET6, v))
			p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-Netmask")) {
		if (is_ip(AF_INET, v))
			copy(p->mask4, sizeof(p->mask4), v);
		else if (!is_ip(AF_INET6, v))
			p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-Address-IP6")) {
		if (!is_route(AF_INET6, v) || copy(p->addr6, sizeof(p->addr6), v))
			p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-MTU")) {
		s = seconds(v, -2);
		if (s >= 576 && s <= 65535) {
			p->mtu = (unsigned)s;
			*mtu_ok = 1;
		} else {
			p->counted_bad++;
		}
	} else if (!strcasecmp(k, "X-CSTP-Base-MTU")) {
		s = seconds(v, -2);
		if (s >= 576 && s <= 65535)
			p->base_mtu = (unsigned)s;
		else
			p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-DPD")) {
		if ((s = seconds(v, 0)) >= 0) p->dpd = s; else p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-Keepalive")) {
		if ((s = seconds(v, 0)) >= 0) p->keepalive = s; else p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-Idle-Timeout")) {
		if ((s = seconds(v, -1)) >= -1) p->idle_timeout = s; else p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-Session-Timeout")) {
		if ((s = seconds(v, 0)) >= 0) p->session_timeout = s; else p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-Rekey-Time")) {
		if ((s = seconds(v, 0)) >= 0) p->rekey_time = s; else p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-Rekey-Method")) {
		if (copy(p->rekey_method, sizeof(p->rekey_method), v)) p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-DNS")) {
		LIST_ADD(p->dns, p->n_dns, v, is_ip(AF_INET, v) || is_ip(AF_INET6, v));
	} else if (!strcasecmp(k, "X-CSTP-Split-Include")) {
		LIST_ADD(p->split_inc, p->n_split_inc, v, is_route(AF_INET, v));
	} else if (!strcasecmp(k, "X-CSTP-Split-Exclude")) {
		LIST_ADD(p->split_exc, p->n_split_exc, v, is_route(AF_INET, v));
	} else if (!strcasecmp(k, "X-CSTP-Split-Include-IP6")) {
		LIST_ADD(p->split_inc6, p->n_split_inc6, v, is_route(AF_INET6, v));
	} else if (!strcasecmp(k, "X-CSTP-Default-Domain")) {
		if (copy(p->default_domain, sizeof(p->default_domain), v)) p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-Server-Name")) {
		if (copy(p->server_name, sizeof(p->server_name), v)) p->counted_bad++;
	} else if (!strcasecmp(k, "X-CSTP-Banner")) {
		if (copy(p->banner, sizeof(p->banner), v)) p->counted_bad++;
	} else if (!strcasecmp(k, "X-DTLS-Port")) {
		s = seconds(v, -2);
		if (s >= 1 && s <= 65535) p->dtls_port = (uint16_t)s; else p->counted_bad++;
	} else if (!strcasecmp(k, "X-DTLS-App-ID")) {
		s = parse_hex(v, p->app_id, sizeof(p->app_id));
		if (s > 0) p->app_id_len = (unsigned)s; else p->counted_bad++;
	} else if (!strcasecmp(k, "X-DTLS-CipherSuite")) {
		*psk = psk_negotiate(v);
	} else if (!strcasecmp(k, "X-DTLS-DPD")) {
		if ((s = seconds(v, 0)) >= 0) p->dtls_dpd = s; else p->counted_bad++;
	} else if (!strcasecmp(k, "X-DTLS-Keepalive")) {
		if ((s = seconds(v, 0)) >= 0) p->dtls_keepalive = s; else p->counted_bad++;
	} else if (!strcasecmp(k, "X-DTLS-Rekey-Time")) {
		if ((s = seconds(v, 0)) >= 0) p->dtls_rekey_time = s; else p->counted_bad++;
	} else if ((!strncasecmp(k, "X-CSTP-", 7) || !strncasecmp(k, "X-DTLS", 6)) && !ignored(k)) {
		p->counted_unknown++;
	}
}

int tr_ac_params_parse(const struct tr_ac_http_resp *r, struct tr_ac_params *p)
{
	int psk = 0, mtu_ok = 0;

	memset(p, 0, sizeof(*p));
	p->idle_timeout = -1;
	for (unsigned i = 0; i < r->n_hdr; i++)
		one(p, r->hdr[i].name, r->hdr[i].value, &psk, &mtu_ok);
	if (!mtu_ok || (!p->addr4[0] && !p->addr6[0]))
		return -EPROTO;
	if (p->addr4[0] && !p->mask4[0])
		strcpy(p->mask4, "255.255.255.255");
	p->dtls = psk && p->dtls_port && p->app_id_len;
	if (!p->dtls_dpd)
		p->dtls_dpd = p->dpd;
	return 0;
}
