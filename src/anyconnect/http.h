/* SPDX-License-Identifier: MIT */
/*
 * The head of an HTTP/1.x response from the server (status line and header
 * lines up to the blank line), parsed in place. Every byte is the network's:
 * hostile input with a bounded size, fuzzed (tests/fuzz/fuzz_ac_http.c).
 */
#ifndef TR_ANYCONNECT_HTTP_H
#define TR_ANYCONNECT_HTTP_H

#include <stddef.h>

#define TR_AC_HTTP_HEAD_MAX  16384 /* ocserv's CONNECT reply is about 1 KiB */
#define TR_AC_HTTP_HDRS_MAX  96
#define TR_AC_HTTP_BODY_MAX  65536 /* a login form is well under 1 KiB */

struct tr_ac_http_hdr {
	const char *name, *value; /* NUL-terminated, inside the parsed buffer */
};

struct tr_ac_http_resp {
	int status;               /* 100..599 */
	const char *reason;       /* the rest of the status line, maybe "" */
	long content_length;      /* -1: none given (read to the close) */
	unsigned n_hdr;
	struct tr_ac_http_hdr hdr[TR_AC_HTTP_HDRS_MAX];
};

/*
 * Parses the response head at the start of buf[0..len). buf is modified (line
 * ends become NULs) and must stay alive while r is used. Lines may end in
 * CRLF or LF. Returns the length of the head including its blank line;
 * -EAGAIN when no blank line is in buf yet (and len < TR_AC_HTTP_HEAD_MAX);
 * -EMSGSIZE when the head would be longer than that; -EBADMSG when the
 * status line is not "HTTP/1.x NNN ...", a header line has no ':' or an
 * empty name, a header is folded, a byte is NUL, or Content-Length is not
 * one decimal number (or differs between repeats); -E2BIG for more than
 * TR_AC_HTTP_HDRS_MAX headers. On -EAGAIN buf is untouched.
 */
int tr_ac_http_parse(char *buf, size_t len, struct tr_ac_http_resp *r);

/* The value of the first header called name (case-insensitive), or NULL. */
const char *tr_ac_http_header(const struct tr_ac_http_resp *r, const char *name);

/*
 * The value of cookie `name` set by the last Set-Cookie header that sets it
 * (the value up to ';', blanks trimmed), copied into out. Returns its length
 * (0 = set to empty, which is how a server clears it), -ENOENT when no
 * header sets it, -ENOSPC when it does not fit in cap bytes with its NUL.
 */
int tr_ac_http_cookie(const struct tr_ac_http_resp *r, const char *name, char *out, size_t cap);

#endif
