/* SPDX-License-Identifier: MIT */
/*
 * A tunnel peer that only floods: valid ESP-in-UDP (the peer's outbound SA,
 * so every datagram authenticates and reaches the receiver's ingress ring),
 * from the peer's own address and port, at a chosen rate or as fast as the
 * kernel takes them. Driven over stdin so one process (one SA, one sequence
 * space) serves a whole test: sequence numbers never repeat across phases.
 *
 *   espflood LOCAL:PORT PEER:PORT CIPHER SPI KEY [AUTH_KEY]
 *   stdin:  "send PPS SECONDS DPORT"  PPS 0 = unbounded; inner packets are
 *                                     UDP 198.18.0.1:7 -> 198.18.0.2:DPORT
 *           "quit"
 *   stdout: "sent N recv M" after each send: N datagrams the kernel took,
 *           M datagrams the peer sent us meanwhile (its egress still works)
 *
 * Run only inside a test namespace: the addresses come from the test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tunroom/esp.h"
#include "tunroom/pkt.h"

#define BATCH 64
#define INNER 64 /* bytes: IPv4 + UDP + payload; small packets, most per second */
#define ROOM 128

#define DIE(...) do { fprintf(stderr, "espflood: " __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		DIE("bad address %s (want A.B.C.D:PORT)", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		DIE("bad address %s", s);
}

static uint32_t parse_hex(const char *s, uint8_t *out, uint32_t max)
{
	uint32_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; s[0] && s[1] && n < max; s += 2) {
		unsigned v;
		if (sscanf(s, "%2x", &v) != 1)
			DIE("bad hex near %s", s);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static uint16_t ip_checksum(const uint8_t *h, unsigned len)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* IPv4 + UDP 198.18.0.1:7 -> 198.18.0.2:dport, payload = a counter. */
static void inner_packet(uint8_t *p, uint16_t dport, uint64_t n)
{
	memset(p, 0, INNER);
	p[0] = 0x45;
	p[2] = INNER >> 8;
	p[3] = INNER & 0xff;
	p[6] = 0x40; /* DF */
	p[8] = 64;
	p[9] = 17;
	inet_pton(AF_INET, "198.18.0.1", p + 12);
	inet_pton(AF_INET, "198.18.0.2", p + 16);
	uint16_t c = ip_checksum(p, 20);
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	p[21] = 7;
	p[22] = (uint8_t)(dport >> 8);
	p[23] = (uint8_t)dport;
	p[24] = (INNER - 20) >> 8;
	p[25] = (INNER - 20) & 0xff; /* UDP checksum 0: none (RFC 768) */
	memcpy(p + 28, &n, sizeof(n));
}

static unsigned drain(int fd)
{
	static uint8_t sink[2048];
	unsigned n = 0;

	while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

static void send_phase(int fd, struct tr_esp_sa *sa, double pps, double seconds, uint16_t dport)
{
	static uint8_t buf[BATCH][ROOM + INNER + ROOM];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	uint64_t sent = 0, recvd = 0;
	double start = now(), end = start + seconds;

	for (;;) {
		double t = now();
		if (t >= end)
			break;
		unsigned want = BATCH;
		if (pps > 0) {
			double due = (t - start) * pps - (double)sent;
			if (due < 1) {
				recvd += drain(fd);
				usleep(200);
				continue;
			}
			if (due < want)
				want = (unsigned)due;
		}
		for (unsigned i = 0; i < want; i++) {
			struct tr_pkt p;
			uint8_t nh = 4;
			tr_pkt_init(&p, buf[i], sizeof(buf[i]), ROOM, INNER);
			inner_packet(tr_pkt_data(&p), dport, sent + i);
			if (tr_esp_encap(sa, &p, nh))
				DIE("encap failed");
			iov[i] = (struct iovec){ tr_pkt_data(&p), p.len };
			msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		/* A blocking socket: a full send queue makes us wait, not drop, so
		 * "sent" is what left here. A datagram the kernel refused is not
		 * counted; its sequence number is simply skipped. */
		int r = sendmmsg(fd, msg, want, 0);
		if (r < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == ECONNREFUSED)
				continue;
			DIE("sendmmsg: %s", strerror(errno));
		}
		sent += (uint64_t)r;
		if ((sent & 0x3fff) < (uint64_t)r)
			recvd += drain(fd);
	}
	recvd += drain(fd);
	printf("sent %llu recv %llu\n", (unsigned long long)sent, (unsigned long long)recvd);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sockaddr_in local, peer;
	uint8_t key[64], auth[64];
	struct tr_esp_sa_config c = { 0 };
	struct tr_esp_sa *sa;
	char line[256];

	if (argc < 6)
		DIE("usage: espflood LOCAL:PORT PEER:PORT CIPHER SPI KEY [AUTH_KEY]");
	parse_addr(argv[1], &local);
	parse_addr(argv[2], &peer);
	if (tr_esp_cipher_parse(argv[3], &c.cipher))
		DIE("unknown cipher %s", argv[3]);
	c.spi = (uint32_t)strtoul(argv[4], NULL, 0);
	c.key = key;
	c.key_len = parse_hex(argv[5], key, sizeof(key));
	if (argc > 6) {
		c.auth_key = auth;
		c.auth_key_len = parse_hex(argv[6], auth, sizeof(auth));
	}
	if (tr_esp_sa_alloc(&sa, &c))
		DIE("SA rejected (cipher, SPI or key length)");

	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int one = 1, big = 4 << 20;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)) ||
	    bind(fd, (struct sockaddr *)&local, sizeof(local)) ||
	    connect(fd, (struct sockaddr *)&peer, sizeof(peer)))
		DIE("socket %s -> %s: %s", argv[1], argv[2], strerror(errno));

	while (fgets(line, sizeof(line), stdin)) {
		double pps, secs;
		unsigned dport;
		if (sscanf(line, "send %lf %lf %u", &pps, &secs, &dport) == 3 && dport < 65536)
			send_phase(fd, sa, pps, secs, (uint16_t)dport);
		else if (strncmp(line, "quit", 4) == 0)
			break;
		else
			DIE("unknown command: %s", line);
	}
	tr_esp_sa_free(sa);
	close(fd);
	return 0;
}
