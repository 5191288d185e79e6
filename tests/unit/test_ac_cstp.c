/* SPDX-License-Identifier: MIT */
/*
 * The CSTP receiver (src/anyconnect/cstp_rx.c) on a TLS stream that GnuTLS
 * wrote: CSTP packets, one per record as ocserv sends them, read back in
 * odd-sized pieces so records are cut everywhere; data packets must land back
 * to back in the sink, control packets come out whole, and a bad tag or an
 * alert ends the stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "anyconnect/cstp_rx.h"
#include "gnutls_pair.h"

struct sink {
	uint8_t slot[1 << 20];
	uint32_t fill, pending, n_data, n_ctl, n_bad, room_fail;
	uint8_t last_type;
	uint32_t last_len;
	uint8_t last[64];
};

static uint8_t *room(void *arg, uint32_t len)
{
	struct sink *s = arg;

	if (s->room_fail || s->fill + len > sizeof(s->slot))
		return NULL;
	s->pending = len;
	return s->slot + s->fill;
}

static void done(void *arg, uint32_t len, bool ok)
{
	struct sink *s = arg;

	assert_int_equal(len, s->pending);
	if (ok) {
		s->fill += len;
		s->n_data++;
	} else {
		s->n_bad++;
	}
}

static void ctl(void *arg, uint8_t type, const uint8_t *p, uint32_t len)
{
	struct sink *s = arg;

	s->n_ctl++;
	s->last_type = type;
	s->last_len = len;
	memcpy(s->last, p, len < 64 ? len : 64);
}

static void cstp_send(gnutls_session_t s, uint8_t type, const uint8_t *p, uint32_t n)
{
	static uint8_t b[70000];

	memcpy(b, "STF\x01", 4);
	b[4] = (uint8_t)(n >> 8);
	b[5] = (uint8_t)n;
	b[6] = type;
	b[7] = 0;
	if (n) /* p may be NULL for an empty control packet */
		memcpy(b + 8, p, n);
	assert_int_equal(gnutls_record_send(s, b, n + 8), (ssize_t)n + 8);
}

/* Reads what the socket has, in pieces of at most `piece` bytes, feeding r. */
static int pump(int fd, struct tr_ac_cstp_rx *r, struct tr_ac_cstp_sink *k, uint32_t piece)
{
	int err = 0;

	for (int idle = 0; idle < 50 && !err;) {
		uint32_t n;
		uint8_t *sp = tr_ac_cstp_rx_space(r, &n);
		ssize_t got = read(fd, sp, n < piece ? n : piece);
		if (got <= 0) {
			idle++;
			usleep(1000);
			continue;
		}
		idle = 0;
		tr_ac_cstp_rx_added(r, (uint32_t)got);
		err = tr_ac_cstp_rx_process(r, k);
	}
	return err;
}

static void stream(const char *prio, int cert)
{
	static uint8_t want[1 << 20], pkt[2000];
	static struct tr_ac_cstp_rx r;
	static struct sink s;
	struct tr_ac_chan_stats st = { 0 };
	struct tr_ac_cstp_sink k = { room, done, ctl, &s };
	struct tr_ac_rec_keys ktx, krx;
	struct gt_pair p;
	uint32_t wfill = 0;

	memset(&s, 0, sizeof(s));
	assert_int_equal(gt_pair_open2(&p, prio, 0, cert), 0);
	assert_int_equal(tr_ac_keys_from_gnutls(p.c, &ktx, &krx), 0);
	assert_int_equal(tr_ac_cstp_rx_init(&r, &krx, &st, 0), 0);
	/* 300 packets of varied sizes, a DPD request in between. */
	for (int i = 0; i < 300; i++) {
		uint32_t len = 20 + (uint32_t)(i * 211) % 1480;
		for (uint32_t j = 0; j < len; j++)
			pkt[j] = (uint8_t)(j + i);
		pkt[0] = 0x45;
		cstp_send(p.s, TR_AC_DATA, pkt, len);
		memcpy(want + wfill, pkt, len);
		wfill += len;
		if (i == 150)
			cstp_send(p.s, TR_AC_DPD_REQ, (const uint8_t *)"ping", 4);
		if (i % 40 == 39)
			assert_int_equal(pump(p.cfd, &r, &k, 1 + (uint32_t)i * 13 % 3000), 0);
	}
	assert_int_equal(pump(p.cfd, &r, &k, 777), 0);
	assert_int_equal(s.n_data, 300);
	assert_int_equal(s.fill, wfill);
	assert_memory_equal(s.slot, want, wfill);
	assert_int_equal(s.n_ctl, 1);
	assert_int_equal(s.last_type, TR_AC_DPD_REQ);
	assert_int_equal(s.last_len, 4);
	assert_memory_equal(s.last, "ping", 4);
	assert_int_equal(st.rx_records, 301);
	assert_int_equal(st.rx_data, 300);
	assert_int_equal(st.rx_ctl, 1);

	/* Ring full: the packet is dropped, the stream goes on. */
	s.room_fail = 1;
	cstp_send(p.s, TR_AC_DATA, pkt, 100);
	assert_int_equal(pump(p.cfd, &r, &k, 4096), 0);
	assert_int_equal(s.n_data, 300);
	s.room_fail = 0;

	/* A flipped bit in a record: the stream is dead, nothing kept. */
	cstp_send(p.s, TR_AC_DATA, pkt, 500);
	uint8_t raw[2000];
	ssize_t got = 0;
	for (int i = 0; i < 100 && got <= 0; i++, usleep(1000))
		got = read(p.cfd, raw, sizeof(raw));
	assert_true(got > 100);
	raw[got - 30] ^= 4;
	uint32_t n;
	memcpy(tr_ac_cstp_rx_space(&r, &n), raw, (size_t)got);
	tr_ac_cstp_rx_added(&r, (uint32_t)got);
	assert_int_equal(tr_ac_cstp_rx_process(&r, &k), -EBADMSG);
	assert_int_equal(s.n_data, 300);
	assert_int_equal(s.n_bad, 1);
	assert_int_equal(st.rx_err_auth, 1);
	tr_ac_cstp_rx_free(&r);
	gt_pair_close(&p);
}

