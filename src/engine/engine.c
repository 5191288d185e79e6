/* SPDX-License-Identifier: MIT */
/*
 * The TUN device backend: one thread per session (port) that moves packets
 * between a TUN queue and the session's rings with no userspace copy -- the
 * kernel's read(2) lands in an egress slot, its write(2) takes an ingress
 * slot in place -- and sleeps per DESIGN.md §3 rule 7 when both are idle.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "engine/gro.h"
#include "engine/gso.h"
#include "engine/netlink.h"
#include "engine/tun.h"
#include "engine/tunio.h"
#include "lib/api.h"
#include "lib/barrier.h"
#include "lib/ring.h"
#include "tunroom/tun.h"

#define BURST_DEFAULT 64u
#define LINK_READY_TIMEOUT_MS 2000
/* What we ask of the kernel with TR_TUNDEV_F_OFFLOAD. Not USO: a UDP
 * super-packet would need its own split. TSO_ECN: the split clears CWR
 * after the first segment, as the kernel's own does. */
#define TSO_FEATURES (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
#define OFFLOAD_MODE_LEN 160
/* Slots one egress batch may reserve with TSO: several reads of up to
 * TR_TUNDEV_BURST_MAX slots each (see vnet_reads). */
#define EG_SLOTS_MAX 1024u

struct tundev;

/* Counters written by the port's thread only; others read them relaxed. */
struct tunport_stats {
	uint64_t egress_packets, ingress_packets;
	uint64_t ingress_drop_malformed, ingress_err_write, egress_err_read;
	uint64_t egress_hole_voids;
	uint64_t polls;
	uint64_t ingress_gso_packets, ingress_gso_segments;
	struct tr_gso_stats gso; /* folded in from struct tr_gso after each batch */
};

struct tunport {
	struct tundev *d;
	struct tr_port *port;   /* NULL: this queue is free */
	int fd;                 /* the TUN queue; owned by d->tun */
	struct tr_tunio *io;
	pthread_t thread;
	int stop;
	struct tunport_stats st;
	struct tr_tunio_stats io_st; /* of tunio instances already closed */
	uint64_t syscalls;      /* poll(2) and TUNSETQUEUE */
	/* Ingress batch: packets of committed slots, written in one go. */
	struct iovec iov[TR_TUNDEV_BURST_MAX];
	int res[TR_TUNDEV_BURST_MAX];
	unsigned n_iov;
	/* Egress batch: reserved slots and the reads into them. */
	struct tr_pkt eg[EG_SLOTS_MAX];
	struct iovec eg_iov[TR_TUNDEV_BURST_MAX];
	uint32_t eg_lens[TR_TUNDEV_BURST_MAX];
	uint32_t eg_size; /* room per egress slot: the MTU, at most max_packet */
	/* vnet_hdr mode (TR_TUNDEV_F_OFFLOAD): each read is a readv of an
	 * engine-private virtio_net_hdr and one or (TSO) many slots. */
	bool vnet;
	bool tso;                /* this port reads with the TSO layout */
	bool tso_blocker;        /* its ring is too small: TSO off while it runs */
	unsigned slots_frac;     /* slots a batch may reserve (a quarter of the ring) */
	unsigned reads_hint;     /* reads the next batch makes at most */
	struct tr_gso gso;
	struct tr_gso_stats gso_seen; /* part of gso.st already folded into st.gso */
	uint8_t vh[TR_TUNDEV_BURST_MAX][TR_VNET_HDR_LEN];
	struct iovec rd_iov[EG_SLOTS_MAX + TR_TUNDEV_BURST_MAX];
	struct tr_tunio_vec rd_vec[TR_TUNDEV_BURST_MAX];
	uint8_t *slot_ptr[EG_SLOTS_MAX];
	uint32_t slot_len[EG_SLOTS_MAX];
	struct tr_tunio_vec in_vec[TR_TUNDEV_BURST_MAX];
	unsigned in_pkts[TR_TUNDEV_BURST_MAX];   /* packets in each ingress write */
	struct iovec in_iovs[3 * TR_TUNDEV_BURST_MAX];
	struct tr_gro_run runs[TR_TUNDEV_BURST_MAX];
};

