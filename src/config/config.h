/* SPDX-License-Identifier: MIT */
/*
 * The tunnel's configuration: a plain data model (struct tr_config) and the
 * INI parser that fills it, the tunnel's input. Parsing is kept apart from
 * acting: nothing here opens a device or a socket. The parser is split by
 * concern: reader.c (lines, sections, which key), keys.c (one value parser
 * per key), validate.c (what needs the whole file), model.c (facts derived
 * from a parsed config), keygen.c (fresh keys as config lines).
 */
#ifndef TR_CONFIG_CONFIG_H
#define TR_CONFIG_CONFIG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/sockaddr.h"
#include "tunroom/esp.h"

#define TR_CONFIG_ADDR_MAX      16
#define TR_CONFIG_PEER_ADDR_MAX 32
#define TR_CONFIG_TABLE_AUTO    0u          /* main; a default route by policy routing */
#define TR_CONFIG_TABLE_OFF     UINT32_MAX  /* no routes added */
#define TR_CONFIG_LINE_MAX      1024  /* longer lines are refused, not split */
#define TR_CONFIG_ERR_MAX       512
#define TR_CONFIG_KEY_MAX       36    /* AES-256 key + 4-byte GCM salt */
#define TR_CONFIG_AUTH_KEY_MAX  32    /* HMAC-SHA-256 key */
#define TR_CONFIG_USER_MAX      33    /* useradd's 32 characters and the NUL */

#define TR_CONFIG_OUTER_MTU_DEFAULT 1500u
#define TR_CONFIG_PORT_DEFAULT      4500u /* RFC 3948 §2: UDP-encapsulated ESP */
#define TR_CONFIG_REPLAY_DEFAULT    TR_ESP_REPLAY_DEFAULT
#define TR_CONFIG_REPLAY_MIN        TR_ESP_REPLAY_MIN /* RFC 4303 §3.4.3 */
#define TR_CONFIG_REPLAY_MAX        TR_ESP_REPLAY_MAX
#define TR_CONFIG_QUEUES_MAX        16u
#define TR_CONFIG_WORKERS_DEFAULT   1u  /* threads per queue (Workers); 2 with Inline = off */
#define TR_CONFIG_MTU_MIN           68u   /* RFC 791: every IPv4 host takes 68 */
#define TR_CONFIG_MTU_MIN_V6        1280u /* RFC 8200 §5 */
#define TR_CONFIG_SOCKBUF_MAX       (1u << 30)
/* Bursts of full-size datagrams overflow the kernel's ~208 KiB default before
 * the receive thread gets scheduled (rx_drop_socket counts them). */
#define TR_CONFIG_SOCKBUF_DEFAULT   (4u << 20)
/* RingCapacity when Offload = on and the file does not say: a TSO read holds
 * ~77 KiB of ring until the application passes it, even when only a small
 * packet came (docs/tun.md), so 4 MiB leaves room for ~50 in flight and
 * cost a quarter of the 64-byte rate. 16 MiB did not beat 8 MiB at any
 * column of the bench, and a tunnel that had just moved a TCP stream then
 * answered idle pings half as fast (docs/benchmarks.md, "RingCapacity"). */
#define TR_CONFIG_RING_OFFLOAD_DEFAULT (8u << 20)

struct tr_config_addr {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
	uint8_t prefix;
};

/* One direction of the SA pair. */
struct tr_config_sa_dir {
	uint32_t spi;
	uint8_t key[TR_CONFIG_KEY_MAX];       /* GCM: key then 4-byte salt (RFC 4106 §8.1) */
	size_t key_len;
	uint8_t auth_key[TR_CONFIG_AUTH_KEY_MAX];
	size_t auth_key_len;
};

struct tr_config {
	/* [Interface] */
	char name[IFNAMSIZ];
	struct tr_config_addr addr[TR_CONFIG_ADDR_MAX];
	unsigned n_addr;
	uint32_t mtu;            /* after tr_config_finish: set or derived */
	bool mtu_derived;        /* true when mtu came from outer_mtu - overhead */
	uint32_t outer_mtu;      /* path MTU between the two UDP ends */
	union tr_sockaddr listen; /* address and port; wildcard if ListenAddress unset */
	bool offload;            /* TUN super-packets + UDP GSO send + UDP GRO receive (default on) */
	bool zero_copy;          /* false: copy each packet out of/into the ring (baseline) */
	bool plain_io;           /* IO = plain: TUN I/O by read/write, never io_uring */
	bool inline_io;          /* Inline = on: the workers do the TUN I/O, no engine thread (default on) */
	uint32_t workers;        /* Workers: threads per queue, 1 (both directions) or 2 */
	bool csum_full;          /* Checksums = full: verify received TCP checksums (default partial) */
	bool crypto_openssl;     /* Crypto = openssl: AES-GCM by OpenSSL even where ipsec-mb is built in */
	uint32_t queues;         /* TUN queues, one worker pair each */
	uint32_t ring_capacity;  /* bytes per ring, power of two */
	uint32_t socket_buffer;  /* SO_RCVBUF/SO_SNDBUF bytes; 0 = kernel default */
	char user[TR_CONFIG_USER_MAX]; /* User: run as this user after setup; "" = stay root */
	unsigned user_line;            /* its line in the file, for messages */

