/* SPDX-License-Identifier: MIT */
/* One DTLS-PSK handshake on a fresh UDP socket (see dtls.h for the mode). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anyconnect/dtls.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tr_ac_dtls_close(struct tr_ac_dtls *d, int keep_fd)
{
	if (d->s)
		gnutls_deinit(d->s);
	if (d->cred)
		gnutls_psk_free_client_credentials(d->cred);
	if (d->fd >= 0 && !keep_fd)
		close(d->fd);
	d->s = NULL;
	d->cred = NULL;
	d->fd = -1;
}

int tr_ac_dtls_start(struct tr_ac_dtls *d, gnutls_session_t tls,
		     const struct sockaddr_storage *server, uint16_t port,
		     const uint8_t *app_id, unsigned app_id_len, unsigned link_mtu,
		     int timeout_ms, char *err, size_t errcap)
{
	struct sockaddr_storage sa = *server;
	socklen_t salen;
	uint8_t psk[32];
	gnutls_datum_t key = { psk, sizeof(psk) };
	int r;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->port = port;
	d->timeout_ms = timeout_ms;
	if (sa.ss_family == AF_INET) {
		((struct sockaddr_in *)&sa)->sin_port = htons(port);
		salen = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&sa)->sin6_port = htons(port);
		salen = sizeof(struct sockaddr_in6);
	}
	d->fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
	if (d->fd < 0 || connect(d->fd, (struct sockaddr *)&sa, salen) < 0) {
		r = -errno;
		snprintf(err, errcap, "DTLS: UDP socket: %s", strerror(-r));
		tr_ac_dtls_close(d, 0);
		return r;
	}
	/* The same PSK on both ends, from the live TLS session (RFC 5705
	 * exporter; TLS 1.3: RFC 8446 §7.5), no context. The exporter reads
	 * only the session's secrets, so it works after the data plane has
	 * taken the TLS records over. */
	r = gnutls_prf_rfc5705(tls, strlen(TR_AC_PSK_LABEL), TR_AC_PSK_LABEL, 0, NULL,
			       sizeof(psk), (char *)psk);
	if (r < 0) {
		snprintf(err, errcap, "DTLS: exporting the PSK: %s", gnutls_strerror(r));
		tr_ac_dtls_close(d, 0);
		return -EPROTO;
	}
	if (gnutls_psk_allocate_client_credentials(&d->cred) < 0 ||
	    gnutls_psk_set_client_credentials(d->cred, "psk", &key, GNUTLS_PSK_KEY_RAW) < 0 ||
	    gnutls_init(&d->s, GNUTLS_CLIENT | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL |
			GNUTLS_NO_EXTENSIONS) < 0) {
		explicit_bzero(psk, sizeof(psk));
		snprintf(err, errcap, "DTLS: out of memory");
		tr_ac_dtls_close(d, 0);
		return -ENOMEM;
	}
	explicit_bzero(psk, sizeof(psk));
	gnutls_credentials_set(d->s, GNUTLS_CRD_PSK, d->cred);
	r = gnutls_priority_set_direct(d->s, TR_AC_DTLS_PRIORITY, NULL);
	if (r >= 0) {
		gnutls_datum_t id = { (unsigned char *)app_id, app_id_len };
		r = gnutls_session_set_id(d->s, &id);
	}
	if (r < 0) {
		snprintf(err, errcap, "DTLS: session setup: %s", gnutls_strerror(r));
		tr_ac_dtls_close(d, 0);
		return -EPROTO;
	}
	gnutls_transport_set_int(d->s, d->fd);
	gnutls_dtls_set_mtu(d->s, (link_mtu ? link_mtu : 1500) - (sa.ss_family == AF_INET ? 28 : 48));
	gnutls_dtls_set_timeouts(d->s, 1000, (unsigned)timeout_ms);
	d->deadline_ms = now_ms() + timeout_ms;
	return 0;
}

int tr_ac_dtls_step(struct tr_ac_dtls *d, int *wait_ms, char *err, size_t errcap)
{
	int r = gnutls_handshake(d->s);

	if (r == 0) {
		/* What fits in one record on this path, less the AnyConnect
		 * type byte. */
		d->data_mtu = gnutls_dtls_get_data_mtu(d->s);
		d->data_mtu = d->data_mtu > 1 ? d->data_mtu - 1 : 0;
		char *desc = gnutls_session_get_desc(d->s);
		if (desc) {
			snprintf(d->suite, sizeof(d->suite), "%s", desc);
			gnutls_free(desc);
		}
		return 0;
	}
	if (gnutls_error_is_fatal(r)) {
		if (r == GNUTLS_E_TIMEDOUT)
			goto timeout;
		snprintf(err, errcap, "DTLS handshake failed: %s", gnutls_strerror(r));
		return -EPROTO;
	}
	long long left = d->deadline_ms - now_ms();
	if (left <= 0)
		goto timeout;
	unsigned t = gnutls_dtls_get_timeout(d->s);
	*wait_ms = t < left ? (int)t : (int)left;
	return -EAGAIN;
timeout:
	snprintf(err, errcap, "DTLS handshake: no answer from the server's UDP port %u within "
		 "%d s", d->port, d->timeout_ms / 1000);
	return -ETIMEDOUT;
}

int tr_ac_dtls_handshake(struct tr_ac_dtls *d, gnutls_session_t tls,
			 const struct sockaddr_storage *server, uint16_t port,
			 const uint8_t *app_id, unsigned app_id_len, unsigned link_mtu,
			 int timeout_ms, char *err, size_t errcap)
{
	int r = tr_ac_dtls_start(d, tls, server, port, app_id, app_id_len, link_mtu, timeout_ms,
				 err, errcap);
	int wait_ms = 0;

	while (!r && (r = tr_ac_dtls_step(d, &wait_ms, err, errcap)) == -EAGAIN) {
		struct pollfd p = { .fd = d->fd, .events = POLLIN };
		poll(&p, 1, wait_ms);
		r = 0;
	}
	if (r)
		tr_ac_dtls_close(d, 0);
	return r;
}
