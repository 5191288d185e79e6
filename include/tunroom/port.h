/* SPDX-License-Identifier: MIT */
/*
 * tunroom/port.h - the device's end of one session (struct tr_port). Every
 * device backend -- the memory device, the TUN engine, the tunroomd client --
 * drives the rings through a port: it creates the sealed ring memory and the
 * doorbell socketpair, produces into the egress ring and consumes the ingress ring,
 * and checks every byte it reads from ring memory as hostile (the application
 * may be another process; docs/ring-abi.md rule 9).
 */
#ifndef TUNROOM_PORT_H
#define TUNROOM_PORT_H

#include <stdint.h>

#include "tunroom/pkt.h"
#include "tunroom/ring_abi.h"
#include "tunroom/tunroom.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tr_port;

/* Device-side counters of one port. */
struct tr_port_stats {
	uint64_t egress_packets, egress_bytes;   /* published to the application */
	uint64_t ingress_packets, ingress_bytes; /* taken from the application */
	uint64_t ingress_void;                   /* abandoned slots skipped */
	uint64_t ingress_drop_malformed;         /* bad member of a MULTI slot (rest of slot dropped) */
	uint64_t egress_ring_full;               /* reservations refused: no room at all (the backend waits) */
	uint64_t wakeups_sent;                   /* doorbell rings to the application */
	uint64_t sleeps;
	uint64_t err_corrupt;                    /* ring broke the ABI: port stopped */
};

/* The descriptors an application needs to attach (tr_session_attach()).
 * Wake-ups go over a datagram socketpair, one end per side: the device keeps
 * its own end (tr_port_device_fds), so nothing the application does to its
 * descriptors (O_NONBLOCK, flooding, draining) can block the device. */
struct tr_port_fds {
	int memfd;   /* sealed against shrink and grow */
	int app_evt; /* the application's doorbell end: polls readable on egress data
		      * (or ingress space) */
	int dev_evt; /* the same end: the application signals on it for ingress data
		      * (or egress space); the device's end then polls readable */
};

/* Creates ring memory laid out for cfg (checked with tr_session_config_check),
 * seals it, and the doorbells. Returns 0, -EINVAL, -ERANGE, -ENOMEM, or
 * the error of memfd_create/socketpair/eventfd. */
int tr_port_open(struct tr_port **out, const struct tr_session_config *cfg);
void tr_port_close(struct tr_port *p);

/* The port's descriptors; they stay owned by the port. */
void tr_port_get_fds(const struct tr_port *p, struct tr_port_fds *fds);
void tr_port_stats(const struct tr_port *p, struct tr_port_stats *out);
/* What a device thread polls for POLLIN while it sleeps: fds[0], its end of
 * the doorbell (the application's wake-ups), and fds[1], a private eventfd
 * that only tr_port_kick() writes. Owned by the port; tr_port_disarm()
 * drains both. */
void tr_port_device_fds(const struct tr_port *p, int fds[2]);
/* Wakes the port's device thread (for example to stop it) through the
 * private descriptor: never blocks, whatever the application does. */
void tr_port_kick(struct tr_port *p);
uint32_t tr_port_max_packet(const struct tr_port *p);
/* Bytes of egress ring one slot for a packet of size bytes takes (header,
 * head room, size, tail room, aligned), and the egress ring's capacity: a
 * backend that reserves many slots per read (TSO) sizes its bursts by them. */
uint32_t tr_port_egress_slot_size(const struct tr_port *p, uint32_t size);
uint32_t tr_port_egress_capacity(const struct tr_port *p);
/* Egress ring bytes not yet released by the application (published, held,
 * or reserved): a backend that can leave void slots batches less while the
 * application holds many packets (docs/ring-abi.md, "Ring space"). */
uint32_t tr_port_egress_used(const struct tr_port *p);
/* Last error that stopped the port (-EPROTO...), 0 while it runs. */
int tr_port_error(const struct tr_port *p);

