/* SPDX-License-Identifier: MIT */
/* The running session. Placeholder until the data plane (dataplane.h) lands:
 * logs in and brings the tunnel up as far as CONNECT, then stops. */
#include <errno.h>
#include <stdlib.h>

#include "anyconnect/client_int.h"
#include "anyconnect/dtls.h"

int tr_ac_session_run(const struct tr_ac_client_opts *o)
{
	struct tr_ac_conn *c = calloc(1, sizeof(*c));
	struct tr_ac_params p;
	char cookie[TR_AC_COOKIE_MAX], err[TR_AC_ERR_MAX];
	int r;

	if (!c)
		return -ENOMEM;
	r = tr_ac_establish(o, c, cookie, sizeof(cookie), &p, true, err, sizeof(err));
	if (r) {
		tr_ac_say(o, TR_AC_QUIET, "%s", err);
		free(c);
		return r;
	}
	if (p.dtls && o->dtls) {
		struct tr_ac_dtls d;
		r = tr_ac_dtls_handshake(&d, c->tls, &c->peer, p.dtls_port, p.app_id, p.app_id_len,
					 p.base_mtu, 5000, err, sizeof(err));
		if (r)
			tr_ac_say(o, TR_AC_QUIET, "%s", err);
		else
			tr_ac_say(o, TR_AC_QUIET, "DTLS up: %s, data MTU %u", d.suite, d.data_mtu);
		if (!r)
			tr_ac_dtls_close(&d, 0);
	}
	tr_ac_say(o, TR_AC_QUIET, "CONNECT: address %s mtu %u; no data plane in this build yet",
		  p.addr4, p.mtu);
	tr_ac_conn_close(c, true, false);
	free(c);
	return -ENOSYS;
}
