/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect data plane (dataplane.h): a tx thread (egress ring -> seal
 * in place -> sendmmsg on DTLS, sendmsg on CSTP) and an rx thread (recvmmsg
 * into ingress slots -> open in place; recv into staging -> open into a MULTI
 * slot). The control thread swaps channels under them: it publishes the new
 * channel pointer, then waits until each data thread has passed the top of
 * its loop once (where it holds no channel) before freeing the old one. So
 * the hot paths take no lock; the control queues have a mutex, touched only
 * when a control packet moves.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "anyconnect/cstp_rx.h"
#include "lib/barrier.h"
#include "anyconnect/dataplane.h"
#include "anyconnect/rec.h"

#define BURST 32           /* packets per ring burst and per sendmmsg/recvmmsg */
#define CSTP_SLOT 32768u   /* bytes of one CSTP ingress (MULTI) slot */
#define INQ 64             /* received control messages waiting */
#define PENDING_MAX 65536u /* CSTP bytes that came with the CONNECT reply */
#define SEND_TRIES 200     /* EAGAIN waits (10 ms each) before a batch is dropped */
#define FULL_WAIT_MS 100   /* longest sleep on a full ingress ring (stop, swaps seen) */
#define FULL_WAIT_ONE_MS 10 /* the same with one thread, which also serves egress */
/* One thread: tr_rx_wait_fds returns at once, the sockets unpolled, while
 * the egress ring has packets (with the engine thread, all through an
 * upload); after this many such waits in a row the sockets are polled
 * anyway, so that the server's ACKs and DPD requests are read meanwhile. */
#define SOCK_SKIPS_MAX 16

/* Relaxed: flags and times other threads only look at (barrier.h). */
#define LOAD(x) tr_load_once(&(x))
#define STORE(x, v) tr_store_once(&(x), (v))

struct chan {
	int fd;
	uint8_t kind;                 /* enum tr_ac_chan */
	int dead;                     /* a data thread found it broken; reported once */
	struct tr_ac_aead tx;         /* tx thread only */
	struct tr_ac_aead drx;        /* DTLS: rx thread only */
	struct tr_ac_cstp_rx *crx;    /* CSTP: rx thread only */
	uint8_t *pending;             /* CSTP: plaintext for the rx thread's first look */
	uint32_t pending_len;
	bool gso;                     /* DTLS: UDP_SEGMENT works on this socket (tx thread) */
	uint32_t gso_max;             /* DTLS: largest UDP payload of one segmented message */
};

struct out_msg {
	uint8_t chan, type;
	uint16_t len;
	uint8_t data[TR_AC_CTL_MAX];
};

struct tr_ac_dp {
	struct tr_ac_dp_cfg cfg;
	struct tr_session *s;
	struct chan *ch[2];           /* published by the control thread */
	int use;                      /* enum tr_ac_chan carrying egress data */
	int stop;
	pthread_t tx_thr, rx_thr;
	int threads;                  /* how many started */
	int mode;                     /* 1: one thread both ways; 2: tx and rx threads */
	bool inline_io;               /* the data threads do the device's I/O (no engine) */
	int rx_wake;                  /* eventfd: the rx thread looks at the channels again */
	int tx_wake;                  /* eventfd: the tx thread looks at its queue (= rx_wake
				       * with one thread) */
	int ingress_full;             /* rx side: the last allocation found no room */
	int bell_woke;                /* one thread: the session ended the last wait */
	int tx_more;                  /* one thread: the last tx_round took a whole burst */
	unsigned sock_skips;          /* one thread: waits in a row that left the sockets unseen */
	int ctl_evt;                  /* eventfd: control messages wait */
	uint64_t tx_qs, rx_qs;        /* loop passes of each data thread */
	struct chan *tx_hold;         /* the channel the tx thread uses now (hazard pointer) */
	uint32_t rx_plain_max;        /* DTLS plaintext a slot takes */
	unsigned rx_want;             /* DTLS slots to offer the next recvmmsg (rx thread) */

	pthread_mutex_t mu;           /* the two queues below */
	struct out_msg outq[TR_AC_CTL_QUEUE];
	unsigned out_head, out_n;
	int out_pending;
	uint64_t out_queued, out_done;
	struct tr_ac_ctl_msg inq[INQ];
	unsigned in_head, in_n;

	uint64_t last_rx[2], last_tx[2]; /* ns of CLOCK_MONOTONIC, 0 = none yet */
	struct tr_ac_dp_stats st;

	/* rx thread: the CSTP MULTI slot being filled */
	struct tr_pkt cur;
	uint32_t cur_fill, cur_n;
	int cur_open;
	/* tx thread: one control packet with room around it */
	uint8_t ctl_buf[TR_AC_DP_HEAD_ROOM + TR_CSTP_HDR_LEN + TR_AC_CTL_MAX + TR_AC_DP_TAIL_ROOM];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void dp_log(struct tr_ac_dp *dp, int level, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!dp->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dp->cfg.log(dp->cfg.log_arg, level, buf);
}

static const char *chan_name(unsigned c)
{
	return c == TR_AC_CHAN_DTLS ? "DTLS" : "CSTP";
}

static void drain_evt(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* not readable after all */
	}
}

static void poke(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* saturated: a wake-up is pending already */
	}
}

/* The session fd is the application's end of the doorbell: writing to it
 * rings the device, not our threads. So each data thread has an eventfd
 * (the waits below would take tr_session_wake too, but the rx thread of
 * two does not wait on the session). */
static void wake_threads(struct tr_ac_dp *dp)
{
	poke(dp->tx_wake);
	if (dp->rx_wake != dp->tx_wake)
		poke(dp->rx_wake);
}

/* The egress waits. Not a poll on tr_session_fd(): inline, that is an
 * epoll descriptor, and the first call registers a waiter on the TUN queue
 * that the kernel then calls for every packet it queues (2-3 % of the
 * samples in bench_tun --rr), whether anyone sleeps or not.
 * tr_rx_wait_fds sleeps on the queue itself, only while it sleeps, and on
 * our descriptors in the same poll. Without inline it also empties the
 * doorbell of a ring meant for tr_tx_wait's side, which a plain poll on the
 * session fd found again and again (it returned at once until egress data
 * came; this file drained such stray rings itself before). */

/* --- control queues ------------------------------------------------------- */

