/* SPDX-License-Identifier: MIT */
/*
 * ESP (RFC 4303) in place on a packet view: SA lifetime, encap, decap. The
 * anti-replay window is replay.c; the UDP header of RFC 3948 is the socket's.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Only the SHA1/SHA256 state structs below; see the HMAC comment. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "lib/barrier.h"
#include "codec/aead.h"
#include "codec/esp_int.h"
#include "codec/replay.h"
#include "lib/api.h"

#define ESP_HDR 8u       /* SPI 4 + sequence number 4 (RFC 4303 §2) */
#define ESP_TRAILER 2u   /* pad length 1 + next header 1 (RFC 4303 §2.4-2.6) */
#define GCM_SALT 4u      /* RFC 4106 §8.1: the last 4 key bytes are the salt */

struct suite {
	const char *name;
	const char *evp_cipher;  /* OpenSSL fetch name */
	const char *digest;      /* HMAC digest, NULL for GCM */
	uint8_t aes_key_len;
	uint8_t salt_len;
	uint8_t auth_key_len;
	uint8_t iv_len, icv_len, align;
};

static const struct suite suites[] = {
	/* RFC 4106 §3.1 (8-byte IV), §6 (16-byte ICV); RFC 4303 §2.4: the
	 * ciphertext ends on a 4-byte boundary even for a stream-like mode. */
	[TR_ESP_AES128_GCM] = { "aes128-gcm", "AES-128-GCM", NULL, 16, GCM_SALT, 0, 8, 16, 4 },
	[TR_ESP_AES256_GCM] = { "aes256-gcm", "AES-256-GCM", NULL, 32, GCM_SALT, 0, 8, 16, 4 },
	/* RFC 3602 §3 (16-byte IV, whole blocks); RFC 2404 §2-3 (20-byte key,
	 * ICV = first 96 bits); RFC 4868 §2 (32-byte key, first 128 bits). */
	[TR_ESP_AES128_CBC_SHA1] = { "aes128-cbc-sha1", "AES-128-CBC", "SHA1", 16, 0, 20, 16, 12, 16 },
	[TR_ESP_AES256_CBC_SHA256] = { "aes256-cbc-sha256", "AES-256-CBC", "SHA256", 32, 0, 32, 16, 16, 16 },
};

static const struct suite *suite_of(enum tr_esp_cipher c)
{
	return (unsigned)c < sizeof(suites) / sizeof(suites[0]) ? &suites[c] : NULL;
}

static int is_gcm(const struct tr_esp_sa *sa)
{
	return sa->cipher == TR_ESP_AES128_GCM || sa->cipher == TR_ESP_AES256_GCM;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, (uint32_t)v);
}

TR_API uint32_t tr_esp_head_room(enum tr_esp_cipher c)
{
	const struct suite *s = suite_of(c);

	return s ? ESP_HDR + s->iv_len : 0;
}

TR_API uint32_t tr_esp_tail_room(enum tr_esp_cipher c)
{
	const struct suite *s = suite_of(c);

	return s ? (s->align - 1u) + ESP_TRAILER + s->icv_len : 0;
}

TR_API int tr_esp_cipher_parse(const char *name, enum tr_esp_cipher *out)
{
	if (!name || !out)
		return -EINVAL;
	for (unsigned i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (!strcmp(name, suites[i].name)) {
			*out = (enum tr_esp_cipher)i;
			return 0;
		}
	}
	return -EINVAL;
}

TR_API const char *tr_esp_cipher_name(enum tr_esp_cipher c)
{
	const struct suite *s = suite_of(c);

	return s ? s->name : NULL;
}

TR_API const char *tr_esp_sa_crypto(const struct tr_esp_sa *sa)
{
	if (!sa)
		return "none";
	return sa->aead ? tr_aead_impl(sa->aead) : "openssl cbc+hmac";
}

TR_API uint32_t tr_esp_key_len(enum tr_esp_cipher c)
{
	const struct suite *s = suite_of(c);

	return s ? (uint32_t)s->aes_key_len + s->salt_len : 0;
}

TR_API uint32_t tr_esp_auth_key_len(enum tr_esp_cipher c)
{
	const struct suite *s = suite_of(c);

	return s ? s->auth_key_len : 0;
}

