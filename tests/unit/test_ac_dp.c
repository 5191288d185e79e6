/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect data plane (src/anyconnect/dp.c) end to end, without a
 * network: a GnuTLS server plays ocserv over a socketpair, the data plane's
 * session sits on a loopback memory device (every packet it puts in the
 * ingress ring comes back on the egress ring). So each packet the server
 * sends must come back to the server, opened by our rx thread and sealed
 * again by our tx thread, and GnuTLS must accept it.
 */
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <sys/ioctl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "anyconnect/dataplane.h"
#include "gnutls_pair.h"
#include "../netns/icmp.h"
#include "tunroom/memdev.h"
#include "tunroom/port.h"

#define MTU 1400

static unsigned g_threads; /* tr_ac_dp_cfg.threads of this pass */

/* An IPv4 packet of len bytes (UDP, 198.18.0.1 -> 198.18.0.2), numbered. */
static void ipv4(uint8_t *p, uint32_t len, uint32_t n)
{
	build_ip4(p, len, 17, "198.18.0.1", "198.18.0.2", 0, true);
	for (uint32_t i = 28; i < len; i++)
		p[i] = (uint8_t)(i + n);
	if (len >= 32)
		memcpy(p + 28, &n, 4);
}

struct fixture {
	struct tr_device *dev;
	struct tr_ac_dp *dp;
	struct gt_pair p;
};

static void dp_open(struct fixture *f)
{
	struct tr_memdev_config mc = { .mode = TR_MEMDEV_LOOPBACK };
	struct tr_ac_dp_cfg cfg = { .mtu = MTU, .threads = g_threads };

	assert_int_equal(tr_memdev_open(&f->dev, &mc), 0);
	cfg.dev = f->dev;
	assert_int_equal(tr_ac_dp_new(&f->dp, &cfg), 0);
}

static void dp_close(struct fixture *f)
{
	tr_ac_dp_free(f->dp);
	tr_device_close(f->dev);
}

/* The next control message, waiting up to ~1 s. */
static int next_ctl(struct tr_ac_dp *dp, struct tr_ac_ctl_msg *m)
{
	for (int i = 0; i < 1000; i++) {
		struct pollfd pfd = { .fd = tr_ac_dp_ctl_fd(dp), .events = POLLIN };
		int r = tr_ac_dp_read_ctl(dp, m);
		if (r)
			return r;
		poll(&pfd, 1, 1);
	}
	return 0;
}

/* A DTLS session with a GnuTLS server (dgram as gt_pair_open takes it)
 * whose client end becomes dp's DTLS channel. */
static void dtls_chan(struct tr_ac_dp *dp, struct gt_pair *p, const char *prio, int dgram)
{
	struct tr_ac_rec_keys tx, rx;

	assert_int_equal(gt_pair_open(p, prio, dgram), 0);
	assert_int_equal(tr_ac_keys_from_gnutls(p->c, &tx, &rx), 0);
	assert_int_equal(tr_ac_dp_set_dtls(dp, p->cfd, &tx, &rx), 0);
	p->cfd = -1; /* the data plane's now */
}

/* The server sends count MTU-sized packets numbered from first, then each
 * must come back whole, in order. */
static void dtls_burst(gnutls_session_t s, uint32_t first, uint32_t count)
{
	static uint8_t out[MTU + 1], in[2000];

	out[0] = TR_AC_DATA;
	for (uint32_t i = 0; i < count; i++) {
		ipv4(out + 1, MTU, first + i);
		assert_int_equal(gnutls_record_send(s, out, MTU + 1), MTU + 1);
	}
	for (uint32_t i = 0; i < count; i++) {
		ipv4(out + 1, MTU, first + i);
		assert_int_equal(gt_recv(s, in, sizeof(in)), MTU + 1);
		assert_memory_equal(in, out, MTU + 1);
	}
}