static void test_tls13(void **st)
{
	(void)st;
	stream(GT_TLS13_CERT_PRIO("AES-256-GCM"), 1);
}

static void test_tls12(void **st)
{
	(void)st;
	stream(GT_TLS12_PRIO("AES-256-GCM"), 0);
}

static void test_tls13_chacha(void **st)
{
	(void)st;
	stream(GT_TLS13_PRIO("CHACHA20-POLY1305"), 0);
}

/* The peer's close_notify: an event, then the stream is over. */
static void test_alert(void **st)
{
	static struct tr_ac_cstp_rx r;
	static struct sink s;
	struct tr_ac_chan_stats cs = { 0 };
	struct tr_ac_cstp_sink k = { room, done, ctl, &s };
	struct tr_ac_rec_keys ktx, krx;
	struct gt_pair p;

	(void)st;
	memset(&s, 0, sizeof(s));
	assert_int_equal(gt_pair_open2(&p, GT_TLS13_CERT_PRIO("AES-256-GCM"), 0, 1), 0);
	assert_int_equal(tr_ac_keys_from_gnutls(p.c, &ktx, &krx), 0);
	assert_int_equal(tr_ac_cstp_rx_init(&r, &krx, &cs, 0), 0);
	cstp_send(p.s, TR_AC_KEEPALIVE, NULL, 0);
	gnutls_bye(p.s, GNUTLS_SHUT_WR);
	assert_int_equal(pump(p.cfd, &r, &k, 4096), -ECONNRESET);
	assert_int_equal(s.n_ctl, 2);
	assert_int_equal(s.last_type, TR_AC_EV_ALERT);
	assert_int_equal(s.last_len, 2);
	assert_int_equal(s.last[1], 0); /* close_notify */
	tr_ac_cstp_rx_free(&r);
	gt_pair_close(&p);
}

/* What followed the CONNECT reply, already decrypted. */
static void test_plain(void **st)
{
	static struct tr_ac_cstp_rx r;
	static struct sink s;
	struct tr_ac_chan_stats cs = { 0 };
	struct tr_ac_cstp_sink k = { room, done, ctl, &s };
	struct tr_ac_rec_keys kk = { .version = TR_AC_VERSION_TLS13,
				     .cipher = TR_AC_CIPHER_AES_128_GCM, .key_len = 16, .iv_len = 12 };
	uint8_t b[] = "STF\x01\x00\x03\x00\x00" "abc" "STF\x01\x00\x00\x07\x00" "STF\x01\x00\x05\x00";

	(void)st;
	memset(&s, 0, sizeof(s));
	assert_int_equal(tr_ac_cstp_rx_init(&r, &kk, &cs, 0), 0);
	assert_int_equal(tr_ac_cstp_rx_plain(&r, &k, b, 19), 0);
	assert_int_equal(s.fill, 3);
	assert_memory_equal(s.slot, "abc", 3);
	assert_int_equal(s.last_type, TR_AC_KEEPALIVE);
	/* A cut packet is refused. */
	assert_int_equal(tr_ac_cstp_rx_plain(&r, &k, b + 19, 7), -EPROTO);
	tr_ac_cstp_rx_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls13),
		cmocka_unit_test(test_tls12),
		cmocka_unit_test(test_tls13_chacha),
		cmocka_unit_test(test_alert),
		cmocka_unit_test(test_plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