TR_API uint32_t tr_esp_encap_len(enum tr_esp_cipher c, uint32_t inner_len)
{
	const struct suite *s = suite_of(c);
	uint64_t body;

	if (!s)
		return 0;
	body = ((uint64_t)inner_len + ESP_TRAILER + s->align - 1) / s->align * s->align;
	body += ESP_HDR + s->iv_len + s->icv_len;
	return body > UINT32_MAX ? 0 : (uint32_t)body;
}

TR_API uint32_t tr_esp_inner_max(enum tr_esp_cipher c, uint32_t esp_max)
{
	const struct suite *s = suite_of(c);
	uint32_t fixed;

	if (!s)
		return 0;
	fixed = ESP_HDR + s->iv_len + s->icv_len;
	if (esp_max < fixed + s->align)
		return 0;
	return (esp_max - fixed) / s->align * s->align - ESP_TRAILER;
}

/* --- keyed-once contexts ------------------------------------------------ */

static EVP_CIPHER_CTX *cipher_ctx_new(const char *name, const uint8_t *key, int enc)
{
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_CTX *ctx = cipher ? EVP_CIPHER_CTX_new() : NULL;

	if (ctx && (!EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, enc) ||
		    /* ESP pads by itself (RFC 4303 §2.4); PKCS#7 padding off. It
		     * survives the per-packet re-init, which passes no cipher. */
		    !EVP_CIPHER_CTX_set_padding(ctx, 0))) {
		EVP_CIPHER_CTX_free(ctx);
		ctx = NULL;
	}
	EVP_CIPHER_free(cipher); /* the context keeps its own reference */
	return ctx;
}

/*
 * HMAC (RFC 2104), keyed once. On OpenSSL 3.0 every EVP route to a keyed hash
 * allocates per packet: EVP_MAC_init re-copies its keyed state through
 * EVP_MD_CTX_copy_ex (a provider dupctx, malloc), and EVP_DigestInit frees
 * and re-creates the provider context. The SHA1/SHA256 state structs
 * (deprecated since 3.0, still shipped) copy by assignment, so the inner and
 * outer states after the pad blocks are computed once here and each packet
 * starts from a copy: no allocation, and two fewer compressions per packet.
 * Builds without the deprecated API fall back to EVP_MAC, which allocates.
 */
#ifndef OPENSSL_NO_DEPRECATED_3_0
struct tr_esp_hmac {
	int sha256;
	union hstate { SHA_CTX s1; SHA256_CTX s256; } inner, outer;
};

#define HMAC_BLOCK 64u /* SHA-1 and SHA-256 block size */

static int hstate_init(union hstate *h, int sha256, const uint8_t *pad)
{
	return sha256 ? SHA256_Init(&h->s256) && SHA256_Update(&h->s256, pad, HMAC_BLOCK)
		      : SHA1_Init(&h->s1) && SHA1_Update(&h->s1, pad, HMAC_BLOCK);
}

static int hstate_update(union hstate *h, int sha256, const uint8_t *p, size_t n)
{
	return sha256 ? SHA256_Update(&h->s256, p, n) : SHA1_Update(&h->s1, p, n);
}

static int hstate_final(union hstate *h, int sha256, uint8_t *out)
{
	return sha256 ? SHA256_Final(out, &h->s256) : SHA1_Final(out, &h->s1);
}

static struct tr_esp_hmac *hmac_new(const char *digest, const uint8_t *key, size_t key_len)
{
	struct tr_esp_hmac *h = OPENSSL_zalloc(sizeof(*h));
	uint8_t k[HMAC_BLOCK] = { 0 }, ipad[HMAC_BLOCK], opad[HMAC_BLOCK];
	int ok;

