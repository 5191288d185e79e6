/* SPDX-License-Identifier: MIT */
/*
 * The running `tunroom connect` session, after the first CONNECT: the TUN
 * device (set up by the vpnc-script or by us), the privilege drop, the data
 * plane (dataplane.h) with CSTP handed over, then this thread's loop:
 *
 *   signals, `tunroom down` (control socket)   -> BYE over CSTP, disconnect
 *   DTLS handshake in steps                    -> DTLS carries data
 *   DPD and keepalive on both channels         -> DTLS silent: data over CSTP,
 *                                                 handshake again until it answers
 *   control packets and channel events         -> TCP gone: reconnect with
 *                                                 the cookie; server BYE: stop
 *
 * Timers follow the server's X-CSTP-DPD / X-DTLS-DPD / X-CSTP-Keepalive:
 * a DPD request when nothing came for dpd seconds; DTLS is dead after
 * 2 x dpd of silence, TCP after 2 x dpd + 5 (ocserv itself drops a client
 * whose TCP was silent for 3 x dpd).
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
#include <time.h>
#include <unistd.h>

#include "anyconnect/client_int.h"
#include "anyconnect/dataplane.h"
#include "anyconnect/dtls.h"
#include "anyconnect/script.h"
#include "common/privdrop.h"
#include "common/tunfence.h"
#include "ctl/server.h"
#include "lib/barrier.h"
#include "tunroom/tun.h"

#define DTLS_HANDSHAKE_MS 5000
#define DTLS_RETRY_MIN_S  3    /* ocserv drops a second ClientHello within 3 s */
#define DTLS_RETRY_MAX_S  10
#define RECONNECT_MS      5000 /* one reconnect attempt */
#define SCRIPT_TIMEOUT_S  30
#define BYE_FLUSH_MS      1000

enum state { ST_AUTH, ST_CSTP, ST_DTLS, ST_RECONNECTING, ST_STOPPING };
static const char *const state_name[] = { "authenticating", "cstp", "dtls", "reconnecting",
					  "stopping" };

struct sess {
	const struct tr_ac_client_opts *o;
	struct tr_ac_conn *c;          /* TLS session: kept for the PSK exporter */
	struct tr_ac_params p;
	char cookie[TR_AC_COOKIE_MAX];
	char gateway[INET6_ADDRSTRLEN];
	char server[80];               /* host:port actually used */
	struct tr_device *dev;
	struct tr_ac_dp *dp;
	struct tr_ctl *ctl;
	struct tr_ac_script_helper helper; /* root's side of the script, after the drop */
	struct tr_ac_env env_reconnect, env_disconnect;
	int stop_evt;
	enum state st;
	int stopping;                  /* the data threads read it (dp_log) */
	time_t started;
	/* DTLS */
	bool dtls_on;                  /* offered by the server and not --no-dtls */
	bool dtls_busy;                /* a handshake runs (d) */
	bool dtls_up;                  /* the data plane has a DTLS channel */
	struct tr_ac_dtls d;
	char dtls_suite[96];
	unsigned dtls_mtu;
	double dtls_next;              /* earliest next handshake (monotonic s) */
	double dtls_since;             /* when the current DTLS channel came up */
	double dtls_dpd_sent;
	char dtls_why[TR_AC_ERR_MAX + 16];            /* why DTLS is down, for show */
	/* CSTP */
	double cstp_since, cstp_dpd_sent;
	/* counters shown by `tunroom show` (docs/anyconnect.md) */
	uint64_t reconnects, dtls_handshakes, dtls_handshake_failures, dtls_fallbacks;
	uint64_t dtls_rekeys, dpd_sent_cstp, dpd_sent_dtls, keepalives_sent;
	uint64_t ctl_unknown;
	int exit_err;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds since the last record on chan that last (tr_ac_dp_last_rx: the
 * last that authenticated; tr_ac_dp_last_tx: the last sent) reports,
 * counted from when the channel came up if none since. */
static double chan_age(struct sess *s,
		       int (*last)(const struct tr_ac_dp *, enum tr_ac_chan, struct timespec *),
		       enum tr_ac_chan chan, double now)
{
	double since = chan == TR_AC_CHAN_DTLS ? s->dtls_since : s->cstp_since;
	struct timespec ts;

