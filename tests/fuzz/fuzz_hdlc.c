/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes RFC 1662 HDLC framing. Input: 4 bytes of ACCM (big-endian), then
 * bytes. Two properties:
 *  - decode of hostile bytes stays inside an allocation of exactly their
 *    size, and a frame that decodes encodes and decodes back to itself;
 *  - any bytes, framed in place with exactly the room the encoder says it
 *    needs (with and without a byte of head room), decode back to the same
 *    bytes, and one byte less room is refused without a write.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunroom/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_then_reencode(uint32_t accm, const uint8_t *in, uint32_t n)
{
	struct tr_framing_stats st = { 0 };
	uint8_t *buf = malloc(n ? n : 1), *again;
	struct tr_pkt p, q;
	uint32_t used = 0, need;

	if (!buf)
		return;
	if (n)
		memcpy(buf, in, n);
	if (tr_pkt_init(&p, buf, n, 0, n))
		abort();
	if (tr_hdlc_decode(&p, accm, &used, &st)) {
		if (p.off != 0 || p.len != n || memcmp(buf, in, n))
			abort(); /* a failure leaves bytes and view alone */
		free(buf);
		return;
	}
	if (used > n || p.len + 3 > used)
		abort();
	/* frame the decoded PPP frame again, in a buffer sized to the byte */
	need = tr_hdlc_encoded_len(&p, accm);
	again = malloc(need);
	if (!again)
		abort();
	memcpy(again, tr_pkt_data(&p), p.len);
	if (tr_pkt_init(&q, again, need, 0, p.len) || tr_hdlc_encode(&q, accm, &st) ||
	    q.len != need)
		abort();
	if (tr_hdlc_decode(&q, accm, &used, &st) || used != need || q.len != p.len ||
	    memcmp(tr_pkt_data(&q), tr_pkt_data(&p), p.len))
		abort();
	free(again);
	free(buf);
}

static void encode_then_decode(uint32_t accm, const uint8_t *in, uint32_t n)
{
	struct tr_framing_stats st = { 0 };
	struct tr_pkt p;
	uint32_t need, used = 0;
	uint8_t *buf;

	if (tr_pkt_init(&p, (void *)in, n, 0, n))
		abort();
	need = tr_hdlc_encoded_len(&p, accm);
	buf = malloc(need);
	if (!buf)
		abort();
	if (n)
		memcpy(buf, in, n);
	/* one byte short first: refused, nothing written */
	if (tr_pkt_init(&p, buf, need - 1, 0, n) || tr_hdlc_encode(&p, accm, &st) != -EMSGSIZE ||
	    p.len != n || (n && memcmp(buf, in, n)))
		abort();
	if (tr_pkt_init(&p, buf, need, 0, n) || tr_hdlc_encode(&p, accm, &st) || p.len != need)
		abort();
	if (n + 2 < 4) {
		/* too short for RFC 1662 §4.3; the decoder must say so */
		if (tr_hdlc_decode(&p, accm, &used, &st) != -ENODATA)
			abort();
	} else if (tr_hdlc_decode(&p, accm, &used, &st) || used != need || p.len != n ||
		   (n && memcmp(tr_pkt_data(&p), in, n))) {
		/* an ACCM-flagged control octet in the data is escaped on the
		 * way out, so it survives: every input must come back */
		abort();
	}
	free(buf);

	/* Again with one byte of head room: the opening flag goes there and
	 * the tail needs one byte less. */
	buf = malloc(need);
	if (!buf)
		abort();
	if (n)
		memcpy(buf + 1, in, n);
	if (tr_pkt_init(&p, buf, need - 1, 1, n) || tr_hdlc_encode(&p, accm, &st) != -EMSGSIZE ||
	    p.off != 1 || p.len != n || (n && memcmp(buf + 1, in, n)))
		abort();
	if (tr_pkt_init(&p, buf, need, 1, n) || tr_hdlc_encode(&p, accm, &st) || p.off != 0 ||
	    p.len != need)
		abort();
	if (n + 2 >= 4 && (tr_hdlc_decode(&p, accm, &used, &st) || used != need || p.len != n ||
			   p.off != 1 || (n && memcmp(buf + 1, in, n))))
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t accm;

	if (size < 4 || size > 70000)
		return 0;
	accm = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
	decode_then_reencode(accm, data + 4, (uint32_t)(size - 4));
	encode_then_decode(accm, data + 4, (uint32_t)(size - 4));
	return 0;
}
