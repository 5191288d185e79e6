/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the DTLS record opener (tr_ac_dtls_open) with fixed keys. Byte 0
 * picks the cipher (bits 2-3: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305)
 * and the mode (bit 0):
 *   0  the rest is a datagram off the wire (mostly fails the header, epoch,
 *      window or tag checks: each must refuse it without touching memory
 *      outside the datagram);
 *   1  byte 1 is the AnyConnect type, bytes 2..3 a sequence-number step,
 *      the rest a payload that the harness seals with the same keys: the
 *      open must give it back in place, and the same datagram again must be
 *      refused as a replay.
 * Each datagram sits in an exact-size allocation between canary rooms.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anyconnect/rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROOM 64u
#define CANARY 0xa5

static void keys(struct tr_ac_rec_keys *k, unsigned c)
{
	memset(k, 0, sizeof(*k));
	k->version = TR_AC_VERSION_DTLS12;
	k->cipher = (uint8_t)(c == 0 ? TR_AC_CIPHER_AES_128_GCM
			      : c == 1 ? TR_AC_CIPHER_AES_256_GCM : TR_AC_CIPHER_CHACHA20_POLY1305);
	k->key_len = c == 0 ? 16 : 32;
	k->iv_len = c == 2 ? 12 : 4;
	for (unsigned i = 0; i < 32; i++)
		k->key[i] = (uint8_t)(i * 29 + 1);
	for (unsigned i = 0; i < 12; i++)
		k->iv[i] = (uint8_t)(i * 7 + 3);
	k->epoch = 1;
	k->seq = 1;
}

static void rooms_intact(const uint8_t *buf, uint32_t n)
{
	for (uint32_t i = 0; i < ROOM; i++)
		if (buf[i] != CANARY || buf[ROOM + n + i] != CANARY)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tr_ac_rec_keys k;
	struct tr_ac_aead tx, rx;
	struct tr_pkt p;
	uint8_t ct;

	if (size < 1 || size > 20000)
		return 0;
	unsigned c = (data[0] >> 2) & 3;
	if (c == 3)
		c = 1;
	keys(&k, c);
	if (tr_ac_aead_init(&rx, &k, false, 0) || tr_ac_aead_init(&tx, &k, true, 0))
		abort();
	if (!(data[0] & 1)) {
		uint32_t n = (uint32_t)size - 1;
		uint8_t *buf = malloc(2 * ROOM + n);
		memset(buf, CANARY, 2 * ROOM + n);
		memcpy(buf + ROOM, data + 1, n);
		tr_pkt_init(&p, buf + ROOM, n, 0, n);
		int err = tr_ac_dtls_open(&rx, &p, &ct);
		if (!err && (p.off + p.len > n || (ct != TR_AC_CT_APP && ct != TR_AC_CT_ALERT)))
			abort();
		if (err && (p.off != 0 || p.len != n))
			abort();
		rooms_intact(buf, n);
		free(buf);
	} else if (size >= 4) {
		uint32_t n = (uint32_t)size - 4;
		uint32_t step = (uint32_t)(data[2] << 8 | data[3]);
		uint8_t *buf = malloc(2 * ROOM + n + 64);
		memset(buf, CANARY, 2 * ROOM + n + 64);
		tx.seq += step;
		/* view: head room 32 + payload + tail room 32 inside the rooms */
		tr_pkt_init(&p, buf + ROOM, n + 64, 32, n);
		memcpy(buf + ROOM + 32, data + 4, n);
		if (tr_ac_dtls_seal(&tx, &p, data[1]))
			abort();
		uint32_t off = p.off, len = p.len;
		uint8_t *copy = malloc(len);
		memcpy(copy, tr_pkt_data(&p), len);
		if (tr_ac_dtls_open(&rx, &p, &ct) || ct != TR_AC_CT_APP || p.len != n + 1 ||
		    tr_pkt_data(&p)[0] != data[1] || memcmp(tr_pkt_data(&p) + 1, data + 4, n))
			abort();
		/* The same datagram again: a replay, refused before decrypting. */
		memcpy(buf + ROOM + off, copy, len);
		tr_pkt_init(&p, buf + ROOM, n + 64, off, len);
		if (tr_ac_dtls_open(&rx, &p, &ct) != -EALREADY)
			abort();
		rooms_intact(buf, n + 64);
		free(copy);
		free(buf);
	}
	tr_ac_aead_free(&tx);
	tr_ac_aead_free(&rx);
	return 0;
}
