/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the CSTP receiver (tr_ac_cstp_rx_*: TLS record headers, piecewise
 * opening, CSTP framing, control packets, alerts, TLS 1.3 padding and inner
 * types) with fixed keys. Byte 0: bit 0 TLS 1.3 (else 1.2), bits 1-2 the
 * cipher, bit 3 the mode:
 *   0  the rest is the TCP stream as it came (fails at the first header or
 *      tag, which must end the stream with an error and nothing kept);
 *   1  the rest is a list of plaintexts, each [len_hi len_lo ctype bytes...],
 *      that the harness seals into TLS records with the same keys, so
 *      arbitrary CSTP headers, padding and inner types get past the tag.
 * Byte 1 sets the sizes of the pieces the stream is fed in.
 * The sink checks that every data packet it is told about lies in its slot.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anyconnect/cstp_rx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tr_ac_cstp_rx rx;
static uint8_t slot[70000];
static uint32_t fill, pending;
static uint8_t stream[200000];

static uint8_t *room(void *arg, uint32_t len)
{
	(void)arg;
	if (len > sizeof(slot) - fill || len > 4096)
		return NULL;
	pending = len;
	return slot + fill;
}

static void done(void *arg, uint32_t len, bool ok)
{
	(void)arg;
	if (len != pending)
		abort();
	if (ok)
		fill += len;
	if (fill > 65536)
		fill = 0;
}

static void ctl(void *arg, uint8_t type, const uint8_t *p, uint32_t len)
{
	volatile uint8_t sum = type;

	(void)arg;
	for (uint32_t i = 0; i < len; i++)
		sum ^= p[i];
}

static void keys(struct tr_ac_rec_keys *k, bool v13, unsigned c)
{
	memset(k, 0, sizeof(*k));
	k->version = v13 ? TR_AC_VERSION_TLS13 : TR_AC_VERSION_TLS12;
	k->cipher = (uint8_t)(c == 0 ? TR_AC_CIPHER_AES_128_GCM
			      : c == 1 ? TR_AC_CIPHER_AES_256_GCM : TR_AC_CIPHER_CHACHA20_POLY1305);
	k->key_len = c == 0 ? 16 : 32;
	k->iv_len = c == 2 || v13 ? 12 : 4;
	for (unsigned i = 0; i < 32; i++)
		k->key[i] = (uint8_t)(i * 13 + 5);
	for (unsigned i = 0; i < 12; i++)
		k->iv[i] = (uint8_t)(i * 3 + 9);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tr_ac_chan_stats st = { 0 };
	const struct tr_ac_cstp_sink sink = { room, done, ctl, NULL };
	struct tr_ac_rec_keys k;
	uint32_t n = 0;

	if (size < 2 || size > 60000)
		return 0;
	bool v13 = data[0] & 1;
	unsigned c = (data[0] >> 1) & 3;
	if (c == 3)
		c = 1;
	uint32_t piece = 1 + (uint32_t)data[1] * 61;
	keys(&k, v13, c);
	if (tr_ac_cstp_rx_init(&rx, &k, &st, 0))
		abort();
	fill = 0;
	if (!(data[0] & 8)) {
		n = (uint32_t)size - 2;
		memcpy(stream, data + 2, n);
	} else {
		struct tr_ac_aead tx;
		if (tr_ac_aead_init(&tx, &k, true, 0))
			abort();
		for (size_t i = 2; i + 3 <= size;) {
			uint32_t len = (uint32_t)(data[i] << 8 | data[i + 1]) % 2048;
			uint8_t ct = data[i + 2];
			i += 3;
			if (len > size - i)
				len = (uint32_t)(size - i);
			if (n + 64 + len + 64 > sizeof(stream))
				break;
			struct tr_pkt p;
			tr_pkt_init(&p, stream + n, 64 + len + 64, 64 - 13, len);
			memmove(stream + n + 64 - 13, data + i, len);
			if (tr_ac_tls_seal(&tx, &p, ct))
				abort();
			memmove(stream + n, tr_pkt_data(&p), p.len);
			n += p.len;
			i += len;
		}
		tr_ac_aead_free(&tx);
	}
	for (uint32_t pos = 0; pos < n;) {
		uint32_t space, take;
		uint8_t *sp = tr_ac_cstp_rx_space(&rx, &space);
		take = n - pos < piece ? n - pos : piece;
		if (take > space)
			take = space;
		memcpy(sp, stream + pos, take);
		tr_ac_cstp_rx_added(&rx, take);
		pos += take;
		if (tr_ac_cstp_rx_process(&rx, &sink))
			break;
	}
	tr_ac_cstp_rx_free(&rx);
	return 0;
}