struct tundev {
	struct tr_device dev; /* first: the ops get it back by cast */
	struct tr_tun tun;
	int ifindex;
	unsigned burst;
	enum tr_tunio_backend io_want;
	const char *io_name;
	bool vnet;            /* queues opened with IFF_VNET_HDR */
	bool tso_ok;          /* the kernel took TSO_FEATURES */
	unsigned tso_blockers; /* running ports whose ring cannot take a TSO read */
	pthread_mutex_t lock; /* offload switching between port starts and stops */
	/* tr_tundev_offload(): "tso", "off", or off_why, swapped with one
	 * pointer store so that a reader on another thread never sees a
	 * string being written (off_why is written only while not shown). */
	const char *offload;
	char off_why[OFFLOAD_MODE_LEN];
	struct tunport ports[TR_TUN_QUEUES_MAX];
};

static const struct tr_device_ops tundev_ops;

/* Counters have one writer (the port's thread) and are read by others
 * (tr_tundev_stats) without a lock: whole-word stores, no torn values. */
#define STAT_ADD(field, n) tr_store_once(&(field), tr_load_once(&(field)) + (n))

static struct tundev *to_tundev(const struct tr_device *dev)
{
	return dev && dev->ops == &tundev_ops ? (struct tundev *)(uintptr_t)dev : NULL;
}

/* Builds the writev list of the gathered ingress packets in vnet_hdr mode:
 * [header, packet] each, or with TSO, a run of segments of one TCP flow as
 * [GSO header, rewritten headers, payload, payload, ...] (gro.h). Every
 * header comes from engine memory, never from the ring the application can
 * still write to. A plain packet's header is all zero: no GSO, and no
 * VIRTIO_NET_HDR_F_DATA_VALID -- the kernel verifies its checksums. The
 * engine cannot know that a slot came through an authenticated tunnel (any
 * application can commit one, unprivileged under tunroomd), and ESP's ICV
 * covers the tunnel hop only, not the sender's host: the checksum is the
 * end-to-end check and skipping it is not ours to decide. (A coalesced run
 * goes in as verified: gro.c checked every segment's checksum.) Returns
 * the number of writes; tp->in_pkts[w] says how many packets write w holds. */
static unsigned ingress_vectors(struct tunport *tp)
{
	static const uint8_t zero_vh[TR_VNET_HDR_LEN];
	unsigned w = 0, niov = 0;

	for (unsigned i = 0; i < tp->n_iov; w++) {
		struct tr_gro_run *run = &tp->runs[w];
		unsigned k = tp->tso ? tr_gro_run(&tp->iov[i], tp->n_iov - i, run) : 1;
		struct iovec *v = &tp->in_iovs[niov];

		if (k < 2) {
			v[0] = (struct iovec){ (void *)(uintptr_t)zero_vh, TR_VNET_HDR_LEN };
			v[1] = tp->iov[i];
			tp->in_vec[w] = (struct tr_tunio_vec){ v, 2 };
		} else {
			v[0] = (struct iovec){ run->vhdr, TR_VNET_HDR_LEN };
			v[1] = (struct iovec){ run->hdr, run->h };
			for (unsigned j = 0; j < k; j++)
				v[2 + j] = (struct iovec){ (uint8_t *)tp->iov[i + j].iov_base + run->h,
							   tp->iov[i + j].iov_len - run->h };
			tp->in_vec[w] = (struct tr_tunio_vec){ v, 2 + k };
			STAT_ADD(tp->st.ingress_gso_packets, 1);
			STAT_ADD(tp->st.ingress_gso_segments, k);
		}
		niov += tp->in_vec[w].cnt;
		tp->in_pkts[w] = k;
		i += k;
	}
	return w;
}

