/* SPDX-License-Identifier: MIT */
/*
 * The login dialogue's XML (the AnyConnect "aggregate auth" of ocserv and
 * Cisco ASA): reading the server's <config-auth> replies with libxml2 and
 * writing the client's requests. The server's XML is hostile input with a
 * bounded size, fuzzed (tests/fuzz/fuzz_ac_form.c).
 */
#ifndef TR_ANYCONNECT_FORM_H
#define TR_ANYCONNECT_FORM_H

#include <stddef.h>

#define TR_AC_FORM_INPUTS_MAX 8
#define TR_AC_FORM_TEXT_MAX   256

enum tr_ac_form_kind {
	TR_AC_FORM_REQUEST = 1,  /* type="auth-request": a form to fill in */
	TR_AC_FORM_COMPLETE,     /* type="complete": logged in */
};

struct tr_ac_form_input {
	char name[64];   /* "username", "password", ... */
	char type[16];   /* "text", "password", "hidden", ... */
	char label[TR_AC_FORM_TEXT_MAX];
	char value[TR_AC_FORM_TEXT_MAX]; /* hidden inputs carry theirs */
};

struct tr_ac_form {
	enum tr_ac_form_kind kind;
	char auth_id[64];                      /* <auth id="main"> */
	char message[TR_AC_FORM_TEXT_MAX];     /* <message> */
	char error[TR_AC_FORM_TEXT_MAX];       /* <error> (ASA: a failed try) */
	char action[TR_AC_FORM_TEXT_MAX];      /* <form action="/auth"> */
	char session_token[TR_AC_FORM_TEXT_MAX]; /* <session-token> (ASA) */
	unsigned n_input;
	struct tr_ac_form_input input[TR_AC_FORM_INPUTS_MAX];
	unsigned n_select;                     /* <select> lists we cannot answer */
};

/*
 * Parses one reply body. Returns 0, or -EBADMSG when it is not well-formed
 * XML (or uses a DTD or external entity, which are refused) or its root is
 * not <config-auth>; -ENOMSG when the root is config-auth but of another type;
 * -EMSGSIZE over TR_AC_HTTP_BODY_MAX bytes. Text that does not fit a field is
 * cut, inputs past TR_AC_FORM_INPUTS_MAX are -E2BIG.
 */
int tr_ac_form_parse(const char *xml, size_t len, struct tr_ac_form *f);

/* The first input whose name is name, or NULL. */
struct tr_ac_form_input *tr_ac_form_find(struct tr_ac_form *f, const char *name);

/*
 * The client's XML bodies, written by libxml2 (so every value is escaped):
 *   type="init": version, device-id, group-access (the URL), and the user
 *     name when known, which lets ocserv ask the password at once;
 *   type="auth-reply": the same head and <auth><NAME>VALUE</NAME>...</auth>
 *     with each input of the form (values[i] for input i).
 * Returns the length written into out (NUL-terminated), -ENOSPC when cap is
 * too small, -ENOMEM.
 */
int tr_ac_form_init_body(char *out, size_t cap, const char *version, const char *group_access,
			 const char *username);
int tr_ac_form_reply_body(char *out, size_t cap, const char *version, const struct tr_ac_form *f,
			  const char *const *values);

#endif
