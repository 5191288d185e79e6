/* SPDX-License-Identifier: MIT */
/*
 * Fortinet (TLS or DTLS alike): big-endian 16-bit total length (these 6
 * bytes included), 0x50 0x50, big-endian 16-bit length of what follows, then
 * a PPP frame with the full header FF 03 + 2-byte protocol. Source:
 * OpenConnect ppp.c, PPP_ENCAP_FORTINET (encap_len 6; it checks magic 0x5050
 * and total == payload + 6; "Fortinet server rejects asyncmap and header
 * compression", so ACFC/PFC are never negotiated).
 */
#include "lib/api.h"
#include "codec/framing_int.h"

static const struct tr_ppp_opts no_compression;

TR_API int tr_fortinet_encode(struct tr_pkt *p, uint16_t proto, struct tr_framing_stats *st)
{
	const uint32_t hdr = TR_FORTINET_HDR_LEN + TR_PPP_HDR_MAX;
	uint8_t *h;
	int ret;

	if (!p || !ppp_proto_known(proto))
		return tx_count(st, -EINVAL);
	if (p->len > 0xffffu - hdr)
		return tx_count(st, -ERANGE);
	if (tr_pkt_headroom(p) < hdr)
		return tx_count(st, -EMSGSIZE);
	ret = ppp_push(p, &no_compression, proto);
	if (ret)
		return tx_count(st, ret);
	if (tr_pkt_push(p, TR_FORTINET_HDR_LEN))
		return tx_count(st, -EMSGSIZE); /* unreachable: checked above */
	h = tr_pkt_data(p);
	st_be16(h, (uint16_t)p->len);
	h[2] = 0x50;
	h[3] = 0x50;
	st_be16(h + 4, (uint16_t)(p->len - TR_FORTINET_HDR_LEN));
	return tx_count(st, 0);
}

TR_API int tr_fortinet_decode(struct tr_pkt *p, uint16_t *proto, struct tr_framing_stats *st)
{
	struct tr_pkt v;
	const uint8_t *h;
	uint32_t total, plen;
	int bad, ret;

	if (!p || !proto)
		return rx_count(st, -EINVAL);
	if (p->len < TR_FORTINET_HDR_LEN)
		return rx_count(st, -ENODATA);
	h = tr_pkt_data(p);
	if (h[2] != 0x50 || h[3] != 0x50)
		return rx_bad_magic(st);
	total = ld_be16(h);
	plen = ld_be16(h + 4);
	/* Two lengths for one fact; a peer that disagrees with itself is not
	 * trusted with either. */
	if (total != plen + TR_FORTINET_HDR_LEN)
		return rx_bad_magic(st);
	if (plen > p->len - TR_FORTINET_HDR_LEN)
		return rx_count(st, -EOVERFLOW);
	if (plen < p->len - TR_FORTINET_HDR_LEN)
		return rx_count(st, -ERANGE);
	v = *p;
	v.off += TR_FORTINET_HDR_LEN;
	v.len -= TR_FORTINET_HDR_LEN;
	ret = ppp_pull(&v, &no_compression, proto, &bad);
	if (bad && st)
		st->rx_err_bad_ppp++;
	if (!ret)
		*p = v;
	return rx_count(st, ret);
}
