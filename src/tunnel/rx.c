/* SPDX-License-Identifier: MIT */
/*
 * Ingress, one thread: wire -> OS. A burst of ingress slots, each sized for
 * the largest ESP datagram; one recvmmsg straight into them; each datagram
 * authenticated and decrypted in place, pulled and trimmed to the inner
 * packet, and committed. Slots no datagram filled go back whole.
 *
 * Offload = on (UDP_GRO): the kernel hands over a run of datagrams of one
 * size G back to back in one message. Each message is offered one G-byte
 * piece per slot, so datagram k of a batch lands in slot k and is decrypted
 * there: no copy. A batch of another size, or a lone datagram longer than G,
 * takes the counted slow path (staged, then copied into slots; one that
 * outgrows its slots moves the messages behind it too, so that arrival
 * order stays slot order) and G follows it for next time.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "lib/barrier.h"
#include "tunnel/dataplane.h"
#include "tunnel/work.h"

/* Waits for a datagram or for stop (stop_evt is polled too). */
static void wait_readable(struct tr_tunnel *t)
{
	struct pollfd pfd[2] = {
		{ .fd = t->udp.fd, .events = POLLIN },
		{ .fd = t->stop_evt, .events = POLLIN },
	};
	/* Nothing here runs on a timer; stop_evt ends the wait. The cap only
	 * bounds what a lost wake-up would cost (work.h). */
	poll(pfd, 2, TR_TUNNEL_IDLE_MS);
}

/* RFC 3948 §2.2/§2.3: a 1-byte 0xFF is a NAT-keepalive and four zero bytes
 * mark a non-ESP (IKE) packet; neither is for the data plane. */
static bool not_esp(const struct tr_pkt *p)
{
	const uint8_t *d = tr_pkt_data(p);

	return (p->len == 1 && d[0] == 0xff) ||
	       (p->len >= 4 && !d[0] && !d[1] && !d[2] && !d[3]);
}

/* Inner source within PeerAddresses, and not one of our own addresses
 * (AllowedIPs, as WireGuard filters): a peer may only speak for the
 * addresses routed to it. */
static bool source_ok(const struct tr_tunnel *t, const struct tr_pkt *p)
{
	const uint8_t *d = tr_pkt_data(p), *src;
	uint8_t fam, n;

	if ((d[0] >> 4) == 4) {
		if (p->len < 20)
			return true; /* the engine drops and counts it as malformed */
		fam = 4, n = 4, src = d + 12;
	} else {
		if (p->len < 40)
			return true;
		fam = 6, n = 16, src = d + 8;
	}
	for (unsigned i = 0; i < t->n_src_own; i++)
		if (t->src_own[i].family == fam && !memcmp(t->src_own[i].addr, src, n))
			return false;
	for (unsigned i = 0; i < t->n_src_ok; i++) {
		const struct tr_prefix *x = &t->src_ok[i];
		unsigned j = 0;

		if (x->family != fam)
			continue;
		while (j < n && (src[j] & x->mask[j]) == x->addr[j])
			j++;
		if (j == n)
			return true;
	}
	return false;
}

/* An authentic datagram from another address or port: the peer moved (a
 * NAT changed its mapping, or it roamed). Replies go there from now on;
 * the tx thread picks the address up (seqlock on roam_gen). */
static void roam(struct tr_tunnel *t, const union tr_sockaddr *from)
{
	t->udp.rx_peer = *from;
	tr_seq_write(&t->roam_gen, &t->roam_to, from, sizeof(*from));
	tr_stat_add(&t->rx.peer_roams, 1);
	tr_tunnel_poke(t->upkeep_evt);
	tr_session_wake(t->s); /* the sending thread may sleep */
}

/* A datagram that did not authenticate (wrong SPI or keys, which the log's
 * hints name: status.c) wakes the control thread, at most once a second:
 * garbage at any rate costs one syscall a second, and an idle control
 * thread need not look at the counters on a timer. */
static void refused(struct tr_tunnel *t)
{
	uint64_t now = tr_tunnel_now_ms();

	if (now - t->rx_refused_ms >= 1000) {
		t->rx_refused_ms = now;
		tr_tunnel_poke(t->upkeep_evt);
	}
}

