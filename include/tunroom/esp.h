/* SPDX-License-Identifier: MIT */
/*
 * tunroom/esp.h - ESP (RFC 4303) encapsulation and decapsulation in place on a
 * packet view, with AES-GCM (RFC 4106) or AES-CBC + HMAC (RFC 3602 with
 * RFC 2404 / RFC 4868), and the inbound anti-replay window (RFC 4303 §3.4.3).
 *
 * The packet starts at the SPI. In UDP encapsulation (RFC 3948) the UDP header
 * belongs to the socket; a receiver tells ESP from IKE by a non-zero SPI word
 * (RFC 3948 §2.2), which is why SPI 0 is refused here.
 *
 * One SA is one direction and is used by one thread at a time: an outbound SA
 * encaps, an inbound SA decaps. Nothing here allocates, locks or makes a
 * system call per packet; the EVP contexts are keyed once in tr_esp_sa_alloc.
 */
#ifndef TUNROOM_ESP_H
#define TUNROOM_ESP_H

#include <stdint.h>

#include "tunroom/pkt.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tr_esp_cipher {
	TR_ESP_AES128_GCM,        /* RFC 4106, 16-byte ICV */
	TR_ESP_AES256_GCM,        /* RFC 4106, 16-byte ICV */
	TR_ESP_AES128_CBC_SHA1,   /* RFC 3602 + HMAC-SHA1-96 (RFC 2404) */
	TR_ESP_AES256_CBC_SHA256, /* RFC 3602 + HMAC-SHA-256-128 (RFC 4868) */
};

/* Extended (64-bit) sequence numbers, RFC 4303 §2.2.1: only the low half is
 * sent; the high half enters the ICV (and the GCM AAD, RFC 4106 §5). */
#define TR_ESP_F_ESN 0x1u
/* AES-GCM with OpenSSL even where tunroom is built with Intel's ipsec-mb
 * and would use it (the faster default on CPUs with AVX2 or AVX-512):
 * for comparisons, or to keep to one crypto library. */
#define TR_ESP_F_OPENSSL 0x2u

#define TR_ESP_REPLAY_DEFAULT 1024u  /* replay_window 0 means this */
#define TR_ESP_REPLAY_MIN     32u    /* RFC 4303 §3.4.3 minimum */
#define TR_ESP_REPLAY_MAX     65536u

struct tr_esp_sa_config {
	enum tr_esp_cipher cipher;
	uint32_t spi;                                   /* host order; not 0 */
	const uint8_t *key;      uint32_t key_len;      /* GCM: AES key followed by the 4-byte salt (as ip xfrm rfc4106 takes it) */
	const uint8_t *auth_key; uint32_t auth_key_len; /* CBC ciphers only (GCM: NULL, 0) */
	uint32_t replay_window;                         /* bits, inbound; 0 = 1024; else 32..65536 */
	uint32_t flags;                                 /* TR_ESP_F_* */
};

/* Counters of one SA. packets/bytes count successes (bytes = inner packet
 * bytes); every rejection bumps exactly one err_ counter. */
struct tr_esp_stats {
	uint64_t packets, bytes;
	uint64_t err_auth;         /* ICV / GCM tag did not verify (-EACCES) */
	uint64_t err_replay;       /* sequence number already seen in the window (-EALREADY) */
	uint64_t err_malformed;    /* too short, or CBC ciphertext not whole blocks (-EBADMSG) */
	uint64_t err_padding;      /* authentic, but pad length or pad bytes wrong (-EBADMSG) */
	uint64_t err_spi;          /* SPI is not this SA's (-ENOENT) */
	uint64_t err_seq_overflow; /* outbound sequence exhausted (-EOVERFLOW) */
	uint64_t err_room;         /* head or tail room too small to encap (-EMSGSIZE) */
	uint64_t err_too_old;      /* left of the replay window, or sequence 0 (-EALREADY) */
	uint64_t err_crypto;       /* OpenSSL failed where it cannot fail (-EIO) */
};

struct tr_esp_sa;

