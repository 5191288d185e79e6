/* SPDX-License-Identifier: MIT */
/* What the control socket's two ends share besides the wire format: message
 * I/O under a deadline, and where NAME's socket lives. */
#ifndef TR_CTL_CTL_INT_H
#define TR_CTL_CTL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "ctl/proto.h"

/* CLOCK_MONOTONIC in milliseconds: deadlines. */
int64_t tr_ctl_now_ms(void);
/* Writes all of buf before the deadline; 0, -ETIMEDOUT or -errno. */
int tr_ctl_write_all(int fd, const char *buf, size_t len, int64_t deadline);
/* Reads until the blank line that ends a message (a request stops at the
 * end of the first one); returns its length, -EMSGSIZE past cap,
 * -ECONNRESET (closed before a byte), -EBADMSG (closed mid-message),
 * -ETIMEDOUT or -errno. */
int tr_ctl_read_message(int fd, char *buf, size_t cap, int64_t deadline, bool reply);
/* DIR/NAME.sock into a (dir NULL = TR_CTL_DIR_DEFAULT); -EINVAL for a name
 * with '/' or that is "." or "..", -ENAMETOOLONG. */
int tr_ctl_sock_path(struct sockaddr_un *a, const char *dir, const char *name);

#endif
