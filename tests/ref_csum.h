/* SPDX-License-Identifier: MIT */
/*
 * The Internet checksum the slow, obvious way (RFC 1071): 16-bit big-endian
 * words one at a time into a 64-bit sum, folded at the end. The reference
 * the tests and fuzz targets hold src/engine/csum.c's loops to; shares no
 * code with them on purpose.
 */
#ifndef TR_TESTS_REF_CSUM_H
#define TR_TESTS_REF_CSUM_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t ref_csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint64_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint64_t)p[len - 1] << 8;
	return sum;
}

/* Folded to 16 bits and inverted, as stored: 0 over data whose checksum
 * is right. */
static inline uint16_t ref_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
