/* SPDX-License-Identifier: MIT */
/*
 * Framing codecs: round trips at every size 0..1500 with IPv4 and IPv6 inner
 * packets, known answers written out from the specifications, every
 * rejection with its own error and counter, and a canary over the whole
 * buffer proving nothing outside the view is written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tunroom/framing.h"

#define MTU       1500
#define HEAD      32
#define TAIL      (2 * (MTU + TR_PPP_HDR_MAX) + 16)
#define GUARD     64
#define CAP       (HEAD + MTU + TR_PPP_HDR_MAX + TAIL)
#define ARENA     (GUARD + CAP + GUARD)
#define CANARY    0xa5

static uint8_t arena[ARENA];
static uint8_t before[ARENA];

/* A view with `head` bytes of head room over a copy of bytes[0..len), and all
 * the tail room the arena has; everything else is canary. */
static void setup_view(struct tr_pkt *p, uint32_t head, const uint8_t *bytes, uint32_t len)
{
	memset(arena, CANARY, sizeof(arena));
	assert_true(head + len <= CAP);
	assert_int_equal(tr_pkt_init(p, arena + GUARD, CAP, head, len), 0);
	if (len)
		memcpy(tr_pkt_data(p), bytes, len);
	memcpy(before, arena, sizeof(arena));
}

/* Bytes outside both the view before the call and the view after it must be
 * exactly as they were. */
static void assert_only_view_written(const struct tr_pkt *was, const struct tr_pkt *now)
{
	size_t a0 = (size_t)(tr_pkt_data(was) - arena), a1 = a0 + was->len;
	size_t b0 = (size_t)(tr_pkt_data(now) - arena), b1 = b0 + now->len;

	for (size_t i = 0; i < sizeof(arena); i++) {
		if ((i >= a0 && i < a1) || (i >= b0 && i < b1))
			continue;
		if (arena[i] != before[i])
			fail_msg("byte %zu outside the view written (0x%02x -> 0x%02x)",
				 i, before[i], arena[i]);
	}
}

/* Between the two halves of a round trip: check the encoder, then make its
 * output the new reference for the decoder. */
static struct tr_pkt encoded(const struct tr_pkt *was, const struct tr_pkt *now)
{
	assert_only_view_written(was, now);
	memcpy(before, arena, sizeof(arena));
	return *now;
}

static void assert_untouched(const struct tr_pkt *p, const struct tr_pkt *was)
{
	assert_memory_equal(p, was, sizeof(*p));
	assert_memory_equal(arena, before, sizeof(arena));
}

/* An inner packet: version nibble right, then bytes that hit every escape
 * case HDLC has (0x7e, 0x7d, control octets). */
static void make_ip(uint8_t *b, uint32_t len, int v6, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + len;

	for (uint32_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (uint8_t)(x >> 16);
		if (i % 17 == 3)
			b[i] = 0x7e;
		else if (i % 19 == 5)
			b[i] = 0x7d;
		else if (i % 23 == 7)
			b[i] = (uint8_t)(i & 0x1f);
	}
	if (len)
		b[0] = v6 ? 0x60 : 0x45;
	if (!v6 && len >= 4) {
		b[2] = (uint8_t)(len >> 8);
		b[3] = (uint8_t)len;
	} else if (v6 && len >= 6) {
		uint32_t pl = len >= 40 ? len - 40 : 0;
		b[4] = (uint8_t)(pl >> 8);
		b[5] = (uint8_t)pl;
	}
}

static uint8_t inner[MTU];

/* ---- round trips ------------------------------------------------------- */

static void roundtrip_dtls_cstp_gp(void **state)
{
	(void)state;
	struct tr_framing_stats st = { 0 };
	struct tr_pkt p, was, enc;
	uint8_t type;
	uint16_t et;

	for (int v6 = 0; v6 <= 1; v6++) {
		for (uint32_t n = 0; n <= MTU; n++) {
			make_ip(inner, n, v6, 1);

			setup_view(&p, HEAD, inner, n);
			was = p;
			assert_int_equal(tr_dtls_encode(&p, TR_AC_DATA, &st), 0);
			assert_int_equal(p.len, n + 1);
			enc = encoded(&was, &p);
			assert_int_equal(tr_dtls_decode(&p, &type, &st), 0);
			assert_int_equal(type, TR_AC_DATA);
			assert_memory_equal(&p, &was, sizeof(p));
			assert_memory_equal(tr_pkt_data(&p), inner, n);
			assert_only_view_written(&enc, &p);

			setup_view(&p, HEAD, inner, n);
			was = p;
			assert_int_equal(tr_cstp_encode(&p, TR_AC_DATA, &st), 0);
			assert_int_equal(p.len, n + 8);
			enc = encoded(&was, &p);
			assert_int_equal(tr_cstp_decode(&p, &type, &st), 0);
			assert_int_equal(type, TR_AC_DATA);
			assert_memory_equal(&p, &was, sizeof(p));
			assert_memory_equal(tr_pkt_data(&p), inner, n);
			assert_only_view_written(&enc, &p);

			setup_view(&p, HEAD, inner, n);
			was = p;
			assert_int_equal(tr_gp_encode(&p, v6 ? TR_GP_ETH_IPV6 : TR_GP_ETH_IPV4, &st), 0);
			assert_int_equal(p.len, n + 16);
			enc = encoded(&was, &p);
			assert_int_equal(tr_gp_decode(&p, &et, &st), 0);
			assert_int_equal(et, v6 ? TR_GP_ETH_IPV6 : TR_GP_ETH_IPV4);
			assert_memory_equal(&p, &was, sizeof(p));
			assert_memory_equal(tr_pkt_data(&p), inner, n);
			assert_only_view_written(&enc, &p);
		}
	}
	assert_int_equal(st.tx_ok, 3 * 2 * (MTU + 1));
	assert_int_equal(st.rx_ok, 3 * 2 * (MTU + 1));
	assert_int_equal(st.rx_warn_gp_reserved, 0);

	/* every AnyConnect type survives both channels */
	static const uint8_t types[] = { TR_AC_DATA, TR_AC_DPD_REQ, TR_AC_DPD_RESP,
		TR_AC_DISCONNECT, TR_AC_KEEPALIVE, TR_AC_COMPRESSED, TR_AC_TERMINATE };
	for (size_t i = 0; i < sizeof(types); i++) {
		setup_view(&p, HEAD, inner, 3);
		assert_int_equal(tr_dtls_encode(&p, types[i], NULL), 0);
		assert_int_equal(tr_dtls_decode(&p, &type, NULL), 0);
		assert_int_equal(type, types[i]);
		assert_int_equal(tr_cstp_encode(&p, types[i], NULL), 0);
		assert_int_equal(tr_cstp_decode(&p, &type, NULL), 0);
		assert_int_equal(type, types[i]);
	}
	/* GP keepalive: ethertype 0, no payload, reserved bytes all zero */
	setup_view(&p, HEAD, NULL, 0);
	assert_int_equal(tr_gp_encode(&p, TR_GP_ETH_KEEPALIVE, &st), 0);
	for (int i = 8; i < 16; i++)
		assert_int_equal(tr_pkt_data(&p)[i], 0);
	assert_int_equal(tr_gp_decode(&p, &et, &st), 0);
	assert_int_equal(et, TR_GP_ETH_KEEPALIVE);
	assert_int_equal(p.len, 0);
}

