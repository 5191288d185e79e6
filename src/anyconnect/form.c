/* SPDX-License-Identifier: MIT */
/* <config-auth> in and out, through libxml2 (never string matching). */
#include <errno.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

#include "anyconnect/form.h"
#include "anyconnect/http.h"

/* Copies the text content of node (cut to cap - 1 bytes, control characters
 * but tab/newline dropped: it may end up on a terminal). */
static void copy_text(xmlNode *node, char *out, size_t cap)
{
	xmlChar *t = xmlNodeGetContent(node);
	size_t n = 0;

	out[0] = 0;
	if (!t)
		return;
	/* One line: white space runs become one blank, none at the ends. */
	for (const xmlChar *p = t; *p && n + 1 < cap; p++) {
		char ch = (char)*p;
		if (*p == '\t' || *p == '\n' || *p == '\r')
			ch = ' ';
		else if (*p < ' ' || *p == 0x7f)
			continue;
		if (ch == ' ' && (n == 0 || out[n - 1] == ' '))
			continue;
		out[n++] = ch;
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = 0;
	xmlFree(t);
}

static void copy_attr(xmlNode *node, const char *name, char *out, size_t cap)
{
	xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
	size_t n = 0;

	out[0] = 0;
	if (!v)
		return;
	for (const xmlChar *p = v; *p && n + 1 < cap; p++)
		if (*p >= ' ' && *p != 0x7f)
			out[n++] = (char)*p;
	out[n] = 0;
	xmlFree(v);
}

/* libxml2 reports some errors without a parser context (a declared input
 * encoding the bytes break), through its per-thread generic handler, which
 * prints on stderr whatever the parser options say. The library prints
 * nothing: while we parse, a structured handler that drops them. */
#if LIBXML_VERSION >= 21200
static void quiet(void *arg, const xmlError *e)
#else
static void quiet(void *arg, xmlErrorPtr e)
#endif
{
	(void)arg;
	(void)e;
}

static int is(xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, (const xmlChar *)name);
}

