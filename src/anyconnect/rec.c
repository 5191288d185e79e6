/* SPDX-License-Identifier: MIT */
/*
 * (D)TLS AEAD records in place (rec.h). Nonces and AAD:
 *
 *   (D)TLS 1.2 GCM   nonce = salt(4) || explicit(8), the explicit part sent in
 *                    the record (we send the sequence number, as GnuTLS does);
 *                    AAD = seq(8) || type || version || plaintext length.
 *                    DTLS: seq(8) is epoch(16) || seq(48) (RFC 6347 §4.1.2.1).
 *   1.2 ChaCha20     nonce = iv(12) XOR seq(8, right-aligned) (RFC 7905); AAD as above.
 *   TLS 1.3          nonce = iv(12) XOR seq; AAD = the 5-byte record header;
 *                    plaintext = content || inner type || zero padding.
 *
 * GCM nonces go in through EVP_CTRL_GCM_SET_IV_FIXED with length -1 (the
 * whole 12 bytes), which skips the provider's IV-length query a re-init
 * would make per record (docs/codecs.md has the measurement for ESP).
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "anyconnect/rec.h"
#include "codec/aead.h"

#define SEQ48_MAX 0xffffffffffffull

static struct tr_replay *replay(struct tr_ac_aead *a)
{
	return (struct tr_replay *)a->replay_mem;
}

static void st_be16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static uint16_t ld_be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void st_be64(uint8_t *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

static uint64_t ld_be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static bool is_gcm(const struct tr_ac_aead *a)
{
	return a->cipher != TR_AC_CIPHER_CHACHA20_POLY1305;
}

static bool is_dtls(const struct tr_ac_aead *a)
{
	return a->version == TR_AC_VERSION_DTLS12;
}

/* Whether records carry an explicit nonce: only 1.2 GCM. */
static bool explicit_nonce(const struct tr_ac_aead *a)
{
	return is_gcm(a) && a->version != TR_AC_VERSION_TLS13;
}

int tr_ac_aead_init(struct tr_ac_aead *a, const struct tr_ac_rec_keys *k, bool enc,
		    unsigned flags)
{
	const char *name;
	uint8_t want_key, want_iv;
	EVP_CIPHER *c;

	if (!a || !k || (flags & ~TR_AC_AEAD_F_OPENSSL))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	switch (k->cipher) {
	case TR_AC_CIPHER_AES_128_GCM: name = "AES-128-GCM"; want_key = 16; break;
	case TR_AC_CIPHER_AES_256_GCM: name = "AES-256-GCM"; want_key = 32; break;
	case TR_AC_CIPHER_CHACHA20_POLY1305: name = "ChaCha20-Poly1305"; want_key = 32; break;
	default: return -ENOTSUP;
	}
	if (k->version != TR_AC_VERSION_DTLS12 && k->version != TR_AC_VERSION_TLS12 &&
	    k->version != TR_AC_VERSION_TLS13)
		return -ENOTSUP;
	want_iv = k->cipher != TR_AC_CIPHER_CHACHA20_POLY1305 && k->version != TR_AC_VERSION_TLS13
		  ? 4 : 12;
	if (k->key_len != want_key || k->iv_len != want_iv)
		return -EINVAL;
	a->version = k->version;
	a->cipher = k->cipher;
	a->iv_len = k->iv_len;
	memcpy(a->iv, k->iv, k->iv_len);
	a->epoch = k->epoch;
	a->seq = k->seq;
	a->seq_max = is_dtls(a) ? SEQ48_MAX : UINT64_MAX;
	a->enc = enc;
	if (is_dtls(a) && a->seq > SEQ48_MAX)
		return -EINVAL;
	if (is_dtls(a) && !enc) {
		if (tr_replay_size(TR_AC_REPLAY_WINDOW) > sizeof(a->replay_mem) ||
		    tr_replay_init(replay(a), TR_AC_REPLAY_WINDOW))
			return -EINVAL;
		/* Right edge just below the next expected number, so that
		 * number is new and nothing before the hand-over is. */
		replay(a)->top = a->seq ? a->seq - 1 : 0;
	}
	c = EVP_CIPHER_fetch(NULL, name, NULL);
	a->ctx = c ? EVP_CIPHER_CTX_new() : NULL;
	if (!a->ctx || !EVP_CipherInit_ex(a->ctx, c, NULL, k->key, NULL, enc ? 1 : 0)) {
		EVP_CIPHER_free(c);
		tr_ac_aead_free(a);
		return -ENOMEM;
	}
	EVP_CIPHER_free(c); /* the context keeps its reference */
	/* Whole GCM records go through the provider's functions directly
	 * (no OSSL_PARAM parsing per record: src/codec/aead.h). */
	if (is_gcm(a) && tr_aead_new(&a->fast, k->cipher == TR_AC_CIPHER_AES_128_GCM ?
				     TR_AEAD_AES128_GCM : TR_AEAD_AES256_GCM,
				     k->key, k->key_len,
				     (flags & TR_AC_AEAD_F_OPENSSL) ? TR_AEAD_F_OPENSSL : 0)) {
		tr_ac_aead_free(a);
		return -ENOMEM;
	}
	return 0;
}

