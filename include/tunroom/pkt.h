/* SPDX-License-Identifier: MIT */
/*
 * tunroom/pkt.h - a packet view over a ring slot (or any buffer), with the
 * socket-buffer operations a codec needs to work in place: push/pull at the
 * front, put/trim at the back. Every operation is bounds-checked and reports
 * failure; none moves a byte of payload.
 *
 *   buf                 buf+off          buf+off+len            buf+cap
 *    |<---- headroom ---->|<----- data ----->|<---- tailroom ---->|
 */
#ifndef TUNROOM_PKT_H
#define TUNROOM_PKT_H

#include <errno.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TR_MUST_CHECK __attribute__((warn_unused_result))
#else
#define TR_MUST_CHECK
#endif

struct tr_pkt {
	uint8_t *buf;   /* first byte the owner may write (start of head room) */
	uint32_t cap;   /* bytes from buf that belong to this packet */
	uint32_t off;   /* data starts at buf + off */
	uint32_t len;   /* data length */
	void *slot;     /* ring slot this view belongs to; NULL for a plain buffer */
	uint32_t priv;  /* ring bookkeeping (validated slot size); not for callers */
};

/* A view over a plain buffer, for codecs used outside a ring (and tests). */
static inline int tr_pkt_init(struct tr_pkt *p, void *buf, uint32_t cap,
			      uint32_t off, uint32_t len)
{
	if (!p || (!buf && cap) || off > cap || len > cap - off)
		return -EINVAL;
	p->buf = (uint8_t *)buf;
	p->cap = cap;
	p->off = off;
	p->len = len;
	p->slot = 0;
	p->priv = 0;
	return 0;
}

static inline uint8_t *tr_pkt_data(const struct tr_pkt *p)
{
	return p->buf + p->off;
}

static inline uint8_t *tr_pkt_tail(const struct tr_pkt *p)
{
	return p->buf + p->off + p->len;
}

static inline uint32_t tr_pkt_headroom(const struct tr_pkt *p)
{
	return p->off;
}

static inline uint32_t tr_pkt_tailroom(const struct tr_pkt *p)
{
	return p->cap - p->off - p->len;
}

/* Grow the data by n bytes at the front, into head room.
 * Returns 0, or -EMSGSIZE if the head room is smaller than n (view unchanged). */
static inline TR_MUST_CHECK int tr_pkt_push(struct tr_pkt *p, uint32_t n)
{
	if (n > p->off)
		return -EMSGSIZE;
	p->off -= n;
	p->len += n;
	return 0;
}

/* Drop n bytes from the front (they become head room).
 * Returns 0, or -EBADMSG if the data is shorter than n (view unchanged). */
static inline TR_MUST_CHECK int tr_pkt_pull(struct tr_pkt *p, uint32_t n)
{
	if (n > p->len)
		return -EBADMSG;
	p->off += n;
	p->len -= n;
	return 0;
}

/* Grow the data by n bytes at the back, into tail room; the new bytes start
 * at tr_pkt_tail() as it was before the call.
 * Returns 0, or -EMSGSIZE if the tail room is smaller than n (view unchanged). */
static inline TR_MUST_CHECK int tr_pkt_put(struct tr_pkt *p, uint32_t n)
{
	if (n > tr_pkt_tailroom(p))
		return -EMSGSIZE;
	p->len += n;
	return 0;
}

/* Drop n bytes from the back (they become tail room).
 * Returns 0, or -EBADMSG if the data is shorter than n (view unchanged). */
static inline TR_MUST_CHECK int tr_pkt_trim(struct tr_pkt *p, uint32_t n)
{
	if (n > p->len)
		return -EBADMSG;
	p->len -= n;
	return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_PKT_H */