static const struct tr_ppp_opts ppp_opts[4] = {
	{ 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 },
};

static void roundtrip_f5_fortinet(void **state)
{
	(void)state;
	struct tr_framing_stats st = { 0 };
	struct tr_pkt p, was, enc;
	uint16_t proto;

	for (int v6 = 0; v6 <= 1; v6++) {
		uint16_t want = v6 ? TR_PPP_IPV6 : TR_PPP_IPV4;
		for (uint32_t n = 0; n <= MTU; n++) {
			make_ip(inner, n, v6, 2);
			for (int o = 0; o < 4; o++) {
				const struct tr_ppp_opts *op = &ppp_opts[o];
				uint32_t hdr = 4 + (op->acfc ? 0 : 2) + (op->pfc ? 1 : 2);

				setup_view(&p, HEAD, inner, n);
				was = p;
				assert_int_equal(tr_f5_encode(&p, op, want, &st), 0);
				assert_int_equal(p.len, n + hdr);
				enc = encoded(&was, &p);
				assert_int_equal(tr_f5_decode(&p, op, &proto, &st), 0);
				assert_int_equal(proto, want);
				assert_memory_equal(&p, &was, sizeof(p));
				assert_memory_equal(tr_pkt_data(&p), inner, n);
				assert_only_view_written(&enc, &p);
			}

			setup_view(&p, HEAD, inner, n);
			was = p;
			assert_int_equal(tr_fortinet_encode(&p, want, &st), 0);
			assert_int_equal(p.len, n + 10);
			enc = encoded(&was, &p);
			assert_int_equal(tr_fortinet_decode(&p, &proto, &st), 0);
			assert_int_equal(proto, want);
			assert_memory_equal(&p, &was, sizeof(p));
			assert_memory_equal(tr_pkt_data(&p), inner, n);
			assert_only_view_written(&enc, &p);
		}
	}
	assert_int_equal(st.rx_ok, 5 * 2 * (MTU + 1));

	/* RFC 1661 §6.5/§6.6: LCP keeps its full header whatever was negotiated,
	 * and an ACFC/PFC receiver still takes uncompressed headers. */
	setup_view(&p, HEAD, inner, 4);
	assert_int_equal(tr_f5_encode(&p, &ppp_opts[3], TR_PPP_LCP, NULL), 0);
	assert_int_equal(p.len, 4 + 4 + 4);
	assert_memory_equal(tr_pkt_data(&p) + 4, "\xff\x03\xc0\x21", 4);
	assert_int_equal(tr_f5_decode(&p, &ppp_opts[3], &proto, NULL), 0);
	assert_int_equal(proto, TR_PPP_LCP);
	setup_view(&p, HEAD, inner, 4);
	assert_int_equal(tr_f5_encode(&p, &ppp_opts[0], TR_PPP_IPV4, NULL), 0);
	assert_int_equal(tr_f5_decode(&p, &ppp_opts[3], &proto, NULL), 0);
	assert_int_equal(proto, TR_PPP_IPV4);
}

static void roundtrip_hdlc(void **state)
{
	(void)state;
	static const uint32_t accms[] = { 0, TR_HDLC_ACCM_DEFAULT, 0x000a0000 };
	struct tr_framing_stats st = { 0 };
	struct tr_ppp_opts none = { 0, 0 };
	struct tr_pkt p, was;
	uint32_t used;
	uint16_t proto;

	for (int v6 = 0; v6 <= 1; v6++) {
		uint16_t want = v6 ? TR_PPP_IPV6 : TR_PPP_IPV4;
		for (uint32_t n = 0; n <= MTU; n++) {
			make_ip(inner, n, v6, 3);
			for (size_t a = 0; a < sizeof(accms) / sizeof(accms[0]); a++) {
				uint32_t enc;

				setup_view(&p, HEAD, inner, n);
				was = p;
				assert_int_equal(tr_ppp_encode(&p, &none, want, &st), 0);
				enc = tr_hdlc_encoded_len(&p, accms[a]);
				assert_int_equal(tr_hdlc_encode(&p, accms[a], &st), 0);
				assert_int_equal(p.len, enc);
				assert_int_equal(tr_pkt_data(&p)[0], TR_HDLC_FLAG);
				assert_int_equal(tr_pkt_data(&p)[p.len - 1], TR_HDLC_FLAG);
				/* no flag inside, no unescaped mapped control octet */
				for (uint32_t i = 1; i + 1 < p.len; i++) {
					uint8_t c = tr_pkt_data(&p)[i];
					assert_int_not_equal(c, TR_HDLC_FLAG);
					if (c < 0x20)
						assert_false((accms[a] >> c) & 1);
				}
				assert_only_view_written(&was, &p);

				memcpy(before, arena, sizeof(arena));
				struct tr_pkt enc_view = p;
				assert_int_equal(tr_hdlc_decode(&p, accms[a], &used, &st), 0);
				assert_int_equal(used, enc);
				assert_only_view_written(&enc_view, &p);
				assert_int_equal(tr_ppp_decode(&p, &none, &proto, &st), 0);
				assert_int_equal(proto, want);
				assert_memory_equal(&p, &was, sizeof(p));
				assert_memory_equal(tr_pkt_data(&p), inner, n);
			}
		}
	}
	assert_int_equal(st.rx_ok, 2 * 2 * 3 * (MTU + 1));
}

