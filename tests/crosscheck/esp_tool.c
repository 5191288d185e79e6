/* SPDX-License-Identifier: MIT */
/*
 * esp_tool: a line-oriented front to tr_esp_encap/tr_esp_decap, so a second,
 * independent ESP implementation (esp_crosscheck.py) can feed it packets and
 * check what it produces.
 *
 *   esp_tool encap|decap CIPHER SPI KEYHEX AUTHKEYHEX|- esn|noesn FIRST_SEQ
 *
 * encap reads "NH HEX" lines (HEX = inner packet, "-" if empty) and prints
 * "OK HEX" (the ESP packet, SPI first); decap reads "HEX" lines and prints
 * "OK NH HEX" (HEX = inner packet, "-" if empty). Either prints "ERR -N" for
 * a negative errno. FIRST_SEQ is the first outbound sequence number (encap)
 * or the number the inbound window starts just below (decap, so the ESN high
 * half can be inferred).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/esp_int.h"
#include "tunroom/esp.h"

#define MAXPKT 16384
#define ROOM 64

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;

	if (!strcmp(s, "-")) {
		*len = 0;
		return 0;
	}
	if (strlen(s) % 2)
		return -1;
	for (; s[0]; s += 2) {
		unsigned v;

		if (n == cap || sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
	}
	*len = n;
	return 0;
}

static void puthex(const uint8_t *p, size_t n)
{
	if (!n)
		putchar('-');
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

int main(int argc, char **argv)
{
	static uint8_t key[64], akey[64], buf[ROOM + MAXPKT + ROOM];
	static char line[2 * MAXPKT + 64];
	struct tr_esp_sa_config cfg = { 0 };
	struct tr_esp_sa *sa;
	size_t key_len, akey_len = 0;
	unsigned long long first;
	int encap, err;

	if (argc != 8 || (strcmp(argv[1], "encap") && strcmp(argv[1], "decap"))) {
		fprintf(stderr, "usage: esp_tool encap|decap CIPHER SPI KEYHEX AUTHKEYHEX|- esn|noesn FIRST_SEQ\n");
		return 2;
	}
	encap = !strcmp(argv[1], "encap");
	if (tr_esp_cipher_parse(argv[2], &cfg.cipher) || unhex(argv[4], key, sizeof(key), &key_len) ||
	    unhex(argv[5], akey, sizeof(akey), &akey_len)) {
		fprintf(stderr, "esp_tool: bad cipher or key\n");
		return 2;
	}
	cfg.spi = (uint32_t)strtoul(argv[3], NULL, 0);
	cfg.key = key;
	cfg.key_len = (uint32_t)key_len;
	cfg.auth_key = akey_len ? akey : NULL;
	cfg.auth_key_len = (uint32_t)akey_len;
	cfg.flags = !strcmp(argv[6], "esn") ? TR_ESP_F_ESN : 0;
	first = strtoull(argv[7], NULL, 0);
	err = tr_esp_sa_alloc(&sa, &cfg);
	if (err) {
		fprintf(stderr, "esp_tool: tr_esp_sa_alloc: %d\n", err);
		return 2;
	}
	if (first) {
		if (encap)
			sa->seq = first - 1;
		else
			sa->replay->top = first - 1;
	}

	while (fgets(line, sizeof(line), stdin)) {
		char *hex = line;
		unsigned nh_in = 0;
		uint8_t nh = 0;
		size_t len;
		struct tr_pkt p;

		line[strcspn(line, "\r\n")] = 0;
		if (encap) {
			nh_in = (unsigned)strtoul(line, &hex, 10);
			while (*hex == ' ')
				hex++;
		}
		if (unhex(hex, buf + ROOM, MAXPKT, &len) ||
		    tr_pkt_init(&p, buf, sizeof(buf), ROOM, (uint32_t)len)) {
			fprintf(stderr, "esp_tool: bad input line\n");
			return 2;
		}
		err = encap ? tr_esp_encap(sa, &p, (uint8_t)nh_in) : tr_esp_decap(sa, &p, &nh);
		if (err) {
			printf("ERR %d\n", err);
		} else if (encap) {
			printf("OK ");
			puthex(tr_pkt_data(&p), p.len);
			putchar('\n');
		} else {
			printf("OK %u ", nh);
			puthex(tr_pkt_data(&p), p.len);
			putchar('\n');
		}
	}
	tr_esp_sa_free(sa);
	return 0;
}
