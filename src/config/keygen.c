/* SPDX-License-Identifier: MIT */
/* Fresh random SPIs and keys as config lines: what `tunroom genkey` prints. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "config/config.h"

static int hex_line(char *buf, size_t len, size_t *used, const char *key, size_t n)
{
	uint8_t bytes[TR_CONFIG_KEY_MAX];
	int w;

	if (RAND_bytes(bytes, (int)n) != 1)
		return -EIO;
	w = snprintf(buf + *used, len - *used, "%s = 0x", key);
	for (size_t i = 0; w > 0 && i < n; i++)
		w += snprintf(buf + *used + w, len - *used - (size_t)w, "%02x", bytes[i]);
	OPENSSL_cleanse(bytes, sizeof(bytes));
	if (w < 0 || (size_t)w + 2 > len - *used)
		return -EMSGSIZE;
	buf[*used + (size_t)w] = '\n';
	buf[*used + (size_t)w + 1] = '\0';
	*used += (size_t)w + 1;
	return 0;
}

static int random_spi(uint32_t *spi, uint32_t other)
{
	do {
		if (RAND_bytes((unsigned char *)spi, sizeof(*spi)) != 1)
			return -EIO;
	} while (*spi < 256 || *spi == other); /* RFC 4303 §2.1 reserves 0..255 */
	return 0;
}

int tr_config_genkey(enum tr_esp_cipher c, char *buf, size_t len)
{
	const char *name = tr_esp_cipher_name(c);
	uint32_t key_len = tr_esp_key_len(c), auth_len = tr_esp_auth_key_len(c);
	uint32_t out_spi, in_spi = 0;
	size_t used = 0;
	int r, w;

	if (!name)
		return -EINVAL;
	if ((r = random_spi(&out_spi, 0)) || (r = random_spi(&in_spi, out_spi)))
		return r;
	w = snprintf(buf, len,
		     "# %s keys from 'tunroom genkey', for [SA] on this side. The peer takes\n"
		     "# the same lines with In and Out swapped (its OutSPI is our InSPI, ...).\n"
		     "Cipher = %s\nOutSPI = 0x%08x\n", name, name, out_spi);
	if (w < 0 || (size_t)w >= len)
		return -EMSGSIZE;
	used = (size_t)w;
	if ((r = hex_line(buf, len, &used, "OutKey", key_len)))
		goto fail;
	if (auth_len && (r = hex_line(buf, len, &used, "OutAuthKey", auth_len)))
		goto fail;
	w = snprintf(buf + used, len - used, "InSPI = 0x%08x\n", in_spi);
	if (w < 0 || (size_t)w >= len - used) {
		r = -EMSGSIZE;
		goto fail;
	}
	used += (size_t)w;
	if ((r = hex_line(buf, len, &used, "InKey", key_len)))
		goto fail;
	if (auth_len && (r = hex_line(buf, len, &used, "InAuthKey", auth_len)))
		goto fail;
	return (int)used;
fail:
	OPENSSL_cleanse(buf, len);
	return r;
}
