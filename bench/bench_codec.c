/* SPDX-License-Identifier: MIT */
/*
 * bench_codec: ESP encap/decap in place, against the copy path (memcpy into a
 * buffer with room first) and against raw OpenSSL EVP on the same bytes (the
 * ceiling), per cipher and packet size. Prints ns/packet, Gbit/s of inner
 * bytes, and ratios measured side by side in one run. Not a test: no asserts
 * on speed.
 *
 *   meson: ninja -C build && build/bench/bench_codec [--quick]   (or meson test --benchmark)
 *   standalone: cc -O2 -Iinclude -Isrc bench/bench_codec.c src/codec/esp.c \
 *               src/codec/replay.c -lcrypto -lm -o bench_codec
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "tunroom/esp.h"

#define BATCH 32   /* packets in flight: a ring's worth, cycled */
#define ROOM 64

static double target_ns = 50e6; /* per variant, spread over ROUNDS bursts */
#define ROUNDS 25 /* the six variants take turns, ROUNDS times; best burst wins */

/* CPU time of this thread: on a shared, loaded machine wall time mostly
 * measures the other processes. */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_codec: %s failed\n", what);
	exit(1);
}

struct bench {
	enum tr_esp_cipher c;
	uint32_t size, head, cap;
	struct tr_esp_sa *out, *in;
	uint8_t *room[BATCH];   /* buffers with head/tail room (ring slots) */
	uint8_t *bare[BATCH];   /* buffers without room (what a plain TUN read gives) */
	uint32_t esp_len[BATCH];
	/* raw EVP */
	EVP_CIPHER_CTX *enc, *dec;
	EVP_MAC_CTX *mac;
	uint8_t key[64], akey[64];
};

static int is_gcm(enum tr_esp_cipher c)
{
	return c == TR_ESP_AES128_GCM || c == TR_ESP_AES256_GCM;
}

/*
 * GCM per packet, two ways to hand OpenSSL the nonce and tag (esp.c uses
 * GCM_FIXED_IV): GCM_REINIT re-inits with the nonce and moves the tag with
 * EVP_CIPHER_CTX_ctrl; GCM_FIXED_IV sets the whole nonce as the TLS-style
 * fixed IV (length -1) to seal, and to open the explicit IV as the
 * invocation field after the 4-byte salt (set once, gcm_open_ready), with
 * the tag in the same set_params. 12-byte nonce = 4 salt || 8 iv.
 */
enum { GCM_REINIT, GCM_FIXED_IV };
static const uint8_t gcm_salt[4] = { 0 };

static int gcm_seal(EVP_CIPHER_CTX *ctx, int how, const uint8_t *iv, const uint8_t *aad,
		    uint8_t *d, uint32_t n)
{
	uint8_t nonce[12];
	OSSL_PARAM tag[2] = { OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, d + n, 16),
			      OSSL_PARAM_END };
	int len;

	memcpy(nonce, gcm_salt, 4);
	memcpy(nonce + 4, iv, 8);
	if (how == GCM_REINIT ? !EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce)
			      : EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IV_FIXED, -1, nonce) <= 0)
		return 0;
	if (!EVP_EncryptUpdate(ctx, NULL, &len, aad, 8) || !EVP_EncryptUpdate(ctx, d, &len, d, (int)n) ||
	    !EVP_EncryptFinal_ex(ctx, d + len, &len))
		return 0;
	return how == GCM_REINIT ? EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, d + n) > 0
				 : EVP_CIPHER_CTX_get_params(ctx, tag);
}

static void gcm_open_ready(EVP_CIPHER_CTX *dec)
{
	if (EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_GCM_SET_IV_FIXED, 4, (void *)gcm_salt) <= 0)
		die("GCM fixed IV");
}

static int gcm_open(EVP_CIPHER_CTX *ctx, int how, const uint8_t *iv, const uint8_t *aad,
		    const uint8_t *s, uint8_t *d, uint32_t n)
{
	uint8_t nonce[12];
	OSSL_PARAM p[3] = {
		OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_SET_IV_INV, (void *)iv, 8),
		OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)(s + n), 16),
		OSSL_PARAM_END,
	};
	int len;

	memcpy(nonce, gcm_salt, 4);
	memcpy(nonce + 4, iv, 8);
	if (how == GCM_REINIT ? !EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) ||
					!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(s + n))
			      : !EVP_CIPHER_CTX_set_params(ctx, p))
		return 0;
	return EVP_DecryptUpdate(ctx, NULL, &len, aad, 8) && EVP_DecryptUpdate(ctx, d, &len, s, (int)n) &&
	       EVP_DecryptFinal_ex(ctx, d + len, &len) > 0;
}

