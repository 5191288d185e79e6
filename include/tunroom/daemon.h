/* SPDX-License-Identifier: MIT */
/*
 * tunroom/daemon.h - sessions from tunroomd, the privilege-separated device
 * side: tunroomd owns the TUN device (root or CAP_NET_ADMIN for setup, then
 * it drops to an unprivileged user); an application connects to its Unix
 * socket, asks for a session, and receives the ring memory and its end of
 * the doorbell socketpair (SCM_RIGHTS). It maps them with tr_session_attach() and uses the
 * ordinary session API; tunroomd checks the rings as hostile input.
 *
 * Wire format (SOCK_SEQPACKET, host byte order: both ends are on one host):
 *   request  struct tr_daemon_req, exactly sizeof bytes
 *   reply    struct tr_daemon_rep; if err == 0 with SCM_RIGHTS
 *            [memfd, app_evt, dev_evt] (app_evt and dev_evt: the client's
 *            doorbell end, twice; tunroom/port.h)
 * The connection stays open for the life of the session: closing it (or
 * exiting, or crashing) ends the session on the daemon's side.
 */
#ifndef TUNROOM_DAEMON_H
#define TUNROOM_DAEMON_H

#include <stdint.h>

#include "tunroom/tunroom.h"

#ifdef __cplusplus
extern "C" {
#endif

/* In a directory of its own: /run/tunroom holds the tunnels' root-only
 * control sockets; this one is for unprivileged clients (tunroomd(8)). */
#define TR_DAEMON_SOCKET_DEFAULT "/run/tunroomd/tunroomd.sock"
#define TR_DAEMON_MAGIC 0x32445254u /* "TRD2": doorbells are a socketpair end, not eventfds */

struct tr_daemon_req {
	uint32_t magic;       /* TR_DAEMON_MAGIC */
	uint32_t abi_version; /* TR_ABI_VERSION the client maps */
	uint32_t capacity, head_room, tail_room, max_packet, flags; /* tr_session_config */
};

struct tr_daemon_rep {
	uint32_t magic;
	int32_t err;          /* 0, or a negative errno: -EBUSY no free queue, ... */
	uint32_t ifindex;
	char name[16];        /* the TUN device's name */
};

/* What the daemon handed over. The caller owns every descriptor. */
struct tr_daemon_grant {
	int conn;             /* keep open while the session lives */
	int memfd, app_evt, dev_evt;
	int ifindex;
	char name[16];
};

/* Connects to path (NULL = TR_DAEMON_SOCKET_DEFAULT), asks for a session
 * configured as cfg, and receives its descriptors. Returns 0; -EINVAL;
 * -ENOENT or -ECONNREFUSED (no daemon); -EACCES (socket permissions);
 * -EPROTO (not a tunroomd answer); the daemon's error (-EBUSY: every queue
 * has a session; -EINVAL/-ERANGE: cfg refused). */
int tr_daemon_connect(const char *path, const struct tr_session_config *cfg,
		      struct tr_daemon_grant *out);

/* tr_daemon_connect() and tr_session_attach() in one: *conn is the
 * connection, to be closed after tr_session_close(). */
int tr_session_connect(struct tr_session **out, const char *path,
		       const struct tr_session_config *cfg, int *conn);

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_DAEMON_H */
