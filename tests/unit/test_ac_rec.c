/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect record layer (src/anyconnect/rec.c) against GnuTLS itself:
 * a GnuTLS pair shakes hands over a socketpair, we take the client's keys
 * with tr_ac_keys_from_gnutls, and then what we seal must come out of the
 * GnuTLS server's gnutls_record_recv, and what it sends must open here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "anyconnect/rec.h"
#include "gnutls_pair.h"

#define ROOM 64

static void fill(uint8_t *b, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + seed);
}

/* Our seal -> GnuTLS recv, n records of growing sizes. */
static void dtls_to_gnutls(struct gt_pair *p, struct tr_ac_aead *tx, int n)
{
	static uint8_t buf[ROOM + 2000 + ROOM], want[2000], got[2100];

	for (int i = 0; i < n; i++) {
		uint32_t len = 1 + (uint32_t)(i * 37) % 1400;
		struct tr_pkt pkt;

		assert_int_equal(tr_pkt_init(&pkt, buf, sizeof(buf), ROOM, len), 0);
		fill(tr_pkt_data(&pkt), len, (uint32_t)i);
		memcpy(want, tr_pkt_data(&pkt), len);
		assert_int_equal(tr_ac_dtls_seal(tx, &pkt, TR_AC_DATA), 0);
		assert_int_equal(pkt.len, len + tr_ac_dtls_head(tx) + 1 + TR_AC_TAG);
		assert_int_equal(write(p->cfd, tr_pkt_data(&pkt), pkt.len), (ssize_t)pkt.len);
		ssize_t r = gt_recv(p->s, got, sizeof(got));
		assert_int_equal(r, (ssize_t)len + 1);
		assert_int_equal(got[0], TR_AC_DATA);
		assert_memory_equal(got + 1, want, len);
		if (i == 0) {
			/* The same datagram again: GnuTLS's window drops it. */
			assert_int_equal(write(p->cfd, tr_pkt_data(&pkt), pkt.len), (ssize_t)pkt.len);
			assert_int_equal(gnutls_record_recv(p->s, got, sizeof(got)), GNUTLS_E_AGAIN);
		}
	}
}

/* GnuTLS send -> our open; replays, a flipped bit, another epoch refused. */
static void gnutls_to_dtls(struct gt_pair *p, struct tr_ac_aead *rx, int n)
{
	static uint8_t want[2000], dgram[2100], copy[2100];

	for (int i = 0; i < n; i++) {
		uint32_t len = 2 + (uint32_t)(i * 53) % 1400;
		struct tr_pkt pkt;
		uint8_t ct;

		want[0] = TR_AC_DATA;
		fill(want + 1, len - 1, (uint32_t)i + 100);
		assert_int_equal(gnutls_record_send(p->s, want, len), (ssize_t)len);
		ssize_t r = read(p->cfd, dgram, sizeof(dgram));
		assert_true(r > 0);
		memcpy(copy, dgram, (size_t)r);
		if (i == 1) {
			/* A flipped ciphertext bit fails the tag and leaves the
			 * window alone: the genuine record still opens. */
			copy[r - 20] ^= 1;
			assert_int_equal(tr_pkt_init(&pkt, copy, (uint32_t)r, 0, (uint32_t)r), 0);
			assert_int_equal(tr_ac_dtls_open(rx, &pkt, &ct), -EBADMSG);
			memcpy(copy, dgram, (size_t)r);
			copy[4] ^= 1; /* epoch */
			assert_int_equal(tr_pkt_init(&pkt, copy, (uint32_t)r, 0, (uint32_t)r), 0);
			assert_int_equal(tr_ac_dtls_open(rx, &pkt, &ct), -ESTALE);
			memcpy(copy, dgram, (size_t)r);
			assert_int_equal(tr_pkt_init(&pkt, copy, (uint32_t)r - 1, 0, (uint32_t)r - 1), 0);
			assert_int_equal(tr_ac_dtls_open(rx, &pkt, &ct), -EPROTO);
			memcpy(copy, dgram, (size_t)r);
		}
		assert_int_equal(tr_pkt_init(&pkt, dgram, (uint32_t)r, 0, (uint32_t)r), 0);
		assert_int_equal(tr_ac_dtls_open(rx, &pkt, &ct), 0);
		assert_int_equal(ct, TR_AC_CT_APP);
		assert_int_equal(pkt.len, len);
		assert_memory_equal(tr_pkt_data(&pkt), want, len);
		/* In place: the plaintext sits where the ciphertext was. */
		assert_ptr_equal(tr_pkt_data(&pkt), dgram + tr_ac_dtls_head(rx));
		assert_int_equal(tr_pkt_init(&pkt, copy, (uint32_t)r, 0, (uint32_t)r), 0);
		assert_int_equal(tr_ac_dtls_open(rx, &pkt, &ct), -EALREADY);
	}
}

