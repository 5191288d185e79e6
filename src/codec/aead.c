/* SPDX-License-Identifier: MIT */
/*
 * AES-GCM keyed once with a per-record path free of OSSL_PARAM parsing where
 * OpenSSL allows it (aead.h says why and what the contract is).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "codec/aead.h"
#include "codec/aead_imb.h"

/* The provider's own cipher functions, from its dispatch table. */
struct prov_fns {
	OSSL_FUNC_cipher_newctx_fn *newctx;
	OSSL_FUNC_cipher_freectx_fn *freectx;
	OSSL_FUNC_cipher_encrypt_init_fn *einit;
	OSSL_FUNC_cipher_decrypt_init_fn *dinit;
	OSSL_FUNC_cipher_update_fn *update;
	OSSL_FUNC_cipher_final_fn *final;
	OSSL_FUNC_cipher_get_ctx_params_fn *get_params;
	OSSL_FUNC_cipher_set_ctx_params_fn *set_params;
};

struct tr_aead {
	EVP_CIPHER *cipher; /* holds the provider (and so its functions) alive */
	size_t key_len;
	int direct;
	struct tr_aead_imb *imb; /* ipsec-mb: when set, nothing of OpenSSL's below */
	/* direct path */
	struct prov_fns f;
	void *penc, *pdec;  /* provider contexts, keyed once */
	/* EVP path */
	EVP_CIPHER_CTX *enc, *dec;
};

static const char *alg_name(enum tr_aead_alg alg, size_t *key_len)
{
	switch (alg) {
	case TR_AEAD_AES128_GCM:
		*key_len = 16;
		return "AES-128-GCM";
	case TR_AEAD_AES256_GCM:
		*key_len = 32;
		return "AES-256-GCM";
	}
	return NULL;
}

/* Does the colon-separated name list hold name (case-insensitive, as
 * OpenSSL's own name matching is)? */
static int names_have(const char *names, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = names; p && *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && !OPENSSL_strncasecmp(p, name, n))
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* The dispatch table of the implementation EVP fetched. */
static int prov_lookup(const EVP_CIPHER *cipher, const char *name, struct prov_fns *f)
{
	const OSSL_PROVIDER *prov = EVP_CIPHER_get0_provider(cipher);
	const OSSL_ALGORITHM *algs, *a;
	int no_cache = 0, found = 0;

	if (!prov)
		return 0;
	algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_cache);
	for (a = algs; a && a->algorithm_names && !found; a++) {
		if (!names_have(a->algorithm_names, name))
			continue;
		found = 1;
		for (const OSSL_DISPATCH *d = a->implementation; d && d->function_id; d++) {
			switch (d->function_id) {
			case OSSL_FUNC_CIPHER_NEWCTX: f->newctx = OSSL_FUNC_cipher_newctx(d); break;
			case OSSL_FUNC_CIPHER_FREECTX: f->freectx = OSSL_FUNC_cipher_freectx(d); break;
			case OSSL_FUNC_CIPHER_ENCRYPT_INIT: f->einit = OSSL_FUNC_cipher_encrypt_init(d); break;
			case OSSL_FUNC_CIPHER_DECRYPT_INIT: f->dinit = OSSL_FUNC_cipher_decrypt_init(d); break;
			case OSSL_FUNC_CIPHER_UPDATE: f->update = OSSL_FUNC_cipher_update(d); break;
			case OSSL_FUNC_CIPHER_FINAL: f->final = OSSL_FUNC_cipher_final(d); break;
			case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
				f->get_params = OSSL_FUNC_cipher_get_ctx_params(d);
				break;
			case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
				f->set_params = OSSL_FUNC_cipher_set_ctx_params(d);
				break;
			}
		}
	}
	if (algs)
		OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
	return found && f->newctx && f->freectx && f->einit && f->dinit && f->update && f->final &&
	       f->get_params && f->set_params;
}

/* --- direct path ----------------------------------------------------------- */

static int direct_seal(const struct prov_fns *f, void *ctx, const uint8_t *nonce,
		       const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
		       uint8_t *tag)
{
	OSSL_PARAM p[2] = {
		OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, TR_AEAD_TAG_LEN),
		OSSL_PARAM_END,
	};
	size_t n = 0;

	/* A key of NULL keeps the schedule; only the nonce moves. */
	if (!f->einit(ctx, NULL, 0, nonce, TR_AEAD_NONCE_LEN, NULL))
		return -EIO;
	if (aad_len && !f->update(ctx, NULL, &n, aad_len, aad, aad_len))
		return -EIO;
	if (len && (!f->update(ctx, buf, &n, len, buf, len) || n != len))
		return -EIO;
	if (!f->final(ctx, buf + len, &n, 0) || !f->get_params(ctx, p))
		return -EIO;
	return 0;
}

