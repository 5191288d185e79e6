/* SPDX-License-Identifier: MIT */
/*
 * F5 (TLS or DTLS alike): 0xF5 0x00, a big-endian 16-bit length of what
 * follows the 4 bytes, then a PPP frame whose header may be compressed as
 * LCP negotiated (OpenConnect ppp.c, PPP_ENCAP_F5: magic 0xf500, length
 * "excludes F5 header"; PPP header per RFC 1661 §2, §6.5, §6.6).
 */
#include "lib/api.h"
#include "codec/framing_int.h"

TR_API int tr_f5_encode(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t proto,
			struct tr_framing_stats *st)
{
	uint32_t ppp;
	uint8_t *h;
	int ret;

	if (!p || !o || !ppp_proto_known(proto))
		return tx_count(st, -EINVAL);
	ppp = (uint32_t)ppp_hdr_len(o, proto);
	if (p->len > 0xffffu - ppp)
		return tx_count(st, -ERANGE);
	/* Check the whole header fits before pushing any of it, so a failure
	 * leaves the view as it was. */
	if (tr_pkt_headroom(p) < TR_F5_HDR_LEN + ppp)
		return tx_count(st, -EMSGSIZE);
	ret = ppp_push(p, o, proto);
	if (ret)
		return tx_count(st, ret);
	if (tr_pkt_push(p, TR_F5_HDR_LEN))
		return tx_count(st, -EMSGSIZE); /* unreachable: checked above */
	h = tr_pkt_data(p);
	h[0] = 0xf5;
	h[1] = 0x00;
	st_be16(h + 2, (uint16_t)(p->len - TR_F5_HDR_LEN));
	return tx_count(st, 0);
}

TR_API int tr_f5_decode(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t *proto,
			struct tr_framing_stats *st)
{
	struct tr_pkt v;
	const uint8_t *h;
	uint32_t plen;
	int bad, ret;

	if (!p || !o || !proto)
		return rx_count(st, -EINVAL);
	if (p->len < TR_F5_HDR_LEN)
		return rx_count(st, -ENODATA);
	h = tr_pkt_data(p);
	if (h[0] != 0xf5 || h[1] != 0x00)
		return rx_bad_magic(st);
	plen = ld_be16(h + 2);
	if (plen > p->len - TR_F5_HDR_LEN)
		return rx_count(st, -EOVERFLOW);
	if (plen < p->len - TR_F5_HDR_LEN)
		return rx_count(st, -ERANGE);
	/* Work on a copy: the caller's view changes only on success. */
	v = *p;
	v.off += TR_F5_HDR_LEN;
	v.len -= TR_F5_HDR_LEN;
	ret = ppp_pull(&v, o, proto, &bad);
	if (bad && st)
		st->rx_err_bad_ppp++;
	if (!ret)
		*p = v;
	return rx_count(st, ret);
}
