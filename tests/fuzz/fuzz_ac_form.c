/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the AnyConnect login's form handling (src/anyconnect/form.c): the
 * server's <config-auth> XML read with libxml2, then our reply built from the
 * form it gave. Checks that every field is a terminated one-line string, the
 * inputs have names usable as XML element names, and the reply we would send
 * is itself well-formed and round-trips as config-auth.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "anyconnect/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	assert(n < cap);
	for (size_t i = 0; i < n; i++)
		assert((unsigned char)s[i] >= ' ' && s[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[16384];
	struct tr_ac_form f;
	const char *vals[TR_AC_FORM_INPUTS_MAX];
	int r;

	r = tr_ac_form_parse((const char *)data, size, &f);
	if (r)
		return 0;
	one_line(f.message, sizeof(f.message));
	one_line(f.error, sizeof(f.error));
	one_line(f.action, sizeof(f.action));
	assert(f.n_input <= TR_AC_FORM_INPUTS_MAX);
	for (unsigned i = 0; i < f.n_input; i++) {
		one_line(f.input[i].name, sizeof(f.input[i].name));
		one_line(f.input[i].label, sizeof(f.input[i].label));
		assert(f.input[i].name[0]);
		vals[i] = "<v&\"'>";
	}
	r = tr_ac_form_reply_body(out, sizeof(out), "v9.01", &f, vals);
	if (r > 0) {
		struct tr_ac_form back;
		/* Our reply is config-auth of type auth-reply: well-formed, and
		 * a type the parser does not take for a server's. */
		assert(tr_ac_form_parse(out, (size_t)r, &back) == -ENOMSG);
	}
	return 0;
}
