/* SPDX-License-Identifier: MIT */
/*
 * Restart safety without a key exchange (docs/config.md, "Restarts").
 *
 * Outbound: the tx thread uses a number only if it is <= out_limit, and
 * out_limit rises only after the state file holding it is synced. So every
 * number ever used is <= the limit on disk, and a restart goes on above it:
 * no number is used twice under one key (which, with GCM, would also reuse
 * a nonce's sequence part; the IV base is random per run besides).
 *
 * Inbound: the rx thread delivers a datagram only if its number is
 * <= in_limit, which likewise rises only after a sync. So every number ever
 * delivered is <= the limit on disk, and a restarted end refuses everything
 * up to it (its replay window's floor): no datagram from before the restart
 * is delivered again, whenever the crash came. What lies between the
 * peer's real position and the floor is skipped by the hello: the peer
 * moves its outbound numbers past our floor (reserving that first in its
 * own file), so traffic flows again within a round trip.
 *
 * Both limits are raised half a block ahead, from this thread, so the data
 * path never waits for the disk; a worker that reaches a limit anyway drops
 * (tx_drop_unsaved, rx_drop_unsaved) and pokes this thread.
 *
 * When it runs: a worker whose number comes within half a block of its
 * limit pokes this thread (tr_tunnel_ahead, once per limit), and so does
 * one that receives a hello or an ack, sees the peer roam or a routing
 * loop, or refuses a datagram (the hints, status.c; once a second at most).
 * Besides those, a turn is due every UPKEEP_BUSY_MS while numbers move, a
 * reservation or an ack waits (a sync that failed is retried), at the
 * next hello retry, and at the latest after UPKEEP_IDLE_MS. An idle tunnel
 * thus wakes this thread every few seconds, not twenty times a second,
 * and the first packets after an idle spell find
 * their numbers reserved: the poke at the half-block mark comes half a
 * block before the limit, whenever that is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "codec/esp_int.h"
#include "tunnel/upkeep.h"

#define LOADA(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define LOADR(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
/* Hellos until answered: every 250 ms for 5 s, then every 5 s. */
#define HELLO_FAST_MS 250
#define HELLO_FAST_TRIES 20
#define HELLO_SLOW_MS 5000
/* Turns while numbers move or something waits (a sync, an ack to send). */
#define UPKEEP_BUSY_MS 50
/* Longest sleep with nothing due: everything pokes (the hints' refused
 * datagrams too, once a second); this bounds what a lost poke costs, and
 * when a hint held back by its 10 s rate limit is said. */
#define UPKEEP_IDLE_MS 5000
#define UPKEEP_SLACK_MS 10

static void ask_tx(struct tr_tunnel *t, unsigned kind)
{
	__atomic_fetch_or(&t->ctl_send, kind, __ATOMIC_RELEASE);
	/* The sending thread may sleep (tr_rx_wait, or solo.c's tr_rx_wait_fds). */
	if (t->s)
		tr_session_wake(t->s);
}

int tr_upkeep_open(struct tr_upkeep *u, const struct tr_config *cfg, const char *dir)
{
	int err;

	memset(u, 0, sizeof(*u));
	u->name = cfg->name;
	u->block = TR_UPKEEP_BLOCK;
	/* Test only (tests/netns/tunnel-idle.sh): smaller blocks, so that a
	 * short test crosses several. Never set it in production: each
	 * restart skips a block, and more writes come per packet. */
	const char *b = getenv("TUNROOM_TEST_UPKEEP_BLOCK");
	if (b) {
		unsigned long long v = strtoull(b, NULL, 10);
		if (v >= 1024 && v <= TR_UPKEEP_BLOCK)
			u->block = v;
	}
	err = tr_state_open(&u->st, dir, cfg, &u->why);
	/* The tunnel that ran a moment ago (or its routing-rule helper, which
	 * holds the file until the rules are gone) may still be going. */
	for (int i = 0; err == -EBUSY && i < 60; i++) {
		usleep(50 * 1000);
		err = tr_state_open(&u->st, dir, cfg, &u->why);
	}
	if (err == -EBUSY)
		fprintf(stderr, "tunroom: %s: state file %s is in use by another tunnel named %s "
			"on this host (state files, like control sockets, are per host, not per "
			"network namespace: give each tunnel its own Name, or a TUNROOM_STATE_DIR "
			"each)\n", cfg->name, u->st.path, cfg->name);
	else if (err)
		fprintf(stderr, "tunroom: %s: state file %s: %s (it keeps restarts safe: "
			"sequence numbers and the replay window; TUNROOM_STATE_DIR names another "
			"directory)\n", cfg->name, u->st.path, strerror(-err));
	return err;
}

