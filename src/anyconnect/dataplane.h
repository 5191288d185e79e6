/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect data plane: moves packets between a TUN session's rings and
 * the two channels of an AnyConnect session, with the record layers done here,
 * in place in the ring slots, instead of by GnuTLS:
 *
 *   DTLS  connected UDP socket, DTLS 1.2 AEAD records, one per datagram,
 *         plaintext = 1 AnyConnect type byte + packet (docs/anyconnect-dataplane.md)
 *   CSTP  TCP socket, TLS 1.2 / 1.3 AEAD records, one per CSTP packet,
 *         plaintext = 8-byte CSTP header ("STF\1", length, type, 0) + packet
 *
 * Who does what. The control plane (login, CONNECT, the DTLS handshake, DPD
 * and fallback decisions, reconnects) keeps GnuTLS for every handshake. When a
 * handshake is done it takes the record keys with tr_ac_keys_from_gnutls() and
 * hands the socket and the keys over: tr_ac_dp_set_cstp() after the CONNECT
 * reply, tr_ac_dp_set_dtls() after the DTLS handshake (again after a new DTLS
 * handshake: rekey). From then on GnuTLS must never send or receive records on
 * that session again (its sequence numbers are ours now): keep the session
 * only to deinit it.
 *
 * Threads. tr_ac_dp_new() starts the data threads: tx (egress ring -> seal
 * -> sendmmsg / sendmsg on the channel tr_ac_dp_use() chose) and rx (recvmmsg
 * on UDP, recv on TCP -> open -> ingress ring), or one thread doing both
 * (cfg.threads). Every other function is for ONE control thread (the one that
 * called tr_ac_dp_new), unless it says otherwise. Calls on the control thread
 * never wait for the network, with one exception: set_* and close wait until
 * no data thread uses the channel they replace, which takes one batch, or
 * with one data thread as long as a CSTP send waits for TCP room.
 *
 * The data plane answers DPD requests (type 3) itself, with a DPD response
 * (type 4) echoing the payload on the channel the request came on. Every
 * other control packet, and channel failures, reach the control thread
 * through tr_ac_dp_ctl_fd() / tr_ac_dp_read_ctl().
 *
 * All functions return 0 (or a count) or a negative errno. No function
 * prints; messages worth a line go to cfg.log.
 */
#ifndef TR_ANYCONNECT_DATAPLANE_H
#define TR_ANYCONNECT_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "tunroom/framing.h" /* TR_AC_DATA, TR_AC_DPD_REQ, ... packet types */
#include "tunroom/tunroom.h"

struct tr_device;

enum tr_ac_chan {
	TR_AC_CHAN_CSTP = 0, /* TLS over TCP */
	TR_AC_CHAN_DTLS = 1, /* DTLS over UDP */
	TR_AC_CHAN_NONE = 2, /* tr_ac_dp_use(): no channel carries data (egress dropped) */
};

/* Record protections the data plane seals and opens. */
enum tr_ac_cipher {
	TR_AC_CIPHER_AES_128_GCM = 1,
	TR_AC_CIPHER_AES_256_GCM = 2,
	TR_AC_CIPHER_CHACHA20_POLY1305 = 3,
};

#define TR_AC_VERSION_DTLS12 0xfefdu
#define TR_AC_VERSION_TLS12  0x0303u
#define TR_AC_VERSION_TLS13  0x0304u

/* One direction of one record layer, as gnutls_record_get_state() gives it. */
struct tr_ac_rec_keys {
	uint16_t version;  /* TR_AC_VERSION_* */
	uint8_t cipher;    /* enum tr_ac_cipher */
	uint8_t key_len;   /* 16 or 32 */
	uint8_t key[32];
	uint8_t iv_len;    /* 4 (TLS/DTLS 1.2 GCM: the implicit salt) or 12 (TLS 1.3, ChaCha20) */
	uint8_t iv[12];
	uint16_t epoch;    /* DTLS only: the epoch of these keys (1 after the first handshake) */
	uint64_t seq;      /* tx: the next sequence number to send; rx: the next one expected
			    * (DTLS: 48 bits, without the epoch; TLS: 64 bits) */
};

/*
 * Takes both directions' record state out of a GnuTLS session whose handshake
 * has completed (TLS 1.2, TLS 1.3 or DTLS 1.2): tx = our write side, rx = our
 * read side (the peer's write side). Any thread; copies everything, so the
 * session may be deinit'ed afterwards. Returns 0, -ENOTSUP (a cipher other
 * than AES-128/256-GCM or ChaCha20-Poly1305, or an unknown version), or
 * -EPROTO (GnuTLS refused: no handshake yet).
 */
