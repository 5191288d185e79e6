/* SPDX-License-Identifier: MIT */
/*
 * A control socket with made-up counters and no data plane, so that
 * `tunroom show` and `tunroom down` can be tested without root. Usage:
 * fake_tunnel DIR NAME; prints "ready" once listening, exits 0 on stop=1
 * (or 1 after 30 s, so a broken test cannot leave it behind).
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "ctl/server.h"

static bool stopping;

static int get(void *arg, struct tr_ctl_reply *r)
{
	(void)arg;
	tr_ctl_put_str(r, "name", "tr0");
	tr_ctl_put_str(r, "cipher", "aes128-gcm");
	tr_ctl_put_u64(r, "mtu", 1438);
	tr_ctl_put_str(r, "state", "up");
	tr_ctl_put_u64(r, "pid", (uint64_t)getpid());
	tr_ctl_put_u64(r, "uptime", 12);
	tr_ctl_put_str(r, "listen", "192.0.2.1:4500");
	tr_ctl_put_str(r, "endpoint", "192.0.2.2:4500");
	tr_ctl_put_str(r, "out_spi", "0x00001001");
	tr_ctl_put_str(r, "in_spi", "0x00001002");
	tr_ctl_put_u64(r, "replay_window", 1024);
	tr_ctl_put_str(r, "note", "say \"hi\"\\");
	tr_ctl_put_u64(r, "rx_packets", 1000);
	tr_ctl_put_u64(r, "rx_bytes", 1400000);
	tr_ctl_put_u64(r, "rx_err_auth", 3);
	tr_ctl_put_u64(r, "rx_drop_replay", 2);
	/* As many columns as the real tunnel sends, so the table wraps. */
	static const char *const more[] = { "rx_err_malformed", "rx_err_padding", "rx_drop_spi",
		"rx_drop_peer", "rx_drop_trunc", "rx_drop_socket", "rx_drop_not_esp",
		"rx_drop_next_header", "rx_drop_ring_full", "rx_drop_malformed_inner" };
	for (unsigned i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		tr_ctl_put_u64(r, more[i], i);
	tr_ctl_put_u64(r, "tx_packets", 999);
	tr_ctl_put_u64(r, "tx_bytes", 1398600);
	tr_ctl_put_u64(r, "tx_drop_ring_full", 0);
	tr_ctl_put_u64(r, "copies", 0);
	return 0;
}

static int stop(void *arg)
{
	(void)arg;
	stopping = true;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct tr_ctl_ops ops = { get, stop };
	struct tr_ctl *ctl;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: fake_tunnel DIR NAME\n");
		return 2;
	}
	r = tr_ctl_open(&ctl, argv[1], argv[2], &ops, NULL);
	if (r) {
		fprintf(stderr, "fake_tunnel: %d\n", r);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (int ticks = 0; !stopping && ticks < 300; ticks++) {
		struct pollfd p = { .fd = tr_ctl_fd(ctl), .events = POLLIN };
		if (poll(&p, 1, 100) > 0)
			tr_ctl_accept(ctl);
	}
	tr_ctl_close(ctl);
	return stopping ? 0 : 1;
}