	if (!h)
		return NULL;
	h->sha256 = !strcmp(digest, "SHA256");
	/* RFC 2104 §2: a key longer than a block is hashed first. */
	if (key_len > HMAC_BLOCK)
		ok = h->sha256 ? SHA256(key, key_len, k) != NULL : SHA1(key, key_len, k) != NULL;
	else
		ok = (memcpy(k, key, key_len), 1);
	for (unsigned i = 0; i < HMAC_BLOCK; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	ok = ok && hstate_init(&h->inner, h->sha256, ipad) && hstate_init(&h->outer, h->sha256, opad);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
	if (!ok) {
		OPENSSL_clear_free(h, sizeof(*h));
		return NULL;
	}
	return h;
}

static void hmac_free(struct tr_esp_hmac *h)
{
	OPENSSL_clear_free(h, sizeof(*h));
}

/* HMAC over a, then b (the implicit ESN high half; blen may be 0), into out
 * (the full digest; the caller truncates, RFC 2404 §2 / RFC 4868 §2). */
static int hmac(const struct tr_esp_hmac *h, const uint8_t *a, size_t alen,
		const uint8_t *b, size_t blen, uint8_t out[EVP_MAX_MD_SIZE])
{
	union hstate c = h->inner;
	int ok = hstate_update(&c, h->sha256, a, alen) &&
		 (!blen || hstate_update(&c, h->sha256, b, blen)) &&
		 hstate_final(&c, h->sha256, out);

	c = h->outer;
	ok = ok && hstate_update(&c, h->sha256, out, h->sha256 ? 32 : 20) &&
	     hstate_final(&c, h->sha256, out);
	OPENSSL_cleanse(&c, sizeof(c)); /* key-derived state */
	return ok;
}
#else
struct tr_esp_hmac {
	EVP_MAC_CTX *ctx;
};

static struct tr_esp_hmac *hmac_new(const char *digest, const uint8_t *key, size_t key_len)
{
	struct tr_esp_hmac *h = OPENSSL_zalloc(sizeof(*h));
	EVP_MAC *mac = h ? EVP_MAC_fetch(NULL, "HMAC", NULL) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
		OSSL_PARAM_construct_end(),
	};

	if (mac && (h->ctx = EVP_MAC_CTX_new(mac)) && EVP_MAC_init(h->ctx, key, key_len, params)) {
		EVP_MAC_free(mac);
		return h;
	}
	EVP_MAC_free(mac);
	if (h)
		EVP_MAC_CTX_free(h->ctx);
	OPENSSL_free(h);
	return NULL;
}

static void hmac_free(struct tr_esp_hmac *h)
{
	if (h)
		EVP_MAC_CTX_free(h->ctx);
	OPENSSL_free(h);
}

static int hmac(const struct tr_esp_hmac *h, const uint8_t *a, size_t alen,
		const uint8_t *b, size_t blen, uint8_t out[EVP_MAX_MD_SIZE])
{
	size_t n;

	/* no key: restart from the keyed state */
	return EVP_MAC_init(h->ctx, NULL, 0, NULL) && EVP_MAC_update(h->ctx, a, alen) &&
	       (!blen || EVP_MAC_update(h->ctx, b, blen)) &&
	       EVP_MAC_final(h->ctx, out, &n, EVP_MAX_MD_SIZE);
}
#endif

