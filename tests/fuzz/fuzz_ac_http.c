/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes what the AnyConnect client reads from the server before the tunnel:
 * an HTTP response head (src/anyconnect/http.c), its Set-Cookie values, and
 * the X-CSTP-* / X-DTLS-* tunnel parameters of a CONNECT reply
 * (src/anyconnect/params.c). Checks what the parsers promise: the head
 * length is within the input, every header string lies inside the buffer,
 * and the parameters hold only checked values.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anyconnect/http.h"
#include "anyconnect/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const char *p, const char *buf, size_t len)
{
	return p >= buf && p < buf + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tr_ac_http_resp r;
	struct tr_ac_params p;
	char cookie[64];
	char *buf = malloc(size + 1);
	int n;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	n = tr_ac_http_parse(buf, size, &r);
	if (n > 0) {
		assert((size_t)n <= size);
		assert(r.status >= 100 && r.status <= 599);
		for (unsigned i = 0; i < r.n_hdr; i++) {
			assert(inside(r.hdr[i].name, buf, (size_t)n));
			assert(inside(r.hdr[i].value, buf, (size_t)n));
			assert(strlen(r.hdr[i].name) > 0);
		}
		n = tr_ac_http_cookie(&r, "webvpn", cookie, sizeof(cookie));
		assert(n == -ENOENT || n == -ENOSPC || (n >= 0 && strlen(cookie) == (size_t)n));
		if (tr_ac_params_parse(&r, &p) == 0) {
			unsigned char a[16];
			assert(p.mtu >= 576 && p.mtu <= 65535);
			assert(p.addr4[0] || p.addr6[0]);
			assert(!p.addr4[0] || inet_pton(AF_INET, p.addr4, a) == 1);
			assert(p.n_dns <= TR_AC_LIST_MAX && p.n_split_inc <= TR_AC_LIST_MAX);
			assert(p.app_id_len <= TR_AC_APPID_MAX);
			assert(!p.dtls || (p.dtls_port && p.app_id_len));
		}
	} else {
		assert(n == -EAGAIN || n == -EBADMSG || n == -EMSGSIZE || n == -E2BIG);
	}
	free(buf);
	return 0;
}