static void setup_flags(struct bench *b, enum tr_esp_cipher c, uint32_t size, uint32_t flags)
{
	struct tr_esp_sa_config cfg = { .cipher = c, .spi = 0x1234, .flags = flags };
	const char *cname[] = { "AES-128-GCM", "AES-256-GCM", "AES-128-CBC", "AES-256-CBC" };

	memset(b, 0, sizeof(*b));
	b->c = c;
	b->size = size;
	b->head = tr_esp_head_room(c);
	b->cap = ROOM + size + ROOM;
	RAND_bytes(b->key, sizeof(b->key));
	RAND_bytes(b->akey, sizeof(b->akey));
	cfg.key = b->key;
	cfg.key_len = tr_esp_key_len(c);
	cfg.auth_key = tr_esp_auth_key_len(c) ? b->akey : NULL;
	cfg.auth_key_len = tr_esp_auth_key_len(c);
	if (tr_esp_sa_alloc(&b->out, &cfg) || tr_esp_sa_alloc(&b->in, &cfg))
		die("tr_esp_sa_alloc");
	for (int i = 0; i < BATCH; i++) {
		b->room[i] = aligned_alloc(64, (b->cap + 63) / 64 * 64);
		b->bare[i] = aligned_alloc(64, (b->cap + 63) / 64 * 64);
		if (!b->room[i] || !b->bare[i])
			die("aligned_alloc");
		memset(b->room[i], 0x45, b->cap);
		memset(b->bare[i], 0x45, b->cap);
	}
	EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, cname[c], NULL);
	b->enc = EVP_CIPHER_CTX_new();
	b->dec = EVP_CIPHER_CTX_new();
	if (!ciph || !EVP_EncryptInit_ex(b->enc, ciph, NULL, b->key, NULL) ||
	    !EVP_DecryptInit_ex(b->dec, ciph, NULL, b->key, NULL))
		die("EVP cipher init");
	EVP_CIPHER_CTX_set_padding(b->enc, 0);
	EVP_CIPHER_CTX_set_padding(b->dec, 0);
	EVP_CIPHER_free(ciph);
	if (is_gcm(c))
		gcm_open_ready(b->dec);
	if (!is_gcm(c)) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
							 c == TR_ESP_AES128_CBC_SHA1 ? "SHA1" : "SHA256", 0),
			OSSL_PARAM_construct_end(),
		};
		b->mac = EVP_MAC_CTX_new(mac);
		if (!b->mac || !EVP_MAC_init(b->mac, b->akey, tr_esp_auth_key_len(c), params))
			die("EVP_MAC init");
		EVP_MAC_free(mac);
	}
}

static void setup(struct bench *b, enum tr_esp_cipher c, uint32_t size)
{
	setup_flags(b, c, size, 0);
}

static void teardown(struct bench *b)
{
	for (int i = 0; i < BATCH; i++) {
		free(b->room[i]);
		free(b->bare[i]);
	}
	tr_esp_sa_free(b->out);
	tr_esp_sa_free(b->in);
	EVP_CIPHER_CTX_free(b->enc);
	EVP_CIPHER_CTX_free(b->dec);
	EVP_MAC_CTX_free(b->mac);
}

/* Encap in place: the inner packet sits in a slot with room around it. */
static void encap_inplace(struct bench *b, int i)
{
	struct tr_pkt p;

	if (tr_pkt_init(&p, b->room[i], b->cap, ROOM, b->size) || tr_esp_encap(b->out, &p, 4))
		die("encap");
	b->esp_len[i] = p.len;
}

/* Copy path: the inner packet came without room; copy it into a buffer
 * that has some, then encap there. */
static void encap_copy(struct bench *b, int i)
{
	struct tr_pkt p;

	memcpy(b->room[i] + ROOM, b->bare[i], b->size);
	if (tr_pkt_init(&p, b->room[i], b->cap, ROOM, b->size) || tr_esp_encap(b->out, &p, 4))
		die("encap");
}

/* The ceiling: EVP on the same bytes, no ESP framing: GCM seal with an
 * 8-byte AAD, or CBC encrypt + HMAC through EVP_MAC, in place. */