	/* [SA] */
	enum tr_esp_cipher cipher;
	union tr_sockaddr endpoint;
	struct tr_config_sa_dir out, in;
	uint32_t replay_window;  /* packets, TR_CONFIG_REPLAY_MIN..MAX */
	bool esn;                /* 64-bit sequence numbers, RFC 4303 §2.2.1 */
	/* PeerAddresses: inner sources the peer may use; none = derived from
	 * Address (the networks of its prefixes, tr_config_peer_prefixes). */
	struct tr_config_addr peer_addr[TR_CONFIG_PEER_ADDR_MAX];
	unsigned n_peer_addr;
	uint32_t keepalive;      /* PersistentKeepalive seconds, 0 = off */
	/* Routes through the tunnel (wg-quick's AllowedIPs routes), into Table. */
	struct tr_config_addr routes[TR_CONFIG_PEER_ADDR_MAX];
	unsigned n_routes;
	uint32_t table;          /* TR_CONFIG_TABLE_AUTO, _OFF, or a table number (254 main) */
	uint32_t fwmark;         /* SO_MARK of the UDP socket; 0 = none */
};

/* Parser state: init, one call per line, finish (the wg-tools split). */
struct tr_config_ctx {
	struct tr_config *cfg;
	const char *file;        /* named in every message */
	unsigned line;           /* of the line being read */
	int section;             /* enum in config_int.h */
	unsigned section_line[3];
	unsigned key_line[48];   /* where each key was set; 0 = not set */
	char err[TR_CONFIG_ERR_MAX];
};

/* Starts a parse of FILE (used only in messages) into cfg, which is reset to
 * defaults. */
void tr_config_init(struct tr_config_ctx *ctx, struct tr_config *cfg, const char *file);

/* Parses one line (without or with its '\n'). Returns 0, or -EINVAL with
 * "FILE:LINE: ..." in ctx->err. */
int tr_config_read_line(struct tr_config_ctx *ctx, const char *line, size_t len);

/* Checks what needs the whole file (required keys, key lengths per cipher,
 * families) and derives defaults (MTU). Returns 0 or -EINVAL with ctx->err. */
int tr_config_finish(struct tr_config_ctx *ctx);

/* Parses a whole buffer: init, every line, finish. */
int tr_config_parse(struct tr_config *cfg, const char *file, const char *buf, size_t len,
		    char *err, size_t errlen);

/* Opens PATH, refuses it unless it is a regular file that group and others
 * cannot access, and parses it. Returns 0, -EACCES (mode), -EINVAL (content),
 * or the errno of open/read; the message is in err either way. */
int tr_config_load(struct tr_config *cfg, const char *path, char *err, size_t errlen);

/* The codec's view of one direction's SA; key pointers point into cfg. */
void tr_config_sa(const struct tr_config *cfg, bool inbound, struct tr_esp_sa_config *out);

/* Wipes key material. */
void tr_config_wipe(struct tr_config *cfg);

/* The cipher facts (key lengths, what ESP adds) are the codec's: tunroom/esp.h. */
/* A cipher by name, in any case ("AES128-GCM"); 0 or -EINVAL. */
int tr_config_cipher_parse(const char *name, enum tr_esp_cipher *out);
/* "aes128-gcm, aes256-gcm, ..." for messages. */
const char *tr_config_cipher_names(void);
/* Bytes ESP-in-UDP adds around an inner packet of inner_len bytes, outer IP
 * header included (RFC 4303 §2, RFC 3948 §2.1). */
uint32_t tr_config_overhead(enum tr_esp_cipher c, int outer_family, uint32_t inner_len);
/* Largest inner packet that fits outer_mtu. */
uint32_t tr_config_mtu_for(enum tr_esp_cipher c, int outer_family, uint32_t outer_mtu);

/* Writes fresh random SPIs and keys for cipher c as config lines (what
 * `tunroom genkey` prints). Returns the length written, -EINVAL (cipher),
 * -EMSGSIZE (len too small) or -EIO (no randomness); wipe buf after use. */
int tr_config_genkey(enum tr_esp_cipher c, char *buf, size_t len);

/* A name usable as a TUN device and as a socket file name. */
bool tr_config_name_ok(const char *name);

/* A well-formed user name for User (whether it exists is not asked here). */
bool tr_config_user_ok(const char *user);

#endif
