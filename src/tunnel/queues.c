/* SPDX-License-Identifier: MIT */
/* Per-queue SAs and the reuseport steering program: queues.h. */
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "config/config.h"
#include "tunnel/queues.h"

/* HKDF-SHA256(ikm, salt "tunroom queues", info "queue Q key|auth") into out. */
static int derive(const uint8_t *ikm, size_t len, unsigned q, const char *what, uint8_t *out)
{
	char info[32];
	static const char salt[] = "tunroom queues";
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t outlen = len;
	int n = snprintf(info, sizeof(info), "queue %u %s", q, what);
	int ok = c && EVP_PKEY_derive_init(c) > 0 &&
		 EVP_PKEY_CTX_set_hkdf_md(c, EVP_sha256()) > 0 &&
		 EVP_PKEY_CTX_set1_hkdf_salt(c, (const unsigned char *)salt, sizeof(salt) - 1) > 0 &&
		 EVP_PKEY_CTX_set1_hkdf_key(c, ikm, (int)len) > 0 &&
		 EVP_PKEY_CTX_add1_hkdf_info(c, (const unsigned char *)info, n) > 0 &&
		 EVP_PKEY_derive(c, out, &outlen) > 0 && outlen == len;

	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -EIO;
}

int tr_queue_sa(const struct tr_config *cfg, unsigned q, bool inbound, struct tr_esp_sa_config *sc,
		uint8_t *key, uint8_t *auth)
{
	tr_config_sa(cfg, inbound, sc);
	if (q == 0)
		return 0;
	/* Both ends derive from the same bytes: our OutKey is the peer's InKey. */
	if (derive(sc->key, sc->key_len, q, "key", key))
		return -EIO;
	sc->key = key;
	if (sc->auth_key_len) {
		if (derive(sc->auth_key, sc->auth_key_len, q, "auth", auth))
			return -EIO;
		sc->auth_key = auth;
	}
	sc->spi += q;
	return 0;
}

int tr_queue_steer(int fd, uint32_t in_spi, unsigned n)
{
	/* The program sees the UDP payload (the kernel pulls the UDP header
	 * first): its first word is the SPI. A load past the end (a datagram
	 * shorter than 4 bytes: a NAT keepalive) ends the program with 0. */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_STMT(BPF_ALU | BPF_SUB | BPF_K, in_spi),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, n, 1, 0),
		BPF_STMT(BPF_RET | BPF_A, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}