static void seal_raw(struct bench *b, int i)
{
	static const uint8_t aad[8] = { 0, 0, 0x12, 0x34, 0, 0, 0, 1 };
	uint8_t iv[16] = { 1 }, md[EVP_MAX_MD_SIZE], *d = b->room[i] + ROOM;
	uint32_t n = is_gcm(b->c) ? b->size : (b->size + 15) / 16 * 16;
	int len;
	size_t mlen;

	if (is_gcm(b->c)) {
		if (!gcm_seal(b->enc, GCM_FIXED_IV, iv, aad, d, n))
			die("raw gcm");
	} else {
		if (!EVP_EncryptInit_ex(b->enc, NULL, NULL, NULL, iv))
			die("raw init");
		if (!EVP_EncryptUpdate(b->enc, d, &len, d, (int)n) ||
		    !EVP_MAC_init(b->mac, NULL, 0, NULL) || !EVP_MAC_update(b->mac, d, n) ||
		    !EVP_MAC_final(b->mac, md, &mlen, sizeof(md)))
			die("raw cbc");
		memcpy(d + n, md, 16);
	}
}

static void decap_inplace(struct bench *b, int i)
{
	struct tr_pkt p;
	uint8_t nh;

	if (tr_pkt_init(&p, b->room[i], b->cap, ROOM - b->head, b->esp_len[i]) ||
	    tr_esp_decap(b->in, &p, &nh))
		die("decap");
}

/* Copy path: the ESP packet is in a receive buffer; copy it into the slot,
 * then decap there. */
static void decap_copy(struct bench *b, int i)
{
	struct tr_pkt p;
	uint8_t nh;

	memcpy(b->room[i] + ROOM - b->head, b->bare[i], b->esp_len[i]);
	if (tr_pkt_init(&p, b->room[i], b->cap, ROOM - b->head, b->esp_len[i]) ||
	    tr_esp_decap(b->in, &p, &nh))
		die("decap");
}

/* The ceiling for opening: EVP decrypt with tag check (GCM), or HMAC and
 * CBC decrypt, from an unchanging sealed buffer into scratch. */
static void open_raw(struct bench *b, int i)
{
	static const uint8_t aad[8] = { 0, 0, 0x12, 0x34, 0, 0, 0, 1 };
	uint8_t iv[16] = { 1 }, md[EVP_MAX_MD_SIZE];
	const uint8_t *s = b->bare[i] + ROOM;
	uint8_t *d = b->room[i] + ROOM;
	uint32_t n = is_gcm(b->c) ? b->size : (b->size + 15) / 16 * 16;
	int len;
	size_t mlen;

	if (is_gcm(b->c)) {
		if (!gcm_open(b->dec, GCM_FIXED_IV, iv, aad, s, d, n))
			die("raw gcm open");
	} else {
		if (!EVP_DecryptInit_ex(b->dec, NULL, NULL, NULL, iv))
			die("raw init");
		if (!EVP_MAC_init(b->mac, NULL, 0, NULL) || !EVP_MAC_update(b->mac, s, n) ||
		    !EVP_MAC_final(b->mac, md, &mlen, sizeof(md)) || CRYPTO_memcmp(md, s + n, 16) ||
		    !EVP_DecryptUpdate(b->dec, d, &len, s, (int)n))
			die("raw cbc open");
	}
}

typedef void (*op_fn)(struct bench *, int);

/* ns per packet of one burst of about `budget` ns. Decap consumes its
 * packets (window, plaintext), so for it only the decap of each batch is
 * timed and the batch is re-sealed untimed with fresh sequence numbers;
 * `copy` also stages the sealed packets in the room-less buffers. */
static double burst(struct bench *b, op_fn op, int decap, int copy, double budget)
{
	long n = 0;
	double t = 0;

	do {
		if (decap) {
			for (int i = 0; i < BATCH; i++) {
				encap_inplace(b, i);
				if (copy)
					memcpy(b->bare[i], b->room[i] + ROOM - b->head, b->esp_len[i]);
			}
		}
		double t0 = now_ns();
		for (int i = 0; i < BATCH; i++)
			op(b, i);
		t += now_ns() - t0;
		n += BATCH;
	} while (t < budget);
	return t / n;
}

static void prepare_raw_open(struct bench *b)
{
	for (int i = 0; i < BATCH; i++) {
		seal_raw(b, i);
		memcpy(b->bare[i] + ROOM, b->room[i] + ROOM, b->size + 32);
	}
}

static double gbps(uint32_t size, double ns)
{
	return size * 8.0 / ns;
}

