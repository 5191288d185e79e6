/* SPDX-License-Identifier: MIT */
/*
 * The PPP header in front of the information field (RFC 1661 §2): address
 * 0xFF and control 0x03 (RFC 1662 §3.1), then the protocol, with the two
 * compressions LCP may negotiate (RFC 1661 §6.5 PFC, §6.6 ACFC). The header
 * logic is inline in framing_int.h, shared with F5 and Fortinet; these are
 * the counted public entry points.
 */
#include "lib/api.h"
#include "codec/framing_int.h"

TR_API int tr_ppp_encode(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t proto,
			 struct tr_framing_stats *st)
{
	if (!p || !o)
		return tx_count(st, -EINVAL);
	return tx_count(st, ppp_push(p, o, proto));
}

TR_API int tr_ppp_decode(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t *proto,
			 struct tr_framing_stats *st)
{
	int bad, ret;

	if (!p || !o || !proto)
		return rx_count(st, -EINVAL);
	ret = ppp_pull(p, o, proto, &bad);
	if (bad && st)
		st->rx_err_bad_ppp++;
	return rx_count(st, ret);
}
