/* SPDX-License-Identifier: MIT */
/*
 * AnyConnect over DTLS: one type byte in front of the payload. The types are
 * those of the CSTP header (draft-mavrogiannopoulos-openconnect-04 §2.2;
 * OpenConnect openconnect-internal.h AC_PKT_*), which DTLS carries alone.
 */
#include "lib/api.h"
#include "codec/framing_int.h"

TR_API int tr_dtls_encode(struct tr_pkt *p, uint8_t type, struct tr_framing_stats *st)
{
	if (!p || !ac_type_known(type))
		return tx_count(st, -EINVAL);
	if (tr_pkt_push(p, TR_DTLS_HDR_LEN))
		return tx_count(st, -EMSGSIZE);
	tr_pkt_data(p)[0] = type;
	return tx_count(st, 0);
}

TR_API int tr_dtls_decode(struct tr_pkt *p, uint8_t *type, struct tr_framing_stats *st)
{
	uint8_t t;

	if (!p || !type)
		return rx_count(st, -EINVAL);
	if (p->len < TR_DTLS_HDR_LEN)
		return rx_count(st, -ENODATA);
	t = tr_pkt_data(p)[0];
	if (!ac_type_known(t))
		return rx_count(st, -ENOMSG);
	*type = t;
	p->off += TR_DTLS_HDR_LEN;
	p->len -= TR_DTLS_HDR_LEN;
	return rx_count(st, 0);
}
