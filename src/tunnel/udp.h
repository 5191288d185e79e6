/* SPDX-License-Identifier: MIT */
/*
 * The tunnel's UDP socket: bound to the local address, aimed at the one peer,
 * and batch send/receive straight from and into ring slots (the caller's
 * iovecs), with the peer check and its counters.
 */
#ifndef TR_TUNNEL_UDP_H
#define TR_TUNNEL_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "config/sockaddr.h"

#define TR_UDP_BATCH_MAX 64 /* datagrams per sendmmsg/recvmmsg call */

/* tr_udp_open flags */
/* connect() to the peer: the kernel then drops other sources itself (not
 * counted) and sends skip a route lookup. Without it every datagram's source
 * is compared here and mismatches are counted in rx_drop_peer. */
#define TR_UDP_F_CONNECT 0x1u
/* Send several equal datagrams as one message with UDP_SEGMENT (UDP GSO,
 * Linux 4.18). Probed at open: cleared from flags if the kernel lacks it. */
#define TR_UDP_F_GSO 0x2u
/* Receive coalesced batches with UDP_GRO (Linux 5.0): one message may then
 * carry many datagrams of the cmsg's gso_size each, so every receive must
 * offer TR_UDP_GRO_MSG_MAX bytes or lose the batch's tail (MSG_TRUNC).
 * Cleared from flags if the kernel refuses it. */
#define TR_UDP_F_GRO 0x4u
/* Without TR_UDP_F_CONNECT: hand datagrams from other sources up too (res 0,
 * other set, from filled, not counted in rx_drop_peer): the caller accepts
 * the peer's new address once one authenticates (NAT, roaming). ICMP errors
 * reach an unconnected socket only with IP_RECVERR, which this sets (the
 * error queue is drained and counted as before). */
#define TR_UDP_F_ROAM 0x8u
/* SO_REUSEPORT before bind: one of several sockets on one port (Queues). */
#define TR_UDP_F_REUSEPORT 0x10u

/* UDP_MAX_SEGMENTS of the kernel (64 since 4.18; some newer kernels take
 * more, none fewer). udp_send_skb() refuses more with EINVAL. */
#define TR_UDP_GSO_SEGS_MAX 64
/* Largest coalesced batch one receive can return: the UDP length field. */
#define TR_UDP_GRO_MSG_MAX 65535u

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
	uint64_t tx_syscalls;    /* sendmmsg calls */
	uint64_t tx_gso_sends;   /* messages sent with UDP_SEGMENT */
	uint64_t tx_gso_segments;/* datagrams in those */
	uint64_t rx_syscalls;    /* recvmmsg calls, empty ones included */
	uint64_t rx_gro_batches; /* messages that came with a UDP_GRO gso_size */
	uint64_t rx_gro_datagrams;/* datagrams in those */
};

/*
 * One message of tr_udp_send_msgs/tr_udp_recv_msgs. Sending: iov[0..iovlen)
 * are datagrams, seg their length (all but the last, which may be shorter)
 * if iovlen > 1, or 0 for one datagram per message. Receiving: iov[] is the
 * room for one message; seg and len come back (seg = gso_size, 0 if the
 * message is one datagram), and res 0, -EADDRNOTAVAIL (another source) or
 * -EMSGSIZE (longer than the room: truncated, counted in rx_drop_trunc).
 */
struct tr_udp_msg {
	struct iovec *iov;
	uint32_t iovlen;
	uint32_t seg;
	uint32_t len;
	int32_t res;
	bool other;              /* TR_UDP_F_ROAM: from another source than rx_peer */
	union tr_sockaddr from;  /* ... namely this one */
};

struct tr_udp {
	int fd;
	uint32_t flags;
	union tr_sockaddr local; /* as bound: the kernel's port if 0 was asked */
	union tr_sockaddr peer;   /* where datagrams go (the sending thread's) */
	union tr_sockaddr rx_peer;/* whom datagrams are expected from (the receiving thread's) */
	int rcvbuf, sndbuf;      /* what the kernel granted */
	struct tr_udp_stats stats;
};

