/* SPDX-License-Identifier: MIT */
/*
 * The (D)TLS record layer of the data plane, AEAD suites only, in place on
 * packet views: DTLS 1.2 (RFC 6347 §4.1, RFC 5288, RFC 7905), TLS 1.2
 * (RFC 5246 §6.2.3.3) and TLS 1.3 (RFC 8446 §5.2). One struct tr_ac_aead is
 * one direction of one record layer: its cipher context with the key schedule
 * set once, its fixed IV and its sequence number. Not thread-safe: each
 * direction belongs to one thread.
 */
#ifndef TR_ANYCONNECT_REC_H
#define TR_ANYCONNECT_REC_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "anyconnect/dataplane.h"
#include "codec/replay.h"
#include "tunroom/pkt.h"

#define TR_AC_DTLS_HDR  13u  /* type, version, epoch, seq48, length */
#define TR_AC_TLS_HDR   5u   /* type, version, length */
#define TR_AC_TAG       16u
#define TR_AC_EXPLICIT  8u   /* GCM explicit nonce of (D)TLS 1.2 */
/* RFC 5246 §6.2.3 / RFC 8446 §5.2: ciphertext of at most 2^14 + 2048
 * (1.2) or 2^14 + 256 (1.3) bytes. */
#define TR_AC_TLS_REC_MAX (TR_AC_TLS_HDR + 16384u + 2048u)
#define TR_AC_REPLAY_WINDOW 64u

/* Content types (RFC 5246 §6.2.1). */
#define TR_AC_CT_ALERT 21
#define TR_AC_CT_HANDSHAKE 22
#define TR_AC_CT_APP 23

struct tr_aead;

struct tr_ac_aead {
	EVP_CIPHER_CTX *ctx;       /* ChaCha20, and the piecewise TLS open */
	struct tr_aead *fast;      /* AES-GCM whole records (src/codec/aead.h) */
	uint16_t version;   /* TR_AC_VERSION_* */
	uint8_t cipher;     /* enum tr_ac_cipher */
	uint8_t iv_len;
	uint8_t iv[12];
	uint16_t epoch;     /* DTLS */
	uint64_t seq;       /* tx: next to send; TLS rx: next expected */
	uint64_t seq_max;   /* DTLS: 2^48 - 1; TLS: 2^64 - 1 */
	bool enc;
	/* DTLS rx only: RFC 6347 §4.1.2.6 window (right edge = the highest
	 * authenticated sequence number); a struct tr_replay lives in here. */
	uint64_t replay_mem[8];
};

/* AES-GCM by OpenSSL even where tunroom is built with ipsec-mb (tunroom
 * connect --crypto openssl): to compare the two, or to keep to one crypto
 * library. No effect on ChaCha20-Poly1305, which OpenSSL always seals. */
#define TR_AC_AEAD_F_OPENSSL 0x1u

/* Sets a up from k; enc = sealing side; flags: TR_AC_AEAD_F_*. Returns 0,
 * -EINVAL (bad key or IV length for the cipher, unknown flags), -ENOTSUP,
 * -ENOMEM. */
int tr_ac_aead_init(struct tr_ac_aead *a, const struct tr_ac_rec_keys *k, bool enc,
		    unsigned flags);
/* Frees the context and wipes the keys. Safe on a zeroed or freed a. */
void tr_ac_aead_free(struct tr_ac_aead *a);

/* Bytes a record adds before the AnyConnect type byte / CSTP header, and
 * after the payload. */
uint32_t tr_ac_dtls_head(const struct tr_ac_aead *a);
uint32_t tr_ac_tls_head(const struct tr_ac_aead *a);
uint32_t tr_ac_rec_tail(const struct tr_ac_aead *a);
/* What seals and opens a's records: tr_aead_impl()'s name for AES-GCM
 * ("ipsec-mb avx512", "openssl", ...), "openssl evp" for the others. */
const char *tr_ac_aead_impl(const struct tr_ac_aead *a);

/*
 * DTLS seal: p's data is the payload (an IP packet); pushes the AnyConnect
 * type byte, the explicit nonce and the record header into head room, puts
 * the tag into tail room, and encrypts in place. p's data is then the whole
 * record, ready to send. Returns 0, -EMSGSIZE (room, or a record over 2^14),
 * -ERANGE (sequence numbers of this epoch used up: rekey), -EIO.
 */
int tr_ac_dtls_seal(struct tr_ac_aead *a, struct tr_pkt *p, uint8_t ac_type);

/*
 * DTLS open: p's data is one datagram holding one record. Checks the header,
 * the epoch and the replay window (before decrypting), decrypts in place,
 * and only then marks the sequence number seen. On success p's data is the
 * plaintext (for application data: the AnyConnect type byte, then the
 * packet) and *ctype the record's content type (TR_AC_CT_APP or
 * TR_AC_CT_ALERT). Returns 0, -ENODATA (too short), -EPROTO (version,
 * content type, or the length does not match the datagram), -ESTALE (other
 * epoch), -EALREADY (replayed, or left of the window), -EBADMSG (the tag
 * did not verify), -EIO.
 */
int tr_ac_dtls_open(struct tr_ac_aead *a, struct tr_pkt *p, uint8_t *ctype);

/*
 * TLS seal: p's data is the plaintext (a CSTP header and packet); pushes the
 * record header (and for 1.2 GCM the explicit nonce), appends the TLS 1.3
 * inner content type and the tag, encrypts in place. Returns 0, -EMSGSIZE,
 * -ERANGE, -EIO.
 */
int tr_ac_tls_seal(struct tr_ac_aead *a, struct tr_pkt *p, uint8_t ctype);

/*
 * TLS record header at h (TR_AC_TLS_HDR bytes): checks it and gives the whole
 * record's length (header included) and the plaintext's length (for 1.3 with
 * the inner content type and padding). Returns 0, or -EPROTO (a type no
 * AEAD record of this version has, version, or a length out of bounds).
 */
int tr_ac_tls_hdr(const struct tr_ac_aead *a, const uint8_t *h, uint32_t *rec_len,
		  uint32_t *pt_len);

/*
 * Opening a TLS record piecewise, so that each part of the plaintext lands
 * where it belongs (the CSTP header in scratch, the packet straight in its
 * ring slot): begin(whole record), then part() over consecutive ciphertext
 * pieces adding up to pt_len (out may differ from in; must not overlap it
 * unless equal), then end(), which checks the tag and steps the sequence
 * number. Returns 0, -EBADMSG (end: tag), -ERANGE, -EIO.
 */
int tr_ac_tls_open_begin(struct tr_ac_aead *a, const uint8_t *rec, uint32_t rec_len);
int tr_ac_tls_open_part(struct tr_ac_aead *a, const uint8_t *in, uint8_t *out, uint32_t n);
int tr_ac_tls_open_end(struct tr_ac_aead *a, const uint8_t *rec, uint32_t rec_len);
/* Offset of the first ciphertext byte in a record. */
uint32_t tr_ac_tls_ct_off(const struct tr_ac_aead *a);

#endif