int tr_ac_keys_from_gnutls(gnutls_session_t s, struct tr_ac_rec_keys *tx,
			   struct tr_ac_rec_keys *rx);

/* Room the data plane needs around every packet in the session's rings
 * (the largest of DTLS 1.2 GCM: 13 + 8 + 1 before, 16 after; TLS 1.2 GCM:
 * 5 + 8 + 8 before, 16 after; TLS 1.3: 5 + 8 before, 1 + 16 after), rounded
 * up to keep packets 16-byte aligned. tr_ac_dp_new() opens the session with
 * these. Open the TUN device with TR_TUNDEV_F_OFFLOAD (bursts: UDP GSO runs
 * out, TSO writes in) and TR_TUNDEV_F_TRUST_CSUM (every packet the data
 * plane commits was authenticated by its AEAD). */
#define TR_AC_DP_HEAD_ROOM 32u
#define TR_AC_DP_TAIL_ROOM 32u

/* log levels (cfg.log) */
#define TR_AC_LOG_ERR  0
#define TR_AC_LOG_INFO 1
#define TR_AC_LOG_DEBUG 2

struct tr_ac_dp_cfg {
	/* The TUN device (tr_tundev_open(), or a memory device in tests),
	 * opened and owned by the caller: it must outlive tr_ac_dp_free(). The
	 * data plane opens its own session on it. */
	struct tr_device *dev;
	uint32_t mtu;           /* tunnel MTU: the largest data packet either way */
	uint32_t ring_capacity; /* bytes per ring, power of two; 0 = default */
	/* Data threads: 2 = tx (egress) and rx (ingress) apart, for throughput
	 * with cores to spare; 1 = one thread both ways (one poll over sockets
	 * and ring: a burst and its ACKs cost one wake-up); 0 = 1 on machines
	 * with fewer than 4 CPUs, else 2. */
	unsigned threads;
	/* 0: the data threads do the TUN device's reads and writes themselves
	 * (TR_SESSION_F_INLINE, run to completion: no engine thread, no
	 * hand-off between threads per batch) where the device offers it, and
	 * the device's engine thread otherwise (a memory device); 1: always
	 * the engine thread, for comparison. */
	unsigned engine_thread;
	/* AES-GCM records by OpenSSL even where tunroom is built with Intel's
	 * ipsec-mb (tunroom connect --crypto openssl); tr_ac_dp_crypto() says
	 * which seals. */
	bool crypto_openssl;
	/* Called from any thread (data threads included, rarely: a channel
	 * failed) with one line without newline. May be NULL. */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
};

struct tr_ac_dp;

/* Opens the session on cfg->dev, starts the data threads (idle until a
 * channel is set) and returns the data plane. Returns 0, -EINVAL, -ENOMEM,
 * or the session's error. */
int tr_ac_dp_new(struct tr_ac_dp **out, const struct tr_ac_dp_cfg *cfg);

/* True if the data threads do the device's I/O themselves (cfg.engine_thread). */
bool tr_ac_dp_inline(const struct tr_ac_dp *dp);
/* How many data threads run (cfg.threads, or what 0 chose): 1 or 2. */
unsigned tr_ac_dp_threads(const struct tr_ac_dp *dp);
/* What seals the channel that carries data now (tr_ac_aead_impl), or
 * "none". Control thread only: it is the one that swaps channels. */
const char *tr_ac_dp_crypto(const struct tr_ac_dp *dp);

/*
 * Installs (or replaces) the DTLS channel: udp_fd is a connected UDP socket
 * on which a DTLS 1.2 handshake has just completed; tx/rx its record keys.
 * The data plane owns udp_fd from this call on (also on failure) and closes
 * it when replaced, closed or freed. Replacing while data flows is safe:
 * records are sealed with the new keys from the next batch on, and those
 * still in flight under the old keys are dropped (counted as auth/epoch).
 * Does not change tr_ac_dp_use(). Returns 0, -EINVAL (not DTLS 1.2 keys),
 * -ENOTSUP (cipher), -ENOMEM.
 */
int tr_ac_dp_set_dtls(struct tr_ac_dp *dp, int udp_fd, const struct tr_ac_rec_keys *tx,
		      const struct tr_ac_rec_keys *rx);