	if (last(s->dp, chan, &ts))
		return now - since;
	double t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	return now - (t > since ? t : since);
}

/* The data plane's lines (any thread). What it reports as information (a
 * channel went down) the control plane says itself, with what it does
 * about it: those only with -v; none once the session is stopping (the
 * server closing after our BYE is no news). */
static void dp_log(void *arg, int level, const char *msg)
{
	struct sess *s = arg;

	if (tr_load_once(&s->stopping) && level != TR_AC_LOG_ERR)
		return;
	tr_ac_say(s->o, level == TR_AC_LOG_ERR ? TR_AC_NORMAL : TR_AC_VERBOSE, "%s", msg);
}

/* ---- the control socket: `tunroom show` and `down` ---- */

static int prefix_of(const char *mask);


static void put_counter(void *arg, const char *name, uint64_t value)
{
	tr_ctl_put_u64(arg, name, value);
}

static int ctl_get(void *arg, struct tr_ctl_reply *r)
{
	struct sess *s = arg;
	char buf[160];
	double now = now_s();

	if (s->st == ST_AUTH) {
		/* Served from the login's own thread (tr_ctl_start): only what
		 * does not change while the login runs. */
		tr_ctl_put_str(r, "name", s->o->ifname);
		tr_ctl_put_str(r, "protocol", "anyconnect");
		tr_ctl_put_str(r, "state", state_name[ST_AUTH]);
		tr_ctl_put_u64(r, "pid", (uint64_t)getpid());
		tr_ctl_put_u64(r, "uptime", (uint64_t)(time(NULL) - s->started));
		tr_ctl_put_str(r, "server", s->o->server_arg);
		return 0;
	}
	tr_ctl_put_str(r, "name", tr_tundev_name(s->dev));
	tr_ctl_put_str(r, "protocol", "anyconnect");
	tr_ctl_put_str(r, "state", state_name[s->st]);
	tr_ctl_put_u64(r, "pid", (uint64_t)getpid());
	tr_ctl_put_u64(r, "uptime", (uint64_t)(time(NULL) - s->started));
	tr_ctl_put_str(r, "server", s->server);
	tr_ctl_put_str(r, "server_name", s->p.server_name[0] ? s->p.server_name : "?");
	/* ADDRESS/PREFIX, as ip(8) and the 'up' line print it. */
	snprintf(buf, sizeof(buf), "%s/%d", s->p.addr4, prefix_of(s->p.mask4));
	tr_ctl_put_str(r, "address", s->p.addr4[0] ? buf : "-");
	if (s->p.addr6[0])
		tr_ctl_put_str(r, "address6", s->p.addr6);
	tr_ctl_put_u64(r, "mtu", s->p.mtu);
	tr_ctl_put_str(r, "tls", s->c && s->c->suite[0] ? s->c->suite : "-");
	if (s->dtls_up)
		tr_ctl_put_str(r, "dtls", s->dtls_suite);
	else
		tr_ctl_put_str(r, "dtls", !s->o->dtls ? "off (--no-dtls)" : !s->p.dtls ?
			       "off (the server offers none)" : s->dtls_why[0] ? s->dtls_why : "down");
	if (s->dtls_up)
		tr_ctl_put_u64(r, "dtls_mtu", s->dtls_mtu);
	snprintf(buf, sizeof(buf), "dpd %d s, dtls dpd %d s, keepalive %d s", s->p.dpd,
		 s->p.dtls_dpd, s->p.keepalive);
	tr_ctl_put_str(r, "timers", buf);
	tr_ctl_put_u64(r, "dpd", (uint64_t)s->p.dpd);
	tr_ctl_put_u64(r, "dtls_dpd", (uint64_t)s->p.dtls_dpd);
	tr_ctl_put_u64(r, "keepalive", (uint64_t)s->p.keepalive);
	if (s->dp && s->st != ST_RECONNECTING) {
		snprintf(buf, sizeof(buf), "%.0f",
			 chan_age(s, tr_ac_dp_last_rx, TR_AC_CHAN_CSTP, now));
		tr_ctl_put_str(r, "cstp_last_rx", buf);
		if (s->dtls_up) {
			snprintf(buf, sizeof(buf), "%.0f",
				 chan_age(s, tr_ac_dp_last_rx, TR_AC_CHAN_DTLS, now));
			tr_ctl_put_str(r, "dtls_last_rx", buf);
		}
	}
	tr_ctl_put_u64(r, "head_room", TR_AC_DP_HEAD_ROOM);
	tr_ctl_put_u64(r, "tail_room", TR_AC_DP_TAIL_ROOM);
	if (s->dp)
		tr_ctl_put_str(r, "inline", tr_ac_dp_inline(s->dp) ? "on" : "off");
	if (s->dp)
		tr_ctl_put_u64(r, "data_threads", tr_ac_dp_threads(s->dp));
	if (s->dp)
		tr_ctl_put_str(r, "crypto", tr_ac_dp_crypto(s->dp));
	tr_ctl_put_u64(r, "reconnects", s->reconnects);
	tr_ctl_put_u64(r, "dtls_handshakes", s->dtls_handshakes);
	tr_ctl_put_u64(r, "dtls_handshake_failures", s->dtls_handshake_failures);
	tr_ctl_put_u64(r, "dtls_fallbacks", s->dtls_fallbacks);
	tr_ctl_put_u64(r, "dtls_rekeys", s->dtls_rekeys);
	tr_ctl_put_u64(r, "tx_dpd_cstp", s->dpd_sent_cstp);
	tr_ctl_put_u64(r, "tx_dpd_dtls", s->dpd_sent_dtls);
	tr_ctl_put_u64(r, "tx_keepalives", s->keepalives_sent);
	tr_ctl_put_u64(r, "rx_drop_ctl_unknown", s->ctl_unknown);
	if (!s->dp)
		return 0;
	tr_ac_dp_stats_each(s->dp, put_counter, r);
	return 0;
}

static int ctl_stop(void *arg)
{
	struct sess *s = arg;
	uint64_t one = 1;

	if (write(s->stop_evt, &one, sizeof(one)) < 0) {
		/* saturated: a stop is pending already */
	}
	return 0;
}

static const struct tr_ctl_ops ctl_ops = { .get = ctl_get, .stop = ctl_stop };

/* ---- setup ---- */

static int run_script(struct sess *s, const char *reason)
{
	struct tr_ac_env e;
	int r;

	if (!s->o->script)
		return 0;
	if (s->helper.fd >= 0 && (!strcmp(reason, "reconnect") || !strcmp(reason, "disconnect"))) {
		r = tr_ac_script_helper_run(&s->helper, reason[0] == 'r' ? 'R' : 'D', SCRIPT_TIMEOUT_S);
		if (r)
			tr_ac_say(s->o, TR_AC_QUIET, "%s (reason=%s) %s %d", s->o->script, reason,
				  r < 0 ? "failed:" : "exited with", r < 0 ? -r : r);
		return r;
	}
	r = tr_ac_env_build(&e, reason, s->dev ? tr_tundev_name(s->dev) : NULL, s->gateway,
			    strcmp(reason, "pre-init") ? &s->p : NULL);
	if (!r)
		r = tr_ac_script_run(s->o->script, &e, SCRIPT_TIMEOUT_S);
	tr_ac_env_free(&e);
	if (r)
		tr_ac_say(s->o, TR_AC_QUIET, "%s (reason=%s) %s %d", s->o->script, reason,
			  r < 0 ? "failed:" : "exited with", r < 0 ? -r : r);
	return r;
}

static int prefix_of(const char *mask)
{
	struct in_addr m;
	uint32_t v;
	int n = 0;

	if (inet_pton(AF_INET, mask, &m) != 1)
		return 32;
	for (v = ntohl(m.s_addr); v & 0x80000000u; v <<= 1)
		n++;
	return n;
}

static int open_device(struct sess *s)
{
	char a4[INET_ADDRSTRLEN + 4];
	const char *addrs[2];
	unsigned n = 0;
	/* TUN offload: TCP super-packets read whole and cut into MTU slots, so
	 * the data plane gets bursts (DTLS goes out as UDP GSO runs) and writes
	 * TCP runs back as one; every packet it commits authenticated (AEAD),
	 * so the coalescing need not re-check checksums. Measured (5 s iperf3,
	 * ocserv in a netns, client CPU per GB): DTLS download 10-16 -> 5-6
	 * s/GB, upload 8-10 -> 6.5. */
	struct tr_tundev_config dc = {
		.name = s->o->ifname ? s->o->ifname : "tun%d", .mtu = s->p.mtu,
		.addresses = addrs, .queues = 1,
		.flags = TR_TUNDEV_F_CREATE | TR_TUNDEV_F_OFFLOAD | TR_TUNDEV_F_TRUST_CSUM,
	};
	int r;

	if (s->o->script) {
		dc.flags |= TR_TUNDEV_F_NO_UP; /* the script sets address, MTU and link */
	} else {
		if (s->p.addr4[0]) {
			snprintf(a4, sizeof(a4), "%s/%d", s->p.addr4, prefix_of(s->p.mask4));
			addrs[n++] = a4;
		}
		if (s->p.addr6[0])
			addrs[n++] = s->p.addr6;
		dc.n_addresses = n;
	}
	r = tr_tundev_open(&s->dev, &dc);
	if (r)
		tr_ac_say(s->o, TR_AC_QUIET, "TUN device %s: %s", dc.name, tr_tundev_strerror(r));
	return r;
}

static int drop_privileges(struct sess *s)
{
	const char *step = NULL;
	int r;

	if (s->o->user)
		r = tr_privdrop_to(s->o->user, &step);
	else
		r = tr_privdrop_caps(&step);
	if (!r && (r = tr_tunfence()))
		step = "seccomp filter for the TUN ioctls";
	if (r)
		tr_ac_say(s->o, TR_AC_QUIET, "giving up privileges: %s: %s", step, strerror(-r));
	else if (s->o->user)
		tr_ac_say(s->o, TR_AC_VERBOSE, "running as %s from here on", s->o->user_name);
	return r;
}

/* Hands the CONNECTed TLS connection to the data plane: its socket, its
 * record keys, and the tunnel bytes already read past the reply. */
static int hand_over_cstp(struct sess *s)
{
	struct tr_ac_rec_keys tx, rx;
	int r = tr_ac_conn_drain(s->c);

	if (!r)
		r = tr_ac_keys_from_gnutls(s->c->tls, &tx, &rx);
	if (r) {
		tr_ac_say(s->o, TR_AC_QUIET, "taking the TLS keys: %s%s", strerror(-r),
			  r == -ENOTSUP ? " (a cipher the data plane does not do)" : "");
		return r;
	}
	tr_ac_conn_untime(s->c);
	r = tr_ac_dp_set_cstp(s->dp, s->c->fd, &tx, &rx, s->c->buf + s->c->used,
			      s->c->len - s->c->used);
	explicit_bzero(&tx, sizeof(tx));
	explicit_bzero(&rx, sizeof(rx));
	/* The data plane owns the socket now, whatever the result. */
	s->c->fd = -1;
	if (r) {
		tr_ac_say(s->o, TR_AC_QUIET, "starting CSTP: %s", strerror(-r));
		return r;
	}
	s->cstp_since = s->cstp_dpd_sent = now_s();
	return tr_ac_dp_use(s->dp, TR_AC_CHAN_CSTP);
}

/* ---- DTLS ---- */

static void dtls_schedule(struct sess *s, double now)
{
	double wait = s->p.dtls_dpd > 0 ? s->p.dtls_dpd : DTLS_RETRY_MAX_S;

	if (wait < DTLS_RETRY_MIN_S)
		wait = DTLS_RETRY_MIN_S;
	if (wait > DTLS_RETRY_MAX_S)
		wait = DTLS_RETRY_MAX_S;
	s->dtls_next = now + wait;
}

static void dtls_abort(struct sess *s)
{
	if (s->dtls_busy)
		tr_ac_dtls_close(&s->d, 0);
	s->dtls_busy = false;
}

/* DTLS stops carrying data: CSTP does, a new handshake comes later. */
static void dtls_down(struct sess *s, double now, const char *why)
{
	if (s->dtls_up) {
		tr_ac_dp_use(s->dp, TR_AC_CHAN_CSTP);
		tr_ac_dp_close(s->dp, TR_AC_CHAN_DTLS);
		s->dtls_up = false;
		s->dtls_fallbacks++;
		tr_ac_say(s->o, TR_AC_NORMAL, "DTLS %s: data over CSTP (TLS) until DTLS answers "
			  "again", why);
	}
	snprintf(s->dtls_why, sizeof(s->dtls_why), "down (%s)", why);
	if (s->st == ST_DTLS)
		s->st = ST_CSTP;
	dtls_schedule(s, now);
}

static void dtls_begin(struct sess *s, double now)
{
	char err[TR_AC_ERR_MAX];
	int r = tr_ac_dtls_start(&s->d, s->c->tls, &s->c->peer, s->p.dtls_port, s->p.app_id,
				 s->p.app_id_len, s->p.base_mtu, DTLS_HANDSHAKE_MS, err,
				 sizeof(err));

	s->dtls_handshakes++;
	if (r) {
		s->dtls_handshake_failures++;
		tr_ac_say(s->o, TR_AC_NORMAL, "%s", err);
		dtls_schedule(s, now);
		return;
	}
	s->dtls_busy = true;
}

/* One handshake step; on success the new channel replaces any old one. */
static void dtls_progress(struct sess *s, double now, int *wait_ms)
{
	struct tr_ac_rec_keys tx, rx;
	char err[TR_AC_ERR_MAX];
	int r = tr_ac_dtls_step(&s->d, wait_ms, err, sizeof(err));

	if (r == -EAGAIN)
		return;
	if (r) {
		s->dtls_handshake_failures++;
		dtls_abort(s);
		snprintf(s->dtls_why, sizeof(s->dtls_why), "down (%s)", err);
		tr_ac_say(s->o, s->dtls_handshake_failures == 1 ? TR_AC_NORMAL : TR_AC_VERBOSE,
			  "%s; data over CSTP (TLS), DTLS tried again later", err);
		dtls_schedule(s, now);
		return;
	}
	r = tr_ac_keys_from_gnutls(s->d.s, &tx, &rx);
	if (!r)
		r = tr_ac_dp_set_dtls(s->dp, s->d.fd, &tx, &rx);
	explicit_bzero(&tx, sizeof(tx));
	explicit_bzero(&rx, sizeof(rx));
	tr_ac_dtls_close(&s->d, 1); /* the data plane owns the socket now */
	s->dtls_busy = false;
	if (r) {
		s->dtls_handshake_failures++;
		snprintf(s->dtls_why, sizeof(s->dtls_why), "down (data plane: %s)", strerror(-r));
		tr_ac_say(s->o, TR_AC_QUIET, "DTLS: the data plane refused the keys: %s; staying "
			  "on CSTP", strerror(-r));
		s->dtls_next = now + 1e9; /* the same keys would be refused again */
		return;
	}
	if (s->dtls_up)
		s->dtls_rekeys++;
	bool was_up = s->dtls_up;
	s->dtls_up = true;
	s->dtls_since = s->dtls_dpd_sent = now;
	snprintf(s->dtls_suite, sizeof(s->dtls_suite), "%s", s->d.suite);
	s->dtls_mtu = s->d.data_mtu;
	s->dtls_why[0] = 0;
	tr_ac_dp_use(s->dp, TR_AC_CHAN_DTLS);
	s->st = ST_DTLS;
	if (!was_up)
		tr_ac_say(s->o, s->dtls_fallbacks ? TR_AC_NORMAL : TR_AC_VERBOSE,
			  "DTLS up: %s, data MTU %u%s", s->dtls_suite, s->dtls_mtu,
			  s->dtls_fallbacks ? " (back from CSTP)" : "");
}

/* ---- timers ---- */

static int send_ctl(struct sess *s, enum tr_ac_chan chan, uint8_t type)
{
	int r = tr_ac_dp_send_ctl(s->dp, chan, type, NULL, 0);

	if (!r && type == TR_AC_DPD_REQ)
		(*(chan == TR_AC_CHAN_CSTP ? &s->dpd_sent_cstp : &s->dpd_sent_dtls))++;
	if (!r && type == TR_AC_KEEPALIVE)
		s->keepalives_sent++;
	return r;
}

/* Returns -ECONNRESET when the TCP channel is dead. */
static int timers(struct sess *s, double now)
{
	int dpd = s->p.dpd, ddpd = s->p.dtls_dpd;

	if (dpd > 0) {
		double age = chan_age(s, tr_ac_dp_last_rx, TR_AC_CHAN_CSTP, now);
		if (age > 2.0 * dpd + 5)
			return -ECONNRESET;
		if (age >= dpd && now - s->cstp_dpd_sent >= dpd) {
			send_ctl(s, TR_AC_CHAN_CSTP, TR_AC_DPD_REQ);
			s->cstp_dpd_sent = now;
		}
	}
	if (s->p.keepalive > 0 &&
	    chan_age(s, tr_ac_dp_last_tx, TR_AC_CHAN_CSTP, now) >= s->p.keepalive)
		send_ctl(s, TR_AC_CHAN_CSTP, TR_AC_KEEPALIVE);
	if (s->dtls_up && ddpd > 0) {
		double age = chan_age(s, tr_ac_dp_last_rx, TR_AC_CHAN_DTLS, now);
		if (age >= 2.0 * ddpd) {
			char why[64];
			snprintf(why, sizeof(why), "silent for %.0f s", age);
			dtls_down(s, now, why);
		} else if (age >= ddpd && now - s->dtls_dpd_sent >= ddpd) {
			send_ctl(s, TR_AC_CHAN_DTLS, TR_AC_DPD_REQ);
			s->dtls_dpd_sent = now;
		}
	}
	if (s->dtls_up && s->p.dtls_keepalive > 0 &&
	    chan_age(s, tr_ac_dp_last_tx, TR_AC_CHAN_DTLS, now) >= s->p.dtls_keepalive)
		send_ctl(s, TR_AC_CHAN_DTLS, TR_AC_KEEPALIVE);
	/* Rekey: a fresh handshake on a new socket replaces the channel. */
	if (s->dtls_up && !s->dtls_busy && s->p.dtls_rekey_time > 0 &&
	    now - s->dtls_since >= s->p.dtls_rekey_time && now >= s->dtls_next)
		dtls_begin(s, now);
	if (s->dtls_on && !s->dtls_up && !s->dtls_busy && now >= s->dtls_next)
		dtls_begin(s, now);
	return 0;
}

/* ---- control packets from the data plane ---- */

/* Returns 1 to reconnect, -EPIPE when the server ended the session. */
static int ctl_packets(struct sess *s, double now)
{
	struct tr_ac_ctl_msg m;
	int r = 0;

	while (tr_ac_dp_read_ctl(s->dp, &m) == 1) {
		/* After the server's DISCONNECT the session ends: what follows
		 * in the same batch (the reset of the connection it closed, a
		 * TLS alert) is no news, and reporting it made the last line
		 * 'TCP connection to the server lost' instead of the reason. */
		if (r == -EPIPE)
			continue;
		if (m.type == TR_AC_EV_DOWN && m.chan == TR_AC_CHAN_CSTP) {
			tr_ac_say(s->o, TR_AC_NORMAL, "TCP connection to the server lost (%s)",
				  strerror(-m.err));
			r = r ? r : 1;
		} else if ((m.type == TR_AC_EV_DOWN || m.type == TR_AC_EV_ALERT) &&
			   m.chan == TR_AC_CHAN_DTLS) {
			char why[64];
			if (m.type == TR_AC_EV_ALERT)
				snprintf(why, sizeof(why), "closed by the server (alert %u)",
					 m.len >= 2 ? m.data[1] : 0);
			else
				snprintf(why, sizeof(why), "failed (%s)", strerror(-m.err));
			dtls_down(s, now, why);
			/* The server closed it on purpose: a new session at once. */
			s->dtls_next = now + DTLS_RETRY_MIN_S;
		} else if (m.type == TR_AC_EV_ALERT) {
			tr_ac_say(s->o, TR_AC_NORMAL, "TLS alert from the server (%u): reconnecting",
				  m.len >= 2 ? m.data[1] : 0);
			r = r ? r : 1;
		} else if (m.type == TR_AC_DISCONNECT || m.type == TR_AC_TERMINATE) {
			char why[80] = "";
			unsigned n = m.len < sizeof(m.data) ? m.len : sizeof(m.data);
			/* Text after the reason byte, printable only. */
			for (unsigned i = 1, j = 0; i < n && j + 1 < sizeof(why); i++)
				if (m.data[i] >= ' ' && m.data[i] < 0x7f)
					why[j++] = (char)m.data[i], why[j] = 0;
			tr_ac_say(s->o, TR_AC_QUIET, "the server ended the session (%s%s%s)",
				  m.type == TR_AC_TERMINATE ? "TERMINATE" : "DISCONNECT",
				  why[0] ? ": " : "", why);
			r = -EPIPE;
		} else if (m.type != TR_AC_DPD_RESP && m.type != TR_AC_KEEPALIVE &&
			   m.type != TR_AC_DPD_REQ) {
			s->ctl_unknown++;
		}
	}
	return r;
}

/* ---- reconnect ---- */

static int reconnect(struct sess *s, int sigfd)
{
	double start = now_s(), wait = 0;
	char err[TR_AC_ERR_MAX] = "";
	struct tr_ac_params np;
	int r;

	s->st = ST_RECONNECTING;
	dtls_abort(s);
	if (s->dtls_up) {
		tr_ac_dp_close(s->dp, TR_AC_CHAN_DTLS);
		s->dtls_up = false;
	}
	tr_ac_dp_close(s->dp, TR_AC_CHAN_CSTP);
	tr_ac_dp_use(s->dp, TR_AC_CHAN_NONE);
	tr_ac_conn_close(s->c, false, false);
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = s->stop_evt, .events = POLLIN },
			{ .fd = tr_ctl_fd(s->ctl), .events = POLLIN },
		};
		double until = now_s() + wait;
		while (now_s() < until) {
			int ms = (int)((until - now_s()) * 1000) + 1;
			if (poll(pfd, 3, ms) > 0) {
				if (pfd[2].revents & POLLIN)
					tr_ctl_accept(s->ctl);
				if ((pfd[0].revents | pfd[1].revents) & POLLIN)
					return -EINTR;
			}
		}
		/* A shorter deadline than the login's: signals and `tunroom
		 * down` wait for at most one attempt. */
		r = tr_ac_establish(s->o, s->c, s->cookie, sizeof(s->cookie), &np, false,
				    RECONNECT_MS, err, sizeof(err));
		if (!r)
			break;
		if (r == -EACCES || r == -EKEYREJECTED) {
			tr_ac_say(s->o, TR_AC_QUIET, "reconnecting: %s%s", err, r == -EACCES ?
				  "; log in again" : "");
			return r;
		}
		if (now_s() - start >= s->o->reconnect_timeout) {
			tr_ac_say(s->o, TR_AC_QUIET, "gave up reconnecting after %d s: %s",
				  s->o->reconnect_timeout, err);
			return r;
		}
		tr_ac_say(s->o, TR_AC_VERBOSE, "reconnecting: %s", err);
		wait = wait ? (wait * 2 > 10 ? 10 : wait * 2) : 1;
	}
	if (strcmp(np.addr4, s->p.addr4) || strcmp(np.addr6, s->p.addr6))
		tr_ac_say(s->o, TR_AC_QUIET, "reconnected, but the server gave address %s "
			  "instead of %s: the device keeps the old one; restart tunroom connect",
			  np.addr4, s->p.addr4);
	np.mtu = s->p.mtu; /* the device's MTU stays */
	s->p = np;
	s->reconnects++;
	r = hand_over_cstp(s);
	if (r)
		return r;
	s->st = ST_CSTP;
	s->dtls_on = s->o->dtls && s->p.dtls;
	s->dtls_next = now_s(); /* a new worker, a new App-ID: DTLS at once */
	run_script(s, "reconnect");
	tr_ac_say(s->o, TR_AC_NORMAL, "reconnected to %s", s->server);
	return 0;
}