/* Liveness: when the last authentic datagram came, once per receive. */
static void rx_seen(struct tr_tunnel *t)
{
	if (t->rx_auth) {
		__atomic_store_n(&t->rx_last_ms, tr_tunnel_now_ms(), __ATOMIC_RELAXED);
		t->rx_auth = false;
	}
}

/* Decapsulates one datagram in place. from: its source when that is not
 * the peer's address as known, else NULL. Returns true if it is an inner
 * packet to commit; rejections are counted (by the SA per reason, or here). */
static bool decap_one(struct tr_tunnel *t, struct tr_pkt *p, const union tr_sockaddr *from)
{
	uint8_t nh;

	if (not_esp(p)) {
		tr_stat_add(&t->rx.drop_not_esp, 1);
		return false;
	}
	uint64_t seq = tr_tunnel_esp_seq(t, tr_pkt_data(p), p->len);
	int err = tr_esp_decap(t->sa_in, p, &nh);
	if (err) {
		/* Anyone can send to the port: the log's hints (status.c)
		 * tell the peer's datagrams from others'. */
		tr_stat_add(from ? &t->rx.hint_other_spi : &t->rx.hint_spi, err == -ENOENT);
		tr_stat_add(from ? &t->rx.hint_other_auth : &t->rx.hint_auth, err == -EACCES);
		tr_stat_add(&t->rx.drop_peer, from != NULL);
		refused(t);
		return false;
	}
	t->rx_auth = true;
	if (from && !tr_udp_addr_equal(from, &t->udp.rx_peer))
		roam(t, from);
	/* Delivered numbers must be covered by the state file (upkeep.c),
	 * whose next block upkeep reserves when asked at half of this one. */
	uint64_t limit = __atomic_load_n(&t->in_limit, __ATOMIC_ACQUIRE);
	tr_tunnel_ahead(t, seq, limit, &t->in_poked);
	if (seq > limit) {
		if (seq > t->in_want)
			__atomic_store_n(&t->in_want, seq, __ATOMIC_RELAXED);
		uint64_t unsaved = tr_stat_read(&t->rx.drop_unsaved);

		tr_stat_add(&t->rx.drop_unsaved, 1);
		if (!unsaved || (unsaved + 1) % 1024 == 0)
			tr_tunnel_poke(t->upkeep_evt);
		return false;
	}
	if (nh == TR_KEEPALIVE_NH ||
	    (nh == TR_HELLO_NH && tr_tunnel_take_hello(t, tr_pkt_data(p), p->len))) {
		tr_stat_add(&t->rx.control, 1);
		return false;
	}
	uint8_t v = p->len ? tr_pkt_data(p)[0] >> 4 : 0;
	if (!((nh == 4 && v == 4) || (nh == 41 && v == 6))) {
		tr_stat_add(&t->rx.drop_next_header, 1);
		return false;
	}
	if (!source_ok(t, p)) {
		tr_stat_add(&t->rx.drop_source, 1);
		return false;
	}
	return true;
}

/* The copy-path baseline: decapsulate in the bounce buffer, then copy the
 * inner packet into the ring slot (as a VPN on Wintun must). */
static bool decap_bounced(struct tr_tunnel *t, struct tr_pkt *slot, uint8_t *buf, int32_t len,
			  const union tr_sockaddr *from)
{
	struct tr_pkt b;

	if (tr_pkt_init(&b, buf, t->bounce_size, 0, (uint32_t)len) || !decap_one(t, &b, from))
		return false;
	memcpy(tr_pkt_data(slot), tr_pkt_data(&b), b.len);
	slot->len = b.len;
	tr_stat_add(&t->rx.copied_bytes, b.len);
	return true;
}

/* Slots per message: enough G-byte pieces for a whole batch, at most one per
 * segment the kernel coalesces. */
static unsigned pieces_per_msg(uint32_t g)
{
	unsigned p = (TR_UDP_GRO_MSG_MAX + g - 1) / g;

	return p < TR_UDP_GSO_SEGS_MAX ? p : TR_UDP_GSO_SEGS_MAX;
}

/*
 * Lays the allocated slots out as messages of up to p_max pieces of r->piece
 * bytes each. Every message must take a whole batch (or the kernel truncates
 * it), so one whose pieces fall short gets spill room behind them: region m
 * of the spill buffer for message m. Returns the number of messages.
 */
