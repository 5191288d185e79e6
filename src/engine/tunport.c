/* SPDX-License-Identifier: MIT */
/*
 * The TUN device backend's data path: one thread per session (port) that
 * moves packets between a TUN queue and the session's rings with no
 * userspace copy -- the kernel's read(2) lands in an egress slot, its
 * write(2) takes an ingress slot in place -- and sleeps as docs/ring-abi.md
 * rule 7 says when both are idle.
 *
 * A packet's path (each half is defined callee first: read it bottom-up):
 * - Ingress, application to OS: ingress_burst() takes committed slots off
 *   the ring and checks each IP length (a MULTI slot is cut into its
 *   packets in place); ingress_add() gathers them and ingress_write() hands
 *   the batch to the kernel in one go. In vnet_hdr mode ingress_vectors()
 *   puts a virtio_net_hdr in front of each and, with TSO on, lets gro.c
 *   coalesce runs of one TCP flow into a single TSO write.
 * - Egress, OS to application: egress_burst() reserves slots and reads one
 *   packet into each. In vnet_hdr mode egress_burst_vnet() reads through
 *   the slot layouts of gso.c (vnet_read_batched() for io_uring,
 *   vnet_read_sequential() for the plain backend), so that a TSO
 *   super-packet lands already split into segments, one per slot.
 * - tr_tunport_thread() runs both in turn and sleeps when neither has work.
 * tunio.c does the reads and writes (io_uring or plain); tundev.c is the
 * device around this thread: open, offload mode, port start and stop.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "engine/gro.h"
#include "engine/gso.h"
#include "engine/tundev.h"
#include "engine/tunio.h"
#include "lib/barrier.h"
#include "lib/ring.h"
#include "tunroom/ip.h"
#include "tunroom/port.h"
#include "tunroom/tun.h"

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
 * goes in as verified: gro.c checked every segment's checksum.) The one
 * exception is TR_TUNDEV_F_TRUST_CSUM, which only the process that owns
 * the device and authenticated every packet it commits can ask for (an
 * AEAD tunnel, as kernel WireGuard marks decrypted packets verified): runs
 * are then built without reading the payloads. Plain packets stay as they
 * are either way: TUN ignores VIRTIO_NET_HDR_F_DATA_VALID on writes, and
 * the kernel's own check of one packet is cheap.) Returns the number of
 * writes; tp->in_pkts[w] says how many packets write w holds. */
static unsigned ingress_vectors(struct tunport *tp)
{
	static const uint8_t zero_vh[TR_VNET_HDR_LEN];
	const bool trust = tp->d->trust_csum;
	unsigned w = 0, niov = 0;

	for (unsigned i = 0; i < tp->n_iov; w++) {
		struct tr_gro_run *run = &tp->runs[w];
		unsigned k = !tp->tso ? 1
			     : trust ? tr_gro_run_trusted(&tp->iov[i], tp->n_iov - i, run)
				     : tr_gro_run(&tp->iov[i], tp->n_iov - i, run);
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
			if (trust)
				STAT_ADD(tp->st.ingress_csum_trusted, k);
		}
		niov += tp->in_vec[w].cnt;
		tp->in_pkts[w] = k;
		i += k;
	}
	return w;
}

/* Writes the gathered ingress packets and counts the outcome. Inlined, as
 * are ingress_burst and egress_burst: in the inline session these run
 * between the application's call and the TUN syscall, and every call frame
 * there costs a mispredicted return after it (tunio.c, write_one). The slots
 * they point into were marked done but the consumer index is not stored
 * yet (tr_port_ingress_flush comes after), so the application cannot reuse
 * their space while the kernel reads from it. */
