/* SPDX-License-Identifier: MIT */
/*
 * AES-GCM wrapper (codec/aead.h): the published GCM test cases (McGrew and
 * Viega, "The Galois/Counter Mode of Operation", Appendix B) through every
 * path: ipsec-mb where built in, direct provider calls and EVP; every
 * damaged input refused; the paths agree at every length; bad arguments
 * refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "codec/aead.h"

/* Each way a context can be made: the default (ipsec-mb where built in and
 * the CPU has AVX2, else OpenSSL direct), OpenSSL direct, EVP. */
static const unsigned modes[] = { 0, TR_AEAD_F_OPENSSL, TR_AEAD_F_EVP };
#define N_MODES (sizeof(modes) / sizeof(modes[0]))

/* What the default must pick: a build with ipsec-mb that quietly fell back
 * to OpenSSL (a failed self-test) would cost every packet. */
static const char *default_impl(void)
{
#ifdef TR_HAVE_IPSEC_MB
	/* What ipsec-mb's AVX2 code needs (IMB_CPUFLAGS_AVX2): AVX2 alone
	 * is not enough, a VM may hide AES-NI. */
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
	    __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul"))
		return "ipsec-mb";
#endif
	return "openssl";
}

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; s[0] && s[1]; s += 2) {
		unsigned v;

		assert_int_equal(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

struct kat {
	enum tr_aead_alg alg;
	const char *key, *iv, *aad, *pt, *ct, *tag;
};

#define P60 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
static const struct kat kats[] = {
	/* Test Case 1: no plaintext, no AAD */
	{ TR_AEAD_AES128_GCM, "00000000000000000000000000000000", "000000000000000000000000", "",
	  "", "", "58e2fccefa7e3061367f1d57a4e7455a" },
	/* Test Case 2 */
	{ TR_AEAD_AES128_GCM, "00000000000000000000000000000000", "000000000000000000000000", "",
	  "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78",
	  "ab6e47d42cec13bdf53a67b21257bddf" },
	/* Test Case 4: AAD, a partial last block */
	{ TR_AEAD_AES128_GCM, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	  "feedfacedeadbeeffeedfacedeadbeefabaddad2", P60,
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	  "5bc94fbc3221a5db94fae95ae7121a47" },
	/* Test Case 16: AES-256, same AAD and plaintext */
	{ TR_AEAD_AES256_GCM, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", P60,
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static void known_answers(void **state)
{
	(void)state;
	for (size_t m = 0; m < N_MODES; m++) {
		unsigned flags = modes[m];

		for (size_t k = 0; k < sizeof(kats) / sizeof(kats[0]); k++) {
			const struct kat *v = &kats[k];
			uint8_t key[32], iv[12], aad[32], pt[64], want[64], tag[16], buf[64], got[16];
			size_t key_len = unhex(v->key, key), aad_len = unhex(v->aad, aad);
			size_t len = unhex(v->pt, pt);
			struct tr_aead *a;

			unhex(v->iv, iv);
			assert_int_equal(unhex(v->ct, want), len);
			unhex(v->tag, tag);
			assert_int_equal(tr_aead_new(&a, v->alg, key, key_len, flags), 0);
			/* The fast paths are the point of this file: on a stock
			 * OpenSSL 3 the direct one must be found, and ipsec-mb
			 * taken where built in, or every packet pays. */
			assert_int_equal(tr_aead_is_direct(a), flags == TR_AEAD_F_OPENSSL ||
				(!flags && !strcmp(default_impl(), "openssl")));
			if (!flags)
				assert_int_equal(strncmp(tr_aead_impl(a), default_impl(),
							 strlen(default_impl())), 0);

			memcpy(buf, pt, len);
			assert_int_equal(tr_aead_seal(a, iv, aad_len ? aad : NULL, aad_len, buf, len, got), 0);
			assert_memory_equal(buf, want, len);
			assert_memory_equal(got, tag, 16);
			/* sealing twice with the same nonce gives the same bytes:
			 * the nonce really moved in, the key stayed */
			memcpy(buf, pt, len);
			assert_int_equal(tr_aead_seal(a, iv, aad_len ? aad : NULL, aad_len, buf, len, got), 0);
			assert_memory_equal(got, tag, 16);

			assert_int_equal(tr_aead_open(a, iv, aad_len ? aad : NULL, aad_len, buf, len, tag), 0);
			assert_memory_equal(buf, pt, len);
			tr_aead_free(a);
		}
	}
}

/* A flipped bit anywhere (nonce, AAD, ciphertext, tag) fails the tag. */
static void damaged(void **state)
{
	uint8_t key[16] = { 1, 2, 3 }, nonce[12] = { 9 }, aad[8] = { 7 }, pt[100], ct[100], tag[16];
	uint8_t n2[12], a2[8], b2[100], t2[16];

	(void)state;
	for (int i = 0; i < 100; i++)
		pt[i] = (uint8_t)(i * 3);
	for (size_t m = 0; m < N_MODES; m++) {
		struct tr_aead *a;

		assert_int_equal(tr_aead_new(&a, TR_AEAD_AES128_GCM, key, 16, modes[m]), 0);
		memcpy(ct, pt, sizeof(pt));
		assert_int_equal(tr_aead_seal(a, nonce, aad, 8, ct, sizeof(ct), tag), 0);
		for (int where = 0; where < 4; where++) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(n2, nonce, 12);
				memcpy(a2, aad, 8);
				memcpy(b2, ct, 100);
				memcpy(t2, tag, 16);
				switch (where) {
				case 0: n2[11] ^= 1u << bit; break;
				case 1: a2[3] ^= 1u << bit; break;
				case 2: b2[57] ^= 1u << bit; break;
				default: t2[15] ^= 1u << bit; break;
				}
				assert_int_equal(tr_aead_open(a, n2, a2, 8, b2, 100, t2), -EACCES);
			}
		}
		/* a refusal leaves the context usable */
		memcpy(b2, ct, 100);
		assert_int_equal(tr_aead_open(a, nonce, aad, 8, b2, 100, tag), 0);
		assert_memory_equal(b2, pt, 100);
		tr_aead_free(a);
	}
}

/* The default and the direct path each agree with EVP at every length a
 * packet can have (and around the 16-byte block, the stitched AES-NI path's
 * 96-byte chunks and ipsec-mb's 256-byte and 16-block ones), up to jumbo,
 * with AAD of 0 to 20 bytes (ESP 8 or 12, DTLS 1.2 13). */
static void agree_with_evp(unsigned flags)
{
	static uint8_t x[9100], y[9100];
	uint8_t key[32], nonce[12] = { 0 }, aad[20], tx[16], ty[16];
	struct tr_aead *d, *e;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 11 + 3);
	for (int i = 0; i < 20; i++)
		aad[i] = (uint8_t)(0xa0 + i);
	for (int alg = TR_AEAD_AES128_GCM; alg <= TR_AEAD_AES256_GCM; alg++) {
		size_t kl = alg == TR_AEAD_AES128_GCM ? 16 : 32;

		assert_int_equal(tr_aead_new(&d, (enum tr_aead_alg)alg, key, kl, flags), 0);
		assert_int_equal(tr_aead_new(&e, (enum tr_aead_alg)alg, key, kl, TR_AEAD_F_EVP), 0);
		for (size_t len = 0; len <= sizeof(x); len += len < 300 ? 1 : len < 1600 ? 37 : 997) {
			for (size_t i = 0; i < len; i++)
				x[i] = y[i] = (uint8_t)(i ^ len);
			nonce[0] = (uint8_t)len;
			nonce[1] = (uint8_t)(len >> 8);
			assert_int_equal(tr_aead_seal(d, nonce, aad, len % 21, x, len, tx), 0);
			assert_int_equal(tr_aead_seal(e, nonce, aad, len % 21, y, len, ty), 0);
			assert_memory_equal(x, y, len);
			assert_memory_equal(tx, ty, 16);
			/* each opens what the other sealed */
			assert_int_equal(tr_aead_open(e, nonce, aad, len % 21, x, len, tx), 0);
			assert_int_equal(tr_aead_open(d, nonce, aad, len % 21, y, len, ty), 0);
			for (size_t i = 0; i < len; i++)
				assert_int_equal(x[i], (uint8_t)(i ^ len));
			assert_memory_equal(x, y, len);
		}
		tr_aead_free(d);
		tr_aead_free(e);
	}
}

static void paths_agree(void **state)
{
	(void)state;
	agree_with_evp(0);
	agree_with_evp(TR_AEAD_F_OPENSSL);
}

/* Ring slots can end where the mapping ends: no path may read or write a
 * byte past the data, the AAD or the tag (a vector unit's whole-block load
 * would fault here; ASan cannot see inside the assembly). Each buffer ends
 * at a page followed by an inaccessible one. */
static void stays_in_bounds(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t key[16] = { 5 }, nonce[12] = { 6 }, tag[16];

	(void)state;
	uint8_t *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
	uint8_t *end = m + pg;
	for (size_t k = 0; k < N_MODES; k++) {
		struct tr_aead *a;

		assert_int_equal(tr_aead_new(&a, TR_AEAD_AES128_GCM, key, 16, modes[k]), 0);
		for (size_t len = 0; len <= 320; len++) {
			uint8_t *buf = end - len, *aad = end - (len % 21), *t = end - 16;

			/* the data against the guard page, then the AAD, then the tag */
			memset(buf, (int)len, len);
			assert_int_equal(tr_aead_seal(a, nonce, m, len % 21, buf, len, tag), 0);
			assert_int_equal(tr_aead_open(a, nonce, m, len % 21, buf, len, tag), 0);
			memmove(m + 64, buf, len);
			assert_int_equal(tr_aead_seal(a, nonce, aad, len % 21, m + 64, len, tag), 0);
			assert_int_equal(tr_aead_open(a, nonce, aad, len % 21, m + 64, len, tag), 0);
			assert_int_equal(tr_aead_seal(a, nonce, m, len % 21, m + 64, len, t), 0);
			assert_int_equal(tr_aead_open(a, nonce, m, len % 21, m + 64, len, t), 0);
		}
		tr_aead_free(a);
	}
	munmap(m, (size_t)pg * 2);
}

static void bad_arguments(void **state)
{
	uint8_t key[32] = { 0 }, nonce[12] = { 0 }, buf[16] = { 0 }, tag[16] = { 0 };
	struct tr_aead *a = (struct tr_aead *)1;

	(void)state;
	assert_int_equal(tr_aead_new(NULL, TR_AEAD_AES128_GCM, key, 16, 0), -EINVAL);
	assert_int_equal(tr_aead_new(&a, TR_AEAD_AES128_GCM, key, 32, 0), -EINVAL);
	assert_null(a);
	assert_int_equal(tr_aead_new(&a, TR_AEAD_AES256_GCM, key, 16, 0), -EINVAL);
	assert_int_equal(tr_aead_new(&a, (enum tr_aead_alg)7, key, 16, 0), -EINVAL);
	assert_int_equal(tr_aead_new(&a, TR_AEAD_AES128_GCM, NULL, 16, 0), -EINVAL);
	assert_int_equal(tr_aead_new(&a, TR_AEAD_AES128_GCM, key, 16, 0x100), -EINVAL);
	assert_int_equal(tr_aead_new(&a, TR_AEAD_AES128_GCM, key, 16, 0), 0);
	assert_int_equal(tr_aead_seal(NULL, nonce, NULL, 0, buf, 16, tag), -EINVAL);
	assert_int_equal(tr_aead_seal(a, NULL, NULL, 0, buf, 16, tag), -EINVAL);
	assert_int_equal(tr_aead_seal(a, nonce, NULL, 4, buf, 16, tag), -EINVAL);
	assert_int_equal(tr_aead_seal(a, nonce, NULL, 0, NULL, 16, tag), -EINVAL);
	assert_int_equal(tr_aead_seal(a, nonce, NULL, 0, buf, 16, NULL), -EINVAL);
	assert_int_equal(tr_aead_open(a, nonce, NULL, 0, buf, (size_t)1 << 40, tag), -EINVAL);
	assert_int_equal(tr_aead_is_direct(NULL), 0);
	assert_string_equal(tr_aead_impl(NULL), "none");
	tr_aead_free(a);
	tr_aead_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_answers),
		cmocka_unit_test(damaged),
		cmocka_unit_test(paths_agree),
		cmocka_unit_test(stays_in_bounds),
		cmocka_unit_test(bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