static unsigned gro_lay_out(struct tr_tunnel *t, struct tr_gro_round *r, unsigned p_max)
{
	unsigned nm = 0, k = 0, v = 0;

	while (k < r->n && nm < TR_TUNNEL_GRO_MSGS) {
		unsigned p = r->n - k < p_max ? r->n - k : p_max;
		uint64_t room = (uint64_t)p * r->piece;

		r->msg[nm] = (struct tr_udp_msg){ .iov = &r->iov[v], .iovlen = p };
		r->first[nm] = k;
		r->pieces[nm] = p;
		for (unsigned j = 0; j < p; j++)
			r->iov[v++] = (struct iovec){ tr_pkt_data(&r->slot[k + j]), r->piece };
		if (room < TR_UDP_GRO_MSG_MAX) {
			r->iov[v++] = (struct iovec){ t->gro.spill + (size_t)nm * TR_UDP_GRO_MSG_MAX,
						      TR_UDP_GRO_MSG_MAX - room };
			r->msg[nm].iovlen++;
		}
		k += p;
		nm++;
	}
	return nm;
}

/* Message i's bytes once staged: its own spill region. */
static uint8_t *staged(struct tr_tunnel *t, unsigned i)
{
	return t->gro.spill + (size_t)i * TR_UDP_GRO_MSG_MAX;
}

/* Moves message i's bytes, in order, into its spill region, so that the
 * slots it and the later messages landed in can be written over. What went
 * past the pieces is at the region's start already: it moves back behind
 * room for the pieces, which are copied in front. */
static void gro_stage(struct tr_tunnel *t, struct tr_gro_round *r, unsigned i)
{
	const struct tr_udp_msg *m = &r->msg[i];
	uint64_t room = (uint64_t)r->pieces[i] * r->piece;
	uint32_t head = m->len < room ? m->len : (uint32_t)room;
	uint8_t *to = staged(t, i);

	/* Only a message that fits takes this path (gro_place drops longer
	 * ones); then len > room implies the spill iovec was offered. */
	memmove(to + head, to, m->len - head);
	for (unsigned j = 0; head; j++) {
		uint32_t c = head < r->piece ? head : r->piece;

		memcpy(to, tr_pkt_data(&r->slot[r->first[i] + j]), c);
		to += c;
		head -= c;
	}
	tr_stat_add(&t->rx.copied_bytes, m->len); /* moved or copied, every byte once */
}

/*
 * Hands the round's filled slots over: each decapsulated in place and
 * committed, in slot order; the others go back (last-first: the unfilled
 * tail returns to the ring whole). Leaves the round with no slots. Returns 0
 * or the commit's error, after asking the workers to stop.
 */
static int gro_deliver(struct tr_tunnel *t, struct tr_gro_round *r)
{
	struct tr_pkt good[GRO_MAX_SLOTS];
	unsigned ng = 0;
	uint64_t bytes = 0;
	int err = 0;

	for (unsigned k = 0; k < r->n; k++) {
		if (r->full[k] && decap_one(t, &r->slot[k], r->src[k] ? &r->msg[r->src[k] - 1].from
								       : NULL)) {
			bytes += r->slot[k].len;
			good[ng++] = r->slot[k];
		} else {
			r->full[k] = false;
		}
	}
	for (unsigned k = r->n; k-- > 0;)
		if (!r->full[k])
			tr_tx_abandon(t->s, &r->slot[k]);
	if (ng) {
		err = tr_tx_commit_burst(t->s, good, ng, 0);
		if (err)
			tr_tunnel_request_stop(t, err);
	}
	tr_stat_add(&t->rx.packets, ng);
	tr_stat_add(&t->rx.bytes, bytes);
	r->n = 0;
	memset(r->full, 0, sizeof(r->full));
	memset(r->src, 0, sizeof(r->src));
	return err;
}

/* The slow path for staged message i: datagram j goes into slot next + j,
 * past the slots this round allocated into ones allocated now, so the ring
 * keeps them in arrival order. When the round has no slot left, what it
 * holds is delivered and the rest goes on in fresh slots behind it (all
 * the round's messages are staged by then). What has no slot is counted.
 * Returns the next free slot. */
