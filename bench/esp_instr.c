/* SPDX-License-Identifier: MIT */
/*
 * esp_instr: a fixed ESP workload for counting instructions, not time:
 * MIB mebibytes of 1400-byte inner packets, each encapsulated and then
 * decapsulated in place (aes128-gcm). Run it under callgrind, which counts
 * only inside run(), so the figure is instructions per MiB per direction pair
 * with no setup in it (docs/benchmarks.md):
 *
 *   valgrind --tool=callgrind --toggle-collect=run --callgrind-out-file=/dev/null \
 *       build/bench/esp_instr direct|evp [MIB]
 *
 * "evp" forces the plain EVP path (TR_ESP_F_EVP), "direct" the provider's
 * functions called directly (codec/aead.h). "time" runs both natively,
 * interleaved, 21 rounds of MIB each, and prints the median thread CPU time
 * per packet (seal + open) of each, to set beside
 * `openssl speed -evp aes-128-gcm -bytes 1400` (seal only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/esp_int.h"
#include "tunroom/esp.h"

#define INNER 1400u
#define ROOM 64u

/* noinline: callgrind's --toggle-collect needs the symbol */
__attribute__((noinline)) static int run(struct tr_esp_sa *out, struct tr_esp_sa *in,
					 uint8_t *buf, unsigned long packets)
{
	for (unsigned long i = 0; i < packets; i++) {
		struct tr_pkt p;
		uint8_t nh;

		if (tr_pkt_init(&p, buf, ROOM + INNER + ROOM, ROOM, INNER) ||
		    tr_esp_encap(out, &p, 4) || tr_esp_decap(in, &p, &nh) || p.len != INNER)
			return -1;
	}
	return 0;
}

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define ROUNDS 21

static int timed(struct tr_esp_sa *sa[2][2], uint8_t *buf, unsigned long packets)
{
	double t[2][ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		for (int m = 0; m < 2; m++) {
			double t0 = cpu_ns();

			if (run(sa[m][0], sa[m][1], buf, packets))
				return -1;
			t[m][r] = (cpu_ns() - t0) / packets;
		}
	}
	for (int m = 0; m < 2; m++)
		qsort(t[m], ROUNDS, sizeof(double), cmp_double);
	printf("seal+open of %u bytes, median of %d interleaved rounds (thread CPU):\n"
	       "  evp    %7.1f ns/packet\n  direct %7.1f ns/packet (%.3fx evp)\n",
	       INNER, ROUNDS, t[0][ROUNDS / 2], t[1][ROUNDS / 2], t[1][ROUNDS / 2] / t[0][ROUNDS / 2]);
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t key[20] = { 1, 2, 3, 4, 5 }, buf[ROOM + INNER + ROOM];
	int evp = argc > 1 && !strcmp(argv[1], "evp");
	unsigned long mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 4;
	struct tr_esp_sa_config cfg = {
		.cipher = TR_ESP_AES128_GCM, .spi = 0x100, .key = key, .key_len = 20,
		.flags = evp ? TR_ESP_F_EVP : 0,
	};
	struct tr_esp_sa *out, *in;
	unsigned long packets = mib * 1048576ul / INNER;

	memset(buf, 0x45, sizeof(buf));

	if (argc > 1 && !strcmp(argv[1], "time")) {
		struct tr_esp_sa *sa[2][2];

		for (int m = 0; m < 2; m++) {
			cfg.flags = m ? 0 : TR_ESP_F_EVP;
			if (tr_esp_sa_alloc(&sa[m][0], &cfg) || tr_esp_sa_alloc(&sa[m][1], &cfg))
				return 1;
		}
		return timed(sa, buf, packets) ? 1 : 0;
	}
	if (argc < 2 || (!evp && strcmp(argv[1], "direct")) || !mib) {
		fprintf(stderr, "usage: esp_instr direct|evp|time [MIB]\n");
		return 2;
	}
	if (tr_esp_sa_alloc(&out, &cfg) || tr_esp_sa_alloc(&in, &cfg) || run(out, in, buf, packets)) {
		fprintf(stderr, "esp_instr: ESP failed\n");
		return 1;
	}
	printf("%s: %lu packets of %u bytes (%lu MiB) sealed and opened\n", argv[1], packets, INNER, mib);
	tr_esp_sa_free(out);
	tr_esp_sa_free(in);
	return 0;
}
