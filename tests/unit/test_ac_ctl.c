/* SPDX-License-Identifier: MIT */
/*
 * tunroom connect's parsers (src/anyconnect/): the server URL, HTTP response
 * heads and Set-Cookie, ocserv's login forms in and our replies out, the
 * CONNECT reply's tunnel parameters, and the vpnc-script environment.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "anyconnect/form.h"
#include "anyconnect/http.h"
#include "anyconnect/params.h"
#include "anyconnect/script.h"
#include "anyconnect/url.h"

static void test_url(void **state)
{
	struct tr_ac_url u;
	char hp[300];

	(void)state;
	assert_int_equal(tr_ac_url_parse("https://vpn.example.com", &u), 0);
	assert_string_equal(u.host, "vpn.example.com");
	assert_int_equal(u.port, 443);
	assert_string_equal(u.path, "/");
	tr_ac_url_hostport(&u, hp, sizeof(hp));
	assert_string_equal(hp, "vpn.example.com");
	assert_int_equal(tr_ac_url_parse("203.0.113.2:4443/group", &u), 0);
	assert_string_equal(u.host, "203.0.113.2");
	assert_int_equal(u.port, 4443);
	assert_string_equal(u.path, "/group");
	tr_ac_url_hostport(&u, hp, sizeof(hp));
	assert_string_equal(hp, "203.0.113.2:4443");
	assert_int_equal(tr_ac_url_parse("https://[fd00::1]:8443/", &u), 0);
	assert_string_equal(u.host, "fd00::1");
	assert_true(u.ipv6_literal);
	tr_ac_url_hostport(&u, hp, sizeof(hp));
	assert_string_equal(hp, "[fd00::1]:8443");
	const char *bad[] = { "", "http://x", "https://", "https://:443", "https://x:0", "https://x:65536",
			      "https://x:12a", "https://x y", "https://x\r\nHost: evil", "https://[::1",
			      "https://[nocolon]", "https://x?q", NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(tr_ac_url_parse(bad[i], &u), -EINVAL);
}

static void test_http(void **state)
{
	char buf[] = "HTTP/1.1 200 OK\r\nSet-Cookie: webvpncontext=abc; Secure\r\n"
		     "Set-Cookie: webvpn=; expires=Thu, 01 Jan 1970 22:00:00 GMT\r\n"
		     "Set-Cookie: webvpn=COOKIE==; Secure; HttpOnly\r\n"
		     "Content-Type: text/xml\r\nContent-Length: 4\r\n\r\nbodySTF";
	struct tr_ac_http_resp r;
	char c[64];

	(void)state;
	int n = tr_ac_http_parse(buf, strlen(buf), &r);
	assert_int_equal(n, (int)(strstr("HTTP/1.1 200 OK\r\nSet-Cookie: webvpncontext=abc; Secure\r\n"
		"Set-Cookie: webvpn=; expires=Thu, 01 Jan 1970 22:00:00 GMT\r\n"
		"Set-Cookie: webvpn=COOKIE==; Secure; HttpOnly\r\n"
		"Content-Type: text/xml\r\nContent-Length: 4\r\n\r\nbodySTF", "body") -
		"HTTP/1.1 200 OK\r\nSet-Cookie: webvpncontext=abc; Secure\r\n"
		"Set-Cookie: webvpn=; expires=Thu, 01 Jan 1970 22:00:00 GMT\r\n"
		"Set-Cookie: webvpn=COOKIE==; Secure; HttpOnly\r\n"
		"Content-Type: text/xml\r\nContent-Length: 4\r\n\r\nbodySTF"));
	assert_int_equal(r.status, 200);
	assert_string_equal(r.reason, "OK");
	assert_int_equal(r.content_length, 4);
	assert_string_equal(tr_ac_http_header(&r, "content-type"), "text/xml");
	/* The last Set-Cookie for a name wins: the clearing one comes first. */
	assert_int_equal(tr_ac_http_cookie(&r, "webvpn", c, sizeof(c)), 8);
	assert_string_equal(c, "COOKIE==");
	assert_int_equal(tr_ac_http_cookie(&r, "webvpncontext", c, sizeof(c)), 3);
	assert_int_equal(tr_ac_http_cookie(&r, "nope", c, sizeof(c)), -ENOENT);
	assert_int_equal(tr_ac_http_cookie(&r, "webvpn", c, 4), -ENOSPC);

	char part[] = "HTTP/1.1 200 OK\r\nX: y\r\n";
	assert_int_equal(tr_ac_http_parse(part, strlen(part), &r), -EAGAIN);
	char lf[] = "HTTP/1.0 401 Nope\nContent-Length: 0\n\n";
	assert_int_equal(tr_ac_http_parse(lf, strlen(lf), &r), (int)strlen(lf));
	assert_int_equal(r.status, 401);
	const char *bad[] = { "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
			      "ICY 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
			      "HTTP/1.1 200 OK\r\n: empty\r\n\r\n", "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
			      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
			      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
			      "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "\r\n\r\n", NULL };
	for (int i = 0; bad[i]; i++) {
		char tmp[256];
		strcpy(tmp, bad[i]);
		assert_int_equal(tr_ac_http_parse(tmp, strlen(tmp), &r), -EBADMSG);
	}
	/* Too many headers; a head that never ends. */
	static char many[TR_AC_HTTP_HEAD_MAX];
	int m = snprintf(many, sizeof(many), "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i <= TR_AC_HTTP_HDRS_MAX; i++)
		m += snprintf(many + m, sizeof(many) - (size_t)m, "X-%d: y\r\n", i);
	m += snprintf(many + m, sizeof(many) - (size_t)m, "\r\n");
	assert_int_equal(tr_ac_http_parse(many, (size_t)m, &r), -E2BIG);
	static char endless[TR_AC_HTTP_HEAD_MAX + 10];
	memset(endless, 'a', sizeof(endless));
	memcpy(endless, "HTTP/1.1 200 OK\r\n", 17);
	assert_int_equal(tr_ac_http_parse(endless, sizeof(endless), &r), -EMSGSIZE);
}

static const char password_form[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config-auth client=\"vpn\" type=\"auth-request\">\n"
	"<version who=\"sg\">0.1(1)</version>\n<auth id=\"main\">\n"
	"<message>Login failed.\nPlease enter your password.</message>\n"
	"<form method=\"post\" action=\"/auth\">\n"
	"<input type=\"password\" name=\"password\" label=\"Password:\" />\n"
	"<input type=\"hidden\" name=\"tok\" value=\"v1\" />\n</form></auth>\n</config-auth>\n";

static void test_form(void **state)
{
	struct tr_ac_form f, back;
	char out[4096];

	(void)state;
	assert_int_equal(tr_ac_form_parse(password_form, strlen(password_form), &f), 0);
	assert_int_equal(f.kind, TR_AC_FORM_REQUEST);
	assert_string_equal(f.auth_id, "main");
	assert_string_equal(f.message, "Login failed. Please enter your password."); /* one line */
	assert_string_equal(f.action, "/auth");
	assert_int_equal(f.n_input, 2);
	assert_string_equal(f.input[0].name, "password");
	assert_string_equal(f.input[0].type, "password");
	assert_string_equal(f.input[1].value, "v1");
	assert_non_null(tr_ac_form_find(&f, "tok"));
	assert_null(tr_ac_form_find(&f, "username"));

	/* Our reply escapes what it carries and is config-auth auth-reply. */
	const char *vals[] = { "p<&>\"'w", "v1" };
	int n = tr_ac_form_reply_body(out, sizeof(out), "v9.01", &f, vals);
	assert_true(n > 0);
	assert_non_null(strstr(out, "<password>p&lt;&amp;&gt;\"'w</password>"));
	assert_non_null(strstr(out, "type=\"auth-reply\""));
	assert_int_equal(tr_ac_form_parse(out, (size_t)n, &back), -ENOMSG);
	assert_int_equal(tr_ac_form_reply_body(out, 16, "v9.01", &f, vals), -ENOSPC);

	n = tr_ac_form_init_body(out, sizeof(out), "v9.01", "https://h:4443/", "user<1>");
	assert_true(n > 0);
	assert_non_null(strstr(out, "<username>user&lt;1&gt;</username>"));
	assert_non_null(strstr(out, "<group-access>https://h:4443/</group-access>"));
	assert_non_null(strstr(out, "type=\"init\""));

	const char complete[] = "<?xml version=\"1.0\"?><config-auth client=\"vpn\" type=\"complete\">"
				"<auth id=\"success\"><title>SSL VPN Service</title></auth></config-auth>";
	assert_int_equal(tr_ac_form_parse(complete, strlen(complete), &f), 0);
	assert_int_equal(f.kind, TR_AC_FORM_COMPLETE);

	/* Not AnyConnect, not XML, entity tricks, names that are no element names. */
	const char *bad[] = {
		"<html><body>hello</body></html>",
		"HTTP/1.0 200 ok",
		"<?xml version=\"1.0\"?><!DOCTYPE c [<!ENTITY e \"x\">]><config-auth type=\"complete\"/>",
		"<?xml version=\"1.0\"?><config-auth type=\"auth-request\"><auth><form>"
		"<input type=\"text\" name=\"a b\"/></form></auth></config-auth>",
		"<?xml version=\"1.0\"?><config-auth type=\"auth-request\"><auth><form>"
		"<input type=\"text\" name=\"1x\"/></form></auth></config-auth>",
		NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(tr_ac_form_parse(bad[i], strlen(bad[i]), &f), -EBADMSG);
	const char other[] = "<config-auth type=\"hello\"/>";
	assert_int_equal(tr_ac_form_parse(other, strlen(other), &f), -ENOMSG);
}

static const char connect_reply[] =
	"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Version: 1\r\nX-CSTP-Server-Name: ocserv 1.1.6\r\n"
	"X-CSTP-DPD: 60\r\nX-CSTP-Address: 198.19.77.15\r\nX-CSTP-Netmask: 255.255.255.0\r\n"
	"X-CSTP-DNS: 192.0.2.53\r\nX-CSTP-DNS: fd00::53\r\nX-CSTP-DNS: not-an-ip\r\n"
	"X-CSTP-Split-Include: 198.51.100.0/255.255.255.0\r\nX-CSTP-Split-Include: 192.0.2.128/25\r\n"
	"X-CSTP-Default-Domain: example.test\r\nX-CSTP-Keepalive: 300\r\nX-CSTP-Idle-Timeout: none\r\n"
	"X-CSTP-Rekey-Time: 172775\r\nX-CSTP-Rekey-Method: ssl\r\nX-DTLS-DPD: 30\r\n"
	"X-DTLS-Port: 4443\r\nX-DTLS-Keepalive: 300\r\n"
	"X-DTLS-App-ID: eb9c0191aabbccddeeff00112233445566778899aabbccddeeff00112233976e\r\n"
	"X-DTLS-CipherSuite: PSK-NEGOTIATE\r\nX-CSTP-Base-MTU: 1500\r\nX-CSTP-MTU: 1434\r\n"
	"X-CSTP-Something-New: 1\r\n\r\n";

static void test_params(void **state)
{
	char buf[sizeof(connect_reply)];
	struct tr_ac_http_resp r;
	struct tr_ac_params p;

	(void)state;
	memcpy(buf, connect_reply, sizeof(buf));
	assert_true(tr_ac_http_parse(buf, strlen(buf), &r) > 0);
	assert_int_equal(tr_ac_params_parse(&r, &p), 0);
	assert_string_equal(p.addr4, "198.19.77.15");
	assert_string_equal(p.mask4, "255.255.255.0");
	assert_int_equal(p.mtu, 1434);
	assert_int_equal(p.base_mtu, 1500);
	assert_int_equal(p.dpd, 60);
	assert_int_equal(p.dtls_dpd, 30);
	assert_int_equal(p.keepalive, 300);
	assert_int_equal(p.idle_timeout, -1);
	assert_int_equal(p.n_dns, 2);
	assert_string_equal(p.dns[1], "fd00::53");
	assert_int_equal(p.n_split_inc, 2);
	assert_string_equal(p.default_domain, "example.test");
	assert_true(p.dtls);
	assert_int_equal(p.dtls_port, 4443);
	assert_int_equal(p.app_id_len, 32);
	assert_int_equal(p.app_id[0], 0xeb);
	assert_int_equal(p.app_id[31], 0x6e);
	assert_int_equal(p.counted_bad, 1);     /* the DNS that is not an address */
	assert_int_equal(p.counted_unknown, 1); /* X-CSTP-Something-New */

	/* Without PSK-NEGOTIATE (or port, or App-ID): no DTLS. */
	char nodtls[] = "HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 198.19.77.2\r\nX-CSTP-MTU: 1472\r\n"
			"X-DTLS-Port: 4443\r\nX-DTLS-App-ID: 00ff\r\n\r\n";
	assert_true(tr_ac_http_parse(nodtls, strlen(nodtls), &r) > 0);
	assert_int_equal(tr_ac_params_parse(&r, &p), 0);
	assert_false(p.dtls);
	assert_string_equal(p.mask4, "255.255.255.255");
	/* No MTU, no address, or an MTU out of range: nothing to run. */
	const char *bad[] = {
		"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 198.19.77.2\r\n\r\n",
		"HTTP/1.1 200 CONNECTED\r\nX-CSTP-MTU: 1400\r\n\r\n",
		"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 198.19.77.2\r\nX-CSTP-MTU: 99\r\n\r\n",
		"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 1.2.3\r\nX-CSTP-MTU: 1400\r\n\r\n",
		NULL };
	for (int i = 0; bad[i]; i++) {
		char tmp[256];
		strcpy(tmp, bad[i]);
		assert_true(tr_ac_http_parse(tmp, strlen(tmp), &r) > 0);
		assert_int_equal(tr_ac_params_parse(&r, &p), -EPROTO);
	}
}

static int has(const struct tr_ac_env *e, const char *kv)
{
	for (unsigned i = 0; i < e->n; i++)
		if (!strcmp(e->v[i], kv))
			return 1;
	return 0;
}

static void test_env(void **state)
{
	char buf[sizeof(connect_reply)];
	struct tr_ac_http_resp r;
	struct tr_ac_params p;
	struct tr_ac_env e;

	(void)state;
	memcpy(buf, connect_reply, sizeof(buf));
	assert_true(tr_ac_http_parse(buf, strlen(buf), &r) > 0);
	assert_int_equal(tr_ac_params_parse(&r, &p), 0);
	assert_int_equal(tr_ac_env_build(&e, "connect", "tun0", "203.0.113.2", &p), 0);
	assert_true(has(&e, "reason=connect"));
	assert_true(has(&e, "TUNDEV=tun0"));
	assert_true(has(&e, "VPNGATEWAY=203.0.113.2"));
	assert_true(has(&e, "INTERNAL_IP4_ADDRESS=198.19.77.15"));
	assert_true(has(&e, "INTERNAL_IP4_NETMASK=255.255.255.0"));
	assert_true(has(&e, "INTERNAL_IP4_NETMASKLEN=24"));
	assert_true(has(&e, "INTERNAL_IP4_NETADDR=198.19.77.0"));
	assert_true(has(&e, "INTERNAL_IP4_MTU=1434"));
	assert_true(has(&e, "INTERNAL_IP4_DNS=192.0.2.53"));
	assert_true(has(&e, "INTERNAL_IP6_DNS=fd00::53"));
	assert_true(has(&e, "CISCO_DEF_DOMAIN=example.test"));
	assert_true(has(&e, "CISCO_SPLIT_INC=2"));
	assert_true(has(&e, "CISCO_SPLIT_INC_0_ADDR=198.51.100.0"));
	assert_true(has(&e, "CISCO_SPLIT_INC_0_MASKLEN=24"));
	assert_true(has(&e, "CISCO_SPLIT_INC_1_MASK=255.255.255.128"));
	assert_true(has(&e, "CISCO_SPLIT_INC_1_MASKLEN=25"));
	assert_null(e.v[e.n]);
	tr_ac_env_free(&e);
	assert_int_equal(tr_ac_env_build(&e, "pre-init", NULL, "", NULL), 0);
	assert_true(has(&e, "reason=pre-init"));
	for (unsigned i = 0; i < e.n; i++)
		assert_true(strncmp(e.v[i], "VPNGATEWAY=", 11) && strncmp(e.v[i], "INTERNAL_", 9));
	tr_ac_env_free(&e);
}

/* A script for the helper: exit 0 only if it inherited nothing of ours (no
 * descriptor 3: the socket to the unprivileged session) and none of the
 * signals the session and its helper ignore (SIGHUP, SIGINT, SIGPIPE,
 * SIGTERM: bits 0, 1, 12 and 14 of SigIgn), so that it and what it starts
 * stop and end pipelines as usual. */
static const char helper_script[] =
	"#!/bin/sh\n"
	"[ -e /proc/$$/fd/3 ] && exit 3\n"
	"ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status)\n"
	"[ $(( 0x$ign & 0x5003 )) -ne 0 ] && exit 4\n"
	"exit 0\n";

static void test_script_helper(void **state)
{
	char path[] = "/tmp/tr-test-script-XXXXXX";
	struct tr_ac_script_helper h;
	struct tr_ac_env e;
	int fd, status;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, helper_script, sizeof(helper_script) - 1),
			 (ssize_t)sizeof(helper_script) - 1);
	assert_int_equal(fchmod(fd, 0700), 0);
	close(fd);
	assert_int_equal(tr_ac_env_build(&e, "reconnect", NULL, "", NULL), 0);
	/* As the session: SIGPIPE ignored when the helper is forked. */
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(tr_ac_script_helper_start(&h, path, &e, &e, 10), 0);
	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(tr_ac_script_helper_run(&h, 'R', 10), 0);
	/* A helper that died: the session learns it as an error, not by a
	 * SIGPIPE that would end it without running anything it still owes. */
	kill(h.pid, SIGKILL);
	assert_int_equal(waitpid(h.pid, &status, 0), h.pid);
	h.pid = -1;
	assert_int_equal(tr_ac_script_helper_run(&h, 'R', 1), -EPIPE);
	assert_int_equal(h.fd, -1);
	tr_ac_env_free(&e);
	unlink(path);
}

/* A server's XML whose declared encoding its bytes break: libxml2 reports
 * that without a parser context, on stderr unless told otherwise. The
 * library prints nothing (tests/lint/silent.sh's rule): the form is refused
 * quietly. */
static void test_form_quiet(void **state)
{
	static const char xml[] = "<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?>"
				  "<config-auth type=\"complete\">\xff\xff\xff\xff</config-auth>";
	char path[] = "/tmp/tr-test-stderr-XXXXXX";
	struct tr_ac_form f;
	int fd = mkstemp(path), saved = dup(2);
	struct stat st;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, 2), 2);
	int r = tr_ac_form_parse(xml, sizeof(xml) - 1, &f);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_not_equal(r, 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	unlink(path);
}

