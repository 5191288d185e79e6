/* SPDX-License-Identifier: MIT */
/*
 * Test tool for tun-echo.sh, run inside the test's namespace:
 *   tuntest create NAME MTU PREFIX...     persistent TUN, MTU, addresses, up;
 *                                         prints the real name ("tr%d" expands)
 *   tuntest echo NAME BACKEND SRC DST...  attaches, writes a burst of ICMP echo
 *                                         requests SRC->DST per pair through
 *                                         tunio (uring|plain), reads the replies
 *   tuntest delete NAME                   removes the link over netlink
 * Exits 0 on success, 1 with a message on stderr otherwise.
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/netlink.h"
#include "engine/tun.h"
#include "engine/tunio.h"
#include "icmp.h"

#define BURST 8
#define TIMEOUT_MS 3000

static int fail(const char *what, int err)
{
	fprintf(stderr, "tuntest: %s: %s\n", what, strerror(-err));
	return 1;
}

static int cmd_create(int argc, char **argv)
{
	struct tr_tun t;
	struct tr_nl *nl;
	int err, ifindex;

	if (argc < 2)
		return fail("create NAME MTU PREFIX...", -EINVAL);
	err = tr_tun_open(&t, &(struct tr_tun_config){
		.name = argv[0], .flags = TR_TUN_F_CREATE | TR_TUN_F_PERSIST });
	if (err) {
		fprintf(stderr, "tuntest: %s: %s\n", argv[0], tr_tun_strerror(err));
		return 1;
	}
	err = tr_nl_open(&nl);
	if (err)
		return fail("netlink", err);
	err = tr_nl_link_index(nl, t.name, &ifindex);
	if (err)
		return fail("link index", err);
	err = tr_nl_link_set_mtu(nl, ifindex, (uint32_t)strtoul(argv[1], NULL, 10));
	if (err)
		return fail("set mtu", err);
	for (int i = 2; i < argc; i++) {
		struct tr_ip_prefix p;

		if (tr_ip_prefix_parse(&p, argv[i]))
			return fail(argv[i], -EINVAL);
		err = tr_nl_addr_add(nl, ifindex, &p);
		if (err)
			return fail(argv[i], err);
		/* The same address twice is the kernel's -EEXIST, passed through. */
		if (tr_nl_addr_add(nl, ifindex, &p) != -EEXIST)
			return fail("second add of the same address", -EPROTO);
	}
	err = tr_nl_link_set_up(nl, ifindex, true);
	if (err)
		return fail("set up", err);
	/* NODAD addresses still pass the DAD work queue once the link is up. */
	err = tr_nl_addr_wait_ready(nl, ifindex, 2000);
	if (err)
		return fail("addresses ready", err);
	tr_nl_close(nl);
	printf("%s\n", t.name);
	tr_tun_close(&t);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One burst of BURST requests per SRC/DST pair; every reply must come back. */