/* DTLS: the server's packets come back; DPD is answered; keepalive goes out. */
static void test_dtls_echo(void **state)
{
	static uint8_t out[2000], in[2000];
	struct fixture f;
	struct tr_ac_dp_stats st;
	struct tr_ac_ctl_msg m;
	struct timespec ts;

	(void)state;
	dp_open(&f);
	assert_int_equal(tr_ac_dp_use(f.dp, TR_AC_CHAN_DTLS), -ENOTCONN);
	assert_int_equal(tr_ac_dp_last_rx(f.dp, TR_AC_CHAN_DTLS, &ts), -ENOENT);
	dtls_chan(f.dp, &f.p, GT_DTLS_PRIO("AES-256-GCM"), 1);
	assert_int_equal(tr_ac_dp_use(f.dp, TR_AC_CHAN_DTLS), 0);

	for (uint32_t i = 0; i < 300; i++) {
		uint32_t len = 28 + (i * 97) % (MTU - 28);
		out[0] = TR_AC_DATA;
		ipv4(out + 1, len, i);
		assert_int_equal(gnutls_record_send(f.p.s, out, len + 1), (ssize_t)len + 1);
		ssize_t r = gt_recv(f.p.s, in, sizeof(in));
		assert_int_equal(r, (ssize_t)len + 1);
		assert_memory_equal(in, out, len + 1);
	}
	assert_int_equal(tr_ac_dp_last_rx(f.dp, TR_AC_CHAN_DTLS, &ts), 0);

	/* A DPD request is answered with the same payload, and reported. */
	assert_int_equal(gnutls_record_send(f.p.s, "\x03probe", 6), 6);
	assert_int_equal(gt_recv(f.p.s, in, sizeof(in)), 6);
	assert_memory_equal(in, "\x04probe", 6);
	assert_int_equal(next_ctl(f.dp, &m), 1);
	assert_int_equal(m.chan, TR_AC_CHAN_DTLS);
	assert_int_equal(m.type, TR_AC_DPD_REQ);
	assert_int_equal(m.len, 5);
	assert_memory_equal(m.data, "probe", 5);
	/* Ours go out sealed, ahead of data. */
	assert_int_equal(tr_ac_dp_send_ctl(f.dp, TR_AC_CHAN_DTLS, TR_AC_KEEPALIVE, NULL, 0), 0);
	assert_int_equal(tr_ac_dp_flush(f.dp, 1000), 0);
	assert_int_equal(gt_recv(f.p.s, in, sizeof(in)), 1);
	assert_int_equal(in[0], TR_AC_KEEPALIVE);
	assert_int_equal(tr_ac_dp_send_ctl(f.dp, TR_AC_CHAN_CSTP, TR_AC_KEEPALIVE, NULL, 0),
			 -ENOTCONN);
	assert_int_equal(tr_ac_dp_send_ctl(f.dp, TR_AC_CHAN_DTLS, TR_AC_DPD_REQ, in,
					   TR_AC_CTL_MAX + 1), -EMSGSIZE);

	/* A replayed datagram: dropped and counted, nothing comes back. */
	out[0] = TR_AC_DATA;
	ipv4(out + 1, 100, 7);
	assert_int_equal(gnutls_record_send(f.p.s, out, 101), 101);
	assert_int_equal(gt_recv(f.p.s, in, sizeof(in)), 101);

	tr_ac_dp_stats(f.dp, &st);
	assert_int_equal(st.chan[TR_AC_CHAN_DTLS].rx_data, 301);
	assert_int_equal(st.chan[TR_AC_CHAN_DTLS].tx_data, 301);
	assert_int_equal(st.chan[TR_AC_CHAN_DTLS].rx_ctl, 1);
	assert_int_equal(st.chan[TR_AC_CHAN_DTLS].tx_ctl, 2);
	assert_int_equal(st.dpd_answered, 1);
	assert_int_equal(st.chan[TR_AC_CHAN_DTLS].rx_err_auth, 0);
	assert_int_equal(st.tx_copied_bytes, 0);
	dp_close(&f);
	gt_pair_close(&f.p);
}

