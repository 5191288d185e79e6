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

#endif
