/* SPDX-License-Identifier: MIT */
/*
 * `tunroom connect` up to the tunnel: TLS, login, CONNECT (establish), and
 * --authenticate, which stops there. The running session is session.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anyconnect/client.h"
#include "anyconnect/client_int.h"

void tr_ac_say(const struct tr_ac_client_opts *o, int level, const char *fmt, ...)
{
	va_list ap;

	if (level > o->verbosity)
		return;
	va_start(ap, fmt);
	fputs("tunroom connect: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int tr_ac_establish(const struct tr_ac_client_opts *o, struct tr_ac_conn *c, char *cookie,
		    size_t cookie_cap, struct tr_ac_params *p, bool login, int timeout_ms, char *err,
		    size_t errcap)
{
	struct tr_ac_tunnel_opts to = {
		.user_agent = o->login.user_agent, .base_mtu = 1500, .dtls = o->dtls, .ipv6 = true,
	};
	char hp[80];
	int r;

	r = tr_ac_conn_open(c, &o->url, o->pin, timeout_ms, err, errcap);
	if (r)
		return r;
	tr_ac_say(o, TR_AC_VERBOSE, "connected to %s: %s",
		  tr_ac_conn_peer_str(c, hp, sizeof(hp)), c->suite);
	if (login) {
		r = tr_ac_login(c, &o->url, &o->login, cookie, cookie_cap, err, errcap);
		if (r) {
			tr_ac_conn_close(c, false, false);
			return r;
		}
		tr_ac_say(o, TR_AC_VERBOSE, "logged in%s%s", o->login.user ? " as " : "",
			  o->login.user ? o->login.user : "");
	}
	if (!p)
		return 0;
	r = tr_ac_tunnel(c, &o->url, cookie, &to, p, err, errcap);
	if (r) {
		tr_ac_conn_close(c, false, false);
		return r;
	}
	return 0;
}

static int authenticate(const struct tr_ac_client_opts *o)
{
	struct tr_ac_conn *c = calloc(1, sizeof(*c));
	char cookie[TR_AC_COOKIE_MAX], err[TR_AC_ERR_MAX], hp[80], url[300];
	int r;

	if (!c)
		return -ENOMEM;
	r = tr_ac_establish(o, c, cookie, sizeof(cookie), NULL, true, ESTABLISH_TIMEOUT_MS, err,
			    sizeof(err));
	if (r) {
		tr_ac_say(o, TR_AC_QUIET, "%s", err);
		free(c);
		return r;
	}
	tr_ac_url_hostport(&o->url, url, sizeof(url));
	/* openconnect --authenticate's lines, for scripts that eval them. The
	 * cookie is base64, the host an address: no quoting needed beyond ''. */
	printf("COOKIE='%s'\nHOST='%s'\nCONNECT_URL='https://%s%s'\nFINGERPRINT='pin-sha256:%s'\n",
	       cookie, tr_ac_conn_peer_str(c, hp, sizeof(hp)), url, o->url.path, c->pin);
	explicit_bzero(cookie, sizeof(cookie));
	tr_ac_conn_close(c, true, false);
	free(c);
	return 0;
}

int tr_ac_client_run(const struct tr_ac_client_opts *o)
{
	if (o->authenticate)
		return authenticate(o);
	return tr_ac_session_run(o);
}
