/* SPDX-License-Identifier: MIT */
/*
 * Egress, one thread: OS -> wire. A burst of packets from the egress ring,
 * each encapsulated in place in its slot (ESP header into the head room,
 * trailer and ICV into the tail room), then one sendmmsg straight from the
 * slots, then the slots go back. No allocation, no copy, no lock.
 *
 * Offload = on: runs of equal-length datagrams (a TCP super-packet the
 * engine cut into slots, or any bulk flow) go as one UDP_SEGMENT message
 * each, its iovecs still the slots, all messages of a burst in one sendmmsg:
 * the kernel builds one skb per run instead of one per datagram.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "lib/barrier.h"
#include "codec/esp_int.h"
#include "tunnel/dataplane.h"
#include "tunnel/work.h"

/* RFC 4303 §2.6: next header names the inner protocol (IP-in-IP numbers). */
static uint8_t next_header_of(const struct tr_pkt *p)
{
	switch (p->len ? tr_pkt_data(p)[0] >> 4 : 0) {
	case 4:  return 4;  /* IPv4 */
	case 6:  return 41; /* IPv6 */
	default: return 0;
	}
}

/* What the control thread asked for, and what is due, between bursts:
 * control datagrams (after the sequence jump they may depend on), the
 * peer's new address, a keepalive. */
static void tx_turn(struct tr_tunnel *t, uint32_t *roam_seen /* [TR_CONFIG_QUEUES_MAX] */)
{
	unsigned ctl = __atomic_load_n(&t->ctl_send, __ATOMIC_RELAXED);

	if (ctl)
		ctl = __atomic_exchange_n(&t->ctl_send, 0, __ATOMIC_ACQUIRE);
	uint64_t j = __atomic_load_n(&t->out_jump, __ATOMIC_ACQUIRE);
	if (j > t->sa_out->seq)
		tr_store_once(&t->sa_out->seq, j);
	/* A move any queue's rx thread saw is every queue's. */
	for (unsigned k = 0; k < t->n_all && k < TR_CONFIG_QUEUES_MAX; k++) {
		struct tr_tunnel *x = &t->all[k];
		uint32_t g = tr_seq_begin(&x->roam_gen);
		union tr_sockaddr to;

		if (g == roam_seen[k] || (g & 1))
			continue;
		tr_seq_copy(&to, &x->roam_to, sizeof(to));
		if (!tr_seq_retry(&x->roam_gen, g)) {
			/* The control and upkeep threads read udp.peer too. */
			tr_seq_write(&t->peer_gen, &t->udp.peer, &to, sizeof(to));
			roam_seen[k] = g;
		}
	}
	if (ctl & TR_CTL_ACK)
		tr_tunnel_send_control(t, TR_CTL_ACK);
	if (ctl & TR_CTL_HELLO)
		tr_tunnel_send_control(t, TR_CTL_HELLO);
	if (t->keepalive && tr_tunnel_now_ms() - t->tx_last_ms >= (uint64_t)t->keepalive * 1000)
		tr_tunnel_send_control(t, TR_CTL_KEEPALIVE);
}

/* Longest wait for the socket to take more: a stop request is also seen. */
#define WRITABLE_WAIT_MS 100

/*
 * The socket's send buffer is full: waits until it takes more, at most
 * WRITABLE_WAIT_MS. With Workers = 1 (w->rx set) this thread is the queue's
 * only receiver too, and sending can stay blocked for as long as the path
 * is slower than TUN: datagrams that arrive meanwhile are received here, in
 * the same poll, or they would wait (and overflow the receive buffer) until
 * sending let go. POLLERR (an ICMP error queued, IP_RECVERR) runs the
 * receive too: it is what drains the error queue, which would otherwise
 * make every poll return at once.
 */
static void wait_writable(struct tr_tunnel *t, struct tr_tx_work *w)
{
	uint64_t until = tr_tunnel_now_ms() + WRITABLE_WAIT_MS;

	tr_stat_add(&t->tx.send_waits, 1);
	if (!w->rx) {
		struct pollfd pfd = { .fd = t->udp.fd, .events = POLLOUT };

		poll(&pfd, 1, WRITABLE_WAIT_MS);
		return;
	}
	for (;;) {
		uint64_t now = tr_tunnel_now_ms();
		struct pollfd pfd[2] = {
			{ .fd = t->udp.fd, .events = POLLIN | POLLOUT },
			{ .fd = t->stop_evt, .events = POLLIN },
		};

		if (now >= until || __atomic_load_n(&t->stop, __ATOMIC_RELAXED))
			return;
		if (poll(pfd, 2, (int)(until - now)) <= 0 || pfd[1].revents ||
		    (pfd[0].revents & POLLOUT))
			return; /* the caller sends again (or sees stop) */
		if (!(pfd[0].revents & (POLLIN | POLLERR)))
			return; /* POLLHUP/POLLNVAL: the send reports it */
		int c = tr_tunnel_rx_step(t, w->rx);

		if (c == 0 && (pfd[0].revents & POLLERR))
			tr_udp_drain_errors(&t->udp); /* a send took the error (udp.h) */
		if (c == -EAGAIN) {
			/* No ingress slot (the device is behind): the
			 * datagram stays readable, so sleep a millisecond
			 * on stop alone rather than poll it again at once. */
			poll(&pfd[1], 1, 1);
		} else if (c < 0) {
			tr_tunnel_request_stop(t, c);
			return;
		} else if (c > 0) {
			tr_stat_add(&t->rx.send_wait_receives, 1);
			w->rx_moved = true;
		}
	}
}