void tr_ac_aead_free(struct tr_ac_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->ctx); /* cleanses the key schedule */
	tr_aead_free(a->fast);
	OPENSSL_cleanse(a, sizeof(*a));
}

uint32_t tr_ac_dtls_head(const struct tr_ac_aead *a)
{
	return TR_AC_DTLS_HDR + (explicit_nonce(a) ? TR_AC_EXPLICIT : 0);
}

uint32_t tr_ac_tls_head(const struct tr_ac_aead *a)
{
	return TR_AC_TLS_HDR + (explicit_nonce(a) ? TR_AC_EXPLICIT : 0);
}

uint32_t tr_ac_tls_ct_off(const struct tr_ac_aead *a)
{
	return tr_ac_tls_head(a);
}

const char *tr_ac_aead_impl(const struct tr_ac_aead *a)
{
	return a->fast ? tr_aead_impl(a->fast) : "openssl evp";
}

uint32_t tr_ac_rec_tail(const struct tr_ac_aead *a)
{
	return TR_AC_TAG + (a->version == TR_AC_VERSION_TLS13 ? 1 : 0);
}

/* The per-record nonce: salt || explicit for GCM 1.2, iv XOR seq otherwise. */
static void make_nonce(const struct tr_ac_aead *a, uint64_t wire_seq, const uint8_t *explicit,
		       uint8_t n[12])
{
	if (explicit_nonce(a)) {
		memcpy(n, a->iv, 4);
		memcpy(n + 4, explicit, 8);
	} else {
		memcpy(n, a->iv, 12);
		for (int i = 0; i < 8; i++)
			n[4 + i] ^= (uint8_t)(wire_seq >> (56 - 8 * i));
	}
}

static int set_nonce(struct tr_ac_aead *a, uint64_t wire_seq, const uint8_t *explicit)
{
	uint8_t n[12];

	make_nonce(a, wire_seq, explicit, n);
	if (is_gcm(a))
		return EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_IV_FIXED, -1, n) > 0 ? 0 : -EIO;
	return EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, n, -1) ? 0 : -EIO;
}

static void aad12_make(uint8_t aad[13], uint64_t wire_seq, uint8_t type, uint16_t version,
		       uint32_t pt_len)
{
	st_be64(aad, wire_seq);
	aad[8] = type;
	st_be16(aad + 9, version);
	st_be16(aad + 11, (uint16_t)pt_len);
}

/* AAD of 1.2: seq(8) || type || version || plaintext length. */
static int aad12(struct tr_ac_aead *a, uint64_t wire_seq, uint8_t type, uint16_t version,
		 uint32_t pt_len)
{
	uint8_t aad[13];
	int n;

	aad12_make(aad, wire_seq, type, version, pt_len);
	return EVP_CipherUpdate(a->ctx, NULL, &n, aad, sizeof(aad)) ? 0 : -EIO;
}

/* Encrypts [pt, pt + len) in place and writes the tag after it. */
static int seal_body(struct tr_ac_aead *a, uint8_t *pt, uint32_t len)
{
	int n = 0, m = 0;

	if (!EVP_EncryptUpdate(a->ctx, pt, &n, pt, (int)len) || n != (int)len ||
	    !EVP_EncryptFinal_ex(a->ctx, pt + n, &m) ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, TR_AC_TAG, pt + len) <= 0)
		return -EIO;
	return 0;
}

