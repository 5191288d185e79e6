/* SPDX-License-Identifier: MIT */
/*
 * The memory-only device: plays the device side of a session without a TUN
 * device or privileges, on a thread of its own, through the same struct
 * tr_port every backend uses. Loopback turns ingress packets around onto the
 * egress ring (its memcpy stands in for the kernel's read/write copies);
 * generator and sink feed and drain the rings for tests and benchmarks.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/api.h"
#include "lib/barrier.h"
#include "lib/ring.h"
#include "tunroom/device.h"
#include "tunroom/ip.h"
#include "tunroom/memdev.h"
#include "tunroom/port.h"

#define SPIN_ROUNDS 2000

struct memdev {
	struct tr_device dev; /* first: ops->... get it back by cast */
	struct tr_memdev_config cfg;
	struct tr_port *port;
	pthread_t thread;
	int stop;
	uint32_t multi_pos; /* loopback: where a MULTI slot resumes after ring-full */
	uint64_t seq;
	uint8_t *scratch;   /* COPY mode: source/destination of the baseline copies */
};

/* One burst of loopback. Returns slots handled, or the port's error. */
static int loopback_burst(struct memdev *m, int *want_space)
{
	struct tr_port *p = m->port;
	int done = 0, ret = 0;

	for (unsigned i = 0; i < m->cfg.burst; i++) {
		struct tr_port_slot sl;
		uint32_t pkts = 0, malformed = 0;
		uint64_t bytes = 0;

		ret = tr_port_ingress_peek(p, &sl);
		if (ret <= 0)
			break;
		uint32_t off = m->multi_pos;
		while (off < sl.len) {
			uint32_t plen = sl.len - off;
			struct tr_pkt e;

			if (sl.flags & TR_SLOT_F_MULTI &&
			    tr_ip_packet_length(sl.data + off, sl.len - off, &plen)) {
				malformed++; /* ring-abi.md rule 4: the rest of the slot goes */
				break;
			}
			ret = tr_port_egress_reserve(p, &e);
			if (ret == -EAGAIN) {
				m->multi_pos = off;
				tr_port_ingress_account(p, pkts, bytes, malformed);
				*want_space = 1;
				ret = 0;
				goto out;
			}
			if (ret < 0)
				goto out;
			memcpy(tr_pkt_data(&e), sl.data + off, plen);
			e.len = plen;
			ret = tr_port_egress_publish(p, &e);
			if (ret < 0)
				goto out;
			off += plen;
			pkts++;
			bytes += plen;
		}
		tr_port_ingress_account(p, pkts, bytes, malformed);
		m->multi_pos = 0;
		tr_port_ingress_done(p);
		done++;
	}
out:
	tr_port_egress_flush(p);
	tr_port_ingress_flush(p);
	return ret < 0 ? ret : done;
}

static int generator_burst(struct memdev *m, int *want_space)
{
	struct tr_port *p = m->port;
	int done = 0, ret = 0;

	for (unsigned i = 0; i < m->cfg.burst; i++) {
		struct tr_pkt e;

		if (m->cfg.count && m->seq >= m->cfg.count)
			break;
		ret = tr_port_egress_reserve(p, &e);
		if (ret == -EAGAIN) {
			*want_space = 1;
			ret = 0;
			break;
		}
		if (ret < 0)
			break;
		if (m->cfg.flags & TR_MEMDEV_F_COPY)
			memcpy(tr_pkt_data(&e), m->scratch, m->cfg.size);
		memcpy(tr_pkt_data(&e), &m->seq, sizeof(m->seq));
		e.len = m->cfg.size;
		ret = tr_port_egress_publish(p, &e);
		if (ret < 0)
			break;
		m->seq++;
		done++;
	}
	tr_port_egress_flush(p);
	return ret < 0 ? ret : done;
}