/* An ICMP error the kernel kept for the socket (IP_RECVERR) is reported by
 * the next call, whichever it is: it is about a datagram sent earlier, and
 * the one this call carried did not go. Worth another try; several may be
 * pending, one reported per call. */
#define ICMP_RETRIES 4
static bool icmp_report(int err)
{
	return err == -ECONNREFUSED || err == -EHOSTUNREACH || err == -ENETUNREACH;
}

/* Sends iov[0..n): what the socket cannot take now is waited for (bounded),
 * what it refuses is dropped and counted. Returns the datagrams the socket
 * took (a stop request leaves the rest unsent, and uncounted as sent). */
static unsigned send_all(struct tr_tunnel *t, struct tr_tx_work *w, struct iovec *iov, unsigned n,
			 uint64_t *bytes)
{
	unsigned off = 0, sent = 0, retried = ~0u, tries = 0;

	while (off < n && !__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		int r = tr_udp_send_burst(&t->udp, iov + off, n - off);

		if (r > 0) {
			for (int i = 0; i < r; i++)
				*bytes += iov[off + (unsigned)i].iov_len;
			off += (unsigned)r;
			sent += (unsigned)r;
		} else if (r == -EAGAIN) {
			wait_writable(t, w);
		} else if (icmp_report(r) && (retried != off || tries < ICMP_RETRIES)) {
			/* About an earlier datagram: this one did not go yet. */
			tries = retried == off ? tries + 1 : 1;
			retried = off;
		} else {
			tr_stat_add(&t->tx.drop_send, 1); /* the first one failed; go on after it */
			off++;
		}
	}
	return sent;
}

/* The kernel or the route refused UDP_SEGMENT: say so once and send one
 * datagram per message from now on. Only this thread reads the switch. */
static void gso_give_up(struct tr_tunnel *t, int err)
{
	fprintf(stderr, "tunroom: UDP GSO refused by the kernel (%s): one datagram per message from now on\n",
		strerror(-err));
	__atomic_store_n(&t->tx.gso_off, 1, __ATOMIC_RELAXED);
}

/* Sends iov[0..n) as runs of equal datagrams, one UDP_SEGMENT message per
 * run, in as few sendmmsg calls as the socket takes. Returns the datagrams
 * the socket took, and adds their bytes to *bytes. */
static unsigned send_segmented(struct tr_tunnel *t, struct tr_tx_work *w, struct iovec *iov,
			       unsigned n, uint64_t *bytes)
{
	struct tr_udp_msg m[TR_TUNNEL_GSO_BURST];
	uint32_t max = tr_udp_gso_max_payload(&t->udp);
	unsigned nm = 0, off = 0, sent = 0, retried = ~0u, tries = 0;

	for (unsigned i = 0; i < n; nm++) {
		unsigned run = tr_udp_gso_run(iov + i, n - i, max);

		m[nm] = (struct tr_udp_msg){
			.iov = iov + i, .iovlen = run, .seg = run > 1 ? (uint32_t)iov[i].iov_len : 0,
		};
		i += run;
	}
	while (off < nm && !__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		int r = tr_udp_send_msgs(&t->udp, m + off, nm - off);

		if (r > 0) {
			for (unsigned i = off; i < off + (unsigned)r; i++) {
				sent += m[i].iovlen;
				for (unsigned j = 0; j < m[i].iovlen; j++)
					*bytes += m[i].iov[j].iov_len;
			}
			off += (unsigned)r;
		} else if (r == -EAGAIN) {
			wait_writable(t, w);
		} else if (icmp_report(r) && (retried != off || tries < ICMP_RETRIES)) {
			tries = retried == off ? tries + 1 : 1;
			retried = off;
		} else if (m[off].seg && tr_udp_gso_refused(r)) {
			gso_give_up(t, r);
			/* The messages left are consecutive in iov: send them plainly. */
			return sent + send_all(t, w, m[off].iov, n - (unsigned)(m[off].iov - iov), bytes);
		} else if (m[off].seg && r == -EMSGSIZE) {
			/* Segments longer than the route's MTU: the kernel cuts
			 * no GSO run into IP fragments, but may a lone datagram. */
			sent += send_all(t, w, m[off].iov, m[off].iovlen, bytes);
			off++;
		} else {
			tr_stat_add(&t->tx.drop_send, m[off].iovlen); /* all of the run failed */
			off++;
		}
	}
	return sent;
}

