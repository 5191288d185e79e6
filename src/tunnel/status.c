/* SPDX-License-Identifier: MIT */
/*
 * What the running tunnel tells: the control socket's "get" (state, then
 * every counter, summed over the queues) and the log's hints about a
 * misconfigured pair. Reads only: each counter has one writing thread
 * elsewhere; these loads are relaxed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tunnel/run.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static void put_hex32(struct tr_ctl_reply *r, const char *key, uint32_t v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%08x", v);
	tr_ctl_put_str(r, key, buf);
}

/* "off", or "on" and what of it the kernel granted: "on (tun tso, gso, gro)".
 * The TUN part is asked each time: the engine may turn TSO off (and back on)
 * while a session whose ring is too small for TSO reads runs. */
static const char *offload_state(const struct run *run, char *buf, size_t len)
{
	const struct tr_tunnel *t = &run->t[0];

	if (!run->cfg->offload)
		return "off";
	snprintf(buf, len, "on (tun %s%s%s)", tr_tundev_offload(run->dev),
		 (t->udp.flags & TR_UDP_F_GSO) && !LOAD(t->tx.gso_off) ? ", gso" : ", no gso",
		 t->udp.flags & TR_UDP_F_GRO ? ", gro" : ", no gro");
	return buf;
}

static void add_u64s(void *sum, const void *part, size_t size)
{
	uint64_t *d = sum;
	const uint64_t *p = part;

	for (size_t i = 0; i < size / sizeof(uint64_t); i++)
		d[i] += __atomic_load_n(&p[i], __ATOMIC_RELAXED);
}

/* A peer is "silent" after this many seconds without an authentic datagram:
 * three keepalive intervals (it keeps us alive as we keep it: both ends
 * should set PersistentKeepalive), or 30 s without keepalives. */
static uint64_t silent_after(const struct tr_config *cfg)
{
	return cfg->keepalive ? 3ull * cfg->keepalive : 30;
}

