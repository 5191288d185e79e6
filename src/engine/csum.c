/* SPDX-License-Identifier: MIT */
/*
 * The Internet checksum: a portable loop and an AVX2 one (see csum.h).
 */
#include <arpa/inet.h>
#include <string.h>

#include "engine/csum.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CSUM_X86 1
#include <immintrin.h>
#endif

/* Adds w to a 64-bit ones' complement sum (end-around carry). */
static uint64_t csum_eac(uint64_t sum, uint64_t w)
{
	sum += w;
	return sum + (sum < w);
}

/* The ones' complement sum does not care about word size or byte order as
 * long as the result is folded to 16 bits and stored in the order it was
 * loaded in (RFC 1071). 32-bit words go into four 64-bit accumulators,
 * which cannot overflow below 2^32 words, so the loop carries no carry:
 * four independent adds per 16 bytes instead of one add-with-carry chain
 * per 8: about half the time (85 -> 43 ns per 1448 bytes; docs/benchmarks.md,
 * "Checksum loop"). */
uint64_t tr_csum_add_scalar(const void *p, uint32_t len, uint64_t sum)
{
	const uint8_t *b = p;
	uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
	uint32_t v[4];

	for (; len >= 16; len -= 16, b += 16) {
		memcpy(v, b, 16);
		a0 += v[0];
		a1 += v[1];
		a2 += v[2];
		a3 += v[3];
	}
	for (; len >= 4; len -= 4, b += 4) {
		memcpy(v, b, 4);
		a0 += v[0];
	}
	if (len) {
		uint8_t tail[4] = { 0 };

		memcpy(tail, b, len);
		memcpy(v, tail, 4);
		a0 += v[0];
	}
	sum = csum_eac(sum, a0);
	sum = csum_eac(sum, a1);
	sum = csum_eac(sum, a2);
	return csum_eac(sum, a3);
}

#ifdef CSUM_X86
/* Sum of the eight signed 32-bit lanes of a, widened to 64 bits. */
__attribute__((target("avx2"))) static int64_t lanes_sum(__m256i a)
{
	__m256i w = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(a)),
				     _mm256_cvtepi32_epi64(_mm256_extracti128_si256(a, 1)));
	__m128i s = _mm_add_epi64(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));

	return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}

/* 16-bit words (as loaded, little-endian) summed in pairs into 32-bit lanes
 * by vpmaddwd (times one). It takes words as signed: each is first flipped
 * by 0x8000, which turns w into exactly w - 32768, so a lane gets the pair's
 * sum minus 65536 per step; that is added back once per block. Three vector
 * operations per 32 bytes (xor, madd, add) where mask, shift and two adds
 * took four: 1348 bytes in 13.5 against 18.2 ns (docs/benchmarks.md). A lane
 * moves by at most 65536 a step: BLOCK steps stay far inside 32 bits, then
 * the lanes are widened and added into sum. Two accumulators let the loads
 * and adds overlap; the last bytes (fewer than 64) take the portable loop,
 * whose words start at the same even offset. */
#define BLOCK 16384u
__attribute__((target("avx2"))) uint64_t tr_csum_add_avx2(const void *p, uint32_t len,
							     uint64_t sum)
{
	const uint8_t *b = p;
	const __m256i flip = _mm256_set1_epi16((short)0x8000), one = _mm256_set1_epi16(1);

	while (len >= 64) {
		__m256i s0 = _mm256_setzero_si256(), s1 = s0;
		uint32_t steps = len / 64 < BLOCK ? len / 64 : BLOCK;
		/* Per step, each of the 8 lanes of both accumulators got
		 * two words of 32768 short. */
		int64_t back = (int64_t)steps * 16 * 65536;

		len -= steps * 64;
		for (; steps; steps--, b += 64) {
			__m256i v0 = _mm256_loadu_si256((const __m256i *)b);
			__m256i v1 = _mm256_loadu_si256((const __m256i *)(b + 32));

			s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_xor_si256(v0, flip), one));
			s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_xor_si256(v1, flip), one));
		}
		sum = csum_eac(sum, (uint64_t)(lanes_sum(s0) + lanes_sum(s1) + back));
	}
	return tr_csum_add_scalar(b, len, sum);
}

bool tr_csum_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}
#else
uint64_t tr_csum_add_avx2(const void *p, uint32_t len, uint64_t sum)
{
	return tr_csum_add_scalar(p, len, sum);
}

bool tr_csum_avx2(void)
{
	return false;
}
#endif

/* The C runtime reads the CPU's features once per process; the test here is
 * a load and a predictable branch per call. Below AVX_MIN bytes (headers,
 * pseudo-headers) the vector loop's set-up and lane sum cost more than they
 * save (bench_csum: 64 bytes take 7.2 ns in it against 5.8). */
#define AVX_MIN 128u
uint64_t tr_csum_add(const void *p, uint32_t len, uint64_t sum)
{
	if (len >= AVX_MIN && tr_csum_avx2())
		return tr_csum_add_avx2(p, len, sum);
	return tr_csum_add_scalar(p, len, sum);
}

/* Pseudo-header of RFC 793/8200 for a TCP or UDP length of l4_len. */
uint64_t tr_csum_pseudo(const uint8_t *ip, bool v6, uint32_t proto, uint32_t l4_len)
{
	uint64_t sum = v6 ? tr_csum_add(ip + 8, 32, 0) : tr_csum_add(ip + 12, 8, 0);

	sum += htonl(l4_len);
	sum += htonl(proto);
	return sum;
}