static int direct_open(const struct prov_fns *f, void *ctx, const uint8_t *nonce,
		       const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
		       const uint8_t *tag)
{
	OSSL_PARAM p[2] = {
		OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)tag, TR_AEAD_TAG_LEN),
		OSSL_PARAM_END,
	};
	size_t n = 0;

	if (!f->dinit(ctx, NULL, 0, nonce, TR_AEAD_NONCE_LEN, NULL) || !f->set_params(ctx, p))
		return -EIO;
	if (aad_len && !f->update(ctx, NULL, &n, aad_len, aad, aad_len))
		return -EIO;
	if (len && (!f->update(ctx, buf, &n, len, buf, len) || n != len))
		return -EIO;
	/* The provider compares the tag in constant time. */
	return f->final(ctx, buf + len, &n, 0) ? 0 : -EACCES;
}

/* --- EVP path ---------------------------------------------------------------- */

/*
 * The whole 12-byte nonce goes in as the TLS-style fixed IV with length -1:
 * one set_params, where a re-init (EVP_CipherInit_ex with only an IV) would
 * also ask the provider for the IV length every call.
 */
static int evp_seal(EVP_CIPHER_CTX *ctx, const uint8_t *nonce, const uint8_t *aad,
		    size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag)
{
	OSSL_PARAM p[2] = {
		OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, TR_AEAD_TAG_LEN),
		OSSL_PARAM_END,
	};
	int n;

	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IV_FIXED, -1, (void *)nonce) <= 0 ||
	    (aad_len && !EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len)) ||
	    (len && (!EVP_EncryptUpdate(ctx, buf, &n, buf, (int)len) || n != (int)len)) ||
	    !EVP_EncryptFinal_ex(ctx, buf + len, &n) || !EVP_CIPHER_CTX_get_params(ctx, p))
		return -EIO;
	return 0;
}

static int evp_open(EVP_CIPHER_CTX *ctx, const uint8_t *nonce, const uint8_t *aad,
		    size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag)
{
	/* Nonce and tag in one set_params: size -1 is what the ctrl above
	 * passes through, "the whole IV". */
	OSSL_PARAM p[3] = {
		OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, (void *)nonce, (size_t)-1),
		OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)tag, TR_AEAD_TAG_LEN),
		OSSL_PARAM_END,
	};
	int n;

	if (!EVP_CIPHER_CTX_set_params(ctx, p) ||
	    (aad_len && !EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len)) ||
	    (len && (!EVP_DecryptUpdate(ctx, buf, &n, buf, (int)len) || n != (int)len)))
		return -EIO;
	return EVP_DecryptFinal_ex(ctx, buf + len, &n) > 0 ? 0 : -EACCES;
}

