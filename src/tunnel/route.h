/* SPDX-License-Identifier: MIT */
/*
 * Routes through the tunnel, as wg-quick sets them up: Routes = prefixes
 * into Table (main unless said), and a default route (0.0.0.0/0, ::/0) by
 * policy routing that keeps the tunnel's own datagrams outside: they carry
 * FwMark, and only unmarked packets see the tunnel's table. route.c.
 */
#ifndef TR_TUNNEL_ROUTE_H
#define TR_TUNNEL_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

struct tr_config;

struct tr_route_plan {
	uint32_t mark;    /* SO_MARK of the UDP socket; 0 = none */
	uint32_t table;   /* where Routes go: 254 main, another number, 0 = nowhere */
	uint32_t policy_table; /* default routes' table, with rules; 0 = none */
	bool policy4, policy6; /* a default route of that family */
};

/* What cfg asks for (nothing touched yet). */
void tr_route_plan(const struct tr_config *cfg, struct tr_route_plan *p);

/* Adds the routes through device dev (and the rules, with a default route),
 * while privileged. Rules outlive a process, so a helper process is forked
 * that keeps nothing but keep_fd (held, so that a restart waits until the
 * rules are gone) and removes them when this process ends, however it ends.
 * Routes go with the device. Says what it did, or what failed, on stderr.
 * Returns 0 or -errno. */
int tr_route_apply(const struct tr_config *cfg, const struct tr_route_plan *p, const char *dev,
		   int keep_fd);

#endif