TR_API int tr_esp_sa_alloc(struct tr_esp_sa **out, const struct tr_esp_sa_config *cfg)
{
	const struct suite *s;
	struct tr_esp_sa *sa;
	uint32_t window;
	size_t replay_size;
	uint8_t ivkey[16];
	int err = -EIO;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!cfg || !(s = suite_of(cfg->cipher)) || cfg->spi == 0 || (cfg->flags & ~(TR_ESP_F_ESN | TR_ESP_F_OPENSSL | TR_ESP_F_EVP)))
		return -EINVAL;
	if (!cfg->key || cfg->key_len != (uint32_t)s->aes_key_len + s->salt_len)
		return -EINVAL;
	if (s->auth_key_len ? (!cfg->auth_key || cfg->auth_key_len != s->auth_key_len)
			    : cfg->auth_key_len != 0)
		return -EINVAL;
	window = cfg->replay_window ? cfg->replay_window : TR_ESP_REPLAY_DEFAULT;
	replay_size = tr_replay_size(window);
	if (!replay_size)
		return -EINVAL;

	/* sizeof(*sa) is a multiple of 8 (it holds uint64_t), so the window
	 * that follows is aligned for its words. */
	sa = calloc(1, sizeof(*sa) + replay_size);
	if (!sa)
		return -ENOMEM;
	sa->cipher = cfg->cipher;
	sa->spi = cfg->spi;
	sa->flags = cfg->flags;
	sa->iv_len = s->iv_len;
	sa->icv_len = s->icv_len;
	sa->align = s->align;
	sa->replay = (struct tr_replay *)(sa + 1);
	if (tr_replay_init(sa->replay, window))
		goto err_free;
	memcpy(sa->salt, cfg->key + s->aes_key_len, s->salt_len);

	if (!s->digest) {
		/* GCM: keyed once, per packet only the nonce (aead.h). */
		err = tr_aead_new(&sa->aead, cfg->cipher == TR_ESP_AES128_GCM ? TR_AEAD_AES128_GCM
									  : TR_AEAD_AES256_GCM,
				  cfg->key, s->aes_key_len,
				  ((cfg->flags & TR_ESP_F_EVP) ? TR_AEAD_F_EVP : 0) |
				  ((cfg->flags & TR_ESP_F_OPENSSL) ? TR_AEAD_F_OPENSSL : 0));
		if (err)
			goto err_free;
		err = -EIO;
	} else {
		sa->enc = cipher_ctx_new(s->evp_cipher, cfg->key, 1);
		sa->dec = cipher_ctx_new(s->evp_cipher, cfg->key, 0);
		if (!sa->enc || !sa->dec)
			goto err_free;
	}
	/* Static keys outlive a process: a restarted tunnel starts again at
	 * sequence number 1 under the same key, and an IV equal to the
	 * sequence number would then repeat a GCM nonce (fatal: it leaks the
	 * XOR of two plaintexts and lets an attacker forge tags). A random
	 * 64-bit base per SA makes two starts' IV ranges (2^32 packets each
	 * without ESN) overlap with probability about 2^-31. */
	if (!s->digest && RAND_priv_bytes((uint8_t *)&sa->iv_base, sizeof(sa->iv_base)) != 1)
		goto err_free;
	if (s->digest) {
		/* RFC 3602 §3 wants CBC IVs unpredictable. IV = AES-ECB(ivkey,
		 * seq) with a random per-SA ivkey is that (a PRP of a counter
		 * that never repeats, SP 800-38A Appendix C), for one AES block
		 * per packet; RAND_bytes costs about 100 times more on OpenSSL
		 * 3.0 (bench_codec prints both). */
		if (RAND_priv_bytes(ivkey, sizeof(ivkey)) != 1)
			goto err_free;
		sa->ivgen = cipher_ctx_new("AES-128-ECB", ivkey, 1);
		OPENSSL_cleanse(ivkey, sizeof(ivkey));
		sa->hmac = hmac_new(s->digest, cfg->auth_key, cfg->auth_key_len);
		if (!sa->ivgen || !sa->hmac)
			goto err_free;
	}
	*out = sa;
	return 0;

err_free:
	tr_esp_sa_free(sa);
	return err;
}

TR_API void tr_esp_sa_free(struct tr_esp_sa *sa)
{
	if (!sa)
		return;
	/* The contexts hold the key schedules; their frees cleanse them. */
	EVP_CIPHER_CTX_free(sa->enc);
	EVP_CIPHER_CTX_free(sa->dec);
	tr_aead_free(sa->aead);
	EVP_CIPHER_CTX_free(sa->ivgen);
	hmac_free(sa->hmac);
	OPENSSL_cleanse(sa, sizeof(*sa) + tr_replay_size(sa->replay->window));
	free(sa);
}

TR_API void tr_esp_sa_stats(const struct tr_esp_sa *sa, struct tr_esp_stats *out)
{
	if (!out)
		return;
	if (!sa) {
		memset(out, 0, sizeof(*out));
		return;
	}
	/* Another thread counts (barrier.h): every field read relaxed. */
	const struct tr_esp_stats *st = &sa->st;
	*out = (struct tr_esp_stats){
		.packets = tr_stat_read(&st->packets), .bytes = tr_stat_read(&st->bytes),
		.err_auth = tr_stat_read(&st->err_auth), .err_replay = tr_stat_read(&st->err_replay),
		.err_malformed = tr_stat_read(&st->err_malformed),
		.err_padding = tr_stat_read(&st->err_padding), .err_spi = tr_stat_read(&st->err_spi),
		.err_seq_overflow = tr_stat_read(&st->err_seq_overflow),
		.err_room = tr_stat_read(&st->err_room), .err_too_old = tr_stat_read(&st->err_too_old),
		.err_crypto = tr_stat_read(&st->err_crypto),
	};
}

