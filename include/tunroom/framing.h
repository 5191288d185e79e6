/* SPDX-License-Identifier: MIT */
/*
 * tunroom/framing.h - the VPN framings tunroom encodes and decodes in place on
 * a packet view: AnyConnect DTLS and CSTP, F5 and Fortinet PPP, GlobalProtect
 * over TLS, the PPP header itself, and PPP in HDLC-like framing (RFC 1662).
 *
 * Every encoder pushes its header into head room (HDLC grows into tail room);
 * every decoder pulls its header off and leaves the view on the payload. No
 * payload byte is copied to another buffer. Input to a decoder is hostile:
 * every length is checked before a read, nothing outside the view is read or
 * written, and a failed call leaves the view exactly as it was.
 *
 * Return codes shared by all decoders (each function lists the ones it uses):
 *   0            success
 *   -EINVAL      bad argument (NULL view or out-pointer, bad option)
 *   -ENODATA     truncated: the view is shorter than the fixed header, or an
 *                HDLC frame is shorter than 4 octets (RFC 1662 §4.3)
 *   -EOVERFLOW   oversize: a length field claims more bytes than the view holds
 *   -ERANGE      undersize: a length field claims fewer bytes than the view holds
 *   -EBADMSG     bad magic, reserved byte or header (including two length
 *                fields that contradict each other, a PPP header the options
 *                forbid); for HDLC: bad FCS
 *   -ENOMSG      well-formed but unknown type, ethertype or PPP protocol
 *   -EILSEQ      HDLC: Control Escape followed by the closing flag (abort)
 *   -EAGAIN      more bytes needed (CSTP splitter; HDLC without closing flag)
 * and by all encoders:
 *   -EINVAL      bad argument (unknown type, ethertype or protocol)
 *   -ERANGE      the payload is longer than the framing's length field holds
 *   -EMSGSIZE    head room (HDLC: tail room) too small
 * Every rejection also bumps one counter in the caller's tr_framing_stats.
 */
#ifndef TUNROOM_FRAMING_H
#define TUNROOM_FRAMING_H

#include <stdint.h>

#include "tunroom/pkt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rejections counted by every codec; pass NULL to count nothing. One struct
 * per direction of a tunnel is the intended use; counters only ever grow. */
struct tr_framing_stats {
	uint64_t rx_ok;
	uint64_t rx_err_truncated;     /* -ENODATA */
	uint64_t rx_err_oversize;      /* -EOVERFLOW */
	uint64_t rx_err_undersize;     /* -ERANGE */
	uint64_t rx_err_bad_magic;     /* -EBADMSG: magic, reserved or length pair */
	uint64_t rx_err_bad_ppp;       /* -EBADMSG: PPP header */
	uint64_t rx_err_unknown_type;  /* -ENOMSG */
	uint64_t rx_err_bad_fcs;       /* -EBADMSG (HDLC) */
	uint64_t rx_err_bad_escape;    /* -EILSEQ (HDLC) */
	uint64_t rx_err_incomplete;    /* -EAGAIN */
	uint64_t rx_err_bad_arg;       /* -EINVAL */
	uint64_t rx_warn_gp_reserved;  /* GP bytes 8..15 not as expected; accepted */
	uint64_t tx_ok;
	uint64_t tx_err_no_room;       /* -EMSGSIZE */
	uint64_t tx_err_too_long;      /* -ERANGE */
	uint64_t tx_err_bad_arg;       /* -EINVAL */
};

/* ---- Room each framing needs ------------------------------------------ */

enum tr_framing {
	TR_FRAMING_DTLS,      /* AnyConnect over DTLS */
	TR_FRAMING_CSTP,      /* AnyConnect over TLS */
	TR_FRAMING_F5,        /* F5 header + PPP header (uncompressed worst case) */
	TR_FRAMING_FORTINET,  /* Fortinet header + full PPP header */
	TR_FRAMING_GP,        /* GlobalProtect over TLS */
	TR_FRAMING_PPP,       /* PPP header alone (address/control + protocol) */
	TR_FRAMING_HDLC,      /* RFC 1662 octet stuffing + FCS-16 + flags */
	TR_FRAMING_COUNT
};

/* What one encode needs around a payload of len bytes:
 * head room = head, tail room = tail + tail_per_byte * len (the len of the
 * view handed to the encoder). */
