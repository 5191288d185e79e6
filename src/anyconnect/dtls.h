/* SPDX-License-Identifier: MIT */
/*
 * The DTLS 1.2 handshake of the AnyConnect UDP channel, PSK-NEGOTIATE mode
 * (ocserv >= 0.11.5, OpenConnect >= 7.08): the PSK is exported from the CSTP
 * TLS session (label "EXPORTER-openconnect-psk", no context, 32 bytes), the
 * identity is "psk", and the ClientHello's session ID is the server's
 * X-DTLS-App-ID, by which ocserv finds the session's worker. GnuTLS runs the
 * handshake; the data plane takes the record keys afterwards.
 */
#ifndef TR_ANYCONNECT_DTLS_H
#define TR_ANYCONNECT_DTLS_H

#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

#define TR_AC_PSK_LABEL "EXPORTER-openconnect-psk"
/* AES-GCM only: the suites whose records the data plane seals in place. */
#define TR_AC_DTLS_PRIORITY "NONE:+VERS-DTLS1.2:+AES-256-GCM:+AES-128-GCM:+AEAD:+PSK:" \
	"+COMP-NULL:+SIGN-ALL"

struct tr_ac_dtls {
	gnutls_session_t s;   /* after the handshake: for the keys, then deinit */
	gnutls_psk_client_credentials_t cred;
	int fd;               /* connected UDP socket */
	unsigned data_mtu;    /* largest tunnel packet per record for the path */
	char suite[96];       /* "(DTLS1.2)-(PSK)-(AES-256-GCM)" */
	uint16_t port;
	int timeout_ms;
	long long deadline_ms; /* CLOCK_MONOTONIC */
};

/*
 * Opens a new connected UDP socket to server (address of the TLS connection,
 * port replaced by port) and runs the handshake for at most timeout_ms.
 * link_mtu is the path MTU (X-CSTP-Base-MTU, else 1500). Returns 0, or
 * -ETIMEDOUT (no answer: UDP blocked?), -EPROTO (the handshake failed; a
 * GnuTLS reason in err), -ENOMEM, or a socket error. On failure nothing is
 * left open.
 */
int tr_ac_dtls_handshake(struct tr_ac_dtls *d, gnutls_session_t tls,
			 const struct sockaddr_storage *server, uint16_t port,
			 const uint8_t *app_id, unsigned app_id_len, unsigned link_mtu,
			 int timeout_ms, char *err, size_t errcap);

/* The same in steps, for a caller's poll loop: start sets everything up and
 * sends nothing; each step runs gnutls_handshake once and returns 0 (done:
 * data_mtu and suite set), -EAGAIN (poll d->fd for POLLIN up to *wait_ms,
 * then step again), or -ETIMEDOUT / -EPROTO with err. After an error or
 * when giving up, tr_ac_dtls_close(). */
int tr_ac_dtls_start(struct tr_ac_dtls *d, gnutls_session_t tls,
		     const struct sockaddr_storage *server, uint16_t port,
		     const uint8_t *app_id, unsigned app_id_len, unsigned link_mtu,
		     int timeout_ms, char *err, size_t errcap);
int tr_ac_dtls_step(struct tr_ac_dtls *d, int *wait_ms, char *err, size_t errcap);

/* Frees the GnuTLS session and credentials; closes fd unless keep_fd. */
void tr_ac_dtls_close(struct tr_ac_dtls *d, int keep_fd);

#endif
