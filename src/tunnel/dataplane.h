/* SPDX-License-Identifier: MIT */
/*
 * The running tunnel, shared by its threads: tx.c (OS -> wire), rx.c
 * (wire -> OS) and tunnel.c (setup, control socket, teardown). Each counter
 * has exactly one writing thread; the control thread reads them relaxed.
 * "The tx thread" and "the rx thread" below name the two roles: with
 * Workers = 1 (solo.c) one thread plays both, which every rule here allows.
 */
#ifndef TR_TUNNEL_DATAPLANE_H
#define TR_TUNNEL_DATAPLANE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/barrier.h"

#include "tunnel/udp.h"
#include "tunroom/esp.h"
#include "tunroom/tunroom.h"

#define TR_TUNNEL_BURST 32 /* packets per ring burst and per sendmmsg/recvmmsg */
/* Offload = on: egress packets per burst, so that a 64 KiB TCP super-packet
 * cut into ~45 slots goes out as one UDP_SEGMENT message. */
#define TR_TUNNEL_GSO_BURST 128
/* Offload = on: ring slots offered to one recvmmsg, across its messages,
 * and the most messages (each with room for a whole coalesced batch). */
#define TR_TUNNEL_GRO_SLOTS 64
#define TR_TUNNEL_GRO_MSGS 32

/* Written by the egress (tx) thread only. */
struct tr_tx_stats {
	uint64_t packets, bytes;  /* ESP datagrams handed to the socket */
	uint64_t drop_not_ip;     /* TUN gave us something that is not IPv4/IPv6 */
	uint64_t err_encap;       /* encapsulation refused (room, sequence exhausted) */
	uint64_t drop_send;       /* the socket refused the datagram (ICMP error, no route) */
	uint64_t copied_bytes;    /* payload bytes memcpy'd: 0 unless ZeroCopy = off */
	uint64_t gso_off;         /* 1 once the kernel refused UDP_SEGMENT and GSO went off */
	uint64_t drop_unsaved;    /* no sequence number reserved in the state file yet */
	uint64_t control;         /* keepalives and hellos sent */
	uint64_t drop_loop;       /* to our own endpoint: the tunnel's datagrams routed into it */
	uint64_t send_waits;      /* the socket's send buffer was full: waited for room */
};

/* Written by the ingress (rx) thread only. */
struct tr_rx_stats {
	uint64_t packets, bytes;  /* inner packets committed towards the OS */
	uint64_t drop_next_header;/* authentic, but neither IPv4 (4) nor IPv6 (41) inside */
	uint64_t drop_ring_full;  /* datagrams received, then dropped: the ingress ring had no slot */
	uint64_t ring_full_waits; /* waits for ingress space (nothing dropped: the socket buffers) */
	uint64_t drop_not_esp;    /* NAT-keepalive or non-ESP marker (RFC 3948 §2.2, §2.3) */
	uint64_t copied_bytes;    /* payload bytes memcpy'd: 0 unless ZeroCopy = off or a GRO slow path */
	uint64_t gro_slow;        /* messages that missed their slots, copied into slots */
	uint64_t gro_moved;       /* messages copied only to keep order behind one that outgrew its slots */
	uint64_t drop_gro;        /* such datagrams dropped: longer than a slot */
	uint64_t gro_peeks;       /* MSG_PEEKs for the next batch's size after an idle spell */
	uint64_t control;         /* authentic keepalives and hellos: taken, not delivered */
	uint64_t drop_unsaved;    /* authentic, above what the state file covers yet */
	uint64_t drop_source;     /* inner source address outside PeerAddresses */
	uint64_t drop_peer;       /* from another address:port, and not authentic */
	/* For the log's hints (status.c), which must not blame the peer's keys
	 * for a stranger's datagrams: an SPI that is not InSPI, and failed
	 * authentication, from the peer's address and from others (the latter
	 * also in drop_peer). Each also in the SA's err_spi or err_auth. */
	uint64_t hint_spi, hint_auth, hint_other_spi, hint_other_auth;
	uint64_t peer_roams;      /* authentic from a new address:port: the peer moved there */
	uint64_t send_wait_receives; /* Workers = 1: receives done while a send waited for room */
};

/* Offload = on, receiving: a batch of gso_size G lands datagram k in slot k
 * when each slot is offered as a G-byte piece. G starts at the datagram a
 * full-MTU inner packet makes and follows the gso_size seen. */
