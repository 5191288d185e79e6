/* SPDX-License-Identifier: MIT */
/* Inside `tunroom connect`: what client.c and session.c share. */
#ifndef TR_ANYCONNECT_CLIENT_INT_H
#define TR_ANYCONNECT_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "anyconnect/client.h"
#include "anyconnect/conn.h"
#include "anyconnect/params.h"

#define ESTABLISH_TIMEOUT_MS 10000

/* "tunroom connect: ..." on stderr when level <= o->verbosity. */
void tr_ac_say(const struct tr_ac_client_opts *o, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* TCP + TLS to the server, then (login) the login that fills cookie, then
 * (p) CONNECT with the cookie that fills p; timeout_ms bounds the connect
 * and each read or write. c is closed on failure, with the reason in err.
 * Returns tr_ac_conn_open's, tr_ac_login's or tr_ac_tunnel's errors. */
int tr_ac_establish(const struct tr_ac_client_opts *o, struct tr_ac_conn *c, char *cookie,
		    size_t cookie_cap, struct tr_ac_params *p, bool login, int timeout_ms, char *err,
		    size_t errcap);

/* session.c: everything after a successful CONNECT. */
int tr_ac_session_run(const struct tr_ac_client_opts *o);

#endif
