/* SPDX-License-Identifier: MIT */
/* Anti-replay window (RFC 4303 §3.4.3, RFC 6479 layout) and ESN inference
 * (RFC 4303 Appendix A), against a plain set-of-seen-numbers model. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec/replay.h"

static struct tr_replay *new_window(uint32_t w)
{
	struct tr_replay *r = malloc(tr_replay_size(w));

	assert_non_null(r);
	assert_int_equal(tr_replay_init(r, w), 0);
	return r;
}

static void sizes(void **state)
{
	(void)state;
	uint8_t buf[64];

	assert_int_equal(tr_replay_size(0), 0);
	assert_int_equal(tr_replay_size(TR_REPLAY_MIN - 1), 0);
	assert_int_equal(tr_replay_size(TR_REPLAY_MAX + 1), 0);
	assert_true(tr_replay_size(TR_REPLAY_MIN) > sizeof(struct tr_replay));
	/* 1024 bits: 16 words + one spare, rounded to 32 words */
	assert_int_equal(tr_replay_size(1024), sizeof(struct tr_replay) + 32 * 8);
	assert_int_equal(tr_replay_size(4096), sizeof(struct tr_replay) + 128 * 8);
	assert_int_equal(tr_replay_init((struct tr_replay *)buf, 16), -EINVAL);
	assert_int_equal(tr_replay_init(NULL, 64), -EINVAL);
}

static void basics(void **state)
{
	(void)state;
	struct tr_replay *r = new_window(64);

	assert_int_equal(tr_replay_check(r, 0), -ESTALE);
	assert_int_equal(tr_replay_update(r, 0), -ESTALE);
	assert_int_equal(tr_replay_check(r, 1), 0);
	assert_int_equal(tr_replay_update(r, 1), 0);
	assert_int_equal(tr_replay_check(r, 1), -EALREADY);
	assert_int_equal(tr_replay_update(r, 1), -EALREADY);
	assert_int_equal(tr_replay_update(r, 3), 0);
	assert_int_equal(tr_replay_update(r, 2), 0);
	assert_int_equal(tr_replay_update(r, 100), 0);
	/* window is (100 - 64, 100] = 37..100 */
	assert_int_equal(tr_replay_check(r, 37), 0);
	assert_int_equal(tr_replay_check(r, 36), -ESTALE);
	assert_int_equal(tr_replay_check(r, 3), -ESTALE);
	assert_int_equal(tr_replay_update(r, 37), 0);
	assert_int_equal(tr_replay_check(r, 37), -EALREADY);
	/* a jump far beyond the map forgets everything older */
	assert_int_equal(tr_replay_update(r, 1000000), 0);
	assert_int_equal(tr_replay_check(r, 1000000 - 63), 0);
	assert_int_equal(tr_replay_check(r, 1000000 - 64), -ESTALE);
	assert_int_equal(r->top, 1000000);
	free(r);
}

static void check_does_not_write(void **state)
{
	(void)state;
	struct tr_replay *r = new_window(1024);
	size_t size = tr_replay_size(1024);
	uint8_t *before = malloc(size);

	for (uint64_t s = 1; s < 3000; s += 3)
		assert_int_equal(tr_replay_update(r, s), 0);
	memcpy(before, r, size);
	for (uint64_t s = 0; s < 5000; s++)
		(void)tr_replay_check(r, s);
	assert_memory_equal(before, r, size);
	free(before);
	free(r);
}

/* xorshift64*: deterministic, so a failure replays. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

#define SPAN (1u << 24)

static int model_check(const uint8_t *seen, uint64_t top, uint32_t w, uint64_t seq)
{
	if (seq == 0)
		return -ESTALE;
	if (seq > top)
		return 0;
	if (top - seq >= w)
		return -ESTALE;
	return seen[seq] ? -EALREADY : 0;
}

static void against_model(void **state)
{
	(void)state;
	static const uint32_t windows[] = { 32, 63, 64, 65, 100, 1024, 4096, 65536 };
	uint8_t *seen = malloc(SPAN);
	uint64_t s = 0x9e3779b97f4a7c15ull;

	assert_non_null(seen);
	for (size_t k = 0; k < sizeof(windows) / sizeof(windows[0]); k++) {
		uint32_t w = windows[k];
		struct tr_replay *r = new_window(w);
		uint64_t top = 0;
		int ops = 0;

		memset(seen, 0, SPAN);
		for (int i = 0; i < 200000; i++) {
			uint64_t x = rnd(&s), seq;
			int64_t delta;

			switch (x % 16) {
			case 0:  /* ahead, now and then by more than the whole map */
				delta = (int64_t)((x >> 8) % ((x >> 56) < 4 ? 3 * w + 1 : w / 8 + 2));
				break;
			case 1:  delta = -(int64_t)w + (int64_t)((x >> 8) % 3) - 1; break; /* edge of window */
			default: delta = (int64_t)((x >> 8) % (w + 40)) - (int64_t)w - 20 + 8; break;
			}
			if ((int64_t)top + delta < 0)
				delta = -(int64_t)top;
			seq = top + delta;
			if (seq >= SPAN - 1)
				break;
			ops++;
			int want = model_check(seen, top, w, seq);
			assert_int_equal(tr_replay_check(r, seq), want);
			/* authenticate most packets; a failed ICV must not
			 * change anything */
			if ((x >> 60) < 13) {
				assert_int_equal(tr_replay_update(r, seq), want);
				if (!want) {
					seen[seq] = 1;
					if (seq > top)
						top = seq;
				}
			}
			assert_true(r->top == top);
		}
		/* the walk stayed inside the model's span long enough to matter */
		assert_true(ops > 50000);
		free(r);
	}
	free(seen);
}