/*
 * Installs (or replaces, after a reconnect) the CSTP channel: tcp_fd is the
 * TCP socket of the TLS session that got "HTTP/1.1 200 CONNECTED"; tx/rx its
 * record keys (TLS 1.2 or 1.3). pending[0..pending_len) is decrypted CSTP
 * stream the control plane already holds past the reply's blank line: what
 * its HTTP buffer kept, plus what gnutls_record_check_pending() says GnuTLS
 * still buffers (drain it with gnutls_record_recv first). Whole CSTP packets
 * only; they are processed as if received. GnuTLS 3.7 reads a TLS record's
 * header and body with exact-size reads, so no ciphertext past the records
 * it returned is buffered inside it. Owns tcp_fd from this call on, like
 * set_dtls. Returns 0, -EINVAL, -ENOTSUP, -ENOMEM, -E2BIG (pending too long).
 */
int tr_ac_dp_set_cstp(struct tr_ac_dp *dp, int tcp_fd, const struct tr_ac_rec_keys *tx,
		      const struct tr_ac_rec_keys *rx, const void *pending, size_t pending_len);

/* Closes one channel (its socket too): DTLS gone silent, TCP dead. If it
 * carried data, egress goes to TR_AC_CHAN_NONE until tr_ac_dp_use() says
 * otherwise. Returns 0 or -ENOTCONN. */
int tr_ac_dp_close(struct tr_ac_dp *dp, enum tr_ac_chan chan);

/* Which channel carries egress DATA from now on (AnyConnect: DTLS when it is
 * up, CSTP otherwise; never data over CSTP while DTLS is up, or ocserv moves
 * its downlink to TCP). Ingress is taken from both channels always.
 * Returns 0, or -ENOTCONN if that channel is not set. */
int tr_ac_dp_use(struct tr_ac_dp *dp, enum tr_ac_chan chan);

/*
 * Sends one control packet (TR_AC_DPD_REQ, TR_AC_DPD_RESP, TR_AC_KEEPALIVE,
 * TR_AC_DISCONNECT with payload "\xb0" reason) on a channel, sealed with that
 * channel's keys by the tx thread, ahead of the data waiting in the ring.
 * Returns 0 once queued (not yet sent), -ENOTCONN (channel not set),
 * -EMSGSIZE (n > TR_AC_CTL_MAX), -EAGAIN (TR_AC_CTL_QUEUE packets waiting
 * already). For the BYE: send DISCONNECT on CSTP, then tr_ac_dp_flush().
 */
#define TR_AC_CTL_MAX 1500u
#define TR_AC_CTL_QUEUE 8u
int tr_ac_dp_send_ctl(struct tr_ac_dp *dp, enum tr_ac_chan chan, uint8_t type,
		      const void *payload, size_t n);

/* Waits up to timeout_ms until every queued control packet went to its
 * socket. Returns 0, -ETIMEDOUT. */
int tr_ac_dp_flush(struct tr_ac_dp *dp, int timeout_ms);

/* Pollable (POLLIN) while received control packets or events wait. */
int tr_ac_dp_ctl_fd(const struct tr_ac_dp *dp);

/* Events that are not AnyConnect packet types (tr_ac_ctl_msg.type). */
#define TR_AC_EV_DOWN  0xf0 /* the channel failed and the data threads stopped using it;
			     * err says why: TCP EOF or an alert = -ECONNRESET, a TLS
			     * record that fails authentication = -EBADMSG, a record or
			     * CSTP header out of step = -EPROTO, a TLS 1.3 KeyUpdate =
			     * -EKEYEXPIRED, sequence numbers used up = -ERANGE, or a
			     * socket error. Its socket stays open until tr_ac_dp_close()
			     * or the next set_* for that channel. */
#define TR_AC_EV_ALERT 0xf1 /* a (D)TLS alert record: data[0] level, data[1] description
			     * (0 = close_notify). DTLS: the channel stays set; treat as dead */

struct tr_ac_ctl_msg {
	uint8_t chan;      /* enum tr_ac_chan it came on */
	uint8_t type;      /* TR_AC_DPD_RESP, TR_AC_DISCONNECT, TR_AC_KEEPALIVE,
			    * TR_AC_TERMINATE, TR_AC_DPD_REQ (answered already), TR_AC_EV_* */
	uint16_t len;      /* payload length as received (data holds the first 64 bytes) */
	int32_t err;       /* TR_AC_EV_DOWN: negative errno; else 0 */
	uint8_t data[64];
};

