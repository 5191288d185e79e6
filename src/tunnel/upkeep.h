/* SPDX-License-Identifier: MIT */
/*
 * The control thread's share of the data plane, between control requests:
 * sequence number reservations in the state file (ahead of the workers),
 * hellos after a (re)start and their answers, and the log lines about the
 * peer (restarted, moved, routing loop).
 */
#ifndef TR_TUNNEL_UPKEEP_H
#define TR_TUNNEL_UPKEEP_H

#include "tunnel/dataplane.h"
#include "tunnel/state.h"

/* TR_UPKEEP_BLOCK, the numbers reserved per write: dataplane.h (the
 * workers ask for the next block at its half, tr_tunnel_ahead). */

struct tr_upkeep {
	struct tr_state st;
	const char *name;
	uint64_t block;         /* numbers per reservation: TR_UPKEEP_BLOCK (tests: fewer) */
	uint64_t want_jump;     /* the peer refuses our numbers up to this */
	uint64_t peer_instance; /* 0 until its first hello */
	uint32_t hello_gen[16]; /* per queue: last hello_rx.gen taken */
	bool hello_done;        /* the peer acknowledged our hello */
	bool ack_due;
	unsigned hello_tries;
	uint64_t hello_next_ms;
	uint64_t peer_restarts; /* shown */
	uint64_t loop_said;
	uint64_t seen_out, seen_in; /* the highest numbers last turn: moving? */
	uint32_t roam_gen[16];  /* per queue: the last move said */
	union tr_sockaddr roam_last;
	time_t save_err_at;
	const char *why;        /* no record loaded: why (tr_state_open) */
};

/* While still privileged: opens and loads DIR/NAME.state. Returns 0 or
 * -errno (said on stderr). */
int tr_upkeep_open(struct tr_upkeep *u, const struct tr_config *cfg, const char *dir);
/* Once the SAs exist, before the workers start: sets the outbound sequence
 * and the inbound floor from the state, reserves the first blocks (synced)
 * and queues a hello. Says what it found. Returns 0 or -errno (said). */
int tr_upkeep_start(struct tr_upkeep *u, struct tr_tunnel *t, unsigned n);
/* One turn: when a worker pokes upkeep_evt, and at the latest after the
 * milliseconds the last turn returned (50 while numbers move or something
 * waits, until the next hello retry, else 5000: upkeep.c). */
int tr_upkeep_run(struct tr_upkeep *u, struct tr_tunnel *t, unsigned n);
void tr_upkeep_stop(struct tr_upkeep *u);

#endif
