/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes both ends of the control socket (src/ctl/) over a
 * socketpair. Input byte 0 picks the end: even, the bytes are a client's
 * request and the server must answer with exactly one "...errno=N\n\n" reply
 * (or nothing, for an empty request); odd, the bytes are a tunnel's reply and
 * the client must accept or refuse it without reading past it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl/client.h"
#include "ctl/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int get(void *arg, struct tr_ctl_reply *r)
{
	(void)arg;
	tr_ctl_put_str(r, "name", "tr0");
	tr_ctl_put_u64(r, "rx_packets", 1);
	return 0;
}

static int stop(void *arg)
{
	(void)arg;
	return 0;
}

static void as_server(const uint8_t *data, size_t size, int sv[2])
{
	static const struct tr_ctl_ops ops = { get, stop };
	char reply[4096];
	size_t got = 0;
	ssize_t n;

	if (size && write(sv[0], data, size) != (ssize_t)size)
		return;
	shutdown(sv[0], SHUT_WR);
	int r = tr_ctl_serve(sv[1], &ops, NULL);
	close(sv[1]);
	while (got < sizeof(reply) - 1 && (n = read(sv[0], reply + got, sizeof(reply) - 1 - got)) > 0)
		got += (size_t)n;
	reply[got] = '\0';
	if (r == -ECONNRESET) {
		if (got)
			abort();
		return;
	}
	/* One reply, ending in its errno line and the blank line. */
	char *e = strstr(reply, "errno=");
	if (!e || got < 2 || reply[got - 1] != '\n' || reply[got - 2] != '\n' ||
	    (e != reply && e[-1] != '\n'))
		abort();
	if (r > 0 && strcmp(e, "errno=0\n\n"))
		abort();
	if (r < 0 && !strcmp(e, "errno=0\n\n"))
		abort();
}

static void as_client(const uint8_t *data, size_t size, int sv[2])
{
	char buf[TR_CTL_REPLY_MAX];
	char *cur, *key, *val;

	if (size && write(sv[1], data, size) != (ssize_t)size)
		return;
	shutdown(sv[1], SHUT_WR);
	int n = tr_ctl_call(sv[0], TR_CTL_GET, buf, sizeof(buf));
	if (n < 0)
		return;
	if ((size_t)n > size || strlen(buf) != (size_t)n)
		abort();
	cur = buf;
	while (tr_ctl_next(&cur, &key, &val) > 0)
		if (!*key)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];

	/* The socket buffer must take the input whole: no second thread here. */
	if (size < 1 || size > 16 * 1024)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	if (data[0] % 2 == 0)
		as_server(data + 1, size - 1, sv);
	else
		as_client(data + 1, size - 1, sv);
	close(sv[0]);
	if (data[0] % 2)
		close(sv[1]);
	return 0;
}