static int parse_form(xmlNode *form, struct tr_ac_form *f)
{
	copy_attr(form, "action", f->action, sizeof(f->action));
	for (xmlNode *n = form->children; n; n = n->next) {
		if (is(n, "select")) {
			f->n_select++;
			continue;
		}
		if (!is(n, "input"))
			continue;
		if (f->n_input == TR_AC_FORM_INPUTS_MAX)
			return -E2BIG;
		struct tr_ac_form_input *in = &f->input[f->n_input];
		copy_attr(n, "name", in->name, sizeof(in->name));
		copy_attr(n, "type", in->type, sizeof(in->type));
		copy_attr(n, "label", in->label, sizeof(in->label));
		copy_attr(n, "value", in->value, sizeof(in->value));
		/* It becomes an element name in our reply: letters, digits, _ . - */
		for (const char *c = in->name; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-'))
				return -EBADMSG;
		if ((in->name[0] >= '0' && in->name[0] <= '9') || in->name[0] == '-' ||
		    in->name[0] == '.')
			return -EBADMSG;
		if (in->name[0])
			f->n_input++;
	}
	return 0;
}

static int parse_auth(xmlNode *auth, struct tr_ac_form *f)
{
	int err;

	copy_attr(auth, "id", f->auth_id, sizeof(f->auth_id));
	for (xmlNode *n = auth->children; n; n = n->next) {
		if (is(n, "message"))
			copy_text(n, f->message, sizeof(f->message));
		else if (is(n, "error"))
			copy_text(n, f->error, sizeof(f->error));
		else if (is(n, "form") && (err = parse_form(n, f)))
			return err;
	}
	return 0;
}

int tr_ac_form_parse(const char *xml, size_t len, struct tr_ac_form *f)
{
	xmlDoc *doc;
	xmlNode *root;
	xmlChar *type;
	int err = 0;

	memset(f, 0, sizeof(*f));
	if (len > TR_AC_HTTP_BODY_MAX)
		return -EMSGSIZE;
	/* No network, no entity substitution, no DTD loading, quiet: the
	 * server's text reaches nothing but these fields. */
	xmlStructuredErrorFunc old = xmlStructuredError;
	void *old_arg = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(NULL, quiet);
	doc = xmlReadMemory(xml, (int)len, "reply.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	xmlSetStructuredErrorFunc(old_arg, old);
	if (!doc)
		return -EBADMSG;
	if (doc->intSubset || doc->extSubset) {
		xmlFreeDoc(doc);
		return -EBADMSG; /* a form has no business declaring entities */
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !is(root, "config-auth")) {
		xmlFreeDoc(doc);
		return -EBADMSG;
	}
	type = xmlGetProp(root, (const xmlChar *)"type");
	if (type && !xmlStrcmp(type, (const xmlChar *)"auth-request"))
		f->kind = TR_AC_FORM_REQUEST;
	else if (type && !xmlStrcmp(type, (const xmlChar *)"complete"))
		f->kind = TR_AC_FORM_COMPLETE;
	else
		err = -ENOMSG;
	xmlFree(type);
	for (xmlNode *n = root->children; n && !err; n = n->next) {
		if (is(n, "auth"))
			err = parse_auth(n, f);
		else if (is(n, "session-token"))
			copy_text(n, f->session_token, sizeof(f->session_token));
	}
	xmlFreeDoc(doc);
	return err;
}

struct tr_ac_form_input *tr_ac_form_find(struct tr_ac_form *f, const char *name)
{
	for (unsigned i = 0; i < f->n_input; i++)
		if (!strcmp(f->input[i].name, name))
			return &f->input[i];
	return NULL;
}

/* <config-auth client="vpn" type=TYPE aggregate-auth-version="2"> with the
 * version and device-id every request carries. */
static xmlNode *new_request(xmlDoc *doc, const char *type, const char *version)
{
	xmlNode *root = xmlNewNode(NULL, (const xmlChar *)"config-auth");
	xmlNode *v;

	if (!root)
		return NULL;
	xmlDocSetRootElement(doc, root);
	xmlNewProp(root, (const xmlChar *)"client", (const xmlChar *)"vpn");
	xmlNewProp(root, (const xmlChar *)"type", (const xmlChar *)type);
	xmlNewProp(root, (const xmlChar *)"aggregate-auth-version", (const xmlChar *)"2");
	v = xmlNewTextChild(root, NULL, (const xmlChar *)"version", (const xmlChar *)version);
	if (v)
		xmlNewProp(v, (const xmlChar *)"who", (const xmlChar *)"vpn");
	xmlNewTextChild(root, NULL, (const xmlChar *)"device-id", (const xmlChar *)"linux-64");
	return root;
}

static int dump(xmlDoc *doc, char *out, size_t cap)
{
	xmlChar *mem = NULL;
	int n = 0;

	xmlDocDumpMemoryEnc(doc, &mem, &n, "UTF-8");
	xmlFreeDoc(doc);
	if (!mem)
		return -ENOMEM;
	if (n < 0 || (size_t)n + 1 > cap) {
		xmlFree(mem);
		return -ENOSPC;
	}
	memcpy(out, mem, (size_t)n);
	out[n] = 0;
	xmlFree(mem);
	return n;
}

int tr_ac_form_init_body(char *out, size_t cap, const char *version, const char *group_access,
			 const char *username)
{
	xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *root;

	if (!doc || !(root = new_request(doc, "init", version))) {
		xmlFreeDoc(doc);
		return -ENOMEM;
	}
	xmlNewTextChild(root, NULL, (const xmlChar *)"group-access", (const xmlChar *)group_access);
	if (username && *username) {
		xmlNode *auth = xmlNewChild(root, NULL, (const xmlChar *)"auth", NULL);
		if (auth)
			xmlNewTextChild(auth, NULL, (const xmlChar *)"username", (const xmlChar *)username);
	}
	return dump(doc, out, cap);
}

int tr_ac_form_reply_body(char *out, size_t cap, const char *version, const struct tr_ac_form *f,
			  const char *const *values)
{
	xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *root, *auth;

	if (!doc || !(root = new_request(doc, "auth-reply", version))) {
		xmlFreeDoc(doc);
		return -ENOMEM;
	}
	auth = xmlNewChild(root, NULL, (const xmlChar *)"auth", NULL);
	for (unsigned i = 0; auth && i < f->n_input; i++)
		xmlNewTextChild(auth, NULL, (const xmlChar *)f->input[i].name,
				(const xmlChar *)(values[i] ? values[i] : ""));
	return dump(doc, out, cap);
}
