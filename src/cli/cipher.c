/* SPDX-License-Identifier: MIT */
/* The cipher table behind cipher.h. */
#include <errno.h>
#include <strings.h>

#include "cli/cipher.h"

/*
 * AES-GCM: 8-byte IV, 16-byte ICV, 4-byte salt after the key (RFC 4106 §3.1,
 * §8.1), ciphertext padded to 4 bytes (RFC 4303 §2.4). AES-CBC: 16-byte IV and
 * block (RFC 3602 §3), HMAC-SHA1-96 key 20 / ICV 12 (RFC 2404 §3),
 * HMAC-SHA-256-128 key 32 / ICV 16 (RFC 4868 §2.1.1).
 */
static const struct tr_cipher_info table[TR_CIPHER_COUNT] = {
	[TR_ESP_AES128_GCM]        = { "aes128-gcm",        16 + 4, 0,  8,  16, 4 },
	[TR_ESP_AES256_GCM]        = { "aes256-gcm",        32 + 4, 0,  8,  16, 4 },
	[TR_ESP_AES128_CBC_SHA1]   = { "aes128-cbc-sha1",   16,     20, 16, 12, 16 },
	[TR_ESP_AES256_CBC_SHA256] = { "aes256-cbc-sha256", 32,     32, 16, 16, 16 },
};

const struct tr_cipher_info *tr_cipher_info(enum tr_esp_cipher c)
{
	if ((unsigned)c >= TR_CIPHER_COUNT)
		return NULL;
	return &table[c];
}

int tr_cipher_lookup(const char *name, enum tr_esp_cipher *out)
{
	for (unsigned i = 0; i < TR_CIPHER_COUNT; i++) {
		if (!strcasecmp(name, table[i].name)) {
			*out = (enum tr_esp_cipher)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *tr_cipher_names(void)
{
	return "aes128-gcm, aes256-gcm, aes128-cbc-sha1, aes256-cbc-sha256";
}