/* Writes the gathered ingress packets and counts the outcome. The slots
 * they point into were marked done but the consumer index is not stored
 * yet (tr_port_ingress_flush comes after), so the application cannot reuse
 * their space while the kernel reads from it. */
static void ingress_write(struct tunport *tp)
{
	uint64_t bytes = 0;
	uint32_t ok = 0;
	unsigned writes, pkt = 0;

	if (!tp->n_iov)
		return;
	if (tp->vnet) {
		writes = ingress_vectors(tp);
		tr_tunio_writev(tp->io, tp->in_vec, writes, tp->res);
	} else {
		writes = tp->n_iov;
		tr_tunio_write(tp->io, tp->iov, tp->n_iov, tp->res);
	}
	for (unsigned w = 0; w < writes; w++) {
		unsigned k = tp->vnet ? tp->in_pkts[w] : 1;

		if (tp->res[w] >= 0) {
			ok += k;
			for (unsigned j = 0; j < k; j++)
				bytes += tp->iov[pkt + j].iov_len;
		} else {
			STAT_ADD(tp->st.ingress_err_write, k);
		}
		pkt += k;
	}
	STAT_ADD(tp->st.ingress_packets, ok);
	tr_port_ingress_account(tp->port, ok, bytes, 0);
	tp->n_iov = 0;
}

static void ingress_add(struct tunport *tp, const uint8_t *data, uint32_t len)
{
	tp->iov[tp->n_iov++] = (struct iovec){ (void *)(uintptr_t)data, len };
	if (tp->n_iov == tp->d->burst)
		ingress_write(tp);
}

/* Up to burst slots from the ingress ring to TUN. Returns slots taken, or
 * the port's error (the port stopped: corrupt ring, or the application left). */
static int ingress_burst(struct tunport *tp)
{
	struct tr_port *p = tp->port;
	int done = 0, ret = 0;

	for (unsigned i = 0; i < tp->d->burst; i++) {
		struct tr_port_slot sl;
		uint32_t off = 0, plen, malformed = 0;

		ret = tr_port_ingress_peek(p, &sl);
		if (ret <= 0)
			break;
		/* The bytes are in memory the application can still write: the
		 * length fields are read once each by tr_ip_packet_length, and
		 * the kernel copies whatever is there when it writes; it parses
		 * the packet itself, so a change behind our check can only make
		 * the kernel drop it. */
		if (sl.flags & TR_SLOT_F_MULTI) {
			while (off < sl.len) {
				if (tr_ip_packet_length(sl.data + off, sl.len - off, &plen)) {
					malformed++; /* DESIGN §3 rule 4: the rest of the slot goes */
					break;
				}
				ingress_add(tp, sl.data + off, plen);
				off += plen;
			}
		} else if (tr_ip_packet_length(sl.data, sl.len, &plen) == 0) {
			/* The slot's length is what goes out (the device uses exactly
			 * [offset, offset + length)); the kernel trims what lies
			 * past the IP length, as for any received packet. */
			ingress_add(tp, sl.data, sl.len);
		} else {
			malformed++;
		}
		if (malformed) {
			STAT_ADD(tp->st.ingress_drop_malformed, malformed);
			tr_port_ingress_account(p, 0, 0, malformed);
		}
		tr_port_ingress_done(p);
		done++;
	}
	ingress_write(tp);
	tr_port_ingress_flush(p);
	return ret < 0 ? ret : done;
}

/* Up to burst packets from TUN into egress slots: reserve a burst of slots
 * with room for the MTU, read into all of them at once (one io_uring_enter),
 * publish the ones that got a packet. *ring_full says the ring had no room
 * (sleep for space, not for TUN data), *tun_empty that TUN ran dry.
 * Returns packets moved, or a negative error that ends the port. */
