/* SPDX-License-Identifier: MIT */
/*
 * Bounded UDP flood through a TUN-backed session, run in tundev-load.sh's
 * namespace, with a sequence number in every packet: each one is accounted
 * for, delivered (exactly once, in order) or in a named drop counter.
 *   egress:  UDP socket -> 198.18.0.2 -> trlN -> engine -> egress ring -> us
 *            lost only as the link's tx_dropped (the TUN queue was full)
 *   ingress: us -> ingress ring -> engine -> trlN -> UDP socket 198.18.0.1
 *            lost only as the socket's receive-queue overflow (SO_RXQ_OVFL)
 * Usage: tundevload [COUNT]   (default 20000 each way)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tunroom/tun.h"
#include "tunroom/tunroom.h"
#include "icmp.h"

#define TIMEOUT_S 10
#define PAYLOAD 64

#define CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "tundevload:%d: %s: ", __LINE__, #cond); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } } while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t sysfs_counter(const char *dev, const char *name)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", dev, name);
	f = fopen(path, "r");
	CHECK(f, "%s: %s", path, strerror(errno));
	CHECK(fscanf(f, "%llu", &v) == 1, "%s", path);
	fclose(f);
	return v;
}

static int udp_socket(const char *addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), big = 32 << 20, one = 1;

	inet_pton(AF_INET, addr, &sa.sin_addr);
	CHECK(fd >= 0 && bind(fd, (void *)&sa, sizeof(sa)) == 0, "bind %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	return fd;
}

/* Kernel -> TUN -> egress ring: the flood is sent as fast as the socket
 * takes it; whatever the TUN queue could not hold is tx_dropped. */
static void egress(struct tr_session *s, const char *dev, uint32_t count)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9000) };
	uint64_t dropped0 = sysfs_counter(dev, "tx_dropped"), dropped;
	uint32_t next = 0, delivered = 0, other = 0;
	uint8_t payload[PAYLOAD] = { 0 };
	int fd = udp_socket("198.18.0.1", 9100);
	double deadline;

	inet_pton(AF_INET, "198.18.0.2", &to.sin_addr);
	for (uint32_t seq = 0; seq < count; seq++) {
		memcpy(payload, &seq, sizeof(seq));
		CHECK(sendto(fd, payload, sizeof(payload), 0, (void *)&to, sizeof(to)) == PAYLOAD,
		      "send %u: %s", seq, strerror(errno));
		/* Drain as we go, so that the test measures the device, not a
		 * receiver that never ran. */
		for (struct tr_pkt pkt; tr_rx_receive(s, &pkt) == 0; tr_rx_release(s, &pkt)) {
			const uint8_t *p = tr_pkt_data(&pkt);
			uint32_t got;

			if (pkt.len != 20 + 8 + PAYLOAD || p[9] != 17) {
				other++;
				continue;
			}
			memcpy(&got, p + 28, sizeof(got));
			/* One queue keeps order: a sequence number may be missing
			 * (dropped), never repeated or early. */
			CHECK(got >= next, "seq %u after %u: reordered or duplicated", got, next);
			next = got + 1;
			delivered++;
		}
	}
	deadline = now() + TIMEOUT_S;
	for (;;) {
		struct tr_pkt pkt;
		int err = tr_rx_receive(s, &pkt);

		if (err == -EAGAIN) {
			dropped = sysfs_counter(dev, "tx_dropped") - dropped0;
			if (delivered + dropped >= count || now() > deadline)
				break;
			tr_rx_wait(s, 100);
			continue;
		}
		CHECK(err == 0, "%s", tr_strerror(err));
		const uint8_t *p = tr_pkt_data(&pkt);
		uint32_t got;

		if (pkt.len == 20 + 8 + PAYLOAD && p[9] == 17) {
			memcpy(&got, p + 28, sizeof(got));
			CHECK(got >= next, "seq %u after %u: reordered or duplicated", got, next);
			next = got + 1;
			delivered++;
		} else {
			other++;
		}
		tr_rx_release(s, &pkt);
	}
	dropped = sysfs_counter(dev, "tx_dropped") - dropped0;
	printf("egress: %u sent, %u delivered, %llu dropped by the TUN queue (tx_dropped), "
	       "%u other packets\n", count, delivered, (unsigned long long)dropped, other);
	CHECK(delivered + dropped == count, "%u + %llu != %u: packets unaccounted for",
	      delivered, (unsigned long long)dropped, count);
	close(fd);
}