/* Allocates an SA and keys its EVP contexts. Returns 0, -EINVAL (NULL, SPI 0,
 * unknown cipher or flag, key or auth key of the wrong length, window outside
 * 32..65536), -ENOMEM, or -EIO (OpenSSL refused the cipher). */
int tr_esp_sa_alloc(struct tr_esp_sa **out, const struct tr_esp_sa_config *cfg);

/* Frees the SA and wipes its keys (OPENSSL_cleanse). NULL does nothing. */
void tr_esp_sa_free(struct tr_esp_sa *sa);

/* pkt data = the inner IP packet. Pushes SPI, sequence number and IV into the
 * head room, puts padding, pad length, next header and ICV into the tail room
 * and encrypts in place; pkt data is then the ESP packet, SPI first.
 * Needs tr_esp_head_room() in front and tr_esp_tail_room() behind.
 * Returns 0, -EINVAL (NULL), -EMSGSIZE (room too small; view and sequence
 * unchanged), -EOVERFLOW (sequence numbers exhausted: rekey), -EIO. */
int tr_esp_encap(struct tr_esp_sa *sa, struct tr_pkt *pkt, uint8_t next_header);

/* pkt data = an ESP packet starting at the SPI. Checks lengths and SPI,
 * pre-checks the replay window, verifies the ICV, updates the window, checks
 * the padding, and leaves pkt data = the inner packet and *next_header set
 * (59 = a dummy packet to drop, RFC 4303 §2.6).
 * Returns 0, -EINVAL (NULL), -EBADMSG (malformed or bad padding), -EACCES
 * (authentication failed), -EALREADY (replayed or too old), -ENOENT (wrong
 * SPI), -EIO. On any error the view is unchanged and nothing outside it was
 * written; after a GCM tag failure the bytes inside it are garbage (OpenSSL
 * decrypts and checks the tag in one pass). */
int tr_esp_decap(struct tr_esp_sa *sa, struct tr_pkt *pkt, uint8_t *next_header);

void tr_esp_sa_stats(const struct tr_esp_sa *sa, struct tr_esp_stats *out);

/* What seals and opens this SA's packets: "ipsec-mb avx512",
 * "ipsec-mb avx2", "openssl" or "openssl evp" (GCM), "openssl cbc+hmac". */
const char *tr_esp_sa_crypto(const struct tr_esp_sa *sa);

/* Bytes encap pushes: SPI 4 + sequence 4 + IV (8 GCM, 16 CBC). */
uint32_t tr_esp_head_room(enum tr_esp_cipher c);
/* Worst-case bytes encap puts: padding (3 GCM, 15 CBC) + 2 + ICV (16; 12 for SHA1-96). */
uint32_t tr_esp_tail_room(enum tr_esp_cipher c);

/* "aes128-gcm" "aes256-gcm" "aes128-cbc-sha1" "aes256-cbc-sha256"; 0 or -EINVAL. */
int tr_esp_cipher_parse(const char *name, enum tr_esp_cipher *out);
/* The name tr_esp_cipher_parse takes, or NULL for an unknown value. */
const char *tr_esp_cipher_name(enum tr_esp_cipher c);
/* Bytes of key (GCM: including the 4-byte salt); 0 for an unknown cipher. */
uint32_t tr_esp_key_len(enum tr_esp_cipher c);
/* Bytes of HMAC key; 0 for GCM and unknown ciphers. */
uint32_t tr_esp_auth_key_len(enum tr_esp_cipher c);
/* The length of the ESP packet tr_esp_encap makes of an inner packet of
 * inner_len bytes, SPI to ICV: header 8, IV, inner packet + padding + pad
 * length + next header aligned to the cipher (RFC 4303 §2, §2.4), ICV. Add
 * UDP (8) and the outer IP header for the datagram on the wire. 0 for an
 * unknown cipher. */
uint32_t tr_esp_encap_len(enum tr_esp_cipher c, uint32_t inner_len);
/* The largest inner packet whose ESP packet takes at most esp_max bytes (an
 * MTU after the outer IP and UDP headers): the inverse of tr_esp_encap_len.
 * 0 if none fits or the cipher is unknown. */
uint32_t tr_esp_inner_max(enum tr_esp_cipher c, uint32_t esp_max);

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_ESP_H */