/* ---- the loop ---- */

static int loop(struct sess *s, int sigfd)
{
	for (;;) {
		double now = now_s();
		int wait_ms = 1000, r;

		r = timers(s, now);
		if (r == -ECONNRESET) {
			tr_ac_say(s->o, TR_AC_NORMAL, "no answer on the TCP connection for %.0f s: "
				  "reconnecting", 2.0 * s->p.dpd + 5);
			r = reconnect(s, sigfd);
			if (r)
				return r == -EINTR ? 0 : r;
			continue;
		}
		if (s->dtls_busy) {
			/* Ask GnuTLS how long it wants to wait before its next step. */
			dtls_progress(s, now, &wait_ms);
		} else if (s->dtls_on && !s->dtls_up) {
			double left = s->dtls_next - now;
			if (left < 1 && left > 0)
				wait_ms = (int)(left * 1000) + 1;
		}
		struct pollfd pfd[5] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = s->stop_evt, .events = POLLIN },
			{ .fd = tr_ctl_fd(s->ctl), .events = POLLIN },
			{ .fd = tr_ac_dp_ctl_fd(s->dp), .events = POLLIN },
			{ .fd = s->dtls_busy ? s->d.fd : -1, .events = POLLIN },
		};
		if (poll(pfd, 5, wait_ms) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si))
				tr_ac_say(s->o, TR_AC_VERBOSE, "signal %u: disconnecting", si.ssi_signo);
			return 0;
		}
		if (pfd[1].revents & POLLIN) {
			tr_ac_say(s->o, TR_AC_VERBOSE, "tunroom down: disconnecting");
			return 0;
		}
		if (pfd[2].revents & POLLIN)
			tr_ctl_accept(s->ctl);
		if (pfd[4].revents & POLLIN && s->dtls_busy)
			dtls_progress(s, now_s(), &wait_ms);
		if (pfd[3].revents & POLLIN) {
			r = ctl_packets(s, now_s());
			if (r < 0)
				return r;
			if (r == 1) {
				r = reconnect(s, sigfd);
				if (r)
					return r == -EINTR ? 0 : r;
			}
		}
	}
}

