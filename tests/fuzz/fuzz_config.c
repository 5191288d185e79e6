/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the config parser (src/config/). Properties: any bytes end in
 * success or in one message starting "fuzz.conf:LINE: "; a success satisfies
 * what tr_tunnel_run relies on (name usable as a device, key lengths those of
 * the cipher, MTU in range, families matching, SPIs outside 0..255).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[TR_CONFIG_ERR_MAX];
	struct tr_config cfg;

	if (size > 64 * 1024)
		return 0;
	err[0] = '\0';
	if (tr_config_parse(&cfg, "fuzz.conf", (const char *)data, size, err, sizeof(err))) {
		if (strncmp(err, "fuzz.conf:", 10) || strlen(err) >= sizeof(err))
			abort();
		return 0;
	}
	uint32_t key_len = tr_esp_key_len(cfg.cipher), auth_len = tr_esp_auth_key_len(cfg.cipher);
	if (!key_len || !tr_config_name_ok(cfg.name) || cfg.mtu < TR_CONFIG_MTU_MIN ||
	    cfg.out.key_len != key_len || cfg.in.key_len != key_len ||
	    cfg.out.auth_key_len != auth_len || cfg.in.auth_key_len != auth_len ||
	    cfg.out.spi < 256 || cfg.in.spi < 256 || cfg.out.spi == cfg.in.spi ||
	    cfg.listen.sa.sa_family != cfg.endpoint.sa.sa_family || cfg.n_addr > TR_CONFIG_ADDR_MAX ||
	    cfg.replay_window < TR_CONFIG_REPLAY_MIN || cfg.replay_window > TR_CONFIG_REPLAY_MAX)
		abort();
	tr_config_wipe(&cfg);
	return 0;
}
