/* SPDX-License-Identifier: MIT */
/*
 * One print path for text and JSON, as iproute2's json_print: each field is
 * given once with its JSON key and its text format; the mode picks which.
 */
#ifndef TR_CLI_PRINT_H
#define TR_CLI_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PR_DEPTH_MAX 8

struct pr {
	FILE *f;
	bool json;
	int depth;
	bool comma[PR_DEPTH_MAX];
};

void pr_init(struct pr *p, FILE *f, bool json);
/* JSON containers; key NULL inside an array. Text: nothing. */
void pr_open(struct pr *p, const char *key, char bracket);
void pr_close(struct pr *p, char bracket);
/* JSON "key": value (a number when val is all digits); text printf(fmt, val)
 * unless fmt is NULL. */
void pr_value(struct pr *p, const char *key, const char *fmt, const char *val);
void pr_u64(struct pr *p, const char *key, const char *fmt, uint64_t val);
/* Text only: layout (newlines, indentation, table headers). */
void pr_text(struct pr *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the output (JSON gets its newline). */
void pr_end(struct pr *p);

bool pr_is_number(const char *s);

#endif
