/* SPDX-License-Identifier: MIT */
/*
 * `tunroom connect`: one AnyConnect session from login to BYE. The CLI
 * (src/cli/connect.c) parses options into tr_ac_client_opts; this runs the
 * rest: login, CONNECT, the TUN device and its setup (vpnc-script or our
 * own), the data plane, DTLS with fallback to CSTP and back, DPD and
 * keepalives, reconnects with the cookie, the control socket, the BYE.
 */
#ifndef TR_ANYCONNECT_CLIENT_H
#define TR_ANYCONNECT_CLIENT_H

#include <stdbool.h>

#include "anyconnect/login.h"
#include "anyconnect/url.h"

struct tr_privdrop_user;

enum { TR_AC_QUIET = 0, TR_AC_NORMAL = 1, TR_AC_VERBOSE = 2 };

struct tr_ac_client_opts {
	struct tr_ac_url url;
	const char *server_arg;     /* as typed, for messages and VPNGATEWAY's neighbours */
	const char *pin;            /* base64 after "pin-sha256:", or NULL (system trust) */
	struct tr_ac_login_opts login;
	const char *ifname;         /* -i, or NULL ("tun%d") */
	const char *script;         /* vpnc-script path, or NULL: set up the device ourselves */
	bool dtls;                  /* false: --no-dtls */
	bool crypto_openssl;        /* --crypto openssl: AES-GCM by OpenSSL, not ipsec-mb */
	bool authenticate;          /* --authenticate: print the cookie and stop */
	int verbosity;              /* TR_AC_QUIET... */
	int reconnect_timeout;      /* seconds to keep trying after the TCP link dies */
	const char *run_dir;        /* control sockets */
	const struct tr_privdrop_user *user; /* -U: drop to this user, or NULL (no caps) */
	const char *user_name;
	/* Called once when the tunnel carries traffic (-b detaches here). */
	void (*ready)(void *arg);
	void *ready_arg;
	/* Called once the device's control socket is up (the name is ours)
	 * and before root is given up: -b --pid-file records its file for
	 * `tunroom down` here. May be NULL. */
	void (*named)(void *arg, const char *name);
	void *named_arg;
};

/* Runs the session until the user stops it (SIGINT, SIGTERM, `tunroom down`)
 * or it fails for good. Says why on stderr in one line when it fails.
 * Returns 0 after a clean stop, or a negative errno: -EACCES (login refused),
 * -EKEYREJECTED (certificate), -EPROTO (not an AnyConnect server, or the
 * server ended the session), -ECONNREFUSED/-ETIMEDOUT/... (network). */
int tr_ac_client_run(const struct tr_ac_client_opts *o);

#endif