/* From a data thread: a control packet or event for the control thread. */
static void push_event(struct tr_ac_dp *dp, unsigned chan, uint8_t type, int err,
		       const uint8_t *p, uint32_t len)
{
	pthread_mutex_lock(&dp->mu);
	if (dp->in_n == INQ) {
		tr_stat_add(&dp->st.rx_drop_ctl_full, 1);
	} else {
		struct tr_ac_ctl_msg *m = &dp->inq[(dp->in_head + dp->in_n++) % INQ];
		memset(m, 0, sizeof(*m));
		m->chan = (uint8_t)chan;
		m->type = type;
		m->err = err;
		m->len = (uint16_t)(len > 0xffff ? 0xffff : len);
		if (p && len)
			memcpy(m->data, p, len < sizeof(m->data) ? len : sizeof(m->data));
		poke(dp->ctl_evt);
	}
	pthread_mutex_unlock(&dp->mu);
}

static int queue_out(struct tr_ac_dp *dp, unsigned chan, uint8_t type, const void *p, size_t n)
{
	int err = 0;

	pthread_mutex_lock(&dp->mu);
	if (dp->out_n == TR_AC_CTL_QUEUE) {
		err = -EAGAIN;
	} else {
		struct out_msg *m = &dp->outq[(dp->out_head + dp->out_n++) % TR_AC_CTL_QUEUE];
		m->chan = (uint8_t)chan;
		m->type = type;
		m->len = (uint16_t)n;
		if (n)
			memcpy(m->data, p, n);
		dp->out_queued++;
		STORE(dp->out_pending, 1);
	}
	pthread_mutex_unlock(&dp->mu);
	if (!err)
		poke(dp->tx_wake);
	return err;
}

/* A data thread found the channel broken: say so once. */
static void chan_down(struct tr_ac_dp *dp, struct chan *ch, int err)
{
	int zero = 0;

	if (!tr_cmpxchg(&ch->dead, &zero, 1))
		return;
	dp_log(dp, TR_AC_LOG_INFO, "%s channel down: %s", chan_name(ch->kind), strerror(-err));
	push_event(dp, ch->kind, TR_AC_EV_DOWN, err, NULL, 0);
}

/* --- tx thread -------------------------------------------------------------- */

/* The tx thread may sit in a send on a stalled TCP socket for long; a swap
 * of the other channel must not wait for it. So it announces the channel it
 * uses (a hazard pointer) and checks it is still the published one: a swap
 * then only waits while the tx thread holds exactly the channel swapped out. */
static struct chan *tx_acquire(struct tr_ac_dp *dp, unsigned kind)
{
	for (;;) {
		struct chan *ch = tr_load_seq(&dp->ch[kind]);
		tr_store_seq(&dp->tx_hold, ch);
		if (tr_load_seq(&dp->ch[kind]) == ch)
			return ch;
	}
}

static void rx_dtls(struct tr_ac_dp *dp, struct chan *ch);
static void rx_cstp(struct tr_ac_dp *dp, struct chan *ch);

/* Waits until fd takes more, the channel is replaced, or we stop. With one
 * data thread it keeps receiving meanwhile: a server blocked writing to us
 * while we wait to write to it would otherwise never read again (both TCP
 * windows full, neither side reading). */
static bool wait_writable(struct tr_ac_dp *dp, struct chan *ch)
{
	struct chan *d = NULL, *c = NULL;

	/* A full ingress ring takes nothing: leave the sockets out, or their
	 * data would end this poll at once and the tries would run out. */
	if (dp->mode == 1 && dp->ingress_full && tr_tx_wait(dp->s, 0) == 1)
		dp->ingress_full = 0;
	if (dp->mode == 1 && !dp->ingress_full) {
		d = tr_load_seq(&dp->ch[TR_AC_CHAN_DTLS]);
		c = tr_load_seq(&dp->ch[TR_AC_CHAN_CSTP]);
	}
	struct pollfd pfd[3] = {
		{ .fd = ch->fd, .events = POLLOUT },
		{ .fd = d && !LOAD(d->dead) ? d->fd : -1, .events = POLLIN },
		{ .fd = c && !LOAD(c->dead) ? c->fd : -1, .events = POLLIN },
	};
	if (poll(pfd, 3, 10) < 0 && errno != EINTR)
		return false;
	if (pfd[1].revents & (POLLIN | POLLERR))
		rx_dtls(dp, d);
	if (pfd[2].revents & (POLLIN | POLLERR | POLLHUP))
		rx_cstp(dp, c);
	return !LOAD(dp->stop) && tr_load_acquire(&dp->ch[ch->kind]) == ch &&
	       !LOAD(ch->dead);
}

/* How many of iov[0..n) make one UDP_SEGMENT message from iov[0]: records
 * of iov[0]'s length, the last of which may be shorter, at most 64 (the
 * kernel's UDP_MAX_SEGMENTS) and max bytes in all. */
static unsigned gso_run(const struct iovec *iov, unsigned n, uint32_t max)
{
	size_t seg = iov[0].iov_len, total = seg;
	unsigned k = 1;

	while (k < n && k < 64 && iov[k].iov_len <= seg && total + iov[k].iov_len <= max) {
		total += iov[k].iov_len;
		if (iov[k++].iov_len < seg)
			break;
	}
	return k;
}