static inline __attribute__((always_inline)) void ingress_write(struct tunport *tp)
{
	uint64_t bytes = 0;
	uint32_t ok = 0;
	unsigned writes, pkt = 0;

	if (!tp->n_iov)
		return;
	if (tp->vnet) {
		writes = ingress_vectors(tp);
		tr_tunio_writev(tp->io_in, tp->in_vec, writes, tp->res);
	} else {
		writes = tp->n_iov;
		tr_tunio_write(tp->io_in, tp->iov, tp->n_iov, tp->res);
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
static inline __attribute__((always_inline)) int ingress_burst(struct tunport *tp)
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
					malformed++; /* ring-abi.md rule 4: the rest of the slot goes */
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

/* Up to burst packets from TUN into egress slots: reserve slots with room
 * for the MTU, read into all of them at once (one io_uring_enter), publish
 * the ones that got a packet. A batch makes as many reads as found a
 * packet last time plus one (TUN was drained then; a steady burst then
 * costs one empty read), twice as many when all did, and one read after
 * a batch of one (request/response: a single read goes as a plain read(2),
 * tunio.c); inline, never more than the receiver asked for (reads_cap). A
 * read that finds TUN empty still costs the kernel an issue and a failed
 * completion, and a fixed batch of 64 made most of them at 64 B.
 * *ring_full says the ring had no room (sleep for space, not for TUN
 * data), *tun_empty that TUN ran dry. Returns packets moved, or a negative
 * error that ends the port. */
static inline __attribute__((always_inline)) int egress_burst(struct tunport *tp,
								 bool *ring_full,
								 bool *tun_empty)
{
	struct tr_port *p = tp->port;
	struct tr_pkt *pk = tp->eg;
	struct iovec *iov = tp->eg_iov;
	uint32_t *lens = tp->eg_lens;
	unsigned w = 0;
	int n, got, ret;

	*ring_full = *tun_empty = false;
	unsigned want = tp->reads_hint < tp->d->burst ? tp->reads_hint : tp->d->burst;
	if (tp->reads_cap && want > tp->reads_cap)
		want = tp->reads_cap;
	n = tr_port_egress_reserve_burst(p, tp->eg_size, pk, want ? want : 1);
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
	tp->reads_hint = got == n ? 2 * (unsigned)n : got > 1 ? (unsigned)got + 1 : 1;
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
 * when none did. Voids hold ring space until the application passes them,
 * and it cannot pass one while it holds a packet before it: a ring full of
 * held packets with voids between them holds ~60 packets at 4 MiB instead
 * of ~2,500. So a batch reserves at most an eighth of the egress ring and
 * EG_SLOTS_MAX slots (at 4 MiB and MTU 1500, 6 reads per io_uring_enter),
 * and only while the application keeps up: with more than a sixteenth of
 * the ring in use (published or held, tr_port_egress_used), a batch is one
 * read, which leaves no void (its unused slots are given back). Voids in
 * flight stay below 3/16 of the ring, and the rest holds packets
 * (docs/ring-abi.md, "Ring space"). The batch also
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
	if (r > 1 && tr_port_egress_used(tp->port) > tp->batch_used_max)
		r = 1;
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
	unsigned last = reads; /* the last read that got a packet */
	while (last > 0 && !lens[last - 1])
		last--;
	for (unsigned r = 0; r < last; r++) {
		unsigned base = r * m;

		if (!lens[r])
			continue;
		/* A read that needs more slots than it spans (an MSS smaller
		 * than guessed) may take those of the empty reads after the
		 * last one that got a packet. */
		tr_gso_finish(&tp->gso, lay, tp->vh[r], lens[r], &tp->slot_ptr[base],
			      r + 1 == last ? n - base : m, &tp->slot_len[base]);
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
	if (tp->reads_cap && reads > tp->reads_cap)
		reads = tp->reads_cap;
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

/* Adds the reads, writes and io_uring_enter calls tunio made since the
 * last fold to the port's syscalls, which tr_tundev_stats reads while the
 * port runs (the tunio counters themselves are this thread's only). */
static void io_fold(const struct tr_tunio *io, uint64_t *seen, uint64_t *syscalls)
{
	struct tr_tunio_stats s;

	tr_tunio_stats(io, &s);
	if (s.syscalls != *seen) {
		STAT_ADD(*syscalls, s.syscalls - *seen);
		*seen = s.syscalls;
	}
}

static void io_fold_stats(struct tunport *tp)
{
	io_fold(tp->io, &tp->io_seen, &tp->syscalls);
}

/* Run to completion: the application's receiving thread reads one batch
 * from TUN into the egress ring, as the thread below would, and its
 * committing thread writes the ingress ring out. No wake-up crosses a
 * thread: the application sleeps on the TUN descriptor itself. */
int tr_tunport_inline_egress(void *ctx, unsigned max, int *ring_full)
{
	struct tunport *tp = ctx;
	bool full, empty;
	int n;

	tp->reads_cap = max ? max : 1;
	n = tp->vnet ? egress_burst_vnet(tp, &full, &empty) : egress_burst(tp, &full, &empty);
	tp->reads_cap = 0;
	io_fold_stats(tp);
	*ring_full = full;
	return n;
}

int tr_tunport_inline_ingress(void *ctx)
{
	struct tunport *tp = ctx;
	int n, total = 0;

	/* ingress_burst takes at most a burst of slots: go on until the ring
	 * is empty, so that everything committed so far is out. */
	do {
		n = ingress_burst(tp);
		if (n > 0)
			total += n;
	} while (n == (int)tp->d->burst);
	io_fold(tp->io_in, &tp->io_in_seen, &tp->syscalls_in);
	return n < 0 ? n : total;
}

void *tr_tunport_thread(void *arg)
{
	struct tunport *tp = arg;
	int dfd[2];

	tr_port_device_fds(tp->port, dfd);
	while (!tr_load_acquire(&tp->stop)) {
		bool ring_full, tun_empty;
		int in, eg;

		eg = tp->vnet ? egress_burst_vnet(tp, &ring_full, &tun_empty)
			      : egress_burst(tp, &ring_full, &tun_empty);
		in = ingress_burst(tp);
		io_fold_stats(tp);
		if (eg < 0 || in < 0)
			goto out; /* the port stopped; tr_port_error says why */
		/* More may be waiting: go round again without sleeping. A
		 * full egress ring is no reason to: it waits for space. */
		if (in > 0 || (!tun_empty && !ring_full))
			continue;

		/* Both idle (or egress blocked on space): announce the sleep,
		 * then re-check, so a commit or release that raced with us is
		 * not missed (the application signals its doorbell only if armed). */
		if (tr_port_arm(tp->port, ring_full)) {
			tr_port_disarm(tp->port);
			continue;
		}
		struct pollfd pfd[3] = {
			/* With the egress ring full, TUN data is no reason to
			 * wake: only the application's release is. */
			{ .fd = tp->fd, .events = ring_full ? 0 : POLLIN },
			{ .fd = dfd[0], .events = POLLIN }, /* the application's doorbell */
			{ .fd = dfd[1], .events = POLLIN }, /* stop_port's kick */
		};
		STAT_ADD(tp->st.polls, 1);
		STAT_ADD(tp->syscalls, 1);
		poll(pfd, 3, -1);
		tr_port_disarm(tp->port);
		if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
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
	io_fold_stats(tp);
	return NULL;
}
