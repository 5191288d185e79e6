/* SPDX-License-Identifier: MIT */
/*
 * GlobalProtect over TLS: the 16-byte header OpenConnect's gpst.c documents
 * and sends:
 *   0..3    magic 0x1A 0x2B 0x3C 0x4D
 *   4..5    big-endian ethertype: 0x0800 IPv4, 0x86DD IPv6, 0 DPD/keepalive
 *   6..7    big-endian payload length, header not included
 *   8..15   01 00 00 00 00 00 00 00 for data (a little-endian 32-bit 1, then
 *           0); all zero for a DPD/keepalive
 * OpenConnect only logs bytes 8..15 that differ, so they are counted here
 * (rx_warn_gp_reserved) and accepted rather than rejected.
 */
#include <string.h>

#include "lib/api.h"
#include "codec/framing_int.h"

static const uint8_t magic[4] = { 0x1a, 0x2b, 0x3c, 0x4d };
static const uint8_t tail_data[8] = { 1, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t tail_keepalive[8];

TR_API int tr_gp_encode(struct tr_pkt *p, uint16_t ethertype, struct tr_framing_stats *st)
{
	uint8_t *h;

	if (!p)
		return tx_count(st, -EINVAL);
	if (ethertype != TR_GP_ETH_IPV4 && ethertype != TR_GP_ETH_IPV6 &&
	    !(ethertype == TR_GP_ETH_KEEPALIVE && p->len == 0))
		return tx_count(st, -EINVAL);
	if (p->len > 0xffffu)
		return tx_count(st, -ERANGE);
	if (tr_pkt_push(p, TR_GP_HDR_LEN))
		return tx_count(st, -EMSGSIZE);
	h = tr_pkt_data(p);
	memcpy(h, magic, 4);
	st_be16(h + 4, ethertype);
	st_be16(h + 6, (uint16_t)(p->len - TR_GP_HDR_LEN));
	memcpy(h + 8, ethertype ? tail_data : tail_keepalive, 8);
	return tx_count(st, 0);
}

TR_API int tr_gp_decode(struct tr_pkt *p, uint16_t *ethertype, struct tr_framing_stats *st)
{
	const uint8_t *h;
	uint32_t plen;
	uint16_t et;

	if (!p || !ethertype)
		return rx_count(st, -EINVAL);
	if (p->len < TR_GP_HDR_LEN)
		return rx_count(st, -ENODATA);
	h = tr_pkt_data(p);
	if (memcmp(h, magic, 4))
		return rx_bad_magic(st);
	plen = ld_be16(h + 6);
	if (plen > p->len - TR_GP_HDR_LEN)
		return rx_count(st, -EOVERFLOW);
	if (plen < p->len - TR_GP_HDR_LEN)
		return rx_count(st, -ERANGE);
	et = ld_be16(h + 4);
	if (et != TR_GP_ETH_IPV4 && et != TR_GP_ETH_IPV6 && et != TR_GP_ETH_KEEPALIVE)
		return rx_count(st, -ENOMSG);
	if (st && memcmp(h + 8, et ? tail_data : tail_keepalive, 8))
		st->rx_warn_gp_reserved++;
	*ethertype = et;
	p->off += TR_GP_HDR_LEN;
	p->len -= TR_GP_HDR_LEN;
	return rx_count(st, 0);
}
