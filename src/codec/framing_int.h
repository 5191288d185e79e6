/* SPDX-License-Identifier: MIT */
/* Helpers the framing codecs share: big-endian loads/stores on view bytes and
 * counting a result into the caller's optional stats. */
#ifndef TR_CODEC_FRAMING_INT_H
#define TR_CODEC_FRAMING_INT_H

#include <errno.h>
#include <stdint.h>

#include "tunroom/framing.h"

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

/* Internal forms without counting, so a composite codec (F5 = header + PPP)
 * counts each packet exactly once. */
int ppp_proto_known(uint16_t proto);
int ppp_hdr_len(const struct tr_ppp_opts *o, uint16_t proto);
int ppp_push(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t proto);
int ppp_pull(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t *proto,
	     int *bad_ppp);

/* AnyConnect type byte is one of TR_AC_* (dtls.c). */
int ac_type_known(uint8_t type);

#endif
