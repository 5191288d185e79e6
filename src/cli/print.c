/* SPDX-License-Identifier: MIT */
/* The text/JSON printer behind print.h. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "cli/print.h"

void pr_init(struct pr *p, FILE *f, bool json)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->json = json;
}

bool pr_is_number(const char *s)
{
	if (!*s || strlen(s) > 19 || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_key(struct pr *p, const char *key)
{
	if (p->comma[p->depth])
		fputc(',', p->f);
	p->comma[p->depth] = true;
	if (key) {
		json_string(p->f, key);
		fputc(':', p->f);
	}
}

void pr_open(struct pr *p, const char *key, char bracket)
{
	if (!p->json || p->depth + 1 >= PR_DEPTH_MAX)
		return;
	json_key(p, key);
	fputc(bracket, p->f);
	p->comma[++p->depth] = false;
}

void pr_close(struct pr *p, char bracket)
{
	if (!p->json || p->depth == 0)
		return;
	p->depth--;
	fputc(bracket, p->f);
}

void pr_value(struct pr *p, const char *key, const char *fmt, const char *val)
{
	if (p->json) {
		json_key(p, key);
		if (pr_is_number(val))
			fputs(val, p->f);
		else
			json_string(p->f, val);
	} else if (fmt) {
		fprintf(p->f, fmt, val);
	}
}

void pr_u64(struct pr *p, const char *key, const char *fmt, uint64_t val)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, val);
	pr_value(p, key, fmt, num);
}

void pr_text(struct pr *p, const char *fmt, ...)
{
	va_list ap;

	if (p->json)
		return;
	va_start(ap, fmt);
	vfprintf(p->f, fmt, ap);
	va_end(ap);
}

void pr_end(struct pr *p)
{
	if (p->json)
		fputc('\n', p->f);
	fflush(p->f);
}