/* Control socket "get": state, then counters named <dir>_<drop|err>_<reason>. */
int tr_tunnel_ctl_get(void *arg, struct tr_ctl_reply *r)
{
	struct run *run = arg;
	const struct tr_config *cfg = run->cfg;
	struct tr_tunnel *t = &run->t[0];
	struct tr_esp_stats out = { 0 }, in = { 0 }, e;
	struct tr_stats ss = { 0 }, se;
	struct tr_tundev_stats ds;
	struct tr_tx_stats tx = { 0 };
	struct tr_rx_stats rx = { 0 };
	struct tr_udp_stats us = { 0 };
	uint64_t last = 0, kdrops = 0;

	/* Each queue's counters, summed (every one of these structs is
	 * uint64_t counters only). Relaxed: one writer each. */
	for (unsigned q = 0; q < run->nq; q++) {
		const struct tr_tunnel *x = &run->t[q];
		add_u64s(&tx, &x->tx, sizeof(tx));
		add_u64s(&rx, &x->rx, sizeof(rx));
		add_u64s(&us, &x->udp.stats, sizeof(us));
		tr_esp_sa_stats(x->sa_out, &e);
		add_u64s(&out, &e, sizeof(e));
		tr_esp_sa_stats(x->sa_in, &e);
		add_u64s(&in, &e, sizeof(e));
		tr_session_stats(x->s, &se);
		add_u64s(&ss, &se, sizeof(se));
		uint64_t l = LOAD(x->rx_last_ms);
		last = l > last ? l : last;
		kdrops += tr_udp_kernel_drops(&x->udp);
	}
	char buf[64];
	/* The TUN part alone may be a sentence ("off (why)", up to 160 bytes). */
	char mode[224];

	tr_ctl_put_str(r, "name", tr_tundev_name(run->dev));
	tr_ctl_put_str(r, "cipher", tr_esp_cipher_name(cfg->cipher));
	tr_ctl_put_u64(r, "mtu", cfg->mtu);
	tr_ctl_put_str(r, "state", LOAD(t->stop) ? "stopping" : "up");
	tr_ctl_put_u64(r, "pid", (uint64_t)getpid());
	tr_ctl_put_u64(r, "uptime", (uint64_t)(time(NULL) - run->started));
	tr_ctl_put_str(r, "listen", tr_sockaddr_str(&t->udp.local, buf, sizeof(buf)));
	union tr_sockaddr ep;
	tr_ctl_put_str(r, "endpoint", tr_sockaddr_str(tr_tunnel_endpoint(t, &ep), buf, sizeof(buf)));
	/* Liveness: an authentic datagram (data, keepalive or hello) lately. */
	if (last) {
		uint64_t ago = (tr_tunnel_now_ms() - last) / 1000;
		tr_ctl_put_u64(r, "latest_rx", ago);
		/* The same for the plain text, where numbers are counters (-s). */
		char when[32];
		snprintf(when, sizeof(when), "%llu s ago", (unsigned long long)ago);
		tr_ctl_put_str(r, "latest", when);
		tr_ctl_put_str(r, "peer", ago < silent_after(cfg) ? "alive" : "silent");
	} else {
		tr_ctl_put_str(r, "peer", "silent (nothing authentic yet)");
	}
	if (cfg->keepalive)
		tr_ctl_put_u64(r, "keepalive", cfg->keepalive);
	put_hex32(r, "out_spi", cfg->out.spi);
	put_hex32(r, "in_spi", cfg->in.spi);
	tr_ctl_put_u64(r, "replay_window", cfg->replay_window);
	tr_ctl_put_str(r, "esn", cfg->esn ? "on" : "off");
	tr_ctl_put_str(r, "crypto", tr_esp_sa_crypto(t->sa_out));
	tr_ctl_put_str(r, "io", tr_tundev_io_backend(run->dev));
	tr_ctl_put_u64(r, "head_room", tr_session_head_room(t->s));
	tr_ctl_put_u64(r, "tail_room", tr_session_tail_room(t->s));
	tr_ctl_put_str(r, "zero_copy", cfg->zero_copy ? "on" : "off");
	tr_ctl_put_str(r, "inline", cfg->inline_io ? "on" : "off");
	tr_ctl_put_u64(r, "workers", cfg->workers);
	tr_ctl_put_str(r, "offload", offload_state(run, mode, sizeof(mode)));

	if (run->nq > 1) {
		/* Per queue, "q0/q1/...": how the flows spread. */
		char per_rx[16 * 21], per_tx[16 * 21];
		size_t a = 0, b = 0;
		for (unsigned q = 0; q < run->nq; q++) {
			a += (size_t)snprintf(per_rx + a, sizeof(per_rx) - a, "%s%llu", q ? "/" : "",
					      (unsigned long long)LOAD(run->t[q].rx.packets));
			b += (size_t)snprintf(per_tx + b, sizeof(per_tx) - b, "%s%llu", q ? "/" : "",
					      (unsigned long long)LOAD(run->t[q].tx.packets));
		}
		tr_ctl_put_u64(r, "queues", run->nq);
		tr_ctl_put_str(r, "queue_rx_packets", per_rx);
		tr_ctl_put_str(r, "queue_tx_packets", per_tx);
	}
	tr_tundev_stats(run->dev, &ds);
	tr_ctl_put_u64(r, "rx_packets", rx.packets);
	tr_ctl_put_u64(r, "rx_bytes", rx.bytes);
	tr_ctl_put_u64(r, "rx_datagrams", us.rx_datagrams);
	tr_ctl_put_u64(r, "rx_err_auth", in.err_auth);
	tr_ctl_put_u64(r, "rx_drop_replay", in.err_replay + in.err_too_old);
	tr_ctl_put_u64(r, "rx_err_malformed", in.err_malformed);
	tr_ctl_put_u64(r, "rx_err_padding", in.err_padding);
	tr_ctl_put_u64(r, "rx_err_crypto", in.err_crypto);
	tr_ctl_put_u64(r, "rx_drop_spi", in.err_spi);
	tr_ctl_put_u64(r, "rx_drop_peer", rx.drop_peer + us.rx_drop_peer);
	tr_ctl_put_u64(r, "rx_drop_source", rx.drop_source);
	tr_ctl_put_u64(r, "rx_drop_unsaved", rx.drop_unsaved);
	tr_ctl_put_u64(r, "rx_control", rx.control);
	tr_ctl_put_u64(r, "rx_drop_trunc", us.rx_drop_trunc);
	/* Lost in the kernel before recvmmsg: the socket buffer overflowed. */
	tr_ctl_put_u64(r, "rx_drop_socket", kdrops);
	tr_ctl_put_u64(r, "rx_drop_not_esp", rx.drop_not_esp);
	tr_ctl_put_u64(r, "rx_drop_next_header", rx.drop_next_header);
	tr_ctl_put_u64(r, "rx_drop_ring_full", rx.drop_ring_full);
	tr_ctl_put_u64(r, "rx_ring_full_waits", rx.ring_full_waits);
	tr_ctl_put_u64(r, "rx_send_wait_receives", rx.send_wait_receives);
	tr_ctl_put_u64(r, "rx_drop_malformed_inner", ds.ingress_drop_malformed);
	tr_ctl_put_u64(r, "rx_err_tun_write", ds.ingress_err_write);
	tr_ctl_put_u64(r, "rx_copied_bytes", rx.copied_bytes);
	tr_ctl_put_u64(r, "rx_syscalls", us.rx_syscalls);
	tr_ctl_put_u64(r, "rx_gro_batches", us.rx_gro_batches);
	tr_ctl_put_u64(r, "rx_gro_datagrams", us.rx_gro_datagrams);
	tr_ctl_put_u64(r, "rx_gro_slow", rx.gro_slow);
	tr_ctl_put_u64(r, "rx_gro_moved", rx.gro_moved);
	tr_ctl_put_u64(r, "rx_drop_gro", rx.drop_gro);
	tr_ctl_put_u64(r, "rx_gro_peeks", rx.gro_peeks);
	tr_ctl_put_u64(r, "tx_packets", tx.packets);
	tr_ctl_put_u64(r, "tx_copied_bytes", tx.copied_bytes);
	tr_ctl_put_u64(r, "tx_syscalls", us.tx_syscalls);
	tr_ctl_put_u64(r, "tx_gso_sends", us.tx_gso_sends);
	tr_ctl_put_u64(r, "tx_gso_segments", us.tx_gso_segments);
	tr_ctl_put_u64(r, "tx_bytes", tx.bytes);
	tr_ctl_put_u64(r, "tx_drop_not_ip", tx.drop_not_ip);
	tr_ctl_put_u64(r, "tx_err_encap", tx.err_encap);
	tr_ctl_put_u64(r, "tx_err_seq_overflow", out.err_seq_overflow);
	tr_ctl_put_u64(r, "tx_drop_send", tx.drop_send);
	tr_ctl_put_u64(r, "tx_drop_unsaved", tx.drop_unsaved);
	tr_ctl_put_u64(r, "tx_drop_loop", tx.drop_loop);
	tr_ctl_put_u64(r, "tx_send_waits", tx.send_waits);
	tr_ctl_put_u64(r, "tx_control", tx.control);
	tr_ctl_put_u64(r, "peer_roams", rx.peer_roams);
	tr_ctl_put_u64(r, "peer_restarts", run->up.peer_restarts);
	/* ICMP errors about what we sent; the peer is gone or unroutable. */
	tr_ctl_put_u64(r, "tx_err_unreachable", us.tx_err_unreachable +
						 us.rx_err_unreachable);
	tr_ctl_put_u64(r, "tx_err_tun_read", ds.egress_err_read);
	tr_ctl_put_u64(r, "ring_sleeps", ss.sleeps);
	tr_ctl_put_u64(r, "ring_wakeups_sent", ss.wakeups_sent);
	tr_ctl_put_u64(r, "tun_syscalls", ds.syscalls);
	tr_ctl_put_u64(r, "tun_egress_hole_voids", ds.egress_hole_voids);
	/* TUN offloads (the engine's side of Offload = on). */
	tr_ctl_put_u64(r, "tun_gso_packets", ds.egress_gso_packets);
	tr_ctl_put_u64(r, "tun_gso_segments", ds.egress_gso_segments);
	tr_ctl_put_u64(r, "tun_gso_slow", ds.egress_gso_slow);
	tr_ctl_put_u64(r, "tun_copied_bytes", ds.egress_copied_bytes);
	tr_ctl_put_u64(r, "tun_csum_completed", ds.egress_csum_completed);
	tr_ctl_put_u64(r, "tx_drop_gso_bad", ds.egress_drop_gso_bad);
	tr_ctl_put_u64(r, "tx_drop_gso_room", ds.egress_drop_gso_room);
	tr_ctl_put_u64(r, "tun_gro_packets", ds.ingress_gso_packets);
	tr_ctl_put_u64(r, "tun_gro_segments", ds.ingress_gso_segments);
	tr_ctl_put_u64(r, "tun_csum_trusted", ds.ingress_csum_trusted);
	return 0;
}

