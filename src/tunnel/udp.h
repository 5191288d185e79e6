/* SPDX-License-Identifier: MIT */
/*
 * The tunnel's UDP socket: bound to the local address, aimed at the one peer,
 * and batch send/receive straight from and into ring slots (the caller's
 * iovecs), with the peer check and its counters.
 */
#ifndef TR_TUNNEL_UDP_H
#define TR_TUNNEL_UDP_H

#include <stdint.h>
#include <sys/uio.h>

#include "cli/config.h"

#define TR_UDP_BATCH_MAX 64 /* datagrams per sendmmsg/recvmmsg call */

/* tr_udp_open flags */
/* connect() to the peer: the kernel then drops other sources itself (not
 * counted) and sends skip a route lookup. Without it every datagram's source
 * is compared here and mismatches are counted in rx_drop_peer. */
#define TR_UDP_F_CONNECT 0x1u

/* Each counter has one writer: rx_* the receiving thread, tx_* the sending one. */
struct tr_udp_stats {
	uint64_t rx_datagrams, rx_bytes;
	uint64_t rx_drop_peer;   /* from an address other than the peer */
	uint64_t rx_drop_trunc;  /* longer than the slot offered (MSG_TRUNC) */
	/* The peer's host or network said unreachable (ICMP, as ECONNREFUSED,
	 * EHOSTUNREACH, ENETUNREACH on the connected socket). The error goes to
	 * whichever call comes first, so each thread counts its own. */
	uint64_t rx_err_unreachable, tx_err_unreachable;
	uint64_t tx_datagrams, tx_bytes;
	uint64_t tx_err;         /* sendmmsg failed on a datagram (ICMP error, no route) */
};

struct tr_udp {
	int fd;
	uint32_t flags;
	union tr_sockaddr local; /* as bound: the kernel's port if 0 was asked */
	union tr_sockaddr peer;
	int rcvbuf, sndbuf;      /* what the kernel granted */
	struct tr_udp_stats stats;
};

/*
 * Opens a non-blocking UDP socket of local's family, binds it to local (port 0
 * picks one), sizes SO_RCVBUF/SO_SNDBUF to sockbuf bytes when non-zero (the
 * FORCE variants first, which need CAP_NET_ADMIN and pass rmem_max), and sets
 * the peer. Returns 0 or -errno (-EAFNOSUPPORT when the families differ).
 */
int tr_udp_open(struct tr_udp *u, const union tr_sockaddr *local,
		const union tr_sockaddr *peer, uint32_t sockbuf, uint32_t flags);
/* Changes the peer (and reconnects with TR_UDP_F_CONNECT). 0 or -errno. */
int tr_udp_set_peer(struct tr_udp *u, const union tr_sockaddr *peer);
void tr_udp_close(struct tr_udp *u);

/*
 * Sends iov[0..n) as n datagrams to the peer in one sendmmsg (n is capped at
 * TR_UDP_BATCH_MAX). Returns how many went (the first ones; the caller keeps
 * the rest), -EAGAIN when the socket buffer is full, or the -errno of the
 * first datagram (counted in tx_err; the caller drops it and goes on).
 */
int tr_udp_send_burst(struct tr_udp *u, const struct iovec *iov, unsigned n);

/*
 * Receives up to n datagrams, datagram i straight into iov[i] (a ring slot's
 * room), in one recvmmsg. Returns how many arrived, c, or -EAGAIN, or -errno.
 * For i < c, res[i] is the datagram's length, or a negative errno for one to
 * drop (already counted): -EADDRNOTAVAIL from another source, -EMSGSIZE
 * longer than iov[i].
 */
int tr_udp_recv_burst(struct tr_udp *u, const struct iovec *iov, int32_t *res, unsigned n);

/* Datagrams the kernel dropped before we could read them (receive buffer
 * full: SK_MEMINFO_DROPS of SO_MEMINFO). One getsockopt, for show, never on
 * the data path. 0 if the kernel cannot tell. */
uint64_t tr_udp_kernel_drops(const struct tr_udp *u);

/* Same family, address and port. */
bool tr_udp_addr_equal(const union tr_sockaddr *a, const union tr_sockaddr *b);

#endif