union gso_cmsg {
	char buf[CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
};

/* DTLS: n sealed records, one datagram each. With UDP GSO, each run of
 * equal-sized records (a bulk flow's full-MTU packets) goes as one message
 * that the kernel cuts into datagrams: ocserv still sees one record per
 * datagram. */
static void send_dtls(struct tr_ac_dp *dp, struct chan *ch, struct iovec *iov, unsigned n)
{
	struct tr_ac_chan_stats *st = &dp->st.chan[TR_AC_CHAN_DTLS];
	struct mmsghdr mm[BURST];
	union gso_cmsg ctl[BURST];
	unsigned recs[BURST], nm = 0, done = 0;
	int tries = 0;

	memset(mm, 0, sizeof(mm[0]) * n);
	for (unsigned i = 0; i < n; nm++) {
		unsigned k = ch->gso ? gso_run(iov + i, n - i, ch->gso_max) : 1;
		mm[nm].msg_hdr.msg_iov = &iov[i];
		mm[nm].msg_hdr.msg_iovlen = k;
		recs[nm] = k;
		if (k > 1) {
			uint16_t seg = (uint16_t)iov[i].iov_len;
			struct cmsghdr *c = (struct cmsghdr *)ctl[nm].buf;
			memset(&ctl[nm], 0, sizeof(ctl[nm]));
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			mm[nm].msg_hdr.msg_control = ctl[nm].buf;
			mm[nm].msg_hdr.msg_controllen = sizeof(ctl[nm].buf);
		}
		i += k;
	}
	while (done < nm) {
		int r = sendmmsg(ch->fd, mm + done, nm - done, MSG_DONTWAIT);
		tr_stat_add(&st->tx_syscalls, 1);
		if (r > 0) {
			for (unsigned i = done; i < done + (unsigned)r; i++) {
				tr_stat_add(&st->tx_bytes, mm[i].msg_len);
				tr_stat_add(&st->tx_records, recs[i]);
				if (recs[i] > 1)
					tr_stat_add(&st->tx_gso_sends, 1);
			}
			done += (unsigned)r;
			continue;
		}
		int e = r < 0 ? errno : EIO;
		if ((e == EAGAIN || e == ENOBUFS) && ++tries < SEND_TRIES && wait_writable(dp, ch))
			continue;
		if (recs[done] > 1 && e == EMSGSIZE) {
			/* Records longer than the path MTU: the kernel cuts no
			 * GSO run into IP fragments (EMSGSIZE on current kernels,
			 * EINVAL on older ones: below), but fragments a lone
			 * datagram.
			 * This run goes datagram by datagram; GSO stays on. */
			bool gso = ch->gso;
			ch->gso = false;
			send_dtls(dp, ch, (struct iovec *)mm[done].msg_hdr.msg_iov, recs[done]);
			ch->gso = gso;
			done++;
			continue;
		}
		if (recs[done] > 1 && (e == EIO || e == EINVAL || e == ENOPROTOOPT)) {
			/* The kernel or the route cannot segment after all: send
			 * this run datagram by datagram, and no more GSO here. */
			ch->gso = false;
			dp_log(dp, TR_AC_LOG_INFO, "DTLS: UDP GSO refused (%s): one datagram "
			       "per message from now on", strerror(e));
			send_dtls(dp, ch, (struct iovec *)mm[done].msg_hdr.msg_iov, recs[done]);
			done++;
			continue;
		}
		if (e == EAGAIN || e == ENOBUFS) {
			for (unsigned i = done; i < nm; i++)
				tr_stat_add(&st->tx_err_send, recs[i]);
			break;
		}
		/* ICMP errors (ECONNREFUSED...) land on one message: drop it. */
		tr_stat_add(&st->tx_err_send, recs[done]);
		done++;
	}
	STORE(dp->last_tx[TR_AC_CHAN_DTLS], now_ns());
}

/* CSTP: the records as one byte stream, however many calls that takes. */
static void send_cstp(struct tr_ac_dp *dp, struct chan *ch, struct iovec *iov, unsigned n)
{
	struct tr_ac_chan_stats *st = &dp->st.chan[TR_AC_CHAN_CSTP];
	unsigned i = 0;

	tr_stat_add(&st->tx_records, n);
	for (unsigned k = 0; k < n; k++)
		tr_stat_add(&st->tx_bytes, iov[k].iov_len);
	while (i < n) {
		struct msghdr mh = { .msg_iov = iov + i, .msg_iovlen = n - i };
		ssize_t r = sendmsg(ch->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		tr_stat_add(&st->tx_syscalls, 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == ENOBUFS) && wait_writable(dp, ch))
				continue;
			if (errno != EAGAIN && errno != ENOBUFS)
				chan_down(dp, ch, -errno);
			tr_stat_add(&st->tx_err_send, n - i);
			break;
		}
		/* Step over what went, splitting a record if it went partly. */
		while (i < n && (size_t)r >= iov[i].iov_len)
			r -= (ssize_t)iov[i++].iov_len;
		if (i < n) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + r;
			iov[i].iov_len -= (size_t)r;
		}
	}
	STORE(dp->last_tx[TR_AC_CHAN_CSTP], now_ns());
}

/* Seals p (its data: a packet or control payload) for ch. */
static int seal(struct chan *ch, struct tr_pkt *p, uint8_t type)
{
	if (ch->kind == TR_AC_CHAN_DTLS)
		return tr_ac_dtls_seal(&ch->tx, p, type);
	int err = tr_cstp_encode(p, type, NULL);
	return err ? err : tr_ac_tls_seal(&ch->tx, p, TR_AC_CT_APP);
}

static void seal_failed(struct tr_ac_dp *dp, struct chan *ch, int err)
{
	if (err == -ERANGE)
		chan_down(dp, ch, -ERANGE); /* sequence numbers used up: rekey */
	else if (err == -EMSGSIZE)
		tr_stat_add(&dp->st.tx_drop_too_big, 1);
	else
		tr_stat_add(&dp->st.chan[ch->kind].tx_err_send, 1);
}

/* The control packets queued by send_ctl and by the DPD answers. */
static void send_queued(struct tr_ac_dp *dp)
{
	for (;;) {
		struct out_msg *m;
		struct tr_pkt p;
		struct iovec iov;

		pthread_mutex_lock(&dp->mu);
		if (!dp->out_n) {
			STORE(dp->out_pending, 0);
			pthread_mutex_unlock(&dp->mu);
			return;
		}
		m = &dp->outq[dp->out_head];
		unsigned c = m->chan;
		uint8_t type = m->type;
		uint32_t len = m->len;
		memcpy(dp->ctl_buf + TR_AC_DP_HEAD_ROOM + TR_CSTP_HDR_LEN, m->data, len);
		dp->out_head = (dp->out_head + 1) % TR_AC_CTL_QUEUE;
		dp->out_n--;
		pthread_mutex_unlock(&dp->mu);

		struct chan *ch = tx_acquire(dp, c);
		if (ch && !LOAD(ch->dead) &&
		    !tr_pkt_init(&p, dp->ctl_buf, sizeof(dp->ctl_buf),
				 TR_AC_DP_HEAD_ROOM + TR_CSTP_HDR_LEN, len)) {
			int err = seal(ch, &p, type);
			if (err) {
				seal_failed(dp, ch, err);
			} else {
				iov.iov_base = tr_pkt_data(&p);
				iov.iov_len = p.len;
				tr_stat_add(&dp->st.chan[c].tx_ctl, 1);
				if (c == TR_AC_CHAN_DTLS)
					send_dtls(dp, ch, &iov, 1);
				else
					send_cstp(dp, ch, &iov, 1);
			}
		}
		pthread_mutex_lock(&dp->mu);
		dp->out_done++;
		pthread_mutex_unlock(&dp->mu);
	}
}

/* One egress burst: sealed and sent on the channel in use. Returns how many
 * packets it took from the ring (0: empty, and the session fd is armed),
 * or a negative error (the ring is broken). Never waits for the ring. */
static int tx_round(struct tr_ac_dp *dp)
{
	struct tr_pkt pkts[BURST];
	struct iovec iov[BURST];
	int n = tr_rx_receive_burst(dp->s, pkts, BURST);

	if (n <= 0)
		return n;
	int c = LOAD(dp->use);
	struct chan *ch = c == TR_AC_CHAN_NONE ? NULL : tx_acquire(dp, (unsigned)c);
	if (!ch || LOAD(ch->dead)) {
		tr_stat_add(&dp->st.tx_drop_no_chan, (unsigned)n);
	} else {
		unsigned g = 0;
		for (int i = 0; i < n; i++) {
			int err = seal(ch, &pkts[i], TR_AC_DATA);
			if (err) {
				seal_failed(dp, ch, err);
				continue;
			}
			iov[g].iov_base = tr_pkt_data(&pkts[i]);
			iov[g++].iov_len = pkts[i].len;
		}
		tr_stat_add(&dp->st.chan[c].tx_data, g);
		if (g && c == TR_AC_CHAN_DTLS)
			send_dtls(dp, ch, iov, g);
		else if (g)
			send_cstp(dp, ch, iov, g);
	}
	int err = tr_rx_release_burst(dp->s, pkts, (unsigned)n);
	return err ? err : n;
}

