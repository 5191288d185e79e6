/* SPDX-License-Identifier: MIT */
/* Helpers the framing codecs share: big-endian loads/stores on view bytes and
 * counting a result into the caller's optional stats. */
#ifndef TR_CODEC_FRAMING_INT_H
#define TR_CODEC_FRAMING_INT_H

#include <errno.h>
#include <stdint.h>

#include "tunroom/framing.h"
#include "tunroom/pkt.h"

static inline uint16_t ld_be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline void st_be16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Maps a decoder's return code onto its counter. -EBADMSG is counted by the
 * caller (it has several meanings), so it is not mapped here. */
static inline int rx_count(struct tr_framing_stats *st, int ret)
{
	if (!st)
		return ret;
	switch (ret) {
	case 0:           st->rx_ok++; break;
	case -ENODATA:    st->rx_err_truncated++; break;
	case -EOVERFLOW:  st->rx_err_oversize++; break;
	case -ERANGE:     st->rx_err_undersize++; break;
	case -ENOMSG:     st->rx_err_unknown_type++; break;
	case -EILSEQ:     st->rx_err_bad_escape++; break;
	case -EAGAIN:     st->rx_err_incomplete++; break;
	case -EINVAL:     st->rx_err_bad_arg++; break;
	default:          break;
	}
	return ret;
}

static inline int rx_bad_magic(struct tr_framing_stats *st)
{
	if (st)
		st->rx_err_bad_magic++;
	return -EBADMSG;
}

static inline int tx_count(struct tr_framing_stats *st, int ret)
{
	if (!st)
		return ret;
	switch (ret) {
	case 0:          st->tx_ok++; break;
	case -EMSGSIZE:  st->tx_err_no_room++; break;
	case -ERANGE:    st->tx_err_too_long++; break;
	default:         st->tx_err_bad_arg++; break;
	}
	return ret;
}

/* The PPP header (RFC 1661 §2, §6.5, §6.6), without counting, so composite
 * codecs (F5 = header + PPP) count each packet once; inline because F5 and
 * Fortinet run it per packet. */
static inline int ppp_proto_known(uint16_t proto)
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
static inline int send_ac(const struct tr_ppp_opts *o, uint16_t proto)
{
	return !o->acfc || proto == TR_PPP_LCP;
}

static inline int send_short_proto(const struct tr_ppp_opts *o, uint16_t proto)
{
	return o->pfc && proto <= 0xff && proto != TR_PPP_LCP;
}

static inline int ppp_hdr_len(const struct tr_ppp_opts *o, uint16_t proto)
{
	return (send_ac(o, proto) ? 2 : 0) + (send_short_proto(o, proto) ? 1 : 2);
}

static inline int ppp_push(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t proto)
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
static inline int ppp_pull(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t *proto,
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


/* The seven AnyConnect types both channels define (draft-mavrogiannopoulos-
 * openconnect-04 §2.2; OpenConnect AC_PKT_*); 1, 2 and 6 are unassigned, so
 * they are rejected rather than guessed at. */
static inline int ac_type_known(uint8_t type)
{
	switch (type) {
	case TR_AC_DATA:
	case TR_AC_DPD_REQ:
	case TR_AC_DPD_RESP:
	case TR_AC_DISCONNECT:
	case TR_AC_KEEPALIVE:
	case TR_AC_COMPRESSED:
	case TR_AC_TERMINATE:
		return 1;
	default:
		return 0;
	}
}

#endif
