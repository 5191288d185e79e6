/* SPDX-License-Identifier: MIT */
/*
 * The vpnc-script interface (as OpenConnect and vpnc call it): the script
 * runs with reason=pre-init|connect|disconnect|reconnect and the tunnel's
 * parameters in its environment (TUNDEV, VPNGATEWAY, INTERNAL_IP4_*,
 * CISCO_DEF_DOMAIN, CISCO_SPLIT_INC_*, INTERNAL_IP6_*, ...).
 */
#ifndef TR_ANYCONNECT_SCRIPT_H
#define TR_ANYCONNECT_SCRIPT_H

#include "anyconnect/params.h"

#define TR_AC_ENV_MAX 160

struct tr_ac_env {
	char *v[TR_AC_ENV_MAX + 1]; /* "KEY=value", NULL-terminated */
	unsigned n;
};

/* Builds the environment for reason: the caller's own (PATH, ...) plus the
 * tunnel's variables; p and tundev may be NULL for pre-init. gateway is the
 * server's address. Returns 0 or -ENOMEM / -E2BIG. Free with
 * tr_ac_env_free(). */
int tr_ac_env_build(struct tr_ac_env *e, const char *reason, const char *tundev,
		    const char *gateway, const struct tr_ac_params *p);
void tr_ac_env_free(struct tr_ac_env *e);

/* Runs script with e as its environment and waits (at most timeout_s, then
 * kills it). Returns its exit status (0..255), or a negative errno. */
int tr_ac_script_run(const char *script, const struct tr_ac_env *e, int timeout_s);

/*
 * The script's root helper. The session gives up its privileges after
 * reason=connect, but reconnect and disconnect still change routes and DNS:
 * a child forked before the drop keeps root for exactly that. It takes one
 * byte per request over a socketpair, 'R' (reconnect) or 'D' (disconnect,
 * then exit), answers with the script's status, and runs each with the
 * environment built here at connect time, never with anything the
 * unprivileged side sends. When the session's end of the socket closes
 * without a 'D' (the session crashed), it runs disconnect anyway and exits,
 * so routes and DNS are restored whatever happened.
 */
struct tr_ac_script_helper {
	pid_t pid;
	int fd;
};

/* Forks the helper (call while root, before the privilege drop); it kills
 * a script still running after timeout_s (status 255). Returns 0 or a
 * negative errno. h->fd is -1 when none runs. */
int tr_ac_script_helper_start(struct tr_ac_script_helper *h, const char *script,
			      const struct tr_ac_env *reconnect, const struct tr_ac_env *disconnect,
			      int timeout_s);
/* Asks for 'R' or 'D' and waits for the script's status: timeout_s (the
 * helper's, as given to start) and a few seconds for the helper to kill the
 * script and answer. 'D' also reaps the helper. Returns the status or a
 * negative errno. */
int tr_ac_script_helper_run(struct tr_ac_script_helper *h, char reason, int timeout_s);

#endif
