/* SPDX-License-Identifier: MIT */
/*
 * The running tunnel as tunnel.c (setup, control thread, teardown) and
 * status.c (what show and the log say) share it.
 */
#ifndef TR_TUNNEL_RUN_H
#define TR_TUNNEL_RUN_H

#include <time.h>

#include "config/config.h"
#include "ctl/server.h"
#include "tunnel/dataplane.h"
#include "tunnel/upkeep.h"
#include "tunroom/tun.h"

struct run {
	struct tr_tunnel t[TR_CONFIG_QUEUES_MAX];
	unsigned nq;
	const struct tr_config *cfg;
	struct tr_device *dev;
	time_t started;
	struct tr_upkeep up;
	const char *run_dir;
};

/* Control socket "get": state, then counters named <dir>_<drop|err>_<reason>. */
int tr_tunnel_ctl_get(void *arg, struct tr_ctl_reply *r);

/* What the counters say about a misconfigured pair, said in the log at most
 * every 10 s per kind. */
struct tr_hints {
	/* Counts already reported, from the peer's address and from others. */
	uint64_t spi, auth, other_spi, other_auth;
	time_t spi_at, auth_at, other_spi_at, other_auth_at; /* when */
};
void tr_tunnel_hint(struct run *run, struct tr_hints *h);

#endif
