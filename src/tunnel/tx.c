/* SPDX-License-Identifier: MIT */
/*
 * Egress, one thread: OS -> wire. A burst of packets from the egress ring,
 * each encapsulated in place in its slot (ESP header into the head room,
 * trailer and ICV into the tail room), then one sendmmsg straight from the
 * slots, then the slots go back. No allocation, no copy, no lock.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "tunnel/dataplane.h"

/* RFC 4303 §2.6: next header names the inner protocol (IP-in-IP numbers). */
static uint8_t next_header_of(const struct tr_pkt *p)
{
	switch (p->len ? tr_pkt_data(p)[0] >> 4 : 0) {
	case 4:  return 4;  /* IPv4 */
	case 6:  return 41; /* IPv6 */
	default: return 0;
	}
}

/* Sends iov[0..n): what the socket cannot take now is waited for (bounded),
 * what it refuses is dropped and counted. */
static void send_all(struct tr_tunnel *t, struct iovec *iov, unsigned n)
{
	unsigned off = 0;

	while (off < n && !__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		int r = tr_udp_send_burst(&t->udp, iov + off, n - off);

		if (r > 0) {
			off += (unsigned)r;
		} else if (r == -EAGAIN) {
			struct pollfd pfd = { .fd = t->udp.fd, .events = POLLOUT };
			poll(&pfd, 1, 100);
		} else {
			t->tx.drop_send++; /* the first one failed; go on after it */
			off++;
		}
	}
}

void *tr_tunnel_tx_main(void *arg)
{
	struct tr_tunnel *t = arg;
	struct tr_pkt pkts[TR_TUNNEL_BURST];
	struct iovec iov[TR_TUNNEL_BURST];

	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		int n = tr_rx_receive_burst(t->s, pkts, TR_TUNNEL_BURST);

		if (n < 0) {
			tr_tunnel_request_stop(t, n);
			break;
		}
		if (n == 0) {
			int w = tr_rx_wait(t->s, 200);
			if (w < 0) {
				tr_tunnel_request_stop(t, w);
				break;
			}
			continue;
		}
		unsigned k = 0;
		uint64_t bytes = 0;
		for (int i = 0; i < n; i++) {
			uint8_t nh = next_header_of(&pkts[i]);

			if (!nh) {
				t->tx.drop_not_ip++;
				continue;
			}
			struct tr_pkt *p = &pkts[i], bounce;
			if (t->bounce_tx) { /* the copy-path baseline: out of the ring first */
				uint8_t *b = t->bounce_tx + (size_t)k * t->bounce_size;
				if (tr_pkt_init(&bounce, b, t->bounce_size, tr_pkt_headroom(p), p->len))
					continue;
				memcpy(tr_pkt_data(&bounce), tr_pkt_data(p), p->len);
				t->tx.copied_bytes += p->len;
				p = &bounce;
			}
			if (tr_esp_encap(t->sa_out, p, nh)) {
				t->tx.err_encap++; /* counted by reason in the SA's stats */
				continue;
			}
			iov[k].iov_base = tr_pkt_data(p);
			iov[k].iov_len = p->len;
			bytes += p->len;
			k++;
		}
		send_all(t, iov, k);
		t->tx.packets += k;
		t->tx.bytes += bytes;
		tr_rx_release_burst(t->s, pkts, (unsigned)n);
	}
	return NULL;
}