/* The top of each data thread's loop: it holds no channel here. */
static void pass_tx(struct tr_ac_dp *dp)
{
	tr_store_seq(&dp->tx_hold, NULL);
	tr_add_seq(&dp->tx_qs, 1);
}

static void *tx_main(void *arg)
{
	struct tr_ac_dp *dp = arg;

	while (!LOAD(dp->stop)) {
		pass_tx(dp);
		if (LOAD(dp->out_pending))
			send_queued(dp);
		int n = tx_round(dp);
		if (n < 0) {
			dp_log(dp, TR_AC_LOG_ERR, "egress ring: %s", tr_strerror(n));
			break;
		}
		/* Inline, a burst short of whole emptied the ring, and one more
		 * look would be a read of the device that mostly finds nothing:
		 * wait (level-triggered on the device) instead. */
		if (n == 0 || (dp->inline_io && n < BURST)) {
			/* Empty: the session is armed. Our eventfd brings
			 * control packets and stop. */
			struct pollfd pfd = { .fd = dp->tx_wake, .events = POLLIN };
			int r = tr_rx_wait_fds(dp->s, &pfd, 1, 1000);
			if (r < 0) {
				dp_log(dp, TR_AC_LOG_ERR, "egress ring: %s", tr_strerror(r));
				break;
			}
			if (pfd.revents)
				drain_evt(dp->tx_wake);
		}
	}
	return NULL;
}

/* --- rx thread --------------------------------------------------------------- */

/* A control packet that authenticated on chan. */
static void got_ctl(struct tr_ac_dp *dp, unsigned chan, uint8_t type, const uint8_t *p,
		    uint32_t len)
{
	if (type == TR_AC_DPD_REQ) {
		/* Echo the payload (a DTLS MTU probe must come back whole); one
		 * too long for the queue gets the bare answer. */
		if (!queue_out(dp, chan, TR_AC_DPD_RESP, p, len <= TR_AC_CTL_MAX ? len : 0))
			tr_stat_add(&dp->st.dpd_answered, 1);
	}
	push_event(dp, chan, type, 0, p, len);
}