int tr_tunnel_tx_step(struct tr_tunnel *t, struct tr_tx_work *w)
{
	struct tr_pkt *pkts = w->pkts;
	struct iovec *iov = w->iov;
	/* Offload = off keeps today's burst, so the two can be compared. */
	unsigned burst = t->offload ? TR_TUNNEL_GSO_BURST : TR_TUNNEL_BURST;

	tx_turn(t, w->roam_seen);
	int n = tr_rx_receive_burst(t->s, pkts, burst);

	if (n <= 0)
		return n;
	unsigned k = 0;
	uint64_t bytes = 0;
	/* Numbers beyond what the state file holds wait for upkeep. */
	uint64_t limit = __atomic_load_n(&t->out_limit, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++) {
		uint8_t nh = next_header_of(&pkts[i]);

		if (!nh) {
			tr_stat_add(&t->tx.drop_not_ip, 1);
			continue;
		}
		if (tr_tunnel_to_endpoint(t, &pkts[i])) {
			/* The first one: upkeep says so in the log. */
			if (!tr_stat_read(&t->tx.drop_loop))
				tr_tunnel_poke(t->upkeep_evt);
			tr_stat_add(&t->tx.drop_loop, 1);
			continue;
		}
		if (t->sa_out->seq >= limit) {
			uint64_t unsaved = tr_stat_read(&t->tx.drop_unsaved);

			tr_stat_add(&t->tx.drop_unsaved, 1);
			if (!unsaved || (unsaved + 1) % 1024 == 0)
				tr_tunnel_poke(t->upkeep_evt);
			continue;
		}
		struct tr_pkt *p = &pkts[i], bounce;
		if (t->bounce_tx) { /* the copy-path baseline: out of the ring first */
			uint8_t *b = t->bounce_tx + (size_t)k * t->bounce_size;
			if (tr_pkt_init(&bounce, b, t->bounce_size, tr_pkt_headroom(p), p->len)) {
				tr_stat_add(&t->tx.err_encap, 1); /* no room for it in the bounce buffer */
				continue;
			}
			memcpy(tr_pkt_data(&bounce), tr_pkt_data(p), p->len);
			tr_stat_add(&t->tx.copied_bytes, p->len);
			p = &bounce;
		}
		if (tr_esp_encap(t->sa_out, p, nh)) {
			tr_stat_add(&t->tx.err_encap, 1); /* counted by reason in the SA's stats */
			continue;
		}
		iov[k].iov_base = tr_pkt_data(p);
		iov[k].iov_len = p->len;
		k++;
	}
	tr_tunnel_ahead(t, t->sa_out->seq, limit, &t->out_poked);
	/* Only what the socket took counts as sent; refusals are drop_send. */
	unsigned sent = (t->udp.flags & TR_UDP_F_GSO) && !t->tx.gso_off
				? send_segmented(t, w, iov, k, &bytes)
				: send_all(t, w, iov, k, &bytes);
	tr_stat_add(&t->tx.packets, sent);
	tr_stat_add(&t->tx.bytes, bytes);
	if (k)
		t->tx_last_ms = tr_tunnel_now_ms();
	tr_rx_release_burst(t->s, pkts, (unsigned)n);
	return n;
}

int tr_tunnel_tx_idle_ms(const struct tr_tunnel *t)
{
	if (!t->keepalive)
		return TR_TUNNEL_IDLE_MS;
	uint64_t due = t->tx_last_ms + (uint64_t)t->keepalive * 1000, now = tr_tunnel_now_ms();
	/* Due, yet tx_turn (which ran just before) did not send it: the send
	 * failed (peer down, numbers not saved). Again later, not in a loop. */
	if (due <= now)
		return TR_TUNNEL_RETRY_MS;
	/* A tick more: the coarse clock may read a tick short at the timeout. */
	due = due - now + TR_TUNNEL_SLACK_MS;
	return due < TR_TUNNEL_IDLE_MS ? (int)due : TR_TUNNEL_IDLE_MS;
}

void *tr_tunnel_tx_main(void *arg)
{
	struct tr_tunnel *t = arg;
	struct tr_tx_work w = { 0 };

	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		int n = tr_tunnel_tx_step(t, &w);

		if (n == 0)
			n = tr_rx_wait(t->s, tr_tunnel_tx_idle_ms(t));
		if (n < 0) {
			tr_tunnel_request_stop(t, n);
			break;
		}
	}
	return NULL;
}