static int egress_burst(struct tunport *tp, bool *ring_full, bool *tun_empty)
{
	struct tr_port *p = tp->port;
	struct tr_pkt *pk = tp->eg;
	struct iovec *iov = tp->eg_iov;
	uint32_t *lens = tp->eg_lens;
	unsigned w = 0;
	int n, got, ret;

	*ring_full = *tun_empty = false;
	n = tr_port_egress_reserve_burst(p, tp->eg_size, pk, tp->d->burst);
	if (n < 0)
		return n;
	if (n == 0) {
		*ring_full = true;
		return 0;
	}
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){ tr_pkt_data(&pk[i]), pk[i].len };
	/* The kernel copies each packet straight to the head-room offset of
	 * its slot. */
	got = tr_tunio_read(tp->io, iov, (unsigned)n, lens);
	if (got < 0) {
		tr_port_egress_publish_burst(p, pk, 0);
		STAT_ADD(tp->st.egress_err_read, 1);
		/* -EFAULT/-EINVAL: a packet did not fit its slot (the MTU was
		 * raised past what the session was started with); it is lost,
		 * the port goes on. -EBADFD (link deleted), -EIO and the rest:
		 * nothing more will come. */
		if (got == -EFAULT || got == -EINVAL)
			return 0;
		tr_port_shutdown(p, -EIO);
		return -EIO;
	}
	*tun_empty = got < n;
	/* With io_uring a read can come up empty between two that did not
	 * (the queue ran dry and refilled). Slots are published in ring
	 * order, so such a hole goes out as a void slot: nothing moves. */
	unsigned filled = 0;
	for (int i = 0; i < n; i++) {
		pk[i].len = lens[i];
		if (lens[i]) {
			w = (unsigned)i + 1;
			filled++;
		}
	}
	STAT_ADD(tp->st.egress_hole_voids, w - filled);
	ret = tr_port_egress_publish_burst(p, pk, w);
	w = filled;
	STAT_ADD(tp->st.egress_packets, w);
	tr_port_egress_flush(p);
	return ret < 0 ? ret : (int)w;
}

/* Folds what the splitter counted since the last batch into the counters
 * other threads read. */
static void gso_fold_stats(struct tunport *tp)
{
	const struct tr_gso_stats *n = &tp->gso.st;
	struct tr_gso_stats *o = &tp->gso_seen;

	STAT_ADD(tp->st.gso.packets, n->packets - o->packets);
	STAT_ADD(tp->st.gso.segments, n->segments - o->segments);
	STAT_ADD(tp->st.gso.csum_completed, n->csum_completed - o->csum_completed);
	STAT_ADD(tp->st.gso.drop_bad, n->drop_bad - o->drop_bad);
	STAT_ADD(tp->st.gso.drop_room, n->drop_room - o->drop_room);
	STAT_ADD(tp->st.gso.slow, n->slow - o->slow);
	STAT_ADD(tp->st.gso.copied_bytes, n->copied_bytes - o->copied_bytes);
	*o = *n;
}

/* How many reads one batch makes, each spanning m slots.
 *
 * With TSO every read must be able to take a 64 KiB super-packet, so it
 * spans m slots (47 at MTU 1500) whatever comes: a small packet (an ACK,
 * a DNS query) fills slot 0 and leaves m - 1 slots behind it, published as
 * one void slot when a later read of the batch got a packet, given back
 * when none did. So a batch reserves at most a quarter of the egress ring
 * (the application keeps room to release into, and voids hold ring space
 * until it passes them) and EG_SLOTS_MAX slots: at 4 MiB and MTU 1500 that
 * is 14 reads per io_uring_enter -- up to 14 small packets per syscall
 * instead of 64, and 46 segments per read of bulk TCP. The batch also
 * starts small and grows (reads_hint): as many reads as found a packet last
 * time plus one, twice as many when all did, since every empty read still
 * costs an iovec import. The plain backend makes the same reads, one
 * readv(2) each, stopping at the first empty one. Without TSO (vnet_hdr
 * only) a read is one slot and the batch is the burst. */
