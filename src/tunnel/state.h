/* SPDX-License-Identifier: MIT */
/*
 * What a tunnel must remember across a restart with the same static keys
 * (docs/config.md, "Restarts"): per SA pair, the outbound sequence numbers
 * reserved so far and the inbound numbers it may have delivered. One small
 * file, /var/lib/tunroom/NAME.state (mode 0600), written and synced before the
 * numbers it covers are used.
 *
 * The file holds two copies of the record, a sector apart, written in turn
 * (generation number, checksum): a crash in the middle of a write leaves the
 * other copy whole, and loading takes the newest whole one.
 */
#ifndef TR_TUNNEL_STATE_H
#define TR_TUNNEL_STATE_H

#include <stdbool.h>
#include <stdint.h>

struct tr_config;

#define TR_STATE_DIR_DEFAULT "/var/lib/tunroom"

struct tr_state {
	int fd;
	uint64_t gen;        /* of the newest record on disk */
	uint8_t fp[16];      /* fingerprint of the keys and SPIs the record is for */
	/* As on disk: outbound numbers <= out_limit may have been used; inbound
	 * numbers <= in_limit may have been delivered. */
	uint64_t out_limit, in_limit;
	char path[256];
};

/*
 * Opens (creating dir 0700 and the file 0600 if needed) DIR/NAME.state and
 * loads it. A missing, unreadable or foreign record (other keys, SPIs,
 * cipher or ESN) leaves both limits 0 and *why says why in a few words ("new",
 * "for other keys", "damaged"); *why is NULL when a record was loaded.
 * Returns 0 or -errno (st->fd stays -1).
 */
int tr_state_open(struct tr_state *st, const char *dir, const struct tr_config *cfg,
		  const char **why);

/* Writes both limits as the next record and syncs it (fdatasync). On success
 * st's limits are the new ones. Returns 0 or -errno (nothing may be used
 * beyond the old limits then). */
int tr_state_save(struct tr_state *st, uint64_t out_limit, uint64_t in_limit);

void tr_state_close(struct tr_state *st);

#endif
