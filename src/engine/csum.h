/* SPDX-License-Identifier: MIT */
/*
 * Internal: the Internet checksum (RFC 1071) of the data path: TCP segments
 * cut from TSO reads (gso.c), coalesced ones (gro.c). tr_csum_add() picks,
 * per call, from the CPU's feature bits that the C runtime reads once per
 * process: an AVX2 loop where the CPU has AVX2, the portable one elsewhere.
 * Both give the same folded sum for every input (tests/unit/test_csum.c);
 * the unfolded 64-bit sums they return may differ, so only ever compare or
 * store folded values.
 */
#ifndef TR_ENGINE_CSUM_H
#define TR_ENGINE_CSUM_H

#include <stdbool.h>
#include <stdint.h>

/* Ones' complement sum of len bytes at p added to sum (not folded, not
 * inverted; p need not be aligned; an odd last byte is padded with zero).
 * Words are summed in the order they are loaded: store the folded result
 * the same way (memcpy), never through htons. */
uint64_t tr_csum_add(const void *p, uint32_t len, uint64_t sum);
/* The pseudo-header sum of the IPv4 (v6 false) or IPv6 header at ip for
 * an upper-layer length of l4_len (addresses read from ip). */
uint64_t tr_csum_pseudo(const uint8_t *ip, bool v6, uint32_t proto, uint32_t l4_len);
/* Folds a tr_csum_add() sum to 16 bits and inverts it, ready to store.
 * Inline: a few adds, called for every header and segment. */
static inline uint16_t tr_csum_fold(uint64_t sum)
{
	uint32_t s;

	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	s = (uint32_t)sum;
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)~s;
}

/* The loops behind tr_csum_add, for the tests and bench_csum: the portable
 * one, and the AVX2 one, which may only be called when tr_csum_avx2() says
 * the CPU has it (it falls back to the portable loop when built without). */
uint64_t tr_csum_add_scalar(const void *p, uint32_t len, uint64_t sum);
uint64_t tr_csum_add_avx2(const void *p, uint32_t len, uint64_t sum);
bool tr_csum_avx2(void);

#endif /* TR_ENGINE_CSUM_H */