static void esn_infer(void **state)
{
	(void)state;
	struct tr_replay *r = new_window(64);

	/* Nothing received yet: small numbers are in subspace 0, numbers just
	 * below 2^32 would be in subspace -1, so they are refused (0). */
	assert_int_equal(tr_replay_esn_infer(r, 1), 1);
	assert_int_equal(tr_replay_esn_infer(r, 0xffffffffu), 0);
	assert_int_equal(tr_replay_check(r, tr_replay_esn_infer(r, 0xffffffffu)), -ESTALE);

	/* Case B: window straddles 2^32 (top = 2^32 + 5, bottom wraps). */
	r->top = 0x100000005ull;
	assert_true(tr_replay_esn_infer(r, 0xfffffff0u) == 0xfffffff0ull);
	assert_true(tr_replay_esn_infer(r, 0xffffffc6u) == 0xffffffc6ull); /* bottom = 5 - 63 */
	assert_true(tr_replay_esn_infer(r, 0xffffffc5u) == 0x1ffffffc5ull); /* far ahead */
	assert_true(tr_replay_esn_infer(r, 3) == 0x100000003ull);
	assert_true(tr_replay_esn_infer(r, 0x80000000u) == 0x180000000ull);

	/* Case A: window inside one subspace. */
	r->top = 0x200001000ull;
	assert_true(tr_replay_esn_infer(r, 0xfc1) == 0x200000fc1ull); /* bottom */
	assert_true(tr_replay_esn_infer(r, 0xfc0) == 0x300000fc0ull); /* next subspace */
	assert_true(tr_replay_esn_infer(r, 0x1001) == 0x200001001ull);
	assert_true(tr_replay_esn_infer(r, 0xffffffffu) == 0x2ffffffffull);

	/* Case A at the very top of the 64-bit space: no subspace after it. */
	r->top = 0xffffffffffffff00ull;
	assert_true(tr_replay_esn_infer(r, 5) == 0);
	assert_true(tr_replay_esn_infer(r, 0xffffffffu) == UINT64_MAX);

	/* Case B exactly at the boundary: top low half = W - 2. */
	r->top = 0x10000003eull;
	assert_true(tr_replay_esn_infer(r, 0xffffffffu) == 0xffffffffull);
	assert_true(tr_replay_esn_infer(r, 0) == 0x100000000ull);
	free(r);
}

/* Sequence numbers crossing 2^32 keep working through the 64-bit window. */
static void esn_across_boundary(void **state)
{
	(void)state;
	struct tr_replay *r = new_window(1024);

	r->top = 0xfffffe00ull;
	for (uint64_t s = 0xfffffe01ull; s < 0x100000400ull; s++) {
		uint64_t got = tr_replay_esn_infer(r, (uint32_t)s);

		assert_true(got == s);
		assert_int_equal(tr_replay_update(r, got), 0);
		/* a replay of a number 100 back is caught under inference too */
		if (s > 0xfffffe01ull + 100)
			assert_int_equal(tr_replay_check(r, tr_replay_esn_infer(r, (uint32_t)(s - 100))), -EALREADY);
	}
	free(r);
}

/* A restarted receiver's floor: everything up to it refused, in the window
 * and left of it; above it accepted, and the window slides on normally. */
static void floor_after_restart(void **state)
{
	(void)state;
	struct tr_replay *r = new_window(64);

	assert_int_equal(tr_replay_update(r, 5), 0);
	tr_replay_floor(r, 1000);
	assert_int_equal(tr_replay_check(r, 1000), -EALREADY);
	assert_int_equal(tr_replay_check(r, 999), -EALREADY);
	assert_int_equal(tr_replay_check(r, 937), -EALREADY);
	assert_int_equal(tr_replay_check(r, 936), -ESTALE);
	assert_int_equal(tr_replay_check(r, 5), -ESTALE);
	assert_int_equal(tr_replay_check(r, 1001), 0);
	assert_int_equal(tr_replay_update(r, 1100), 0);
	/* Slid past the floor: the gap above it is new, the floor stays seen. */
	assert_int_equal(tr_replay_check(r, 1050), 0);
	assert_int_equal(tr_replay_update(r, 1050), 0);
	assert_int_equal(tr_replay_check(r, 1050), -EALREADY);
	/* A lower floor never moves top back. */
	tr_replay_floor(r, 10);
	assert_int_equal(r->top, 1100);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(basics),
		cmocka_unit_test(check_does_not_write),
		cmocka_unit_test(against_model),
		cmocka_unit_test(esn_infer),
		cmocka_unit_test(esn_across_boundary),
		cmocka_unit_test(floor_after_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
