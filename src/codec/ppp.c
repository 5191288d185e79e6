/* SPDX-License-Identifier: MIT */
/*
 * The PPP header in front of the information field (RFC 1661 §2): address
 * 0xFF and control 0x03 (RFC 1662 §3.1), then the protocol, with the two
 * compressions LCP may negotiate (RFC 1661 §6.5 PFC, §6.6 ACFC).
 */
#include "lib/api.h"
#include "codec/framing_int.h"

int ppp_proto_known(uint16_t proto)
{
	switch (proto) {
	case TR_PPP_IPV4:
	case TR_PPP_IPV6:
	case TR_PPP_IPCP:
	case TR_PPP_IPV6CP:
	case TR_PPP_LCP:
		return 1;
	default:
		return 0;
	}
}

/* RFC 1661 §6.5, §6.6: LCP packets are never sent compressed, so the peer
 * can parse a Configure-Request whatever was negotiated before. */
static int send_ac(const struct tr_ppp_opts *o, uint16_t proto)
{
	return !o->acfc || proto == TR_PPP_LCP;
}

static int send_short_proto(const struct tr_ppp_opts *o, uint16_t proto)
{
	return o->pfc && proto <= 0xff && proto != TR_PPP_LCP;
}

int ppp_hdr_len(const struct tr_ppp_opts *o, uint16_t proto)
{
	return (send_ac(o, proto) ? 2 : 0) + (send_short_proto(o, proto) ? 1 : 2);
}

int ppp_push(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t proto)
{
	uint8_t *h;

	if (!ppp_proto_known(proto))
		return -EINVAL;
	if (tr_pkt_push(p, (uint32_t)ppp_hdr_len(o, proto)))
		return -EMSGSIZE;
	h = tr_pkt_data(p);
	if (send_ac(o, proto)) {
		*h++ = 0xff;
		*h++ = 0x03;
	}
	if (send_short_proto(o, proto))
		*h = (uint8_t)proto;
	else
		st_be16(h, proto);
	return 0;
}

/* *bad_ppp is set when -EBADMSG comes from the PPP header, for counting. */
int ppp_pull(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t *proto,
	     int *bad_ppp)
{
	const uint8_t *h = tr_pkt_data(p);
	uint32_t n = 0, left = p->len;
	uint16_t pr;

	*bad_ppp = 0;
	/* RFC 1661 §6.6: with ACFC the receiver still accepts FF 03; 0xFF can
	 * never start a protocol (its low bit would make it a 1-byte protocol
	 * and 0xFF 0x03 is not one), so the test is unambiguous. */
	if (left >= 2 && h[0] == 0xff && h[1] == 0x03) {
		n = 2;
	} else if (!o->acfc) {
		if (left < 2)
			return -ENODATA;
		*bad_ppp = 1;
		return -EBADMSG;
	}
	if (left - n < 1)
		return -ENODATA;
	/* RFC 1661 §2: a protocol's low octet is odd and its high octet even,
	 * so an odd first octet is a PFC-compressed protocol (§6.5). */
	if (h[n] & 1) {
		if (!o->pfc) {
			*bad_ppp = 1;
			return -EBADMSG;
		}
		pr = h[n];
		n += 1;
	} else {
		if (left - n < 2)
			return -ENODATA;
		pr = ld_be16(h + n);
		if (!(pr & 1)) {
			*bad_ppp = 1;
			return -EBADMSG;
		}
		n += 2;
	}
	*proto = pr;
	if (!ppp_proto_known(pr))
		return -ENOMSG;
	p->off += n;
	p->len -= n;
	return 0;
}

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
