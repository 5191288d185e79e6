/* SPDX-License-Identifier: MIT */
/*
 * The application's end of a session: maps the ring memory, consumes the
 * egress ring (receive/release, any release order) and produces into the
 * ingress ring (allocate/commit/abandon, any commit order). The device side
 * is checked as the device checks us: every shared value once, then bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/api.h"
#include "lib/barrier.h"
#include "lib/session.h"

/* Lock-free unless the session was opened THREADSAFE: the single-thread fast
 * path pays one predictable branch. */
static inline void lock(struct tr_session *s, pthread_mutex_t *m)
{
	if (s->flags & TR_SESSION_F_THREADSAFE)
		pthread_mutex_lock(m);
}

static inline void unlock(struct tr_session *s, pthread_mutex_t *m)
{
	if (s->flags & TR_SESSION_F_THREADSAFE)
		pthread_mutex_unlock(m);
}

static void close_fds(int memfd, int app_evt, int dev_evt)
{
	if (memfd >= 0)
		close(memfd);
	if (app_evt >= 0)
		close(app_evt);
	/* One doorbell end may be passed as both (tunroom/port.h). */
	if (dev_evt >= 0 && dev_evt != app_evt)
		close(dev_evt);
}

TR_API int tr_session_attach(struct tr_session **out, int memfd, int app_evt, int dev_evt,
			     uint32_t flags)
{
	struct tr_session *s;
	struct stat st;
	int err = -EINVAL;

	if (!out || memfd < 0 || app_evt < 0 || dev_evt < 0 ||
	    flags & ~(uint32_t)TR_SESSION_F_THREADSAFE)
		goto err_fds;
	if (fstat(memfd, &st) < 0) {
		err = -errno;
		goto err_fds;
	}
	if (st.st_size < TR_ABI_DATA_START || (uint64_t)st.st_size > (1ull << 31)) {
		err = -EPROTO;
		goto err_fds;
	}
	/* A file the device could still shrink would fault us with SIGBUS. */
	int seals = fcntl(memfd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		err = -EPROTO;
		goto err_fds;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto err_fds;
	}
	s->epfd = -1;
	s->wake_evt = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_evt < 0) {
		err = -errno;
		goto err_free;
	}
	/* Populated now: a ring that goes round faults every page in once,
	 * and that would land on the first lap's packets (in bench_tun --rr,
	 * 21,000 page faults in 120,000 round trips of fresh sessions). */
	s->map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_POPULATE, memfd, 0);
	if (s->map == MAP_FAILED) {
		err = -errno;
		goto err_free;
	}
	err = tr_layout_check(s->map, (uint64_t)st.st_size, &s->lay);
	if (err)
		goto err_unmap;
	s->memfd = memfd;
	s->app_evt = app_evt;
	s->dev_evt = dev_evt;
	s->flags = flags;
	tr_ring_init(&s->rx, (struct tr_abi_ring *)((uint8_t *)s->map + TR_ABI_EGRESS_CTRL),
		     (uint8_t *)s->map + s->lay.egress_data, s->lay.capacity,
		     s->lay.max_slot, dev_evt);
	tr_ring_init(&s->tx, (struct tr_abi_ring *)((uint8_t *)s->map + TR_ABI_INGRESS_CTRL),
		     (uint8_t *)s->map + s->lay.ingress_data, s->lay.capacity,
		     s->lay.max_slot, dev_evt);
	pthread_mutex_init(&s->rx_lock, NULL);
	pthread_mutex_init(&s->tx_lock, NULL);
	pthread_mutex_init(&s->ep_lock, NULL);
	*out = s;
	return 0;
err_unmap:
	munmap(s->map, (size_t)st.st_size);
err_free:
	if (s->wake_evt >= 0)
		close(s->wake_evt);
	free(s);
err_fds:
	close_fds(memfd, app_evt, dev_evt);
	return err;
}

/* TR_SESSION_F_INLINE: the device serves the port through the pumps it
 * hands back, and tr_session_fd() becomes an epoll descriptor on the
 * device's own (inline_fd, inline_mute). */
static int start_inline(struct tr_session *s, struct tr_device *dev, struct tr_port *port)
{
	int err;

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	err = dev->ops->start_port_inline(dev, port, &s->inl);
	if (err)
		return err;
	if (!s->inl.egress || !s->inl.ingress || s->inl.fd < 0) {
		err = -EINVAL; /* a backend that does not keep the contract */
		dev->ops->stop_port(dev, port);
		s->inl = (struct tr_device_inline){ 0 };
		return err;
	}
	return 0;
}

