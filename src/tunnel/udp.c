/* SPDX-License-Identifier: MIT */
/* UDP socket of the tunnel: open/bind/size, batch send and receive, peer check. */
#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/barrier.h"
#include "tunnel/udp.h"

static socklen_t sa_len(const union tr_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

bool tr_udp_addr_equal(const union tr_sockaddr *a, const union tr_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(struct in6_addr));
	return false;
}

static void size_buffer(int fd, int force_opt, int opt, uint32_t bytes, int *granted)
{
	int v = (int)bytes;
	socklen_t len = sizeof(*granted);

	if (bytes && setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)); /* capped at [rw]mem_max */
	if (getsockopt(fd, SOL_SOCKET, opt, granted, &len) < 0)
		*granted = 0;
}

/* UDP_SEGMENT = 0 is a no-op that only a kernel with UDP GSO accepts; UDP_GRO
 * switches coalescing on for this socket. What the kernel refuses is off. */
static void probe_offloads(struct tr_udp *u)
{
	int zero = 0, one = 1;

	if ((u->flags & TR_UDP_F_GSO) &&
	    setsockopt(u->fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) < 0)
		u->flags &= ~TR_UDP_F_GSO;
	if ((u->flags & TR_UDP_F_GRO) &&
	    setsockopt(u->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
		u->flags &= ~TR_UDP_F_GRO;
}

int tr_udp_open(struct tr_udp *u, const union tr_sockaddr *local,
		const union tr_sockaddr *peer, uint32_t sockbuf, uint32_t flags)
{
	int fam = local->sa.sa_family, one = 1, r;
	socklen_t len;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	if ((fam != AF_INET && fam != AF_INET6) || peer->sa.sa_family != fam)
		return -EAFNOSUPPORT;
	if (flags & ~(TR_UDP_F_CONNECT | TR_UDP_F_GSO | TR_UDP_F_GRO | TR_UDP_F_ROAM |
		      TR_UDP_F_REUSEPORT) ||
	    ((flags & TR_UDP_F_ROAM) && (flags & TR_UDP_F_CONNECT)))
		return -EINVAL;
	u->flags = flags;
	u->fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (u->fd < 0)
		return -errno;
	/* An IPv6 tunnel socket takes IPv6 only: a v4-mapped source would never
	 * equal the peer anyway. */
	if (fam == AF_INET6 &&
	    setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto err;
	/* Unconnected, ICMP errors about what we sent are reported only with
	 * IP_RECVERR (then also queued: drained in recv_failed). */
	if ((flags & TR_UDP_F_ROAM) &&
	    setsockopt(u->fd, fam == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
		       fam == AF_INET ? IP_RECVERR : IPV6_RECVERR, &one, sizeof(one)) < 0)
		goto err;
	if ((flags & TR_UDP_F_REUSEPORT) &&
	    setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto err;
	size_buffer(u->fd, SO_RCVBUFFORCE, SO_RCVBUF, sockbuf, &u->rcvbuf);
	size_buffer(u->fd, SO_SNDBUFFORCE, SO_SNDBUF, sockbuf, &u->sndbuf);
	probe_offloads(u);
	if (bind(u->fd, &local->sa, sa_len(local)) < 0)
		goto err;
	len = sizeof(u->local);
	if (getsockname(u->fd, &u->local.sa, &len) < 0)
		goto err;
	r = tr_udp_set_peer(u, peer);
	if (r) {
		close(u->fd);
		u->fd = -1;
		return r;
	}
	return 0;
err:
	r = -errno;
	close(u->fd);
	u->fd = -1;
	return r;
}

int tr_udp_set_peer(struct tr_udp *u, const union tr_sockaddr *peer)
{
	if (peer->sa.sa_family != u->local.sa.sa_family)
		return -EAFNOSUPPORT;
	if ((u->flags & TR_UDP_F_CONNECT) && connect(u->fd, &peer->sa, sa_len(peer)) < 0)
		return -errno;
	u->peer = *peer;
	u->rx_peer = *peer;
	return 0;
}

static bool unreachable(int err)
{
	return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH;
}

/* IP_RECVERR queues each ICMP error on the socket, charged to its receive
 * buffer: taken off here, or they would crowd datagrams out. */
void tr_udp_drain_errors(struct tr_udp *u)
{
	char buf[64], ctl[256];

	for (int i = 0; i < 64; i++) {
		struct iovec v = { buf, sizeof(buf) };
		struct msghdr h = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl,
				    .msg_controllen = sizeof(ctl) };
		if (recvmsg(u->fd, &h, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
	}
}

/* A failed recvmmsg: nothing queued, or an error the kernel kept for us. */
static int recv_failed(struct tr_udp *u, int err)
{
	if ((u->flags & TR_UDP_F_ROAM) && err != EWOULDBLOCK)
		tr_udp_drain_errors(u);
	tr_stat_add(&u->stats.rx_err_unreachable, unreachable(err));
	return err == EWOULDBLOCK ? -EAGAIN : -err;
}

uint64_t tr_udp_kernel_drops(const struct tr_udp *u)
{
	uint32_t mem[SK_MEMINFO_VARS] = { 0 };
	socklen_t len = sizeof(mem);

	if (u->fd < 0 || getsockopt(u->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return 0;
	return mem[SK_MEMINFO_DROPS];
}

void tr_udp_close(struct tr_udp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

int tr_udp_send_burst(struct tr_udp *u, const struct iovec *iov, unsigned n)
{
	struct tr_udp_msg m[TR_UDP_BATCH_MAX];

	if (n > TR_UDP_BATCH_MAX)
		n = TR_UDP_BATCH_MAX;
	/* One datagram per message; iov is only read by the kernel, the
	 * message lacks the const. */
	for (unsigned i = 0; i < n; i++)
		m[i] = (struct tr_udp_msg){ .iov = (struct iovec *)&iov[i], .iovlen = 1 };
	return tr_udp_send_msgs(u, m, n);
}

int tr_udp_recv_burst(struct tr_udp *u, const struct iovec *iov, int32_t *res, unsigned n)
{
	struct tr_udp_msg m[TR_UDP_BATCH_MAX];
	int got;

	if (n > TR_UDP_BATCH_MAX)
		n = TR_UDP_BATCH_MAX;
	/* One slot per message: the message receive with its peer check and
	 * counters; without UDP_GRO on the socket each is one datagram. */
	for (unsigned i = 0; i < n; i++)
		m[i] = (struct tr_udp_msg){ .iov = (struct iovec *)&iov[i], .iovlen = 1 };
	got = tr_udp_recv_msgs(u, m, n);
	for (int i = 0; i < got; i++)
		res[i] = m[i].res ? m[i].res : (int32_t)m[i].len;
	return got;
}

bool tr_udp_gso_refused(int err)
{
	/* udp_send_skb: -EIO no checksum offload on the route or xfrm in the way
	 * (older kernels); -EINVAL segment limits; -ENOPROTOOPT no UDP_SEGMENT. */
	return err == -EIO || err == -EINVAL || err == -ENOPROTOOPT;
}

uint32_t tr_udp_gso_max_payload(const struct tr_udp *u)
{
	return u->local.sa.sa_family == AF_INET6 ? 65535u - 8u : 65535u - 20u - 8u;
}

unsigned tr_udp_gso_run(const struct iovec *iov, unsigned n, uint32_t max_payload)
{
	if (n == 0)
		return 0;
	size_t seg = iov[0].iov_len, total = seg;
	unsigned k = 1;

	while (k < n && k < TR_UDP_GSO_SEGS_MAX && iov[k].iov_len <= seg &&
	       total + iov[k].iov_len <= max_payload) {
		total += iov[k].iov_len;
		if (iov[k++].iov_len < seg)
			break; /* a shorter one can only be the last */
	}
	return k;
}

/* One UDP_SEGMENT cmsg: an int-aligned u16 in a cmsghdr. */
union gso_cmsg {
	char buf[CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
};

int tr_udp_send_msgs(struct tr_udp *u, const struct tr_udp_msg *m, unsigned n)
{
	struct mmsghdr msg[TR_UDP_BATCH_MAX];
	union gso_cmsg ctl[TR_UDP_BATCH_MAX];
	bool named = !(u->flags & TR_UDP_F_CONNECT);
	int sent;

	if (n > TR_UDP_BATCH_MAX)
		n = TR_UDP_BATCH_MAX;
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		msg[i].msg_hdr = (struct msghdr){
			.msg_name = named ? &u->peer : NULL,
			.msg_namelen = named ? sa_len(&u->peer) : 0,
			.msg_iov = m[i].iov,
			.msg_iovlen = m[i].iovlen,
		};
		if (m[i].seg && m[i].iovlen > 1) {
			uint16_t seg = (uint16_t)m[i].seg;
			struct cmsghdr *c = (struct cmsghdr *)ctl[i].buf;

			memset(&ctl[i], 0, sizeof(ctl[i]));
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			msg[i].msg_hdr.msg_control = ctl[i].buf;
			msg[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
	}
	do {
		tr_stat_add(&u->stats.tx_syscalls, 1);
		sent = sendmmsg(u->fd, msg, n, MSG_DONTWAIT);
	} while (sent < 0 && errno == EINTR);
	if (sent < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return -EAGAIN;
		int err = errno;
		tr_stat_add(&u->stats.tx_err, 1);
		tr_stat_add(&u->stats.tx_err_unreachable, unreachable(err));
		if (u->flags & TR_UDP_F_ROAM)
			tr_udp_drain_errors(u);
		return -err;
	}
	for (int i = 0; i < sent; i++) {
		tr_stat_add(&u->stats.tx_datagrams, m[i].iovlen);
		tr_stat_add(&u->stats.tx_bytes, msg[i].msg_len);
		if (msg[i].msg_hdr.msg_controllen) {
			tr_stat_add(&u->stats.tx_gso_sends, 1);
			tr_stat_add(&u->stats.tx_gso_segments, m[i].iovlen);
		}
	}
	return sent;
}

/* The UDP_GRO cmsg: gso_size as an int (udp_cmsg_recv). */
static uint32_t gro_size(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		int v;

		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(v))) {
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (uint32_t)v : 0;
		}
	}
	return 0;
}

union gro_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

int tr_udp_recv_msgs(struct tr_udp *u, struct tr_udp_msg *m, unsigned n)
{
	struct mmsghdr msg[TR_UDP_BATCH_MAX];
	union tr_sockaddr from[TR_UDP_BATCH_MAX];
	union gro_cmsg ctl[TR_UDP_BATCH_MAX];
	int got;

	if (n > TR_UDP_BATCH_MAX)
		n = TR_UDP_BATCH_MAX;
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		msg[i].msg_hdr = (struct msghdr){
			.msg_name = &from[i],
			.msg_namelen = sizeof(from[i]),
			.msg_iov = m[i].iov,
			.msg_iovlen = m[i].iovlen,
			.msg_control = ctl[i].buf,
			.msg_controllen = sizeof(ctl[i].buf),
		};
	}
	do {
		tr_stat_add(&u->stats.rx_syscalls, 1);
		got = recvmmsg(u->fd, msg, n, MSG_DONTWAIT, NULL);
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return recv_failed(u, errno);
	for (int i = 0; i < got; i++) {
		struct msghdr *h = &msg[i].msg_hdr;

		m[i].len = msg[i].msg_len;
		m[i].seg = gro_size(h);
		/* A coalesced message carries several datagrams: drops count
		 * them all (with MSG_TRUNC, at least those that fit). */
		uint32_t d = m[i].seg && m[i].len ? (m[i].len + m[i].seg - 1) / m[i].seg : 1;
		/* Untrusted until checked: any host can send to the port. */
		bool other = h->msg_namelen > sizeof(from[i]) ||
			     !tr_udp_addr_equal(&from[i], &u->rx_peer);
		m[i].other = false;
		if (other && (u->flags & TR_UDP_F_ROAM) && h->msg_namelen <= sizeof(from[i])) {
			/* The caller's to judge: the peer, moved, if it authenticates. */
			m[i].other = true;
			m[i].from = from[i];
			other = false;
		}
		if (other) {
			m[i].res = -EADDRNOTAVAIL;
			tr_stat_add(&u->stats.rx_drop_peer, d);
		} else if (h->msg_flags & MSG_TRUNC) {
			m[i].res = -EMSGSIZE;
			tr_stat_add(&u->stats.rx_drop_trunc, d);
		} else {
			m[i].res = 0;
			tr_stat_add(&u->stats.rx_datagrams, d);
			tr_stat_add(&u->stats.rx_bytes, m[i].len);
			if (m[i].seg) {
				tr_stat_add(&u->stats.rx_gro_batches, 1);
				tr_stat_add(&u->stats.rx_gro_datagrams, d);
			}
		}
	}
	return got;
}

int tr_udp_peek(struct tr_udp *u, uint32_t *len, uint32_t *seg)
{
	uint8_t byte;
	struct iovec v = { &byte, 1 };
	union gro_cmsg ctl;
	union tr_sockaddr from;
	struct msghdr h = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t r;

	do {
		tr_stat_add(&u->stats.rx_syscalls, 1);
		/* MSG_TRUNC: the whole length comes back, not the byte copied. */
		r = recvmsg(u->fd, &h, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return recv_failed(u, errno);
	/* Only the peer steers the layout: a stranger's odd-sized datagram at
	 * the head of the queue would send the peer's next batch down the
	 * slow path (the receive that follows drops and counts it). */
	if (h.msg_namelen > sizeof(from) || !tr_udp_addr_equal(&from, &u->rx_peer))
		return -EADDRNOTAVAIL;
	*len = (uint32_t)r;
	*seg = gro_size(&h);
	return 0;
}