/* IPv4 + UDP, checksum 0 (RFC 768: none computed), from 198.18.0.2:9001
 * to 198.18.0.1:9002. */
static uint32_t build_udp(uint8_t *p, uint32_t seq)
{
	uint32_t len = 20 + 8 + PAYLOAD;

	build_ip4(p, len, 17, "198.18.0.2", "198.18.0.1", 0, true);
	p[20] = 9001 >> 8; p[21] = 9001 & 0xff;
	p[22] = 9002 >> 8; p[23] = 9002 & 0xff;
	p[24] = (uint8_t)((8 + PAYLOAD) >> 8);
	p[25] = (uint8_t)(8 + PAYLOAD);
	memcpy(p + 28, &seq, sizeof(seq));
	return len;
}

/* Ingress ring -> TUN -> kernel: the ring pushes back when full (counted as
 * tx_err_ring_full by the session), so nothing may go missing before the
 * socket; the socket's own overflow is SO_RXQ_OVFL. */
static void ingress(struct tr_session *s, struct tr_device *dev, uint32_t count)
{
	struct tr_tundev_stats before, after;
	struct tr_stats st;
	uint32_t delivered = 0, next = 0, ovfl = 0;
	int fd = udp_socket("198.18.0.1", 9002);
	double deadline;

	tr_tundev_stats(dev, &before);
	for (uint32_t seq = 0; seq < count; seq++) {
		struct tr_pkt pkt;
		int err;

		while ((err = tr_tx_allocate(s, 128, &pkt)) == -EAGAIN)
			usleep(100); /* the engine is writing: let it */
		CHECK(err == 0, "%s", tr_strerror(err));
		pkt.len = build_udp(tr_pkt_data(&pkt), seq);
		CHECK(tr_tx_commit(s, &pkt, 0) == 0, "commit");
	}
	deadline = now() + TIMEOUT_S;
	while (delivered + ovfl < count && now() < deadline) {
		uint8_t buf[256], cbuf[CMSG_SPACE(sizeof(uint32_t))];
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint32_t got;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if (recvmsg(fd, &mh, MSG_DONTWAIT) != PAYLOAD)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
				memcpy(&ovfl, CMSG_DATA(c), sizeof(ovfl));
		memcpy(&got, buf, sizeof(got));
		CHECK(got >= next, "seq %u after %u: reordered or duplicated", got, next);
		next = got + 1;
		delivered++;
	}
	tr_session_stats(s, &st);
	tr_tundev_stats(dev, &after);
	printf("ingress: %u committed (%llu times the ring was full), %u delivered, "
	       "%u dropped by the socket (SO_RXQ_OVFL), %llu refused by TUN, %llu malformed\n",
	       count, (unsigned long long)st.tx_err_ring_full, delivered, ovfl,
	       (unsigned long long)(after.ingress_err_write - before.ingress_err_write),
	       (unsigned long long)(after.ingress_drop_malformed - before.ingress_drop_malformed));
	CHECK(delivered + ovfl + (after.ingress_err_write - before.ingress_err_write) == count,
	      "packets unaccounted for");
	close(fd);
}

int main(int argc, char **argv)
{
	const char *addrs[] = { "198.18.0.1/24" };
	struct tr_tundev_config cfg = { .name = "trl%d", .addresses = addrs, .n_addresses = 1,
					.flags = TR_TUNDEV_F_CREATE };
	struct tr_session_config sc = { .capacity = 1u << 20, .head_room = 32, .tail_room = 32,
					.max_packet = 2048 };
	uint32_t count = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 20000;
	struct tr_tundev_stats ds;
	struct tr_device *dev;
	struct tr_session *s;
	int err;

	err = tr_tundev_open(&dev, &cfg);
	CHECK(err == 0, "%s", tr_tundev_strerror(err));
	err = tr_session_open(&s, dev, &sc);
	CHECK(err == 0, "%s", tr_strerror(err));
	egress(s, tr_tundev_name(dev), count);
	ingress(s, dev, count);
	tr_session_close(s);
	tr_tundev_stats(dev, &ds);
	printf("device: %llu syscalls for %llu packets (%.3f per packet), %llu sleeps\n",
	       (unsigned long long)ds.syscalls,
	       (unsigned long long)(ds.egress_packets + ds.ingress_packets),
	       (double)ds.syscalls / (double)(ds.egress_packets + ds.ingress_packets),
	       (unsigned long long)ds.polls);
	tr_device_close(dev);
	return 0;
}