static unsigned gro_place(struct tr_tunnel *t, struct tr_gro_round *r, unsigned i, uint32_t seg,
			  unsigned count, unsigned next, bool missed)
{
	const struct tr_udp_msg *m = &r->msg[i];
	const uint8_t *from = staged(t, i);

	/* The room offered (slots + spill) is at least the staging region;
	 * Linux never coalesces past it (UDP GRO stops below 64 KiB), but the
	 * copy must not rest on that. */
	if (m->len > TR_UDP_GRO_MSG_MAX) {
		tr_stat_add(&t->rx.drop_gro, count);
		return next;
	}
	if (missed)
		tr_stat_add(&t->rx.gro_slow, 1);
	else
		tr_stat_add(&t->rx.gro_moved, 1);
	for (unsigned j = 0; j < count; j++) {
		uint32_t dlen = m->len - j * seg < seg ? m->len - j * seg : seg;

		if (dlen > t->dgram_max) {
			tr_stat_add(&t->rx.drop_gro, 1); /* longer than any slot: the peer's MTU is not ours */
			continue;
		}
		if (next == GRO_MAX_SLOTS) {
			gro_deliver(t, r); /* an error has asked the workers to stop */
			next = 0;
		}
		if (next == r->n) {
			if (r->n >= GRO_MAX_SLOTS ||
			    tr_tx_allocate(t->s, t->dgram_max, &r->slot[r->n])) {
				tr_stat_add(&t->rx.drop_ring_full, 1);
				continue;
			}
			r->full[r->n++] = false;
		}
		memcpy(tr_pkt_data(&r->slot[next]), from + (size_t)j * seg, dlen);
		r->slot[next].len = dlen;
		r->src[next] = m->other ? (uint8_t)(i + 1) : 0;
		r->full[next++] = true;
		tr_stat_add(&t->rx.copied_bytes, dlen);
	}
	return next;
}

/*
 * Sorts the round's c messages into slots, in the order they came: the ring
 * hands slots to the device in allocation order, so datagram order is slot
 * order. While batches land one datagram per piece they stay where they
 * are. One that does not (the slow path) is staged and copied into its own
 * slots when they are enough. When it has more datagrams than slots (a
 * batch after a streak of lone datagrams, offered one slot), it and every
 * later message are staged, then laid out one after the other from its first
 * slot on, extra slots taken behind the round. It also steers the next
 * layout: G follows the size of a batch that missed; the layout turns to two
 * slots per message after a streak of lone datagrams and back at the first
 * batch (or a quiet socket, rx_gro_step).
 */
static void gro_sort(struct tr_tunnel *t, struct tr_gro_round *r, unsigned c)
{
	unsigned next = 0;
	bool moved = false;

	for (unsigned i = 0; i < c; i++) {
		const struct tr_udp_msg *m = &r->msg[i];

		if (m->res)
			continue; /* dropped and counted by the receive */
		uint32_t len = m->len, seg = m->seg ? m->seg : len;
		unsigned count = len && seg ? (len + seg - 1) / seg : 1;
		bool in_place = count == 1 ? len <= r->piece
					   : seg == r->piece && count <= r->pieces[i];

		if (count > 1) {
			t->gro.singles = 0;
		} else if (t->gro.singles < GRO_SINGLES_STREAK) {
			t->gro.singles++;
		}
		/* A batch in the size offered: G is right, whether it stays
		 * or is moved behind an earlier miss. */
		r->in_step |= in_place && count > 1;
		if (in_place && !moved) {
			for (unsigned j = 0; j < count; j++) {
				struct tr_pkt *p = &r->slot[r->first[i] + j];

				p->len = j + 1 < count ? seg : len - j * seg;
				r->full[r->first[i] + j] = true;
				r->src[r->first[i] + j] = m->other ? (uint8_t)(i + 1) : 0;
			}
			continue;
		}
		if (!moved) {
			/* Only a miss that outgrows its slots moves the
			 * messages behind it: they are copied too. */
			bool spills = count > r->pieces[i];

			for (unsigned k = i; k < (spills ? c : i + 1); k++)
				if (!r->msg[k].res && r->msg[k].len <= TR_UDP_GRO_MSG_MAX)
					gro_stage(t, r, k);
			moved = spills;
			next = r->first[i];
		}
		next = gro_place(t, r, i, seg, count, next, !in_place);
		if (in_place)
			continue;
		/* A batch names its size; a lone datagram longer than G asks
		 * for the largest the MTU allows (or its own, if the peer's
		 * MTU is larger). */
		uint32_t g = count > 1 ? seg : (len > t->gro.g_full ? len : t->gro.g_full);
		t->gro.g = g < t->dgram_max ? g : t->dgram_max;
	}
}