static void rx_dtls(struct tr_ac_dp *dp, struct chan *ch)
{
	struct tr_ac_chan_stats *st = &dp->st.chan[TR_AC_CHAN_DTLS];
	uint32_t head = tr_ac_dtls_head(&ch->drx) + TR_DTLS_HDR_LEN;
	struct tr_pkt pkts[BURST], good[BURST];
	struct mmsghdr mm[BURST];
	struct iovec iov[BURST];

	for (int round = 0; round < 8; round++) {
		/* As many slots as the last receives suggest: a full batch
		 * doubles the offer, a short one shrinks it to what came plus
		 * a little, so a trickle does not reserve (and give back) 32
		 * slots per datagram. */
		int n = tr_tx_allocate_burst(dp->s, dp->rx_plain_max, pkts, dp->rx_want);
		if (n <= 0) {
			/* The device is behind; the socket buffer holds what
			 * comes while the loop waits for space (wait_and_receive). */
			tr_stat_add(&dp->st.rx_drop_ring_full, 1);
			dp->ingress_full = 1;
			return;
		}
		memset(mm, 0, sizeof(mm[0]) * (unsigned)n);
		for (int i = 0; i < n; i++) {
			iov[i].iov_base = tr_pkt_data(&pkts[i]) - head;
			iov[i].iov_len = head + dp->rx_plain_max + TR_AC_TAG;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		int c = recvmmsg(ch->fd, mm, (unsigned)n, MSG_DONTWAIT, NULL);
		tr_stat_add(&st->rx_syscalls, 1);
		if (c < 0)
			c = 0; /* EAGAIN, or an ICMP error: DPD notices a dead path */
		for (int i = n - 1; i >= c; i--)
			tr_tx_abandon(dp->s, &pkts[i]);
		unsigned g = 0;
		uint64_t auth = 0;
		for (int i = 0; i < c; i++) {
			struct tr_pkt *p = &pkts[i];
			uint8_t ct, type;
			int err = -EMSGSIZE;

			if (!(mm[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				p->off -= head;
				p->len = mm[i].msg_len;
				err = tr_ac_dtls_open(&ch->drx, p, &ct);
			}
			switch (err) {
			case 0: break;
			case -EMSGSIZE: tr_stat_add(&st->rx_drop_trunc, 1); break;
			case -ENODATA: tr_stat_add(&st->rx_drop_short, 1); break;
			case -ESTALE: tr_stat_add(&st->rx_drop_epoch, 1); break;
			case -EALREADY: tr_stat_add(&st->rx_drop_replay, 1); break;
			case -EBADMSG: tr_stat_add(&st->rx_err_auth, 1); break;
			default: tr_stat_add(&st->rx_drop_header, 1); break;
			}
			if (err) {
				tr_tx_abandon(dp->s, p);
				continue;
			}
			auth++;
			tr_stat_add(&st->rx_records, 1);
			tr_stat_add(&st->rx_bytes, mm[i].msg_len);
			if (ct == TR_AC_CT_ALERT || !p->len) {
				if (ct == TR_AC_CT_ALERT)
					push_event(dp, TR_AC_CHAN_DTLS, TR_AC_EV_ALERT, 0,
						   tr_pkt_data(p), p->len);
				else
					tr_stat_add(&st->rx_drop_type, 1);
				tr_tx_abandon(dp->s, p);
				continue;
			}
			type = tr_pkt_data(p)[0];
			p->off++;
			p->len--;
			if (type == TR_AC_DATA && p->len) {
				tr_stat_add(&st->rx_data, 1);
				good[g++] = *p;
				continue;
			}
			if (type == TR_AC_DPD_REQ || type == TR_AC_DPD_RESP ||
			    type == TR_AC_KEEPALIVE || type == TR_AC_DISCONNECT ||
			    type == TR_AC_TERMINATE) {
				tr_stat_add(&st->rx_ctl, 1);
				got_ctl(dp, TR_AC_CHAN_DTLS, type, tr_pkt_data(p), p->len);
			} else {
				tr_stat_add(&st->rx_drop_type, 1);
			}
			tr_tx_abandon(dp->s, p);
		}
		if (auth)
			STORE(dp->last_rx[TR_AC_CHAN_DTLS], now_ns());
		if (g) {
			int err = tr_tx_commit_burst(dp->s, good, g, 0);
			if (err) {
				dp_log(dp, TR_AC_LOG_ERR, "ingress ring: %s", tr_strerror(err));
				STORE(dp->stop, 1);
				return;
			}
		}
		dp->rx_want = c == n ? (n * 2 > BURST ? BURST : (unsigned)n * 2)
			    : (unsigned)c + 4 > BURST ? BURST : (unsigned)c + 4;
		if (c < n)
			return;
	}
}

/* The CSTP sink: data packets back to back in one MULTI slot. */
static void slot_flush(struct tr_ac_dp *dp)
{
	int err;

	if (!dp->cur_open)
		return;
	dp->cur_open = 0;
	if (!dp->cur_n) {
		tr_tx_abandon(dp->s, &dp->cur);
		return;
	}
	dp->cur.len = dp->cur_fill;
	err = tr_tx_commit(dp->s, &dp->cur, dp->cur_n > 1 ? TR_TX_MULTI : 0);
	if (err) {
		dp_log(dp, TR_AC_LOG_ERR, "ingress ring: %s", tr_strerror(err));
		STORE(dp->stop, 1);
	}
}

static uint8_t *sink_room(void *arg, uint32_t len)
{
	struct tr_ac_dp *dp = arg;

	if (!len || len > CSTP_SLOT) {
		tr_stat_add(&dp->st.chan[TR_AC_CHAN_CSTP].rx_drop_trunc, 1);
		return NULL;
	}
	if (dp->cur_open && dp->cur_fill + len <= dp->cur.len)
		return tr_pkt_data(&dp->cur) + dp->cur_fill;
	slot_flush(dp);
	if (tr_tx_allocate(dp->s, CSTP_SLOT, &dp->cur)) {
		/* Dropped: the rest of this read's records are in staging.
		 * rx_cstp reads no more until the device frees space. */
		tr_stat_add(&dp->st.rx_drop_ring_full, 1);
		dp->ingress_full = 1;
		return NULL;
	}
	dp->cur_open = 1;
	dp->cur_fill = dp->cur_n = 0;
	return tr_pkt_data(&dp->cur);
}

static void sink_done(void *arg, uint32_t len, bool ok)
{
	struct tr_ac_dp *dp = arg;

	if (ok) {
		dp->cur_fill += len;
		dp->cur_n++;
	}
}

static void sink_ctl(void *arg, uint8_t type, const uint8_t *p, uint32_t len)
{
	struct tr_ac_dp *dp = arg;

	if (type == TR_AC_EV_ALERT)
		push_event(dp, TR_AC_CHAN_CSTP, type, 0, p, len);
	else
		got_ctl(dp, TR_AC_CHAN_CSTP, type, p, len);
}

static void rx_cstp(struct tr_ac_dp *dp, struct chan *ch)
{
	struct tr_ac_chan_stats *st = &dp->st.chan[TR_AC_CHAN_CSTP];
	const struct tr_ac_cstp_sink sink = { sink_room, sink_done, sink_ctl, dp };

	if (ch->pending) {
		int err = tr_ac_cstp_rx_plain(ch->crx, &sink, ch->pending, ch->pending_len);
		slot_flush(dp);
		free(ch->pending);
		ch->pending = NULL;
		if (err) {
			chan_down(dp, ch, err);
			return;
		}
	}
	for (int round = 0; round < 8; round++) {
		uint32_t n;
		uint8_t *sp = tr_ac_cstp_rx_space(ch->crx, &n);
		uint64_t before = st->rx_records;
		ssize_t r = recv(ch->fd, sp, n, MSG_DONTWAIT);
		tr_stat_add(&st->rx_syscalls, 1);
		if (r == 0) {
			chan_down(dp, ch, -ECONNRESET);
			return;
		}
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR)
				chan_down(dp, ch, -errno);
			return;
		}
		tr_ac_cstp_rx_added(ch->crx, (uint32_t)r);
		int err = tr_ac_cstp_rx_process(ch->crx, &sink);
		slot_flush(dp);
		if (st->rx_records != before)
			STORE(dp->last_rx[TR_AC_CHAN_CSTP], now_ns());
		if (err) {
			chan_down(dp, ch, err);
			return;
		}
		if ((uint32_t)r < n || dp->ingress_full)
			return;
	}
}

/* One wait of a data thread, shared by both thread modes: the rx wake-up,
 * each live channel's socket and, in one-thread mode (egress), the session
 * (tr_rx_wait_fds); then whatever became readable is received. Returns 0,
 * or the session's error (one thread: the session is over). */
static int wait_and_receive(struct tr_ac_dp *dp, struct chan *d, struct chan *c,
			    bool egress, int timeout_ms)
{
	if (dp->ingress_full) {
		/* The sockets are readable but the ring has no room: sleep
		 * until the device frees some (its release rings us), in
		 * slices, so that stop and channel swaps are seen. With one
		 * thread, egress work that waits (timeout 0) only checks, and
		 * a shorter slice bounds how long egress waits meanwhile. */
		int r = tr_tx_wait(dp->s, !timeout_ms ? 0 : egress ? FULL_WAIT_ONE_MS
								   : FULL_WAIT_MS);
		if (r < 0) {
			dp_log(dp, TR_AC_LOG_ERR, "ingress ring: %s", tr_strerror(r));
			STORE(dp->stop, 1);
			return 0;
		}
		if (!r)
			return 0;
		dp->ingress_full = 0;
		timeout_ms = 0;
	}
	struct pollfd pfd[3] = {
		{ .fd = dp->rx_wake, .events = POLLIN },
		{ .fd = d && !LOAD(d->dead) ? d->fd : -1, .events = POLLIN },
		{ .fd = c && !LOAD(c->dead) ? c->fd : -1, .events = POLLIN },
	};
	if (egress) {
		int r = tr_rx_wait_fds(dp->s, pfd, 3, timeout_ms);
		if (r < 0)
			return r;
		dp->bell_woke = r;
		/* The session ready and no socket: maybe unpolled (the ring had
		 * packets already), maybe idle. After a run of these, look. */
		if (!r || pfd[0].revents | pfd[1].revents | pfd[2].revents) {
			dp->sock_skips = 0;
		} else if (++dp->sock_skips >= SOCK_SKIPS_MAX) {
			dp->sock_skips = 0;
			(void)poll(pfd, 3, 0); /* on failure revents stay 0 */
		}
	} else if (poll(pfd, 3, timeout_ms) <= 0) {
		return 0;
	}
	if (pfd[0].revents)
		drain_evt(dp->rx_wake);
	if (pfd[1].revents & (POLLIN | POLLERR))
		rx_dtls(dp, d);
	if (pfd[2].revents & (POLLIN | POLLERR | POLLHUP))
		rx_cstp(dp, c);
	return 0;
}

static void *rx_main(void *arg)
{
	struct tr_ac_dp *dp = arg;

	while (!LOAD(dp->stop)) {
		tr_add_seq(&dp->rx_qs, 1);
		struct chan *d = tr_load_seq(&dp->ch[TR_AC_CHAN_DTLS]);
		struct chan *c = tr_load_seq(&dp->ch[TR_AC_CHAN_CSTP]);
		if (c && c->pending)
			rx_cstp(dp, c);
		wait_and_receive(dp, d, c, false, 1000);
	}
	return NULL;
}

/* Both directions in one thread (tr_ac_dp_cfg.threads = 1), as OpenConnect
 * runs: one poll over the sockets and the egress ring's doorbell, so a
 * burst of data one way and its ACKs the other way cost one wake-up, not
 * two. Fewer context switches where cores are few. */
static void *one_main(void *arg)
{
	struct tr_ac_dp *dp = arg;

	while (!LOAD(dp->stop)) {
		pass_tx(dp);
		tr_add_seq(&dp->rx_qs, 1);
		struct chan *d = tr_load_seq(&dp->ch[TR_AC_CHAN_DTLS]);
		struct chan *c = tr_load_seq(&dp->ch[TR_AC_CHAN_CSTP]);
		if (c && c->pending)
			rx_cstp(dp, c);
		if (LOAD(dp->out_pending))
			send_queued(dp);
		/* Inline, an empty egress ring costs a read of the device (a
		 * system call) to find out: look only when the last poll said
		 * it has packets, or the last burst was whole (more may wait).
		 * A download's loop came round for its socket each time and
		 * read the TUN device in vain: 120,000 empty reads in 3 s. */
		int n = 0;
		if (!dp->inline_io || dp->bell_woke || dp->tx_more)
			n = tx_round(dp);
		if (n < 0) {
			dp_log(dp, TR_AC_LOG_ERR, "egress ring: %s", tr_strerror(n));
			break;
		}
		dp->tx_more = n == BURST;
		dp->bell_woke = 0;
		/* n = 0 armed the doorbell (inline: the wait polls the device
		 * itself): it may sleep. Else only look. */
		n = wait_and_receive(dp, d, c, true, n ? 0 : 1000);
		if (n < 0) {
			dp_log(dp, TR_AC_LOG_ERR, "egress ring: %s", tr_strerror(n));
			break;
		}
	}
	return NULL;
}

/* --- control thread -------------------------------------------------------- */

static void chan_free(struct chan *ch)
{
	if (!ch)
		return;
	if (ch->fd >= 0)
		close(ch->fd);
	tr_ac_aead_free(&ch->tx);
	tr_ac_aead_free(&ch->drx);
	if (ch->crx) {
		tr_ac_cstp_rx_free(ch->crx);
		free(ch->crx);
	}
	free(ch->pending);
	free(ch);
}

/* Waits until no data thread can still use old, just unpublished: the rx
 * thread has been round its loop once since (it never blocks holding a
 * channel), and the tx thread too, or it holds another channel now. */
static void quiesce(struct tr_ac_dp *dp, struct chan *old)
{
	uint64_t t0 = tr_load_seq(&dp->tx_qs);
	uint64_t r0 = tr_load_seq(&dp->rx_qs);
	bool tx_done = false, rx_done = false;

	if (dp->threads < dp->mode || !old)
		return;
	for (int i = 0; !LOAD(dp->stop); i++) {
		tx_done = tx_done || tr_load_seq(&dp->tx_qs) != t0 ||
			  tr_load_seq(&dp->tx_hold) != old;
		rx_done = rx_done || tr_load_seq(&dp->rx_qs) != r0;
		if (tx_done && rx_done)
			return;
		if (i % 64 == 0)
			wake_threads(dp);
		usleep(50);
	}
}

/* Puts ch in place of the channel of its kind (NULL: none); frees the old. */
static void swap_chan(struct tr_ac_dp *dp, unsigned kind, struct chan *ch)
{
	struct chan *old = tr_xchg(&dp->ch[kind], ch);

	STORE(dp->last_rx[kind], 0);
	STORE(dp->last_tx[kind], 0);
	wake_threads(dp);
	quiesce(dp, old);
	chan_free(old);
}

static struct chan *chan_new(int fd, unsigned kind)
{
	struct chan *ch = calloc(1, sizeof(*ch));

	if (ch) {
		ch->fd = fd;
		ch->kind = (uint8_t)kind;
	}
	return ch;
}

/* UDP_SEGMENT = 0 is a no-op only a kernel with UDP GSO (4.18) accepts. The
 * largest segmented message: the IP length field less the IP and UDP headers
 * (IPv6's payload length leaves its own header out). */
static void probe_gso(struct chan *ch)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int zero = 0;

	ch->gso = !getenv("TUNROOM_TEST_NO_GSO") &&
		  !setsockopt(ch->fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) &&
		  !getsockname(ch->fd, (struct sockaddr *)&ss, &len);
	ch->gso_max = ch->gso && ss.ss_family == AF_INET6 ? 65535u - 8u : 65535u - 20u - 8u;
}