struct tr_framing_room {
	const char *name;
	uint16_t head;
	uint16_t tail;
	uint16_t tail_per_byte;
};

/* Returns the room entry for f, or NULL if f is out of range. */
const struct tr_framing_room *tr_framing_room(enum tr_framing f);

/* ---- AnyConnect packet types (DTLS byte, CSTP header byte 6) ------------ */

#define TR_AC_DATA        0x00
#define TR_AC_DPD_REQ     0x03
#define TR_AC_DPD_RESP    0x04
#define TR_AC_DISCONNECT  0x05
#define TR_AC_KEEPALIVE   0x07
#define TR_AC_COMPRESSED  0x08
#define TR_AC_TERMINATE   0x09

#define TR_DTLS_HDR_LEN   1
#define TR_CSTP_HDR_LEN   8
#define TR_CSTP_MAX_PAYLOAD 0xffffu

/* Pushes the type byte. Returns 0, -EINVAL (unknown type), -EMSGSIZE. */
int tr_dtls_encode(struct tr_pkt *p, uint8_t type, struct tr_framing_stats *st);
/* Pulls the type byte into *type. Returns 0, -EINVAL, -ENODATA, -ENOMSG. */
int tr_dtls_decode(struct tr_pkt *p, uint8_t *type, struct tr_framing_stats *st);

/* Pushes the 8-byte header. Returns 0, -EINVAL, -ERANGE, -EMSGSIZE. */
int tr_cstp_encode(struct tr_pkt *p, uint8_t type, struct tr_framing_stats *st);
/* Decodes exactly one record that fills the view. Returns 0, -EINVAL,
 * -ENODATA, -EBADMSG, -EOVERFLOW, -ERANGE, -ENOMSG. */
int tr_cstp_decode(struct tr_pkt *p, uint8_t *type, struct tr_framing_stats *st);

/* Walks the CSTP records of one TLS read without copying. */
struct tr_cstp_split {
	uint8_t *buf;         /* the read */
	uint32_t len;         /* bytes in it */
	uint32_t pos;         /* start of the next record */
	uint32_t need;        /* after -EAGAIN: bytes missing from the record at pos */
	uint32_t max_payload; /* longest payload accepted */
};

/* max_payload 0 means TR_CSTP_MAX_PAYLOAD. Returns 0 or -EINVAL. */
int tr_cstp_split_init(struct tr_cstp_split *s, struct tr_pkt *read,
		       uint32_t max_payload);
/* Sets *rec to a view of the next whole record (header included, no head or
 * tail room, so writes through it cannot reach a neighbour) ready for
 * tr_cstp_decode. Returns 1 with a record, 0 at the clean end of the read,
 * -EAGAIN when a partial record starts at s->pos (s->need more bytes
 * complete it), -EBADMSG on a bad magic, reserved byte or a length above
 * max_payload (the stream cannot be resynchronised). */
int tr_cstp_split_next(struct tr_cstp_split *s, struct tr_pkt *rec,
		       struct tr_framing_stats *st);

/* ---- PPP header (RFC 1661 §2, §6.5, §6.6) ------------------------------- */

#define TR_PPP_IPV4    0x0021
#define TR_PPP_IPV6    0x0057
#define TR_PPP_IPCP    0x8021
#define TR_PPP_IPV6CP  0x8057
#define TR_PPP_LCP     0xc021
#define TR_PPP_HDR_MAX 4

/* Negotiated header compression; zero-initialised means none. */
struct tr_ppp_opts {
	uint8_t acfc; /* Address-and-Control-Field-Compression, RFC 1661 §6.6 */
	uint8_t pfc;  /* Protocol-Field-Compression, RFC 1661 §6.5 */
};

/* Pushes address/control (unless ACFC) and the protocol (1 byte if PFC and
 * the high byte is 0). LCP is always sent uncompressed (RFC 1661 §6.5/§6.6).
 * Returns 0, -EINVAL (protocol not one of TR_PPP_*), -EMSGSIZE. */
int tr_ppp_encode(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t proto,
		  struct tr_framing_stats *st);
/* Pulls the header; *proto gets the protocol. On -ENOMSG *proto is set and
 * the view is unchanged, so the caller can send an LCP Protocol-Reject.
 * Returns 0, -EINVAL, -ENODATA, -EBADMSG, -ENOMSG. */
