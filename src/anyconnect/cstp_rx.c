/* SPDX-License-Identifier: MIT */
/* The CSTP receiver (cstp_rx.h): TLS records from staging into ring slots. */
#include <errno.h>
#include <string.h>

#include "anyconnect/cstp_rx.h"
#include "lib/barrier.h"

/* TLS 1.3 handshake messages that may follow the handshake (RFC 8446 §4.6). */
#define HS_HELLO_REQUEST 0
#define HS_NEW_SESSION_TICKET 4
#define HS_KEY_UPDATE 24

static bool cstp_magic(const uint8_t *h)
{
	return h[0] == 'S' && h[1] == 'T' && h[2] == 'F' && h[3] == 0x01 && h[7] == 0;
}

static bool ac_type_known(uint8_t t)
{
	return t == TR_AC_DATA || t == TR_AC_DPD_REQ || t == TR_AC_DPD_RESP ||
	       t == TR_AC_DISCONNECT || t == TR_AC_KEEPALIVE || t == TR_AC_COMPRESSED ||
	       t == TR_AC_TERMINATE;
}

int tr_ac_cstp_rx_init(struct tr_ac_cstp_rx *r, const struct tr_ac_rec_keys *k,
		       struct tr_ac_chan_stats *st, unsigned flags)
{
	if (!r || !k || !st || k->version == TR_AC_VERSION_DTLS12)
		return -EINVAL;
	r->st = st;
	r->pos = r->have = 0;
	return tr_ac_aead_init(&r->aead, k, false, flags);
}

void tr_ac_cstp_rx_free(struct tr_ac_cstp_rx *r)
{
	if (r)
		tr_ac_aead_free(&r->aead);
}

uint8_t *tr_ac_cstp_rx_space(struct tr_ac_cstp_rx *r, uint32_t *n)
{
	if (r->pos == r->have) {
		r->pos = r->have = 0;
	} else if (sizeof(r->buf) - r->have < TR_AC_TLS_REC_MAX) {
		/* A record cut by the end of the last read: move it to the
		 * front (the only bytes this path moves). */
		uint32_t left = r->have - r->pos;
		memmove(r->buf, r->buf + r->pos, left);
		tr_stat_add(&r->st->rx_copied_bytes, left);
		r->pos = 0;
		r->have = left;
	}
	*n = (uint32_t)sizeof(r->buf) - r->have;
	return r->buf + r->have;
}

void tr_ac_cstp_rx_added(struct tr_ac_cstp_rx *r, uint32_t n)
{
	r->have += n;
}

/* One whole CSTP packet (header and payload, nothing after) in plaintext. */
static int deliver(struct tr_ac_cstp_rx *r, const struct tr_ac_cstp_sink *k,
		   const uint8_t *p, uint32_t n)
{
	uint32_t plen;

	if (n < TR_CSTP_HDR_LEN || !cstp_magic(p) ||
	    (plen = (uint32_t)(p[4] << 8 | p[5])) != n - TR_CSTP_HDR_LEN)
		return -EPROTO;
	if (!ac_type_known(p[6])) {
		tr_stat_add(&r->st->rx_drop_type, 1);
		return 0;
	}
	if (p[6] == TR_AC_DATA) {
		uint8_t *dst = k->data_room(k->arg, plen);
		if (dst) {
			/* Only a padded TLS 1.3 record or the bytes that came
			 * with the CONNECT reply get here: counted. */
			memcpy(dst, p + TR_CSTP_HDR_LEN, plen);
			tr_stat_add(&r->st->rx_copied_bytes, plen);
			k->data_done(k->arg, plen, true);
			tr_stat_add(&r->st->rx_data, 1);
		}
		return 0;
	}
	tr_stat_add(&r->st->rx_ctl, 1);
	k->ctl(k->arg, p[6], p + TR_CSTP_HDR_LEN, plen);
	return 0;
}

