/* SPDX-License-Identifier: MIT */
/*
 * AES-GCM keyed once, sealed and opened in place per record, for any framing
 * that carries GCM records: ESP (RFC 4106) today, DTLS 1.2 AES-GCM records
 * (RFC 5288) can use the same calls.
 *
 * Where tunroom is built with Intel's ipsec-mb and the CPU has AVX2 or
 * AVX-512, that library seals and opens (aead_imb.h: 2.5 to 4.2 times
 * faster per packet than OpenSSL 3.0 with VAES), after a check against
 * OpenSSL when the context is made. Otherwise OpenSSL does, as follows.
 *
 * Why not plain EVP: on OpenSSL 3 every per-record EVP call that moves a
 * nonce or a tag builds an OSSL_PARAM array that the provider walks with
 * string compares (and a re-init asks the provider for the IV length
 * first). Here the key schedule is set once, and per record the provider's
 * own cipher functions are called directly (looked up once through the
 * public OSSL_PROVIDER_query_operation): the nonce goes in through the
 * init function with no parameters, and only the tag still crosses as a
 * parameter. If the lookup fails, or the direct functions disagree with EVP
 * on a self-test when the context is made, the context uses EVP's
 * fixed-IV controls instead (same results, slower).
 *
 * Contract:
 * - nonce is 12 bytes, whole (salt || explicit IV for ESP; the XOR-ed or
 *   concatenated nonce for DTLS: the caller builds it). Never reuse a nonce
 *   under one key; this layer does not track them.
 * - buf is transformed in place; the tag is 16 bytes, written by seal and
 *   read by open. aad may be NULL when aad_len is 0.
 * - A context is one key, both directions, used by one thread at a time.
 * - Lengths are below INT_MAX / 2 (any packet).
 * - Errors: -EINVAL (bad arguments), -ENOMEM, -EIO (OpenSSL failed),
 *   -EACCES (open: tag mismatch; nothing decrypted may be used).
 */
#ifndef TR_CODEC_AEAD_H
#define TR_CODEC_AEAD_H

#include <stddef.h>
#include <stdint.h>

struct tr_aead;

enum tr_aead_alg {
	TR_AEAD_AES128_GCM, /* 16-byte key */
	TR_AEAD_AES256_GCM, /* 32-byte key */
};

#define TR_AEAD_NONCE_LEN 12u
#define TR_AEAD_TAG_LEN 16u

/* Force the EVP fallback path (tests compare both; bench_codec measures both). */
#define TR_AEAD_F_EVP 0x1u
/* OpenSSL even where ipsec-mb would be used (aead_imb.h): A/B and tests. */
#define TR_AEAD_F_OPENSSL 0x2u

int tr_aead_new(struct tr_aead **out, enum tr_aead_alg alg, const uint8_t *key,
		size_t key_len, unsigned flags);
void tr_aead_free(struct tr_aead *a);

int tr_aead_seal(struct tr_aead *a, const uint8_t nonce[TR_AEAD_NONCE_LEN],
		 const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
		 uint8_t tag[TR_AEAD_TAG_LEN]);
int tr_aead_open(struct tr_aead *a, const uint8_t nonce[TR_AEAD_NONCE_LEN],
		 const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
		 const uint8_t tag[TR_AEAD_TAG_LEN]);

/* 1 if the context calls the provider directly, 0 if it uses EVP or ipsec-mb. */
int tr_aead_is_direct(const struct tr_aead *a);
/* What seals and opens: "ipsec-mb avx512", "ipsec-mb avx2", "openssl"
 * (the provider called directly) or "openssl evp". */
const char *tr_aead_impl(const struct tr_aead *a);

#endif