/*
 * Opens a non-blocking UDP socket of local's family, binds it to local (port 0
 * picks one), sizes SO_RCVBUF/SO_SNDBUF to sockbuf bytes when non-zero (the
 * FORCE variants first, which need CAP_NET_ADMIN and pass rmem_max), and sets
 * the peer. flags: TR_UDP_F_*; GSO and GRO are kept in u->flags only if the
 * kernel takes them. Returns 0 or -errno (-EAFNOSUPPORT when the families
 * differ).
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

/*
 * Sends n messages (capped at TR_UDP_BATCH_MAX) in one sendmmsg; a message
 * with seg carries a UDP_SEGMENT cmsg and the kernel cuts it into
 * datagrams of seg bytes. Returns how many messages went (the first ones),
 * -EAGAIN when the socket buffer is full, or the -errno of the first message
 * (counted in tx_err). -EIO, -EINVAL or -ENOPROTOOPT for a message with seg
 * means the kernel or the route cannot segment: see tr_udp_gso_refused().
 */
int tr_udp_send_msgs(struct tr_udp *u, const struct tr_udp_msg *m, unsigned n);
/* True if err from tr_udp_send_msgs on a segmented message says "this
 * kernel/route does no UDP GSO" rather than "this datagram cannot go". */
bool tr_udp_gso_refused(int err);

/*
 * Largest UDP payload one UDP_SEGMENT message may carry: the IPv4 total
 * length (65535) less the IPv4 and UDP headers = 65507; IPv6's payload length
 * leaves out its own header: 65535 - 8 = 65527 (__ip_append_data /
 * __ip6_append_data, with IP_MAX_MTU / IP6_MAX_MTU once gso_size is set).
 */
uint32_t tr_udp_gso_max_payload(const struct tr_udp *u);

/*
 * How many of iov[0..n) make one segmented message from iov[0]: a run of
 * datagrams of iov[0]'s length, the last of which may be shorter (it ends
 * the run), at most TR_UDP_GSO_SEGS_MAX of them and max_payload bytes in
 * all. 1 when the next one is longer or would break a limit; 0 when n = 0.
 */
unsigned tr_udp_gso_run(const struct iovec *iov, unsigned n, uint32_t max_payload);

/*
 * Receives up to n messages (capped at TR_UDP_BATCH_MAX) in one recvmmsg,
 * each into its own iov[] (with TR_UDP_F_GRO, a batch of datagrams back to
 * back, seg bytes apart). Returns how many came, c, or -EAGAIN, or -errno;
 * m[0..c) have len, seg and res set.
 */
int tr_udp_recv_msgs(struct tr_udp *u, struct tr_udp_msg *m, unsigned n);
/*
 * Takes every queued ICMP error (IP_RECVERR) off the socket. A receive does
 * so when it reports the error, but once a send has taken the socket's
 * pending error the queue stays, poll keeps saying POLLERR and a receive
 * only says EAGAIN: a worker that saw POLLERR and then received nothing
 * calls this, or every poll would return at once.
 */
void tr_udp_drain_errors(struct tr_udp *u);

/*
 * Looks at the next message without taking it (MSG_PEEK): its whole length
 * and, for a coalesced batch, its gso_size (0 for a lone datagram). A hint
 * for laying out the next receive, and only from the peer. Returns 0,
 * -EADDRNOTAVAIL (from another source: no hint), -EAGAIN when nothing
 * waits, or -errno. Counted in rx_syscalls.
 */
int tr_udp_peek(struct tr_udp *u, uint32_t *len, uint32_t *seg);

/* Datagrams the kernel dropped before we could read them (receive buffer
 * full: SK_MEMINFO_DROPS of SO_MEMINFO). One getsockopt, for show, never on
 * the data path. 0 if the kernel cannot tell. */
uint64_t tr_udp_kernel_drops(const struct tr_udp *u);

/* Same family, address and port. */
bool tr_udp_addr_equal(const union tr_sockaddr *a, const union tr_sockaddr *b);

#endif