static unsigned vnet_reads(const struct tunport *tp, unsigned m)
{
	unsigned r = tp->d->burst;

	if (r > EG_SLOTS_MAX / m)
		r = EG_SLOTS_MAX / m;
	if (r > tp->slots_frac / m)
		r = tp->slots_frac / m;
	return r ? r : 1;
}

/* io_uring: all reads of the batch laid out at once, r at slots [r*m, r*m+m),
 * one io_uring_enter; then each read is taken apart in order. Returns 0 or
 * the read error (nothing landed). */
static int vnet_read_batched(struct tunport *tp, const struct tr_gso_layout *lay,
			     unsigned reads, unsigned n, bool *tun_empty)
{
	unsigned m = lay->slots, n_iov = 0;
	uint32_t lens[TR_TUNDEV_BURST_MAX];
	int got;

	for (unsigned r = 0; r < reads; r++) {
		unsigned c = tr_gso_iov(lay, tp->vh[r], &tp->slot_ptr[r * m], &tp->rd_iov[n_iov]);

		tp->rd_vec[r] = (struct tr_tunio_vec){ &tp->rd_iov[n_iov], c };
		n_iov += c;
	}
	got = tr_tunio_readv(tp->io, tp->rd_vec, reads, lens);
	if (got < 0)
		return got;
	*tun_empty = (unsigned)got < reads;
	/* Next time as many reads as found a packet, plus one; twice as many
	 * when all did: empty reads cost an iovec import each. */
	tp->reads_hint = (unsigned)got == reads ? 2 * reads : (unsigned)got + 1;
	for (unsigned r = 0; r < reads; r++) {
		unsigned base = r * m, avail = m;
		bool rest_empty = true;

		if (!lens[r])
			continue;
		for (unsigned q = r + 1; q < reads; q++)
			rest_empty = rest_empty && !lens[q];
		/* A read that needs more slots than it spans (an MSS smaller
		 * than guessed) may take those of the empty reads after it. */
		if (rest_empty)
			avail = n - base;
		tr_gso_finish(&tp->gso, lay, tp->vh[r], lens[r], &tp->slot_ptr[base], avail,
			      &tp->slot_len[base]);
		if (rest_empty)
			break;
	}
	return 0;
}

/* Plain backend: one readv(2) per read anyway, so each read is laid out
 * right behind the slots the previous one used, with the layout learnt so
 * far: small packets leave no void slots, and a wrong guess costs one slow
 * read, not a batch of them. Returns 0 or the error of a read (the packets
 * before it stay). */
static int vnet_read_sequential(struct tunport *tp, unsigned n, bool *tun_empty)
{
	struct tr_gso_layout lay = tr_gso_next(&tp->gso);
	unsigned pos = 0, reads = 0;
	int ret = 0;

	while (reads < tp->d->burst && pos + lay.slots <= n) {
		unsigned c = tr_gso_iov(&lay, tp->vh[0], &tp->slot_ptr[pos], tp->rd_iov);
		struct tr_tunio_vec v = { tp->rd_iov, c };
		uint32_t len;
		int got = tr_tunio_readv(tp->io, &v, 1, &len);

		if (got < 0) {
			ret = got;
			break;
		}
		if (got == 0) {
			*tun_empty = true;
			break;
		}
		reads++;
		got = tr_gso_finish(&tp->gso, &lay, tp->vh[0], len, &tp->slot_ptr[pos], n - pos,
				    &tp->slot_len[pos]);
		if (got > 0)
			pos += (unsigned)got;
		lay = tr_gso_next(&tp->gso);
	}
	/* Twice the room when it ran out before TUN did. */
	tp->reads_hint = *tun_empty || ret ? pos / lay.slots + 1 : 2 * (n / lay.slots);
	return ret;
}