/* --- GCM (RFC 4106) ------------------------------------------------------ */

/* The nonce is salt then the explicit IV (RFC 4106 §4); the AAD is SPI and
 * sequence number, with ESN SPI, high half, low half (RFC 4106 §5). */
static size_t gcm_nonce_aad(const struct tr_esp_sa *sa, const uint8_t *hdr, uint64_t seq,
			    const uint8_t *iv, uint8_t nonce[12], uint8_t aad[12])
{
	memcpy(nonce, sa->salt, GCM_SALT);
	memcpy(nonce + GCM_SALT, iv, 8);
	memcpy(aad, hdr, 4);
	if (sa->flags & TR_ESP_F_ESN) {
		put_be32(aad + 4, (uint32_t)(seq >> 32));
		memcpy(aad + 8, hdr + 4, 4);
		return 12;
	}
	memcpy(aad + 4, hdr + 4, 4);
	return 8;
}

static int gcm_seal(struct tr_esp_sa *sa, const uint8_t *hdr, uint64_t seq, const uint8_t *iv,
		    uint8_t *ct, uint32_t ct_len, uint8_t *icv)
{
	uint8_t nonce[12], aad[12];
	size_t aad_len = gcm_nonce_aad(sa, hdr, seq, iv, nonce, aad);

	return tr_aead_seal(sa->aead, nonce, aad, aad_len, ct, ct_len, icv) == 0;
}

/* Returns 0, -EIO (OpenSSL failed), -EACCES (tag mismatch). */
static int gcm_open(struct tr_esp_sa *sa, const uint8_t *hdr, uint64_t seq, const uint8_t *iv,
		    uint8_t *ct, uint32_t ct_len, const uint8_t *icv)
{
	uint8_t nonce[12], aad[12];
	size_t aad_len = gcm_nonce_aad(sa, hdr, seq, iv, nonce, aad);
	int err = tr_aead_open(sa->aead, nonce, aad, aad_len, ct, ct_len, icv);

	return err == -EACCES ? err : err ? -EIO : 0;
}

/* --- encap --------------------------------------------------------------- */

static int encap(struct tr_esp_sa *sa, struct tr_pkt *pkt, uint8_t next_header,
		 uint64_t seq, const uint8_t *iv_given)
{
	uint32_t len = pkt->len, pad, head, tail, ct_len;
	uint8_t *hdr, *iv, *ct, *icv, md[EVP_MAX_MD_SIZE], seq_hi[4];
	int n, ok;

	/* EVP takes int lengths; far above any packet. */
	if (len > INT_MAX / 2)
		goto err_room;
	pad = (sa->align - (len + ESP_TRAILER) % sa->align) % sa->align;
	head = ESP_HDR + sa->iv_len;
	tail = pad + ESP_TRAILER + sa->icv_len;
	if (tr_pkt_headroom(pkt) < head || tr_pkt_tailroom(pkt) < tail)
		goto err_room;
	if (tr_pkt_push(pkt, head) || tr_pkt_put(pkt, tail))
		goto err_room; /* cannot happen after the checks above */

	/* The number is spent before any byte is encrypted under it, so a
	 * failure below can never lead to a second use of a GCM nonce. */
	/* Read by the tunnel's upkeep thread (how far the state file must
	 * reach): one relaxed store, the only writer is this thread. */
	tr_store_once(&sa->seq, seq);
	hdr = tr_pkt_data(pkt);
	iv = hdr + ESP_HDR;
	ct = iv + sa->iv_len;
	ct_len = len + pad + ESP_TRAILER;
	icv = ct + ct_len;
	put_be32(hdr, sa->spi);
	put_be32(hdr + 4, (uint32_t)seq); /* low half only on the wire (RFC 4303 §2.2.1) */
	/* RFC 4303 §2.4: pad bytes are 1, 2, 3, ... */
	for (uint32_t i = 0; i < pad; i++)
		ct[len + i] = (uint8_t)(i + 1);
	ct[len + pad] = (uint8_t)pad;
	ct[len + pad + 1] = next_header;

	if (is_gcm(sa)) {
		/* RFC 4106 §3.1: the IV must never repeat under a key. Within
		 * an SA iv_base + seq does not (tr_esp_encap refuses to wrap
		 * seq); across restarts with the same key, see iv_base. */
		if (iv_given)
			memcpy(iv, iv_given, 8);
		else
			put_be64(iv, sa->iv_base + seq);
		ok = gcm_seal(sa, hdr, seq, iv, ct, ct_len, icv);
	} else {
		uint8_t block[16] = { 0 };

		if (iv_given) {
			memcpy(iv, iv_given, 16);
			ok = 1;
		} else {
			put_be64(block, seq);
			ok = EVP_EncryptUpdate(sa->ivgen, iv, &n, block, 16) && n == 16;
		}
		put_be32(seq_hi, (uint32_t)(seq >> 32));
		/* Encrypt, then MAC header, IV and ciphertext (RFC 4303 §3.3.2),
		 * with the ESN high half appended to what is MACed (§2.2.1). */
		ok = ok && EVP_EncryptInit_ex(sa->enc, NULL, NULL, NULL, iv) &&
		     EVP_EncryptUpdate(sa->enc, ct, &n, ct, (int)ct_len) && n == (int)ct_len &&
		     hmac(sa->hmac, hdr, ESP_HDR + 16 + ct_len, seq_hi,
			  (sa->flags & TR_ESP_F_ESN) ? 4 : 0, md);
		if (ok)
			memcpy(icv, md, sa->icv_len);
		OPENSSL_cleanse(md, sizeof(md));
	}
	if (!ok) {
		pkt->off += head;
		pkt->len = len;
		tr_stat_add(&sa->st.err_crypto, 1);
		return -EIO;
	}
	tr_stat_add(&sa->st.packets, 1);
	tr_stat_add(&sa->st.bytes, len);
	return 0;

err_room:
	tr_stat_add(&sa->st.err_room, 1);
	return -EMSGSIZE;
}