/* Allocates and lays out one round; returns the messages, 0 if the ring is
 * full, or a negative error. */
static int gro_prepare(struct tr_tunnel *t, struct tr_gro_round *r)
{
	/* Lone datagrams: two G-byte pieces each, as many messages as fit: a
	 * pair (a sender clocked by single ACKs sends runs of one or two)
	 * lands in place too; an unused second piece goes back as a void
	 * slot. Batches: G-byte pieces, as many per message as a batch can
	 * have. */
	bool singles = t->gro.singles >= GRO_SINGLES_STREAK;
	unsigned p = singles ? 2 : pieces_per_msg(t->gro.g);
	unsigned want = singles ? 2 * GRO_SINGLES_MSGS : TR_TUNNEL_GRO_SLOTS / p * p;
	int n = tr_tx_allocate_burst(t->s, t->dgram_max, r->slot, want);

	if (n <= 0)
		return n;
	r->n = (unsigned)n;
	r->piece = t->gro.g;
	r->in_step = false;
	memset(r->full, 0, sizeof(r->full));
	memset(r->src, 0, sizeof(r->src));
	return (int)gro_lay_out(t, r, p);
}

/* Unless the last round had a batch land in place, the next message may be
 * a batch of a size G has not seen (a new flow, after its handshake or an
 * idle spell): a MSG_PEEK, one more call only then, tells its gso_size
 * before the receive, so that batch lands in place too. Returns false when
 * the socket was empty: the receive would find nothing either. */
static bool gro_peek(struct tr_tunnel *t)
{
	uint32_t len, seg;
	int err = tr_udp_peek(&t->udp, &len, &seg);

	if (err)
		return err != -EAGAIN; /* a stranger's datagram or an error: the receive sorts it out */
	tr_stat_add(&t->rx.gro_peeks, 1);
	if (seg && len > seg) {
		t->gro.g = seg < t->dgram_max ? seg : t->dgram_max;
		t->gro.singles = 0;
	} else if (len > t->gro.g) {
		uint32_t g = len > t->gro.g_full ? len : t->gro.g_full;
		t->gro.g = g < t->dgram_max ? g : t->dgram_max;
	}
	return true;
}

/* The device is behind and the ingress ring has no slot: the socket buffer
 * holds what comes meanwhile. Woken by the device's release (tr_tx_wait);
 * the bound only lets a stop request be seen. */
static void ring_full_wait(struct tr_tunnel *t)
{
	tr_stat_add(&t->rx.ring_full_waits, 1);
	tr_tx_wait(t->s, 100);
}

/* One GRO round: returns datagrams received, 0 if none waited, -EAGAIN if
 * the ring had no slot, or another negative error (stop asked for). */
