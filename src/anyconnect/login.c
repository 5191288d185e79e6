/* SPDX-License-Identifier: MIT */
/*
 * Login: POST the init request (with the user name when we know it, which
 * saves ocserv's user-name round trip), fill each auth-request form and POST
 * it to the form's action, until type="complete" sets the webvpn cookie.
 * Then CONNECT. The requests carry what ocserv 1.1.6 reads and nothing it
 * would act on wrongly (no compression offers, no X-DTLS-Master-Secret).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "anyconnect/form.h"
#include "anyconnect/login.h"

#define TIMEOUT_MS 15000
#define ROUNDS_MAX 8     /* forms before we call it a loop */
#define PROBE_MS   3000  /* a server whose GET gave no form: its POST answer */

static const char *ua(const char *s)
{
	return s && *s ? s : TR_AC_UA_DEFAULT;
}

static int post(struct tr_ac_conn *c, const struct tr_ac_url *u, const char *agent, const char *path,
		const char *cookie_ctx, const char *xml, struct tr_ac_http_resp *r, char **body,
		size_t *blen)
{
	char hp[300], req[8192];
	int n;

	tr_ac_url_hostport(u, hp, sizeof(hp));
	n = snprintf(req, sizeof(req),
		     "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n%s%s%s"
		     "Accept: */*\r\nAccept-Encoding: identity\r\nX-Transcend-Version: 1\r\n"
		     "X-Aggregate-Auth: 1\r\nX-Support-HTTP-Auth: true\r\n"
		     "Content-Type: application/xml; charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s",
		     path, hp, agent, cookie_ctx ? "Cookie: webvpncontext=" : "",
		     cookie_ctx ? cookie_ctx : "", cookie_ctx ? "\r\n" : "", strlen(xml), xml);
	if (n < 0 || (size_t)n >= sizeof(req))
		return -EMSGSIZE;
	return tr_ac_conn_request(c, req, (size_t)n, false, r, body, blen, TIMEOUT_MS);
}

static int get(struct tr_ac_conn *c, const struct tr_ac_url *u, const char *agent, const char *path,
	       struct tr_ac_http_resp *r, char **body, size_t *blen)
{
	char hp[300], req[1024];
	int n;

	tr_ac_url_hostport(u, hp, sizeof(hp));
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n"
		     "Accept-Encoding: identity\r\nX-Transcend-Version: 1\r\nX-Aggregate-Auth: 1\r\n"
		     "\r\n", path, hp, agent);
	if (n < 0 || (size_t)n >= sizeof(req))
		return -EMSGSIZE;
	return tr_ac_conn_request(c, req, (size_t)n, false, r, body, blen, TIMEOUT_MS);
}

/* The path of a form action: "/auth" or a full https URL on this server. */
static int action_path(const char *action, char *out, size_t cap)
{
	const char *p = action;

	if (!*p)
		p = "/";
	else if (!strncasecmp(p, "https://", 8)) {
		p = strchr(p + 8, '/');
		if (!p)
			p = "/";
	}
	if (*p != '/' || strlen(p) >= cap)
		return -EINVAL;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return -EINVAL;
	strcpy(out, p);
	return 0;
}

static void conn_err(int r, char *err, size_t errcap, const char *what)
{
	switch (r) {
	case -ETIMEDOUT:
		snprintf(err, errcap, "%s: the server did not answer in time", what);
		break;
	case -ECONNRESET:
		snprintf(err, errcap, "%s: the server closed the connection", what);
		break;
	case -EBADMSG:
		snprintf(err, errcap, "%s: the server's reply is not HTTP (not an AnyConnect "
			 "server?)", what);
		break;
	case -EMSGSIZE:
		snprintf(err, errcap, "%s: the server's reply is too large", what);
		break;
	default:
		snprintf(err, errcap, "%s: %s", what, strerror(-r));
	}
}

static void not_anyconnect(const struct tr_ac_http_resp *r, char *err, size_t errcap)
{
	const char *ct = tr_ac_http_header(r, "Content-Type");

	snprintf(err, errcap, "not an AnyConnect server: its answer to the login request is "
		 "HTTP %d%s%.60s%s, not an AnyConnect XML form", r->status,
		 ct ? " (" : "", ct ? ct : "", ct ? ")" : "");
}

/* One value per input of the form: the user name, the password (asked),
 * hidden inputs' own values. */