/* What the counters say about a misconfigured pair, said in the log at most
 * every HINT_EVERY seconds per kind: a wrong SPI or a failed ICV is otherwise
 * silent 100 % loss, visible only in `tunroom show -s`. */
#define HINT_EVERY 10


/* One hint: n (a counter's sum) past what *said reports, at most every
 * HINT_EVERY seconds. True if it is due; *said and *at then move. */
static bool hint_due(uint64_t n, uint64_t *said, time_t *at, time_t now, uint64_t *fresh)
{
	if (n <= *said || now - *at < HINT_EVERY)
		return false;
	*fresh = n - *said;
	*said = n;
	*at = now;
	return true;
}

void tr_tunnel_hint(struct run *run, struct tr_hints *h)
{
	uint64_t spi = 0, auth = 0, other_spi = 0, other_auth = 0, n = 0;
	time_t now = time(NULL);
	const char *name = run->cfg->name;

	/* Counted by the rx threads apart: datagrams from the peer's address
	 * say something about the pair's keys; others may be anyone's (the
	 * port is open to the world, and scanned), or the peer's from behind
	 * a NAT that has not authenticated yet. */
	for (unsigned q = 0; q < run->nq; q++) {
		const struct tr_rx_stats *rx = &run->t[q].rx;

		spi += LOAD(rx->hint_spi);
		auth += LOAD(rx->hint_auth);
		other_spi += LOAD(rx->hint_other_spi);
		other_auth += LOAD(rx->hint_other_auth);
	}
	if (hint_due(spi, &h->spi, &h->spi_at, now, &n))
		fprintf(stderr, "tunroom: %s: %llu datagram(s) from the peer with an SPI that is not "
			"InSPI 0x%08x: does the peer have In and Out swapped (tunroom genkey)?\n",
			name, (unsigned long long)n, run->cfg->in.spi);
	if (hint_due(auth, &h->auth, &h->auth_at, now, &n))
		fprintf(stderr, "tunroom: %s: %llu datagram(s) from the peer failed authentication: "
			"both ends need the same keys (In and Out swapped), cipher and ESN\n",
			name, (unsigned long long)n);
	uint64_t n_spi = 0, n_auth = 0;
	bool say_spi = hint_due(other_spi, &h->other_spi, &h->other_spi_at, now, &n_spi);
	bool say_auth = hint_due(other_auth, &h->other_auth, &h->other_auth_at, now, &n_auth);
	if (!say_spi && !say_auth)
		return;
	union tr_sockaddr ep;
	char peer[64];

	tr_sockaddr_str(tr_tunnel_endpoint(&run->t[0], &ep), peer, sizeof(peer));
	if (say_spi)
		fprintf(stderr, "tunroom: %s: %llu datagram(s) from addresses other than the peer's "
			"(%s) with an SPI that is not InSPI 0x%08x: a stranger's (the port is open "
			"to anyone), or the peer's from behind a NAT with In and Out swapped\n",
			name, (unsigned long long)n_spi, peer, run->cfg->in.spi);
	if (say_auth)
		fprintf(stderr, "tunroom: %s: %llu datagram(s) from addresses other than the peer's "
			"(%s) failed authentication: a stranger's, or the peer's from behind a NAT "
			"with other keys, cipher or ESN\n", name, (unsigned long long)n_auth, peer);
}
