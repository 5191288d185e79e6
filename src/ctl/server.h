/* SPDX-License-Identifier: MIT */
/*
 * The control socket's server end: the listening socket DIR/NAME.sock with
 * its directory, modes and stale-socket rules, and serving one request per
 * connection through the caller's get/stop callbacks.
 */
#ifndef TR_CTL_SERVER_H
#define TR_CTL_SERVER_H

#include "ctl/proto.h"

/* The served process's side. Both run on the control thread, never on a data
 * thread: get reads counters with relaxed loads; stop only asks (sets a flag,
 * writes an eventfd). Each returns 0 or a negative errno, sent back as
 * errno=N. */
struct tr_ctl_ops {
	int (*get)(void *arg, struct tr_ctl_reply *r);
	int (*stop)(void *arg);
};

/* Serves one connection on fd (read request, call ops, write reply), bounded
 * by TR_CTL_TIMEOUT_MS. Does not close fd. Returns the command served or a
 * negative errno. */
int tr_ctl_serve(int fd, const struct tr_ctl_ops *ops, void *arg);

struct tr_ctl;

/* Creates DIR (0700) and binds DIR/NAME.sock (0600). A socket file nobody
 * listens on (connect gives ECONNREFUSED) is stale and replaced; one that
 * answers means the tunnel runs: -EADDRINUSE. dir NULL = TR_CTL_DIR_DEFAULT. */
int tr_ctl_open(struct tr_ctl **out, const char *dir, const char *name,
		const struct tr_ctl_ops *ops, void *arg);
/* The listening descriptor, for a caller's poll loop. */
int tr_ctl_fd(const struct tr_ctl *c);
/* Accepts one waiting client and serves it; -EAGAIN when none waits. */
int tr_ctl_accept(struct tr_ctl *c);
/* Serves from a thread of its own until tr_ctl_close(). */
int tr_ctl_start(struct tr_ctl *c);
/* Stops the thread, unlinks the socket, frees. NULL does nothing. */
void tr_ctl_close(struct tr_ctl *c);

#endif