static void bye(struct sess *s)
{
	static const char reason[] = "\xb0" "Client disconnected";

	if (s->st == ST_RECONNECTING || !s->dp)
		return;
	if (tr_ac_dp_send_ctl(s->dp, TR_AC_CHAN_CSTP, TR_AC_DISCONNECT, reason,
			      sizeof(reason) - 1) == 0)
		tr_ac_dp_flush(s->dp, BYE_FLUSH_MS);
}

int tr_ac_session_run(const struct tr_ac_client_opts *o)
{
	struct sess *s = calloc(1, sizeof(*s));
	char err[TR_AC_ERR_MAX];
	sigset_t mask, old;
	int r, sigfd = -1;

	if (!s || !(s->c = calloc(1, sizeof(*s->c)))) {
		free(s);
		return -ENOMEM;
	}
	s->o = o;
	s->c->fd = -1;
	s->helper.fd = -1;
	s->stop_evt = -1;
	s->started = time(NULL);
	s->st = ST_AUTH;
	/* The stop signals go to this thread's signalfd once the tunnel runs
	 * (blocked below, before any thread exists). During the login they
	 * keep their default action: Ctrl-C at the password prompt or while a
	 * server does not answer ends tunroom at once, with nothing to undo. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_SETMASK, NULL, &old);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	/* A server that goes away mid-write must be an error to handle (EPIPE,
	 * then reconnect), never the end of the process. */
	signal(SIGPIPE, SIG_IGN);
	s->stop_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sigfd < 0 || s->stop_evt < 0) {
		r = -errno;
		goto out;
	}
	if (o->script) {
		/* pre-init: the script may load the tun module and the like. */
		r = run_script(s, "pre-init");
		if (r) {
			r = -ECANCELED;
			goto out;
		}
	}
	/* With a fixed device name (-i NAME, no %d) `tunroom show NAME` sees
	 * the login too: the control socket opens now, served by a thread of
	 * its own while this one is busy, and that thread is gone again (and
	 * the socket reopened for this thread's loop) before the privilege
	 * drop, which must find one thread only. */
	bool early = o->ifname && !strchr(o->ifname, '%');
	if (early) {
		r = tr_ctl_open(&s->ctl, o->run_dir, o->ifname, &ctl_ops, s);
		if (!r && (r = tr_ctl_start(s->ctl))) {
			tr_ctl_close(s->ctl);
			s->ctl = NULL;
		}
		if (r) {
			tr_ac_say(o, TR_AC_QUIET, "control socket for %s: %s", o->ifname,
				  r == -EADDRINUSE ? "a tunnel of that name runs already (-i NAME)" :
				  strerror(-r));
			goto out;
		}
	}
	r = tr_ac_establish(o, s->c, s->cookie, sizeof(s->cookie), &s->p, true, ESTABLISH_TIMEOUT_MS,
			    err, sizeof(err));
	if (early) {
		tr_ctl_close(s->ctl);
		s->ctl = NULL;
	}
	if (r) {
		tr_ac_say(o, TR_AC_QUIET, "%s", err);
		goto out;
	}
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	/* `tunroom down` during the login: stop here, with a BYE. */
	uint64_t asked;
	if (read(s->stop_evt, &asked, sizeof(asked)) == sizeof(asked)) {
		tr_ac_say(o, TR_AC_VERBOSE, "tunroom down during the login: disconnecting");
		r = 0;
		goto out_bye_raw;
	}
	tr_ac_conn_peer_str(s->c, s->server, sizeof(s->server));
	if (s->c->peer.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&s->c->peer)->sin_addr, s->gateway,
			  sizeof(s->gateway));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&s->c->peer)->sin6_addr, s->gateway,
			  sizeof(s->gateway));
	s->dtls_on = o->dtls && s->p.dtls;
	/* Test only (tests/netns/ac-rekey.sh): a DTLS rekey after this many
	 * seconds instead of the server's X-DTLS-Rekey-Time (two days with
	 * ocserv's defaults). Never set it in production. */
	const char *rekey = getenv("TUNROOM_TEST_DTLS_REKEY");
	if (rekey && atoi(rekey) >= DTLS_RETRY_MIN_S)
		s->p.dtls_rekey_time = atoi(rekey);
	if (o->dtls && !s->p.dtls)
		tr_ac_say(o, TR_AC_NORMAL, "the server offers no DTLS: everything over TLS");
	/* Root's part: the device, its setup, the control socket. */
	r = open_device(s);
	if (r)
		goto out_bye_raw;
	r = tr_ctl_open(&s->ctl, o->run_dir, tr_tundev_name(s->dev), &ctl_ops, s);
	if (r) {
		tr_ac_say(o, TR_AC_QUIET, "control socket for %s: %s", tr_tundev_name(s->dev),
			  r == -EADDRINUSE ? "a tunnel of that name runs already (-i NAME)" :
			  strerror(-r));
		goto out_bye_raw;
	}
	if (o->named)
		o->named(o->named_arg, tr_tundev_name(s->dev));
	if (o->script && run_script(s, "connect")) {
		r = -ECANCELED;
		goto out_bye_raw;
	}
	/* reconnect and disconnect run from a helper that keeps root: built
	 * now, from this CONNECT's parameters. */
	if (o->script) {
		const char *dev = tr_tundev_name(s->dev);
		r = tr_ac_env_build(&s->env_reconnect, "reconnect", dev, s->gateway, &s->p);
		if (!r)
			r = tr_ac_env_build(&s->env_disconnect, "disconnect", dev, s->gateway, &s->p);
		if (!r)
			r = tr_ac_script_helper_start(&s->helper, o->script, &s->env_reconnect,
						      &s->env_disconnect, SCRIPT_TIMEOUT_S);
		if (r)
			tr_ac_say(o, TR_AC_QUIET, "no root helper for the script (%s): reconnect and "
				  "disconnect will run it without privileges", strerror(-r));
	}
	r = drop_privileges(s);
	if (r)
		goto out_bye_raw;
	struct tr_ac_dp_cfg dc = { .dev = s->dev, .mtu = s->p.mtu, .log = dp_log, .log_arg = s,
				   .crypto_openssl = o->crypto_openssl };
	/* Test only (tests/netns/ac-rekey.sh): the thread mode the machine
	 * would not pick (2 below 4 CPUs), so that both are run on a TUN
	 * device. */
	const char *thr = getenv("TUNROOM_TEST_AC_THREADS");
	if (thr && (atoi(thr) == 1 || atoi(thr) == 2))
		dc.threads = (unsigned)atoi(thr);
	r = tr_ac_dp_new(&s->dp, &dc);
	if (r) {
		tr_ac_say(o, TR_AC_QUIET, "data plane: %s", strerror(-r));
		goto out_bye_raw;
	}
	r = hand_over_cstp(s);
	if (r)
		goto out;
	s->st = ST_CSTP;
	s->dtls_next = now_s();
	tr_ac_say(o, TR_AC_NORMAL, "%s up: %s/%d mtu %u, server %s, %s%s", tr_tundev_name(s->dev),
		  s->p.addr4[0] ? s->p.addr4 : s->p.addr6, prefix_of(s->p.mask4), s->p.mtu,
		  s->server, s->c->suite,
		  s->dtls_on ? "; data over TLS until DTLS is up (tunroom show: state dtls)" : "");
	if (!o->script)
		tr_ac_say(o, TR_AC_NORMAL, "no --script: set the address and MTU and the link up; "
			  "no routes but the pool's%s%s, no DNS (%u server%s offered)",
			  s->p.n_split_inc + s->p.n_split_exc + s->p.n_split_inc6 ?
			  ", split routes not added" : "",
			  s->p.addr6[0] ? ", IPv6 address without a route" : "",
			  s->p.n_dns, s->p.n_dns == 1 ? "" : "s");
	if (o->ready)
		o->ready(o->ready_arg);
	r = loop(s, sigfd);
	s->st = ST_STOPPING;
	tr_store_once(&s->stopping, 1);
	if (r != -EPIPE)
		bye(s);
	if (o->script)
		run_script(s, "disconnect");
	tr_ac_say(o, TR_AC_VERBOSE, "disconnected");
	goto out;

