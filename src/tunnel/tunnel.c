/* SPDX-License-Identifier: MIT */
/*
 * The ESP-over-UDP tunnel: brings up the TUN device, its session (with the
 * head and tail room the cipher needs), the two SAs, the UDP socket and the
 * control socket; runs the egress (tx.c) and ingress (rx.c) threads, one per
 * core, while this thread serves the control socket and signals; then tears
 * everything down in reverse order.
 *
 * Threads: tx: egress ring -> encap -> sendmmsg. rx: recvmmsg -> decap ->
 * ingress ring. The TUN engine runs a third thread per session (src/engine/).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config/config.h"
#include "common/privdrop.h"
#include "common/tunfence.h"
#include "ctl/client.h"
#include "ctl/server.h"
#include "engine/netlink.h"
#include "tunnel/dataplane.h"
#include "tunnel/work.h"
#include "tunnel/run.h"
#include "tunnel/filter.h"
#include "tunnel/queues.h"
#include "tunnel/route.h"
#include "tunnel/tunnel.h"
#include "tunnel/upkeep.h"
#include "tunroom/tun.h"



void tr_tunnel_request_stop(struct tr_tunnel *t, int err)
{
	struct tr_tunnel *first = t->all ? t->all : t;
	unsigned n = t->all ? t->n_all : 1;
	int zero = 0;

	/* The first error of any queue is the tunnel's, kept in queue 0. */
	if (err)
		__atomic_compare_exchange_n(&first->error, &zero, err, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < n; i++)
		__atomic_store_n(&first[i].stop, 1, __ATOMIC_SEQ_CST);
	uint64_t one = 1;
	if (write(t->stop_evt, &one, sizeof(one)) < 0) {
		/* saturated: a stop is pending already */
	}
	/* Wake every egress thread out of tr_rx_wait as well. */
	for (unsigned i = 0; i < n; i++)
		if (first[i].s)
			tr_session_wake(first[i].s);
}

static int ctl_stop(void *arg)
{
	struct run *run = arg;

	/* Said like a signal is, so a log shows why the tunnel ended. */
	fprintf(stderr, "tunroom: %s: tunroom down, stopping\n", run->cfg->name);
	tr_tunnel_request_stop(&run->t[0], 0);
	return 0;
}

static const struct tr_ctl_ops ctl_ops = { .get = tr_tunnel_ctl_get, .stop = ctl_stop };

/* The engine reports what it turns off on its own through this. */
static void device_log(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "tunroom: %s\n", line);
}

/* A tunnel of this name that answers on its control socket runs: waiting
 * for its device would be pointless. */