struct tr_gro {
	uint32_t g;        /* bytes per slot piece now */
	uint32_t g_full;   /* the ESP datagram of a full-MTU inner packet */
	uint32_t singles;  /* back-to-back lone datagrams; GRO_SINGLES_STREAK = two slots per message */
	bool no_peek;      /* test only: let a wrong guess stand until a batch misses */
	uint8_t *spill;    /* TR_TUNNEL_GRO_MSGS x TR_UDP_GRO_MSG_MAX: room past each message's
			    * slots, and where the slow path stages each message whole */
};

/* Control datagrams (hello.c): ESP with next header 253 (RFC 3692
 * experimental), what a restarted end tells its peer. */
#define TR_HELLO_NH 253
#define TR_KEEPALIVE_NH 59 /* RFC 4303 §2.6: "no next header", a dummy packet */
#define TR_CTL_HELLO 0x1u  /* tx: send a hello */
#define TR_CTL_ACK   0x2u  /* tx: answer one */
#define TR_CTL_KEEPALIVE 0x4u

/* A hello as received, rx -> upkeep (seqlock: gen odd while written). */
struct tr_hello_rx {
	uint32_t gen;
	uint8_t type;        /* TR_CTL_HELLO or TR_CTL_ACK */
	uint64_t instance;   /* the sender's run */
	uint64_t floor;      /* it refuses our sequence numbers up to this */
	uint64_t echo;       /* ACK: the instance whose hello it answers */
};

/* Inner source filter (PeerAddresses): prefixes as network + mask. */
struct tr_prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
	uint8_t mask[16];
};
#define TR_TUNNEL_PREFIX_MAX 64

struct tr_tunnel {
	/* Queues = N: one of these per queue (TUN queue, ring session, UDP
	 * socket, SA pair, its workers), in all[0..n_all). What is
	 * shared (stop, limits) is kept equal in each by its one writer. */
	unsigned q;
	struct tr_tunnel *all;
	unsigned n_all;
	struct tr_session *s;
	struct tr_esp_sa *sa_out, *sa_in;
	struct tr_udp udp;
	uint32_t dgram_max;  /* largest ESP datagram a slot must take */
	/* ZeroCopy = off only: per-direction bounce buffers of TR_TUNNEL_BURST
	 * roomy packets each, allocated once at setup (the baseline's copies). */
	uint8_t *bounce_tx, *bounce_rx;
	uint32_t bounce_size; /* bytes per packet in a bounce buffer */
	bool offload;        /* Offload = on: bigger egress bursts, UDP GSO/GRO as granted */
	struct tr_gro gro;
	int stop_evt;        /* eventfd: written once to stop both workers */
	int stop;            /* set before stop_evt is written */
	int error;           /* first fatal error of a worker, 0 if none */
	struct tr_tx_stats tx;
	struct tr_rx_stats rx;

	/* Restart safety (state.c, upkeep.c). The limits only rise, each after
	 * the state file says so on disk. */
	uint64_t out_limit;  /* tx may use outbound sequence numbers <= this */
	uint64_t in_limit;   /* rx may deliver inbound sequence numbers <= this */
	uint64_t in_want;    /* rx: the highest authentic number above in_limit */
	uint64_t out_jump;   /* upkeep -> tx: go on from at least this number */
	uint32_t ctl_send;   /* upkeep -> tx: TR_CTL_* to send */
	uint64_t instance;   /* this run, random */
	uint64_t in_floor;   /* what we refuse since the restart (told in hellos) */
	uint64_t hello_echo; /* upkeep -> tx: the instance an ACK answers */
	struct tr_hello_rx hello_rx;
	int upkeep_evt;      /* eventfd: workers ask the control thread for upkeep now */
	uint64_t ahead;      /* half a block (upkeep.c): set before the workers start */
	uint64_t out_poked;  /* tx: the out_limit it last asked upkeep to raise (tr_tunnel_ahead) */
	uint64_t in_poked;   /* rx: likewise for in_limit */
	uint64_t rx_refused_ms; /* rx: when a refused datagram last poked upkeep_evt */
	/* Liveness: CLOCK_MONOTONIC milliseconds, 0 = never. */
	uint64_t rx_last_ms; /* rx: last authentic datagram */
	bool rx_auth;        /* rx: one came in this receive */
	uint64_t tx_last_ms; /* tx: last datagram sent */
	uint32_t keepalive;  /* PersistentKeepalive seconds, 0 = off */
	/* Roaming: rx -> tx (seqlock on roam_gen). */
	uint32_t roam_gen;
	union tr_sockaddr roam_to;
	/* tx -> control, upkeep: tx writes udp.peer under this seqlock (it
	 * reads its own copy plainly); others go through tr_tunnel_endpoint. */
	uint32_t peer_gen;
	/* Loop detection: the endpoint as tx knows it (tx's copy of udp.peer). */
	struct tr_prefix src_ok[TR_TUNNEL_PREFIX_MAX];
	unsigned n_src_ok;
	struct tr_prefix src_own[TR_CONFIG_ADDR_MAX]; /* our own addresses: never the peer's */
	unsigned n_src_own;
	bool tell;            /* setup: this queue says what all do */
	uint8_t ctl_buf[256]; /* tx: where control datagrams are built */
};

