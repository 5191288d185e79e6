/* SPDX-License-Identifier: MIT */
/* Test helper: builds IPv4 headers and ICMP echo requests (IPv4, IPv6) and
 * checks that a packet is the echo reply to one of them. Header-only, tests
 * and benchmarks only. */
#ifndef TR_TEST_ICMP_H
#define TR_TEST_ICMP_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../ref_csum.h" /* the Internet checksum: RFC 791 §3.1, RFC 792 */

#define ICMP_ECHO_ID 0x7472 /* "tr" */
#define ICMP_PAYLOAD 56

static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline void fill_payload(uint8_t *p, uint16_t seq)
{
	for (unsigned i = 0; i < ICMP_PAYLOAD; i++)
		p[i] = (uint8_t)(seq + i);
}

/* A packet of len bytes, zeroed, under an IPv4 header (RFC 791: TTL 64,
 * identification id) of protocol proto from src to dst, with its header
 * checksum, or 0 there when csum is false (the kernel drops it on input). */
static inline void build_ip4(uint8_t *buf, size_t len, uint8_t proto, const char *src,
			     const char *dst, uint16_t id, bool csum)
{
	memset(buf, 0, len);
	buf[0] = 0x45;
	put16(buf + 2, (uint16_t)len);
	put16(buf + 4, id);
	buf[8] = 64;
	buf[9] = proto;
	inet_pton(AF_INET, src, buf + 12);
	inet_pton(AF_INET, dst, buf + 16);
	if (csum)
		put16(buf + 10, ref_csum_fold(ref_csum_add(0, buf, 20)));
}

/* IPv4 (RFC 791) + ICMP echo request (RFC 792, type 8). Returns the length. */
static inline size_t build_echo4(uint8_t *buf, const char *src, const char *dst, uint16_t seq)
{
	size_t len = 20 + 8 + ICMP_PAYLOAD;
	uint8_t *icmp = buf + 20;

	build_ip4(buf, len, 1 /* ICMP */, src, dst, seq, true);
	icmp[0] = 8;
	put16(icmp + 4, ICMP_ECHO_ID);
	put16(icmp + 6, seq);
	fill_payload(icmp + 8, seq);
	put16(icmp + 2, ref_csum_fold(ref_csum_add(0, icmp, 8 + ICMP_PAYLOAD)));
	return len;
}

/* IPv6 (RFC 8200) + ICMPv6 echo request (RFC 4443 §4.1, type 128); the
 * checksum covers the pseudo-header (RFC 8200 §8.1, RFC 4443 §2.3). */
static inline uint64_t pseudo6(const uint8_t *ip6, uint32_t plen)
{
	uint8_t tail[8] = { 0 };

	tail[0] = (uint8_t)(plen >> 24);
	tail[1] = (uint8_t)(plen >> 16);
	tail[2] = (uint8_t)(plen >> 8);
	tail[3] = (uint8_t)plen;
	tail[7] = 58;
	return ref_csum_add(ref_csum_add(0, ip6 + 8, 32), tail, 8);
}

static inline size_t build_echo6(uint8_t *buf, const char *src, const char *dst, uint16_t seq)
{
	size_t plen = 8 + ICMP_PAYLOAD;
	uint8_t *icmp = buf + 40;

	memset(buf, 0, 40 + plen);
	buf[0] = 0x60;
	put16(buf + 4, (uint16_t)plen);
	buf[6] = 58; /* ICMPv6 */
	buf[7] = 64;
	inet_pton(AF_INET6, src, buf + 8);
	inet_pton(AF_INET6, dst, buf + 24);
	icmp[0] = 128;
	put16(icmp + 4, ICMP_ECHO_ID);
	put16(icmp + 6, seq);
	fill_payload(icmp + 8, seq);
	put16(icmp + 2, ref_csum_fold(ref_csum_add(pseudo6(buf, (uint32_t)plen), icmp, plen)));
	return 40 + plen;
}

/* If pkt is an echo reply from dst to src with our id and a good checksum
 * and payload, returns its sequence number; else -1 (other traffic, such as
 * the kernel's router solicitations and MLD reports on IPv6). */
static inline int echo_reply_seq(const uint8_t *pkt, size_t len, const char *src, const char *dst)
{
	uint8_t a[16], b[16];
	const uint8_t *icmp;
	size_t ilen;
	uint16_t seq;

	if (len >= 20 && pkt[0] >> 4 == 4) {
		size_t ihl = (size_t)(pkt[0] & 15) * 4;

		if (ihl < 20 || len < ihl + 8 || get16(pkt + 2) != len || pkt[9] != 1)
			return -1;
		if (ref_csum_fold(ref_csum_add(0, pkt, ihl)) != 0)
			return -1;
		inet_pton(AF_INET, src, a);
		inet_pton(AF_INET, dst, b);
		if (memcmp(pkt + 12, b, 4) || memcmp(pkt + 16, a, 4))
			return -1;
		icmp = pkt + ihl;
		ilen = len - ihl;
		if (icmp[0] != 0 || ref_csum_fold(ref_csum_add(0, icmp, ilen)) != 0)
			return -1;
	} else if (len >= 48 && pkt[0] >> 4 == 6) {
		if (pkt[6] != 58 || (size_t)get16(pkt + 4) + 40 != len)
			return -1;
		inet_pton(AF_INET6, src, a);
		inet_pton(AF_INET6, dst, b);
		if (memcmp(pkt + 8, b, 16) || memcmp(pkt + 24, a, 16))
			return -1;
		icmp = pkt + 40;
		ilen = len - 40;
		if (icmp[0] != 129 || ref_csum_fold(ref_csum_add(pseudo6(pkt, (uint32_t)ilen), icmp, ilen)) != 0)
			return -1;
	} else {
		return -1;
	}
	if (ilen != 8 + ICMP_PAYLOAD || get16(icmp + 4) != ICMP_ECHO_ID)
		return -1;
	seq = get16(icmp + 6);
	for (unsigned i = 0; i < ICMP_PAYLOAD; i++)
		if (icmp[8 + i] != (uint8_t)(seq + i))
			return -1;
	return seq;
}

#endif
