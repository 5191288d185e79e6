/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay window (RFC 4303 §3.4.3) as a word ring (RFC 6479 §2): sliding
 * the window zeroes the words it moves into instead of shifting the map.
 */
#include <errno.h>
#include <string.h>

#include "lib/barrier.h"
#include "codec/replay.h"

/* Words for a window of w bits: enough that the word being zeroed for a new
 * top never still holds a number inside (top - w, top]. A word reused for
 * block b last held block b - nwords, whose numbers are all
 * <= top - (nwords - 1) * 64 <= top - w once nwords >= w/64 + 1 (RFC 6479 §2,
 * "one redundant block"). Rounded up to a power of two so indexing is a mask. */
static uint32_t words_for(uint32_t window)
{
	uint32_t need = (window + 63) / 64 + 1, n = 1;

	while (n < need)
		n <<= 1;
	return n;
}

size_t tr_replay_size(uint32_t window)
{
	if (window < TR_REPLAY_MIN || window > TR_REPLAY_MAX)
		return 0;
	return sizeof(struct tr_replay) + (size_t)words_for(window) * sizeof(uint64_t);
}

int tr_replay_init(struct tr_replay *r, uint32_t window)
{
	size_t size = tr_replay_size(window);

	if (!r || !size)
		return -EINVAL;
	memset(r, 0, size);
	r->window = window;
	r->mask = words_for(window) - 1;
	return 0;
}

static uint32_t word_of(const struct tr_replay *r, uint64_t seq)
{
	return (uint32_t)(seq >> 6) & r->mask;
}

int tr_replay_check(const struct tr_replay *r, uint64_t seq)
{
	/* The sender starts at 1 (RFC 4303 §3.3.3), so 0 is never genuine. */
	if (seq == 0)
		return -ESTALE;
	if (seq > r->top)
		return 0;
	if (r->top - seq >= r->window)
		return -ESTALE;
	return (r->bits[word_of(r, seq)] >> (seq & 63)) & 1 ? -EALREADY : 0;
}

int tr_replay_update(struct tr_replay *r, uint64_t seq)
{
	int err = tr_replay_check(r, seq);

	if (err)
		return err;
	if (seq > r->top) {
		uint64_t from = r->top >> 6, to = seq >> 6, n = to - from;

		/* Zero the words the new top moves into; after nwords of them
		 * every old bit is out of the window, so stop there. */
		if (n > (uint64_t)r->mask + 1)
			n = (uint64_t)r->mask + 1;
		for (uint64_t i = 1; i <= n; i++)
			r->bits[(from + i) & r->mask] = 0;
		tr_store_once(&r->top, seq); /* read by the tunnel's upkeep thread */
	}
	r->bits[word_of(r, seq)] |= 1ull << (seq & 63);
	return 0;
}

void tr_replay_floor(struct tr_replay *r, uint64_t seq)
{
	if (seq > r->top)
		tr_store_once(&r->top, seq); /* read by the tunnel's upkeep thread */
	/* Every remembered number counts as seen: (top - W, top] all refused,
	 * older ones are refused as too old anyway. */
	memset(r->bits, 0xff, ((size_t)r->mask + 1) * sizeof(uint64_t));
}

uint64_t tr_replay_esn_infer(const struct tr_replay *r, uint32_t seq_lo)
{
	uint32_t tl = (uint32_t)r->top, th = (uint32_t)(r->top >> 32);
	uint32_t bottom = tl - r->window + 1; /* modulo 2^32, as Appendix A2.1 reads */
	uint32_t sh;

	if (tl >= r->window - 1) {
		/* Case A: the window sits inside one 2^32 subspace. A low half
		 * below its bottom can only come from the next subspace. */
		if (seq_lo >= bottom) {
			sh = th;
		} else {
			if (th == UINT32_MAX)
				return 0;
			sh = th + 1;
		}
	} else {
		/* Case B: the window straddles the subspace boundary. A low half
		 * at or above its (wrapped) bottom is from the previous subspace. */
		if (seq_lo >= bottom) {
			if (th == 0)
				return 0;
			sh = th - 1;
		} else {
			sh = th;
		}
	}
	return (uint64_t)sh << 32 | seq_lo;
}
