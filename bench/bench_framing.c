/* SPDX-License-Identifier: MIT */
/*
 * Framing codecs: nanoseconds per packet to encode in place and to decode in
 * place, side by side with the copy path a client without head room pays
 * (memcpy the packet behind a freshly written header in another buffer).
 * Sizes 64/512/1400 bytes; the median of interleaved repeats is reported.
 * A benchmark, not a test: it prints figures and asserts nothing.
 *
 * usage: bench_framing [--quick] [--json FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tunroom/framing.h"

#define HEAD 64
#define MAXP 1400

static uint8_t buf[HEAD + 2 * (MAXP + 4) + 64];
static uint8_t out[HEAD + 2 * (MAXP + 4) + 64];
static volatile uint32_t sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum mode { INPLACE, COPY };
static const char *const names[] = { "dtls", "cstp", "f5", "fortinet", "gp", "hdlc" };
#define NCODEC 6

static void fill(uint32_t size)
{
	for (uint32_t i = 0; i < size; i++)
		buf[HEAD + i] = (uint8_t)(i * 7 + 3);
	buf[HEAD] = 0x45;
}

/* One encode + decode round in place; returns 0 or aborts the bench. */
static void inplace(int c, uint32_t size)
{
	static const struct tr_ppp_opts none;
	struct tr_pkt p;
	uint16_t v;
	uint8_t t;
	int r = 0;

	tr_pkt_init(&p, buf, sizeof(buf), HEAD, size);
	switch (c) {
	case 0: r = tr_dtls_encode(&p, TR_AC_DATA, NULL) || tr_dtls_decode(&p, &t, NULL); break;
	case 1: r = tr_cstp_encode(&p, TR_AC_DATA, NULL) || tr_cstp_decode(&p, &t, NULL); break;
	case 2: r = tr_f5_encode(&p, &none, TR_PPP_IPV4, NULL) ||
		    tr_f5_decode(&p, &none, &v, NULL); break;
	case 3: r = tr_fortinet_encode(&p, TR_PPP_IPV4, NULL) ||
		    tr_fortinet_decode(&p, &v, NULL); break;
	case 4: r = tr_gp_encode(&p, TR_GP_ETH_IPV4, NULL) || tr_gp_decode(&p, &v, NULL); break;
	default:
		r = tr_ppp_encode(&p, &none, TR_PPP_IPV4, NULL) ||
		    tr_hdlc_encode(&p, 0, NULL) || tr_hdlc_decode(&p, 0, NULL, NULL) ||
		    tr_ppp_decode(&p, &none, &v, NULL);
		break;
	}
	if (r || p.len != size) {
		fprintf(stderr, "bench_framing: %s failed at %u\n", names[c], size);
		exit(1);
	}
	sink += p.len;
}

/* The copy path: the same header written into a second buffer, the packet
 * copied behind it, and the header checked and the packet copied out again
 * on the way back (what a client without room does per packet). */
static void copy(int c, uint32_t size)
{
	static const uint32_t hdr[NCODEC] = { 1, 8, 8, 10, 16, 0 };
	uint32_t h = hdr[c];

	if (c == 5) {
		/* HDLC cannot be done in place without tail room: the copy path
		 * escapes into another buffer, then unescapes back. */
		struct tr_pkt p;
		tr_pkt_init(&p, out, sizeof(out), 0, size);
		memcpy(out, buf + HEAD, size);
		if (tr_hdlc_encode(&p, 0, NULL) || tr_hdlc_decode(&p, 0, NULL, NULL))
			exit(1);
		memcpy(buf + HEAD, tr_pkt_data(&p), p.len);
		sink += p.len;
		return;
	}
	memset(out, 0, h);
	out[0] = (uint8_t)size;
	memcpy(out + h, buf + HEAD, size);
	if (out[0] != (uint8_t)size)
		exit(1);
	memcpy(buf + HEAD, out + h, size);
	sink += size;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 64, 512, 1400 };
	int quick = 0, reps = 5;
	const char *json = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else {
			fprintf(stderr, "usage: bench_framing [--quick] [--json FILE]\n");
			return 2;
		}
	}
	uint32_t iters = quick ? 20000 : 200000;
	FILE *jf = json ? fopen(json, "w") : NULL;
	if (jf)
		fprintf(jf, "[\n");
	printf("%-9s %5s %14s %14s %7s\n", "codec", "size", "in-place ns", "copy ns", "ratio");
	int first = 1;
	for (int c = 0; c < NCODEC; c++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			double t[2][9];
			fill(sizes[s]);
			for (int r = 0; r < reps; r++) {
				for (int m = 0; m < 2; m++) {
					double t0 = now();
					for (uint32_t i = 0; i < iters; i++)
						m == INPLACE ? inplace(c, sizes[s]) : copy(c, sizes[s]);
					t[m][r] = (now() - t0) * 1e9 / iters;
				}
			}
			qsort(t[0], (size_t)reps, sizeof(double), cmp);
			qsort(t[1], (size_t)reps, sizeof(double), cmp);
			double a = t[0][reps / 2], b = t[1][reps / 2];
			printf("%-9s %5u %14.1f %14.1f %6.2fx\n", names[c], sizes[s], a, b, b / a);
			if (jf)
				fprintf(jf, "%s  {\"codec\": \"%s\", \"size\": %u, \"inplace_ns\": %.1f, "
					"\"copy_ns\": %.1f}", first ? "" : ",\n", names[c], sizes[s], a, b);
			first = 0;
		}
	}
	if (jf) {
		fprintf(jf, "\n]\n");
		fclose(jf);
	}
	return 0;
}