/* Egress, device -> application. Reserve room for one packet of up to
 * max_packet bytes: pkt->off = head_room, pkt->len = max_packet. Fill it
 * (read(2) straight into tr_pkt_data), set pkt->len, then publish. At most one
 * reservation is outstanding. Returns 0, -EAGAIN (ring full), -EPROTO. */
int tr_port_egress_reserve(struct tr_port *p, struct tr_pkt *pkt);
/* Makes the reserved packet visible after the next flush. len 0 or more than
 * reserved is -EINVAL (the slot is withdrawn). */
int tr_port_egress_publish(struct tr_port *p, const struct tr_pkt *pkt);
/* Egress burst, for a backend that fills several slots with one batched
 * read (io_uring): reserves up to n slots with room for size bytes each
 * (0 < size <= max_packet; the TUN engine passes the device MTU), pkts[i]
 * as tr_port_egress_reserve() gives them, in ring order. Fill them in
 * order, set each len, then tr_port_egress_publish_burst() publishes the
 * first k and withdraws the rest (k = 0 withdraws all). Neither kind of
 * reservation may be outstanding. Returns the number reserved (0: ring
 * full), -EINVAL, -EPROTO. */
int tr_port_egress_reserve_burst(struct tr_port *p, uint32_t size, struct tr_pkt *pkts,
				 unsigned n);
/* A packet with len 0 among them (not the last) becomes a void slot the
 * application skips. Returns 0, or -EINVAL (k above the reservation, the
 * last packet empty, or a packet moved or longer than reserved: it and the
 * ones after it are withdrawn). */
int tr_port_egress_publish_burst(struct tr_port *p, const struct tr_pkt *pkts, unsigned k);
/* Stores the producer index once for all packets published since the last
 * flush, and wakes the application if it sleeps. */
void tr_port_egress_flush(struct tr_port *p);

/* Ingress, application -> device. One committed slot, checked: data points
 * into the mapping, len bytes long, flags from the slot (TR_SLOT_F_MULTI).
 * VOID slots are skipped and counted here. */
struct tr_port_slot {
	const uint8_t *data;
	uint32_t len;
	uint32_t flags;
};
/* Returns 1 with *slot filled, 0 if the ring is empty, -EPROTO if the slot or
 * index broke the ABI (the port stops; tr_port_error tells). The slot stays
 * valid until tr_port_ingress_done(). */
int tr_port_ingress_peek(struct tr_port *p, struct tr_port_slot *slot);
void tr_port_ingress_done(struct tr_port *p);
/* Stores the consumer index and wakes the application if it waits for space. */
void tr_port_ingress_flush(struct tr_port *p);
/* Counts what the backend did with ingress slots: packets and bytes handed to
 * the OS, and members of MULTI slots dropped as malformed. */
void tr_port_ingress_account(struct tr_port *p, uint32_t packets, uint64_t bytes,
			     uint32_t malformed);

/* Stops the port for good (err < 0, e.g. -EIO when the TUN device vanished;
 * 0 means -EPIPE) and tells the application, whose calls then fail -EPIPE. */
void tr_port_shutdown(struct tr_port *p, int err);

/* Sleep protocol for a device loop. tr_port_arm() announces that the device
 * is about to sleep (for ingress data and, if want_space, egress space), with
 * a full barrier, then re-checks: returns 1 if there is work already (do not
 * sleep), 0 if armed. After the sleep (poll on the backend's own
 * fds and tr_port_device_fds), tr_port_disarm() clears the announcement and
 * drains the device's doorbell end and kick descriptor. A peer that closed
 * its end (either closed word) stops the port here: tr_port_arm() returns 1
 * and the next call gets the port's error (-EPIPE). */
int tr_port_arm(struct tr_port *p, int want_space);
void tr_port_disarm(struct tr_port *p);

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_PORT_H */
