/* SPDX-License-Identifier: MIT */
/*
 * Control datagrams, ESP like the data they travel with (so only the peer
 * can make them and a replay of one is refused like any other):
 *
 * - keepalive: next header 59, no payload (RFC 4303 §2.6 dummy packet);
 *   PersistentKeepalive sends one after that many idle seconds.
 * - hello: next header 253 (RFC 3692, experimental), 32 bytes, big-endian:
 *     "trH1" | type (1 hello, 2 ack) | 3 zero | instance (8) | floor (8) | echo (8)
 *   instance names the sender's run; floor is the highest of our sequence
 *   numbers it refuses (its replay window after a restart); echo, in an
 *   ack, the instance of the hello answered. A receiver moves its outbound
 *   sequence past floor (after reserving that in its own state file), so a
 *   restarted end hears from its peer at once instead of after the peer's
 *   numbers have caught up. See docs/config.md, "Restarts".
 */
#include <errno.h>
#include <string.h>

#include "lib/barrier.h"
#include "codec/esp_int.h"
#include "tunnel/dataplane.h"

#define HELLO_LEN 32
static const uint8_t hello_magic[4] = { 't', 'r', 'H', '1' };

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

uint64_t tr_tunnel_esp_seq(const struct tr_tunnel *t, const uint8_t *p, uint32_t len)
{
	if (len < 8)
		return 0;
	uint32_t lo = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	return (t->sa_in->flags & TR_ESP_F_ESN) ? tr_replay_esn_infer(t->sa_in->replay, lo) : lo;
}

int tr_tunnel_send_control(struct tr_tunnel *t, unsigned kind)
{
	struct tr_esp_sa *sa = t->sa_out;
	uint32_t head = tr_esp_head_room(sa->cipher), len = 0;
	struct tr_pkt p;
	uint8_t nh = TR_KEEPALIVE_NH;

	if (tr_pkt_init(&p, t->ctl_buf, sizeof(t->ctl_buf), head, 0))
		return -EINVAL;
	if (kind != TR_CTL_KEEPALIVE) {
		uint8_t *b = tr_pkt_data(&p);

		len = HELLO_LEN;
		memset(b, 0, len);
		memcpy(b, hello_magic, 4);
		b[4] = kind == TR_CTL_HELLO ? 1 : 2;
		put_be64(b + 8, t->instance);
		put_be64(b + 16, __atomic_load_n(&t->in_floor, __ATOMIC_RELAXED));
		put_be64(b + 24, kind == TR_CTL_ACK ? __atomic_load_n(&t->hello_echo, __ATOMIC_ACQUIRE) : 0);
		p.len = len;
		nh = TR_HELLO_NH;
	}
	if (sa->seq + 1 > __atomic_load_n(&t->out_limit, __ATOMIC_ACQUIRE)) {
		tr_stat_add(&t->tx.drop_unsaved, 1);
		tr_tunnel_poke(t->upkeep_evt);
		return -ENOSPC;
	}
	int err = tr_esp_encap(sa, &p, nh);
	if (err) {
		tr_stat_add(&t->tx.err_encap, 1);
		return err;
	}
	tr_tunnel_ahead(t, sa->seq, __atomic_load_n(&t->out_limit, __ATOMIC_ACQUIRE), &t->out_poked);
	struct iovec iov = { tr_pkt_data(&p), p.len };
	err = tr_udp_send_burst(&t->udp, &iov, 1);
	/* An ICMP error about an earlier datagram (a hello to a peer not up
	 * yet) comes back from this call; this one did not go: once more. */
	for (int i = 0; i < 4 && (err == -ECONNREFUSED || err == -EHOSTUNREACH ||
				   err == -ENETUNREACH); i++)
		err = tr_udp_send_burst(&t->udp, &iov, 1);
	if (err < 0) {
		tr_stat_add(&t->tx.drop_send, 1);
		return err;
	}
	tr_stat_add(&t->tx.control, 1);
	t->tx_last_ms = tr_tunnel_now_ms();
	return 0;
}

bool tr_tunnel_take_hello(struct tr_tunnel *t, const uint8_t *p, uint32_t len)
{
	struct tr_hello_rx *h = &t->hello_rx;

	if (len < HELLO_LEN || memcmp(p, hello_magic, 4) || (p[4] != 1 && p[4] != 2))
		return false;
	/* One writer (this thread); upkeep reads gen, fields, gen again. */
	__atomic_store_n(&h->gen, h->gen + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&h->type, p[4] == 1 ? TR_CTL_HELLO : TR_CTL_ACK, __ATOMIC_RELAXED);
	__atomic_store_n(&h->instance, get_be64(p + 8), __ATOMIC_RELAXED);
	__atomic_store_n(&h->floor, get_be64(p + 16), __ATOMIC_RELAXED);
	__atomic_store_n(&h->echo, get_be64(p + 24), __ATOMIC_RELAXED);
	__atomic_store_n(&h->gen, h->gen + 1, __ATOMIC_RELEASE);
	tr_tunnel_poke(t->upkeep_evt);
	return true;
}