static void dtls_roundtrip_flags(const char *cipher, uint8_t want_cipher, unsigned flags)
{
	struct gt_pair p;
	struct tr_ac_rec_keys ktx, krx;
	struct tr_ac_aead tx, rx;

	assert_int_equal(gt_pair_open(&p, cipher, 1), 0);
	assert_int_equal(tr_ac_keys_from_gnutls(p.c, &ktx, &krx), 0);
	assert_int_equal(ktx.version, TR_AC_VERSION_DTLS12);
	assert_int_equal(ktx.cipher, want_cipher);
	/* Right after the handshake: epoch 1, Finished was seq 0. */
	assert_int_equal(ktx.epoch, 1);
	assert_int_equal(ktx.seq, 1);
	assert_int_equal(krx.epoch, 1);
	assert_int_equal(krx.seq, 1);
	assert_int_equal(tr_ac_aead_init(&tx, &ktx, true, flags), 0);
	assert_int_equal(tr_ac_aead_init(&rx, &krx, false, flags), 0);
	/* --crypto openssl: OpenSSL seals and opens, whatever else is built in. */
	if (flags & TR_AC_AEAD_F_OPENSSL) {
		assert_int_equal(strncmp(tr_ac_aead_impl(&tx), "openssl", 7), 0);
		assert_int_equal(strncmp(tr_ac_aead_impl(&rx), "openssl", 7), 0);
	}
	dtls_to_gnutls(&p, &tx, 50);
	gnutls_to_dtls(&p, &rx, 50);
	assert_int_equal(tx.seq, 51);
	tr_ac_aead_free(&tx);
	tr_ac_aead_free(&rx);
	gt_pair_close(&p);
}

static void dtls_roundtrip(const char *cipher, uint8_t want_cipher)
{
	dtls_roundtrip_flags(cipher, want_cipher, 0);
}

static void test_dtls_aes256(void **st)
{
	(void)st;
	dtls_roundtrip(GT_DTLS_PRIO("AES-256-GCM"), TR_AC_CIPHER_AES_256_GCM);
}

/* OpenSSL forced where ipsec-mb would seal: GnuTLS still reads every record. */
static void test_dtls_openssl(void **st)
{
	(void)st;
	dtls_roundtrip_flags(GT_DTLS_PRIO("AES-128-GCM"), TR_AC_CIPHER_AES_128_GCM,
			     TR_AC_AEAD_F_OPENSSL);
	dtls_roundtrip_flags(GT_DTLS_PRIO("AES-256-GCM"), TR_AC_CIPHER_AES_256_GCM,
			     TR_AC_AEAD_F_OPENSSL);
}

static void test_dtls_aes128(void **st)
{
	(void)st;
	dtls_roundtrip(GT_DTLS_PRIO("AES-128-GCM"), TR_AC_CIPHER_AES_128_GCM);
}

static void test_dtls_chacha(void **st)
{
	(void)st;
	dtls_roundtrip(GT_DTLS_PRIO("CHACHA20-POLY1305"), TR_AC_CIPHER_CHACHA20_POLY1305);
}

/* Reads one whole TLS record from the stream (blocking briefly). */
static uint32_t read_record(int fd, uint8_t *buf, uint32_t cap)
{
	uint32_t have = 0, need = TR_AC_TLS_HDR;

	for (int i = 0; i < 2000 && have < need; i++) {
		ssize_t r = read(fd, buf + have, need - have);
		if (r > 0) {
			have += (uint32_t)r;
			if (have == TR_AC_TLS_HDR)
				need = TR_AC_TLS_HDR + (uint32_t)(buf[3] << 8 | buf[4]);
			assert_true(need <= cap);
		} else {
			usleep(500);
		}
	}
	assert_int_equal(have, need);
	return have;
}

