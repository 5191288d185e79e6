/* SPDX-License-Identifier: MIT */
/*
 * The control socket's protocol, /run/tunroom/NAME.sock, shared by the
 * server (server.h, in the process that runs a tunnel) and the client
 * (client.h, `tunroom show` and `down`). The WireGuard UAPI shape: a request
 * is key=value lines ended by a blank line ("get=1\n\n" or "stop=1\n\n");
 * the reply is key=value lines ended by "errno=N\n\n" (N = 0 or a positive
 * errno). Nothing here knows what a tunnel is.
 */
#ifndef TR_CTL_PROTO_H
#define TR_CTL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define TR_CTL_DIR_DEFAULT  "/run/tunroom"
#define TR_CTL_LINE_MAX     64          /* request lines are tiny: "stop=1" */
#define TR_CTL_REQUEST_MAX  512
#define TR_CTL_REPLY_MAX    (64 * 1024)
#define TR_CTL_KEY_MAX      64
#define TR_CTL_TIMEOUT_MS   2000        /* a client gets this long per request */

enum tr_ctl_cmd { TR_CTL_GET = 1, TR_CTL_STOP = 2 };

/* Where a get callback writes its key=value lines. */
struct tr_ctl_reply {
	char *buf;
	size_t len, cap;
	int err; /* -EMSGSIZE once a line did not fit */
};

/*
 * Keys are [a-z0-9_], values lose control characters. `tunroom show` lays out
 * name, cipher, mtu, state, pid, uptime (seconds), listen, endpoint, out_spi,
 * in_spi, replay_window; numeric rx_* and tx_*
 * keys are counters named <dir>_<drop|err>_<reason> (rx_err_auth,
 * rx_drop_ring_full, ...); any other key is printed as it comes.
 */
void tr_ctl_put_str(struct tr_ctl_reply *r, const char *key, const char *val);
void tr_ctl_put_u64(struct tr_ctl_reply *r, const char *key, uint64_t val);

/* Parses one request, treating it as hostile: at most TR_CTL_REQUEST_MAX
 * bytes, lines of at most TR_CTL_LINE_MAX, exactly one of get=1 or stop=1,
 * ended by a blank line. Returns the command, or -EINVAL (malformed, unknown
 * key or value) or -EMSGSIZE (too long) or -EAGAIN (no blank line yet). */
int tr_ctl_parse_request(const char *buf, size_t len);

/* Walks key=value lines of a reply: returns 1 with key/val set (pointing into
 * buf, which is modified), 0 at the end, -EBADMSG on a bad line. */
int tr_ctl_next(char **cursor, char **key, char **val);

#endif
