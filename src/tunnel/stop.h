/* SPDX-License-Identifier: MIT */
/*
 * How a running tunnel learns that it must stop: SIGINT or SIGTERM (through a
 * signalfd) or a stop=1 on the control socket (through an eventfd), both in
 * one place the main thread can wait or poll on.
 */
#ifndef TR_TUNNEL_STOP_H
#define TR_TUNNEL_STOP_H

#include <signal.h>

#define TR_STOP_REQUESTED 0x100 /* tr_stop_wait: tr_stop_request() was called */

struct tr_stop {
	int sig_fd;
	int evt_fd;
	sigset_t old_mask;
};

/* Blocks SIGINT and SIGTERM in the calling thread and opens the two fds.
 * Call it before starting any thread, so that every thread inherits the mask
 * and the signals reach only the signalfd. Returns 0 or -errno. */
int tr_stop_init(struct tr_stop *s);
/* Asks the waiter to stop; from any thread (the control thread's stop
 * callback), async-signal-safe. */
void tr_stop_request(struct tr_stop *s);
/* Waits up to timeout_ms (-1: forever). Returns 0 on timeout, the signal
 * number (SIGINT, SIGTERM), TR_STOP_REQUESTED, or -errno. */
int tr_stop_wait(struct tr_stop *s, int timeout_ms);
/* Closes the fds and restores the caller's signal mask. */
void tr_stop_fini(struct tr_stop *s);

#endif
