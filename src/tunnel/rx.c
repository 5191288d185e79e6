/* SPDX-License-Identifier: MIT */
/*
 * Ingress, one thread: wire -> OS. A burst of ingress slots, each sized for
 * the largest ESP datagram; one recvmmsg straight into them; each datagram
 * authenticated and decrypted in place, pulled and trimmed to the inner
 * packet, and committed. Slots no datagram filled go back whole.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "tunnel/dataplane.h"

/* Waits for a datagram or for stop, at most 200 ms (stop is also polled). */
static void wait_readable(struct tr_tunnel *t)
{
	struct pollfd pfd[2] = {
		{ .fd = t->udp.fd, .events = POLLIN },
		{ .fd = t->stop_evt, .events = POLLIN },
	};
	poll(pfd, 2, 200);
}

/* RFC 3948 §2.2/§2.3: a 1-byte 0xFF is a NAT-keepalive and four zero bytes
 * mark a non-ESP (IKE) packet; neither is for the data plane. */
static bool not_esp(const struct tr_pkt *p)
{
	const uint8_t *d = tr_pkt_data(p);

	return (p->len == 1 && d[0] == 0xff) ||
	       (p->len >= 4 && !d[0] && !d[1] && !d[2] && !d[3]);
}

/* Decapsulates one datagram in place. Returns true if it is an inner packet
 * to commit; rejections are counted (by the SA per reason, or here). */
static bool decap_one(struct tr_tunnel *t, struct tr_pkt *p)
{
	uint8_t nh;

	if (not_esp(p)) {
		t->rx.drop_not_esp++;
		return false;
	}
	if (tr_esp_decap(t->sa_in, p, &nh))
		return false;
	uint8_t v = p->len ? tr_pkt_data(p)[0] >> 4 : 0;
	if (!((nh == 4 && v == 4) || (nh == 41 && v == 6))) {
		t->rx.drop_next_header++;
		return false;
	}
	return true;
}

/* The copy-path baseline: decapsulate in the bounce buffer, then copy the
 * inner packet into the ring slot (as a VPN on Wintun must). */
static bool decap_bounced(struct tr_tunnel *t, struct tr_pkt *slot, uint8_t *buf, int32_t len)
{
	struct tr_pkt b;

	if (tr_pkt_init(&b, buf, t->bounce_size, 0, (uint32_t)len) || !decap_one(t, &b))
		return false;
	memcpy(tr_pkt_data(slot), tr_pkt_data(&b), b.len);
	slot->len = b.len;
	t->rx.copied_bytes += b.len;
	return true;
}

void *tr_tunnel_rx_main(void *arg)
{
	struct tr_tunnel *t = arg;
	struct tr_pkt pkts[TR_TUNNEL_BURST], good[TR_TUNNEL_BURST];
	struct iovec iov[TR_TUNNEL_BURST];
	int32_t res[TR_TUNNEL_BURST];

	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		int n = tr_tx_allocate_burst(t->s, t->dgram_max, pkts, TR_TUNNEL_BURST);

		if (n < 0) {
			tr_tunnel_request_stop(t, n);
			break;
		}
		if (n == 0) {
			/* The device is behind; the socket buffer holds what comes. */
			t->rx.drop_ring_full++;
			usleep(100);
			continue;
		}
		for (int i = 0; i < n; i++) {
			iov[i].iov_base = t->bounce_rx ? t->bounce_rx + (size_t)i * t->bounce_size
						       : tr_pkt_data(&pkts[i]);
			iov[i].iov_len = pkts[i].len;
		}
		int c = tr_udp_recv_burst(&t->udp, iov, res, (unsigned)n);
		if (c < 0)
			c = 0;
		/* Unfilled slots are the latest allocations: abandoning them
		 * last-first returns each one whole. */
		for (int i = n - 1; i >= c; i--)
			tr_tx_abandon(t->s, &pkts[i]);
		if (c == 0) {
			wait_readable(t);
			continue;
		}
		unsigned g = 0;
		uint64_t bytes = 0;
		for (int i = 0; i < c; i++) {
			if (res[i] >= 0) {
				pkts[i].len = (uint32_t)res[i];
				if (t->bounce_rx ? decap_bounced(t, &pkts[i], iov[i].iov_base, res[i])
						 : decap_one(t, &pkts[i])) {
					bytes += pkts[i].len;
					good[g++] = pkts[i];
					continue;
				}
			}
			tr_tx_abandon(t->s, &pkts[i]);
		}
		if (g) {
			int err = tr_tx_commit_burst(t->s, good, g, 0);
			if (err) {
				tr_tunnel_request_stop(t, err);
				break;
			}
		}
		t->rx.packets += g;
		t->rx.bytes += bytes;
	}
	return NULL;
}