/* A record that is not a plain data packet: whole plaintext into scratch. */
static int open_other(struct tr_ac_cstp_rx *r, const struct tr_ac_cstp_sink *k,
		      const uint8_t *rec, uint32_t rl, uint32_t pl, uint32_t done)
{
	struct tr_ac_aead *a = &r->aead;
	const uint8_t *ct = rec + tr_ac_tls_ct_off(a);
	uint8_t type = rec[0];
	uint32_t n = pl;
	int err;

	err = tr_ac_tls_open_part(a, ct + done, r->scratch + done, pl - done);
	if (!err)
		err = tr_ac_tls_open_end(a, rec, rl);
	if (err)
		return err;
	if (a->version == TR_AC_VERSION_TLS13) {
		/* Inner type = the last non-zero byte; zeros after it are padding. */
		while (n && !r->scratch[n - 1])
			n--;
		if (!n)
			return -EPROTO;
		type = r->scratch[--n];
	}
	switch (type) {
	case TR_AC_CT_APP:
		return deliver(r, k, r->scratch, n);
	case TR_AC_CT_ALERT:
		tr_stat_add(&r->st->rx_ctl, 1);
		k->ctl(k->arg, TR_AC_EV_ALERT, r->scratch, n);
		return -ECONNRESET;
	case TR_AC_CT_HANDSHAKE:
		/* A session ticket changes nothing for us; a key update changes
		 * the keys, which only GnuTLS could follow. TLS 1.2 HelloRequest:
		 * we do not renegotiate (a client may ignore it, RFC 5246 §7.4.1.1). */
		if (n && r->scratch[0] == HS_KEY_UPDATE)
			return -EKEYEXPIRED;
		tr_stat_add(&r->st->rx_ctl, 1);
		return 0;
	default:
		return -EPROTO;
	}
}

static int open_one(struct tr_ac_cstp_rx *r, const struct tr_ac_cstp_sink *k,
		    const uint8_t *rec, uint32_t rl, uint32_t pl)
{
	struct tr_ac_aead *a = &r->aead;
	const uint8_t *ct = rec + tr_ac_tls_ct_off(a);
	bool v13 = a->version == TR_AC_VERSION_TLS13;
	uint32_t hn = pl < TR_CSTP_HDR_LEN ? pl : TR_CSTP_HDR_LEN, plen;
	uint8_t *h = r->scratch, *dst;
	int err;

	err = tr_ac_tls_open_begin(a, rec, rl);
	if (!err)
		err = tr_ac_tls_open_part(a, ct, h, hn);
	if (err)
		return err;
	/* Not yet authentic, only a guess at the layout: a data packet whose
	 * CSTP length fills the record exactly (1.3: but the inner type). The
	 * tag decides before anything is kept. */
	if (rec[0] != TR_AC_CT_APP || hn < TR_CSTP_HDR_LEN || !cstp_magic(h) ||
	    h[6] != TR_AC_DATA ||
	    (plen = (uint32_t)(h[4] << 8 | h[5])) != pl - TR_CSTP_HDR_LEN - (v13 ? 1 : 0))
		return open_other(r, k, rec, rl, pl, hn);
	dst = k->data_room(k->arg, plen);
	err = tr_ac_tls_open_part(a, ct + hn, dst ? dst : h + hn, plen);
	if (!err && v13)
		err = tr_ac_tls_open_part(a, ct + hn + plen, h, 1);
	if (!err)
		err = tr_ac_tls_open_end(a, rec, rl);
	if (!err && v13 && h[0] != TR_AC_CT_APP)
		err = -EPROTO; /* a data-shaped alert or handshake: nothing sends that */
	if (dst)
		k->data_done(k->arg, plen, !err);
	if (!err && dst)
		tr_stat_add(&r->st->rx_data, 1);
	return err;
}

int tr_ac_cstp_rx_process(struct tr_ac_cstp_rx *r, const struct tr_ac_cstp_sink *k)
{
	while (r->have - r->pos >= TR_AC_TLS_HDR) {
		const uint8_t *rec = r->buf + r->pos;
		uint32_t rl, pl;
		int err = tr_ac_tls_hdr(&r->aead, rec, &rl, &pl);

		if (err) {
			tr_stat_add(&r->st->rx_drop_header, 1);
			return err;
		}
		if (r->have - r->pos < rl)
			return 0;
		err = open_one(r, k, rec, rl, pl);
		if (err == -EBADMSG)
			tr_stat_add(&r->st->rx_err_auth, 1);
		else if (err == -EPROTO)
			tr_stat_add(&r->st->rx_drop_type, 1);
		if (err)
			return err;
		tr_stat_add(&r->st->rx_records, 1);
		tr_stat_add(&r->st->rx_bytes, rl);
		r->pos += rl;
	}
	return 0;
}

int tr_ac_cstp_rx_plain(struct tr_ac_cstp_rx *r, const struct tr_ac_cstp_sink *k,
			const uint8_t *p, uint32_t n)
{
	while (n) {
		uint32_t len;
		int err;

		if (n < TR_CSTP_HDR_LEN)
			return -EPROTO;
		len = TR_CSTP_HDR_LEN + (uint32_t)(p[4] << 8 | p[5]);
		if (len > n)
			return -EPROTO;
		err = deliver(r, k, p, len);
		if (err)
			return err;
		p += len;
		n -= len;
	}
	return 0;
}