static bool name_answers(const struct run *run)
{
	int fd = tr_ctl_connect(run->run_dir, run->cfg->name);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* With Offload, one TSO read should leave as one UDP GSO send. A
 * super-packet of more segments than one send carries (65507 bytes of ESP
 * datagrams, at most TR_UDP_GSO_SEGS_MAX of them) goes out as a full send
 * and a short one (47 segments at MTU 1400: 45 + 2), and the peer receives
 * and writes the short one as a batch of its own: a third of the UDP sends,
 * receives and TUN writes were such tails. So the device's TSO limit is what
 * one send takes (45 at MTU 1400 with AES-GCM; docs/benchmarks.md, "TSO
 * super-packets sized to one UDP send"). TCP connections opened later follow
 * it. A kernel that refuses only costs the tails. */
static void fit_tso_to_gso(const struct run *run)
{
	const struct tr_config *cfg = run->cfg;
	uint32_t dgram = cfg->mtu + tr_esp_head_room(cfg->cipher) + tr_esp_tail_room(cfg->cipher);
	uint32_t segs = (65535u - 20u - 8u) / dgram; /* IPv4's limit, the smaller */
	struct tr_nl *nl;
	int err;

	if (!cfg->offload || !segs)
		return;
	if (segs > TR_UDP_GSO_SEGS_MAX)
		segs = TR_UDP_GSO_SEGS_MAX;
	err = tr_nl_open(&nl);
	if (!err) {
		err = tr_nl_link_set_gso_max_segs(nl, tr_tundev_ifindex(run->dev), segs);
		tr_nl_close(nl);
	}
	if (err)
		fprintf(stderr, "tunroom: %s: TSO limit of %u segments not set (%s): a TUN read "
			"may take two UDP sends\n", cfg->name, segs, strerror(-err));
}

static int open_device(struct run *run)
{
	const struct tr_config *cfg = run->cfg;
	struct tr_device **dev = &run->dev;
	char addr_buf[TR_CONFIG_ADDR_MAX][INET6_ADDRSTRLEN + 8];
	const char *addrs[TR_CONFIG_ADDR_MAX];

	for (unsigned i = 0; i < cfg->n_addr; i++) {
		char ip[INET6_ADDRSTRLEN];
		const struct tr_config_addr *a = &cfg->addr[i];

		inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->v4 : (const void *)&a->v6,
			  ip, sizeof(ip));
		snprintf(addr_buf[i], sizeof(addr_buf[i]), "%s/%u", ip, a->prefix);
		addrs[i] = addr_buf[i];
	}
	struct tr_tundev_config dc = {
		.name = cfg->name, .mtu = cfg->mtu, .addresses = addrs,
		.n_addresses = cfg->n_addr, .queues = run->nq,
		/* Every packet the tunnel commits was authenticated by ESP. */
		.flags = (cfg->offload ? TR_TUNDEV_F_OFFLOAD : 0) |
			 (cfg->csum_full ? 0 : TR_TUNDEV_F_TRUST_CSUM),
		.log = device_log,
	};
	if (cfg->plain_io)
		dc.flags |= TR_TUNDEV_F_PLAIN_IO;
	/* Without TUN offload in the kernel the engine falls back to one
	 * packet per read itself and says so; the UDP side still batches. */
	int err = tr_tundev_open(dev, &dc);
	/* A tunnel killed a moment ago (SIGKILL, then restarted by a service
	 * manager) may hold the device a little longer: the kernel releases an
	 * io_uring's files asynchronously after the process is gone. A
	 * single-queue device says -EBUSY then, a multi-queue one (whose other
	 * queues still hang on) -EEXIST. */
	for (int i = 0; (err == -EBUSY || err == -EEXIST) && !name_answers(run) && i < 60; i++) {
		if (i == 0)
			fprintf(stderr, "tunroom: TUN device %s: still held (by a tunnel that just "
				"stopped?); waiting up to 3 s\n", cfg->name);
		usleep(50 * 1000);
		err = tr_tundev_open(dev, &dc);
	}
	if (err == -EPERM)
		fprintf(stderr, "tunroom: TUN device %s: creating it needs root or CAP_NET_ADMIN: "
			"run tunroom up as root (it gives root up once the device is set up)\n",
			cfg->name);
	else if (err == -EACCES)
		fprintf(stderr, "tunroom: TUN device %s: /dev/net/tun: permission denied: run tunroom up "
			"as root, or with CAP_DAC_OVERRIDE as well as CAP_NET_ADMIN\n", cfg->name);
	else if ((err == -EBUSY || err == -EEXIST) && name_answers(run))
		fprintf(stderr, "tunroom: %s is already running ('tunroom show %s'; 'tunroom down "
			"%s' stops it)\n", cfg->name, cfg->name, cfg->name);
	else if (err)
		fprintf(stderr, "tunroom: TUN device %s: %s\n", cfg->name, tr_tundev_strerror(err));
	return err;
}

/* Queue q's workers: a tx and an rx thread, or with Workers = 1 one
 * thread for both (solo.c). Returns 0 or -errno; on failure nothing of
 * queue q runs. */
static int start_workers(struct run *run, unsigned q, pthread_t *tx, pthread_t *rx)
{
	struct tr_tunnel *x = &run->t[q];
	int err;

	if (run->cfg->workers == 1)
		return -pthread_create(tx, NULL, tr_tunnel_solo_main, x);
	err = -pthread_create(tx, NULL, tr_tunnel_tx_main, x);
	if (err)
		return err;
	err = -pthread_create(rx, NULL, tr_tunnel_rx_main, x);
	if (err) {
		tr_tunnel_request_stop(x, 0);
		pthread_join(*tx, NULL);
	}
	return err;
}

/* After tr_tunnel_request_stop: waits for queue q's workers. */
static void join_workers(struct run *run, pthread_t tx, pthread_t rx)
{
	pthread_join(tx, NULL);
	if (run->cfg->workers != 1)
		pthread_join(rx, NULL);
}

static int open_session(struct tr_tunnel *t, const struct tr_config *cfg, struct tr_device *dev)
{
	uint32_t head = tr_esp_head_room(cfg->cipher), tail = tr_esp_tail_room(cfg->cipher);
	/* An ingress slot takes a whole ESP datagram (inner packet plus what
	 * encapsulation adds); egress slots get the same room around the MTU. */
	t->dgram_max = cfg->mtu + head + tail;
	struct tr_session_config sc = {
		.capacity = cfg->ring_capacity, .head_room = head, .tail_room = tail,
		/* With Offload, a TUN read spans ~47 slots and a small packet
		 * leaves the rest empty; the device sends such a run as one
		 * void slot of at most the ring's largest slot, which follows
		 * max_packet. At dgram_max that was one void per empty slot
		 * (15 per 64-byte packet, each its own header and skip). */
		.max_packet = cfg->offload ? TR_SESSION_MAX_PACKET_DEFAULT : t->dgram_max,
		/* The tx worker reads TUN and the rx worker writes it
		 * themselves: no engine thread, no wake-up between threads. */
		.flags = cfg->inline_io ? TR_SESSION_F_INLINE : 0,
	};
	int err = tr_session_open(&t->s, dev, &sc);
	if (err)
		fprintf(stderr, "tunroom: ring session: %s\n", tr_strerror(err));
	return err;
}

/* ZeroCopy = off: the baseline's bounce buffers, one roomy packet per burst entry. */
static int open_bounce(struct tr_tunnel *t, const struct tr_config *cfg)
{
	if (cfg->zero_copy)
		return 0;
	t->bounce_size = tr_esp_head_room(cfg->cipher) + t->dgram_max + tr_esp_tail_room(cfg->cipher);
	t->bounce_tx = calloc(t->offload ? TR_TUNNEL_GSO_BURST : TR_TUNNEL_BURST, t->bounce_size);
	t->bounce_rx = calloc(TR_TUNNEL_BURST, t->bounce_size);
	return t->bounce_tx && t->bounce_rx ? 0 : -ENOMEM;
}

/* Offload = on: the receive side's first guess of the batch size, and its
 * spill buffer (never touched unless a batch misses the slots). */
static int open_gro(struct tr_tunnel *t, const struct tr_config *cfg)
{
	const char *guess = getenv("TUNROOM_TEST_GRO_GUESS");

	t->offload = cfg->offload;
	if (!cfg->offload || !cfg->zero_copy) /* the copy baseline receives without GRO */
		return 0;
	/* The ESP datagram of a full-MTU inner packet: a TCP bulk flow sends
	 * exactly this size, so GRO batches come in it. */
	t->gro.g_full = tr_esp_encap_len(cfg->cipher, cfg->mtu);
	if (t->gro.g_full > t->dgram_max)
		t->gro.g_full = t->dgram_max;
	t->gro.g = t->gro.g_full;
	/* Test only (tests/netns/tunnel-offload.sh): a wrong first guess that
	 * no peek corrects, to drive the slow path. Never set it in production. */
	if (guess) {
		unsigned long g = strtoul(guess, NULL, 10);
		if (g >= 1 && g <= t->dgram_max) {
			t->gro.g = (uint32_t)g;
			t->gro.no_peek = true;
		}
	}
	/* Virtual until a message overflows its slots: pages are touched only
	 * by the slow path. */
	t->gro.spill = malloc((size_t)TR_TUNNEL_GRO_MSGS * TR_UDP_GRO_MSG_MAX);
	return t->gro.spill ? 0 : -ENOMEM;
}

static int open_sas(struct tr_tunnel *t, const struct tr_config *cfg)
{
	struct tr_esp_sa_config sc;
	uint8_t key[TR_CONFIG_KEY_MAX], auth[TR_CONFIG_AUTH_KEY_MAX];
	int err;

	err = tr_queue_sa(cfg, t->q, false, &sc, key, auth);
	if (!err)
		err = tr_esp_sa_alloc(&t->sa_out, &sc);
	if (!err)
		err = tr_queue_sa(cfg, t->q, true, &sc, key, auth);
	if (!err)
		err = tr_esp_sa_alloc(&t->sa_in, &sc);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(auth, sizeof(auth));
	if (err)
		fprintf(stderr, "tunroom: SA of queue %u: %s\n", t->q, tr_strerror(err));
	return err;
}

/* The UDP sockets, one per queue on one port, with the mark; several are
 * steered by SPI (queues.h). */
static int open_udp(struct run *run, const struct tr_route_plan *rp)
{
	const struct tr_config *cfg = run->cfg;
	/* Unconnected: the peer's address may change (NAT, roaming); an
	 * authentic datagram from a new one moves it (rx.c). GRO lands
	 * batches in slots: the copy-path baseline keeps one datagram per
	 * receive. */
	uint32_t uflags = TR_UDP_F_ROAM | (run->nq > 1 ? TR_UDP_F_REUSEPORT : 0);
	union tr_sockaddr local = cfg->listen;
	int err = 0;

	if (cfg->offload)
		uflags |= TR_UDP_F_GSO | (cfg->zero_copy ? TR_UDP_F_GRO : 0);
	for (unsigned q = 0; q < run->nq && !err; q++) {
		struct tr_tunnel *t = &run->t[q];
		err = tr_udp_open(&t->udp, &local, &cfg->endpoint, cfg->socket_buffer, uflags);
		/* Port 0 asked: the others join the port the first one got. */
		if (!err)
			local = t->udp.local;
		/* The mark routes our own datagrams outside the tunnel (FwMark,
		 * or the policy routing of a default route). Needs CAP_NET_ADMIN: now. */
		if (!err && rp->mark &&
		    setsockopt(t->udp.fd, SOL_SOCKET, SO_MARK, &rp->mark, sizeof(rp->mark)) < 0) {
			err = -errno;
			fprintf(stderr, "tunroom: %s: FwMark %u on the UDP socket: %s\n", cfg->name,
				rp->mark, strerror(-err));
			return err;
		}
	}
	if (!err && run->nq > 1 && (err = tr_queue_steer(run->t[0].udp.fd, cfg->in.spi, run->nq)))
		fprintf(stderr, "tunroom: %s: steering datagrams to %u queues by SPI: %s\n", cfg->name,
			run->nq, strerror(-err));
	else if (err) {
		char buf[64];
		fprintf(stderr, "tunroom: UDP socket on %s: %s\n",
			tr_sockaddr_str(&cfg->listen, buf, sizeof(buf)),
			err == -EADDRINUSE ? "address in use: another tunnel or program holds "
			"that port (ListenAddress, ListenPort)" :
			err == -EADDRNOTAVAIL ? "not an address of this host: ListenAddress must "
			"be one of 'ip address' here, or left out for all" : strerror(-err));
	}
	return err;
}

/* This thread, until stop: signals, control requests, the hints above,
 * and the upkeep (upkeep.c): each turn says when the next is due, and the
 * workers poke upkeep_evt for anything sooner. */
static void serve(struct run *run, int sigfd, struct tr_ctl *ctl)
{
	struct tr_tunnel *t = &run->t[0];
	struct tr_hints h = { 0 };
	int wait = 0;

	while (!__atomic_load_n(&t->stop, __ATOMIC_SEQ_CST)) {
		struct pollfd pfd[4] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = t->stop_evt, .events = POLLIN },
			{ .fd = tr_ctl_fd(ctl), .events = POLLIN },
			{ .fd = t->upkeep_evt, .events = POLLIN },
		};
		if (poll(pfd, 4, wait) < 0 && errno != EINTR)
			break;
		if (pfd[3].revents & POLLIN) {
			uint64_t v;
			if (read(t->upkeep_evt, &v, sizeof(v)) < 0) {
				/* drained by another turn */
			}
		}
		wait = tr_upkeep_run(&run->up, run->t, run->nq);
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				/* What a service manager's reload sends: nothing here
				 * changes without a restart (keys, addresses and
				 * routes are fixed at setup), and stopping would
				 * turn a reload into an outage. */
				fprintf(stderr, "tunroom: %s: SIGHUP: nothing to reload; the tunnel "
					"keeps running (restart it to apply a changed file)\n",
					run->cfg->name);
				continue;
			}
			fprintf(stderr, "tunroom: %s: signal %u, stopping\n", run->cfg->name,
				si.ssi_signo);
			tr_tunnel_request_stop(t, 0);
		}
		if (pfd[2].revents & POLLIN)
			tr_ctl_accept(ctl);
		tr_tunnel_hint(run, &h);
	}
}