/* egress_burst for vnet_hdr mode: reserves room for a few reads of m slots
 * each (see vnet_reads), each read a readv of [virtio_net_hdr, slot 0,
 * slot 1 + gap, ...] laid out by gso.h, then publishes the slots that got a
 * packet or a segment. Slots between them go out as void slots. */
static int egress_burst_vnet(struct tunport *tp, bool *ring_full, bool *tun_empty)
{
	struct tr_port *p = tp->port;
	struct tr_pkt *pk = tp->eg;
	struct tr_gso_layout lay = tr_gso_next(&tp->gso);
	unsigned m = lay.slots, reads, w = 0, filled = 0;
	int n, err, ret;

	*ring_full = *tun_empty = false;
	reads = vnet_reads(tp, m);
	if (reads > tp->reads_hint)
		reads = tp->reads_hint;
	n = tr_port_egress_reserve_burst(p, tp->eg_size, pk, reads * m);
	if (n < 0)
		return n;
	if ((unsigned)n < m) {
		/* Not room for one whole read: a super-packet would not fit
		 * (the kernel would cut it and we would drop it). Wait for space. */
		tr_port_egress_publish_burst(p, pk, 0);
		*ring_full = true;
		return 0;
	}
	for (int i = 0; i < n; i++) {
		tp->slot_ptr[i] = tr_pkt_data(&pk[i]);
		tp->slot_len[i] = 0;
	}
	if (tr_tunio_backend(tp->io) == TR_TUNIO_PLAIN)
		err = vnet_read_sequential(tp, (unsigned)n, tun_empty);
	else
		err = vnet_read_batched(tp, &lay, (unsigned)n / m, (unsigned)n, tun_empty);
	for (int i = 0; i < n; i++) {
		pk[i].len = tp->slot_len[i];
		if (pk[i].len) {
			w = (unsigned)i + 1;
			filled++;
		}
	}
	gso_fold_stats(tp);
	STAT_ADD(tp->st.egress_hole_voids, w - filled);
	ret = tr_port_egress_publish_burst(p, pk, w);
	STAT_ADD(tp->st.egress_packets, filled);
	tr_port_egress_flush(p);
	if (err < 0) {
		STAT_ADD(tp->st.egress_err_read, 1);
		/* As in egress_burst: a packet that did not fit is lost, the
		 * port goes on; anything else ends it. */
		if (err != -EFAULT && err != -EINVAL) {
			tr_port_shutdown(p, -EIO);
			return -EIO;
		}
	}
	return ret < 0 ? ret : (int)filled;
}

static void *tunport_thread(void *arg)
{
	struct tunport *tp = arg;
	struct tr_port_fds fds;

	tr_port_get_fds(tp->port, &fds);
	while (!tr_load_acquire(&tp->stop)) {
		bool ring_full, tun_empty;
		int in, eg;

		eg = tp->vnet ? egress_burst_vnet(tp, &ring_full, &tun_empty)
			      : egress_burst(tp, &ring_full, &tun_empty);
		in = ingress_burst(tp);
		if (eg < 0 || in < 0)
			goto out; /* the port stopped; tr_port_error says why */
		/* More may be waiting: go round again without sleeping. A
		 * full egress ring is no reason to: it waits for space. */
		if (in > 0 || (!tun_empty && !ring_full))
			continue;

		/* Both idle (or egress blocked on space): announce the sleep,
		 * then re-check, so a commit or release that raced with us is
		 * not missed (the application writes dev_evt only if armed). */
		if (tr_port_arm(tp->port, ring_full)) {
			tr_port_disarm(tp->port);
			continue;
		}
		struct pollfd pfd[2] = {
			{ .fd = fds.dev_evt, .events = POLLIN },
			/* With the egress ring full, TUN data is no reason to
			 * wake: only the application's release is. */
			{ .fd = tp->fd, .events = ring_full ? 0 : POLLIN },
		};
		STAT_ADD(tp->st.polls, 1);
		STAT_ADD(tp->syscalls, 1);
		poll(pfd, 2, -1);
		tr_port_disarm(tp->port);
		if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			tr_port_shutdown(tp->port, -EIO); /* the link went away */
			goto out;
		}
	}
	/* Asked to stop: what the application committed before it left still
	 * goes to the OS. Bounded: a client that keeps committing while we
	 * drain gets at most a ring's worth more. */
	for (unsigned i = 0; i < 4096 && ingress_burst(tp) > 0; i++)
		;