TR_API int tr_session_open(struct tr_session **out, struct tr_device *dev,
			   const struct tr_session_config *cfg)
{
	struct tr_port *port;
	struct tr_port_fds fds;
	int err;

	if (!out || !dev || !dev->ops || !cfg)
		return -EINVAL;
	if (cfg->flags & TR_SESSION_F_INLINE && !dev->ops->start_port_inline)
		return -EOPNOTSUPP;
	err = tr_port_open(&port, cfg);
	if (err)
		return err;
	/* The session maps its own duplicates, exactly as it would after a
	 * hand-over from tunroomd: one attach path, one set of checks. */
	tr_port_get_fds(port, &fds);
	int memfd = fcntl(fds.memfd, F_DUPFD_CLOEXEC, 0);
	int app_evt = fcntl(fds.app_evt, F_DUPFD_CLOEXEC, 0);
	int dev_evt = fcntl(fds.dev_evt, F_DUPFD_CLOEXEC, 0);
	if (memfd < 0 || app_evt < 0 || dev_evt < 0) {
		err = -errno;
		close_fds(memfd, app_evt, dev_evt);
		goto err_port;
	}
	err = tr_session_attach(out, memfd, app_evt, dev_evt,
				cfg->flags & ~(uint32_t)TR_SESSION_F_INLINE);
	if (err)
		goto err_port;
	if (cfg->flags & TR_SESSION_F_INLINE)
		err = start_inline(*out, dev, port);
	else
		err = dev->ops->start_port(dev, port);
	if (err)
		goto err_session;
	(*out)->dev = dev;
	(*out)->port = port;
	return 0;
err_session:
	tr_session_close(*out);
	*out = NULL;
err_port:
	tr_port_close(port);
	return err;
}

TR_API void tr_session_close(struct tr_session *s)
{
	if (!s)
		return;
	/* Tell the device we are gone (it stops serving this session), then
	 * stop and free an in-process device side. */
	tr_store_once(&s->tx.ctl->producer_closed, ESHUTDOWN);
	tr_store_once(&s->rx.ctl->consumer_closed, ESHUTDOWN);
	tr_smp_mb();
	tr_evt_signal(s->dev_evt);
	if (s->port) {
		s->dev->ops->stop_port(s->dev, s->port);
		tr_port_close(s->port);
	}
	munmap(s->map, s->lay.map_size);
	close_fds(s->memfd, s->app_evt, s->dev_evt);
	close(s->wake_evt);
	if (s->epfd >= 0)
		close(s->epfd);
	pthread_mutex_destroy(&s->rx_lock);
	pthread_mutex_destroy(&s->tx_lock);
	pthread_mutex_destroy(&s->ep_lock);
	free(s);
}

/* The device's descriptor joins the epoll set only when the application
 * asks for tr_session_fd(): a registered waiter costs the kernel a wake-up
 * call on every packet it queues (2-3 % of the samples of bench_tun --rr,
 * under the queue's sock_def_readable), and tr_rx_wait() does not need it.
 * Any thread may ask, THREADSAFE or not: under ep_lock, which inline_mute
 * takes while the fd is not added yet. */
static int inline_fd(struct tr_session *s)
{
	if (!tr_load_acquire(&s->ep_added)) {
		pthread_mutex_lock(&s->ep_lock);
		if (!s->ep_added) {
			struct epoll_event ev = { .events = tr_load_once(&s->inl_full) ? 0 : EPOLLIN };

			/* Cannot fail for a live descriptor; if it did, the fd
			 * would never poll readable and the caller sleeps out
			 * its timeout: no worse than a missed wake-up. */
			(void)epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->inl.fd, &ev);
			tr_store_release(&s->ep_added, 1);
		}
		pthread_mutex_unlock(&s->ep_lock);
	}
	return s->epfd;
}

TR_API int tr_session_fd(const struct tr_session *s)
{
	/* A getter to the caller; the registration it may do is invisible. */
	if (s->inl.egress)
		return inline_fd((struct tr_session *)(uintptr_t)s);
	return s->app_evt;
}

