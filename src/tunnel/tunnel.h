/* SPDX-License-Identifier: MIT */
/*
 * The one entry point from the CLI into the ESP-over-UDP tunnel: run it from a
 * parsed, checked configuration until told to stop.
 */
#ifndef TR_TUNNEL_TUNNEL_H
#define TR_TUNNEL_TUNNEL_H

#include <stdbool.h>

struct tr_config;
struct tr_privdrop_user;

struct tr_tunnel_opts {
	/* Directory of the control socket NAME.sock; NULL = TR_CTL_DIR_DEFAULT. */
	const char *run_dir;
	/* Directory of the state file NAME.state (restart safety); NULL =
	 * /var/lib/tunroom. Created 0700 if missing. */
	const char *state_dir;
	/* Called once, from the calling thread, when the device, sockets and
	 * control socket are up and traffic flows: `tunroom up -d` detaches the
	 * terminal here, so every setup error still reaches it. May be NULL. */
	void (*ready)(void *arg);
	void *ready_arg;
	/* Called once, from the calling thread, as soon as the control socket
	 * is up (the name is this process's: a second tunnel of the name is
	 * refused before) and while the privileges of the setup are still
	 * held: `tunroom up --pid-file` records its file for `tunroom down`
	 * in the run directory here. May be NULL. */
	void (*named)(void *arg, const char *name);
	void *named_arg;
	/* cfg->user looked up by the caller (tr_privdrop_lookup, which must
	 * run before anything else: `tunroom up` reports a missing user with
	 * the config's line). Required when cfg->user is set. */
	const struct tr_privdrop_user *user;
};

/*
 * Brings the tunnel described by cfg up (TUN device, rings, UDP socket, SAs,
 * control socket) and runs it in the foreground until SIGINT or SIGTERM
 * arrives, or a client sends stop=1 on the control socket; then tears it all
 * down. The caller has already checked cfg with tr_config_finish(); the tunnel
 * copies what it keeps, so cfg may be wiped when this returns.
 *
 * Once the device, the UDP socket and the control socket are set up, and
 * before any thread starts, it gives up its privileges for the rest of the
 * process's life: to cfg->user, or, with none, to uid 0 without capabilities
 * (docs/security.md). So it runs once per process.
 *
 * Returns 0 after a clean stop, or a negative errno: -EPERM (needs
 * CAP_NET_ADMIN), -EADDRINUSE (a tunnel with that name runs already, or the
 * UDP port is taken), -EINVAL (cfg->user set, but no opts->user, or uid 0),
 * or the error of the step that failed. On failure
 * nothing is left behind but, after a drop to cfg->user, the control socket
 * file, which nobody listens on: the next tr_ctl_open() replaces it.
 */
int tr_tunnel_run(const struct tr_config *cfg, const struct tr_tunnel_opts *opts);

#endif