static int sink_burst(struct memdev *m)
{
	struct tr_port *p = m->port;
	int done = 0, ret = 0;

	for (unsigned i = 0; i < m->cfg.burst; i++) {
		struct tr_port_slot sl;

		ret = tr_port_ingress_peek(p, &sl);
		if (ret <= 0)
			break;
		if (m->cfg.flags & TR_MEMDEV_F_COPY)
			memcpy(m->scratch, sl.data, sl.len);
		tr_port_ingress_account(p, 1, sl.len, 0);
		tr_port_ingress_done(p);
		done++;
	}
	tr_port_ingress_flush(p);
	return ret < 0 ? ret : done;
}

static void *memdev_thread(void *arg)
{
	struct memdev *m = arg;
	int dfd[2];
	int spins = 0;

	tr_port_device_fds(m->port, dfd);
	while (!tr_load_acquire(&m->stop)) {
		int want_space = 0, work;

		switch (m->cfg.mode) {
		case TR_MEMDEV_LOOPBACK:  work = loopback_burst(m, &want_space); break;
		case TR_MEMDEV_GENERATOR: work = generator_burst(m, &want_space); break;
		default:                  work = sink_burst(m); break;
		}
		if (work < 0)
			break; /* the port stopped (corrupt ring or application gone) */
		if (work > 0 || ++spins < SPIN_ROUNDS) {
			spins = work > 0 ? 0 : spins;
			tr_cpu_relax();
			continue;
		}
		spins = 0;
		if (tr_port_arm(m->port, want_space)) {
			tr_port_disarm(m->port);
			continue;
		}
		struct pollfd pfd[2] = { { .fd = dfd[0], .events = POLLIN },
					 { .fd = dfd[1], .events = POLLIN } };
		poll(pfd, 2, -1);
		tr_port_disarm(m->port);
	}
	return NULL;
}

static int memdev_start_port(struct tr_device *dev, struct tr_port *port)
{
	struct memdev *m = (struct memdev *)dev;

	if (m->port)
		return -EBUSY; /* one session at a time */
	if (m->cfg.mode == TR_MEMDEV_GENERATOR && m->cfg.size > tr_port_max_packet(port))
		return -EMSGSIZE;
	m->port = port;
	m->stop = 0;
	m->seq = 0;
	m->multi_pos = 0;
	int err = pthread_create(&m->thread, NULL, memdev_thread, m);
	if (err) {
		m->port = NULL;
		return -err;
	}
	return 0;
}

static void memdev_stop_port(struct tr_device *dev, struct tr_port *port)
{
	struct memdev *m = (struct memdev *)dev;

	if (m->port != port)
		return;
	tr_store_release(&m->stop, 1);
	tr_port_kick(port);
	pthread_join(m->thread, NULL);
	m->port = NULL;
}

static void memdev_destroy(struct tr_device *dev)
{
	struct memdev *m = (struct memdev *)dev;

	free(m->scratch);
	free(m);
}

static const struct tr_device_ops memdev_ops = {
	.name = "memory",
	.start_port = memdev_start_port,
	.stop_port = memdev_stop_port,
	.destroy = memdev_destroy,
};

TR_API int tr_memdev_open(struct tr_device **out, const struct tr_memdev_config *cfg)
{
	struct memdev *m;

	if (!out || !cfg || cfg->mode > TR_MEMDEV_SINK || cfg->flags & ~(uint32_t)TR_MEMDEV_F_COPY)
		return -EINVAL;
	if (cfg->mode == TR_MEMDEV_GENERATOR &&
	    (cfg->size < sizeof(uint64_t) || cfg->size > TR_ABI_PACKET_MAX))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->dev.ops = &memdev_ops;
	m->cfg = *cfg;
	if (!m->cfg.burst)
		m->cfg.burst = 32;
	if (cfg->flags & TR_MEMDEV_F_COPY) {
		m->scratch = calloc(1, TR_ABI_PACKET_MAX);
		if (!m->scratch) {
			free(m);
			return -ENOMEM;
		}
	}
	*out = &m->dev;
	return 0;
}