static EVP_CIPHER_CTX *evp_ctx_new(const EVP_CIPHER *cipher, const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx && !EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, enc)) {
		EVP_CIPHER_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

/* --- setup ---------------------------------------------------------------------- */

/*
 * A self-test record: a throwaway key (never the caller's: no nonce of a
 * real key is spent), nonce, AAD and 45 bytes of plaintext (a partial last
 * block), and what EVP seals it to. A candidate path must give EVP's bytes
 * and tag, refuse a tampered tag, and open its record to the plaintext
 * (GCM's tag covers the ciphertext, so a broken decrypt would still
 * authenticate).
 */
struct probe {
	uint8_t key[32], nonce[TR_AEAD_NONCE_LEN], aad[12], pt[45], ct[45], tag[TR_AEAD_TAG_LEN];
};

/* One path's seal or open on context c, as tr_aead_seal/tr_aead_open. */
typedef int (*probe_fn)(void *c, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
			uint8_t *buf, size_t len, uint8_t *tag);

static int probe_make(const struct tr_aead *a, struct probe *p)
{
	EVP_CIPHER_CTX *e;
	int ok;

	if (RAND_bytes(p->key, sizeof(p->key)) != 1 || RAND_bytes(p->nonce, sizeof(p->nonce)) != 1 ||
	    RAND_bytes(p->aad, sizeof(p->aad)) != 1 || RAND_bytes(p->pt, sizeof(p->pt)) != 1)
		return 0;
	memcpy(p->ct, p->pt, sizeof(p->pt));
	e = evp_ctx_new(a->cipher, p->key, 1);
	ok = e && !evp_seal(e, p->nonce, p->aad, sizeof(p->aad), p->ct, sizeof(p->ct), p->tag);
	EVP_CIPHER_CTX_free(e);
	return ok;
}

/* 1 if seal and open on c pass the probe (above). */
static int probe_check(const struct probe *p, probe_fn seal, probe_fn open, void *c)
{
	uint8_t x[sizeof(p->pt)], y[sizeof(p->pt)], t[TR_AEAD_TAG_LEN];

	memcpy(x, p->pt, sizeof(x));
	if (seal(c, p->nonce, p->aad, sizeof(p->aad), x, sizeof(x), t) ||
	    memcmp(x, p->ct, sizeof(x)) || memcmp(t, p->tag, sizeof(t)))
		return 0;
	memcpy(y, x, sizeof(y));
	t[0] ^= 1;
	if (open(c, p->nonce, p->aad, sizeof(p->aad), y, sizeof(y), t) != -EACCES)
		return 0;
	t[0] ^= 1;
	return !open(c, p->nonce, p->aad, sizeof(p->aad), x, sizeof(x), t) &&
	       !memcmp(x, p->pt, sizeof(x));
}

/* The direct path under test: a provider context each way. */
struct direct_pair {
	const struct prov_fns *f;
	void *enc, *dec;
};

static int direct_probe_seal(void *c, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
			     uint8_t *buf, size_t len, uint8_t *tag)
{
	struct direct_pair *d = c;

	return direct_seal(d->f, d->enc, nonce, aad, aad_len, buf, len, tag);
}

static int direct_probe_open(void *c, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
			     uint8_t *buf, size_t len, uint8_t *tag)
{
	struct direct_pair *d = c;

	return direct_open(d->f, d->dec, nonce, aad, aad_len, buf, len, tag);
}

/* The provider's functions, called directly, against EVP. */
static int direct_selftest(const struct tr_aead *a)
{
	void *provctx = OSSL_PROVIDER_get0_provider_ctx(EVP_CIPHER_get0_provider(a->cipher));
	struct direct_pair d = { &a->f, a->f.newctx(provctx), a->f.newctx(provctx) };
	struct probe p;
	int ok;

	ok = d.enc && d.dec && probe_make(a, &p) &&
	     a->f.einit(d.enc, p.key, a->key_len, NULL, 0, NULL) &&
	     a->f.dinit(d.dec, p.key, a->key_len, NULL, 0, NULL) &&
	     probe_check(&p, direct_probe_seal, direct_probe_open, &d);
	if (d.enc)
		a->f.freectx(d.enc);
	if (d.dec)
		a->f.freectx(d.dec);
	OPENSSL_cleanse(&p, sizeof(p));
	return ok;
}

static int direct_setup(struct tr_aead *a, const char *name, const uint8_t *key)
{
	void *provctx;

	if (!prov_lookup(a->cipher, name, &a->f) || !direct_selftest(a))
		return 0;
	provctx = OSSL_PROVIDER_get0_provider_ctx(EVP_CIPHER_get0_provider(a->cipher));
	a->penc = a->f.newctx(provctx);
	a->pdec = a->f.newctx(provctx);
	if (a->penc && a->pdec && a->f.einit(a->penc, key, a->key_len, NULL, 0, NULL) &&
	    a->f.dinit(a->pdec, key, a->key_len, NULL, 0, NULL))
		return 1;
	if (a->penc)
		a->f.freectx(a->penc);
	if (a->pdec)
		a->f.freectx(a->pdec);
	a->penc = a->pdec = NULL;
	return 0;
}

static int imb_probe_seal(void *c, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
			  uint8_t *buf, size_t len, uint8_t *tag)
{
	tr_aead_imb_seal(c, nonce, aad, aad_len, buf, len, tag);
	return 0;
}

static int imb_probe_open(void *c, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
			  uint8_t *buf, size_t len, uint8_t *tag)
{
	return tr_aead_imb_open(c, nonce, aad, aad_len, buf, len, tag);
}

/* ipsec-mb against EVP, the same probe as the direct path's. */
static int imb_selftest(const struct tr_aead *a, enum tr_aead_alg alg)
{
	struct tr_aead_imb *g = NULL;
	struct probe p;
	int ok;

	ok = probe_make(a, &p) && !tr_aead_imb_new(&g, alg, p.key) &&
	     probe_check(&p, imb_probe_seal, imb_probe_open, g);
	tr_aead_imb_free(g);
	OPENSSL_cleanse(&p, sizeof(p));
	return ok;
}

/* ipsec-mb where it is built in, the CPU suits it and it agrees with
 * OpenSSL; 0 leaves the context to OpenSSL. The self-test comes second:
 * without the library or on an older CPU it would make an EVP context and
 * draw random bytes for every context, for nothing. */
static int imb_setup(struct tr_aead *a, enum tr_aead_alg alg, const uint8_t *key)
{
	struct tr_aead_imb *g;

	if (tr_aead_imb_new(&g, alg, key))
		return 0;
	if (!imb_selftest(a, alg)) {
		tr_aead_imb_free(g);
		return 0;
	}
	a->imb = g;
	return 1;
}

int tr_aead_new(struct tr_aead **out, enum tr_aead_alg alg, const uint8_t *key,
		size_t key_len, unsigned flags)
{
	struct tr_aead *a;
	const char *name;
	size_t want;

	if (!out)
		return -EINVAL;
	*out = NULL;
	name = alg_name(alg, &want);
	if (!name || !key || key_len != want || (flags & ~(TR_AEAD_F_EVP | TR_AEAD_F_OPENSSL)))
		return -EINVAL;
	a = OPENSSL_zalloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->key_len = key_len;
	a->cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	if (!a->cipher)
		goto err;
	if (!(flags & (TR_AEAD_F_EVP | TR_AEAD_F_OPENSSL)) && imb_setup(a, alg, key)) {
		/* OpenSSL's contexts are not needed. */
	} else if (!(flags & TR_AEAD_F_EVP) && direct_setup(a, name, key)) {
		a->direct = 1;
	} else {
		a->enc = evp_ctx_new(a->cipher, key, 1);
		a->dec = evp_ctx_new(a->cipher, key, 0);
		if (!a->enc || !a->dec)
			goto err;
	}
	*out = a;
	return 0;
err:
	tr_aead_free(a);
	return -EIO;
}

void tr_aead_free(struct tr_aead *a)
{
	if (!a)
		return;
	/* Provider, EVP and ipsec-mb frees cleanse the key schedules. */
	tr_aead_imb_free(a->imb);
	if (a->penc)
		a->f.freectx(a->penc);
	if (a->pdec)
		a->f.freectx(a->pdec);
	EVP_CIPHER_CTX_free(a->enc);
	EVP_CIPHER_CTX_free(a->dec);
	EVP_CIPHER_free(a->cipher);
	OPENSSL_free(a);
}

int tr_aead_is_direct(const struct tr_aead *a)
{
	return a && a->direct;
}

const char *tr_aead_impl(const struct tr_aead *a)
{
	if (!a)
		return "none";
	if (a->imb)
		return strcmp(tr_aead_imb_arch(a->imb), "avx512") ? "ipsec-mb avx2" : "ipsec-mb avx512";
	return a->direct ? "openssl" : "openssl evp";
}

static int args_ok(const struct tr_aead *a, const uint8_t *nonce, const uint8_t *aad,
		   size_t aad_len, const uint8_t *buf, size_t len, const uint8_t *tag)
{
	return a && nonce && tag && (aad || !aad_len) && (buf || !len) && len <= INT_MAX / 2 &&
	       aad_len <= INT_MAX / 2;
}

int tr_aead_seal(struct tr_aead *a, const uint8_t nonce[TR_AEAD_NONCE_LEN],
		 const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
		 uint8_t tag[TR_AEAD_TAG_LEN])
{
	if (!args_ok(a, nonce, aad, aad_len, buf, len, tag))
		return -EINVAL;
	if (a->imb) {
		tr_aead_imb_seal(a->imb, nonce, aad, aad_len, buf, len, tag);
		return 0;
	}
	return a->direct ? direct_seal(&a->f, a->penc, nonce, aad, aad_len, buf, len, tag)
			 : evp_seal(a->enc, nonce, aad, aad_len, buf, len, tag);
}

int tr_aead_open(struct tr_aead *a, const uint8_t nonce[TR_AEAD_NONCE_LEN],
		 const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
		 const uint8_t tag[TR_AEAD_TAG_LEN])
{
	if (!args_ok(a, nonce, aad, aad_len, buf, len, tag))
		return -EINVAL;
	if (a->imb)
		return tr_aead_imb_open(a->imb, nonce, aad, aad_len, buf, len, tag);
	return a->direct ? direct_open(&a->f, a->pdec, nonce, aad, aad_len, buf, len, tag)
			 : evp_open(a->dec, nonce, aad, aad_len, buf, len, tag);
}