static void tls_roundtrip(const char *prio, uint16_t want_version, uint8_t want_cipher, int cert)
{
	static uint8_t buf[ROOM + 17000 + ROOM], want[17000], got[17000], rec[17000 + 300];
	struct gt_pair p;
	struct tr_ac_rec_keys ktx, krx;
	struct tr_ac_aead tx, rx;

	assert_int_equal(gt_pair_open2(&p, prio, 0, cert), 0);
	assert_int_equal(tr_ac_keys_from_gnutls(p.c, &ktx, &krx), 0);
	assert_int_equal(ktx.version, want_version);
	assert_int_equal(ktx.cipher, want_cipher);
	assert_int_equal(tr_ac_aead_init(&tx, &ktx, true, 0), 0);
	assert_int_equal(tr_ac_aead_init(&rx, &krx, false, 0), 0);
	for (int i = 0; i < 40; i++) {
		uint32_t len = i == 37 ? 16384 : 1 + (uint32_t)(i * 101) % 3000;
		struct tr_pkt pkt;

		/* ours -> GnuTLS */
		assert_int_equal(tr_pkt_init(&pkt, buf, sizeof(buf), ROOM, len), 0);
		fill(tr_pkt_data(&pkt), len, (uint32_t)i);
		memcpy(want, tr_pkt_data(&pkt), len);
		assert_int_equal(tr_ac_tls_seal(&tx, &pkt, TR_AC_CT_APP), 0);
		assert_int_equal(pkt.len, len + tr_ac_tls_head(&tx) + tr_ac_rec_tail(&tx));
		assert_int_equal(write(p.cfd, tr_pkt_data(&pkt), pkt.len), (ssize_t)pkt.len);
		assert_int_equal(gt_recv(p.s, got, sizeof(got)), (ssize_t)len);
		assert_memory_equal(got, want, len);

		/* GnuTLS -> ours, opened in three pieces to three places */
		fill(want, len, (uint32_t)i + 50);
		assert_int_equal(gnutls_record_send(p.s, want, len), (ssize_t)len);
		uint32_t n = read_record(p.cfd, rec, sizeof(rec)), rl, pl;
		assert_int_equal(tr_ac_tls_hdr(&rx, rec, &rl, &pl), 0);
		assert_int_equal(rl, n);
		assert_int_equal(pl, len + (want_version == TR_AC_VERSION_TLS13 ? 1 : 0));
		const uint8_t *ct = rec + tr_ac_tls_ct_off(&rx);
		uint32_t a = pl < 8 ? pl : 8;
		if (i == 39)
			rec[rl - 1] ^= 1; /* a flipped tag bit */
		assert_int_equal(tr_ac_tls_open_begin(&rx, rec, rl), 0);
		assert_int_equal(tr_ac_tls_open_part(&rx, ct, got, a), 0);
		assert_int_equal(tr_ac_tls_open_part(&rx, ct + a, got + 100, pl - a), 0);
		if (i == 39) {
			/* Refused, sequence number unmoved (a TLS stream is then dead). */
			uint64_t seq = rx.seq;
			assert_int_equal(tr_ac_tls_open_end(&rx, rec, rl), -EBADMSG);
			assert_int_equal(rx.seq, seq);
			break;
		}
		assert_int_equal(tr_ac_tls_open_end(&rx, rec, rl), 0);
		/* Plaintext = want (|| inner type 23 under 1.3), split at a. */
		memmove(got + a, got + 100, pl - a);
		assert_memory_equal(got, want, len);
		if (want_version == TR_AC_VERSION_TLS13)
			assert_int_equal(got[len], TR_AC_CT_APP);
	}
	tr_ac_aead_free(&tx);
	tr_ac_aead_free(&rx);
	gt_pair_close(&p);
}

static void test_tls12_aes256(void **st)
{
	(void)st;
	tls_roundtrip(GT_TLS12_PRIO("AES-256-GCM"), TR_AC_VERSION_TLS12, TR_AC_CIPHER_AES_256_GCM, 0);
}

static void test_tls12_aes128(void **st)
{
	(void)st;
	tls_roundtrip(GT_TLS12_PRIO("AES-128-GCM"), TR_AC_VERSION_TLS12, TR_AC_CIPHER_AES_128_GCM, 0);
}

