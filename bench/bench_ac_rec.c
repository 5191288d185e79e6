/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect record layers per packet, ours against GnuTLS's, side by
 * side (no sockets: GnuTLS pushes into and pulls from memory, so both sides
 * are measured without syscalls). GnuTLS is what OpenConnect uses per packet:
 * gnutls_record_send copies the packet into its own buffer and encrypts,
 * gnutls_record_recv decrypts and copies out. Ours seals and opens in place
 * in one buffer (the ring slot). Per packet: one seal and one open of a
 * 1400-byte IP packet (DTLS 1.2 and TLS 1.3 CSTP, AES-256-GCM as ocserv
 * negotiates), thread CPU time. Never asserts.
 * usage: bench_ac_rec [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anyconnect/cstp_rx.h"
#include "anyconnect/rec.h"
#include "../tests/unit/gnutls_pair.h"

#define PKT 1400u

static uint8_t wire[20000];
static size_t wire_len, wire_pos;

static ssize_t push(gnutls_transport_ptr_t p, const void *b, size_t n)
{
	(void)p;
	memcpy(wire, b, n);
	wire_len = n;
	wire_pos = 0;
	return (ssize_t)n;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *b, size_t n)
{
	(void)p;
	if (wire_pos == wire_len) {
		errno = EAGAIN;
		return -1;
	}
	if (n > wire_len - wire_pos)
		n = wire_len - wire_pos;
	memcpy(b, wire + wire_pos, n);
	wire_pos += n;
	return (ssize_t)n;
}

static int pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
	(void)p;
	(void)ms;
	return wire_pos < wire_len ? 1 : 0;
}

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* GnuTLS: client sends, server receives, n times. ns per packet. */
static double gnutls_run(struct gt_pair *p, unsigned n, unsigned extra)
{
	static uint8_t pkt[PKT + 16], out[PKT + 64];
	double t0;

	memset(pkt, 0x45, sizeof(pkt));
	gnutls_transport_set_push_function(p->c, push);
	gnutls_transport_set_pull_function(p->s, pull);
	gnutls_transport_set_pull_timeout_function(p->s, pull_timeout);
	t0 = cpu_ns();
	for (unsigned i = 0; i < n; i++) {
		if (gnutls_record_send(p->c, pkt, PKT + extra) != (ssize_t)(PKT + extra) ||
		    gnutls_record_recv(p->s, out, sizeof(out)) != (ssize_t)(PKT + extra)) {
			fprintf(stderr, "bench_ac_rec: GnuTLS failed\n");
			exit(1);
		}
	}
	return (cpu_ns() - t0) / n;
}

static double ours_dtls(struct tr_ac_aead *tx, struct tr_ac_aead *rx, unsigned n)
{
	static uint8_t slot[32 + PKT + 32];
	struct tr_pkt p;
	uint8_t ct;
	double t0 = cpu_ns();

	for (unsigned i = 0; i < n; i++) {
		tr_pkt_init(&p, slot, sizeof(slot), 32, PKT);
		if (tr_ac_dtls_seal(tx, &p, TR_AC_DATA) || tr_ac_dtls_open(rx, &p, &ct)) {
			fprintf(stderr, "bench_ac_rec: ours failed\n");
			exit(1);
		}
	}
	return (cpu_ns() - t0) / n;
}

static double ours_tls(struct tr_ac_aead *tx, struct tr_ac_aead *rx, unsigned n)
{
	static uint8_t slot[32 + 8 + PKT + 32], dst[PKT];
	uint8_t hdr[32];
	struct tr_pkt p;
	double t0 = cpu_ns();

	for (unsigned i = 0; i < n; i++) {
		uint32_t rl, pl;
		tr_pkt_init(&p, slot, sizeof(slot), 40, PKT);
		if (tr_cstp_encode(&p, TR_AC_DATA, NULL) || tr_ac_tls_seal(tx, &p, TR_AC_CT_APP)) {
			fprintf(stderr, "bench_ac_rec: ours failed\n");
			exit(1);
		}
		/* The receive side as cstp_rx.c does it: header to scratch,
		 * packet straight to its slot, inner type to scratch. */
		const uint8_t *rec = tr_pkt_data(&p), *c = rec + tr_ac_tls_ct_off(rx);
		if (tr_ac_tls_hdr(rx, rec, &rl, &pl) || tr_ac_tls_open_begin(rx, rec, rl) ||
		    tr_ac_tls_open_part(rx, c, hdr, 8) || tr_ac_tls_open_part(rx, c + 8, dst, PKT) ||
		    tr_ac_tls_open_part(rx, c + 8 + PKT, hdr + 8, pl - 8 - PKT) ||
		    tr_ac_tls_open_end(rx, rec, rl)) {
			fprintf(stderr, "bench_ac_rec: ours failed to open\n");
			exit(1);
		}
	}
	return (cpu_ns() - t0) / n;
}

static void row(const char *what, double g, double o)
{
	printf("%-34s %10.0f %10.0f %8.2fx %9.2f %9.2f\n", what, g, o, g / o,
	       PKT * 8 / g, PKT * 8 / o);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 && !strcmp(argv[1], "--quick") ? 20000 : 200000;
	struct tr_ac_rec_keys ktx, krx, stx, srx;
	struct tr_ac_aead tx, rx;
	struct gt_pair p;

	printf("%-34s %10s %10s %9s %9s %9s\n", "per 1400-byte packet, seal+open",
	       "GnuTLS ns", "ours ns", "speedup", "GnuTLS Gb/s", "ours Gb/s");
	/* DTLS 1.2 AES-256-GCM: ours with the client's write keys on both
	 * ends (the server's read keys are the same bytes). */
	if (gt_pair_open(&p, GT_DTLS_PRIO("AES-256-GCM"), 1) ||
	    tr_ac_keys_from_gnutls(p.c, &ktx, &krx) || tr_ac_keys_from_gnutls(p.s, &stx, &srx))
		return 1;
	tr_ac_aead_init(&tx, &ktx, true, 0);
	tr_ac_aead_init(&rx, &srx, false, 0);
	double o = ours_dtls(&tx, &rx, n);
	double g = gnutls_run(&p, n, 1);
	row("DTLS 1.2 AES-256-GCM", g, o);
	tr_ac_aead_free(&tx);
	tr_ac_aead_free(&rx);
	gt_pair_close(&p);

	if (gt_pair_open2(&p, GT_TLS13_CERT_PRIO("AES-256-GCM"), 0, 1) ||
	    tr_ac_keys_from_gnutls(p.c, &ktx, &krx) || tr_ac_keys_from_gnutls(p.s, &stx, &srx))
		return 1;
	tr_ac_aead_init(&tx, &ktx, true, 0);
	tr_ac_aead_init(&rx, &srx, false, 0);
	o = ours_tls(&tx, &rx, n);
	g = gnutls_run(&p, n, 8);
	row("CSTP over TLS 1.3 AES-256-GCM", g, o);
	tr_ac_aead_free(&tx);
	tr_ac_aead_free(&rx);
	gt_pair_close(&p);
	return 0;
}