int tr_upkeep_start(struct tr_upkeep *u, struct tr_tunnel *t, unsigned n)
{
	uint64_t out = u->st.out_limit, floor = u->st.in_limit;
	int err = tr_state_save(&u->st, out + u->block, floor + u->block);
	uint64_t instance;

	if (err) {
		fprintf(stderr, "tunroom: %s: state file %s: writing: %s\n", u->name, u->st.path,
			strerror(-err));
		return err;
	}
	if (getrandom(&instance, sizeof(instance), 0) != sizeof(instance) || !instance)
		instance = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	/* Before any thread: nothing else touches the SAs yet. One pair of
	 * limits bounds every queue's SAs: each number used or delivered on
	 * any of them is below it. */
	for (unsigned q = 0; q < n; q++) {
		t[q].sa_out->seq = out;
		if (floor)
			tr_replay_floor(t[q].sa_in->replay, floor);
		t[q].in_floor = floor;
		t[q].out_limit = u->st.out_limit;
		t[q].in_limit = u->st.in_limit;
		t[q].instance = instance;
		t[q].ahead = u->block / 2;
	}
	/* Each direction is known to the file or not on its own (state.h). */
	if (!u->st.out_known && !u->st.in_known)
		fprintf(stderr, "tunroom: %s: state file %s: %s, sequence numbers start at 1\n",
			u->name, u->st.path, u->why);
	else if (!u->st.out_known)
		fprintf(stderr, "tunroom: %s: state file %s: %s, our sequence numbers start at 1; "
			"the peer's up to %llu count as replays until its answer to our hello moves it "
			"past them\n", u->name, u->st.path, u->why, (unsigned long long)floor);
	else if (!u->st.in_known)
		fprintf(stderr, "tunroom: %s: restarted from %s: our sequence numbers go on after %llu; "
			"it has no record %s, so the peer's numbers count from 1\n", u->name, u->st.path,
			(unsigned long long)out, u->why);
	else
		fprintf(stderr, "tunroom: %s: restarted from %s: our sequence numbers go on after %llu, "
			"the peer's up to %llu count as replays until its answer to our hello moves it past them\n",
			u->name, u->st.path, (unsigned long long)out, (unsigned long long)floor);
	/* Hellos, acks and keepalives go from queue 0. */
	t[0].ctl_send |= TR_CTL_HELLO;
	u->hello_tries = 1;
	u->hello_next_ms = tr_tunnel_now_ms() + HELLO_FAST_MS;
	return 0;
}

/* The newest hello of queue q, if one came since the last turn. */
static bool take_hello(struct tr_upkeep *u, struct tr_tunnel *t, unsigned q,
		       struct tr_hello_rx *out)
{
	struct tr_hello_rx *h = &t->hello_rx;
	uint32_t g = LOADA(h->gen);

	if (g == u->hello_gen[q] || (g & 1))
		return false;
	out->type = LOADR(h->type);
	out->instance = LOADR(h->instance);
	out->floor = LOADR(h->floor);
	out->echo = LOADR(h->echo);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (LOADR(h->gen) != g)
		return false; /* written meanwhile: next turn */
	u->hello_gen[q] = g;
	return true;
}

static void on_hello(struct tr_upkeep *u, struct tr_tunnel *t0, const struct tr_hello_rx *h)
{
	if (h->floor > u->want_jump)
		u->want_jump = h->floor;
	if (h->instance != u->peer_instance) {
		if (u->peer_instance) {
			u->peer_restarts++;
			if (h->floor)
				fprintf(stderr, "tunroom: %s: peer seems to have restarted (its hello "
					"names a new run); our sequence numbers move past %llu, the last "
					"it takes as a replay\n", u->name, (unsigned long long)h->floor);
			else
				fprintf(stderr, "tunroom: %s: peer seems to have restarted (its hello "
					"names a new run); it has no record of our numbers, so ours go "
					"on as they are\n", u->name);
		}
		u->peer_instance = h->instance;
	}
	if (h->type == TR_CTL_HELLO) {
		__atomic_store_n(&t0->hello_echo, h->instance, __ATOMIC_RELEASE);
		u->ack_due = true;
	} else if (h->echo == t0->instance) {
		u->hello_done = true;
	}
}

/* Raises the limits half a block ahead of use (and past a jump asked for),
 * synced before they are published: the highest number of any queue's SA
 * counts. Returns true if another turn is due soon: numbers moved since
 * the last turn, or the file could not be written. */
