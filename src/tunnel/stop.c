/* SPDX-License-Identifier: MIT */
/* Stop sources of a running tunnel: signals through a signalfd, requests through an eventfd. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "tunnel/stop.h"

int tr_stop_init(struct tr_stop *s)
{
	sigset_t set;
	int r;

	s->sig_fd = s->evt_fd = -1;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	r = pthread_sigmask(SIG_BLOCK, &set, &s->old_mask);
	if (r)
		return -r;
	s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sig_fd < 0)
		goto err;
	s->evt_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->evt_fd < 0)
		goto err;
	return 0;
err:
	r = -errno;
	tr_stop_fini(s);
	return r;
}

void tr_stop_request(struct tr_stop *s)
{
	uint64_t one = 1;

	/* Only EAGAIN can fail here (counter at its maximum): already requested. */
	if (write(s->evt_fd, &one, sizeof(one)) < 0)
		return;
}

int tr_stop_wait(struct tr_stop *s, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = s->sig_fd, .events = POLLIN },
		{ .fd = s->evt_fd, .events = POLLIN },
	};

	for (;;) {
		int n = poll(p, 2, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (p[0].revents) {
			struct signalfd_siginfo si;
			if (read(s->sig_fd, &si, sizeof(si)) == sizeof(si))
				return (int)si.ssi_signo;
		}
		if (p[1].revents) {
			uint64_t v;
			if (read(s->evt_fd, &v, sizeof(v)) == sizeof(v))
				return TR_STOP_REQUESTED;
		}
	}
}

void tr_stop_fini(struct tr_stop *s)
{
	if (s->sig_fd >= 0)
		close(s->sig_fd);
	if (s->evt_fd >= 0)
		close(s->evt_fd);
	s->sig_fd = s->evt_fd = -1;
	pthread_sigmask(SIG_SETMASK, &s->old_mask, NULL);
}
