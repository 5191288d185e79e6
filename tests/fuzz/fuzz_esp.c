/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes ESP decapsulation (tr_esp_decap) with fixed keys. Byte 0 picks the
 * cipher (bits 2-3), ESN (bit 4) and one of three modes (bits 0-1):
 *   0  the rest is an ESP packet as it came off the wire (mostly fails the
 *      ICV: lengths, SPI, replay pre-check);
 *   1  seq (4 bytes) and IV (16 bytes), then an inner packet that is
 *      encapsulated with the same keys: decap must give it back, and the
 *      same datagram again must be refused as a replay;
 *   2  CBC only: the rest is SPI..ciphertext, to which the harness appends
 *      the right ICV, so arbitrary decrypted padding and trailers get past
 *      authentication.
 * The packet sits in an exact-size allocation between canary rooms: on an
 * error the view and the rooms must be untouched; on success the inner view
 * lies inside the outer one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/esp_int.h"
#include "tunroom/esp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROOM 64u
#define SPI 0x1002u
#define CANARY 0xa5

static const uint8_t key[36] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76,
	0x98, 0xba, 0xdc, 0xfe, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
	0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0, 0xde, 0xad, 0xbe, 0xef,
};
static const uint8_t auth_key[32] = {
	0x5a, 0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
	0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e,
};

static struct tr_esp_sa *sa_new(enum tr_esp_cipher c, uint32_t flags)
{
	struct tr_esp_sa_config cfg = {
		.cipher = c, .spi = SPI, .key = key, .key_len = tr_esp_key_len(c),
		.auth_key = tr_esp_auth_key_len(c) ? auth_key : NULL,
		.auth_key_len = tr_esp_auth_key_len(c), .replay_window = 64, .flags = flags,
	};
	struct tr_esp_sa *sa;

	if (tr_esp_sa_alloc(&sa, &cfg))
		abort();
	return sa;
}

/* A buffer of room + n + room with canary rooms; view = the middle n bytes. */
static uint8_t *view_new(struct tr_pkt *p, const uint8_t *in, uint32_t n)
{
	uint8_t *buf = malloc(2 * ROOM + n);

	if (!buf)
		abort();
	memset(buf, CANARY, 2 * ROOM + n);
	memcpy(buf + ROOM, in, n);
	if (tr_pkt_init(p, buf, 2 * ROOM + n, ROOM, n))
		abort();
	return buf;
}

static void rooms_intact(const uint8_t *buf, uint32_t n)
{
	for (uint32_t i = 0; i < ROOM; i++)
		if (buf[i] != CANARY || buf[ROOM + n + i] != CANARY)
			abort();
}

/* Decaps the view; checks the contract on the way out. Returns decap's result. */
static int decap(struct tr_esp_sa *sa, struct tr_pkt *p, uint8_t *buf, uint8_t *nh)
{
	uint32_t off = p->off, len = p->len;
	struct tr_esp_stats before, after;
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	if (!copy)
		abort();
	memcpy(copy, buf + off, len);
	tr_esp_sa_stats(sa, &before);
	r = tr_esp_decap(sa, p, nh);
	tr_esp_sa_stats(sa, &after);
	rooms_intact(buf, len);
	if (r) {
		if (p->off != off || p->len != len)
			abort();
		/* Decryption is in place: a GCM tag failure, or bad padding
		 * found once authentic, leaves the view's bytes changed. */
		if (r != -EACCES && after.err_padding == before.err_padding &&
		    memcmp(copy, buf + off, len))
			abort();
	} else if (p->off < off || (uint64_t)p->off + p->len > (uint64_t)off + len) {
		abort();
	}
	free(copy);
	return r;
}

static void mode_raw(enum tr_esp_cipher c, uint32_t flags, const uint8_t *in, uint32_t n)
{
	struct tr_esp_sa *sa = sa_new(c, flags);
	struct tr_pkt p;
	uint8_t *buf = view_new(&p, in, n), nh;

	decap(sa, &p, buf, &nh);
	free(buf);
	tr_esp_sa_free(sa);
}