/* Gives up what only setup needed, while this is the only thread (the
 * per-thread parts of the drop are inherited by every thread made later):
 * to cfg->user, or, without User, to uid 0 with no capabilities. */
static int drop_privileges(const struct tr_config *cfg, const struct tr_privdrop_user *u)
{
	const char *step = NULL;
	int err;

	if (cfg->user[0]) {
		err = tr_privdrop_to(u, &step);
		if (!err)
			fprintf(stderr, "tunroom: %s: running as %s (uid %u gid %u) from here on\n",
				cfg->name, cfg->user, (unsigned)u->uid, (unsigned)u->gid);
	} else {
		err = tr_privdrop_caps(&step);
		if (!err && getuid() == 0)
			fprintf(stderr, "tunroom: %s: keeps running as root, without capabilities; "
				"set User = NAME in [Interface] to run as NAME\n", cfg->name);
		else if (!err)
			fprintf(stderr, "tunroom: %s: keeps running as uid %u, without capabilities\n",
				cfg->name, (unsigned)getuid());
	}
	/* What the TUN descriptor still allows without a privilege, but would
	 * outlive this process (a persistent device open to any user), goes
	 * too: src/common/tunfence.h. */
	if (!err && (err = tr_tunfence()))
		step = "seccomp filter for the TUN ioctls";
	if (err)
		fprintf(stderr, "tunroom: %s: giving up privileges: %s: %s\n", cfg->name, step,
			strerror(-err));
	return err;
}