static int cmd_echo(int argc, char **argv)
{
	static uint8_t req[4 * BURST][128], rbuf[BURST][2048];
	struct iovec wv[4 * BURST], rv[BURST];
	uint32_t lens[BURST];
	unsigned pairs, n = 0, want_mask_bits, got = 0, other = 0;
	uint64_t seen = 0;
	enum tr_tunio_backend be;
	struct tr_tunio *io;
	struct tr_tunio_stats st;
	struct tr_nl *mon = NULL;
	struct tr_tun t;
	long deadline;
	int err, ifindex;

	if (argc < 4 || (argc - 2) % 2 || (argc - 2) / 2 > 4)
		return fail("echo NAME uring|plain SRC DST [SRC DST]...", -EINVAL);
	be = !strcmp(argv[1], "plain") ? TR_TUNIO_PLAIN : TR_TUNIO_URING;
	pairs = (unsigned)(argc - 2) / 2;
	{
		struct tr_nl *nl;
		unsigned flags;

		err = tr_nl_open(&nl);
		if (!err)
			err = tr_nl_link_index(nl, argv[0], &ifindex);
		if (!err)
			err = tr_nl_link_flags(nl, ifindex, &flags);
		if (err)
			return fail("link", err);
		tr_nl_close(nl);
		if ((flags & IFF_UP) && !(flags & IFF_RUNNING)) {
			err = tr_nl_monitor_open(&mon);
			if (err)
				return fail("monitor", err);
		}
	}
	err = tr_tun_open(&t, &(struct tr_tun_config){ .name = argv[0], .flags = TR_TUN_F_ATTACH });
	if (err) {
		fprintf(stderr, "tuntest: %s: %s\n", argv[0], tr_tun_strerror(err));
		return 1;
	}
	/* Our attach gave the link its carrier back; wait until it can send,
	 * or the kernel drops the first replies (netlink.h). */
	if (mon) {
		err = tr_nl_monitor_wait_running(mon, ifindex, TIMEOUT_MS);
		if (err)
			return fail("link running", err);
		tr_nl_close(mon);
	}
	err = tr_tunio_open(&io, t.fds[0], BURST, be);
	if (err)
		return fail("tunio", err);
	for (unsigned p = 0; p < pairs; p++) {
		const char *src = argv[2 + 2 * p], *dst = argv[3 + 2 * p];
		bool v6 = strchr(src, ':') != NULL;

		for (unsigned i = 0; i < BURST; i++, n++) {
			size_t len = v6 ? build_echo6(req[n], src, dst, (uint16_t)n)
					: build_echo4(req[n], src, dst, (uint16_t)n);
			wv[n] = (struct iovec){ req[n], len };
		}
	}
	for (unsigned i = 0; i < BURST; i++)
		rv[i] = (struct iovec){ rbuf[i], sizeof(rbuf[i]) };
	err = tr_tunio_write(io, wv, n, NULL);
	if (err != (int)n)
		return fail("write burst", err < 0 ? err : -EIO);

	want_mask_bits = n;
	deadline = now_ms() + TIMEOUT_MS;
	while (got < want_mask_bits) {
		struct pollfd pfd = { .fd = t.fds[0], .events = POLLIN };
		long left = deadline - now_ms();
		int k;

		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		k = tr_tunio_read(io, rv, BURST, lens);
		if (k < 0)
			return fail("read burst", k);
		for (unsigned i = 0; i < BURST; i++) {
			int seq = -1;

			if (!lens[i])
				continue;
			for (unsigned p = 0; p < pairs && seq < 0; p++)
				seq = echo_reply_seq(rbuf[i], lens[i], argv[2 + 2 * p], argv[3 + 2 * p]);
			if (seq < 0 || seq >= (int)n || (seen & (1ull << seq))) {
				other++; /* router solicitation, MLD report, ... */
				continue;
			}
			seen |= 1ull << seq;
			got++;
		}
	}
	tr_tunio_stats(io, &st);
	printf("%s: %u requests, %u replies, %u other packets, %s backend, "
	       "%llu syscalls (%.2f per packet)\n", t.name, n, got, other,
	       tr_tunio_backend_name(io), (unsigned long long)st.syscalls,
	       (double)st.syscalls / (double)(st.tx_packets + st.rx_packets));
	tr_tunio_close(io);
	tr_tun_close(&t);
	if (got != n) {
		fprintf(stderr, "tuntest: missing replies: got %u of %u\n", got, n);
		return 1;
	}
	return 0;
}

static int cmd_delete(int argc, char **argv)
{
	struct tr_nl *nl;
	int err, ifindex;

	if (argc != 1)
		return fail("delete NAME", -EINVAL);
	err = tr_nl_open(&nl);
	if (!err)
		err = tr_nl_link_index(nl, argv[0], &ifindex);
	if (!err)
		err = tr_nl_link_del(nl, ifindex);
	if (err)
		return fail(argv[0], err);
	/* Gone means gone: the kernel says so in its own words. */
	if (tr_nl_link_index(nl, argv[0], &ifindex) != -ENODEV)
		return fail("link still there after delete", -EEXIST);
	tr_nl_close(nl);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "create"))
		return cmd_create(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "echo"))
		return cmd_echo(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "delete"))
		return cmd_delete(argc - 2, argv + 2);
	fprintf(stderr, "usage: tuntest create|echo|delete ...\n");
	return 2;
}
