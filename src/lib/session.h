/* SPDX-License-Identifier: MIT */
/* Internal view of an application session, for the Wintun shim and tests. */
#ifndef TR_LIB_SESSION_H
#define TR_LIB_SESSION_H

#include <pthread.h>
#include <stdbool.h>

#include "lib/layout.h"
#include "lib/ring.h"
#include "tunroom/device.h"
#include "tunroom/port.h"
#include "tunroom/tunroom.h"

struct tr_session {
	void *map;
	struct tr_layout lay;
	int memfd, app_evt, dev_evt;
	uint32_t flags;
	struct tr_ring rx; /* egress ring: we consume */
	struct tr_ring tx; /* ingress ring: we produce */
	bool rx_armed;
	int error;         /* 0, -EPROTO (ours), or -EPIPE (device stopped) */
	int peer_error;    /* positive errno the device stopped with */
	pthread_mutex_t rx_lock, tx_lock; /* taken only with TR_SESSION_F_THREADSAFE */
	struct tr_stats st;
	struct tr_device *dev; /* in-process device serving port, or NULL */
	struct tr_port *port;
	int wake_evt;          /* tr_session_wake() -> tr_rx_wait */
	/* TR_SESSION_F_INLINE: the device's pumps (inl.egress NULL otherwise);
	 * epfd is tr_session_fd(), watching inl.fd, muted (events 0) while
	 * the egress ring is full so that a poller does not spin on it. */
	struct tr_device_inline inl;
	int epfd;
	int ep_added;          /* inl.fd is in epfd (the first tr_session_fd) */
	pthread_mutex_t ep_lock; /* the adding, against a mute on the rx thread (inline_mute) */
	bool inl_full;         /* the last egress pump found no room (rx side) */
};

/* Pointer-based forms for the Wintun shim, which hands out data pointers
 * only. rx: release the received packet whose data starts at ptr. tx: commit
 * the allocation whose data starts at ptr with len bytes. Return 0, -EINVAL
 * (no such outstanding packet, or len larger than allocated; UINT32_MAX means
 * the allocated length), -EPROTO, -EPIPE. */
int tr_session_rx_release_ptr(struct tr_session *s, const uint8_t *ptr);
int tr_session_tx_commit_ptr(struct tr_session *s, const uint8_t *ptr, uint32_t len);

#endif