/* hello.c */
/* Builds the control message of kind TR_CTL_* in t->ctl_buf and sends it
 * (tx thread only). Returns 0 or -errno. */
int tr_tunnel_send_control(struct tr_tunnel *t, unsigned kind);
/* Takes an authentic datagram of next header 253 (rx thread): false if it
 * is no hello of ours. */
bool tr_tunnel_take_hello(struct tr_tunnel *t, const uint8_t *p, uint32_t len);
/* The inbound sequence number of an ESP datagram (before decap), as the
 * replay window will infer it; 0 if too short. */
uint64_t tr_tunnel_esp_seq(const struct tr_tunnel *t, const uint8_t *p, uint32_t len);
static inline uint64_t tr_tunnel_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
static inline void tr_tunnel_poke(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* saturated: a poke is pending already */
	}
}

/* Where the tx thread sends now (it changes when the peer roams), for the
 * other threads: a consistent copy in *out, which it returns. The tx thread
 * itself reads t->udp.peer. */
static inline const union tr_sockaddr *tr_tunnel_endpoint(const struct tr_tunnel *t,
							  union tr_sockaddr *out)
{
	uint32_t g;

	do {
		g = tr_seq_begin(&t->peer_gen);
		tr_seq_copy(out, &t->udp.peer, sizeof(*out));
	} while (tr_seq_retry(&t->peer_gen, g));
	return out;
}

/* Numbers reserved per write of the state file, both ways. A restart skips
 * at most this many of each side's outbound numbers: with 32-bit numbers
 * (ESN off) a pair of keys takes about 4000 restarts. At a million packets
 * a second a block lasts a second; the next is reserved when half is used. */
#define TR_UPKEEP_BLOCK (1ull << 20)

/* Restart safety (upkeep.c) without a timer: a worker whose number n came
 * within half a block of its limit asks upkeep to reserve the next block,
 * once per limit value, so an idle upkeep may sleep long and traffic that
 * starts after an idle spell still finds its numbers reserved (a block
 * lasts ~0.5 s even at a million packets a second; a turn takes a sync).
 * One compare per call on the data path; a syscall only at the crossing. */
static inline void tr_tunnel_ahead(const struct tr_tunnel *t, uint64_t n, uint64_t limit,
				   uint64_t *poked)
{
	if (n + t->ahead > limit && *poked != limit) {
		*poked = limit;
		tr_tunnel_poke(t->upkeep_evt);
	}
}

/* Our own ESP datagram to the endpoint, back from the TUN device (tx
 * thread, per packet): a route sends the endpoint through the tunnel. Sent
 * again it would come back again, at full speed (issue: "spins a core").
 * The version is checked first: with an IPv4 endpoint, an IPv6 packet's low
 * nibble (traffic class) read as an IHL let an IPv6 packet whose bytes fell
 * right pass for a loop, dropped and logged as one. */
static inline bool tr_tunnel_to_endpoint(const struct tr_tunnel *t, const struct tr_pkt *p)
{
	const union tr_sockaddr *e = &t->udp.peer;
	const uint8_t *d = tr_pkt_data(p);

	if (e->sa.sa_family == AF_INET) {
		if (p->len < 20 || (d[0] >> 4) != 4)
			return false;
		uint32_t ihl = (d[0] & 0xfu) * 4u;
		return ihl >= 20 && p->len >= ihl + 4 && d[9] == 17 &&
		       !memcmp(d + 16, &e->in.sin_addr, 4) && !memcmp(d + ihl + 2, &e->in.sin_port, 2);
	}
	return p->len >= 44 && (d[0] >> 4) == 6 && d[6] == 17 &&
	       !memcmp(d + 24, &e->in6.sin6_addr, 16) && !memcmp(d + 42, &e->in6.sin6_port, 2);
}

void *tr_tunnel_tx_main(void *arg);
void *tr_tunnel_rx_main(void *arg);
/* Asks both workers to stop; err (negative) is kept as the reason if first. */
void tr_tunnel_request_stop(struct tr_tunnel *t, int err);

#endif