/* Why CBC IVs are an encrypted counter: the per-packet cost of the two. */
static void iv_costs(void)
{
	EVP_CIPHER_CTX *ecb = EVP_CIPHER_CTX_new();
	uint8_t key[16] = { 7 }, blk[16] = { 0 }, iv[16];
	int n, count = 200000;
	double t0, t_rand, t_ecb;

	EVP_EncryptInit_ex(ecb, EVP_aes_128_ecb(), NULL, key, NULL);
	EVP_CIPHER_CTX_set_padding(ecb, 0);
	t0 = now_ns();
	for (int i = 0; i < count; i++)
		if (RAND_bytes(iv, 16) != 1)
			die("RAND_bytes");
	t_rand = (now_ns() - t0) / count;
	t0 = now_ns();
	for (int i = 0; i < count; i++) {
		blk[7] = (uint8_t)i;
		EVP_EncryptUpdate(ecb, iv, &n, blk, 16);
	}
	t_ecb = (now_ns() - t0) / count;
	printf("\nCBC IV per packet: RAND_bytes(16) %.1f ns, AES-ECB(counter) %.1f ns\n", t_rand, t_ecb);
	EVP_CIPHER_CTX_free(ecb);
}

/* Why esp.c sets GCM nonces as fixed/invocation IV fields: the two ways
 * (gcm_seal) side by side on 1400-byte AES-128-GCM, interleaved, best of
 * ROUNDS bursts. The re-init asks the provider for the IV length every call
 * on OpenSSL 3.0. */
static void gcm_setup_costs(void)
{
	static const uint8_t aad[8] = { 0, 0, 0x12, 0x34, 0, 0, 0, 1 };
	enum { LEN = 1400, COUNT = 2000 };
	EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	EVP_CIPHER_CTX *enc = EVP_CIPHER_CTX_new(), *dec[2] = { EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_new() };
	static uint8_t sealed[LEN + 16], buf[LEN + 16];
	uint8_t key[16] = { 7 }, iv[8] = { 1 };
	double best[2][2] = { { 1e18, 1e18 }, { 1e18, 1e18 } };

	if (!ciph || !enc || !dec[0] || !dec[1] || !EVP_EncryptInit_ex(enc, ciph, NULL, key, NULL) ||
	    !EVP_DecryptInit_ex(dec[0], ciph, NULL, key, NULL) ||
	    !EVP_DecryptInit_ex(dec[1], ciph, NULL, key, NULL))
		die("GCM set-up bench init");
	gcm_open_ready(dec[GCM_FIXED_IV]);
	if (!gcm_seal(enc, GCM_REINIT, iv, aad, sealed, LEN))
		die("GCM seal");
	for (int r = 0; r < ROUNDS; r++) {
		for (int how = 0; how < 2; how++) {
			double t0 = now_ns();

			for (int i = 0; i < COUNT; i++)
				if (!gcm_seal(enc, how, iv, aad, buf, LEN))
					die("GCM seal");
			best[how][0] = fmin(best[how][0], (now_ns() - t0) / COUNT);
			t0 = now_ns();
			for (int i = 0; i < COUNT; i++)
				if (!gcm_open(dec[how], how, iv, aad, sealed, buf, LEN))
					die("GCM open");
			best[how][1] = fmin(best[how][1], (now_ns() - t0) / COUNT);
		}
	}
	printf("GCM per packet, 1400 B AES-128: seal re-init %.1f ns, fixed/invocation IV %.1f ns (%+.0f%%); "
	       "open re-init %.1f ns, fixed/invocation IV %.1f ns (%+.0f%%)\n",
	       best[0][0], best[1][0], 100 * (best[1][0] / best[0][0] - 1), best[0][1], best[1][1],
	       100 * (best[1][1] / best[0][1] - 1));
	EVP_CIPHER_free(ciph);
	EVP_CIPHER_CTX_free(enc);
	EVP_CIPHER_CTX_free(dec[0]);
	EVP_CIPHER_CTX_free(dec[1]);
}

/* The in-place ESP path with its default AES-GCM code (ipsec-mb where
 * built in and the CPU suits it) against the same with TR_ESP_F_OPENSSL,
 * interleaved. */
