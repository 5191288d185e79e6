/* SPDX-License-Identifier: MIT */
/*
 * The TUN device backend as an object. tr_tundev_open() creates or attaches
 * the device, sets up its link over rtnetlink and picks the offload mode;
 * start_port gives a session a free TUN queue and a data-path thread
 * (tunport.c), stop_port joins it, and a session whose ring is too small
 * for a TSO read turns TSO off on the device while it runs. The getters
 * and tr_tundev_stats() report on the device. No packet passes through
 * this file; tundev.h says who writes which field.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <stdio.h>
#include <net/if.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "engine/gso.h"
#include "engine/netlink.h"
#include "engine/tun.h"
#include "engine/tundev.h"
#include "engine/tunio.h"
#include "lib/api.h"
#include "lib/barrier.h"
#include "lib/ring.h"
#include "tunroom/port.h"
#include "tunroom/tun.h"

#define BURST_DEFAULT 64u
#define LINK_READY_TIMEOUT_MS 2000
/* What we ask of the kernel with TR_TUNDEV_F_OFFLOAD. Not USO: a UDP
 * super-packet would need its own split. TSO_ECN: the split clears CWR
 * after the first segment, as the kernel's own does. */
#define TSO_FEATURES (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

static const struct tr_device_ops tundev_ops;

static struct tundev *to_tundev(const struct tr_device *dev)
{
	return dev && dev->ops == &tundev_ops ? (struct tundev *)(uintptr_t)dev : NULL;
}

/* A multi-queue device steers flows to every attached queue: a queue with
 * no session is detached so that the kernel does not fill it for nobody. */
static int queue_attach(struct tunport *tp, bool on)
{
	struct ifreq ifr;

	if (tp->d->tun.queues < 2)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	STAT_ADD(tp->syscalls, 1);
	return ioctl(tp->fd, TUNSETQUEUE, &ifr) < 0 ? -errno : 0;
}

