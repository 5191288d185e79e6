/* SPDX-License-Identifier: MIT */
/*
 * What the config and CLI need to know about each ESP cipher suite: its name,
 * key lengths and the exact bytes it adds on the wire. The enum is the
 * codec's (tunroom/esp.h); test_config checks that both agree on key lengths.
 */
#ifndef TR_CLI_CIPHER_H
#define TR_CLI_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#include "tunroom/esp.h"

#define TR_CIPHER_COUNT 4

struct tr_cipher_info {
	const char *name;     /* as written in the config: aes128-gcm ... */
	uint8_t key_len;      /* OutKey/InKey bytes; GCM: AES key + 4-byte salt */
	uint8_t auth_key_len; /* OutAuthKey/InAuthKey bytes; 0 for GCM */
	uint8_t iv_len;       /* explicit IV on the wire */
	uint8_t icv_len;      /* integrity check value on the wire */
	uint8_t align;        /* ciphertext is a multiple of this */
};

/* NULL for a value outside the enum. */
const struct tr_cipher_info *tr_cipher_info(enum tr_esp_cipher c);
/* Case-insensitive lookup by name; 0 or -EINVAL. */
int tr_cipher_lookup(const char *name, enum tr_esp_cipher *out);
/* "aes128-gcm | aes256-gcm | ..." for messages. */
const char *tr_cipher_names(void);

#endif