static int fill_form(const struct tr_ac_form *f, const struct tr_ac_login_opts *o,
		     char vals[][TR_AC_FORM_TEXT_MAX], const char **ptrs, char *err, size_t errcap)
{
	for (unsigned i = 0; i < f->n_input; i++) {
		const struct tr_ac_form_input *in = &f->input[i];
		bool secret = !strcasecmp(in->type, "password");
		int r = 0;

		ptrs[i] = vals[i];
		vals[i][0] = 0;
		if (!strcasecmp(in->type, "hidden")) {
			snprintf(vals[i], TR_AC_FORM_TEXT_MAX, "%s", in->value);
		} else if (!strcmp(in->name, "username") && o->user) {
			snprintf(vals[i], TR_AC_FORM_TEXT_MAX, "%s", o->user);
		} else if (!strcasecmp(in->type, "text") || secret) {
			if (!o->ask)
				r = -ENOENT;
			else
				r = o->ask(o->ask_arg, in->label[0] ? in->label : in->name, secret,
					   vals[i], TR_AC_FORM_TEXT_MAX);
			if (r) {
				snprintf(err, errcap, "login: the server asks for '%s' and there is "
					 "no answer%s", in->label[0] ? in->label : in->name,
					 secret ? " (--passwd-on-stdin?)" : " (-u?)");
				return r;
			}
		} else {
			snprintf(err, errcap, "login: the server's form has a field of type '%s' "
				 "(%s) this client cannot fill", in->type, in->name);
			return -ENOTSUP;
		}
	}
	return 0;
}

int tr_ac_login(struct tr_ac_conn *c, const struct tr_ac_url *u, const struct tr_ac_login_opts *o,
		char *cookie, size_t cookie_cap, char *err, size_t errcap)
{
	char xml[8192];
	char path[TR_AC_PATH_MAX], group[TR_AC_HOST_MAX + TR_AC_PATH_MAX + 320], hp[300], ctx[256] = "";
	struct tr_ac_http_resp r;
	struct tr_ac_form f;
	char *body;
	size_t blen;
	bool sent_password = false;
	int n;

	tr_ac_url_hostport(u, hp, sizeof(hp));
	snprintf(group, sizeof(group), "https://%s%s", hp, u->path);
	n = tr_ac_form_init_body(xml, sizeof(xml), TR_AC_VERSION, group, o->user);
	if (n < 0) {
		snprintf(err, errcap, "login: building the request: %s", strerror(-n));
		return n;
	}
	snprintf(path, sizeof(path), "%s", u->path);
	/* First a GET of the path: an AnyConnect server answers with its login
	 * form (ocserv keeps no state for it), any other web server with its
	 * page, at once. Some never answer a POST (openssl s_server -www); a
	 * server whose GET gives no form (a Cisco ASA may send its portal)
	 * still gets the POST, but PROBE_MS to answer it with XML. */
	char probe_err[TR_AC_ERR_MAX] = "";
	int saved_ms = c->timeout_ms;
	n = get(c, u, ua(o->user_agent), path, &r, &body, &blen);
	if (n) {
		conn_err(n, err, errcap, "login");
		return n;
	}
	if (r.status != 200 || tr_ac_form_parse(body, blen, &f)) {
		not_anyconnect(&r, probe_err, sizeof(probe_err));
		tr_ac_conn_set_timeout(c, PROBE_MS);
	}
	for (int round = 0; round < ROUNDS_MAX; round++) {
		n = post(c, u, ua(o->user_agent), path, ctx[0] ? ctx : NULL, xml, &r, &body, &blen);
		if (n && probe_err[0]) {
			snprintf(err, errcap, "%s", probe_err);
			return -EPROTO;
		}
		if (n) {
			conn_err(n, err, errcap, "login");
			return n;
		}
		if (r.status == 401) {
			snprintf(err, errcap, "login failed: the server refused the user name or "
				 "password (HTTP 401%s%.100s)", r.reason[0] ? ": " : "", r.reason);
			return -EACCES;
		}
		if (r.status != 200) {
			if (round == 0) {
				if (probe_err[0])
					snprintf(err, errcap, "%s", probe_err);
				else
					not_anyconnect(&r, err, errcap);
				return -EPROTO;
			}
			snprintf(err, errcap, "login: the server answered HTTP %d %.100s", r.status,
				 r.reason);
			return -EPROTO;
		}
		int pr = tr_ac_form_parse(body, blen, &f);
		if (pr) {
			if (probe_err[0])
				snprintf(err, errcap, "%s", probe_err);
			else
				not_anyconnect(&r, err, errcap);
			return -EPROTO;
		}
		if (probe_err[0]) {
			probe_err[0] = 0; /* an AnyConnect server after all */
			tr_ac_conn_set_timeout(c, saved_ms);
		}
		int cl = tr_ac_http_cookie(&r, "webvpncontext", ctx, sizeof(ctx));
		if (cl <= 0)
			ctx[0] = 0;
		if (f.kind == TR_AC_FORM_COMPLETE) {
			n = tr_ac_http_cookie(&r, "webvpn", cookie, cookie_cap);
			if (n <= 0 && f.session_token[0] &&
			    strlen(f.session_token) < cookie_cap) {
				strcpy(cookie, f.session_token);
				n = (int)strlen(cookie);
			}
			if (n <= 0) {
				snprintf(err, errcap, "login: the server said complete but set no "
					 "webvpn cookie");
				return -EPROTO;
			}
			return 0;
		}
		if (f.error[0] && round > 0) {
			snprintf(err, errcap, "login failed: %s", f.error);
			return -EACCES;
		}
		if (f.n_select) {
			snprintf(err, errcap, "login: the server asks to choose a group, which this "
				 "client cannot do yet (put the group in the URL path)");
			return -ENOTSUP;
		}
		if (!f.n_input) {
			snprintf(err, errcap, "login: the server's form has no field to fill (%s)",
				 f.message[0] ? f.message : "no message");
			return -EPROTO;
		}
		/* A password form after we sent a password: ocserv's way (like the
		 * ASA's <error>) of saying the password was wrong. */
		if (sent_password && tr_ac_form_find(&f, "password")) {
			snprintf(err, errcap, "login failed: the server refused the user name or "
				 "password%s%.100s", f.message[0] ? " (it says: " : "", f.message);
			if (f.message[0])
				strncat(err, ")", errcap - strlen(err) - 1);
			return -EACCES;
		}
		char vals[TR_AC_FORM_INPUTS_MAX][TR_AC_FORM_TEXT_MAX];
		const char *ptrs[TR_AC_FORM_INPUTS_MAX];
		n = fill_form(&f, o, vals, ptrs, err, errcap);
		if (!n)
			n = tr_ac_form_reply_body(xml, sizeof(xml), TR_AC_VERSION, &f, ptrs);
		explicit_bzero(vals, sizeof(vals));
		if (n < 0)
			return n;
		for (unsigned i = 0; i < f.n_input; i++)
			if (!strcasecmp(f.input[i].type, "password"))
				sent_password = true;
		if (action_path(f.action, path, sizeof(path))) {
			snprintf(err, errcap, "login: the server's form action is not a path on this "
				 "server");
			explicit_bzero(xml, sizeof(xml));
			return -EPROTO;
		}
	}
	explicit_bzero(xml, sizeof(xml));
	snprintf(err, errcap, "login: still no cookie after %d forms", ROUNDS_MAX);
	return -EPROTO;
}

