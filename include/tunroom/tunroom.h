/* SPDX-License-Identifier: MIT */
/*
 * tunroom/tunroom.h - the application side: sessions on a device, and the
 * packets that cross them.
 *
 * Direction names are the application's:
 *   rx  packets the OS sent into the tunnel (egress ring): receive, release
 *   tx  packets the application hands to the OS (ingress ring): allocate, commit
 *
 * Every function returns 0 (or a count) on success and a negative errno value
 * on failure; tr_strerror() words it. The library never sets errno.
 */
#ifndef TUNROOM_TUNROOM_H
#define TUNROOM_TUNROOM_H

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "tunroom/pkt.h"
#include "tunroom/ring_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tr_session;
struct tr_device;

#define TR_SESSION_CAPACITY_DEFAULT (1u << 22) /* 4 MiB per ring */
#define TR_SESSION_MAX_PACKET_DEFAULT 65535u

/* tr_session_config.flags */
#define TR_SESSION_F_THREADSAFE 0x1u /* several threads call rx/tx: a mutex per ring */
/* Run to completion: no device thread; the application's own threads do the
 * device's I/O inside the rx and tx calls (the TUN device reads into egress
 * slots when tr_rx_receive finds the ring empty, and writes ingress slots
 * out inside tr_tx_commit). No hand-off and no wake-up between threads per
 * batch: the mode for an application that lives in the device's process.
 * Then tr_session_fd polls readable when the device has packets to read
 * (not while the egress ring is full: release to make room), and
 * tr_rx_wait sleeps on the device itself. Only devices that offer it (the
 * TUN device: tunroom/tun.h); tr_session_open returns -EOPNOTSUPP for the
 * others. Call tr_rx_* from one thread (or THREADSAFE) and tr_tx_* from one. */
#define TR_SESSION_F_INLINE 0x2u

struct tr_session_config {
	uint32_t capacity;   /* bytes per ring, power of two; 0 = default */
	uint32_t head_room;  /* 0..TR_ABI_ROOM_MAX */
	uint32_t tail_room;  /* 0..TR_ABI_ROOM_MAX */
	uint32_t max_packet; /* largest packet either way; 0 = default (65535) */
	uint32_t flags;      /* TR_SESSION_F_* */
};

/* Per-session counters, from the application's side. */
struct tr_stats {
	uint64_t rx_packets, rx_bytes;   /* received from the egress ring */
	uint64_t tx_packets, tx_bytes;   /* committed to the ingress ring */
	uint64_t tx_abandoned;           /* allocations given up */
	uint64_t tx_err_ring_full;       /* allocate found no space (-EAGAIN) */
	uint64_t tx_shrunk_bytes;        /* bytes given back by a shrinking commit */
	uint64_t wakeups_sent;           /* doorbell rings to the device */
	uint64_t sleeps;                 /* times the application armed its wait */
	uint64_t err_corrupt;            /* 1 once the device side broke the ring ABI */
};

/* Checks a configuration against the documented limits without opening
 * anything. Returns 0, -EINVAL (capacity not a power of two, unknown flag) or
 * -ERANGE (a value outside the limits in ring_abi.h). */
int tr_session_config_check(const struct tr_session_config *cfg);

/* Opens a session on a device (a memory device from tr_memdev_open(), or a TUN
 * device): the device creates and serves the ring memory. Returns 0, -EINVAL,
 * -ERANGE, -ENOMEM, -EPROTONOSUPPORT (ABI mismatch), -EOPNOTSUPP
 * (TR_SESSION_F_INLINE on a device without it), or the device's error. */
int tr_session_open(struct tr_session **out, struct tr_device *dev,
		    const struct tr_session_config *cfg);

/* Attaches to ring memory a device side created elsewhere (tunroomd): maps
 * memfd, checks its header as untrusted input, and takes ownership of the
 * descriptors (closed by tr_session_close, also on failure). app_evt and
 * dev_evt are the application's end of the doorbell socketpair (struct
 * tr_port_fds); they may be the same descriptor or two duplicates of it.
 * Returns 0, -EPROTONOSUPPORT (magic or version), -EPROTO (bad layout), -ENOMEM. */
int tr_session_attach(struct tr_session **out, int memfd, int app_evt, int dev_evt,
		      uint32_t flags);

/* Ends the session: stops its device side if it has one, unmaps, closes.
 * Packets not yet released or committed are dropped. NULL does nothing.
 * No other thread may be inside a call on the session, nor enter one: a
 * thread asleep in tr_rx_wait is woken (tr_session_wake), then joined,
 * before this. (With TR_SESSION_F_INLINE the device's I/O state goes too,
 * which a thread still in a receive or commit would be using.) */
void tr_session_close(struct tr_session *s);

/* The pollable descriptor: POLLIN means "look at the egress ring again". It
 * only fires after tr_rx_receive() returned -EAGAIN (which arms it). With
 * TR_SESSION_F_INLINE it is an epoll descriptor, readable while the device
 * has packets to read and the egress ring has room, armed or not; read or
 * write nothing on it. Any thread may ask for it. */
int tr_session_fd(const struct tr_session *s);

/* Rooms and limits the session was opened with. */
uint32_t tr_session_head_room(const struct tr_session *s);
uint32_t tr_session_tail_room(const struct tr_session *s);
uint32_t tr_session_max_packet(const struct tr_session *s);

/* Wakes a thread sleeping in tr_rx_wait (it returns 1, and the caller finds
 * whatever made another thread wake it: a stop flag, a message). Safe from
 * any thread and from a signal handler; never blocks. Returns 0 or -errno. */
int tr_session_wake(struct tr_session *s);