/* Takes the next control message. Returns 1, 0 if none waits (the ctl fd is
 * then re-armed), or -EINVAL. */
int tr_ac_dp_read_ctl(struct tr_ac_dp *dp, struct tr_ac_ctl_msg *m);

/* When the last record that authenticated arrived on chan (CLOCK_MONOTONIC;
 * any record type counts: DPD decisions). Returns 0, or -ENOENT if none yet
 * since the channel was set. Any thread. */
int tr_ac_dp_last_rx(const struct tr_ac_dp *dp, enum tr_ac_chan chan, struct timespec *ts);
/* The same for the last record sent on chan (keepalive decisions). */
int tr_ac_dp_last_tx(const struct tr_ac_dp *dp, enum tr_ac_chan chan, struct timespec *ts);

/*
 * Counters, docs/anyconnect-dataplane.md says what each means. Each has one
 * writer (tx_*: tx thread, rx_*: rx thread); tr_ac_dp_stats() reads them
 * relaxed from any thread.
 */
struct tr_ac_chan_stats {
	uint64_t tx_records, tx_bytes;  /* records sent (all types), their wire bytes */
	uint64_t tx_data;               /* data packets among them */
	uint64_t tx_ctl;                /* control packets (queued ones and DPD answers) */
	uint64_t tx_err_send;           /* the socket refused a record (dropped) */
	uint64_t tx_syscalls;           /* sendmmsg / sendmsg calls */
	uint64_t tx_gso_sends;          /* DTLS: messages the kernel cut into datagrams (UDP GSO) */
	uint64_t rx_records, rx_bytes;  /* records that authenticated, their wire bytes */
	uint64_t rx_data;               /* data packets among them, put in the ingress ring */
	uint64_t rx_ctl;                /* control packets among them */
	uint64_t rx_syscalls;           /* recvmmsg / recv calls, empty ones included */
	uint64_t rx_drop_short;         /* shorter than a record header + nonce + tag */
	uint64_t rx_drop_header;        /* bad version or content type, length off the datagram */
	uint64_t rx_drop_epoch;         /* DTLS: not the current read epoch */
	uint64_t rx_drop_replay;        /* DTLS: seen already, or left of the window */
	uint64_t rx_err_auth;           /* tag did not verify (DTLS: dropped; TLS: channel down) */
	uint64_t rx_drop_type;          /* unknown AnyConnect type, or a bad CSTP header */
	uint64_t rx_drop_trunc;         /* DTLS: datagram longer than a slot */
	uint64_t rx_copied_bytes;       /* CSTP: bytes of records cut by a read, moved */
};

struct tr_ac_dp_stats {
	struct tr_ac_chan_stats chan[2];   /* [TR_AC_CHAN_CSTP], [TR_AC_CHAN_DTLS] */
	uint64_t tx_drop_no_chan;          /* egress packets with no channel to carry them */
	uint64_t tx_drop_too_big;          /* egress packets above what the channel takes */
	uint64_t tx_copied_bytes;          /* payload bytes memcpy'd on egress (0 by design) */
	uint64_t rx_drop_ring_full;        /* ring full: DTLS waits, CSTP packets dropped */
	uint64_t rx_drop_ctl_full;         /* control messages dropped: queue full */
	uint64_t dpd_answered;             /* DPD requests answered by the data plane */
};

/* Copies the counters. Any thread. */
void tr_ac_dp_stats(const struct tr_ac_dp *dp, struct tr_ac_dp_stats *out);

/* Every counter under the name `tunroom show` prints it with, so that the
 * names and docs/counters.md agree: "cstp_" or "dtls_" and the field of
 * struct tr_ac_chan_stats (dtls_rx_drop_replay), or "ac_" and the field of
 * struct tr_ac_dp_stats (ac_dpd_answered). Any thread. */
void tr_ac_dp_stats_each(const struct tr_ac_dp *dp,
			 void (*put)(void *arg, const char *name, uint64_t value), void *arg);

/* The ring session (for its own counters in `tunroom show`). */
struct tr_session *tr_ac_dp_session(const struct tr_ac_dp *dp);

/* Stops the data threads, closes both channels' sockets and the session.
 * Queued control packets not yet sent are dropped (tr_ac_dp_flush first).
 * NULL does nothing. */
void tr_ac_dp_free(struct tr_ac_dp *dp);

#endif