/* A script that outlasts its time: the helper kills it and answers (255),
 * and the session hears that answer and keeps its helper. If the session
 * stopped waiting first, it would close the socket, and the helper would
 * take that for the session's end and run disconnect under a running
 * session (or die of SIGPIPE on its answer). */
static void test_script_helper_slow(void **state)
{
	static const char script[] = "#!/bin/sh\n[ -e \"$0.slow\" ] && exec sleep 5\nexit 0\n";
	char path[] = "/tmp/tr-test-slow-XXXXXX", slow[64];
	struct tr_ac_script_helper h;
	struct tr_ac_env e;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, script, sizeof(script) - 1), (ssize_t)sizeof(script) - 1);
	assert_int_equal(fchmod(fd, 0700), 0);
	close(fd);
	snprintf(slow, sizeof(slow), "%s.slow", path);
	fd = open(slow, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tr_ac_env_build(&e, "reconnect", NULL, "", NULL), 0);
	assert_int_equal(tr_ac_script_helper_start(&h, path, &e, &e, 1), 0);
	assert_int_equal(tr_ac_script_helper_run(&h, 'R', 1), 255);
	assert_true(h.fd >= 0);
	unlink(slow);
	assert_int_equal(tr_ac_script_helper_run(&h, 'R', 1), 0);
	assert_int_equal(tr_ac_script_helper_run(&h, 'D', 1), 0);
	assert_int_equal(h.fd, -1);
	tr_ac_env_free(&e);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_form_quiet),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_script_helper),
		cmocka_unit_test(test_script_helper_slow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