out_bye_raw:
	/* The tunnel was granted but will not run: say goodbye through GnuTLS,
	 * which still owns the records (one CSTP DISCONNECT, one record), so
	 * that the server frees the session now, not at cookie-timeout. */
	if (s->c->tls) {
		static const char bye_msg[] = "STF\x01\x00\x14\x05\x00\xb0" "Client setup failed";
		gnutls_record_send(s->c->tls, bye_msg, sizeof(bye_msg) - 1);
	}
	tr_ac_conn_close(s->c, true, false);
out:
	/* After a failure past reason=connect, the script still undoes it. */
	if (s->helper.fd >= 0)
		run_script(s, "disconnect");
	tr_ac_env_free(&s->env_reconnect);
	tr_ac_env_free(&s->env_disconnect);
	dtls_abort(s);
	tr_ac_dp_free(s->dp);
	/* The TLS session only for the exporter: never a record from it now. */
	tr_ac_conn_close(s->c, false, true);
	tr_device_close(s->dev);
	tr_ctl_close(s->ctl);
	if (s->stop_evt >= 0)
		close(s->stop_evt);
	if (sigfd >= 0)
		close(sigfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	explicit_bzero(s->cookie, sizeof(s->cookie));
	int ret = r == -EPIPE ? -EPROTO : r;
	free(s->c);
	free(s);
	return ret;
}
