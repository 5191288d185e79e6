/* SPDX-License-Identifier: MIT */
/*
 * The running tunnel, shared by its threads: tx.c (OS -> wire), rx.c
 * (wire -> OS) and tunnel.c (setup, control socket, teardown). Each counter
 * has exactly one writing thread; the control thread reads them relaxed.
 */
#ifndef TR_TUNNEL_DATAPLANE_H
#define TR_TUNNEL_DATAPLANE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

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
};

/* Offload = on, receiving: a batch of gso_size G lands datagram k in slot k
 * when each slot is offered as a G-byte piece. G starts at the datagram a
 * full-MTU inner packet makes and follows the gso_size seen. */
struct tr_gro {
	uint32_t g;        /* bytes per slot piece now */
	uint32_t g_full;   /* the ESP datagram of a full-MTU inner packet */
	uint32_t singles;  /* back-to-back lone datagrams; GRO_SINGLES_STREAK = one slot per message */
	bool no_peek;      /* test only: let a wrong guess stand until a batch misses */
	uint8_t *spill;    /* TR_TUNNEL_GRO_MSGS x TR_UDP_GRO_MSG_MAX: room past each message's
			    * slots, and where the slow path stages each message whole */
};

struct tr_tunnel {
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
};

void *tr_tunnel_tx_main(void *arg);
void *tr_tunnel_rx_main(void *arg);
/* Asks both workers to stop; err (negative) is kept as the reason if first. */
void tr_tunnel_request_stop(struct tr_tunnel *t, int err);

#endif
