/* SPDX-License-Identifier: MIT */
/* The control socket's client end: what `tunroom show` and `down` call. */
#ifndef TR_CTL_CLIENT_H
#define TR_CTL_CLIENT_H

#include <stddef.h>

#include "ctl/proto.h"

/* Connects to DIR/NAME.sock. Returns the fd, -ENOENT (no such tunnel),
 * -ENOTSOCK (the path is not a socket), -ECONNREFUSED (stale socket, now
 * removed), or the connect error. */
int tr_ctl_connect(const char *dir, const char *name);

/* Sends the command and reads the reply into buf (NUL-terminated, without
 * the final "errno=N\n\n"). Returns the reply length, or a negative errno:
 * the tunnel's own (errno=N with N != 0), -EBADMSG (bad reply), -EMSGSIZE
 * (longer than cap), -ETIMEDOUT. */
int tr_ctl_call(int fd, enum tr_ctl_cmd cmd, char *buf, size_t cap);

#endif