int tr_ac_tunnel(struct tr_ac_conn *c, const struct tr_ac_url *u, const char *cookie,
		 const struct tr_ac_tunnel_opts *o, struct tr_ac_params *p, char *err,
		 size_t errcap)
{
	char req[2048], hp[300], host[256];
	struct tr_ac_http_resp r;
	char *body;
	size_t blen;
	int n;

	tr_ac_url_hostport(u, hp, sizeof(hp));
	if (gethostname(host, sizeof(host)) || !*host)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = 0;
	n = snprintf(req, sizeof(req),
		     "CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
		     "Cookie: webvpn=%s\r\nX-CSTP-Version: 1\r\nX-CSTP-Hostname: %s\r\n"
		     "X-CSTP-Base-MTU: %u\r\nX-CSTP-Address-Type: %s\r\n%s%s\r\n",
		     hp, ua(o->user_agent), cookie, host, o->base_mtu ? o->base_mtu : 1500,
		     o->ipv6 ? "IPv6,IPv4" : "IPv4",
		     o->ipv6 ? "X-CSTP-Full-IPv6-Capability: true\r\n" : "",
		     o->dtls ? "X-DTLS-CipherSuite: PSK-NEGOTIATE\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req)) {
		snprintf(err, errcap, "tunnel: request too long");
		return -EMSGSIZE;
	}
	n = tr_ac_conn_request(c, req, (size_t)n, true, &r, &body, &blen, TIMEOUT_MS);
	explicit_bzero(req, sizeof(req));
	if (n) {
		conn_err(n, err, errcap, "tunnel");
		return n;
	}
	if (r.status == 401) {
		snprintf(err, errcap, "tunnel: the server no longer accepts the session cookie "
			 "(HTTP 401 %.100s)", r.reason);
		return -EACCES;
	}
	if (r.status != 200) {
		const char *why = tr_ac_http_header(&r, "X-Reason");
		snprintf(err, errcap, "tunnel: the server refused the tunnel: HTTP %d %.100s%s%.100s",
			 r.status, r.reason, why ? ": " : "", why ? why : "");
		return -EPROTO;
	}
	n = tr_ac_params_parse(&r, p);
	if (n) {
		snprintf(err, errcap, "tunnel: the server's reply has no %s",
			 p->mtu ? "address" : "usable X-CSTP-MTU");
		return -EPROTO;
	}
	return 0;
}