TR_API int tr_esp_encap(struct tr_esp_sa *sa, struct tr_pkt *pkt, uint8_t next_header)
{
	uint64_t last = (sa && (sa->flags & TR_ESP_F_ESN)) ? UINT64_MAX : UINT32_MAX;

	if (!sa || !pkt)
		return -EINVAL;
	/* RFC 4303 §3.3.3: the counter must not cycle; a new SA is needed. */
	if (sa->seq >= last) {
		tr_stat_add(&sa->st.err_seq_overflow, 1);
		return -EOVERFLOW;
	}
	return encap(sa, pkt, next_header, sa->seq + 1, NULL);
}

int tr_esp_encap_iv(struct tr_esp_sa *sa, struct tr_pkt *pkt, uint8_t next_header,
		    uint64_t seq, const uint8_t *iv)
{
	if (!sa || !pkt || !iv)
		return -EINVAL;
	return encap(sa, pkt, next_header, seq, iv);
}

/* --- decap --------------------------------------------------------------- */

TR_API int tr_esp_decap(struct tr_esp_sa *sa, struct tr_pkt *pkt, uint8_t *next_header)
{
	uint32_t len, ct_len, min_ct, pad, inner;
	uint8_t *hdr, *iv, *ct, *icv, md[EVP_MAX_MD_SIZE], seq_hi[4];
	uint64_t seq;
	int n, err;

	if (!sa || !pkt || !next_header)
		return -EINVAL;
	len = pkt->len;
	/* The smallest ESP packet: header, IV, the smallest ciphertext that
	 * holds the 2-byte trailer (one block for CBC), ICV. Checked before
	 * any byte is read. */
	min_ct = is_gcm(sa) ? ESP_TRAILER : 16;
	if (len < ESP_HDR + sa->iv_len + min_ct + sa->icv_len || len > INT_MAX / 2) {
		tr_stat_add(&sa->st.err_malformed, 1);
		return -EBADMSG;
	}
	hdr = tr_pkt_data(pkt);
	if (get_be32(hdr) != sa->spi) {
		tr_stat_add(&sa->st.err_spi, 1);
		return -ENOENT;
	}
	iv = hdr + ESP_HDR;
	ct = iv + sa->iv_len;
	ct_len = len - ESP_HDR - sa->iv_len - sa->icv_len;
	icv = ct + ct_len;
	if (!is_gcm(sa) && ct_len % 16) {
		tr_stat_add(&sa->st.err_malformed, 1);
		return -EBADMSG;
	}

	/* RFC 4303 §3.4.3: duplicates and too-old numbers are dropped before
	 * the ICV is computed; the window moves only after it verified. */
	seq = (sa->flags & TR_ESP_F_ESN) ? tr_replay_esn_infer(sa->replay, get_be32(hdr + 4))
					  : get_be32(hdr + 4);
	err = tr_replay_check(sa->replay, seq);
	if (err) {
		if (err == -EALREADY)
			tr_stat_add(&sa->st.err_replay, 1);
		else
			tr_stat_add(&sa->st.err_too_old, 1);
		return -EALREADY;
	}

	if (is_gcm(sa)) {
		/* GCM checks its tag in the same pass that decrypts; OpenSSL
		 * compares it in constant time. Nothing decrypted is looked at
		 * unless Final accepted the tag. */
		err = gcm_open(sa, hdr, seq, iv, ct, ct_len, icv);
		if (err == -EACCES)
			tr_stat_add(&sa->st.err_auth, 1);
		else if (err)
			tr_stat_add(&sa->st.err_crypto, 1);
		if (err)
			return err;
	} else {
		/* Authenticate first (RFC 4303 §3.4.4.1), in constant time. */
		put_be32(seq_hi, (uint32_t)(seq >> 32));
		if (!hmac(sa->hmac, hdr, ESP_HDR + 16 + ct_len, seq_hi,
			  (sa->flags & TR_ESP_F_ESN) ? 4 : 0, md)) {
			tr_stat_add(&sa->st.err_crypto, 1);
			return -EIO;
		}
		err = CRYPTO_memcmp(md, icv, sa->icv_len);
		OPENSSL_cleanse(md, sizeof(md));
		if (err) {
			tr_stat_add(&sa->st.err_auth, 1);
			return -EACCES;
		}
		if (!EVP_DecryptInit_ex(sa->dec, NULL, NULL, NULL, iv) ||
		    !EVP_DecryptUpdate(sa->dec, ct, &n, ct, (int)ct_len) || n != (int)ct_len) {
			tr_stat_add(&sa->st.err_crypto, 1);
			return -EIO;
		}
	}
	/* Authentic: this number is now used, whatever the padding says. */
	(void)tr_replay_update(sa->replay, seq);

	/* RFC 4303 §2.4: pad length counts the pad bytes just before it, and
	 * those must be 1, 2, 3, ... (the default padding scheme). */
	pad = ct[ct_len - 2];
	if (pad + ESP_TRAILER > ct_len) {
		tr_stat_add(&sa->st.err_padding, 1);
		return -EBADMSG;
	}
	inner = ct_len - ESP_TRAILER - pad;
	for (uint32_t i = 0; i < pad; i++) {
		if (ct[inner + i] != (uint8_t)(i + 1)) {
			tr_stat_add(&sa->st.err_padding, 1);
			return -EBADMSG;
		}
	}
	*next_header = ct[ct_len - 1];
	pkt->off += ESP_HDR + sa->iv_len;
	pkt->len = inner;
	tr_stat_add(&sa->st.packets, 1);
	tr_stat_add(&sa->st.bytes, inner);
	return 0;
}

/* --- known-answer hook ---------------------------------------------------- */

int tr_esp_hmac_kat(enum tr_esp_cipher c, const uint8_t *key, size_t key_len,
		    const uint8_t *msg, size_t len, uint8_t *icv)
{
	const struct suite *s = suite_of(c);
	uint8_t md1[EVP_MAX_MD_SIZE], md2[EVP_MAX_MD_SIZE];
	struct tr_esp_hmac *h;
	int ok;

	if (!s || !s->digest || !icv)
		return -EINVAL;
	h = hmac_new(s->digest, key, key_len);
	if (!h)
		return -ENOMEM;
	ok = hmac(h, msg, len, NULL, 0, md1) && hmac(h, msg, len, NULL, 0, md2) &&
	     !memcmp(md1, md2, s->icv_len);
	hmac_free(h);
	if (!ok)
		return -EIO;
	memcpy(icv, md1, s->icv_len);
	return 0;
}
