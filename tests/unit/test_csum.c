/* SPDX-License-Identifier: MIT */
/* The Internet checksum loops (src/engine/csum.c): the AVX2 loop and the
 * dispatching tr_csum_add() give the folded sum of the portable loop, and
 * all of them that of a plain RFC 1071 sum written here, at every length up
 * to a few blocks and every alignment within a 64-byte line, odd lengths
 * included, from several seeds; then lengths past the vector loop's block,
 * where its lanes come closest to overflowing. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/csum.h"
#include "../ref_csum.h"

#define MAXLEN 1600u /* 25 blocks of the AVX2 loop, and every tail */
#define ALIGNS 64u

/* The folded checksum of each loop, in network order (ntohs of the value as
 * stored), seeded with seed (in the loops' order: a folded sum they made). */
static void check_all(const uint8_t *p, uint32_t len, uint16_t seed_be, int avx2)
{
	uint16_t seed_ne = htons(seed_be);
	uint16_t want = ref_csum_fold(ref_csum_add(seed_be, p, len));
	uint16_t s = ntohs(tr_csum_fold(tr_csum_add_scalar(p, len, seed_ne)));
	uint16_t d = ntohs(tr_csum_fold(tr_csum_add(p, len, seed_ne)));

	if (s != want || d != want)
		fail_msg("len %u at %p seed %#x: scalar %#x dispatch %#x, want %#x", len,
			 (const void *)p, seed_be, s, d, want);
	if (avx2) {
		uint16_t v = ntohs(tr_csum_fold(tr_csum_add_avx2(p, len, seed_ne)));

		if (v != want)
			fail_msg("len %u at %p seed %#x: avx2 %#x, want %#x", len,
				 (const void *)p, seed_be, v, want);
	}
}

static void fill(uint8_t *b, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		b[i] = (uint8_t)(x >> 24);
	}
}

static void test_every_length_and_alignment(void **state)
{
	static const uint16_t seeds[] = { 0, 0xffff, 0x1234 };
	uint8_t *buf = aligned_alloc(64, MAXLEN + ALIGNS);
	int avx2 = tr_csum_avx2();

	(void)state;
	assert_non_null(buf);
	for (int pattern = 0; pattern < 3; pattern++) {
		/* random bytes; all ones (every add carries); all zeros (the
		 * sum that folds to 0xffff, not 0) */
		if (pattern == 0)
			fill(buf, MAXLEN + ALIGNS, 7);
		else
			memset(buf, pattern == 1 ? 0xff : 0, MAXLEN + ALIGNS);
		for (uint32_t a = 0; a < ALIGNS; a++)
			for (uint32_t len = 0; len <= MAXLEN; len++)
				for (unsigned s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
					check_all(buf + a, len, seeds[s], avx2);
	}
	free(buf);
}

/* Past one block of the vector loop (16384 steps of 64 bytes, 1 MiB) and
 * past two, all ones, at odd and even addresses and lengths. */
static void test_long(void **state)
{
	const uint32_t n = (3u << 20) + 200;
	static const uint32_t lens[] = { (1u << 20) - 1, 1u << 20, (1u << 20) + 63,
					 (2u << 20) + 65, (3u << 20) + 101 };
	uint8_t *buf = malloc(n);
	int avx2 = tr_csum_avx2();

	(void)state;
	assert_non_null(buf);
	for (int pattern = 0; pattern < 2; pattern++) {
		if (pattern == 0)
			memset(buf, 0xff, n);
		else
			fill(buf, n, 99);
		for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			for (uint32_t a = 0; a < 4; a++)
				check_all(buf + a, lens[i], 0xffff, avx2);
	}
	free(buf);
}

/* Sums chained at even cuts equal one pass, whichever loop took each part. */
static void test_chained(void **state)
{
	uint8_t buf[2000];

	(void)state;
	fill(buf, sizeof(buf), 3);
	for (uint32_t cut = 0; cut <= 1999; cut += 2) {
		uint64_t s = tr_csum_add(buf, cut, 0);
		uint16_t one = tr_csum_fold(tr_csum_add_scalar(buf, 1999, 0));

		assert_int_equal(tr_csum_fold(tr_csum_add(buf + cut, 1999 - cut, s)), one);
		s = tr_csum_add_scalar(buf, cut, 0);
		assert_int_equal(tr_csum_fold(tr_csum_add(buf + cut, 1999 - cut, s)), one);
	}
}

/* The kernel's word on the CPU: its "avx2" flag in /proc/cpuinfo (cleared
 * where the OS does not save the wide registers), or -1 if unreadable. */
static int cpuinfo_avx2(void)
{
	static char line[16384]; /* a flags line is long */
	int found = -1;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5))
			found = strstr(line, " avx2 ") || strstr(line, " avx2\n");
	fclose(f);
	return found;
}

/* tr_csum_add takes the AVX2 loop exactly where the kernel says the CPU
 * has AVX2: never where it would fault, never left out where it helps. */
static void test_avx2_detected(void **state)
{
	(void)state;
#if defined(__x86_64__)
	int want = cpuinfo_avx2();

	if (want < 0)
		skip(); /* no /proc/cpuinfo flags line to compare with */
	assert_int_equal(tr_csum_avx2(), want);
#else
	assert_false(tr_csum_avx2()); /* not x86-64: only the portable loop exists */
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_length_and_alignment),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_chained),
		cmocka_unit_test(test_avx2_detected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