static int rx_gro_step(struct tr_tunnel *t, struct tr_rx_work *w)
{
	struct tr_gro_round *r = &w->r;

	/* The lone-datagram layout outlives the gaps between one worker's
	 * bursts, but not a pause of the peer: a flow that starts or wakes
	 * after one sends batches (a slow start, all queued at once while a
	 * Workers = 1 thread was sending), and laid out for lone datagrams
	 * every one of them would miss its slots. */
	if (w->quiet_ms && t->gro.singles >= GRO_SINGLES_STREAK &&
	    tr_tunnel_now_ms() - w->quiet_ms >= GRO_QUIET_MS) {
		t->gro.singles = 0;
		w->peek = true;
	}
	int c = 0;
	bool empty = w->peek && !t->gro.no_peek && !gro_peek(t);

	/* An empty peek saves the receive: at low rates (a ping, a
	 * keepalive) the last look before sleeping is then one call, not two
	 * (a ring burst laid out and given back for nothing). */
	if (!empty) {
		int nm = gro_prepare(t, r);

		if (nm <= 0)
			return nm == 0 ? -EAGAIN : nm;
		c = tr_udp_recv_msgs(&t->udp, r->msg, (unsigned)nm);
		if (c > 0)
			gro_sort(t, r, (unsigned)c);
		int err = gro_deliver(t, r);
		if (err)
			return err;
		rx_seen(t);
	}
	if (c <= 0) {
		/* An idle socket ends a streak: only back-to-back lone
		 * datagrams mean a peer that does not coalesce. The
		 * lone-datagram layout itself ends only if the quiet lasts
		 * (above): the socket is empty at the end of every burst. */
		if (t->gro.singles < GRO_SINGLES_STREAK)
			t->gro.singles = 0;
		else if (!w->quiet_ms)
			w->quiet_ms = tr_tunnel_now_ms();
	} else {
		w->quiet_ms = 0;
	}
	/* Not while lone datagrams come back to back: a peer that does
	 * not coalesce would pay a call per datagram for nothing. Once a
	 * streak ended, the next receive peeks. */
	w->peek = empty || (!r->in_step && t->gro.singles < GRO_PEEK_STREAK);
	return c > 0 ? c : 0;
}

/* One recvmmsg into a burst of slots, one datagram each. Returns as
 * rx_gro_step does. */
static int rx_plain_step(struct tr_tunnel *t, struct tr_rx_work *w)
{
	struct tr_pkt *pkts = w->pkts, *good = w->good;
	struct iovec *iov = w->iov;
	struct tr_udp_msg *m = w->m;
	int n = tr_tx_allocate_burst(t->s, t->dgram_max, pkts, TR_TUNNEL_BURST);

	if (n <= 0)
		return n == 0 ? -EAGAIN : n;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = t->bounce_rx ? t->bounce_rx + (size_t)i * t->bounce_size
					       : tr_pkt_data(&pkts[i]);
		iov[i].iov_len = pkts[i].len;
	}
	for (int i = 0; i < n; i++)
		m[i] = (struct tr_udp_msg){ .iov = &iov[i], .iovlen = 1 };
	int c = tr_udp_recv_msgs(&t->udp, m, (unsigned)n);
	if (c < 0)
		c = 0;
	/* Unfilled slots are the latest allocations: abandoning them
	 * last-first returns each one whole. */
	for (int i = n - 1; i >= c; i--)
		tr_tx_abandon(t->s, &pkts[i]);
	if (c == 0)
		return 0;
	unsigned g = 0;
	uint64_t bytes = 0;
	for (int i = 0; i < c; i++) {
		if (m[i].res >= 0) {
			const union tr_sockaddr *from = m[i].other ? &m[i].from : NULL;
			pkts[i].len = m[i].len;
			if (t->bounce_rx ? decap_bounced(t, &pkts[i], iov[i].iov_base,
							 (int32_t)m[i].len, from)
					 : decap_one(t, &pkts[i], from)) {
				bytes += pkts[i].len;
				good[g++] = pkts[i];
				continue;
			}
		}
		tr_tx_abandon(t->s, &pkts[i]);
	}
	if (g) {
		int err = tr_tx_commit_burst(t->s, good, g, 0);
		if (err)
			return err;
	}
	tr_stat_add(&t->rx.packets, g);
	tr_stat_add(&t->rx.bytes, bytes);
	rx_seen(t);
	return c;
}

void tr_tunnel_rx_work_init(struct tr_rx_work *w)
{
	memset(w, 0, sizeof(*w));
	w->peek = true;
}

int tr_tunnel_rx_step(struct tr_tunnel *t, struct tr_rx_work *w)
{
	return t->udp.flags & TR_UDP_F_GRO ? rx_gro_step(t, w) : rx_plain_step(t, w);
}

void *tr_tunnel_rx_main(void *arg)
{
	struct tr_tunnel *t = arg;
	struct tr_rx_work w;

	tr_tunnel_rx_work_init(&w);
	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		int c = tr_tunnel_rx_step(t, &w);

		if (c == -EAGAIN) {
			ring_full_wait(t);
		} else if (c < 0) {
			tr_tunnel_request_stop(t, c);
			break;
		} else if (c == 0) {
			wait_readable(t);
		}
	}
	return NULL;
}
