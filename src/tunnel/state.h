/* SPDX-License-Identifier: MIT */
/*
 * What a tunnel must remember across a restart with the same static keys
 * (docs/config.md, "Restarts"): per direction's keys, the outbound sequence
 * numbers reserved so far and the inbound numbers it may have delivered.
 * Each direction is matched alone, and the last few other keys of each are
 * kept too, so a run with one key changed (a typo, say) and then the old
 * config again never sends a number twice under one key. One small file,
 * /var/lib/tunroom/NAME.state (mode 0600), written and synced before the
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

/* Keys remembered per direction: the ones in use and the last three others. */
#define TR_STATE_KEYS 4

/* One direction's keys: a fingerprint of its cipher, ESN, SPI and keys (all
 * zero: unused) and the limit for them. */
struct tr_state_key {
	uint8_t fp[16];
	uint64_t limit;
};

struct tr_state {
	int fd;
	uint64_t gen;        /* of the newest record on disk */
	/* As on disk: outbound numbers <= out_limit may have been used; inbound
	 * numbers <= in_limit may have been delivered. */
	uint64_t out_limit, in_limit;
	bool out_known, in_known; /* the record had this direction's keys */
	/* Per direction, [0] the keys in use (fingerprint, limit), then others
	 * the file remembers, carried into every record written. */
	struct tr_state_key out[TR_STATE_KEYS], in[TR_STATE_KEYS];
	char path[256];
};

/*
 * Opens (creating dir 0700 and the file 0600 if needed) DIR/NAME.state and
 * loads it. A direction whose keys, SPI, cipher or ESN the file does not
 * know starts at limit 0; *why says why in a few words ("new", "damaged",
 * "for other keys", "for other outbound keys", "for other inbound keys");
 * *why is NULL when both directions were known.
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
