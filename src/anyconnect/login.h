/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect login over an open tr_ac_conn (ocserv's password auth: the
 * user name, then the password, each an XML form) and the CONNECT request
 * that turns the connection into the CSTP tunnel.
 */
#ifndef TR_ANYCONNECT_LOGIN_H
#define TR_ANYCONNECT_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "anyconnect/conn.h"
#include "anyconnect/params.h"
#include "anyconnect/url.h"

#define TR_AC_COOKIE_MAX 512
#define TR_AC_UA_DEFAULT "Open AnyConnect VPN Agent v9.01" /* ocserv: an OpenConnect >= 4 */
#define TR_AC_VERSION    "v9.01"

struct tr_ac_login_opts {
	const char *user;        /* NULL: ask (through ask) when the form wants one */
	const char *user_agent;  /* NULL: TR_AC_UA_DEFAULT */
	/* Fills a field the form asks for (label as the server wrote it,
	 * secret for a password). Returns 0 or a negative errno (-ENOENT: no
	 * answer, which ends the login). */
	int (*ask)(void *arg, const char *label, bool secret, char *out, size_t cap);
	void *ask_arg;
};

/*
 * Logs in through c. On success the session cookie (the value of
 * Set-Cookie: webvpn=) is in cookie. Returns 0, or a negative errno with one
 * line for the user in err: -EACCES (the server refused the credentials),
 * -EPROTO (the server is not an AnyConnect server: its replies are not the
 * XML login forms), -ENOTSUP (a form this client cannot fill: a group list,
 * an unknown field), -ENOENT (an answer was missing), or the conn's errors.
 */
int tr_ac_login(struct tr_ac_conn *c, const struct tr_ac_url *u, const struct tr_ac_login_opts *o,
		char *cookie, size_t cookie_cap, char *err, size_t errcap);

struct tr_ac_tunnel_opts {
	const char *user_agent;
	unsigned base_mtu;      /* X-CSTP-Base-MTU: the path MTU to the server */
	bool dtls;              /* offer DTLS (PSK-NEGOTIATE) */
	bool ipv6;              /* ask for IPv6 as well as IPv4 */
};

/*
 * CONNECT /CSCOSSLC/tunnel with the cookie. On 200 the parameters are in *p
 * and the connection carries CSTP from c->buf + c->used on (call
 * tr_ac_conn_drain first). Returns 0, -EACCES (401: the cookie was refused,
 * log in again), -EPROTO (any other reply; err says which), or the conn's
 * errors.
 */
int tr_ac_tunnel(struct tr_ac_conn *c, const struct tr_ac_url *u, const char *cookie,
		 const struct tr_ac_tunnel_opts *o, struct tr_ac_params *p, char *err,
		 size_t errcap);

#endif
