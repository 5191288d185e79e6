/* SPDX-License-Identifier: MIT */
/* ESP SA internals, shared with the unit tests and the cross-check tool only. */
#ifndef TR_CODEC_ESP_INT_H
#define TR_CODEC_ESP_INT_H

#include <openssl/evp.h>

#include "codec/replay.h"
#include "tunroom/esp.h"

struct tr_esp_hmac;
struct tr_aead;

/* GCM through the plain EVP path instead of the direct provider calls
 * (codec/aead.h), for tests and bench_codec to compare both. Internal: not
 * in the public header, but tr_esp_sa_alloc accepts it. */
#define TR_ESP_F_EVP 0x80000000u

struct tr_esp_sa {
	enum tr_esp_cipher cipher;
	uint32_t spi;
	uint32_t flags;
	uint8_t iv_len;        /* explicit IV on the wire: 8 GCM (RFC 4106 §3.1), 16 CBC (RFC 3602 §3) */
	uint8_t icv_len;       /* 16 GCM, 12 HMAC-SHA1-96, 16 HMAC-SHA-256-128 */
	uint8_t align;         /* ciphertext multiple: 4 GCM (RFC 4303 §2.4), 16 CBC */
	uint8_t salt[4];       /* GCM nonce prefix (RFC 4106 §4) */
	uint64_t iv_base;      /* GCM: random per SA; explicit IV = iv_base + seq */
	uint64_t seq;          /* outbound: last sequence number used; 0 = none yet */
	struct tr_aead *aead;  /* GCM: keyed once, both directions (codec/aead.h) */
	EVP_CIPHER_CTX *enc;   /* CBC: keyed once for encrypting; per packet only the IV is set */
	EVP_CIPHER_CTX *dec;   /* CBC: keyed once for decrypting (the inverse key schedule) */
	EVP_CIPHER_CTX *ivgen; /* CBC: AES-ECB under a random key; IV = E(seq) */
	struct tr_esp_hmac *hmac; /* CBC: HMAC keyed once (esp.c) */
	struct tr_esp_stats st;
	struct tr_replay *replay; /* inbound window, in the same allocation */
};

/* tr_esp_encap with a chosen sequence number and IV, for known-answer tests
 * (published vectors fix both). The real encap derives the IV itself. */
int tr_esp_encap_iv(struct tr_esp_sa *sa, struct tr_pkt *pkt, uint8_t next_header,
		    uint64_t seq, const uint8_t *iv);

/* The truncated HMAC of msg under key, through the same keyed-once context and
 * re-init path the SA uses (computed twice to prove the re-init). icv gets
 * 12 (SHA1-96) or 16 (SHA-256-128) bytes. Any key length, for RFC vectors.
 * Returns 0, -EINVAL (GCM cipher), -ENOMEM, -EIO. */
int tr_esp_hmac_kat(enum tr_esp_cipher c, const uint8_t *key, size_t key_len,
		    const uint8_t *msg, size_t len, uint8_t *icv);

#endif