/* ---- CSTP splitter ------------------------------------------------------ */

static void cstp_splitter(void **state)
{
	(void)state;
	static const uint32_t sizes[] = { 0, 1, 1500, 40, 7, 1280 };
	struct tr_framing_stats st = { 0 };
	struct tr_cstp_split sp;
	struct tr_pkt read, rec;
	uint32_t pos = 0, total;
	uint8_t type;

	/* Several records back to back, as one TLS read would return them. */
	memset(arena, CANARY, sizeof(arena));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *r = arena + GUARD + pos;
		make_ip(r + 8, sizes[i], (int)(i & 1), (uint32_t)i);
		memcpy(r, "STF\x01", 4);
		r[4] = (uint8_t)(sizes[i] >> 8);
		r[5] = (uint8_t)sizes[i];
		r[6] = i == 1 ? TR_AC_DPD_REQ : TR_AC_DATA;
		r[7] = 0;
		pos += 8 + sizes[i];
	}
	total = pos;
	/* a trailing partial record: header and 3 of its 100 payload bytes */
	memcpy(arena + GUARD + pos, "STF\x01\x00\x64\x00\x00\x45\x00\x00", 11);
	pos += 11;
	memcpy(before, arena, sizeof(arena));

	assert_int_equal(tr_pkt_init(&read, arena + GUARD, CAP, 0, pos), 0);
	assert_int_equal(tr_cstp_split_init(&sp, &read, 0), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(tr_cstp_split_next(&sp, &rec, &st), 1);
		assert_int_equal(tr_pkt_headroom(&rec), 0);
		assert_int_equal(tr_pkt_tailroom(&rec), 0);
		assert_int_equal(tr_cstp_decode(&rec, &type, &st), 0);
		assert_int_equal(rec.len, sizes[i]);
		assert_int_equal(type, i == 1 ? TR_AC_DPD_REQ : TR_AC_DATA);
		/* the record view points into the read: no copy */
		assert_true(tr_pkt_data(&rec) > arena + GUARD);
	}
	assert_int_equal(sp.pos, total);
	assert_int_equal(tr_cstp_split_next(&sp, &rec, &st), -EAGAIN);
	assert_int_equal(sp.need, 100 - 3);
	assert_int_equal(sp.pos, total);
	assert_memory_equal(arena, before, sizeof(arena));

	/* a clean end */
	read.len = total;
	assert_int_equal(tr_cstp_split_init(&sp, &read, 0), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		assert_int_equal(tr_cstp_split_next(&sp, &rec, NULL), 1);
	assert_int_equal(tr_cstp_split_next(&sp, &rec, NULL), 0);

	/* a partial header asks for the rest of the header */
	read.len = total + 5;
	assert_int_equal(tr_cstp_split_init(&sp, &read, 0), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		assert_int_equal(tr_cstp_split_next(&sp, &rec, NULL), 1);
	assert_int_equal(tr_cstp_split_next(&sp, &rec, NULL), -EAGAIN);
	assert_int_equal(sp.need, 3);

	/* a length above the session's limit, a bad magic mid-stream, and a
	 * partial header whose magic is already wrong: all -EBADMSG */
	read.len = total;
	assert_int_equal(tr_cstp_split_init(&sp, &read, 1400), 0);
	assert_int_equal(tr_cstp_split_next(&sp, &rec, &st), 1);
	assert_int_equal(tr_cstp_split_next(&sp, &rec, &st), 1);
	assert_int_equal(tr_cstp_split_next(&sp, &rec, &st), -EBADMSG);

	arena[GUARD + 8 + 0 + 8 + 1 + 7] = 0x01; /* byte 7 of the third record */
	assert_int_equal(tr_cstp_split_init(&sp, &read, 0), 0);
	assert_int_equal(tr_cstp_split_next(&sp, &rec, &st), 1);
	assert_int_equal(tr_cstp_split_next(&sp, &rec, &st), 1);
	assert_int_equal(tr_cstp_split_next(&sp, &rec, &st), -EBADMSG);

	memcpy(arena + GUARD, "STX", 3);
	read.len = 3;
	assert_int_equal(tr_cstp_split_init(&sp, &read, 0), 0);
	assert_int_equal(tr_cstp_split_next(&sp, &rec, &st), -EBADMSG);
	assert_int_equal(st.rx_err_bad_magic, 3);
	assert_int_equal(tr_cstp_split_init(&sp, &read, 0x10000), -EINVAL);
}

/* ---- known answers ------------------------------------------------------ */

static void known_fcs(void **state)
{
	(void)state;
	/* The CRC-16/X-25 catalogue check value: this is the RFC 1662 FCS. */
	uint16_t f = tr_hdlc_fcs16(TR_HDLC_FCS_INIT, (const uint8_t *)"123456789", 9) ^ 0xffff;
	assert_int_equal(f, 0x906e);

	/* RFC 1662 C.2: the FCS over a frame plus its FCS (LSB first) gives the
	 * good-FCS constant. */
	uint8_t fr[9 + 2];
	memcpy(fr, "123456789", 9);
	fr[9] = (uint8_t)f;
	fr[10] = (uint8_t)(f >> 8);
	assert_int_equal(tr_hdlc_fcs16(TR_HDLC_FCS_INIT, fr, sizeof(fr)), TR_HDLC_FCS_GOOD);
	for (uint32_t n = 0; n < 64; n++) {
		make_ip(inner, n, 0, 9);
		f = tr_hdlc_fcs16(TR_HDLC_FCS_INIT, inner, n) ^ 0xffff;
		inner[n] = (uint8_t)f;
		inner[n + 1] = (uint8_t)(f >> 8);
		assert_int_equal(tr_hdlc_fcs16(TR_HDLC_FCS_INIT, inner, n + 2), TR_HDLC_FCS_GOOD);
	}
}

/* An LCP Configure-Request as a router sent it (FCS 22 32 observed on the
 * wire), framed with the default ACCM and with none: every octet below 0x20
 * becomes 7D, octet ^ 0x20 in the first case (RFC 1662 §4.2, §7.1). */
static const uint8_t lcp_frame[] = {
	0xff, 0x03, 0xc0, 0x21, 0x01, 0x15, 0x00, 0x13, 0x03, 0x05, 0xc2, 0x23,
	0x81, 0x05, 0x06, 0x35, 0x6e, 0x4a, 0x35, 0x07, 0x02, 0x08, 0x02,
};
static const uint8_t lcp_hdlc_accm_all[] = {
	0x7e, 0xff, 0x7d, 0x23, 0xc0, 0x21, 0x7d, 0x21, 0x7d, 0x35, 0x7d, 0x20,
	0x7d, 0x33, 0x7d, 0x23, 0x7d, 0x25, 0xc2, 0x23, 0x81, 0x7d, 0x25, 0x7d,
	0x26, 0x35, 0x6e, 0x4a, 0x35, 0x7d, 0x27, 0x7d, 0x22, 0x7d, 0x28, 0x7d,
	0x22, 0x22, 0x32, 0x7e,
};
static const uint8_t lcp_hdlc_accm_none[] = {
	0x7e, 0xff, 0x03, 0xc0, 0x21, 0x01, 0x15, 0x00, 0x13, 0x03, 0x05, 0xc2,
	0x23, 0x81, 0x05, 0x06, 0x35, 0x6e, 0x4a, 0x35, 0x07, 0x02, 0x08, 0x02,
	0x22, 0x32, 0x7e,
};

static void known_hdlc(void **state)
{
	(void)state;
	struct tr_pkt p;
	uint32_t used;

	setup_view(&p, 0, lcp_frame, sizeof(lcp_frame));
	assert_int_equal(tr_hdlc_encode(&p, TR_HDLC_ACCM_DEFAULT, NULL), 0);
	assert_int_equal(p.len, sizeof(lcp_hdlc_accm_all));
	assert_memory_equal(tr_pkt_data(&p), lcp_hdlc_accm_all, p.len);

	setup_view(&p, 0, lcp_frame, sizeof(lcp_frame));
	assert_int_equal(tr_hdlc_encode(&p, 0, NULL), 0);
	assert_int_equal(p.len, sizeof(lcp_hdlc_accm_none));
	assert_memory_equal(tr_pkt_data(&p), lcp_hdlc_accm_none, p.len);

	/* Decoding: escapes undone, FCS removed. A sender that escapes more
	 * than our ACCM asks is still understood (§4.2: MUST process all). */
	setup_view(&p, 0, lcp_hdlc_accm_all, sizeof(lcp_hdlc_accm_all));
	assert_int_equal(tr_hdlc_decode(&p, 0, &used, NULL), 0);
	assert_int_equal(used, sizeof(lcp_hdlc_accm_all));
	assert_int_equal(p.len, sizeof(lcp_frame));
	assert_memory_equal(tr_pkt_data(&p), lcp_frame, sizeof(lcp_frame));

	/* Leading time-fill flags; a missing opening flag (shared with the
	 * previous frame, §4.1); unescaped controls flagged in the ACCM are
	 * dropped before the FCS (§4.2); bytes after the closing flag stay. */
	uint8_t b[64];
	size_t n = 0;
	b[n++] = 0x7e;
	b[n++] = 0x7e;
	memcpy(b + n, lcp_hdlc_accm_all + 1, 5);
	n += 5;
	b[n++] = 0x11; /* XON inserted by a modem: flagged, so removed */
	memcpy(b + n, lcp_hdlc_accm_all + 6, sizeof(lcp_hdlc_accm_all) - 6);
	n += sizeof(lcp_hdlc_accm_all) - 6;
	b[n++] = 0xaa;
	setup_view(&p, 0, b, (uint32_t)n);
	assert_int_equal(tr_hdlc_decode(&p, TR_HDLC_ACCM_DEFAULT, &used, NULL), 0);
	assert_int_equal(used, n - 1);
	assert_memory_equal(tr_pkt_data(&p), lcp_frame, sizeof(lcp_frame));

	setup_view(&p, 0, lcp_hdlc_accm_all + 1, sizeof(lcp_hdlc_accm_all) - 1);
	assert_int_equal(tr_hdlc_decode(&p, TR_HDLC_ACCM_DEFAULT, NULL, NULL), 0);
	assert_memory_equal(tr_pkt_data(&p), lcp_frame, sizeof(lcp_frame));
}

static void known_headers(void **state)
{
	(void)state;
	static const uint8_t ip4[4] = { 0x45, 0x00, 0x00, 0x04 };
	static const uint8_t dtls[] = { 0x00, 0x45, 0x00, 0x00, 0x04 };
	static const uint8_t cstp[] = { 'S', 'T', 'F', 0x01, 0x00, 0x04, 0x00, 0x00,
		0x45, 0x00, 0x00, 0x04 };
	static const uint8_t f5_full[] = { 0xf5, 0x00, 0x00, 0x08, 0xff, 0x03, 0x00, 0x21,
		0x45, 0x00, 0x00, 0x04 };
	static const uint8_t f5_comp[] = { 0xf5, 0x00, 0x00, 0x05, 0x21,
		0x45, 0x00, 0x00, 0x04 };
	static const uint8_t f5_acfc[] = { 0xf5, 0x00, 0x00, 0x06, 0x00, 0x57,
		0x45, 0x00, 0x00, 0x04 };
	static const uint8_t forti[] = { 0x00, 0x0e, 0x50, 0x50, 0x00, 0x08,
		0xff, 0x03, 0x00, 0x21, 0x45, 0x00, 0x00, 0x04 };
	static const uint8_t gp[] = { 0x1a, 0x2b, 0x3c, 0x4d, 0x08, 0x00, 0x00, 0x04,
		0x01, 0, 0, 0, 0, 0, 0, 0, 0x45, 0x00, 0x00, 0x04 };
	static const uint8_t gp_ka[] = { 0x1a, 0x2b, 0x3c, 0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct tr_pkt p;
	uint16_t v;

	setup_view(&p, HEAD, ip4, 4);
	assert_int_equal(tr_dtls_encode(&p, TR_AC_DATA, NULL), 0);
	assert_int_equal(p.len, sizeof(dtls));
	assert_memory_equal(tr_pkt_data(&p), dtls, sizeof(dtls));

	setup_view(&p, HEAD, ip4, 4);
	assert_int_equal(tr_cstp_encode(&p, TR_AC_DATA, NULL), 0);
	assert_int_equal(p.len, sizeof(cstp));
	assert_memory_equal(tr_pkt_data(&p), cstp, sizeof(cstp));

	setup_view(&p, HEAD, ip4, 4);
	assert_int_equal(tr_f5_encode(&p, &ppp_opts[0], TR_PPP_IPV4, NULL), 0);
	assert_int_equal(p.len, sizeof(f5_full));
	assert_memory_equal(tr_pkt_data(&p), f5_full, sizeof(f5_full));

	setup_view(&p, HEAD, ip4, 4);
	assert_int_equal(tr_f5_encode(&p, &ppp_opts[3], TR_PPP_IPV4, NULL), 0);
	assert_int_equal(p.len, sizeof(f5_comp));
	assert_memory_equal(tr_pkt_data(&p), f5_comp, sizeof(f5_comp));

	setup_view(&p, HEAD, ip4, 4);
	assert_int_equal(tr_f5_encode(&p, &ppp_opts[1], TR_PPP_IPV6, NULL), 0);
	assert_int_equal(p.len, sizeof(f5_acfc));
	assert_memory_equal(tr_pkt_data(&p), f5_acfc, sizeof(f5_acfc));

	setup_view(&p, HEAD, ip4, 4);
	assert_int_equal(tr_fortinet_encode(&p, TR_PPP_IPV4, NULL), 0);
	assert_int_equal(p.len, sizeof(forti));
	assert_memory_equal(tr_pkt_data(&p), forti, sizeof(forti));

	setup_view(&p, HEAD, ip4, 4);
	assert_int_equal(tr_gp_encode(&p, TR_GP_ETH_IPV4, NULL), 0);
	assert_int_equal(p.len, sizeof(gp));
	assert_memory_equal(tr_pkt_data(&p), gp, sizeof(gp));

	/* and the hand-built bytes decode */
	setup_view(&p, 0, f5_comp, sizeof(f5_comp));
	assert_int_equal(tr_f5_decode(&p, &ppp_opts[3], &v, NULL), 0);
	assert_int_equal(v, TR_PPP_IPV4);
	assert_memory_equal(tr_pkt_data(&p), ip4, 4);
	setup_view(&p, 0, forti, sizeof(forti));
	assert_int_equal(tr_fortinet_decode(&p, &v, NULL), 0);
	assert_int_equal(v, TR_PPP_IPV4);
	assert_memory_equal(tr_pkt_data(&p), ip4, 4);
	setup_view(&p, 0, gp_ka, sizeof(gp_ka));
	assert_int_equal(tr_gp_decode(&p, &v, NULL), 0);
	assert_int_equal(v, TR_GP_ETH_KEEPALIVE);
	assert_int_equal(p.len, 0);
}

/* ---- negatives ---------------------------------------------------------- */

struct bad {
	const char *what;
	uint8_t bytes[24];
	uint32_t len;
	int err;
};

#define DECODE_ALL(name, call)                                                 \
	for (size_t i = 0; i < sizeof(name) / sizeof(name[0]); i++) {           \
		struct tr_framing_stats st = { 0 };                             \
		struct tr_pkt p, was;                                           \
		setup_view(&p, HEAD, name[i].bytes, name[i].len);               \
		was = p;                                                        \
		int r = (call);                                                 \
		if (r != name[i].err)                                           \
			fail_msg("%s: %s: got %d, want %d", #name,              \
				 name[i].what, r, name[i].err);                 \
		assert_untouched(&p, &was);                                     \
		assert_int_equal(st.rx_ok, 0);                                  \
		uint64_t sum = st.rx_err_truncated + st.rx_err_oversize +       \
			st.rx_err_undersize + st.rx_err_bad_magic +             \
			st.rx_err_bad_ppp + st.rx_err_unknown_type +            \
			st.rx_err_bad_fcs + st.rx_err_bad_escape +              \
			st.rx_err_incomplete + st.rx_err_bad_arg;               \
		if (sum != 1)                                                   \
			fail_msg("%s: %s: %llu counters bumped", #name,         \
				 name[i].what, (unsigned long long)sum);        \
	}

static void negatives_anyconnect(void **state)
{
	(void)state;
	uint8_t t;
	static const struct bad dtls[] = {
		{ "empty", { 0 }, 0, -ENODATA },
		{ "type 1", { 0x01, 0x45 }, 2, -ENOMSG },
		{ "type 6", { 0x06 }, 1, -ENOMSG },
		{ "type 0x0a", { 0x0a }, 1, -ENOMSG },
		{ "type 0xff", { 0xff, 0, 0 }, 3, -ENOMSG },
	};
	static const struct bad cstp[] = {
		{ "empty", { 0 }, 0, -ENODATA },
		{ "7 bytes", { 'S', 'T', 'F', 1, 0, 0, 0 }, 7, -ENODATA },
		{ "magic", { 'S', 'T', 'G', 1, 0, 0, 0, 0 }, 8, -EBADMSG },
		{ "version", { 'S', 'T', 'F', 2, 0, 0, 0, 0 }, 8, -EBADMSG },
		{ "byte 7", { 'S', 'T', 'F', 1, 0, 0, 0, 1 }, 8, -EBADMSG },
		{ "oversize", { 'S', 'T', 'F', 1, 0, 3, 0, 0, 1, 2 }, 10, -EOVERFLOW },
		{ "oversize max", { 'S', 'T', 'F', 1, 0xff, 0xff, 0, 0, 1 }, 9, -EOVERFLOW },
		{ "undersize", { 'S', 'T', 'F', 1, 0, 1, 0, 0, 1, 2 }, 10, -ERANGE },
		{ "unknown type", { 'S', 'T', 'F', 1, 0, 0, 2, 0 }, 8, -ENOMSG },
	};
	DECODE_ALL(dtls, tr_dtls_decode(&p, &t, &st));
	DECODE_ALL(cstp, tr_cstp_decode(&p, &t, &st));
}

static void negatives_ppp_framings(void **state)
{
	(void)state;
	uint16_t v;
	static const struct bad f5[] = {
		{ "3 bytes", { 0xf5, 0, 0 }, 3, -ENODATA },
		{ "magic", { 0xf6, 0, 0, 4, 0xff, 3, 0, 0x21 }, 8, -EBADMSG },
		{ "magic 2", { 0xf5, 1, 0, 4, 0xff, 3, 0, 0x21 }, 8, -EBADMSG },
		{ "oversize", { 0xf5, 0, 0, 5, 0xff, 3, 0, 0x21 }, 8, -EOVERFLOW },
		{ "oversize max", { 0xf5, 0, 0xff, 0xff, 0xff, 3, 0, 0x21 }, 8, -EOVERFLOW },
		{ "undersize", { 0xf5, 0, 0, 3, 0xff, 3, 0, 0x21 }, 8, -ERANGE },
		{ "no ppp", { 0xf5, 0, 0, 0 }, 4, -ENODATA },
		{ "short ppp", { 0xf5, 0, 0, 3, 0xff, 3, 0 }, 7, -ENODATA },
		{ "acfc not negotiated", { 0xf5, 0, 0, 2, 0, 0x21 }, 6, -EBADMSG },
		{ "pfc not negotiated", { 0xf5, 0, 0, 3, 0xff, 3, 0x21 }, 7, -EBADMSG },
		{ "even protocol", { 0xf5, 0, 0, 4, 0xff, 3, 0, 0x20 }, 8, -EBADMSG },
		{ "unknown protocol", { 0xf5, 0, 0, 4, 0xff, 3, 0x80, 0xfd }, 8, -ENOMSG },
	};
	static const struct bad forti[] = {
		{ "5 bytes", { 0, 10, 0x50, 0x50, 0 }, 5, -ENODATA },
		{ "magic", { 0, 10, 0x50, 0x51, 0, 4, 0xff, 3, 0, 0x21 }, 10, -EBADMSG },
		{ "totals disagree", { 0, 11, 0x50, 0x50, 0, 4, 0xff, 3, 0, 0x21 }, 10, -EBADMSG },
		{ "total below header", { 0, 5, 0x50, 0x50, 0xff, 0xff, 0xff, 3, 0, 0x21 }, 10, -EBADMSG },
		{ "oversize", { 0, 11, 0x50, 0x50, 0, 5, 0xff, 3, 0, 0x21 }, 10, -EOVERFLOW },
		{ "undersize", { 0, 9, 0x50, 0x50, 0, 3, 0xff, 3, 0, 0x21 }, 10, -ERANGE },
		{ "compressed ppp", { 0, 8, 0x50, 0x50, 0, 2, 0, 0x21 }, 8, -EBADMSG },
		{ "short ppp", { 0, 9, 0x50, 0x50, 0, 3, 0xff, 3, 0 }, 9, -ENODATA },
		{ "unknown protocol", { 0, 10, 0x50, 0x50, 0, 4, 0xff, 3, 0x00, 0x2b }, 10, -ENOMSG },
	};
	static const struct bad gp[] = {
		{ "15 bytes", { 0x1a, 0x2b, 0x3c, 0x4d, 8, 0, 0, 0, 1 }, 15, -ENODATA },
		{ "magic", { 0x1a, 0x2b, 0x3c, 0x4e, 8, 0, 0, 0, 1 }, 16, -EBADMSG },
		{ "oversize", { 0x1a, 0x2b, 0x3c, 0x4d, 8, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0x45 }, 17, -EOVERFLOW },
		{ "undersize", { 0x1a, 0x2b, 0x3c, 0x4d, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x45 }, 17, -ERANGE },
		{ "ethertype arp", { 0x1a, 0x2b, 0x3c, 0x4d, 8, 6, 0, 0, 1 }, 16, -ENOMSG },
	};
	struct tr_ppp_opts none = { 0, 0 };
	DECODE_ALL(f5, tr_f5_decode(&p, &none, &v, &st));
	DECODE_ALL(forti, tr_fortinet_decode(&p, &v, &st));
	DECODE_ALL(gp, tr_gp_decode(&p, &v, &st));

	/* the PPP counters say which kind */
	struct tr_framing_stats st = { 0 };
	struct tr_pkt p;
	setup_view(&p, 0, f5[8].bytes, f5[8].len);
	assert_int_equal(tr_f5_decode(&p, &none, &v, &st), -EBADMSG);
	assert_int_equal(st.rx_err_bad_ppp, 1);
	assert_int_equal(st.rx_err_bad_magic, 0);
	/* -ENOMSG tells the caller the protocol, for a Protocol-Reject */
	setup_view(&p, 0, f5[11].bytes + 4, 4);
	assert_int_equal(tr_ppp_decode(&p, &none, &v, &st), -ENOMSG);
	assert_int_equal(v, 0x80fd);
	assert_int_equal(p.len, 4);

	/* GP reserved bytes that differ are counted, not fatal (OpenConnect
	 * gpst.c only logs them) */
	static const uint8_t odd[] = { 0x1a, 0x2b, 0x3c, 0x4d, 0x86, 0xdd, 0, 1,
		2, 0, 0, 0, 0, 0, 0, 0, 0x60 };
	memset(&st, 0, sizeof(st));
	setup_view(&p, 0, odd, sizeof(odd));
	assert_int_equal(tr_gp_decode(&p, &v, &st), 0);
	assert_int_equal(st.rx_warn_gp_reserved, 1);
}

static void negatives_hdlc(void **state)
{
	(void)state;
	size_t n = sizeof(lcp_hdlc_accm_none);

	/* The frames are longer than struct bad holds, so test them directly. */
	struct {
		const char *what;
		uint8_t b[48];
		uint32_t len;
		int err;
	} cases[6];
	memset(cases, 0, sizeof(cases));

	cases[0].what = "bad fcs";
	memcpy(cases[0].b, lcp_hdlc_accm_none, n);
	cases[0].b[7] ^= 0x01;
	cases[0].len = (uint32_t)n;
	cases[0].err = -EBADMSG;

	cases[1].what = "bad fcs byte";
	memcpy(cases[1].b, lcp_hdlc_accm_none, n);
	cases[1].b[n - 2] ^= 0x80;
	cases[1].len = (uint32_t)n;
	cases[1].err = -EBADMSG;

	cases[2].what = "escape at end";
	memcpy(cases[2].b, lcp_hdlc_accm_none, n - 1);
	cases[2].b[n - 1] = TR_HDLC_ESC;
	cases[2].b[n] = TR_HDLC_FLAG;
	cases[2].len = (uint32_t)n + 1;
	cases[2].err = -EILSEQ;

	cases[3].what = "missing closing flag";
	memcpy(cases[3].b, lcp_hdlc_accm_none, n - 1);
	cases[3].len = (uint32_t)n - 1;
	cases[3].err = -EAGAIN;

	cases[4].what = "only flags";
	memset(cases[4].b, TR_HDLC_FLAG, 5);
	cases[4].len = 5;
	cases[4].err = -EAGAIN;

	cases[5].what = "3 octets";
	memcpy(cases[5].b, "\x7e\xff\x03\x00\x7e", 5);
	cases[5].len = 5;
	cases[5].err = -ENODATA;

	for (size_t i = 0; i < 6; i++) {
		struct tr_framing_stats st = { 0 };
		struct tr_pkt p, was;
		uint32_t used = 12345;

		setup_view(&p, HEAD, cases[i].b, cases[i].len);
		was = p;
		int r = tr_hdlc_decode(&p, TR_HDLC_ACCM_DEFAULT, &used, &st);
		if (r != cases[i].err)
			fail_msg("%s: got %d want %d", cases[i].what, r, cases[i].err);
		assert_untouched(&p, &was);
		assert_int_equal(used, 12345);
		assert_int_equal(st.rx_ok, 0);
	}
	struct tr_framing_stats st = { 0 };
	struct tr_pkt p;
	setup_view(&p, 0, cases[0].b, cases[0].len);
	assert_int_equal(tr_hdlc_decode(&p, 0, NULL, &st), -EBADMSG);
	assert_int_equal(st.rx_err_bad_fcs, 1);
	setup_view(&p, 0, cases[2].b, cases[2].len);
	assert_int_equal(tr_hdlc_decode(&p, 0, NULL, &st), -EILSEQ);
	assert_int_equal(st.rx_err_bad_escape, 1);
	setup_view(&p, 0, cases[3].b, cases[3].len);
	assert_int_equal(tr_hdlc_decode(&p, 0, NULL, &st), -EAGAIN);
	assert_int_equal(st.rx_err_incomplete, 1);
	setup_view(&p, 0, cases[5].b, cases[5].len);
	assert_int_equal(tr_hdlc_decode(&p, 0, NULL, &st), -ENODATA);
	assert_int_equal(st.rx_err_truncated, 1);
}

static void bad_arguments(void **state)
{
	(void)state;
	struct tr_framing_stats st = { 0 };
	struct tr_ppp_opts none = { 0, 0 };
	struct tr_pkt p, was;
	uint8_t t;
	uint16_t v;

	setup_view(&p, HEAD, inner, 20);
	was = p;
	assert_int_equal(tr_dtls_encode(&p, 0x02, &st), -EINVAL);
	assert_int_equal(tr_cstp_encode(&p, 0x06, &st), -EINVAL);
	assert_int_equal(tr_gp_encode(&p, 0x0806, &st), -EINVAL);
	assert_int_equal(tr_gp_encode(&p, TR_GP_ETH_KEEPALIVE, &st), -EINVAL);
	assert_int_equal(tr_f5_encode(&p, &none, 0x0023, &st), -EINVAL);
	assert_int_equal(tr_fortinet_encode(&p, 0x80fd, &st), -EINVAL);
	assert_int_equal(tr_ppp_encode(&p, &none, 0x0001, &st), -EINVAL);
	assert_int_equal(tr_f5_encode(&p, NULL, TR_PPP_IPV4, &st), -EINVAL);
	assert_int_equal(st.tx_err_bad_arg, 8);
	assert_untouched(&p, &was);
	assert_int_equal(tr_dtls_encode(NULL, 0, NULL), -EINVAL);
	assert_int_equal(tr_dtls_decode(&p, NULL, &st), -EINVAL);
	assert_int_equal(tr_cstp_decode(NULL, &t, &st), -EINVAL);
	assert_int_equal(tr_f5_decode(&p, NULL, &v, &st), -EINVAL);
	assert_int_equal(tr_fortinet_decode(&p, NULL, &st), -EINVAL);
	assert_int_equal(tr_gp_decode(&p, NULL, &st), -EINVAL);
	assert_int_equal(tr_ppp_decode(&p, &none, NULL, &st), -EINVAL);
	assert_int_equal(tr_hdlc_decode(NULL, 0, NULL, &st), -EINVAL);
	assert_int_equal(tr_hdlc_encode(NULL, 0, &st), -EINVAL);
	assert_int_equal(st.rx_err_bad_arg, 7);
	assert_untouched(&p, &was);
	assert_null(tr_framing_room(TR_FRAMING_COUNT));
	assert_null(tr_framing_room((enum tr_framing)-1));
}

/* ---- room --------------------------------------------------------------- */

/* Each encoder with one byte less head (or tail) room than the table says:
 * -EMSGSIZE and nothing changed; with exactly the table's room: success. */
static void room_failures(void **state)
{
	(void)state;
	struct tr_framing_stats st = { 0 };
	struct tr_ppp_opts none = { 0, 0 };
	struct tr_pkt p, was;
	int r;

	for (int f = 0; f < TR_FRAMING_COUNT; f++) {
		const struct tr_framing_room *room = tr_framing_room((enum tr_framing)f);
		assert_non_null(room);
		assert_non_null(room->name);
		if (f == TR_FRAMING_HDLC)
			continue;
		for (int exact = 0; exact <= 1; exact++) {
			uint32_t head = room->head - (exact ? 0 : 1);
			make_ip(inner, 100, 0, 4);
			setup_view(&p, head, inner, 100);
			was = p;
			switch (f) {
			case TR_FRAMING_DTLS:     r = tr_dtls_encode(&p, TR_AC_DATA, &st); break;
			case TR_FRAMING_CSTP:     r = tr_cstp_encode(&p, TR_AC_DATA, &st); break;
			case TR_FRAMING_F5:       r = tr_f5_encode(&p, &none, TR_PPP_IPV4, &st); break;
			case TR_FRAMING_FORTINET: r = tr_fortinet_encode(&p, TR_PPP_IPV4, &st); break;
			case TR_FRAMING_GP:       r = tr_gp_encode(&p, TR_GP_ETH_IPV4, &st); break;
			default:                  r = tr_ppp_encode(&p, &none, TR_PPP_LCP, &st); break;
			}
			if (exact) {
				assert_int_equal(r, 0);
				assert_int_equal(tr_pkt_headroom(&p), 0);
				assert_only_view_written(&was, &p);
			} else {
				if (r != -EMSGSIZE)
					fail_msg("%s: got %d with one byte short", room->name, r);
				assert_untouched(&p, &was);
			}
		}
	}
	assert_int_equal(st.tx_err_no_room, TR_FRAMING_COUNT - 1);

	/* HDLC: worst case (every octet escaped) and a typical packet, each with
	 * one byte less tail room than needed, then exactly enough. */
	const struct tr_framing_room *hr = tr_framing_room(TR_FRAMING_HDLC);
	for (int worst = 0; worst <= 1; worst++) {
		uint32_t n = 200, need;
		if (worst)
			memset(inner, 0x7e, n);
		else
			make_ip(inner, n, 1, 5);
		for (int exact = 0; exact <= 1; exact++) {
			memset(arena, CANARY, sizeof(arena));
			need = n + 6; /* recomputed below for the typical case */
			assert_int_equal(tr_pkt_init(&p, arena + GUARD, n + need, 0, n), 0);
			memcpy(tr_pkt_data(&p), inner, n);
			need = tr_hdlc_encoded_len(&p, TR_HDLC_ACCM_DEFAULT) - n;
			/* the table's bound holds; every 0x7e doubles */
			assert_true(need <= hr->tail + hr->tail_per_byte * n);
			if (worst)
				assert_true(need >= n + 4);
			p.cap = n + need - (exact ? 0 : 1);
			memcpy(before, arena, sizeof(arena));
			was = p;
			r = tr_hdlc_encode(&p, TR_HDLC_ACCM_DEFAULT, &st);
			if (exact) {
				assert_int_equal(r, 0);
				assert_int_equal(tr_pkt_tailroom(&p), 0);
				assert_only_view_written(&was, &p);
			} else {
				assert_int_equal(r, -EMSGSIZE);
				assert_untouched(&p, &was);
			}
		}
	}
}

static uint8_t big[0x10000 + 64];

static void too_long(void **state)
{
	(void)state;
	struct tr_framing_stats st = { 0 };
	struct tr_ppp_opts none = { 0, 0 }, all = { 1, 1 };
	struct tr_pkt p, was;

	/* One byte past what each 16-bit length field can say. */
	assert_int_equal(tr_pkt_init(&p, big, sizeof(big), 32, 0x10000), 0);
	was = p;
	assert_int_equal(tr_cstp_encode(&p, TR_AC_DATA, &st), -ERANGE);
	assert_int_equal(tr_gp_encode(&p, TR_GP_ETH_IPV4, &st), -ERANGE);
	p.len = 0x10000 - 4 + 1; /* F5 length covers the PPP header too */
	was = p;
	assert_int_equal(tr_f5_encode(&p, &none, TR_PPP_IPV4, &st), -ERANGE);
	p.len = 0x10000 - 1 + 1;
	was = p;
	assert_int_equal(tr_f5_encode(&p, &all, TR_PPP_IPV4, &st), -ERANGE);
	p.len = 0x10000 - 10 + 1; /* Fortinet total counts everything */
	was = p;
	assert_int_equal(tr_fortinet_encode(&p, TR_PPP_IPV4, &st), -ERANGE);
	assert_memory_equal(&p, &was, sizeof(p));
	assert_int_equal(st.tx_err_too_long, 5);

	/* and exactly the largest each can say */
	p.len = 0xffff - 10;
	assert_int_equal(tr_fortinet_encode(&p, TR_PPP_IPV4, &st), 0);
	assert_int_equal(p.len, 0xffff);
	assert_int_equal(big[32 - 10], 0xff);
	assert_int_equal(big[32 - 9], 0xff);
	uint16_t v;
	assert_int_equal(tr_fortinet_decode(&p, &v, &st), 0);
	assert_int_equal(p.len, 0xffff - 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_dtls_cstp_gp),
		cmocka_unit_test(roundtrip_f5_fortinet),
		cmocka_unit_test(roundtrip_hdlc),
		cmocka_unit_test(cstp_splitter),
		cmocka_unit_test(known_fcs),
		cmocka_unit_test(known_hdlc),
		cmocka_unit_test(known_headers),
		cmocka_unit_test(negatives_anyconnect),
		cmocka_unit_test(negatives_ppp_framings),
		cmocka_unit_test(negatives_hdlc),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(room_failures),
		cmocka_unit_test(too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