static void gcm_backends(void)
{
	static const uint32_t sizes[] = { 64, 1400, 9000 };
	struct bench d, o;

	setup(&d, TR_ESP_AES128_GCM, 64);
	printf("\nAES-128-GCM ESP in place, default code (%s) vs OpenSSL (TR_ESP_F_OPENSSL), ns per packet\n",
	       tr_esp_sa_crypto(d.out));
	teardown(&d);
	printf("%5s | %10s %10s %7s | %10s %10s %7s\n", "bytes", "encap dflt", "openssl", "ratio",
	       "decap dflt", "openssl", "ratio");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		double ed = 1e18, eo = 1e18, dd = 1e18, dO = 1e18;

		setup(&d, TR_ESP_AES128_GCM, sizes[s]);
		setup_flags(&o, TR_ESP_AES128_GCM, sizes[s], TR_ESP_F_OPENSSL);
		for (int r = 0; r < ROUNDS; r++) {
			double q = target_ns / ROUNDS / 2;

			ed = fmin(ed, burst(&d, encap_inplace, 0, 0, q));
			eo = fmin(eo, burst(&o, encap_inplace, 0, 0, q));
			dd = fmin(dd, burst(&d, decap_inplace, 1, 0, q));
			dO = fmin(dO, burst(&o, decap_inplace, 1, 0, q));
		}
		printf("%5u | %10.1f %10.1f %6.2fx | %10.1f %10.1f %6.2fx\n", sizes[s], ed, eo, eo / ed, dd,
		       dO, dO / dd);
		teardown(&d);
		teardown(&o);
	}
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 64, 512, 1400, 8192, 9000 };
	static const enum tr_esp_cipher ciphers[] = {
		TR_ESP_AES128_GCM, TR_ESP_AES256_GCM, TR_ESP_AES128_CBC_SHA1, TR_ESP_AES256_CBC_SHA256,
	};

	if (argc > 1 && !strcmp(argv[1], "--quick"))
		target_ns = 10e6;
	printf("ESP codec, thread CPU ns per packet (best of %d interleaved bursts), Gbit/s of inner bytes; %s\n", ROUNDS,
	       OpenSSL_version(OPENSSL_VERSION));
	printf("in-place = ESP in the slot's own head/tail room, AES-GCM by the default code (see the\n"
	       "table after this one); copy = memcpy into a roomy buffer first;\n"
	       "raw = OpenSSL EVP alone on the same bytes (GCM seal/open, or CBC + HMAC via EVP_MAC)\n\n");
	printf("%-18s %5s | %-27s %8s %8s %7s %7s | %-27s %8s %8s %7s %7s\n", "cipher", "bytes",
	       "encap in-place ns (Gbit/s)", "copy ns", "raw ns", "in/raw", "cp/in",
	       "decap in-place ns (Gbit/s)", "copy ns", "raw ns", "in/raw", "cp/in");
	for (size_t k = 0; k < sizeof(ciphers) / sizeof(ciphers[0]); k++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct bench b;
			double e_in, e_cp, e_raw, d_in, d_cp, d_raw;
			char e_col[32], d_col[32];

			setup(&b, ciphers[k], sizes[s]);
			e_in = e_cp = e_raw = d_in = d_cp = d_raw = 1e18;
			/* Interleaved, so that load from other processes on a
			 * shared machine hits all six alike. */
			for (int r = 0; r < ROUNDS; r++) {
				double q = target_ns / ROUNDS;

				e_in = fmin(e_in, burst(&b, encap_inplace, 0, 0, q));
				e_cp = fmin(e_cp, burst(&b, encap_copy, 0, 0, q));
				e_raw = fmin(e_raw, burst(&b, seal_raw, 0, 0, q));
				d_in = fmin(d_in, burst(&b, decap_inplace, 1, 0, q));
				d_cp = fmin(d_cp, burst(&b, decap_copy, 1, 1, q));
				prepare_raw_open(&b);
				d_raw = fmin(d_raw, burst(&b, open_raw, 0, 0, q));
			}
			snprintf(e_col, sizeof(e_col), "%8.1f (%6.2f)", e_in, gbps(sizes[s], e_in));
			snprintf(d_col, sizeof(d_col), "%8.1f (%6.2f)", d_in, gbps(sizes[s], d_in));
			/* in/raw: in-place throughput as a share of the EVP
			 * ceiling; cp/in: how much longer the copy path takes */
			printf("%-18s %5u | %-27s %8.1f %8.1f %6.0f%% %6.2fx | %-27s %8.1f %8.1f %6.0f%% %6.2fx\n",
			       tr_esp_cipher_name(ciphers[k]), sizes[s], e_col, e_cp, e_raw,
			       100 * e_raw / e_in, e_cp / e_in, d_col, d_cp, d_raw,
			       100 * d_raw / d_in, d_cp / d_in);
			fflush(stdout);
			teardown(&b);
		}
	}
	gcm_backends();
	iv_costs();
	gcm_setup_costs();
	return 0;
}
