/* SPDX-License-Identifier: MIT */
/* The data plane's entry points: not built yet (see dataplane.h). */
#include <errno.h>

#include "anyconnect/dataplane.h"

int tr_ac_dp_new(struct tr_ac_dp **out, const struct tr_ac_dp_cfg *cfg)
{
	(void)cfg;
	if (out)
		*out = NULL;
	return -ENOSYS;
}

int tr_ac_dp_set_dtls(struct tr_ac_dp *dp, int udp_fd, const struct tr_ac_rec_keys *tx,
		      const struct tr_ac_rec_keys *rx)
{
	(void)dp; (void)udp_fd; (void)tx; (void)rx;
	return -ENOSYS;
}

int tr_ac_dp_set_cstp(struct tr_ac_dp *dp, int tcp_fd, const struct tr_ac_rec_keys *tx,
		      const struct tr_ac_rec_keys *rx, const void *pending, size_t pending_len)
{
	(void)dp; (void)tcp_fd; (void)tx; (void)rx; (void)pending; (void)pending_len;
	return -ENOSYS;
}

int tr_ac_dp_close(struct tr_ac_dp *dp, enum tr_ac_chan chan)
{
	(void)dp; (void)chan;
	return -ENOSYS;
}

int tr_ac_dp_use(struct tr_ac_dp *dp, enum tr_ac_chan chan)
{
	(void)dp; (void)chan;
	return -ENOSYS;
}

int tr_ac_dp_send_ctl(struct tr_ac_dp *dp, enum tr_ac_chan chan, uint8_t type,
		      const void *payload, size_t n)
{
	(void)dp; (void)chan; (void)type; (void)payload; (void)n;
	return -ENOSYS;
}

int tr_ac_dp_flush(struct tr_ac_dp *dp, int timeout_ms)
{
	(void)dp; (void)timeout_ms;
	return -ENOSYS;
}

int tr_ac_dp_ctl_fd(const struct tr_ac_dp *dp)
{
	(void)dp;
	return -ENOSYS;
}

int tr_ac_dp_read_ctl(struct tr_ac_dp *dp, struct tr_ac_ctl_msg *m)
{
	(void)dp; (void)m;
	return -ENOSYS;
}

int tr_ac_dp_last_rx(const struct tr_ac_dp *dp, enum tr_ac_chan chan, struct timespec *ts)
{
	(void)dp; (void)chan; (void)ts;
	return -ENOSYS;
}

int tr_ac_dp_last_tx(const struct tr_ac_dp *dp, enum tr_ac_chan chan, struct timespec *ts)
{
	(void)dp; (void)chan; (void)ts;
	return -ENOSYS;
}

void tr_ac_dp_stats(const struct tr_ac_dp *dp, struct tr_ac_dp_stats *out)
{
	(void)dp;
	if (out)
		*out = (struct tr_ac_dp_stats){ 0 };
}

struct tr_session *tr_ac_dp_session(const struct tr_ac_dp *dp)
{
	(void)dp;
	return NULL;
}

void tr_ac_dp_free(struct tr_ac_dp *dp)
{
	(void)dp;
}