/* Rekey: a second DTLS session replaces the first while traffic runs. */
static void test_dtls_swap(void **state)
{
	static uint8_t out[2000], in[2000];
	struct fixture f;
	struct gt_pair p2;

	(void)state;
	dp_open(&f);
	dtls_chan(f.dp, &f.p, GT_DTLS_PRIO("AES-128-GCM"), 1);
	assert_int_equal(tr_ac_dp_use(f.dp, TR_AC_CHAN_DTLS), 0);
	out[0] = TR_AC_DATA;
	ipv4(out + 1, 500, 1);
	assert_int_equal(gnutls_record_send(f.p.s, out, 501), 501);
	assert_int_equal(gt_recv(f.p.s, in, sizeof(in)), 501);

	dtls_chan(f.dp, &p2, GT_DTLS_PRIO("AES-256-GCM"), 1);
	for (uint32_t i = 0; i < 50; i++) {
		ipv4(out + 1, 600 + i, i);
		assert_int_equal(gnutls_record_send(p2.s, out, 601 + i), (ssize_t)(601 + i));
		assert_int_equal(gt_recv(p2.s, in, sizeof(in)), (ssize_t)(601 + i));
		assert_memory_equal(in, out, 601 + i);
	}
	/* The old socket is closed: its peer's sends find nobody. */
	assert_true(gnutls_record_send(f.p.s, out, 501) < 0);
	assert_int_equal(tr_ac_dp_close(f.dp, TR_AC_CHAN_DTLS), 0);
	assert_int_equal(tr_ac_dp_close(f.dp, TR_AC_CHAN_DTLS), -ENOTCONN);
	dp_close(&f);
	gt_pair_close(&p2);
	gt_pair_close(&f.p);
}

/* DTLS over real UDP sockets: bursts of equal-sized packets come back as
 * UDP GSO messages (one record per datagram still, or GnuTLS would refuse). */
static void test_dtls_gso(void **state)
{
	struct fixture f;
	struct tr_ac_dp_stats st = { 0 };
	uint32_t n = 0;

	(void)state;
	dp_open(&f);
	dtls_chan(f.dp, &f.p, GT_DTLS_PRIO("AES-256-GCM"), 2);
	assert_int_equal(tr_ac_dp_use(f.dp, TR_AC_CHAN_DTLS), 0);
	/* Until a burst went out segmented (scheduling decides how the echoes
	 * bunch up; one round nearly always does it). */
	for (int round = 0; round < 20 && !st.chan[TR_AC_CHAN_DTLS].tx_gso_sends; round++) {
		dtls_burst(f.p.s, n, 30);
		n += 30;
		tr_ac_dp_stats(f.dp, &st);
	}
	/* The tx thread counts after sendmmsg returns, which may be after
	 * the server got the datagrams: let the counters catch up. */
	for (int i = 0; i < 1000 && st.chan[TR_AC_CHAN_DTLS].tx_records != n; i++) {
		poll(NULL, 0, 1);
		tr_ac_dp_stats(f.dp, &st);
	}
	assert_true(st.chan[TR_AC_CHAN_DTLS].tx_gso_sends > 0);
	assert_int_equal(st.chan[TR_AC_CHAN_DTLS].tx_records, n);
	assert_int_equal(st.chan[TR_AC_CHAN_DTLS].tx_err_send, 0);
	dp_close(&f);
	gt_pair_close(&f.p);
}

/* The path MTU below the records (a private network namespace whose
 * loopback has MTU 1200): the kernel refuses a UDP GSO run whose segments
 * exceed it (EMSGSIZE; older kernels EINVAL) but fragments a lone datagram.
 * Every record must still arrive, none counted as refused. Needs root (a
 * namespace of its own): skipped without. */
static int home_ns = -1;

/* Back to the test's own network namespace, whatever the test did. */
static int leave_ns(void **state)
{
	(void)state;
	if (home_ns >= 0) {
		if (setns(home_ns, CLONE_NEWNET) < 0)
			return -1;
		close(home_ns);
		home_ns = -1;
	}
	return 0;
}