out:
	return NULL;
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

static void offload_off(struct tundev *d, const char *why)
{
	snprintf(d->off_why, sizeof(d->off_why), "off (%s)", why);
	tr_store_release(&d->offload, (const char *)d->off_why);
	fprintf(stderr, "tunroom: %s: TUN offload off, one packet per read: %s\n",
		d->tun.name, why);
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
	memset(&tp->gso_seen, 0, sizeof(tp->gso_seen));
	if (!tp->vnet)
		return 0;
	if (half > TR_TUNDEV_BURST_MAX)
		half = TR_TUNDEV_BURST_MAX;
	tp->slots_frac = cap / 4 / slot ? cap / 4 / slot : 1;
	tp->reads_hint = 1;
	pthread_mutex_lock(&d->lock);
	if (d->tso_ok && need && half >= need) {
		tp->tso = true;
	} else if (d->tso_ok) {
		char why[OFFLOAD_MODE_LEN - 8];

		tp->tso_blocker = true;
		if (d->tso_blockers++ == 0) {
			tr_tun_set_offload(&d->tun, TUN_F_CSUM);
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

static int tundev_start_port(struct tr_device *dev, struct tr_port *port)
{
	struct tundev *d = (struct tundev *)dev;
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
	d->io_name = tr_tunio_backend_name(tp->io);
	err = queue_attach(tp, true);
	if (err)
		goto err_io;
	tp->port = port;
	tp->stop = 0;
	tp->n_iov = 0;
	err = -pthread_create(&tp->thread, NULL, tunport_thread, tp);
	if (err)
		goto err_detach;
	return 0;

err_detach:
	tp->port = NULL;
	queue_attach(tp, false);
err_io:
	tr_tunio_close(tp->io);
	tp->io = NULL;
err_offload:
	offload_stop(tp);
	return err;
}

static void tunport_fold_io_stats(struct tunport *tp)
{
	struct tr_tunio_stats s;

	tr_tunio_stats(tp->io, &s);
	tp->io_st.syscalls += s.syscalls;
}

static void tundev_stop_port(struct tr_device *dev, struct tr_port *port)
{
	struct tundev *d = (struct tundev *)dev;
	struct tr_port_fds fds;

	for (unsigned i = 0; i < d->tun.queues; i++) {
		struct tunport *tp = &d->ports[i];

		if (tp->port != port)
			continue;
		tr_store_release(&tp->stop, 1);
		tr_port_get_fds(port, &fds);
		tr_evt_signal(fds.dev_evt);
		pthread_join(tp->thread, NULL);
		queue_attach(tp, false);
		tunport_fold_io_stats(tp);
		tr_tunio_close(tp->io);
		tp->io = NULL;
		offload_stop(tp);
		tp->port = NULL;
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
};

#define TUNDEV_F_ALL (TR_TUNDEV_F_ATTACH | TR_TUNDEV_F_CREATE | TR_TUNDEV_F_PERSIST | \
		      TR_TUNDEV_F_NO_UP | TR_TUNDEV_F_PLAIN_IO | TR_TUNDEV_F_OFFLOAD)

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
		out->syscalls += tr_load_once(&tp->syscalls) + tp->io_st.syscalls;
	}
	return 0;
}

TR_API const char *tr_tundev_strerror(int err)
{
	return tr_tun_strerror(err);
}
