/* SPDX-License-Identifier: MIT */
/*
 * AnyConnect over TLS (CSTP): the 8-byte record header, one record at a time
 * and as a walk over the several records one TLS read can hold.
 *
 * Header (draft-mavrogiannopoulos-openconnect-04 §2.2; OpenConnect cstp.c):
 *   0..3  'S' 'T' 'F' 0x01
 *   4..5  payload length, big-endian, header not included
 *   6     type (TR_AC_*)
 *   7     0x00 (OpenConnect rejects a record where it is not)
 */
#include "lib/api.h"
#include "codec/framing_int.h"



static int magic_ok(const uint8_t *h)
{
	return h[0] == 'S' && h[1] == 'T' && h[2] == 'F' && h[3] == 0x01 && h[7] == 0;
}

TR_API int tr_cstp_encode(struct tr_pkt *p, uint8_t type, struct tr_framing_stats *st)
{
	uint8_t *h;

	if (!p || !ac_type_known(type))
		return tx_count(st, -EINVAL);
	if (p->len > TR_CSTP_MAX_PAYLOAD)
		return tx_count(st, -ERANGE);
	if (tr_pkt_push(p, TR_CSTP_HDR_LEN))
		return tx_count(st, -EMSGSIZE);
	h = tr_pkt_data(p);
	h[0] = 'S';
	h[1] = 'T';
	h[2] = 'F';
	h[3] = 0x01;
	st_be16(h + 4, (uint16_t)(p->len - TR_CSTP_HDR_LEN));
	h[6] = type;
	h[7] = 0;
	return tx_count(st, 0);
}

TR_API int tr_cstp_decode(struct tr_pkt *p, uint8_t *type, struct tr_framing_stats *st)
{
	const uint8_t *h;
	uint32_t plen;

	if (!p || !type)
		return rx_count(st, -EINVAL);
	if (p->len < TR_CSTP_HDR_LEN)
		return rx_count(st, -ENODATA);
	h = tr_pkt_data(p);
	if (!magic_ok(h))
		return rx_bad_magic(st);
	plen = ld_be16(h + 4);
	if (plen > p->len - TR_CSTP_HDR_LEN)
		return rx_count(st, -EOVERFLOW);
	if (plen < p->len - TR_CSTP_HDR_LEN)
		return rx_count(st, -ERANGE);
	if (!ac_type_known(h[6]))
		return rx_count(st, -ENOMSG);
	*type = h[6];
	p->off += TR_CSTP_HDR_LEN;
	p->len -= TR_CSTP_HDR_LEN;
	return rx_count(st, 0);
}

TR_API int tr_cstp_split_init(struct tr_cstp_split *s, struct tr_pkt *read,
			      uint32_t max_payload)
{
	if (!s || !read || max_payload > TR_CSTP_MAX_PAYLOAD)
		return -EINVAL;
	s->buf = tr_pkt_data(read);
	s->len = read->len;
	s->pos = 0;
	s->need = 0;
	s->max_payload = max_payload ? max_payload : TR_CSTP_MAX_PAYLOAD;
	return 0;
}

TR_API int tr_cstp_split_next(struct tr_cstp_split *s, struct tr_pkt *rec,
			      struct tr_framing_stats *st)
{
	const uint8_t *h;
	uint32_t left, plen;

	if (!s || !rec || s->pos > s->len)
		return rx_count(st, -EINVAL);
	left = s->len - s->pos;
	s->need = 0;
	if (!left)
		return 0;
	h = s->buf + s->pos;
	/* Check what is there of the magic before asking for more bytes, so a
	 * corrupt stream fails now instead of after another read. */
	if (left < TR_CSTP_HDR_LEN) {
		static const uint8_t m[4] = { 'S', 'T', 'F', 0x01 };
		for (uint32_t i = 0; i < left && i < 4; i++)
			if (h[i] != m[i])
				return rx_bad_magic(st);
		s->need = TR_CSTP_HDR_LEN - left;
		return rx_count(st, -EAGAIN);
	}
	if (!magic_ok(h))
		return rx_bad_magic(st);
	plen = ld_be16(h + 4);
	if (plen > s->max_payload)
		return rx_bad_magic(st);
	if (plen > left - TR_CSTP_HDR_LEN) {
		s->need = plen - (left - TR_CSTP_HDR_LEN);
		return rx_count(st, -EAGAIN);
	}
	/* No room on either side: the neighbours are other records. */
	rec->buf = s->buf + s->pos;
	rec->cap = TR_CSTP_HDR_LEN + plen;
	rec->off = 0;
	rec->len = rec->cap;
	rec->slot = 0;
	rec->priv = 0;
	s->pos += rec->cap;
	return 1;
}