static void test_dtls_gso_pmtu(void **state)
{
	struct fixture f;
	struct tr_ac_dp_stats st;
	struct ifreq ifr = { .ifr_name = "lo" };
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), sk;

	(void)state;
	assert_true(home >= 0);
	/* This thread only; the data plane's threads, started below, inherit it. */
	if (unshare(CLONE_NEWNET) < 0) {
		close(home);
		skip();
	}
	home_ns = home;
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(sk >= 0);
	ifr.ifr_mtu = 1200;
	assert_int_equal(ioctl(sk, SIOCSIFMTU, &ifr), 0);
	assert_int_equal(ioctl(sk, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(sk, SIOCSIFFLAGS, &ifr), 0);
	close(sk);

	dp_open(&f);
	dtls_chan(f.dp, &f.p, GT_DTLS_PRIO("AES-256-GCM"), 2);
	assert_int_equal(tr_ac_dp_use(f.dp, TR_AC_CHAN_DTLS), 0);
	for (uint32_t round = 0; round < 3; round++)
		dtls_burst(f.p.s, round * 30, 30);
	tr_ac_dp_stats(f.dp, &st);
	assert_int_equal(st.chan[TR_AC_CHAN_DTLS].tx_err_send, 0);
	dp_close(&f);
	gt_pair_close(&f.p);
}

static void cstp_pkt(uint8_t *b, uint8_t type, uint32_t n)
{
	memcpy(b, "STF\x01", 4);
	b[4] = (uint8_t)(n >> 8);
	b[5] = (uint8_t)n;
	b[6] = type;
	b[7] = 0;
}

