/* SPDX-License-Identifier: MIT */
/*
 * The device's end of one session: creates the sealed ring memory and the
 * doorbells, produces egress slots, consumes ingress slots. The device side may
 * hold privileges, so it never re-reads the header it wrote (it keeps its own
 * layout) and checks every slot the application hands it (ring.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/api.h"
#include "lib/barrier.h"
#include "lib/layout.h"
#include "lib/ring.h"
#include "tunroom/port.h"

struct tr_port {
	void *map;
	struct tr_layout lay;
	int memfd;
	/* Doorbells: one datagram socketpair, app_bell handed to the
	 * application, dev_bell ours alone; kick_evt is a private eventfd that
	 * only the device side (stop_port) writes. The application shares no
	 * open file with us, so it cannot change how our calls block. */
	int app_bell, dev_bell, kick_evt;
	struct tr_ring eg; /* egress: we produce */
	struct tr_ring in; /* ingress: we consume */
	struct tr_abi_slot *reserved;
	uint32_t reserved_idx;
	/* A burst reservation: burst_n slots of burst_slot bytes from burst_idx,
	 * each with room for burst_len bytes of packet. */
	uint32_t burst_idx, burst_n, burst_slot, burst_len;
	uint32_t in_size; /* size of the peeked ingress slot, 0 if none */
	int error;
	struct tr_port_stats st;
};