int tr_ac_dtls_seal(struct tr_ac_aead *a, struct tr_pkt *p, uint8_t ac_type)
{
	uint32_t head = tr_ac_dtls_head(a), pt_len;
	uint64_t wire;
	uint8_t *h;
	int err;

	if (!a || !a->enc || !is_dtls(a) || !p)
		return -EINVAL;
	if (a->seq > a->seq_max)
		return -ERANGE;
	if (p->len + 1 > 16384 || tr_pkt_headroom(p) < head + 1 || tr_pkt_tailroom(p) < TR_AC_TAG)
		return -EMSGSIZE;
	p->off -= head + 1;
	p->len += head + 1 + TR_AC_TAG;
	h = tr_pkt_data(p);
	pt_len = p->len - head - TR_AC_TAG;
	wire = (uint64_t)a->epoch << 48 | a->seq;
	h[0] = TR_AC_CT_APP;
	st_be16(h + 1, TR_AC_VERSION_DTLS12);
	st_be64(h + 3, wire);
	st_be16(h + 11, (uint16_t)(p->len - TR_AC_DTLS_HDR));
	if (explicit_nonce(a))
		st_be64(h + TR_AC_DTLS_HDR, wire);
	h[head] = ac_type;
	if (a->fast) {
		uint8_t n[12], aad[13];
		make_nonce(a, wire, h + TR_AC_DTLS_HDR, n);
		aad12_make(aad, wire, TR_AC_CT_APP, TR_AC_VERSION_DTLS12, pt_len);
		err = tr_aead_seal(a->fast, n, aad, sizeof(aad), h + head, pt_len,
				   h + head + pt_len) ? -EIO : 0;
	} else {
		err = set_nonce(a, wire, h + TR_AC_DTLS_HDR);
		if (!err)
			err = aad12(a, wire, TR_AC_CT_APP, TR_AC_VERSION_DTLS12, pt_len);
		if (!err)
			err = seal_body(a, h + head, pt_len);
	}
	if (err)
		return err;
	a->seq++;
	return 0;
}

int tr_ac_dtls_open(struct tr_ac_aead *a, struct tr_pkt *p, uint8_t *ctype)
{
	uint32_t head = tr_ac_dtls_head(a), pt_len;
	uint64_t wire, seq;
	uint8_t *h, *ct;
	int n = 0, err;

	if (!a || a->enc || !is_dtls(a) || !p || !ctype)
		return -EINVAL;
	if (p->len < head + TR_AC_TAG)
		return -ENODATA;
	h = tr_pkt_data(p);
	if ((h[0] != TR_AC_CT_APP && h[0] != TR_AC_CT_ALERT) ||
	    ld_be16(h + 1) != TR_AC_VERSION_DTLS12 ||
	    ld_be16(h + 11) != p->len - TR_AC_DTLS_HDR)
		return -EPROTO;
	wire = ld_be64(h + 3);
	if ((uint16_t)(wire >> 48) != a->epoch)
		return -ESTALE;
	seq = wire & SEQ48_MAX;
	/* The cheap reject before any decryption (RFC 6347 §4.1.2.6). */
	err = tr_replay_check(replay(a), seq);
	if (err)
		return -EALREADY;
	pt_len = p->len - head - TR_AC_TAG;
	ct = h + head;
	if (a->fast) {
		uint8_t nn[12], aad[13];
		make_nonce(a, wire, h + TR_AC_DTLS_HDR, nn);
		aad12_make(aad, wire, h[0], TR_AC_VERSION_DTLS12, pt_len);
		err = tr_aead_open(a->fast, nn, aad, sizeof(aad), ct, pt_len, ct + pt_len);
		if (err)
			return err == -EACCES ? -EBADMSG : -EIO;
		goto authentic;
	}
	err = set_nonce(a, wire, h + TR_AC_DTLS_HDR);
	if (!err && EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, TR_AC_TAG, ct + pt_len) <= 0)
		err = -EIO;
	if (!err)
		err = aad12(a, wire, h[0], TR_AC_VERSION_DTLS12, pt_len);
	if (!err && (!EVP_DecryptUpdate(a->ctx, ct, &n, ct, (int)pt_len) || n != (int)pt_len))
		err = -EIO;
	if (err)
		return err;
	if (EVP_DecryptFinal_ex(a->ctx, ct + n, &n) <= 0)
		return -EBADMSG;
authentic:
	/* Only an authentic record moves the window. */
	tr_replay_update(replay(a), seq);
	*ctype = h[0];
	p->off += head;
	p->len = pt_len;
	return 0;
}

