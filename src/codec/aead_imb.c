/* SPDX-License-Identifier: MIT */
/*
 * AES-GCM through ipsec-mb (aead_imb.h says when and why).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "codec/aead_imb.h"

#ifdef TR_HAVE_IPSEC_MB

#include <stdbool.h>

#include <intel-ipsec-mb.h>

struct tr_aead_imb {
	/* First: the library wants the expanded keys 64-byte aligned, and
	 * its header asks for that only where LINUX is defined (the
	 * library's own build, not ours): here the type is byte-aligned and
	 * aligned_alloc(64) in tr_aead_imb_new is what aligns it. */
	struct gcm_key_data key;
	aes_gcm_enc_dec_t enc, dec;
	const char *arch;
};
_Static_assert(offsetof(struct tr_aead_imb, key) == 0, "key must stay first (64-byte aligned)");

/*
 * The library's choice of code for this CPU, made once per process. Its
 * manager only dispatches: the GCM functions it hands out take no manager,
 * so they are copied out and the manager freed. Doing this per context
 * would cost ~75 copies of the manager's templates each time (the
 * zero-copy test counts them), for the same answer. Read-only after
 * pthread_once, so it is shared without locks.
 */
struct imb_code {
	int err; /* 0, -ENOMEM, or -EOPNOTSUPP (no AVX2) */
	const char *arch;
	aes_gcm_pre_t pre128, pre256;
	aes_gcm_enc_dec_t enc128, dec128, enc256, dec256;
};

static struct imb_code code;
static pthread_once_t code_once = PTHREAD_ONCE_INIT;

static void code_load(void)
{
	IMB_ARCH arch = IMB_ARCH_NONE;
	IMB_MGR *m = alloc_mb_mgr(0);

	if (!m) {
		/* Once per process, so OpenSSL keeps the job for the process's
		 * life: slower, never wrong, and rare enough not to retry. */
		code.err = -ENOMEM;
		return;
	}
	init_mb_mgr_auto(m, &arch);
	if (arch == IMB_ARCH_AVX2 || arch == IMB_ARCH_AVX512) {
		code = (struct imb_code){
			.arch = arch == IMB_ARCH_AVX512 ? "avx512" : "avx2",
			.pre128 = m->gcm128_pre, .pre256 = m->gcm256_pre,
			.enc128 = m->gcm128_enc, .dec128 = m->gcm128_dec,
			.enc256 = m->gcm256_enc, .dec256 = m->gcm256_dec,
		};
	} else {
		code.err = -EOPNOTSUPP;
	}
	free_mb_mgr(m);
}

int tr_aead_imb_new(struct tr_aead_imb **out, enum tr_aead_alg alg, const uint8_t *key)
{
	struct tr_aead_imb *g;
	bool aes128 = alg == TR_AEAD_AES128_GCM;

	*out = NULL;
	pthread_once(&code_once, code_load);
	if (code.err)
		return code.err;
	g = aligned_alloc(64, (sizeof(*g) + 63) & ~(size_t)63);
	if (!g)
		return -ENOMEM;
	memset(g, 0, sizeof(*g));
	g->arch = code.arch;
	g->enc = aes128 ? code.enc128 : code.enc256;
	g->dec = aes128 ? code.dec128 : code.dec256;
	(aes128 ? code.pre128 : code.pre256)(key, &g->key);
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
