/* SPDX-License-Identifier: MIT */
/*
 * The last lines a stream wrote, kept to be shown again: `tunroom up -d -l
 * LOG` sends the tunnel's start-up lines to LOG only, and if the tunnel
 * never comes up, the terminal gets these (the reason is among the last).
 */
#ifndef TR_CLI_HELD_H
#define TR_CLI_HELD_H

#include <stdbool.h>
#include <stddef.h>

#define TR_HELD_MAX 4096

struct tr_held {
	size_t n;
	bool cut;          /* the front was dropped inside a line */
	char buf[TR_HELD_MAX];
};

/* Appends len bytes, dropping the oldest beyond TR_HELD_MAX. */
void tr_held_add(struct tr_held *h, const char *buf, size_t len);
/* What to show: the kept bytes from the first whole line on (all of them
 * if one line alone fills the buffer). Sets *len. */
const char *tr_held_lines(const struct tr_held *h, size_t *len);

#endif