/* What the records of a new channel are sealed with (cfg.crypto_openssl). */
static unsigned aead_flags(const struct tr_ac_dp *dp)
{
	return dp->cfg.crypto_openssl ? TR_AC_AEAD_F_OPENSSL : 0;
}

int tr_ac_dp_set_dtls(struct tr_ac_dp *dp, int udp_fd, const struct tr_ac_rec_keys *tx,
		      const struct tr_ac_rec_keys *rx)
{
	struct chan *ch;
	int err;

	if (!dp || udp_fd < 0 || !tx || !rx || tx->version != TR_AC_VERSION_DTLS12 ||
	    rx->version != TR_AC_VERSION_DTLS12) {
		if (udp_fd >= 0)
			close(udp_fd);
		return -EINVAL;
	}
	ch = chan_new(udp_fd, TR_AC_CHAN_DTLS);
	if (!ch) {
		close(udp_fd);
		return -ENOMEM;
	}
	err = tr_ac_aead_init(&ch->tx, tx, true, aead_flags(dp));
	if (!err)
		err = tr_ac_aead_init(&ch->drx, rx, false, aead_flags(dp));
	if (err) {
		chan_free(ch);
		return err;
	}
	probe_gso(ch);
	swap_chan(dp, TR_AC_CHAN_DTLS, ch);
	dp_log(dp, TR_AC_LOG_DEBUG, "DTLS channel set: epoch %u, next seq %llu",
	       (unsigned)tx->epoch, (unsigned long long)tx->seq);
	return 0;
}