TR_API int tr_session_wake(struct tr_session *s)
{
	uint64_t one = 1;

	if (!s)
		return -EINVAL;
	/* EAGAIN: the counter is saturated, a wake-up is pending anyway. */
	if (write(s->wake_evt, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

TR_API uint32_t tr_session_head_room(const struct tr_session *s)
{
	return s->lay.head_room;
}

TR_API uint32_t tr_session_tail_room(const struct tr_session *s)
{
	return s->lay.tail_room;
}

TR_API uint32_t tr_session_max_packet(const struct tr_session *s)
{
	return s->lay.max_packet;
}

TR_API int tr_session_error(const struct tr_session *s)
{
	int err = tr_load_once(&s->error), peer = tr_load_once(&s->peer_error);

	return err == -EPIPE && peer ? -peer : err;
}

/* The rx and tx sides may run on two threads, and the caller on a third:
 * every field is read relaxed (barrier.h). */
TR_API void tr_session_stats(const struct tr_session *s, struct tr_stats *out)
{
	const struct tr_stats *st = &s->st;

	*out = (struct tr_stats){
		.rx_packets = tr_stat_read(&st->rx_packets),
		.rx_bytes = tr_stat_read(&st->rx_bytes),
		.tx_packets = tr_stat_read(&st->tx_packets),
		.tx_bytes = tr_stat_read(&st->tx_bytes),
		.tx_abandoned = tr_stat_read(&st->tx_abandoned),
		.tx_err_ring_full = tr_stat_read(&st->tx_err_ring_full),
		.tx_shrunk_bytes = tr_stat_read(&st->tx_shrunk_bytes),
		.wakeups_sent = tr_stat_read(&s->rx.wakeups) + tr_stat_read(&s->tx.wakeups),
		.sleeps = tr_stat_read(&st->sleeps),
		.err_corrupt = tr_stat_read(&st->err_corrupt),
	};
}

static int session_fail(struct tr_session *s, int err)
{
	int none = 0;

	/* The rx and tx sides may fail at once on two threads: first one wins. */
	if (tr_cmpxchg(&s->error, &none, err)) {
		if (err == -EPROTO)
			tr_store_once(&s->st.err_corrupt, 1);
	}
	return tr_load_once(&s->error);
}

/* The device stopped (it stores why before it stops touching the ring). */
static int check_device(struct tr_session *s)
{
	uint32_t why = tr_ring_peer_closed(&s->rx, false);

	if (!why)
		why = tr_ring_peer_closed(&s->tx, true);
	if (why) {
		tr_store_once(&s->peer_error, (int)(why < 4096 ? why : EPROTO));
		return session_fail(s, -EPIPE);
	}
	return 0;
}

/* ---- rx: the egress ring ---- */

/* A void egress slot (the device's empty read between two full ones) is
 * released as soon as it is seen: at once if everything before it is (the
 * caller publishes), else marked for the release walk. Returns true if it
 * moved the released prefix. */
static bool rx_skip_void(struct tr_session *s, struct tr_slot_desc *d)
{
	struct tr_ring *r = &s->rx;

	if (r->tail == r->rel) {
		r->tail = r->rel += d->size;
		return true;
	}
	tr_store_once(&d->slot->flags, TR_SLOT_F_VOID | TR_SLOT_F_RELEASED);
	r->tail += d->size;
	return false;
}

/* Checks one egress slot beyond what ring.c checks: the device must honour
 * the rooms this session asked for and may not use ingress-only flags. */
static int rx_take(struct tr_session *s, struct tr_pkt *pkt)
{
	struct tr_slot_desc d = { 0 }; /* filled when peek returns 1; gcc cannot tell */
	bool freed = false;
	int ret;

	/* A run of voids is given back with one publish (a store and a full
	 * barrier), not one each: with TSO reads a small packet is followed
	 * by a void, so at 64 bytes nearly every packet brought one. */
	while ((ret = tr_ring_cons_peek(&s->rx, &d)) == 1 && d.flags == TR_SLOT_F_VOID &&
	       !d.length)
		freed |= rx_skip_void(s, &d);
	if (freed)
		tr_ring_cons_publish(&s->rx);
	if (ret <= 0)
		return ret;
	if (d.flags || d.offset < s->lay.head_room ||
	    d.size - TR_SLOT_HDR - d.offset - d.length < s->lay.tail_room || !d.length)
		return -EPROTO;
	*pkt = (struct tr_pkt){
		.buf = (uint8_t *)(d.slot + 1), .cap = d.size - TR_SLOT_HDR,
		.off = d.offset, .len = d.length, .slot = d.slot, .priv = d.size,
	};
	s->rx.tail += d.size;
	tr_stat_add(&s->st.rx_packets, 1);
	tr_stat_add(&s->st.rx_bytes, d.length);
	return 1;
}

/* Empty ring: arm the session fd so poll() wakes when the device publishes. */
static int rx_arm(struct tr_session *s)
{
	if (s->rx_armed && tr_load_once(&s->rx.ctl->consumer_waiting))
		return 0; /* still armed, nothing signalled since */
	/* Drain before arming: a count left from an earlier wake-up would make
	 * poll() return at once for nothing. */
	tr_evt_drain(s->app_evt);
	s->rx_armed = true;
	tr_stat_add(&s->st.sleeps, 1);
	return tr_ring_cons_arm(&s->rx);
}

/* Inline: while the egress ring is full, a poller of tr_session_fd() must
 * not wake for device data it cannot take yet; the release that makes room
 * turns it back on. Both under the rx lock. */
static void inline_mute(struct tr_session *s, bool full)
{
	struct epoll_event ev = { .events = full ? 0 : EPOLLIN };
	int added;

	if (s->inl_full == full)
		return;
	/* Read by inline_fd on whichever thread asks for the fd first. */
	tr_store_once(&s->inl_full, full);
	added = tr_load_acquire(&s->ep_added);
	if (!added) {
		/* tr_session_fd() on another thread may be adding it right now
		 * with the state it read before ours: once it is done (the
		 * lock), it is added and ours is set below; if it comes after
		 * us, it reads ours. Without the lock, a release racing the
		 * add could leave the fd muted with room in the ring: a poller
		 * then sleeps with packets waiting. Only on a change, and only
		 * until the fd is added. */
		pthread_mutex_lock(&s->ep_lock);
		added = tr_load_once(&s->ep_added);
		pthread_mutex_unlock(&s->ep_lock);
	}
	/* Cannot fail for a descriptor we added; if it did, a poller would
	 * only wake for nothing (or once more) until the next change. */
	if (added)
		(void)epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->inl.fd, &ev);
}

/* tr_rx_wait's look at the device: it does not know how many the caller
 * will take, so a whole batch. */
#define RX_PUMP_WAIT 256u

/* Inline: one batch from the device into the egress ring, in this thread,
 * of at most max reads (what the receiver asked for: Wintun's receive asks
 * for one, and a read ahead would mostly find nothing). Returns packets
 * moved, or the session's error once the port stopped. */
static inline __attribute__((always_inline)) int rx_pump(struct tr_session *s, unsigned max)
{
	int full = 0;
	int n = s->inl.egress(s->inl.ctx, max, &full);

	if (n < 0) {
		int err = check_device(s);

		return err ? err : session_fail(s, -EPIPE);
	}
	inline_mute(s, n == 0 && full);
	return n;
}

static inline __attribute__((always_inline)) int rx_receive_locked(struct tr_session *s,
								     struct tr_pkt *pkts,
								     unsigned n)
{
	bool pumped = false;
	unsigned got = 0;
	int ret;

	if (tr_load_once(&s->error))
		return tr_load_once(&s->error);
	while (got < n) {
		ret = rx_take(s, &pkts[got]);
		if (ret < 0)
			return session_fail(s, ret);
		if (ret == 0 && s->inl.egress) {
			/* Empty: read from the device ourselves, once per call
			 * (a batch is what the device had; asking again would
			 * cost an empty read). */
			if (got || pumped)
				break;
			pumped = true;
			ret = rx_pump(s, n);
			if (ret < 0)
				return ret;
			if (ret == 0)
				break;
			continue;
		}
		if (ret == 0) {
			if (got || !rx_arm(s))
				break;
			continue; /* data arrived while arming: take it */
		}
		got++;
	}
	if (got && s->rx_armed) {
		tr_ring_cons_disarm(&s->rx);
		s->rx_armed = false;
	}
	if (!got) {
		ret = check_device(s);
		if (ret)
			return ret;
	}
	return (int)got;
}

TR_API int tr_rx_receive_burst(struct tr_session *s, struct tr_pkt *pkts, unsigned n)
{
	lock(s, &s->rx_lock);
	int ret = rx_receive_locked(s, pkts, n);
	unlock(s, &s->rx_lock);
	return ret;
}

TR_API int tr_rx_receive(struct tr_session *s, struct tr_pkt *pkt)
{
	/* Not through tr_rx_receive_burst: one frame less above an inline
	 * session's read(2) (tunio.c, write_one). */
	lock(s, &s->rx_lock);
	int ret = rx_receive_locked(s, pkt, 1);
	unlock(s, &s->rx_lock);

	return ret == 1 ? 0 : ret == 0 ? -EAGAIN : ret;
}

/* After a poll: takes a tr_session_wake() off the counter. */
static void wake_drain(struct tr_session *s, const struct pollfd *pfd)
{
	uint64_t v;

	if (pfd->revents & POLLIN && read(s->wake_evt, &v, sizeof(v)) < 0) {
		/* EAGAIN: another waiter took it */
	}
}

/* Sleeps on the session -- its device (inline: the TUN queue itself, not
 * while the egress ring is full; else the doorbell) and tr_session_wake --
 * and on the caller's extra descriptors, whose revents it fills. A full
 * inline ring makes progress only by a release on another thread, and the
 * release that makes room wakes us (rx_release_locked). Returns 1 if the
 * session woke, 0 if not, or -errno. */
static int rx_sleep(struct tr_session *s, struct pollfd *extra, unsigned n_extra,
		    int timeout_ms, bool full)
{
	struct pollfd pfd[2 + TR_RX_WAIT_FDS_MAX];
	bool inl = s->inl.egress != NULL;

	pfd[0] = (struct pollfd){ .fd = s->wake_evt, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = !inl ? s->app_evt : full ? -1 : s->inl.fd, .events = POLLIN };
	for (unsigned i = 0; i < n_extra; i++)
		pfd[2 + i] = extra[i];
	tr_stat_add(&s->st.sleeps, inl); /* the doorbell's arm counted the other kind */
	int n = poll(pfd, 2 + n_extra, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (unsigned i = 0; i < n_extra; i++)
		extra[i].revents = pfd[2 + i].revents;
	wake_drain(s, &pfd[0]);
	/* The doorbell is the tx side's too: a ring for ingress space (after
	 * a tr_tx_wait) would otherwise stay there while this side is still
	 * armed (rx_arm drains only when it re-arms) and make every later
	 * poll return at once: a busy loop until egress data came. What it
	 * rang for is looked at by the caller's next receive. */
	if (!inl && pfd[1].revents & POLLIN)
		tr_evt_drain(s->app_evt);
	/* POLLERR/POLLHUP on the device (the link went away) count too: the
	 * next receive finds out and stops the session with the reason. */
	return (pfd[0].revents | pfd[1].revents) ? 1 : 0;
}

/* Before sleeping: 1 if packets wait in the egress ring (inline: after one
 * read from the device if pump), an error, or 0 to sleep (armed, for a
 * device thread to signal). *full: inline ring full. */
static int rx_ready(struct tr_session *s, bool pump, bool *full)
{
	int ready;

	lock(s, &s->rx_lock);
	ready = tr_load_once(&s->error);
	if (!ready && s->inl.egress) {
		if (tr_load_acquire(&s->rx.ctl->producer) != s->rx.tail)
			ready = 1;
		else if (pump && (ready = rx_pump(s, RX_PUMP_WAIT)) > 0)
			ready = 1; /* as documented: not how many the read moved */
	} else if (!ready) {
		ready = rx_arm(s) ? 1 : check_device(s);
	}
	*full = s->inl_full;
	unlock(s, &s->rx_lock);
	return ready;
}

/* After a wake-up on the doorbell: the device may have stopped. */
static int rx_woke(struct tr_session *s, int woke)
{
	if (woke <= 0 || s->inl.egress)
		return woke;
	lock(s, &s->rx_lock);
	int err = check_device(s);
	unlock(s, &s->rx_lock);
	return err ? err : 1;
}

TR_API int tr_rx_wait(struct tr_session *s, int timeout_ms)
{
	bool full;
	int ready;

	if (!s->inl.egress) {
		/* tail belongs to whoever holds the rx lock: spin on a snapshot. */
		lock(s, &s->rx_lock);
		uint32_t tail = s->rx.tail;
		unlock(s, &s->rx_lock);
		for (int spin = 0; spin < 256; spin++) {
			if (tr_load_acquire(&s->rx.ctl->producer) != tail)
				return 1;
			tr_cpu_relax();
		}
	}
	ready = rx_ready(s, true, &full);
	if (ready)
		return ready;
	return rx_woke(s, rx_sleep(s, NULL, 0, timeout_ms, full));
}

TR_API int tr_rx_wait_fds(struct tr_session *s, struct pollfd *fds, unsigned nfds,
			  int timeout_ms)
{
	bool full;
	int ready;

	if (!s || nfds > TR_RX_WAIT_FDS_MAX || (nfds && !fds))
		return -EINVAL;
	for (unsigned i = 0; i < nfds; i++)
		fds[i].revents = 0;
	/* No read from an inline device here: the caller's receive just
	 * found nothing, and the TUN queue's readiness is in the poll. */
	ready = rx_ready(s, false, &full);
	if (ready)
		return ready;
	return rx_woke(s, rx_sleep(s, fds, nfds, timeout_ms, full));
}

/* Marks each slot released, then moves rel over the released prefix: the
 * device gets space back strictly in ring order (docs/ring-abi.md rule 8).
 * A bad view stops the burst there: the views before it are released and
 * published, it and the ones after it are untouched (docs/ring-abi.md,
 * "Bursts that fail part-way"). */
static int rx_release_locked(struct tr_session *s, struct tr_pkt *pkts, unsigned n)
{
	struct tr_ring *r = &s->rx;
	uint32_t old = r->rel;
	int ret = 0;

	for (unsigned i = 0; i < n; i++) {
		int64_t idx = tr_ring_index_of(r, pkts[i].slot, r->rel, r->tail - r->rel);
		if (idx < 0) {
			ret = -EINVAL;
			break;
		}
		struct tr_abi_slot *slot = pkts[i].slot;
		uint32_t shm_flags = tr_load_once(&slot->flags);
		if (shm_flags & TR_SLOT_F_RELEASED) {
			ret = -EINVAL; /* released twice */
			break;
		}
		if ((uint32_t)idx == r->rel) {
			/* In order (the common case): pass it with the size
			 * checked at receive time, no write to the slot. The
			 * view is the caller's memory: a size it changed must
			 * not move rel off the slot grid. */
			uint32_t size = pkts[i].priv;
			if (size != tr_load_once(&slot->size) || size < TR_SLOT_HDR ||
			    size % TR_ABI_SLOT_ALIGN || size > r->tail - r->rel) {
				ret = -EINVAL;
				break;
			}
			r->rel += size;
		} else {
			tr_store_once(&slot->flags, shm_flags | TR_SLOT_F_RELEASED);
		}
		pkts[i].slot = NULL;
	}
	while (r->rel != r->tail) {
		struct tr_abi_slot *slot = tr_ring_slot_at(r, r->rel);
		uint32_t shm_flags = tr_load_once(&slot->flags);
		uint32_t shm_size = tr_load_once(&slot->size);

		if (!(shm_flags & TR_SLOT_F_RELEASED))
			break;
		/* Checked when received, but the device can write it since. */
		if (shm_size < TR_SLOT_HDR || shm_size % TR_ABI_SLOT_ALIGN ||
		    shm_size > r->tail - r->rel)
			return session_fail(s, -EPROTO);
		r->rel += shm_size;
	}
	if (r->rel != old) {
		tr_ring_cons_publish(r);
		if (s->inl_full) {
			/* Room again: device data may come in, and a thread in
			 * tr_rx_wait that slept on a full ring may read it. */
			inline_mute(s, false);
			tr_session_wake(s);
		}
	}
	return ret;
}

TR_API int tr_rx_release_burst(struct tr_session *s, struct tr_pkt *pkts, unsigned n)
{
	lock(s, &s->rx_lock);
	int ret = tr_load_once(&s->error) == -EPROTO ? -EPROTO : rx_release_locked(s, pkts, n);
	unlock(s, &s->rx_lock);
	return ret;
}

TR_API int tr_rx_release(struct tr_session *s, struct tr_pkt *pkt)
{
	return tr_rx_release_burst(s, pkt, 1);
}

int tr_session_rx_release_ptr(struct tr_session *s, const uint8_t *ptr)
{
	struct tr_ring *r = &s->rx;
	struct tr_pkt pkt = { 0 };
	int ret = -EINVAL;

	lock(s, &s->rx_lock);
	/* Walk the outstanding slots; Wintun callers release in order, so
	 * this is usually the first one. */
	for (uint32_t idx = r->rel; idx != r->tail;) {
		struct tr_abi_slot *slot = tr_ring_slot_at(r, idx);
		uint32_t shm_size = tr_load_once(&slot->size);
		uint32_t shm_offset = tr_load_once(&slot->offset);

		if (shm_size < TR_SLOT_HDR || shm_size % TR_ABI_SLOT_ALIGN ||
		    shm_size > r->tail - idx) {
			ret = session_fail(s, -EPROTO);
			break;
		}
		if ((const uint8_t *)(slot + 1) + shm_offset == ptr) {
			/* The size, as tr_rx_receive hands it out: an in-order
			 * release advances the consumer by it (0 would free
			 * nothing, and the device would wait for space forever). */
			pkt.slot = slot;
			pkt.priv = shm_size;
			ret = rx_release_locked(s, &pkt, 1);
			break;
		}
		idx += shm_size;
	}
	unlock(s, &s->rx_lock);
	return ret;
}

/* ---- tx: the ingress ring ---- */

static int tx_allocate_locked(struct tr_session *s, uint32_t size, struct tr_pkt *pkts,
			      unsigned n)
{
	uint32_t slot_size;
	unsigned got;

	if (tr_load_once(&s->error))
		return tr_load_once(&s->error);
	if (check_device(s))
		return tr_load_once(&s->error);
	if (size > s->lay.max_packet)
		return -EMSGSIZE;
	slot_size = TR_ALIGN(TR_SLOT_HDR + s->lay.head_room + size + s->lay.tail_room);
	for (got = 0; got < n; got++) {
		struct tr_abi_slot *slot;
		int err = tr_ring_prod_alloc(&s->tx, slot_size, &slot);

		if (err == -EAGAIN) {
			tr_stat_add(&s->st.tx_err_ring_full, 1);
			break;
		}
		if (err)
			return session_fail(s, err);
		tr_store_once(&slot->size, slot_size);
		tr_store_once(&slot->offset, s->lay.head_room);
		tr_store_once(&slot->length, size);
		tr_store_once(&slot->flags, TR_SLOT_F_BUSY);
		pkts[got] = (struct tr_pkt){
			.buf = (uint8_t *)(slot + 1), .cap = slot_size - TR_SLOT_HDR,
			.off = s->lay.head_room, .len = size, .slot = slot, .priv = slot_size,
		};
	}
	return (int)got;
}

TR_API int tr_tx_allocate_burst(struct tr_session *s, uint32_t size, struct tr_pkt *pkts,
				unsigned n)
{
	lock(s, &s->tx_lock);
	int ret = tx_allocate_locked(s, size, pkts, n);
	unlock(s, &s->tx_lock);
	return ret;
}

TR_API int tr_tx_allocate(struct tr_session *s, uint32_t size, struct tr_pkt *pkt)
{
	int ret = tr_tx_allocate_burst(s, size, pkt, 1);

	return ret == 1 ? 0 : ret == 0 ? -EAGAIN : ret;
}

/* An allocation may succeed now: the consumer moved since the allocation
 * that last looked, or the largest slot fits. */
static int tx_ready(struct tr_session *s)
{
	struct tr_ring *r = &s->tx;
	uint32_t shm_cons = tr_load_acquire(&r->ctl->consumer);

	if (tr_load_once(&s->error))
		return tr_load_once(&s->error);
	if (check_device(s))
		return tr_load_once(&s->error);
	return shm_cons != r->cons_seen || r->capacity - (r->head - shm_cons) >= r->max_slot;
}

/* The longest tr_tx_wait sleeps before it looks at the ring again. */
#define TX_WAIT_SLICE_MS 10

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TR_API int tr_tx_wait(struct tr_session *s, int timeout_ms)
{
	long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int ready;

	for (;;) {
		lock(s, &s->tx_lock);
		ready = tx_ready(s);
		if (!ready && tr_ring_prod_arm(&s->tx))
			ready = tx_ready(s); /* freed (or closed) while we armed */
		unlock(s, &s->tx_lock);
		if (ready)
			break;
		int left = deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (deadline >= 0 && left <= 0)
			break;
		/* The doorbell is the receive side's too, and its arm drains it:
		 * a tr_rx_wait on another thread may take the ring meant for
		 * us, and the device rings once per arm. So no sleep longer
		 * than a slice: a taken wake-up costs at most that. */
		struct pollfd pfd = { .fd = s->app_evt, .events = POLLIN };
		int n = poll(&pfd, 1, left < 0 || left > TX_WAIT_SLICE_MS ? TX_WAIT_SLICE_MS : left);
		if (n < 0 && errno != EINTR) {
			ready = -errno;
			break;
		}
		/* Readable but no space: the count is the receive side's, for
		 * it to drain. Do not spin on it. */
		if (n > 0) {
			lock(s, &s->tx_lock);
			ready = tx_ready(s);
			unlock(s, &s->tx_lock);
			if (ready)
				break;
			poll(NULL, 0, left < 0 || left > 1 ? 1 : left);
		}
	}
	/* Disarm unconditionally: a stale flag only costs the device one
	 * doorbell ring. */
	tr_ring_prod_disarm(&s->tx);
	return ready < 0 ? ready : ready ? 1 : 0;
}

/* Finishes one allocation in place: data bounds, shrink if it is the latest
 * allocation, flags last (clearing BUSY is what lets pub move over it). */
static int tx_finish(struct tr_session *s, struct tr_pkt *pkt, uint32_t flags)
{
	struct tr_ring *r = &s->tx;
	int64_t idx = tr_ring_index_of(r, pkt->slot, r->pub, r->head - r->pub);
	struct tr_abi_slot *slot = pkt->slot;

	if (idx < 0 || pkt->buf != (uint8_t *)(slot + 1) || pkt->priv < TR_SLOT_HDR ||
	    pkt->cap != pkt->priv - TR_SLOT_HDR || pkt->off > pkt->cap ||
	    pkt->len > pkt->cap - pkt->off || !(tr_load_once(&slot->flags) & TR_SLOT_F_BUSY))
		return -EINVAL;
	if (flags & TR_SLOT_F_VOID || !pkt->len)
		flags = TR_SLOT_F_VOID;
	uint32_t used = TR_ALIGN(TR_SLOT_HDR + pkt->off + pkt->len);
	uint32_t size = pkt->priv;
	bool last = (uint32_t)idx + size == r->head;
	if (flags & TR_SLOT_F_VOID) {
		tr_stat_add(&s->st.tx_abandoned, 1);
		pkt->slot = NULL;
		if (last) { /* never seen by anyone: take the whole slot back */
			r->head = (uint32_t)idx;
			return 0;
		}
		used = TR_SLOT_HDR;
	}
	if (last && used < size) {
		r->head = (uint32_t)idx + used; /* ring-abi.md rule 3 */
		tr_stat_add(&s->st.tx_shrunk_bytes, size - used);
		size = used;
	}
	tr_store_once(&slot->size, size);
	tr_store_once(&slot->offset, flags & TR_SLOT_F_VOID ? 0 : pkt->off);
	tr_store_once(&slot->length, flags & TR_SLOT_F_VOID ? 0 : pkt->len);
	tr_store_once(&slot->flags, flags);
	if (!(flags & TR_SLOT_F_VOID)) {
		tr_stat_add(&s->st.tx_packets, 1);
		tr_stat_add(&s->st.tx_bytes, pkt->len);
	}
	pkt->slot = NULL;
	return 0;
}

/* Finishes views in order up to the first bad one (-EINVAL): those before
 * it are committed and published, it and the ones after it stay allocated
 * and the caller's, to fix and commit or abandon (docs/ring-abi.md,
 * "Bursts that fail part-way"). */
static inline __attribute__((always_inline)) int tx_commit_locked(struct tr_session *s,
								    struct tr_pkt *pkts,
								    unsigned n, uint32_t flags)
{
	int err = 0;
	unsigned i;

	if (tr_load_once(&s->error))
		return tr_load_once(&s->error);
	for (i = 0; i < n && !err; i++)
		err = tx_finish(s, &pkts[i], flags);
	int passed = tr_ring_prod_advance(&s->tx);
	if (passed < 0)
		return session_fail(s, passed);
	if (passed) {
		tr_ring_prod_publish(&s->tx);
		/* Inline: the device writes them out now, in this thread,
		 * and their space is free again when this returns. */
		if (s->inl.ingress && s->inl.ingress(s->inl.ctx) < 0 && !err) {
			err = check_device(s);
			if (!err)
				err = session_fail(s, -EPIPE);
		}
	}
	return err;
}

TR_API int tr_tx_commit_burst(struct tr_session *s, struct tr_pkt *pkts, unsigned n,
			      uint32_t flags)
{
	if (flags & ~(uint32_t)TR_TX_MULTI)
		return -EINVAL;
	lock(s, &s->tx_lock);
	int ret = tx_commit_locked(s, pkts, n, flags);
	unlock(s, &s->tx_lock);
	return ret;
}

TR_API int tr_tx_commit(struct tr_session *s, struct tr_pkt *pkt, uint32_t flags)
{
	return tr_tx_commit_burst(s, pkt, 1, flags);
}

TR_API int tr_tx_abandon_burst(struct tr_session *s, struct tr_pkt *pkts, unsigned n)
{
	lock(s, &s->tx_lock);
	int ret = tx_commit_locked(s, pkts, n, TR_SLOT_F_VOID);
	unlock(s, &s->tx_lock);
	return ret;
}

TR_API int tr_tx_abandon(struct tr_session *s, struct tr_pkt *pkt)
{
	return tr_tx_abandon_burst(s, pkt, 1);
}

int tr_session_tx_commit_ptr(struct tr_session *s, const uint8_t *ptr, uint32_t len)
{
	/* We laid out every ingress slot with its data at head_room. */
	struct tr_abi_slot *slot = (struct tr_abi_slot *)(ptr - s->lay.head_room - TR_SLOT_HDR);
	struct tr_ring *r = &s->tx;
	int ret = -EINVAL;

	lock(s, &s->tx_lock);
	if (tr_ring_index_of(r, slot, r->pub, r->head - r->pub) >= 0) {
		uint32_t shm_size = tr_load_once(&slot->size);
		uint32_t shm_length = tr_load_once(&slot->length);
		if (len == UINT32_MAX)
			len = shm_length; /* the size allocated */
		struct tr_pkt pkt = {
			.buf = (uint8_t *)(slot + 1), .cap = shm_size - TR_SLOT_HDR,
			.off = s->lay.head_room, .len = len, .slot = slot, .priv = shm_size,
		};
		if (shm_size >= TR_SLOT_HDR && len <= shm_length)
			ret = tx_commit_locked(s, &pkt, 1, 0);
	}
	unlock(s, &s->tx_lock);
	return ret;
}
