/* SPDX-License-Identifier: MIT */
/*
 * The control socket /run/tunroom/NAME.sock, both ends. The protocol is the
 * WireGuard UAPI shape: a request is key=value lines ended by a blank line
 * ("get=1\n\n" or "stop=1\n\n"); the reply is key=value lines ended by
 * "errno=N\n\n" (N = 0 or a positive errno).
 */
#ifndef TR_TUNNEL_CTL_H
#define TR_TUNNEL_CTL_H

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

/* The tunnel's side. Both run on the control thread, never on a data thread:
 * get reads counters with relaxed loads; stop only asks (sets a flag, writes an
 * eventfd). Each returns 0 or a negative errno, sent back as errno=N. */
struct tr_ctl_ops {
	int (*get)(void *arg, struct tr_ctl_reply *r);
	int (*stop)(void *arg);
};

/* Parses one request, treating it as hostile: at most TR_CTL_REQUEST_MAX
 * bytes, lines of at most TR_CTL_LINE_MAX, exactly one of get=1 or stop=1,
 * ended by a blank line. Returns the command, or -EINVAL (malformed, unknown
 * key or value) or -EMSGSIZE (too long) or -EAGAIN (no blank line yet). */
int tr_ctl_parse_request(const char *buf, size_t len);

/* Serves one connection on fd (read request, call ops, write reply), bounded
 * by TR_CTL_TIMEOUT_MS. Does not close fd. Returns the command served or a
 * negative errno. */
int tr_ctl_serve(int fd, const struct tr_ctl_ops *ops, void *arg);

struct tr_ctl;

/* Creates DIR (0700) and binds DIR/NAME.sock (0600). A socket file nobody
 * listens on (connect gives ECONNREFUSED) is stale and replaced; one that
 * answers means the tunnel runs: -EADDRINUSE. dir NULL = TR_CTL_DIR_DEFAULT. */
int tr_ctl_open(struct tr_ctl **out, const char *dir, const char *name,
		const struct tr_ctl_ops *ops, void *arg);
/* The listening descriptor, for a caller's poll loop. */
int tr_ctl_fd(const struct tr_ctl *c);
/* Accepts one waiting client and serves it; -EAGAIN when none waits. */
int tr_ctl_accept(struct tr_ctl *c);
/* Serves from a thread of its own until tr_ctl_close(). */
int tr_ctl_start(struct tr_ctl *c);
/* Stops the thread, unlinks the socket, frees. NULL does nothing. */
void tr_ctl_close(struct tr_ctl *c);

/* Client: connects to DIR/NAME.sock. Returns the fd, -ENOENT (no such
 * tunnel), -ENOTSOCK (the path is not a socket), -ECONNREFUSED (stale socket,
 * now removed), or the connect error. */
int tr_ctl_connect(const char *dir, const char *name);

/* Client: sends the command and reads the reply into buf (NUL-terminated,
 * without the final "errno=N\n\n"). Returns the reply length, or a negative
 * errno: the tunnel's own (errno=N with N != 0), -EBADMSG (bad reply),
 * -EMSGSIZE (longer than cap), -ETIMEDOUT. */
int tr_ctl_call(int fd, enum tr_ctl_cmd cmd, char *buf, size_t cap);

/* Walks key=value lines of a reply: returns 1 with key/val set (pointing into
 * buf, which is modified), 0 at the end, -EBADMSG on a bad line. */
int tr_ctl_next(char **cursor, char **key, char **val);

#endif