int tr_ac_dp_set_cstp(struct tr_ac_dp *dp, int tcp_fd, const struct tr_ac_rec_keys *tx,
		      const struct tr_ac_rec_keys *rx, const void *pending, size_t pending_len)
{
	struct chan *ch;
	int err = -EINVAL;

	if (!dp || tcp_fd < 0 || !tx || !rx || tx->version == TR_AC_VERSION_DTLS12 ||
	    rx->version == TR_AC_VERSION_DTLS12 || (pending_len && !pending))
		goto err_fd;
	err = -E2BIG;
	if (pending_len > PENDING_MAX)
		goto err_fd;
	err = -ENOMEM;
	ch = chan_new(tcp_fd, TR_AC_CHAN_CSTP);
	if (!ch)
		goto err_fd;
	ch->crx = malloc(sizeof(*ch->crx));
	if (pending_len) {
		ch->pending = malloc(pending_len);
		if (ch->pending)
			memcpy(ch->pending, pending, pending_len);
		ch->pending_len = (uint32_t)pending_len;
	}
	if (!ch->crx || (pending_len && !ch->pending)) {
		free(ch->crx);
		ch->crx = NULL;
		chan_free(ch);
		return -ENOMEM;
	}
	err = tr_ac_aead_init(&ch->tx, tx, true, aead_flags(dp));
	if (!err)
		err = tr_ac_cstp_rx_init(ch->crx, rx, &dp->st.chan[TR_AC_CHAN_CSTP],
					 aead_flags(dp));
	if (err) {
		chan_free(ch);
		return err;
	}
	swap_chan(dp, TR_AC_CHAN_CSTP, ch);
	dp_log(dp, TR_AC_LOG_DEBUG, "CSTP channel set: TLS %s", tx->version == TR_AC_VERSION_TLS13
	       ? "1.3" : "1.2");
	return 0;
err_fd:
	close(tcp_fd);
	return err;
}

int tr_ac_dp_close(struct tr_ac_dp *dp, enum tr_ac_chan chan)
{
	if (!dp || (chan != TR_AC_CHAN_CSTP && chan != TR_AC_CHAN_DTLS))
		return -EINVAL;
	if (!tr_load_acquire(&dp->ch[chan]))
		return -ENOTCONN;
	if (LOAD(dp->use) == (int)chan)
		STORE(dp->use, TR_AC_CHAN_NONE);
	swap_chan(dp, chan, NULL);
	return 0;
}

int tr_ac_dp_use(struct tr_ac_dp *dp, enum tr_ac_chan chan)
{
	if (!dp || (chan != TR_AC_CHAN_CSTP && chan != TR_AC_CHAN_DTLS && chan != TR_AC_CHAN_NONE))
		return -EINVAL;
	if (chan != TR_AC_CHAN_NONE && !tr_load_acquire(&dp->ch[chan]))
		return -ENOTCONN;
	STORE(dp->use, (int)chan);
	return 0;
}

int tr_ac_dp_send_ctl(struct tr_ac_dp *dp, enum tr_ac_chan chan, uint8_t type,
		      const void *payload, size_t n)
{
	if (!dp || (chan != TR_AC_CHAN_CSTP && chan != TR_AC_CHAN_DTLS) || (n && !payload) ||
	    type == TR_AC_DATA)
		return -EINVAL;
	if (n > TR_AC_CTL_MAX)
		return -EMSGSIZE;
	if (!tr_load_acquire(&dp->ch[chan]))
		return -ENOTCONN;
	return queue_out(dp, chan, type, payload, n);
}

int tr_ac_dp_flush(struct tr_ac_dp *dp, int timeout_ms)
{
	if (!dp)
		return -EINVAL;
	for (int waited = 0;; waited++) {
		pthread_mutex_lock(&dp->mu);
		bool done = dp->out_done == dp->out_queued;
		pthread_mutex_unlock(&dp->mu);
		if (done)
			return 0;
		if (waited >= timeout_ms || LOAD(dp->stop))
			return -ETIMEDOUT;
		usleep(1000);
	}
}

int tr_ac_dp_ctl_fd(const struct tr_ac_dp *dp)
{
	return dp ? dp->ctl_evt : -EINVAL;
}

int tr_ac_dp_read_ctl(struct tr_ac_dp *dp, struct tr_ac_ctl_msg *m)
{
	int got = 0;

	if (!dp || !m)
		return -EINVAL;
	pthread_mutex_lock(&dp->mu);
	if (dp->in_n) {
		*m = dp->inq[dp->in_head];
		dp->in_head = (dp->in_head + 1) % INQ;
		dp->in_n--;
		got = 1;
	} else {
		/* Drained under the lock the producers write it under: no
		 * message can slip in between and go unsignalled. */
		uint64_t v;
		if (read(dp->ctl_evt, &v, sizeof(v)) < 0) {
			/* nothing to drain */
		}
	}
	pthread_mutex_unlock(&dp->mu);
	return got;
}

static int ts_of(uint64_t ns, struct timespec *ts)
{
	if (!ns)
		return -ENOENT;
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
	return 0;
}

int tr_ac_dp_last_rx(const struct tr_ac_dp *dp, enum tr_ac_chan chan, struct timespec *ts)
{
	if (!dp || !ts || (chan != TR_AC_CHAN_CSTP && chan != TR_AC_CHAN_DTLS))
		return -EINVAL;
	return ts_of(LOAD(dp->last_rx[chan]), ts);
}

int tr_ac_dp_last_tx(const struct tr_ac_dp *dp, enum tr_ac_chan chan, struct timespec *ts)
{
	if (!dp || !ts || (chan != TR_AC_CHAN_CSTP && chan != TR_AC_CHAN_DTLS))
		return -EINVAL;
	return ts_of(LOAD(dp->last_tx[chan]), ts);
}

void tr_ac_dp_stats(const struct tr_ac_dp *dp, struct tr_ac_dp_stats *out)
{
	const uint64_t *src;
	uint64_t *dst;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!dp)
		return;
	/* All uint64_t, each with one writer: copy word by word, relaxed. */
	src = (const uint64_t *)&dp->st;
	dst = (uint64_t *)out;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = tr_load_once(&src[i]);
}

