/* SPDX-License-Identifier: MIT */
/* HTTP/1.x response heads, parsed in place without allocation. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "anyconnect/http.h"

/* The end of the head: the first empty line. Returns the offset just past
 * it, or 0 when there is none in buf[0..len). */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	return s;
}

static long parse_length(const char *v)
{
	long n = 0;

	if (!*v)
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || n > 100000000L)
			return -1;
		n = n * 10 + (*v - '0');
	}
	return n;
}

static int parse_status(char *line, struct tr_ac_http_resp *r)
{
	if (strncmp(line, "HTTP/1.", 7) || (line[7] != '0' && line[7] != '1') || line[8] != ' ')
		return -EBADMSG;
	line += 9;
	if (line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9' || (line[3] && line[3] != ' '))
		return -EBADMSG;
	r->status = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	r->reason = line[3] ? trim(line + 4) : line + 3;
	return 0;
}

int tr_ac_http_parse(char *buf, size_t len, struct tr_ac_http_resp *r)
{
	size_t end, pos = 0;
	int first = 1, err;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	if (len > TR_AC_HTTP_HEAD_MAX)
		len = TR_AC_HTTP_HEAD_MAX;
	end = head_end(buf, len);
	if (!end)
		return len >= TR_AC_HTTP_HEAD_MAX ? -EMSGSIZE : -EAGAIN;
	if (memchr(buf, 0, end))
		return -EBADMSG;
	while (pos < end) {
		char *line = buf + pos, *nl = memchr(line, '\n', end - pos);
		size_t next = (size_t)(nl - buf) + 1;

		*nl = 0;
		if (nl > line && nl[-1] == '\r')
			nl[-1] = 0;
		pos = next;
		if (!*line)
			break; /* the blank line */
		if (first) {
			first = 0;
			if ((err = parse_status(line, r)))
				return err;
			continue;
		}
		if (*line == ' ' || *line == '\t')
			return -EBADMSG; /* obsolete folding: refused, as RFC 9112 §5.2 allows */
		char *colon = strchr(line, ':');
		if (!colon || colon == line)
			return -EBADMSG;
		*colon = 0;
		for (char *c = line; *c; c++)
			if (*c <= ' ' || *c == 0x7f)
				return -EBADMSG;
		if (r->n_hdr == TR_AC_HTTP_HDRS_MAX)
			return -E2BIG;
		struct tr_ac_http_hdr *h = &r->hdr[r->n_hdr++];
		h->name = line;
		h->value = trim(colon + 1);
		if (!strcasecmp(h->name, "Content-Length")) {
			long n = parse_length(h->value);
			if (n < 0 || (r->content_length >= 0 && n != r->content_length))
				return -EBADMSG;
			r->content_length = n;
		}
	}
	if (first)
		return -EBADMSG; /* an empty line first: no status line */
	return (int)end;
}

const char *tr_ac_http_header(const struct tr_ac_http_resp *r, const char *name)
{
	for (unsigned i = 0; i < r->n_hdr; i++)
		if (!strcasecmp(r->hdr[i].name, name))
			return r->hdr[i].value;
	return NULL;
}

int tr_ac_http_cookie(const struct tr_ac_http_resp *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	int found = -ENOENT;

	for (unsigned i = 0; i < r->n_hdr; i++) {
		const char *v = r->hdr[i].value, *e;
		size_t n;

		if (strcasecmp(r->hdr[i].name, "Set-Cookie"))
			continue;
		while (*v == ' ')
			v++;
		if (strncmp(v, name, nl) || v[nl] != '=')
			continue;
		v += nl + 1;
		e = v + strcspn(v, ";");
		while (e > v && e[-1] == ' ')
			e--;
		n = (size_t)(e - v);
		if (n + 1 > cap) {
			found = -ENOSPC;
			continue;
		}
		memcpy(out, v, n);
		out[n] = 0;
		found = (int)n;
	}
	return found;
}
