/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay window for one inbound SA (RFC 4303 §3.4.3), kept as a ring of
 * 64-bit words in the manner of RFC 6479 so that sliding costs whole-word
 * clears, never a bit shift of the map. Also infers the high half of an
 * extended sequence number (RFC 4303 Appendix A).
 */
#ifndef TR_CODEC_REPLAY_H
#define TR_CODEC_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define TR_REPLAY_MIN 32u     /* RFC 4303 §3.4.3: a window of 32 MUST be supported */
#define TR_REPLAY_MAX 65536u  /* our limit; its bitmap is 16 KiB */

struct tr_replay {
	uint64_t top;    /* highest sequence number that passed authentication; 0 = none */
	uint32_t window; /* W: numbers in (top - W, top] are remembered, older ones are refused */
	uint32_t mask;   /* words in bits[] minus one (a power of two minus one) */
	uint64_t bits[]; /* bit (n & 63) of word (n >> 6) & mask set = n was seen */
};

/* Bytes a tr_replay of this window needs (struct and bitmap), or 0 when the
 * window is outside [TR_REPLAY_MIN, TR_REPLAY_MAX]. */
size_t tr_replay_size(uint32_t window);

/* Prepares r (tr_replay_size(window) bytes) as an empty window.
 * Returns 0, or -EINVAL when the window is out of range. */
int tr_replay_init(struct tr_replay *r, uint32_t window);

/* Would seq be accepted? Does not change r (the pre-check before the ICV).
 * Returns 0 (new), -EALREADY (inside the window and already seen), or
 * -ESTALE (left of the window, or 0, which is never sent). */
int tr_replay_check(const struct tr_replay *r, uint64_t seq);

/* Marks seq as seen, sliding the window when seq is above top. Call only for
 * packets whose ICV verified (RFC 4303 §3.4.3). Same returns as
 * tr_replay_check; on an error nothing changes. */
int tr_replay_update(struct tr_replay *r, uint64_t seq);

/* Refuses every number up to and including seq from now on, as if each had
 * been seen (the floor a restarted receiver sets from its saved state): top
 * becomes seq if it was lower and the whole window is marked. */
void tr_replay_floor(struct tr_replay *r, uint64_t seq);

/* Full 64-bit number for a received low half under ESN (RFC 4303 Appendix
 * A2.1: the guess that lands in or right of the window). Returns 0 when the
 * only candidate would lie below sequence number 0 or above 2^64-1; 0 then
 * fails tr_replay_check as too old. */
uint64_t tr_replay_esn_infer(const struct tr_replay *r, uint32_t seq_lo);

#endif