static void mode_roundtrip(enum tr_esp_cipher c, uint32_t flags, const uint8_t *in, uint32_t n)
{
	struct tr_esp_sa *out = sa_new(c, flags), *sa = sa_new(c, flags);
	uint32_t seq = 0, head = tr_esp_head_room(c), tail = tr_esp_tail_room(c);
	uint8_t iv[16] = { 0 }, nh = 0, *buf, *wire;
	struct tr_pkt p;
	uint32_t wire_len;
	int r;

	if (n >= 20) {
		memcpy(&seq, in, 4);
		memcpy(iv, in + 4, 16);
		in += 20;
		n -= 20;
	}
	/* A fresh ESN window has no subspace below 0: low halves at the top
	 * of the space read as that one and are refused (replay.c, Case B). */
	if (flags & TR_ESP_F_ESN && seq > UINT32_MAX - 64)
		seq &= 0x7fffffff;
	buf = malloc(head + n + tail);
	if (!buf)
		abort();
	memcpy(buf + head, in, n);
	if (tr_pkt_init(&p, buf, head + n + tail, head, n))
		abort();
	r = tr_esp_encap_iv(out, &p, 4, seq ? seq : 1, iv);
	if (r) {
		/* Only an inner packet too large for int lengths may fail. */
		free(buf);
		goto out;
	}
	wire_len = p.len;
	wire = malloc(wire_len);
	if (!wire)
		abort();
	memcpy(wire, tr_pkt_data(&p), wire_len);
	free(buf);

	buf = view_new(&p, wire, wire_len);
	if (decap(sa, &p, buf, &nh) || nh != 4 || p.len != n ||
	    memcmp(tr_pkt_data(&p), in, n))
		abort();
	free(buf);
	buf = view_new(&p, wire, wire_len);
	if (decap(sa, &p, buf, &nh) != -EALREADY)
		abort();
	free(buf);
	free(wire);
out:
	tr_esp_sa_free(out);
	tr_esp_sa_free(sa);
}

static void mode_signed(enum tr_esp_cipher c, const uint8_t *in, uint32_t n)
{
	struct tr_esp_sa *sa = sa_new(c, 0);
	uint8_t *pkt = malloc(n + 16), *buf, nh;
	struct tr_pkt p;
	uint32_t icv = c == TR_ESP_AES128_CBC_SHA1 ? 12 : 16;

	if (!pkt)
		abort();
	memcpy(pkt, in, n);
	if (n >= 4) /* our SA's SPI, so the packet reaches the ICV check */
		memcpy(pkt, "\x00\x00\x10\x02", 4);
	if (tr_esp_hmac_kat(c, auth_key, tr_esp_auth_key_len(c), pkt, n, pkt + n))
		abort();
	buf = view_new(&p, pkt, n + icv);
	decap(sa, &p, buf, &nh);
	free(buf);
	free(pkt);
	tr_esp_sa_free(sa);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum tr_esp_cipher ciphers[] = {
		TR_ESP_AES128_GCM, TR_ESP_AES256_GCM, TR_ESP_AES128_CBC_SHA1,
		TR_ESP_AES256_CBC_SHA256,
	};
	enum tr_esp_cipher c;
	uint32_t flags;

	if (!size || size > 70000)
		return 0;
	c = ciphers[data[0] >> 2 & 3];
	flags = data[0] >> 4 & 1 ? TR_ESP_F_ESN : 0;
	switch (data[0] & 3) {
	case 0:
		mode_raw(c, flags, data + 1, (uint32_t)size - 1);
		break;
	case 1:
		mode_roundtrip(c, flags, data + 1, (uint32_t)size - 1);
		break;
	default:
		if (c == TR_ESP_AES128_GCM || c == TR_ESP_AES256_GCM)
			c = TR_ESP_AES256_CBC_SHA256;
		mode_signed(c, data + 1, (uint32_t)size - 1);
		break;
	}
	return 0;
}