int tr_ppp_decode(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t *proto,
		  struct tr_framing_stats *st);

/* ---- F5: 0xF5 0x00, BE16 length of what follows, then PPP --------------- */

#define TR_F5_HDR_LEN 4

/* Returns 0, -EINVAL, -ERANGE, -EMSGSIZE. */
int tr_f5_encode(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t proto,
		 struct tr_framing_stats *st);
/* Returns 0, -EINVAL, -ENODATA, -EBADMSG, -EOVERFLOW, -ERANGE, -ENOMSG. */
int tr_f5_decode(struct tr_pkt *p, const struct tr_ppp_opts *o, uint16_t *proto,
		 struct tr_framing_stats *st);

/* ---- Fortinet: BE16 total, 0x50 0x50, BE16 payload, then FF 03 + proto -- */

#define TR_FORTINET_HDR_LEN 6

/* Returns 0, -EINVAL, -ERANGE, -EMSGSIZE. */
int tr_fortinet_encode(struct tr_pkt *p, uint16_t proto, struct tr_framing_stats *st);
/* Returns 0, -EINVAL, -ENODATA, -EBADMSG, -EOVERFLOW, -ERANGE, -ENOMSG. */
int tr_fortinet_decode(struct tr_pkt *p, uint16_t *proto, struct tr_framing_stats *st);

/* ---- GlobalProtect over TLS: 16-byte header ----------------------------- */

#define TR_GP_HDR_LEN        16
#define TR_GP_ETH_KEEPALIVE  0x0000 /* DPD/keepalive: no payload */
#define TR_GP_ETH_IPV4       0x0800
#define TR_GP_ETH_IPV6       0x86dd

/* Returns 0, -EINVAL (unknown ethertype, or a keepalive with payload),
 * -ERANGE, -EMSGSIZE. */
int tr_gp_encode(struct tr_pkt *p, uint16_t ethertype, struct tr_framing_stats *st);
/* Returns 0, -EINVAL, -ENODATA, -EBADMSG, -EOVERFLOW, -ERANGE, -ENOMSG. */
int tr_gp_decode(struct tr_pkt *p, uint16_t *ethertype, struct tr_framing_stats *st);

/* ---- PPP in HDLC-like framing (RFC 1662 §3-§4, appendix C) -------------- */

#define TR_HDLC_FLAG         0x7e
#define TR_HDLC_ESC          0x7d
#define TR_HDLC_ACCM_DEFAULT 0xffffffffu /* RFC 1662 §7.1 until LCP says otherwise */
#define TR_HDLC_FCS_INIT     0xffff
#define TR_HDLC_FCS_GOOD     0xf0b8

/* FCS-16 of RFC 1662 appendix C.2: feed fcs = TR_HDLC_FCS_INIT, then
 * complement and send low byte first. */
uint16_t tr_hdlc_fcs16(uint16_t fcs, const uint8_t *buf, uint32_t len);

/* Bytes tr_hdlc_encode would make of the view with this ACCM. */
uint32_t tr_hdlc_encoded_len(const struct tr_pkt *p, uint32_t accm);

/* Frames the view (a PPP frame: address, control, protocol, information)
 * in place: opening flag, escaped frame and FCS, closing flag. Works back to
 * front in the tail room, so it fails with -EMSGSIZE before writing anything
 * if tail room < tr_hdlc_encoded_len() - len. Returns 0, -EINVAL, -EMSGSIZE. */
int tr_hdlc_encode(struct tr_pkt *p, uint32_t accm, struct tr_framing_stats *st);
/* Unframes the first frame in the view, front to back in place: optional
 * opening flag(s) (RFC 1662 §4.1, §4.4.1), escapes undone, control bytes
 * flagged in accm dropped (§4.2), FCS checked and removed. The view becomes
 * the PPP frame; *consumed (may be NULL) gets the input bytes used up to and
 * including the closing flag so the caller can continue after it.
 * Returns 0, -EINVAL, -EAGAIN (no closing flag in the view), -ENODATA,
 * -EILSEQ, -EBADMSG. The frame is checked completely before the first byte
 * is rewritten, so a failed call leaves the view and its bytes unchanged. */
int tr_hdlc_decode(struct tr_pkt *p, uint32_t accm, uint32_t *consumed,
		   struct tr_framing_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_FRAMING_H */