static bool reserve(struct tr_upkeep *u, struct tr_tunnel *t, unsigned n)
{
	uint64_t seq = 0, top = 0;
	uint64_t out = u->st.out_limit, in = u->st.in_limit;

	for (unsigned q = 0; q < n; q++) {
		uint64_t s = LOADR(t[q].sa_out->seq), p = LOADR(t[q].sa_in->replay->top);
		uint64_t w = LOADR(t[q].in_want);
		seq = s > seq ? s : seq;
		top = p > top ? p : top;
		top = w > top ? w : top;
	}
	bool moved = seq != u->seen_out || top != u->seen_in;

	u->seen_out = seq;
	u->seen_in = top;
	if (u->want_jump > seq)
		seq = u->want_jump;
	if (seq + u->block / 2 > out)
		out = seq + u->block;
	if (top + u->block / 2 > in)
		in = top + u->block;
	if (out == u->st.out_limit && in == u->st.in_limit)
		return moved;
	int err = tr_state_save(&u->st, out, in);
	if (err) {
		time_t now = time(NULL);
		if (now - u->save_err_at >= 10) {
			fprintf(stderr, "tunroom: %s: state file %s: %s: packets beyond the numbers "
				"saved are dropped until it can be written\n", u->name, u->st.path,
				strerror(-err));
			u->save_err_at = now;
		}
		return true;
	}
	for (unsigned q = 0; q < n; q++) {
		__atomic_store_n(&t[q].out_limit, u->st.out_limit, __ATOMIC_RELEASE);
		__atomic_store_n(&t[q].in_limit, u->st.in_limit, __ATOMIC_RELEASE);
	}
	return moved;
}

/* Roams seen by any queue's rx thread: said once per new address. */
static void say_roams(struct tr_upkeep *u, struct tr_tunnel *t, unsigned n)
{
	for (unsigned q = 0; q < n && q < 16; q++) {
		uint32_t g = tr_seq_begin(&t[q].roam_gen);
		union tr_sockaddr to;
		char buf[64];

		if (g == u->roam_gen[q] || (g & 1))
			continue;
		tr_seq_copy(&to, &t[q].roam_to, sizeof(to));
		if (tr_seq_retry(&t[q].roam_gen, g))
			continue;
		u->roam_gen[q] = g;
		if (tr_udp_addr_equal(&to, &u->roam_last))
			continue;
		u->roam_last = to;
		fprintf(stderr, "tunroom: %s: the peer now sends from %s (authentic datagrams from a "
			"new address or port: NAT or roaming); answering there\n", u->name,
			tr_sockaddr_str(&to, buf, sizeof(buf)));
	}
}

int tr_upkeep_run(struct tr_upkeep *u, struct tr_tunnel *t, unsigned n)
{
	struct tr_hello_rx h;
	uint64_t now = tr_tunnel_now_ms();
	bool busy = false;

	for (unsigned q = 0; q < n && q < 16; q++)
		if (take_hello(u, &t[q], q, &h)) {
			on_hello(u, &t[0], &h);
			busy = true; /* a hello seldom comes alone (its ack, a jump) */
		}
	busy |= reserve(u, t, n);
	/* The jump is published only once the file covers it. */
	if (u->want_jump > LOADR(t[0].out_jump) && u->want_jump < LOADR(t[0].out_limit))
		for (unsigned q = 0; q < n; q++)
			__atomic_store_n(&t[q].out_jump, u->want_jump, __ATOMIC_RELEASE);
	if (u->ack_due && LOADR(t[0].out_jump) >= u->want_jump) {
		ask_tx(&t[0], TR_CTL_ACK);
		u->ack_due = false;
	}
	/* The coarse clock may read a tick short of the poll's timeout. */
	if (!u->hello_done && now + UPKEEP_SLACK_MS >= u->hello_next_ms) {
		ask_tx(&t[0], TR_CTL_HELLO);
		u->hello_tries++;
		u->hello_next_ms = now + (u->hello_tries < HELLO_FAST_TRIES ? HELLO_FAST_MS
									   : HELLO_SLOW_MS);
	}
	uint64_t loops = 0;
	for (unsigned q = 0; q < n; q++)
		loops += LOADR(t[q].tx.drop_loop);
	if (loops && !u->loop_said) {
		union tr_sockaddr ep;
		char buf[64];
		fprintf(stderr, "tunroom: %s: routing loop: the tunnel's own datagrams to %s come back "
			"from the TUN device (a route sends the endpoint through the tunnel); dropped "
			"and counted in tx_drop_loop. Route the endpoint outside (FwMark, Table)\n",
			u->name, tr_sockaddr_str(tr_tunnel_endpoint(&t[0], &ep), buf, sizeof(buf)));
		u->loop_said = loops;
	}
	say_roams(u, t, n);
	/* A jump or an ack still waiting for the file: soon again. */
	busy |= u->ack_due || u->want_jump > LOADR(t[0].out_jump);
	if (busy)
		return UPKEEP_BUSY_MS;
	uint64_t wait = UPKEEP_IDLE_MS;
	if (!u->hello_done)
		wait = u->hello_next_ms - now; /* > UPKEEP_SLACK_MS: sent above otherwise */
	return (int)(wait < UPKEEP_IDLE_MS ? wait : UPKEEP_IDLE_MS);
}

void tr_upkeep_stop(struct tr_upkeep *u)
{
	tr_state_close(&u->st);
}