/* One line for the application's log callback (tr_tundev_config.log). */
static void tundev_log(const struct tundev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void tundev_log(const struct tundev *d, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!d->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	d->log(d->log_arg, line);
}

static void offload_off(struct tundev *d, const char *why)
{
	snprintf(d->off_why, sizeof(d->off_why), "off (%s)", why);
	tr_store_release(&d->offload, (const char *)d->off_why);
	tundev_log(d, "%s: TUN offload off, one packet per read: %s", d->tun.name, why);
}

/* TUNROOM_TEST_GSO_GUESS=HDR:SEG makes a port start with a wrong layout
 * guess, so that tests can see the slow path run and the guess re-learnt. */
static void test_guess(struct tunport *tp)
{
	const char *e = getenv("TUNROOM_TEST_GSO_GUESS");
	unsigned h, seg;

	if (e && sscanf(e, "%u:%u", &h, &seg) == 2)
		tr_gso_set_guess(&tp->gso, h, seg);
}

static void offload_stop(struct tunport *tp);

/* Chooses the port's read layout. A TSO read spans enough slots for 64 KiB
 * at the smallest planned MSS (TR_GSO_SEG_MIN) and may take at most half of
 * the ring; a session whose ring cannot give that turns TSO off on the
 * device while it runs (the offloads are device-wide; packets the kernel
 * queued as TSO before are dropped as bad), and its reads are one packet
 * each. */
static int offload_start(struct tunport *tp, struct tr_port *port)
{
	struct tundev *d = tp->d;
	uint32_t slot = tr_port_egress_slot_size(port, tp->eg_size);
	uint32_t cap = tr_port_egress_capacity(port);
	unsigned half = cap / 2 / slot, need = tr_gso_slots_needed(tp->eg_size);
	int err;

	tp->vnet = d->vnet;
	tp->tso = tp->tso_blocker = false;
	tp->reads_hint = 1;
	memset(&tp->gso_seen, 0, sizeof(tp->gso_seen));
	if (!tp->vnet)
		return 0;
	if (half > TR_TUNDEV_BURST_MAX)
		half = TR_TUNDEV_BURST_MAX;
	/* An eighth of the ring per batch, and batches only while less than a
	 * sixteenth is in use (vnet_reads): the void slots a batch may leave
	 * stay bounded, so the ring holds packets, not voids. */
	tp->slots_frac = cap / 8 / slot ? cap / 8 / slot : 1;
	tp->batch_used_max = cap / 16;
	pthread_mutex_lock(&d->lock);
	if (d->tso_ok && need && half >= need) {
		tp->tso = true;
	} else if (d->tso_ok) {
		char why[OFFLOAD_MODE_LEN - 8];

		if (d->tso_blockers == 0) {
			/* If TSO cannot be turned off, this port's one-slot
			 * reads would lose every super-packet: refuse it. */
			err = tr_tun_set_offload(&d->tun, TUN_F_CSUM);
			if (err) {
				pthread_mutex_unlock(&d->lock);
				tundev_log(d, "%s: cannot turn TSO off for a session "
					   "whose ring is too small for TSO reads: %s",
					   d->tun.name, strerror(-err));
				return err;
			}
		}
		tp->tso_blocker = true;
		if (d->tso_blockers++ == 0) {
			snprintf(why, sizeof(why), "a session's ring has room for %u slots of %u bytes "
				 "per read, a 64 KiB TSO read needs %u", half, slot, need);
			offload_off(d, need ? why : "MTU too small for TSO");
		}
	}
	pthread_mutex_unlock(&d->lock);
	err = tr_gso_init(&tp->gso, tp->eg_size, tp->tso ? half : 1);
	if (err)
		offload_stop(tp);
	else if (tp->tso)
		test_guess(tp);
	return err;
}

static void offload_stop(struct tunport *tp)
{
	struct tundev *d = tp->d;

	tr_gso_free(&tp->gso);
	if (!tp->tso_blocker)
		return;
	tp->tso_blocker = false;
	pthread_mutex_lock(&d->lock);
	if (--d->tso_blockers == 0 && tr_tun_set_offload(&d->tun, TSO_FEATURES) == 0)
		tr_store_release(&d->offload, "tso");
	pthread_mutex_unlock(&d->lock);
}

/* Everything a port needs but its thread: a free queue, the slot size, the
 * offload layout, the I/O backend(s), the queue attached. With inl, no
 * thread follows and the ingress half gets its own tunio (tundev.h).
 * Returns the port's tunport in *out. */
static int port_prepare(struct tundev *d, struct tr_port *port, bool inl, struct tunport **out)
{
	struct tunport *tp = NULL;
	struct tr_nl *nl;
	uint32_t mtu = 0;
	int err;

	for (unsigned i = 0; i < d->tun.queues; i++) {
		if (!d->ports[i].port) {
			tp = &d->ports[i];
			break;
		}
	}
	if (!tp)
		return -EBUSY; /* one session per queue */
	/* A slot smaller than the MTU would lose every large packet (the
	 * kernel fails the read rather than truncate): refuse up front. */
	if (tr_nl_open(&nl) == 0) {
		err = tr_nl_link_get_mtu(nl, d->ifindex, &mtu);
		tr_nl_close(nl);
		if (!err && mtu > tr_port_max_packet(port))
			return -EMSGSIZE;
	}
	tp->eg_size = mtu && mtu < tr_port_max_packet(port) ? mtu : tr_port_max_packet(port);
	err = offload_start(tp, port);
	if (err)
		return err;
	err = tr_tunio_open(&tp->io, tp->fd, d->burst, d->io_want);
	if (err)
		goto err_offload;
	tp->io_in = tp->io;
	if (inl) {
		struct tr_tunio *io_in;

		err = tr_tunio_open(&io_in, tp->fd, d->burst, d->io_want);
		if (err)
			goto err_io;
		tp->io_in = io_in;
	}
	d->io_name = tr_tunio_backend_name(tp->io);
	err = queue_attach(tp, true);
	if (err)
		goto err_io;
	tp->port = port;
	tp->inl = inl;
	tp->stop = 0;
	tp->n_iov = 0;
	tp->io_seen = tp->io_in_seen = 0; /* a new tunio counts from 0 */
	*out = tp;
	return 0;

err_io:
	if (tp->io_in != tp->io)
		tr_tunio_close(tp->io_in);
	tr_tunio_close(tp->io);
	tp->io = tp->io_in = NULL;
err_offload:
	offload_stop(tp);
	return err;
}

/* Undoes port_prepare once nothing runs on the port any more. */
static void port_release(struct tunport *tp)
{
	queue_attach(tp, false);
	if (tp->io_in != tp->io)
		tr_tunio_close(tp->io_in);
	tr_tunio_close(tp->io);
	tp->io = tp->io_in = NULL;
	offload_stop(tp);
	tp->port = NULL;
}

static int tundev_start_port(struct tr_device *dev, struct tr_port *port)
{
	struct tunport *tp;
	int err;

	err = port_prepare((struct tundev *)dev, port, false, &tp);
	if (err)
		return err;
	err = -pthread_create(&tp->thread, NULL, tr_tunport_thread, tp);
	if (err)
		port_release(tp);
	return err;
}

static int tundev_start_port_inline(struct tr_device *dev, struct tr_port *port,
				    struct tr_device_inline *out)
{
	struct tunport *tp;
	int err;

	err = port_prepare((struct tundev *)dev, port, true, &tp);
	if (err)
		return err;
	*out = (struct tr_device_inline){
		.ctx = tp,
		.egress = tr_tunport_inline_egress,
		.ingress = tr_tunport_inline_ingress,
		.fd = tp->fd,
	};
	return 0;
}

static void tundev_stop_port(struct tr_device *dev, struct tr_port *port)
{
	struct tundev *d = (struct tundev *)dev;

	for (unsigned i = 0; i < d->tun.queues; i++) {
		struct tunport *tp = &d->ports[i];

		if (tp->port != port)
			continue;
		if (!tp->inl) {
			/* Through the port's private descriptor: nothing the
			 * client holds can make this block (docs/daemon.md). */
			tr_store_release(&tp->stop, 1);
			tr_port_kick(port);
			pthread_join(tp->thread, NULL);
		}
		port_release(tp);
		return;
	}
}

static void tundev_destroy(struct tr_device *dev)
{
	struct tundev *d = (struct tundev *)dev;

	/* A device we created without PERSIST goes with its last descriptor;
	 * a persistent or attached one stays. */
	tr_tun_close(&d->tun);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static const struct tr_device_ops tundev_ops = {
	.name = "tun",
	.start_port = tundev_start_port,
	.stop_port = tundev_stop_port,
	.destroy = tundev_destroy,
	.start_port_inline = tundev_start_port_inline,
};

#define TUNDEV_F_ALL (TR_TUNDEV_F_ATTACH | TR_TUNDEV_F_CREATE | TR_TUNDEV_F_PERSIST | \
		      TR_TUNDEV_F_NO_UP | TR_TUNDEV_F_PLAIN_IO | TR_TUNDEV_F_OFFLOAD | \
		      TR_TUNDEV_F_TRUST_CSUM)

/* MTU, addresses, up: everything tr_tundev_open() sets over netlink. */
static int configure_link(struct tundev *d, const struct tr_tundev_config *cfg,
			  const struct tr_ip_prefix *pfx)
{
	struct tr_nl *nl;
	int err;

	err = tr_nl_open(&nl);
	if (err)
		return err;
	err = tr_nl_link_index(nl, d->tun.name, &d->ifindex);
	if (!err && cfg->mtu)
		err = tr_nl_link_set_mtu(nl, d->ifindex, cfg->mtu);
	for (unsigned i = 0; !err && i < cfg->n_addresses; i++)
		err = tr_nl_addr_add(nl, d->ifindex, &pfx[i]);
	if (!err && !(cfg->flags & TR_TUNDEV_F_NO_UP))
		err = tr_nl_link_set_up(nl, d->ifindex, true);
	/* So that the first packets' answers are not lost (netlink.h). A
	 * link that does not settle in time is no reason to fail the open. */
	if (!err)
		tr_nl_addr_wait_ready(nl, d->ifindex, LINK_READY_TIMEOUT_MS);
	/* A device we made persistent must not outlive a failed open. */
	if (err && d->tun.created && d->tun.persist)
		tr_nl_link_del(nl, d->ifindex);
	tr_nl_close(nl);
	return err;
}

/* An existing link that is up without carrier gets it when we attach, and
 * can send only after the kernel's link-watch work ran (netlink.h): returns
 * a monitor opened before the attach, to wait on after it, or NULL. */
static struct tr_nl *carrier_monitor(const char *name)
{
	struct tr_nl *nl, *mon = NULL;
	unsigned flags;
	int ifindex;

	if (!name || !name[0] || tr_tun_name_check(name) || strchr(name, '%'))
		return NULL;
	if (tr_nl_open(&nl))
		return NULL;
	if (!tr_nl_link_index(nl, name, &ifindex) && !tr_nl_link_flags(nl, ifindex, &flags) &&
	    (flags & IFF_UP) && !(flags & IFF_RUNNING) && tr_nl_monitor_open(&mon))
		mon = NULL;
	tr_nl_close(nl);
	return mon;
}

TR_API int tr_tundev_open(struct tr_device **out, const struct tr_tundev_config *cfg)
{
	struct tr_ip_prefix pfx[64];
	struct tr_nl *mon;
	struct tundev *d;
	uint32_t tflags = 0;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!cfg || (cfg->flags & ~TUNDEV_F_ALL) || cfg->burst > TR_TUNDEV_BURST_MAX ||
	    cfg->queues > TR_TUNDEV_QUEUES_MAX || cfg->n_addresses > 64 ||
	    (cfg->n_addresses && !cfg->addresses) || (cfg->mtu && cfg->mtu < 68))
		return -EINVAL;
	/* Addresses are checked before anything is created. */
	for (unsigned i = 0; i < cfg->n_addresses; i++) {
		err = tr_ip_prefix_parse(&pfx[i], cfg->addresses[i]);
		if (err)
			return err;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->dev.ops = &tundev_ops;
	d->log = cfg->log;
	d->log_arg = cfg->log_arg;
	d->burst = cfg->burst ? cfg->burst : BURST_DEFAULT;
	d->io_want = cfg->flags & TR_TUNDEV_F_PLAIN_IO ? TR_TUNIO_PLAIN : TR_TUNIO_AUTO;
	d->io_name = d->io_want == TR_TUNIO_PLAIN ? "read/write" : "io_uring";
	if (cfg->flags & TR_TUNDEV_F_ATTACH)
		tflags |= TR_TUN_F_ATTACH;
	if (cfg->flags & TR_TUNDEV_F_CREATE)
		tflags |= TR_TUN_F_CREATE;
	if (cfg->flags & TR_TUNDEV_F_PERSIST)
		tflags |= TR_TUN_F_PERSIST;
	if (cfg->flags & TR_TUNDEV_F_OFFLOAD)
		tflags |= TR_TUN_F_VNET_HDR;
	pthread_mutex_init(&d->lock, NULL);
	d->offload = "off";
	mon = carrier_monitor(cfg->name);
	err = tr_tun_open(&d->tun, &(struct tr_tun_config){
		.name = cfg->name, .queues = cfg->queues, .flags = tflags });
	if (err == -EINVAL && (tflags & TR_TUN_F_VNET_HDR)) {
		/* Not the name or the queue mode if it works without. */
		err = tr_tun_open(&d->tun, &(struct tr_tun_config){
			.name = cfg->name, .queues = cfg->queues,
			.flags = tflags & ~TR_TUN_F_VNET_HDR });
		if (!err)
			offload_off(d, "the kernel refused IFF_VNET_HDR");
	} else if (!err && (tflags & TR_TUN_F_VNET_HDR)) {
		int e = tr_tun_set_offload(&d->tun, TSO_FEATURES);

		d->vnet = true; /* the queues carry the header either way */
		d->tso_ok = e == 0;
		if (e) {
			char why[OFFLOAD_MODE_LEN - 8];

			snprintf(why, sizeof(why), "TUNSETOFFLOAD refused: %s", strerror(-e));
			offload_off(d, why);
		} else {
			d->offload = "tso";
		}
	}
	/* Only a TSO write can carry "verified"; without the header the kernel checks. */
	d->trust_csum = d->vnet && (cfg->flags & TR_TUNDEV_F_TRUST_CSUM);
	if (err)
		goto err_free;
	err = configure_link(d, cfg, pfx);
	if (err)
		goto err_close;
	if (mon) {
		tr_nl_monitor_wait_running(mon, d->ifindex, LINK_READY_TIMEOUT_MS);
		tr_nl_close(mon);
		mon = NULL;
	}
	for (unsigned i = 0; i < d->tun.queues; i++) {
		d->ports[i].d = d;
		d->ports[i].fd = d->tun.fds[i];
		err = queue_attach(&d->ports[i], false);
		if (err)
			goto err_close;
	}
	*out = &d->dev;
	return 0;

err_close:
	tr_tun_close(&d->tun);
err_free:
	tr_nl_close(mon);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return err;
}

TR_API const char *tr_tundev_name(const struct tr_device *dev)
{
	struct tundev *d = to_tundev(dev);

	return d ? d->tun.name : NULL;
}

TR_API int tr_tundev_ifindex(const struct tr_device *dev)
{
	struct tundev *d = to_tundev(dev);

	return d ? d->ifindex : -EINVAL;
}

TR_API const char *tr_tundev_io_backend(const struct tr_device *dev)
{
	struct tundev *d = to_tundev(dev);

	return d ? d->io_name : NULL;
}

TR_API const char *tr_tundev_offload(const struct tr_device *dev)
{
	struct tundev *d = to_tundev(dev);

	return d ? tr_load_acquire(&d->offload) : NULL;
}

TR_API int tr_tundev_stats(const struct tr_device *dev, struct tr_tundev_stats *out)
{
	struct tundev *d = to_tundev(dev);

	if (!d || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < d->tun.queues; i++) {
		const struct tunport *tp = &d->ports[i];

		out->egress_packets += tr_load_once(&tp->st.egress_packets);
		out->ingress_packets += tr_load_once(&tp->st.ingress_packets);
		out->ingress_drop_malformed += tr_load_once(&tp->st.ingress_drop_malformed);
		out->ingress_err_write += tr_load_once(&tp->st.ingress_err_write);
		out->egress_err_read += tr_load_once(&tp->st.egress_err_read);
		out->egress_hole_voids += tr_load_once(&tp->st.egress_hole_voids);
		out->polls += tr_load_once(&tp->st.polls);
		out->egress_gso_packets += tr_load_once(&tp->st.gso.packets);
		out->egress_gso_segments += tr_load_once(&tp->st.gso.segments);
		out->egress_csum_completed += tr_load_once(&tp->st.gso.csum_completed);
		out->egress_drop_gso_bad += tr_load_once(&tp->st.gso.drop_bad);
		out->egress_gso_slow += tr_load_once(&tp->st.gso.slow);
		out->egress_copied_bytes += tr_load_once(&tp->st.gso.copied_bytes);
		out->egress_drop_gso_room += tr_load_once(&tp->st.gso.drop_room);
		out->ingress_gso_packets += tr_load_once(&tp->st.ingress_gso_packets);
		out->ingress_gso_segments += tr_load_once(&tp->st.ingress_gso_segments);
		out->ingress_csum_trusted += tr_load_once(&tp->st.ingress_csum_trusted);
		out->syscalls += tr_load_once(&tp->syscalls) + tr_load_once(&tp->syscalls_in);
	}
	return 0;
}

TR_API const char *tr_tundev_strerror(int err)
{
	return tr_tun_strerror(err);
}
