/* SPDX-License-Identifier: MIT */
/*
 * Facts derived from a parsed config: cipher names, what ESP-in-UDP adds and
 * the MTU that leaves, the codec's view of each SA, and wiping the keys.
 */
#include <errno.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "config/config.h"

uint32_t tr_config_overhead(enum tr_esp_cipher c, int outer_family, uint32_t inner_len)
{
	uint32_t ip = outer_family == AF_INET6 ? 40 : 20;

	/* RFC 3948 §2.1: UDP 8. */
	return ip + 8 + tr_esp_encap_len(c, inner_len);
}

uint32_t tr_config_mtu_for(enum tr_esp_cipher c, int outer_family, uint32_t outer_mtu)
{
	uint32_t fixed = (outer_family == AF_INET6 ? 40 : 20) + 8;

	return outer_mtu > fixed ? tr_esp_inner_max(c, outer_mtu - fixed) : 0;
}

/* Config files and the command line take cipher names in any case. */
int tr_config_cipher_parse(const char *name, enum tr_esp_cipher *out)
{
	const char *n;

	for (unsigned c = 0; (n = tr_esp_cipher_name((enum tr_esp_cipher)c)); c++) {
		if (!strcasecmp(name, n)) {
			*out = (enum tr_esp_cipher)c;
			return 0;
		}
	}
	return -EINVAL;
}

const char *tr_config_cipher_names(void)
{
	return "aes128-gcm, aes256-gcm, aes128-cbc-sha1, aes256-cbc-sha256";
}

/* ---- one parser per key ---- */

void tr_config_sa(const struct tr_config *cfg, bool inbound, struct tr_esp_sa_config *out)
{
	const struct tr_config_sa_dir *d = inbound ? &cfg->in : &cfg->out;

	*out = (struct tr_esp_sa_config){
		.cipher = cfg->cipher,
		.spi = d->spi,
		.key = d->key,
		.key_len = (uint32_t)d->key_len,
		.auth_key = d->auth_key_len ? d->auth_key : NULL,
		.auth_key_len = (uint32_t)d->auth_key_len,
		.replay_window = cfg->replay_window,
		.flags = (cfg->esn ? TR_ESP_F_ESN : 0) | (cfg->crypto_openssl ? TR_ESP_F_OPENSSL : 0),
	};
}

void tr_config_wipe(struct tr_config *cfg)
{
	OPENSSL_cleanse(&cfg->out, sizeof(cfg->out));
	OPENSSL_cleanse(&cfg->in, sizeof(cfg->in));
}