/* Copies the counters. */
void tr_session_stats(const struct tr_session *s, struct tr_stats *out);

/* Waits until the egress ring has a packet (spinning briefly first), for at
 * most timeout_ms (-1 forever). Returns 1 if data waits, 0 on timeout,
 * -EPIPE if the session is over, -EPROTO if the ring is corrupt. */
int tr_rx_wait(struct tr_session *s, int timeout_ms);

/* tr_rx_wait for a thread that also sleeps on descriptors of its own (a
 * VPN's one data thread: its socket, a stop event): waits until the session
 * may have packets or was woken (tr_session_wake), or one of fds (at most
 * TR_RX_WAIT_FDS_MAX) is ready, whose revents it fills. Unlike tr_rx_wait
 * it reads nothing from an inline device first: call it after a receive
 * found nothing. With TR_SESSION_F_INLINE this is cheaper than polling
 * tr_session_fd(), which registers a waiter the kernel calls on every
 * packet it queues. Returns 1 if the session is ready (receive), 0 if not
 * (timeout, or only fds: see their revents), -EPIPE, -EPROTO, -EINVAL. */
#define TR_RX_WAIT_FDS_MAX 8
int tr_rx_wait_fds(struct tr_session *s, struct pollfd *fds, unsigned nfds, int timeout_ms);

/* Takes the next packet from the egress ring as a view with head_room before
 * and tail_room after its data, at least. The view stays valid until released.
 * Returns 0, -EAGAIN (ring empty; the session fd is now armed), -EPROTO
 * (corrupt ring: the session stops), -EPIPE (session over). */
int tr_rx_receive(struct tr_session *s, struct tr_pkt *pkt);
/* Up to n packets; returns how many (0..n), or -EPROTO/-EPIPE. */
int tr_rx_receive_burst(struct tr_session *s, struct tr_pkt *pkts, unsigned n);

/* Gives a received slot back. Any order, any thread (with THREADSAFE): the
 * device sees space return only up to the first slot not yet released.
 * Returns 0, -EINVAL (not an outstanding slot of this session's egress ring:
 * foreign, released already, or the view's bookkeeping changed), -EPROTO.
 * A burst stops at the first bad view: the ones before it are released
 * (their slot is NULL now) and the device sees that space; the bad one and
 * the ones after it are untouched (slot still set) and still yours. */
int tr_rx_release(struct tr_session *s, struct tr_pkt *pkt);
int tr_rx_release_burst(struct tr_session *s, struct tr_pkt *pkts, unsigned n);

/* Allocates a slot for a packet of up to size bytes (an upper bound is fine):
 * the view has off = head_room, len = size, and tail_room behind.
 * Returns 0, -EAGAIN (ring full now), -EMSGSIZE (size > max_packet), -EPROTO, -EPIPE. */
int tr_tx_allocate(struct tr_session *s, uint32_t size, struct tr_pkt *pkt);
/* n slots of size bytes each; returns how many (0..n), or a negative error. */
int tr_tx_allocate_burst(struct tr_session *s, uint32_t size, struct tr_pkt *pkts, unsigned n);

/* Waits until an allocation may succeed: the device has released ingress
 * space since the last allocate that found the ring full, or a largest slot
 * fits. At most timeout_ms (-1 forever). Returns 1 (try again), 0 on
 * timeout, -EPIPE if the session is over, -EPROTO if the ring is corrupt.
 * It sleeps on the session fd, which receive waits on too; it never drains
 * it, so a thread in tr_rx_wait loses no wake-up, and while that fd is
 * readable for the receive side it re-checks every millisecond. A
 * tr_rx_wait on another thread drains it and may take the wake-up meant
 * for this call: so it sleeps 10 ms at most before it looks again. */
int tr_tx_wait(struct tr_session *s, int timeout_ms);

/* tr_tx_commit flags */
#define TR_TX_MULTI TR_SLOT_F_MULTI /* the data is several IP packets back to back */

/* Publishes the view's [off, off + len) to the device, in allocation order.
 * A shorter len than allocated is fine; if this was the latest allocation the
 * unused space returns to the ring. Returns 0, -EINVAL (foreign view, unknown
 * flag, data moved outside the slot), -EPROTO, -EPIPE. */
int tr_tx_commit(struct tr_session *s, struct tr_pkt *pkt, uint32_t flags);
/* A burst stops at the first bad view (-EINVAL): the ones before it are
 * committed and published (slot NULL), the bad one and the ones after it
 * stay allocated (slot still set): fix and commit them, or abandon them --
 * until then the device sees nothing past the first of them. */
int tr_tx_commit_burst(struct tr_session *s, struct tr_pkt *pkts, unsigned n, uint32_t flags);

/* Gives an allocation up. The latest allocation returns to the ring whole; an
 * earlier one stays as a void slot the device skips. Returns 0 or -EINVAL. */
int tr_tx_abandon(struct tr_session *s, struct tr_pkt *pkt);
int tr_tx_abandon_burst(struct tr_session *s, struct tr_pkt *pkts, unsigned n);

/* Checks ring memory of map_size bytes as an attacher would and writes one
 * line a person can act on into buf (for an ABI mismatch it names both
 * versions). Returns what tr_session_attach would: 0, -EPROTONOSUPPORT, -EPROTO. */
int tr_abi_describe(const void *mem, uint64_t map_size, char *buf, size_t len);

/* The reason the session stopped: 0 while it runs, -EPROTO if this side found
 * the ring corrupt, or the negative errno the device side stopped with. */
int tr_session_error(const struct tr_session *s);

/* A static description of err (a negative errno value from this library). */
const char *tr_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_TUNROOM_H */