#define CH(f) { #f, offsetof(struct tr_ac_chan_stats, f) }
static const struct { const char *name; size_t off; } chan_fields[] = {
	CH(tx_records), CH(tx_bytes), CH(tx_data), CH(tx_ctl), CH(tx_err_send), CH(tx_syscalls),
	CH(tx_gso_sends),
	CH(rx_records), CH(rx_bytes), CH(rx_data), CH(rx_ctl), CH(rx_syscalls),
	CH(rx_drop_short), CH(rx_drop_header), CH(rx_drop_epoch), CH(rx_drop_replay),
	CH(rx_err_auth), CH(rx_drop_type), CH(rx_drop_trunc), CH(rx_copied_bytes),
};
#define DP(f) { #f, offsetof(struct tr_ac_dp_stats, f) }
static const struct { const char *name; size_t off; } dp_fields[] = {
	DP(tx_drop_no_chan), DP(tx_drop_too_big), DP(tx_copied_bytes), DP(rx_drop_ring_full),
	DP(rx_drop_ctl_full), DP(dpd_answered),
};

void tr_ac_dp_stats_each(const struct tr_ac_dp *dp,
			 void (*put)(void *arg, const char *name, uint64_t value), void *arg)
{
	static const char *const prefix[2] = { "cstp_", "dtls_" };
	struct tr_ac_dp_stats st;
	char name[64];

	_Static_assert(sizeof(chan_fields) / sizeof(chan_fields[0]) ==
		       sizeof(struct tr_ac_chan_stats) / sizeof(uint64_t), "every channel counter named");
	_Static_assert(sizeof(dp_fields) / sizeof(dp_fields[0]) ==
		       (sizeof(struct tr_ac_dp_stats) - sizeof(st.chan)) / sizeof(uint64_t),
		       "every data plane counter named");
	if (!put)
		return;
	tr_ac_dp_stats(dp, &st);
	for (unsigned c = 0; c < 2; c++)
		for (size_t i = 0; i < sizeof(chan_fields) / sizeof(chan_fields[0]); i++) {
			snprintf(name, sizeof(name), "%s%s", prefix[c], chan_fields[i].name);
			put(arg, name, *(const uint64_t *)((const uint8_t *)&st.chan[c] +
							   chan_fields[i].off));
		}
	for (size_t i = 0; i < sizeof(dp_fields) / sizeof(dp_fields[0]); i++) {
		snprintf(name, sizeof(name), "ac_%s", dp_fields[i].name);
		put(arg, name, *(const uint64_t *)((const uint8_t *)&st + dp_fields[i].off));
	}
}

bool tr_ac_dp_inline(const struct tr_ac_dp *dp)
{
	return dp && dp->inline_io;
}

unsigned tr_ac_dp_threads(const struct tr_ac_dp *dp)
{
	return dp ? (unsigned)dp->mode : 0;
}

const char *tr_ac_dp_crypto(const struct tr_ac_dp *dp)
{
	int c = dp ? LOAD(dp->use) : TR_AC_CHAN_NONE;
	const struct chan *ch;

	if (c != TR_AC_CHAN_CSTP && c != TR_AC_CHAN_DTLS)
		return "none";
	ch = tr_load_acquire(&dp->ch[c]);
	return ch ? tr_ac_aead_impl(&ch->tx) : "none";
}

struct tr_session *tr_ac_dp_session(const struct tr_ac_dp *dp)
{
	return dp ? dp->s : NULL;
}

int tr_ac_dp_new(struct tr_ac_dp **out, const struct tr_ac_dp_cfg *cfg)
{
	struct tr_ac_dp *dp;
	int err;

	if (!out || !cfg || !cfg->dev || cfg->mtu < 68 || cfg->mtu > 16384 - TR_CSTP_HDR_LEN ||
	    cfg->threads > 2)
		return -EINVAL;
	*out = NULL;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->cfg = *cfg;
	dp->use = TR_AC_CHAN_NONE;
	dp->rx_wake = dp->tx_wake = dp->ctl_evt = -1;
	pthread_mutex_init(&dp->mu, NULL);
	/* The server may send up to its own MTU (and DPD probes one byte
	 * over it), which can exceed ours. */
	dp->rx_plain_max = (cfg->mtu > 1500 ? cfg->mtu : 1500) + 64;
	dp->rx_want = 8;
	dp->tx_more = 1; /* the first pass looks */
	struct tr_session_config sc = {
		.capacity = cfg->ring_capacity,
		.head_room = TR_AC_DP_HEAD_ROOM,
		.tail_room = TR_AC_DP_TAIL_ROOM,
		.max_packet = CSTP_SLOT > dp->rx_plain_max ? CSTP_SLOT : dp->rx_plain_max,
	};
	/* Run to completion where the device offers it: our threads read
	 * and write the TUN device inside receive and commit, so a batch
	 * costs no hand-off to the engine thread and no wake-up back. */
	if (!cfg->engine_thread) {
		sc.flags = TR_SESSION_F_INLINE;
		err = tr_session_open(&dp->s, cfg->dev, &sc);
		dp->inline_io = !err;
		if (err == -EOPNOTSUPP) {
			sc.flags = 0;
			err = tr_session_open(&dp->s, cfg->dev, &sc);
		}
	} else {
		err = tr_session_open(&dp->s, cfg->dev, &sc);
	}
	if (err)
		goto fail;
	dp->mode = cfg->threads ? (int)cfg->threads : sysconf(_SC_NPROCESSORS_ONLN) < 4 ? 1 : 2;
	dp->rx_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dp->tx_wake = dp->mode == 1 ? dp->rx_wake : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dp->ctl_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dp->rx_wake < 0 || dp->tx_wake < 0 || dp->ctl_evt < 0) {
		err = -errno;
		goto fail;
	}
	err = -pthread_create(&dp->tx_thr, NULL, dp->mode == 1 ? one_main : tx_main, dp);
	if (err)
		goto fail;
	dp->threads = 1;
	if (dp->mode == 2) {
		err = -pthread_create(&dp->rx_thr, NULL, rx_main, dp);
		if (err)
			goto fail;
		dp->threads = 2;
	}
	*out = dp;
	return 0;
fail:
	tr_ac_dp_free(dp);
	return err;
}

void tr_ac_dp_free(struct tr_ac_dp *dp)
{
	if (!dp)
		return;
	tr_store_seq(&dp->stop, 1);
	if (dp->threads >= 1) {
		wake_threads(dp);
		pthread_join(dp->tx_thr, NULL);
	}
	if (dp->threads >= 2)
		pthread_join(dp->rx_thr, NULL);
	chan_free(dp->ch[TR_AC_CHAN_DTLS]);
	chan_free(dp->ch[TR_AC_CHAN_CSTP]);
	if (dp->cur_open)
		tr_tx_abandon(dp->s, &dp->cur);
	tr_session_close(dp->s);
	if (dp->tx_wake >= 0 && dp->tx_wake != dp->rx_wake)
		close(dp->tx_wake);
	if (dp->rx_wake >= 0)
		close(dp->rx_wake);
	if (dp->ctl_evt >= 0)
		close(dp->ctl_evt);
	pthread_mutex_destroy(&dp->mu);
	free(dp);
}
