/* SPDX-License-Identifier: MIT */
/*
 * The CSTP receiver: TLS records read from TCP into a staging buffer, each
 * opened piecewise so that a data packet's plaintext is written once, by the
 * cipher, straight into its place in an ingress ring slot, back to back with
 * the packets before it (one MULTI slot per read). Control packets, alerts
 * and post-handshake messages are opened into scratch. Pure logic over
 * bytes (no socket): fuzzed by tests/fuzz/fuzz_ac_cstp.c.
 *
 * Why staging and not "read into the slot, open in place": records opened in
 * place in one slot leave 30 bytes of record framing between consecutive
 * packets, and a MULTI slot holds packets back to back; closing those gaps
 * would move every byte again. Opening out of place costs the same as in
 * place (the cipher writes every plaintext byte once either way), so the
 * packets land in place and nothing is copied. Only a record cut by the end
 * of the staging buffer is moved to its start (rx_copied_bytes).
 */
#ifndef TR_ANYCONNECT_CSTP_RX_H
#define TR_ANYCONNECT_CSTP_RX_H

#include <stdbool.h>
#include <stdint.h>

#include "anyconnect/rec.h"

/* Staging: four largest records, so a cut record is moved only when less
 * than one largest record's room is left at the end. */
#define TR_AC_CSTP_STAGING (4u * TR_AC_TLS_REC_MAX)

struct tr_ac_cstp_sink {
	/* Where a data packet of len bytes goes (the next free byte of the
	 * current ingress slot), or NULL to drop it (ring full, too big). */
	uint8_t *(*data_room)(void *arg, uint32_t len);
	/* The packet written at the last data_room() is authentic (ok) or not. */
	void (*data_done)(void *arg, uint32_t len, bool ok);
	/* A control packet (CSTP type, payload) or event (TR_AC_EV_ALERT). */
	void (*ctl)(void *arg, uint8_t type, const uint8_t *payload, uint32_t len);
	void *arg;
};

struct tr_ac_cstp_rx {
	struct tr_ac_aead aead;          /* the read side of the TLS session */
	struct tr_ac_chan_stats *st;     /* rx_* counters, written here */
	uint32_t pos, have;              /* unread records are buf[pos, have) */
	uint8_t scratch[TR_AC_TLS_REC_MAX];
	uint8_t buf[TR_AC_CSTP_STAGING];
};

/* Sets r up (r's memory is the caller's; large: allocate it once). The keys
 * must be TLS 1.2 or 1.3; flags as tr_ac_aead_init's. Returns 0 or
 * tr_ac_aead_init's error. */
int tr_ac_cstp_rx_init(struct tr_ac_cstp_rx *r, const struct tr_ac_rec_keys *k,
		       struct tr_ac_chan_stats *st, unsigned flags);
void tr_ac_cstp_rx_free(struct tr_ac_cstp_rx *r);

/* Room to read into: *n bytes at the returned pointer (never 0: a partial
 * record is moved to the front first if the end is short of room). */
uint8_t *tr_ac_cstp_rx_space(struct tr_ac_cstp_rx *r, uint32_t *n);
/* n bytes were read into the space. */
void tr_ac_cstp_rx_added(struct tr_ac_cstp_rx *r, uint32_t n);

/*
 * Opens every whole record waiting and hands out what it carries. Returns 0
 * (waiting for more bytes), or a reason the TLS stream cannot go on (the
 * channel is dead): -EBADMSG (a tag did not verify), -EPROTO (a record
 * header or CSTP header that makes no sense: the stream is out of step),
 * -ECONNRESET (an alert: the peer closes), -EKEYEXPIRED (TLS 1.3 KeyUpdate:
 * the keys change under us), -ERANGE (sequence numbers used up).
 */
int tr_ac_cstp_rx_process(struct tr_ac_cstp_rx *r, const struct tr_ac_cstp_sink *sink);

/* CSTP packets already decrypted (what followed the CONNECT reply): whole
 * packets only. Returns 0, or -EPROTO for a bad header or a cut packet. */
int tr_ac_cstp_rx_plain(struct tr_ac_cstp_rx *r, const struct tr_ac_cstp_sink *sink,
			const uint8_t *p, uint32_t n);

#endif
