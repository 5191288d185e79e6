/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes every length-prefixed framing decoder and the CSTP splitter.
 * Input: one selector byte, then the bytes of a frame. The frame is copied to
 * an allocation of exactly its size, so the sanitizer flags any read or write
 * outside the view; a frame that decodes is encoded again into the room the
 * decode freed and must come out byte for byte where the encoding is unique.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunroom/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (memcmp(a, b, n))
		abort();
}

static void one(uint8_t sel, const uint8_t *in, uint32_t n)
{
	struct tr_framing_stats st = { 0 };
	struct tr_ppp_opts o = { (uint8_t)(sel >> 3 & 1), (uint8_t)(sel >> 4 & 1) };
	uint8_t *buf = malloc(n ? n : 1);
	struct tr_pkt p;
	uint16_t v;
	uint8_t t;
	int r;

	if (!buf)
		return;
	if (n)
		memcpy(buf, in, n);
	if (tr_pkt_init(&p, buf, n, 0, n))
		abort();

	switch (sel % 7) {
	case 0:
		r = tr_dtls_decode(&p, &t, &st);
		if (!r) {
			if (tr_dtls_encode(&p, t, &st) || p.len != n)
				abort();
			check_same(buf, in, n);
		}
		break;
	case 1:
		r = tr_cstp_decode(&p, &t, &st);
		if (!r) {
			if (tr_cstp_encode(&p, t, &st) || p.len != n)
				abort();
			check_same(buf, in, n);
		}
		break;
	case 2: {
		struct tr_cstp_split sp;
		struct tr_pkt rec;
		uint32_t seen = 0;

		if (tr_cstp_split_init(&sp, &p, sel & 0x80 ? 1500 : 0))
			abort();
		while ((r = tr_cstp_split_next(&sp, &rec, &st)) == 1) {
			if (tr_pkt_data(&rec) != buf + seen || rec.len < 8 ||
			    rec.len > n - seen)
				abort();
			seen += rec.len;
			(void)tr_cstp_decode(&rec, &t, &st);
		}
		if (r == -EAGAIN && (sp.need == 0 || sp.pos != seen))
			abort();
		if (r == 0 && seen != n)
			abort();
		break;
	}
	case 3:
		r = tr_f5_decode(&p, &o, &v, &st);
		if (!r) {
			/* Unique only without compression: with it, a sender may
			 * still send a full header, or compress an LCP header we
			 * would send in full (RFC 1661 §6.5/§6.6), so the room the
			 * decode freed can be too small; then nothing may change. */
			struct tr_pkt was = p;
			r = tr_f5_encode(&p, &o, v, &st);
			if (r == -EMSGSIZE && (o.acfc || o.pfc) &&
			    !memcmp(&p, &was, sizeof(p)))
				break;
			if (r)
				abort();
			if (!o.acfc && !o.pfc) {
				if (p.len != n)
					abort();
				check_same(buf, in, n);
			}
		}
		break;
	case 4:
		r = tr_fortinet_decode(&p, &v, &st);
		if (!r) {
			if (tr_fortinet_encode(&p, v, &st) || p.len != n)
				abort();
			check_same(buf, in, n);
		}
		break;
	case 5:
		r = tr_gp_decode(&p, &v, &st);
		if (!r && !st.rx_warn_gp_reserved && (v || p.len == 0)) {
			if (tr_gp_encode(&p, v, &st) || p.len != n)
				abort();
			check_same(buf, in, n);
		}
		break;
	default:
		r = tr_ppp_decode(&p, &o, &v, &st);
		if (!r && !o.acfc && !o.pfc) {
			if (tr_ppp_encode(&p, &o, v, &st) || p.len != n)
				abort();
			check_same(buf, in, n);
		}
		break;
	}
	/* whatever happened, the view stays inside the buffer */
	if (p.buf != buf || p.off > n || p.len > n - p.off)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 70000)
		return 0;
	one(data[0], data + 1, (uint32_t)(size - 1));
	return 0;
}