/* CSTP over TLS 1.3 (what ocserv ran live): echo, pending bytes, DPD, EOF. */
static void cstp_echo(const char *prio, int cert)
{
	static uint8_t out[20000], in[20000], pend[200];
	struct fixture f;
	struct tr_ac_rec_keys tx, rx;
	struct tr_ac_dp_stats st;
	struct tr_ac_ctl_msg m;

	dp_open(&f);
	assert_int_equal(gt_pair_open2(&f.p, prio, 0, cert), 0);
	assert_int_equal(tr_ac_keys_from_gnutls(f.p.c, &tx, &rx), 0);
	/* One data packet came with the CONNECT reply: it reaches the OS (and
	 * the loopback's echo is dropped: no channel carries egress yet). */
	cstp_pkt(pend, TR_AC_DATA, 60);
	ipv4(pend + 8, 60, 999);
	assert_int_equal(tr_ac_dp_set_cstp(f.dp, f.p.cfd, &tx, &rx, pend, 68), 0);
	f.p.cfd = -1;
	for (int i = 0; i < 1000; i++) {
		tr_ac_dp_stats(f.dp, &st);
		if (st.tx_drop_no_chan == 1)
			break;
		usleep(1000);
	}
	assert_int_equal(st.chan[TR_AC_CHAN_CSTP].rx_data, 1);
	assert_int_equal(st.tx_drop_no_chan, 1);
	assert_int_equal(tr_ac_dp_use(f.dp, TR_AC_CHAN_CSTP), 0);

	/* Bursts of records: several land in one MULTI slot, come back one
	 * per record. */
	for (uint32_t round = 0; round < 20; round++) {
		uint32_t lens[10];
		for (uint32_t i = 0; i < 10; i++) {
			lens[i] = 28 + (round * 10 + i) * 131 % (MTU - 28);
			cstp_pkt(out, TR_AC_DATA, lens[i]);
			ipv4(out + 8, lens[i], round * 10 + i);
			assert_int_equal(gnutls_record_send(f.p.s, out, lens[i] + 8),
					 (ssize_t)lens[i] + 8);
		}
		for (uint32_t i = 0; i < 10; i++) {
			cstp_pkt(out, TR_AC_DATA, lens[i]);
			ipv4(out + 8, lens[i], round * 10 + i);
			assert_int_equal(gt_recv(f.p.s, in, sizeof(in)), (ssize_t)lens[i] + 8);
			assert_memory_equal(in, out, lens[i] + 8);
		}
	}
	/* DPD over CSTP: answered with type 4, same payload. */
	cstp_pkt(out, TR_AC_DPD_REQ, 0);
	assert_int_equal(gnutls_record_send(f.p.s, out, 8), 8);
	assert_int_equal(gt_recv(f.p.s, in, sizeof(in)), 8);
	cstp_pkt(out, TR_AC_DPD_RESP, 0);
	assert_memory_equal(in, out, 8);
	assert_int_equal(next_ctl(f.dp, &m), 1);
	assert_int_equal(m.type, TR_AC_DPD_REQ);
	assert_int_equal(m.chan, TR_AC_CHAN_CSTP);
	/* The BYE. */
	assert_int_equal(tr_ac_dp_send_ctl(f.dp, TR_AC_CHAN_CSTP, TR_AC_DISCONNECT,
					   "\xb0" "bye", 4), 0);
	assert_int_equal(tr_ac_dp_flush(f.dp, 1000), 0);
	assert_int_equal(gt_recv(f.p.s, in, sizeof(in)), 12);
	assert_memory_equal(in, "STF\x01\x00\x04\x05\x00\xb0" "bye", 12);

	tr_ac_dp_stats(f.dp, &st);
	assert_int_equal(st.chan[TR_AC_CHAN_CSTP].rx_data, 201);
	assert_int_equal(st.chan[TR_AC_CHAN_CSTP].tx_data, 200);
	assert_int_equal(st.chan[TR_AC_CHAN_CSTP].rx_records, 201);
	/* Only the 60 bytes that came decrypted with the reply were copied. */
	assert_int_equal(st.chan[TR_AC_CHAN_CSTP].rx_copied_bytes, 60);

	/* The server goes away: one DOWN event, the channel stops carrying. */
	close(f.p.sfd);
	f.p.sfd = -1;
	assert_int_equal(next_ctl(f.dp, &m), 1);
	assert_int_equal(m.type, TR_AC_EV_DOWN);
	assert_int_equal(m.chan, TR_AC_CHAN_CSTP);
	assert_int_equal(m.err, -ECONNRESET);
	dp_close(&f);
	gt_pair_close(&f.p);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A device that serves no ingress until the test drains it itself: the
 * ingress ring fills and stays full. */
struct held_dev {
	struct tr_device dev;
	struct tr_port *port;
};

static int held_start(struct tr_device *dev, struct tr_port *port)
{
	((struct held_dev *)dev)->port = port;
	return 0;
}

static void held_stop(struct tr_device *dev, struct tr_port *port)
{
	(void)port;
	((struct held_dev *)dev)->port = NULL;
}

static void held_destroy(struct tr_device *dev)
{
	(void)dev;
}

static const struct tr_device_ops held_ops = { "held", held_start, held_stop, held_destroy };

/* Takes every packet the data plane committed: checks their numbers run on
 * from *next, and frees the space (which rings the data plane if it waits). */
static unsigned held_drain(struct held_dev *h, uint32_t *next)
{
	struct tr_port_slot sl;
	unsigned got = 0;
	uint32_t n;

	while (tr_port_ingress_peek(h->port, &sl) == 1) {
		assert_true(sl.len >= 32);
		memcpy(&n, sl.data + 28, 4);
		assert_int_equal(n, *next);
		(*next)++;
		got++;
		tr_port_ingress_done(h->port);
	}
	tr_port_ingress_flush(h->port);
	return got;
}

/* The ingress ring full: the data plane sleeps until the device frees
 * space (no allocation retried meanwhile: the ring-full count stands
 * still), the socket buffer holds the datagrams, and when space comes
 * every one of them arrives, in order. */
static void test_dtls_ring_full(void **state)
{
	static uint8_t out[2000];
	struct held_dev h = { .dev = { &held_ops } };
	struct tr_ac_dp_cfg cfg = { .dev = &h.dev, .mtu = MTU, .threads = g_threads,
				    .ring_capacity = 1u << 17 };
	struct tr_ac_dp *dp;
	struct gt_pair p;
	struct tr_ac_dp_stats st;
	uint32_t sent = 0, next = 0;
	unsigned got = 0;

	(void)state;
	assert_int_equal(tr_ac_dp_new(&dp, &cfg), 0);
	assert_non_null(h.port);
	dtls_chan(dp, &p, GT_DTLS_PRIO("AES-256-GCM"), 2);
	/* One datagram at a time until one finds the ring full (128 KiB
	 * takes well under 200 of them). */
	tr_ac_dp_stats(dp, &st);
	while (!st.rx_drop_ring_full) {
		assert_true(sent < 200);
		out[0] = TR_AC_DATA;
		ipv4(out + 1, 1000, sent);
		assert_int_equal(gnutls_record_send(p.s, out, 1001), 1001);
		sent++;
		for (int i = 0; i < 2000; i++) {
			tr_ac_dp_stats(dp, &st);
			if (st.rx_drop_ring_full || st.chan[TR_AC_CHAN_DTLS].rx_data == sent)
				break;
			poll(NULL, 0, 1);
		}
	}
	assert_true(st.chan[TR_AC_CHAN_DTLS].rx_data >= 20);
	for (int i = 0; i < 10; i++, sent++) {
		ipv4(out + 1, 1000, sent);
		assert_int_equal(gnutls_record_send(p.s, out, 1001), 1001);
	}
	/* A poll of the socket every 100 us (what this replaced) would have
	 * counted hundreds here. */
	uint64_t full = st.rx_drop_ring_full;
	poll(NULL, 0, 50);
	tr_ac_dp_stats(dp, &st);
	assert_int_equal(st.rx_drop_ring_full, full);
	for (int i = 0; i < 2000 && next < sent; i++) {
		got += held_drain(&h, &next);
		if (next < sent)
			poll(NULL, 0, 1);
	}
	assert_int_equal(got, sent);
	tr_ac_dp_stats(dp, &st);
	assert_int_equal(st.chan[TR_AC_CHAN_DTLS].rx_data, sent);
	tr_ac_dp_free(dp);
	gt_pair_close(&p);
}

/* The server stops reading: our CSTP sends block for good. Swapping in a
 * DTLS channel must not wait for that (two threads: the tx thread holds
 * only the CSTP channel), and closing the stuck CSTP channel must end the
 * send (either mode). */
static void test_cstp_stalled(void **state)
{
	static uint8_t out[2000];
	struct fixture f;
	struct gt_pair d;
	struct tr_ac_rec_keys tx, rx;
	struct tr_ac_dp_stats st;
	double t0;

	(void)state;
	dp_open(&f);
	assert_int_equal(gt_pair_open2(&f.p, GT_TLS13_CERT_PRIO("AES-256-GCM"), 0, 1), 0);
	assert_int_equal(tr_ac_keys_from_gnutls(f.p.c, &tx, &rx), 0);
	assert_int_equal(tr_ac_dp_set_cstp(f.dp, f.p.cfd, &tx, &rx, NULL, 0), 0);
	f.p.cfd = -1;
	assert_int_equal(tr_ac_dp_use(f.dp, TR_AC_CHAN_CSTP), 0);
	/* Packets the loopback turns around until our sends back find the
	 * server's receive buffer full (a few hundred do that). The data
	 * plane keeps reading meanwhile (the rings, 4 MiB each way, take
	 * what the server cannot: they never fill here), so a
	 * send that finds the socket full waits until it has room. Giving up
	 * after 100 ms of EAGAIN instead ended the loop early whenever a
	 * loaded machine kept the rx thread off the CPU that long, and
	 * rx_data > 100 below failed (about 1 run in 5 under load). */
	for (uint32_t i = 0; i < 4000; i++) {
		cstp_pkt(out, TR_AC_DATA, 1400);
		ipv4(out + 8, 1400, i);
		ssize_t r;
		while ((r = gnutls_record_send(f.p.s, out, 1408)) == GNUTLS_E_AGAIN) {
			struct pollfd pfd = { .fd = f.p.sfd, .events = POLLOUT };

			assert_int_equal(poll(&pfd, 1, 10000), 1); /* none: it stopped reading */
		}
		assert_int_equal(r, 1408);
	}
	tr_ac_dp_stats(f.dp, &st);
	assert_true(st.chan[TR_AC_CHAN_CSTP].rx_data > 100);
	if (g_threads == 2) {
		assert_int_equal(gt_pair_open(&d, GT_DTLS_PRIO("AES-256-GCM"), 1), 0);
		assert_int_equal(tr_ac_keys_from_gnutls(d.c, &tx, &rx), 0);
		t0 = mono();
		assert_int_equal(tr_ac_dp_set_dtls(f.dp, d.cfd, &tx, &rx), 0);
		d.cfd = -1;
		assert_true(mono() - t0 < 3.0); /* stuck would be forever */
		gt_pair_close(&d);
	}
	t0 = mono();
	assert_int_equal(tr_ac_dp_close(f.dp, TR_AC_CHAN_CSTP), 0);
	assert_true(mono() - t0 < 3.0); /* stuck would be forever */
	dp_close(&f);
	gt_pair_close(&f.p);
}

static void test_cstp_tls13(void **state)
{
	(void)state;
	cstp_echo(GT_TLS13_CERT_PRIO("AES-256-GCM"), 1);
}

static void test_cstp_tls12(void **state)
{
	(void)state;
	cstp_echo(GT_TLS12_PRIO("AES-128-GCM"), 0);
}

static void count_name(void *arg, const char *name, uint64_t v)
{
	unsigned *n = arg;

	assert_true(!strncmp(name, "cstp_", 5) || !strncmp(name, "dtls_", 5) ||
		    !strncmp(name, "ac_", 3));
	assert_int_equal(v, 0);
	(*n)++;
}

static void test_bad_args(void **state)
{
	struct fixture f;
	struct tr_ac_rec_keys k = { .version = TR_AC_VERSION_TLS13 };
	struct tr_ac_dp_cfg cfg = { .mtu = 20 };
	struct tr_ac_dp *dp;
	int sv[2];

	(void)state;
	assert_int_equal(tr_ac_dp_new(&dp, &cfg), -EINVAL);
	cfg.mtu = MTU;
	cfg.threads = 3;
	assert_int_equal(tr_ac_dp_new(&dp, &cfg), -EINVAL);
	dp_open(&f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	/* TLS keys for DTLS: refused, and the descriptor is closed anyway. */
	assert_int_equal(tr_ac_dp_set_dtls(f.dp, sv[0], &k, &k), -EINVAL);
	assert_int_equal(fcntl(sv[0], F_GETFD), -1);
	assert_int_equal(tr_ac_dp_use(f.dp, TR_AC_CHAN_CSTP), -ENOTCONN);
	assert_int_equal(tr_ac_dp_use(f.dp, TR_AC_CHAN_NONE), 0);
	/* Every counter comes out under its show name. */
	unsigned n = 0;
	tr_ac_dp_stats_each(f.dp, count_name, &n);
	assert_int_equal(n, 2 * sizeof(struct tr_ac_chan_stats) / 8 +
			    (sizeof(struct tr_ac_dp_stats) - sizeof(((struct tr_ac_dp_stats *)0)->chan)) / 8);
	close(sv[1]);
	dp_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dtls_echo),
		cmocka_unit_test(test_dtls_swap),
		cmocka_unit_test(test_dtls_gso),
		cmocka_unit_test_teardown(test_dtls_gso_pmtu, leave_ns),
		cmocka_unit_test(test_cstp_tls13),
		cmocka_unit_test(test_cstp_tls12),
		cmocka_unit_test(test_dtls_ring_full),
		cmocka_unit_test(test_cstp_stalled),
		cmocka_unit_test(test_bad_args),
	};
	int failed = 0;

	/* Every test with tx and rx threads apart, then with one thread. */
	for (g_threads = 2; g_threads >= 1; g_threads--) {
		fprintf(stderr, "-- data threads: %u\n", g_threads);
		failed += cmocka_run_group_tests(tests, NULL, NULL);
	}
	return failed;
}