int tr_ac_tls_seal(struct tr_ac_aead *a, struct tr_pkt *p, uint8_t ctype)
{
	bool v13 = a && a->version == TR_AC_VERSION_TLS13;
	uint32_t head, tail, pt_len;
	uint8_t *h;
	int err, n;

	if (!a || !a->enc || is_dtls(a) || !p)
		return -EINVAL;
	head = tr_ac_tls_head(a);
	tail = tr_ac_rec_tail(a);
	if (a->seq == UINT64_MAX)
		return -ERANGE;
	if (p->len > 16384 || tr_pkt_headroom(p) < head || tr_pkt_tailroom(p) < tail)
		return -EMSGSIZE;
	pt_len = p->len + (v13 ? 1 : 0);
	if (v13)
		tr_pkt_tail(p)[0] = ctype;
	p->off -= head;
	p->len += head + tail;
	h = tr_pkt_data(p);
	h[0] = v13 ? TR_AC_CT_APP : ctype;
	st_be16(h + 1, TR_AC_VERSION_TLS12);
	st_be16(h + 3, (uint16_t)(p->len - TR_AC_TLS_HDR));
	if (explicit_nonce(a))
		st_be64(h + TR_AC_TLS_HDR, a->seq);
	if (a->fast) {
		uint8_t nn[12], aad[13];
		make_nonce(a, a->seq, h + TR_AC_TLS_HDR, nn);
		if (v13)
			memcpy(aad, h, TR_AC_TLS_HDR);
		else
			aad12_make(aad, a->seq, ctype, TR_AC_VERSION_TLS12, pt_len);
		if (tr_aead_seal(a->fast, nn, aad, v13 ? TR_AC_TLS_HDR : 13, h + head, pt_len,
				 h + head + pt_len))
			return -EIO;
		a->seq++;
		return 0;
	}
	err = set_nonce(a, a->seq, h + TR_AC_TLS_HDR);
	if (!err && v13)
		err = EVP_EncryptUpdate(a->ctx, NULL, &n, h, TR_AC_TLS_HDR) ? 0 : -EIO;
	else if (!err)
		err = aad12(a, a->seq, ctype, TR_AC_VERSION_TLS12, pt_len);
	if (!err)
		err = seal_body(a, h + head, pt_len);
	if (err)
		return err;
	a->seq++;
	return 0;
}

int tr_ac_tls_hdr(const struct tr_ac_aead *a, const uint8_t *h, uint32_t *rec_len,
		  uint32_t *pt_len)
{
	uint32_t len = ld_be16(h + 3), over = tr_ac_tls_head(a) - TR_AC_TLS_HDR + TR_AC_TAG;
	bool v13 = a->version == TR_AC_VERSION_TLS13;

	/* Under 1.3 every protected record says application_data outside;
	 * under 1.2 alerts and a renegotiation's handshake are protected too. */
	if (v13 ? h[0] != TR_AC_CT_APP
		: h[0] != TR_AC_CT_APP && h[0] != TR_AC_CT_ALERT && h[0] != TR_AC_CT_HANDSHAKE)
		return -EPROTO;
	if (ld_be16(h + 1) != TR_AC_VERSION_TLS12)
		return -EPROTO;
	if (len < over + (v13 ? 1 : 0) || len > (v13 ? 16384u + 256 : 16384u + 2048))
		return -EPROTO;
	*rec_len = TR_AC_TLS_HDR + len;
	*pt_len = len - over;
	return 0;
}

int tr_ac_tls_open_begin(struct tr_ac_aead *a, const uint8_t *rec, uint32_t rec_len)
{
	uint32_t over = tr_ac_tls_head(a) + TR_AC_TAG;
	int n, err;

	if (a->seq == UINT64_MAX)
		return -ERANGE;
	if (rec_len < over)
		return -EPROTO;
	err = set_nonce(a, a->seq, rec + TR_AC_TLS_HDR);
	if (!err && EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, TR_AC_TAG,
					(void *)(rec + rec_len - TR_AC_TAG)) <= 0)
		err = -EIO;
	if (err)
		return err;
	if (a->version == TR_AC_VERSION_TLS13)
		return EVP_DecryptUpdate(a->ctx, NULL, &n, rec, TR_AC_TLS_HDR) ? 0 : -EIO;
	return aad12(a, a->seq, rec[0], TR_AC_VERSION_TLS12, rec_len - over);
}

int tr_ac_tls_open_part(struct tr_ac_aead *a, const uint8_t *in, uint8_t *out, uint32_t n)
{
	int m = 0;

	if (!n)
		return 0;
	return EVP_DecryptUpdate(a->ctx, out, &m, in, (int)n) && m == (int)n ? 0 : -EIO;
}

int tr_ac_tls_open_end(struct tr_ac_aead *a, const uint8_t *rec, uint32_t rec_len)
{
	uint8_t dummy[16];
	int m = 0;

	(void)rec;
	(void)rec_len;
	if (EVP_DecryptFinal_ex(a->ctx, dummy, &m) <= 0)
		return -EBADMSG;
	a->seq++;
	return 0;
}