static int make_memory(const struct tr_layout *l, int *memfd, void **map)
{
	int fd = memfd_create("tunroom-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)l->map_size) < 0)
		goto err_close;
	/* Sealed before anyone else sees the fd: a client can neither shrink
	 * the file under our mapping (SIGBUS) nor grow it. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto err_close;
	/* Populated, as the application's mapping is (session.c). */
	*map = mmap(NULL, l->map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (*map == MAP_FAILED)
		goto err_close;
	*memfd = fd;
	return 0;
err_close:
	err = -errno;
	close(fd);
	return err;
}

TR_API int tr_port_open(struct tr_port **out, const struct tr_session_config *cfg)
{
	struct tr_port *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->memfd = p->app_bell = p->dev_bell = p->kick_evt = -1;
	err = tr_layout_compute(cfg, &p->lay);
	if (err)
		goto err_free;
	err = make_memory(&p->lay, &p->memfd, &p->map);
	if (err)
		goto err_free;
	int bells[2];
	err = tr_evt_pair(bells);
	if (err)
		goto err_close;
	p->app_bell = bells[0];
	p->dev_bell = bells[1];
	p->kick_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->kick_evt < 0) {
		err = -errno;
		goto err_close;
	}
	tr_layout_write(&p->lay, p->map);
	tr_ring_init(&p->eg, (struct tr_abi_ring *)((uint8_t *)p->map + TR_ABI_EGRESS_CTRL),
		     (uint8_t *)p->map + p->lay.egress_data, p->lay.capacity,
		     p->lay.max_slot, p->dev_bell);
	tr_ring_init(&p->in, (struct tr_abi_ring *)((uint8_t *)p->map + TR_ABI_INGRESS_CTRL),
		     (uint8_t *)p->map + p->lay.ingress_data, p->lay.capacity,
		     p->lay.max_slot, p->dev_bell);
	*out = p;
	return 0;
err_close:
	tr_port_close(p);
	return err;
err_free:
	free(p);
	return err;
}

TR_API void tr_port_close(struct tr_port *p)
{
	if (!p)
		return;
	if (p->map)
		munmap(p->map, p->lay.map_size);
	if (p->memfd >= 0)
		close(p->memfd);
	if (p->app_bell >= 0)
		close(p->app_bell);
	if (p->dev_bell >= 0)
		close(p->dev_bell);
	if (p->kick_evt >= 0)
		close(p->kick_evt);
	free(p);
}

/* The application's doorbell end serves both of its directions: it polls
 * it (app_evt) and signals on it (dev_evt). */
TR_API void tr_port_get_fds(const struct tr_port *p, struct tr_port_fds *fds)
{
	*fds = (struct tr_port_fds){ p->memfd, p->app_bell, p->app_bell };
}

TR_API void tr_port_device_fds(const struct tr_port *p, int fds[2])
{
	fds[0] = p->dev_bell;
	fds[1] = p->kick_evt;
}

TR_API void tr_port_kick(struct tr_port *p)
{
	uint64_t one = 1;
	/* Private and non-blocking: EAGAIN only if saturated, then readable. */
	ssize_t n = write(p->kick_evt, &one, sizeof(one));
	(void)n;
}

/* Called from any thread while the port's own thread counts (barrier.h). */
TR_API void tr_port_stats(const struct tr_port *p, struct tr_port_stats *out)
{
	const struct tr_port_stats *st = &p->st;

	*out = (struct tr_port_stats){
		.egress_packets = tr_stat_read(&st->egress_packets),
		.egress_bytes = tr_stat_read(&st->egress_bytes),
		.ingress_packets = tr_stat_read(&st->ingress_packets),
		.ingress_bytes = tr_stat_read(&st->ingress_bytes),
		.ingress_void = tr_stat_read(&st->ingress_void),
		.ingress_drop_malformed = tr_stat_read(&st->ingress_drop_malformed),
		.egress_ring_full = tr_stat_read(&st->egress_ring_full),
		.wakeups_sent = tr_stat_read(&p->eg.wakeups) + tr_stat_read(&p->in.wakeups),
		.sleeps = tr_stat_read(&st->sleeps),
		.err_corrupt = tr_stat_read(&st->err_corrupt),
	};
}

TR_API uint32_t tr_port_max_packet(const struct tr_port *p)
{
	return p->lay.max_packet;
}

TR_API uint32_t tr_port_egress_slot_size(const struct tr_port *p, uint32_t size)
{
	return TR_ALIGN(TR_SLOT_HDR + p->lay.head_room + size + p->lay.tail_room);
}

TR_API uint32_t tr_port_egress_capacity(const struct tr_port *p)
{
	return p->lay.capacity;
}

TR_API uint32_t tr_port_egress_used(const struct tr_port *p)
{
	uint32_t shm_cons = tr_load_acquire(&p->eg.ctl->consumer);

	/* A consumer index out of bounds counts as a full ring; the next
	 * reservation finds it and stops the port. */
	return p->eg.head - shm_cons <= p->lay.capacity ? p->eg.head - shm_cons : p->lay.capacity;
}

TR_API int tr_port_error(const struct tr_port *p)
{
	/* Read by a supervisor (tunroomd) while the port's thread may set it. */
	return tr_load_once(&p->error);
}

/* Stops the session for good and tells the application why. A port run
 * to completion has its egress and ingress halves on two threads, which may
 * fail at once: the first error wins. */
static int port_fail(struct tr_port *p, int err)
{
	int none = 0;

	if (tr_cmpxchg(&p->error, &none, err)) {
		if (err == -EPROTO)
			tr_stat_add(&p->st.err_corrupt, 1);
		tr_store_once(&p->eg.ctl->producer_closed, (uint32_t)-err);
		tr_store_once(&p->in.ctl->consumer_closed, (uint32_t)-err);
		tr_smp_mb();
		tr_evt_signal(p->dev_bell);
	}
	return tr_load_once(&p->error);
}

/* The application closed its end: it stores a reason in the ingress
 * producer_closed and the egress consumer_closed words. Either one ends the
 * session: a closed egress consumer releases nothing ever again, and a
 * device waiting for that space would otherwise wake for it forever. */
static int port_check_peer(struct tr_port *p)
{
	uint32_t why = tr_ring_peer_closed(&p->in, false);

	if (!why)
		why = tr_ring_peer_closed(&p->eg, true);
	return why ? port_fail(p, -EPIPE) : 0;
}

TR_API void tr_port_shutdown(struct tr_port *p, int err)
{
	port_fail(p, err ? err : -EPIPE);
}

TR_API int tr_port_egress_reserve(struct tr_port *p, struct tr_pkt *pkt)
{
	struct tr_abi_slot *s;
	int err;

	if (tr_load_once(&p->error))
		return tr_load_once(&p->error);
	if (p->burst_n)
		return -EINVAL; /* one kind of reservation at a time */
	if (!p->reserved) {
		uint32_t idx = p->eg.head;

		err = tr_ring_prod_alloc(&p->eg, p->lay.max_slot, &s);
		if (err == -EPROTO)
			return port_fail(p, err);
		if (err) {
			tr_stat_add(&p->st.egress_ring_full, 1);
			return err;
		}
		p->reserved = s;
		p->reserved_idx = idx;
	}
	*pkt = (struct tr_pkt){
		.buf = (uint8_t *)(p->reserved + 1), .cap = p->lay.max_slot - TR_SLOT_HDR,
		.off = p->lay.head_room, .len = p->lay.max_packet, .slot = p->reserved,
	};
	return 0;
}

TR_API int tr_port_egress_publish(struct tr_port *p, const struct tr_pkt *pkt)
{
	struct tr_abi_slot *s = p->reserved;

	if (!s || pkt->slot != s)
		return -EINVAL;
	p->reserved = NULL;
	/* Give back what the packet did not use; the slot keeps its rooms. */
	if (!pkt->len || pkt->len > p->lay.max_packet || pkt->off != p->lay.head_room) {
		p->eg.head = p->reserved_idx;
		return -EINVAL;
	}
	uint32_t size = TR_ALIGN(TR_SLOT_HDR + p->lay.head_room + pkt->len + p->lay.tail_room);

	tr_store_once(&s->size, size);
	tr_store_once(&s->offset, p->lay.head_room);
	tr_store_once(&s->length, pkt->len);
	tr_store_once(&s->flags, 0);
	p->eg.head = p->eg.pub = p->reserved_idx + size;
	tr_stat_add(&p->st.egress_packets, 1);
	tr_stat_add(&p->st.egress_bytes, pkt->len);
	return 0;
}

TR_API int tr_port_egress_reserve_burst(struct tr_port *p, uint32_t size, struct tr_pkt *pkts,
					unsigned n)
{
	uint32_t slot_size, start;
	unsigned i;

	if (tr_load_once(&p->error))
		return tr_load_once(&p->error);
	if (p->reserved || p->burst_n || !pkts || !n || !size || size > p->lay.max_packet)
		return -EINVAL;
	slot_size = TR_ALIGN(TR_SLOT_HDR + p->lay.head_room + size + p->lay.tail_room);
	start = p->eg.head;
	for (i = 0; i < n; i++) {
		struct tr_abi_slot *s;
		int err = tr_ring_prod_alloc(&p->eg, slot_size, &s);

		if (err == -EPROTO) {
			p->eg.head = start;
			return port_fail(p, err);
		}
		if (err) {
			tr_stat_add(&p->st.egress_ring_full, i == 0);
			break;
		}
		pkts[i] = (struct tr_pkt){
			.buf = (uint8_t *)(s + 1), .cap = slot_size - TR_SLOT_HDR,
			.off = p->lay.head_room, .len = size, .slot = s,
		};
	}
	p->burst_idx = start;
	p->burst_n = i;
	p->burst_slot = slot_size;
	p->burst_len = size;
	return (int)i;
}

TR_API int tr_port_egress_publish_burst(struct tr_port *p, const struct tr_pkt *pkts, unsigned k)
{
	uint32_t idx = p->burst_idx;
	int ret = 0;

	if (k > p->burst_n) {
		k = 0;
		ret = -EINVAL;
	}
	for (unsigned i = 0; i < k; i++) {
		struct tr_abi_slot *s = tr_ring_slot_at(&p->eg, idx);
		uint32_t len = pkts[i].len, size;

		/* len 0: a read that came up empty between two that did not;
		 * published as a void slot the application skips (moving the
		 * later packet down instead would be a copy). */
		if (pkts[i].slot != s || pkts[i].off != p->lay.head_room ||
		    len > p->burst_len || (!len && i + 1 == k)) {
			ret = -EINVAL; /* this one and the rest are withdrawn */
			break;
		}
		/* Slots before the last keep their reserved size, as the next
		 * one starts behind it; the last gives back what it did not use.
		 * A run of empty ones (a TSO read that got a small packet leaves
		 * dozens) goes out as one void slot, up to max_slot: one skip
		 * for the application instead of one per slot. */
		size = i + 1 == k ? TR_ALIGN(TR_SLOT_HDR + p->lay.head_room + len +
					     p->lay.tail_room) : p->burst_slot;
		while (!len && i + 2 < k && !pkts[i + 1].len &&
		       size + p->burst_slot <= p->lay.max_slot) {
			size += p->burst_slot;
			i++;
		}
		tr_store_once(&s->size, size);
		tr_store_once(&s->offset, p->lay.head_room);
		tr_store_once(&s->length, len);
		tr_store_once(&s->flags, len ? 0 : TR_SLOT_F_VOID);
		idx += size;
		tr_stat_add(&p->st.egress_packets, len != 0);
		tr_stat_add(&p->st.egress_bytes, len);
	}
	p->eg.head = p->eg.pub = idx;
	p->burst_n = 0;
	return ret;
}

TR_API void tr_port_egress_flush(struct tr_port *p)
{
	if (tr_load_once(&p->eg.ctl->producer) != p->eg.pub)
		tr_ring_prod_publish(&p->eg);
}

TR_API int tr_port_ingress_peek(struct tr_port *p, struct tr_port_slot *slot)
{
	struct tr_slot_desc d;
	int ret;

	if (tr_load_once(&p->error))
		return tr_load_once(&p->error);
	for (;;) {
		ret = tr_ring_cons_peek(&p->in, &d);
		if (ret < 0)
			return port_fail(p, ret);
		if (ret == 0)
			return port_check_peer(p);
		if (!(d.flags & TR_SLOT_F_VOID))
			break;
		tr_stat_add(&p->st.ingress_void, 1);
		p->in.tail += d.size;
	}
	p->in_size = d.size;
	*slot = (struct tr_port_slot){
		.data = (const uint8_t *)(d.slot + 1) + d.offset,
		.len = d.length, .flags = d.flags,
	};
	return 1;
}

TR_API void tr_port_ingress_done(struct tr_port *p)
{
	p->in.tail += p->in_size;
	p->in_size = 0;
}

TR_API void tr_port_ingress_account(struct tr_port *p, uint32_t packets, uint64_t bytes,
				    uint32_t malformed)
{
	tr_stat_add(&p->st.ingress_packets, packets);
	tr_stat_add(&p->st.ingress_bytes, bytes);
	tr_stat_add(&p->st.ingress_drop_malformed, malformed);
}

TR_API void tr_port_ingress_flush(struct tr_port *p)
{
	if (p->in.rel != p->in.tail) {
		p->in.rel = p->in.tail;
		tr_ring_cons_publish(&p->in);
	}
}

TR_API int tr_port_arm(struct tr_port *p, int want_space)
{
	bool ready = tr_ring_cons_arm(&p->in);

	if (want_space)
		ready |= tr_ring_prod_arm(&p->eg);
	/* A closed word reads as "ready" to the arm: act on it here, or a
	 * device waiting for egress space spins on it. Not while ingress
	 * holds packets: what the application committed before it closed
	 * still goes out, and the empty ring's peek ends the port then. */
	if (ready && tr_load_acquire(&p->in.ctl->producer) == p->in.tail)
		port_check_peer(p);
	tr_stat_add(&p->st.sleeps, !ready);
	return ready || tr_load_once(&p->error);
}

TR_API void tr_port_disarm(struct tr_port *p)
{
	tr_ring_cons_disarm(&p->in);
	tr_ring_prod_disarm(&p->eg);
	tr_evt_drain(p->dev_bell);
	uint64_t v;
	ssize_t n = read(p->kick_evt, &v, sizeof(v));
	(void)n;
}
