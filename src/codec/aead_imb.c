/* SPDX-License-Identifier: MIT */
/*
 * AES-GCM through ipsec-mb (aead_imb.h says when and why).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "codec/aead_imb.h"

#ifdef TR_HAVE_IPSEC_MB

#include <intel-ipsec-mb.h>

struct tr_aead_imb {
	/* First: the library wants the expanded keys 64-byte aligned. */
	struct gcm_key_data key;
	aes_gcm_enc_dec_t enc, dec;
	const char *arch;
};

int tr_aead_imb_new(struct tr_aead_imb **out, enum tr_aead_alg alg, const uint8_t *key)
{
	struct tr_aead_imb *g;
	IMB_ARCH arch = IMB_ARCH_NONE;
	IMB_MGR *m;

	*out = NULL;
	/* The manager only chooses the code for this CPU: the GCM functions
	 * it hands out take no manager, so it is freed once they are copied. */
	m = alloc_mb_mgr(0);
	if (!m)
		return -ENOMEM;
	init_mb_mgr_auto(m, &arch);
	if (arch != IMB_ARCH_AVX2 && arch != IMB_ARCH_AVX512) {
		free_mb_mgr(m);
		return -EOPNOTSUPP;
	}
	g = aligned_alloc(64, (sizeof(*g) + 63) & ~(size_t)63);
	if (!g) {
		free_mb_mgr(m);
		return -ENOMEM;
	}
	memset(g, 0, sizeof(*g));
	g->arch = arch == IMB_ARCH_AVX512 ? "avx512" : "avx2";
	if (alg == TR_AEAD_AES128_GCM) {
		m->gcm128_pre(key, &g->key);
		g->enc = m->gcm128_enc;
		g->dec = m->gcm128_dec;
	} else {
		m->gcm256_pre(key, &g->key);
		g->enc = m->gcm256_enc;
		g->dec = m->gcm256_dec;
	}
	free_mb_mgr(m);
	*out = g;
	return 0;
}

void tr_aead_imb_free(struct tr_aead_imb *g)
{
	if (!g)
		return;
	OPENSSL_cleanse(&g->key, sizeof(g->key));
	free(g);
}

void tr_aead_imb_seal(const struct tr_aead_imb *g, const uint8_t *nonce, const uint8_t *aad,
		      size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag)
{
	struct gcm_context_data c;

	g->enc(&g->key, &c, buf, buf, len, nonce, aad, aad_len, tag, TR_AEAD_TAG_LEN);
}

int tr_aead_imb_open(const struct tr_aead_imb *g, const uint8_t *nonce, const uint8_t *aad,
		     size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag)
{
	struct gcm_context_data c;
	uint8_t want[TR_AEAD_TAG_LEN];

	g->dec(&g->key, &c, buf, buf, len, nonce, aad, aad_len, want, sizeof(want));
	return CRYPTO_memcmp(want, tag, sizeof(want)) ? -EACCES : 0;
}

const char *tr_aead_imb_arch(const struct tr_aead_imb *g)
{
	return g->arch;
}

#else /* !TR_HAVE_IPSEC_MB */

int tr_aead_imb_new(struct tr_aead_imb **out, enum tr_aead_alg alg, const uint8_t *key)
{
	(void)alg;
	(void)key;
	*out = NULL;
	return -EOPNOTSUPP;
}

void tr_aead_imb_free(struct tr_aead_imb *g)
{
	(void)g;
}

void tr_aead_imb_seal(const struct tr_aead_imb *g, const uint8_t *nonce, const uint8_t *aad,
		      size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag)
{
	(void)g, (void)nonce, (void)aad, (void)aad_len, (void)buf, (void)len, (void)tag;
}

int tr_aead_imb_open(const struct tr_aead_imb *g, const uint8_t *nonce, const uint8_t *aad,
		     size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag)
{
	(void)g, (void)nonce, (void)aad, (void)aad_len, (void)buf, (void)len, (void)tag;
	return -EOPNOTSUPP;
}

const char *tr_aead_imb_arch(const struct tr_aead_imb *g)
{
	(void)g;
	return "none";
}

#endif