static void test_tls12_chacha(void **st)
{
	(void)st;
	tls_roundtrip(GT_TLS12_PRIO("CHACHA20-POLY1305"), TR_AC_VERSION_TLS12,
		      TR_AC_CIPHER_CHACHA20_POLY1305, 0);
}

static void test_tls13_aes256(void **st)
{
	(void)st;
	/* A PSK binds TLS 1.3 to SHA-256, so AES-256-GCM-SHA384 needs a certificate,
	 * as with ocserv. */
	tls_roundtrip(GT_TLS13_CERT_PRIO("AES-256-GCM"), TR_AC_VERSION_TLS13, TR_AC_CIPHER_AES_256_GCM, 1);
}

static void test_tls13_aes128(void **st)
{
	(void)st;
	tls_roundtrip(GT_TLS13_PRIO("AES-128-GCM"), TR_AC_VERSION_TLS13, TR_AC_CIPHER_AES_128_GCM, 0);
}

static void test_tls13_chacha(void **st)
{
	(void)st;
	tls_roundtrip(GT_TLS13_PRIO("CHACHA20-POLY1305"), TR_AC_VERSION_TLS13,
		      TR_AC_CIPHER_CHACHA20_POLY1305, 0);
}

/* Keys that do not fit the cipher, or a version we do not do, are refused. */
static void test_bad_keys(void **st)
{
	struct tr_ac_rec_keys k = { .version = TR_AC_VERSION_DTLS12,
				    .cipher = TR_AC_CIPHER_AES_256_GCM, .key_len = 16, .iv_len = 4 };
	struct tr_ac_aead a;

	(void)st;
	assert_int_equal(tr_ac_aead_init(&a, &k, true, 0), -EINVAL);
	k.key_len = 32;
	k.iv_len = 12;
	assert_int_equal(tr_ac_aead_init(&a, &k, true, 0), -EINVAL);
	k.iv_len = 4;
	k.version = 0x0302;
	assert_int_equal(tr_ac_aead_init(&a, &k, true, 0), -ENOTSUP);
	k.version = TR_AC_VERSION_DTLS12;
	k.cipher = 9;
	assert_int_equal(tr_ac_aead_init(&a, &k, true, 0), -ENOTSUP);
	k.cipher = TR_AC_CIPHER_AES_256_GCM;
	k.seq = 1ull << 48;
	assert_int_equal(tr_ac_aead_init(&a, &k, true, 0), -EINVAL);
	/* Sequence numbers used up: refuse rather than reuse a nonce. */
	k.seq = (1ull << 48) - 1;
	assert_int_equal(tr_ac_aead_init(&a, &k, true, 0x80), -EINVAL); /* unknown flag */
	assert_int_equal(tr_ac_aead_init(&a, &k, true, 0), 0);
	uint8_t buf[ROOM + 100 + ROOM];
	struct tr_pkt pkt;
	assert_int_equal(tr_pkt_init(&pkt, buf, sizeof(buf), ROOM, 100), 0);
	assert_int_equal(tr_ac_dtls_seal(&a, &pkt, 0), 0);
	assert_int_equal(tr_pkt_init(&pkt, buf, sizeof(buf), ROOM, 100), 0);
	assert_int_equal(tr_ac_dtls_seal(&a, &pkt, 0), -ERANGE);
	/* Too little room: the view is left alone. */
	assert_int_equal(tr_pkt_init(&pkt, buf, sizeof(buf), 10, 100), 0);
	a.seq = 5;
	assert_int_equal(tr_ac_dtls_seal(&a, &pkt, 0), -EMSGSIZE);
	assert_int_equal(pkt.off, 10);
	tr_ac_aead_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dtls_aes256),
		cmocka_unit_test(test_dtls_aes128),
		cmocka_unit_test(test_dtls_openssl),
		cmocka_unit_test(test_dtls_chacha),
		cmocka_unit_test(test_tls12_aes256),
		cmocka_unit_test(test_tls12_aes128),
		cmocka_unit_test(test_tls12_chacha),
		cmocka_unit_test(test_tls13_aes256),
		cmocka_unit_test(test_tls13_aes128),
		cmocka_unit_test(test_tls13_chacha),
		cmocka_unit_test(test_bad_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