int tr_tunnel_run(const struct tr_config *cfg, const struct tr_tunnel_opts *opts)
{
	/* Large (a few KiB per queue): static storage would do, but the tunnel
	 * runs once per process anyway and the stack has room. */
	struct run *run = calloc(1, sizeof(*run));
	struct tr_tunnel *t;
	struct tr_ctl *ctl = NULL;
	pthread_t tx[TR_CONFIG_QUEUES_MAX], rx[TR_CONFIG_QUEUES_MAX];
	unsigned started = 0;
	sigset_t mask, old;
	int err, sigfd = -1;

	if (!run)
		return -ENOMEM;
	run->cfg = cfg;
	run->started = time(NULL);
	run->run_dir = opts ? opts->run_dir : NULL;
	run->nq = cfg->queues >= 1 && cfg->queues <= TR_CONFIG_QUEUES_MAX ? cfg->queues : 1;
	t = &run->t[0];
	t->stop_evt = -1;
	t->upkeep_evt = -1;
	for (unsigned q = 0; q < run->nq; q++) {
		run->t[q].q = q;
		run->t[q].all = run->t;
		run->t[q].n_all = run->nq;
		run->t[q].udp.fd = -1;
	}
	run->up.st.fd = -1;
	/* The caller looked the user up (and said why, if it could not). */
	const struct tr_privdrop_user *user = opts ? opts->user : NULL;
	if (cfg->user[0] && (!user || user->uid == 0)) {
		free(run);
		return -EINVAL;
	}
	/* Block the stop signals before any thread exists, so that only this
	 * thread takes them, through the signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	t->stop_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->upkeep_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sigfd < 0 || t->stop_evt < 0 || t->upkeep_evt < 0) {
		err = -errno;
		goto err_fds;
	}
	for (unsigned q = 1; q < run->nq; q++) {
		run->t[q].stop_evt = t->stop_evt;
		run->t[q].upkeep_evt = t->upkeep_evt;
	}
	/* First what needs root (CAP_NET_ADMIN for the device and its link,
	 * perhaps CAP_NET_BIND_SERVICE and SO_*BUFFORCE for the socket, the
	 * root-only run directory), then the drop, then the rest: the ring
	 * sessions (their TUN threads and io_urings), the SAs and the threads
	 * that read from the network. No byte from either side is read before. */
	err = open_device(run);
	if (err)
		goto err_fds;
	fit_tso_to_gso(run);
	struct tr_route_plan rp;
	tr_route_plan(cfg, &rp);
	err = open_udp(run, &rp);
	if (err)
		goto err_teardown;
	err = tr_ctl_open(&ctl, opts ? opts->run_dir : NULL, cfg->name, &ctl_ops, run);
	if (err) {
		fprintf(stderr, "tunroom: control socket for %s: %s\n", cfg->name,
			err == -EADDRINUSE ? "a tunnel of that name runs already on this host "
			"(control sockets are per host, not per network namespace: give each "
			"tunnel its own Name)" : strerror(-err));
		goto err_teardown;
	}
	if (opts && opts->named)
		opts->named(opts->named_arg, cfg->name);
	/* The state directory is root's: the file is opened now and kept. */
	err = tr_upkeep_open(&run->up, cfg, opts && opts->state_dir ? opts->state_dir
								    : TR_STATE_DIR_DEFAULT);
	if (!err)
		err = tr_route_apply(cfg, &rp, tr_tundev_name(run->dev), run->up.st.fd);
	if (err)
		goto err_teardown;
	err = drop_privileges(cfg, user);
	if (err)
		goto err_teardown;
	for (unsigned q = 0; q < run->nq && !err; q++) {
		struct tr_tunnel *x = &run->t[q];
		err = open_session(x, cfg, run->dev);
		if (!err)
			err = open_sas(x, cfg);
		if (!err)
			err = open_gro(x, cfg);
		if (!err)
			err = open_bounce(x, cfg);
		if (!err) {
			tr_filter_setup(x, cfg, q == 0);
			/* One queue keeps the peer's view of us alive. */
			x->keepalive = q == 0 ? cfg->keepalive : 0;
		}
	}
	if (!err)
		err = tr_upkeep_start(&run->up, run->t, run->nq);
	if (err)
		goto err_teardown;
	for (started = 0; started < run->nq; started++) {
		err = start_workers(run, started, &tx[started], &rx[started]);
		if (err)
			break;
	}
	if (err) {
		tr_tunnel_request_stop(t, 0);
		for (unsigned q = 0; q < started; q++)
			join_workers(run, tx[q], rx[q]);
		goto err_teardown;
	}
	fprintf(stderr, "tunroom: %s up: esp %s, %s io, mtu %u%s\n", tr_tundev_name(run->dev),
		tr_esp_cipher_name(cfg->cipher), tr_tundev_io_backend(run->dev), cfg->mtu,
		run->nq > 1 ? ", multi-queue" : "");
	if (run->nq > 1)
		fprintf(stderr, "tunroom: %s: %u queues, SPIs 0x%08x.. out and 0x%08x.. in, one UDP "
			"socket and %s each\n", cfg->name, run->nq, cfg->out.spi, cfg->in.spi,
			cfg->workers == 1 ? "one worker thread" : "a thread pair");
	if (cfg->offload && !(t->udp.flags & TR_UDP_F_GSO))
		fprintf(stderr, "tunroom: UDP GSO not available: one datagram per message\n");
	if (cfg->offload && cfg->zero_copy && !(t->udp.flags & TR_UDP_F_GRO))
		fprintf(stderr, "tunroom: UDP GRO not available: one datagram per receive\n");
	if (opts && opts->ready)
		opts->ready(opts->ready_arg);

	serve(run, sigfd, ctl);

	/* Teardown: mark dead (stop), drain (join the workers), free. */
	tr_tunnel_request_stop(t, 0);
	for (unsigned q = 0; q < run->nq; q++)
		join_workers(run, tx[q], rx[q]);
	err = t->error;
	for (unsigned q = 0; q < run->nq; q++)
		if (err == -EPIPE && tr_session_error(run->t[q].s))
			err = tr_session_error(run->t[q].s); /* the device side's reason */
	/* The engine reports a vanished link as -EIO, like any dead queue; say
	 * what happened when the device is gone from outside (ip link del). */
	if (err && !if_nametoindex(tr_tundev_name(run->dev))) {
		fprintf(stderr, "tunroom: %s stopped: the TUN device was deleted under the running "
				"tunnel\n", cfg->name);
		err = -ENODEV;
	} else if (err) {
		fprintf(stderr, "tunroom: %s stopped: %s\n", cfg->name, tr_strerror(err));
	}
	/* Everything below works without privileges: closing descriptors. The
	 * device goes with its last TUN descriptor (it is not persistent). */
err_teardown:
	for (unsigned q = 0; q < run->nq; q++) {
		struct tr_tunnel *x = &run->t[q];
		tr_udp_close(&x->udp);
		free(x->bounce_tx);
		free(x->bounce_rx);
		free(x->gro.spill);
		tr_esp_sa_free(x->sa_in);
		tr_esp_sa_free(x->sa_out);
		tr_session_close(x->s);
	}
	tr_device_close(run->dev);
	/* The control socket goes last, out of the reverse order: `tunroom down`
	 * returns when its file is gone and promises the device is gone by then.
	 * A client that connects meanwhile waits in the backlog and times out.
	 * After a drop to User the file stays (the run directory is root's):
	 * `tunroom down`, `show` and the next `up` remove it once nobody listens. */
	tr_ctl_close(ctl);
	tr_upkeep_stop(&run->up);
err_fds:
	if (t->stop_evt >= 0)
		close(t->stop_evt);
	if (t->upkeep_evt >= 0)
		close(t->upkeep_evt);
	if (sigfd >= 0)
		close(sigfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(run);
	return err;
}
