/* SPDX-License-Identifier: MIT */
/*
 * bench_csum: the TUN thread's checksum loop (src/engine/csum.c), portable
 * against AVX2, side by side in one run: ns per call and ns per byte for a
 * TSO segment's payload (1448 B) and others, hot in L1 (the same bytes over
 * and over), and walking a buffer the way the TUN thread walks one TSO read
 * (1448-byte segments of a 64 KiB super-packet) and a buffer larger than the
 * caches. Thread CPU time, variants interleaved, best burst of ROUNDS. Not a
 * test: no asserts on speed (tests/unit/test_csum.c checks the sums).
 *
 *   ninja -C build && build/bench/bench_csum [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/csum.h"

#define ROUNDS 15

typedef uint64_t csum_fn(const void *p, uint32_t len, uint64_t sum);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Sums `calls` pieces of len bytes, the piece at offset (k * len) % span of
 * buf: span = len keeps them hot, a larger span walks the buffer. Returns
 * ns per call; *sink keeps the sums alive. */
static double burst(csum_fn *fn, const uint8_t *buf, uint32_t span, uint32_t len,
		    unsigned calls, uint64_t *sink)
{
	uint32_t off = 0;
	double t0 = now_ns();

	for (unsigned k = 0; k < calls; k++) {
		*sink += fn(buf + off, len, 0);
		off += len;
		if (off + len > span)
			off = 0;
	}
	return (now_ns() - t0) / calls;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		uint32_t len, span;
	} cases[] = {
		{ "20 B (IPv4 header), hot", 20, 20 },
		{ "64 B, hot", 64, 64 },
		{ "1448 B, hot", 1448, 1448 },
		{ "1448 B, walking 64 KiB (a TSO read)", 1448, 65536 },
		{ "1448 B, walking 16 MiB (out of cache)", 1448, 16u << 20 },
		{ "65536 B, hot", 65536, 65536 },
	};
	int quick = argc > 1 && !strcmp(argv[1], "--quick");
	double budget = quick ? 2e6 : 20e6; /* ns of work per variant and round */
	uint32_t size = 16u << 20;
	uint8_t *buf = malloc(size);
	uint64_t sink = 0;

	if (!buf)
		return 1;
	for (uint32_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	printf("bench_csum: this CPU %s AVX2; best of %d interleaved bursts, thread CPU time\n",
	       tr_csum_avx2() ? "has" : "lacks", quick ? 3 : ROUNDS);
	printf("%-40s %12s %12s %12s %12s %7s\n", "case", "scalar ns", "avx2 ns", "scalar ns/B",
	       "avx2 ns/B", "ratio");
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint32_t len = cases[c].len;
		unsigned calls = (unsigned)(budget / (len * 0.04 + 5));
		double best[2] = { 1e18, 1e18 };

		if (!tr_csum_avx2()) {
			best[1] = 0;
		}
		for (int r = 0; r < (quick ? 3 : ROUNDS); r++) {
			double t = burst(tr_csum_add_scalar, buf, cases[c].span, len, calls, &sink);

			best[0] = t < best[0] ? t : best[0];
			if (tr_csum_avx2()) {
				t = burst(tr_csum_add_avx2, buf, cases[c].span, len, calls, &sink);
				best[1] = t < best[1] ? t : best[1];
			}
		}
		printf("%-40s %12.1f %12.1f %12.4f %12.4f %6.2fx\n", cases[c].name, best[0], best[1],
		       best[0] / len, best[1] / len, best[1] > 0 ? best[0] / best[1] : 0);
	}
	free(buf);
	return sink == 42; /* never: keeps the sums computed */
}
