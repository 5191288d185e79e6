/* SPDX-License-Identifier: MIT */
/*
 * AES-GCM records through Intel's IPsec multi-buffer library (ipsec-mb), the
 * backend aead.c prefers when tunroom is built with it and the CPU has
 * AVX2 or AVX-512: an ESP packet of 1400 bytes is sealed 3.5 times faster
 * than with OpenSSL 3.0 on a CPU with VAES and VPCLMULQDQ (2.5x at 64
 * bytes, 4.2x at 9000; docs/benchmarks.md, "AES-GCM through ipsec-mb";
 * not measured on a CPU with AVX2 alone), and a record is one call with
 * the nonce, AAD and tag as plain arguments.
 *
 * Internal to the codec: aead.c alone calls it, after it has checked the
 * result against OpenSSL's on a throwaway key. Same contract as aead.h
 * (in place, 12-byte nonce, 16-byte tag, one thread at a time).
 * Without the library every call returns -EOPNOTSUPP.
 */
#ifndef TR_CODEC_AEAD_IMB_H
#define TR_CODEC_AEAD_IMB_H

#include <stddef.h>
#include <stdint.h>

#include "codec/aead.h"

struct tr_aead_imb;

/* -EOPNOTSUPP: not built in, or this CPU has neither AVX2 nor AVX-512
 * (where the library would be no faster than OpenSSL); -ENOMEM. */
int tr_aead_imb_new(struct tr_aead_imb **out, enum tr_aead_alg alg, const uint8_t *key);
void tr_aead_imb_free(struct tr_aead_imb *g);

void tr_aead_imb_seal(const struct tr_aead_imb *g, const uint8_t *nonce, const uint8_t *aad,
		      size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag);
/* 0, or -EACCES when the tag does not match (compared in constant time). */
int tr_aead_imb_open(const struct tr_aead_imb *g, const uint8_t *nonce, const uint8_t *aad,
		     size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag);

/* "avx512" or "avx2": the library's code path for this CPU. */
const char *tr_aead_imb_arch(const struct tr_aead_imb *g);

#endif
