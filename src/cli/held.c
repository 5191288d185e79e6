/* SPDX-License-Identifier: MIT */
/* The last lines a stream wrote (held.h). */
#include <string.h>

#include "cli/held.h"

void tr_held_add(struct tr_held *h, const char *buf, size_t len)
{
	size_t cap = sizeof(h->buf);

	if (len >= cap) {
		/* The byte before the kept tail says whether it starts a line. */
		char before = len > cap ? buf[len - cap - 1] : h->n ? h->buf[h->n - 1] : '\n';

		h->cut = before != '\n';
		memcpy(h->buf, buf + len - cap, cap);
		h->n = cap;
		return;
	}
	if (h->n + len > cap) {
		size_t drop = h->n + len - cap;
		h->cut = h->buf[drop - 1] != '\n';
		memmove(h->buf, h->buf + drop, h->n - drop);
		h->n -= drop;
	}
	memcpy(h->buf + h->n, buf, len);
	h->n += len;
}

const char *tr_held_lines(const struct tr_held *h, size_t *len)
{
	const char *nl = h->cut ? memchr(h->buf, '\n', h->n) : NULL;

	/* The dropped front ended inside a line: its rest would read as a
	 * line of its own, and a garbled one. */
	if (nl && nl + 1 < h->buf + h->n) {
		*len = h->n - (size_t)(nl + 1 - h->buf);
		return nl + 1;
	}
	*len = h->n;
	return h->buf;
}
