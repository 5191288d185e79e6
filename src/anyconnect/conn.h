/* SPDX-License-Identifier: MIT */
/*
 * The TCP + TLS connection to the server that carries the login's HTTP
 * requests and then the CSTP tunnel: connecting with a deadline, the GnuTLS
 * handshake, checking the server's certificate (a --servercert pin-sha256 pin,
 * else the system trust store), and HTTP request/response over it.
 */
#ifndef TR_ANYCONNECT_CONN_H
#define TR_ANYCONNECT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include "anyconnect/http.h"
#include "anyconnect/url.h"

#define TR_AC_PIN_MAX 64  /* "pin-sha256:" not included: base64 of 32 bytes is 44 */
#define TR_AC_ERR_MAX 384

struct tr_ac_conn {
	int fd;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
	struct sockaddr_storage peer;  /* the server address actually used */
	socklen_t peer_len;
	int timeout_ms;                /* per read or write during the login */
	char pin[TR_AC_PIN_MAX];       /* base64 SHA-256 of the server's SubjectPublicKeyInfo */
	char suite[128];               /* "(TLS1.3)-(ECDHE-SECP256R1)-(...)" */
	/* Bytes read from TLS: [0, used) the last response, [used, len) read past it. */
	size_t used, len;
	char buf[TR_AC_HTTP_HEAD_MAX + TR_AC_HTTP_BODY_MAX + 1];
};

/*
 * Connects to u within timeout_ms and runs the TLS handshake. pin: the base64
 * after "pin-sha256:" or NULL for the system trust store. Returns 0, or a
 * negative errno with a one-line reason in err: -ECONNREFUSED, -ETIMEDOUT,
 * -EHOSTUNREACH... (TCP), -ENOENT (name does not resolve), -EPROTO (TLS
 * handshake failed: not a TLS server?), -EKEYREJECTED (the certificate does
 * not match the pin or is not trusted; c->pin holds the pin it has).
 */
int tr_ac_conn_open(struct tr_ac_conn *c, const struct tr_ac_url *u, const char *pin,
		    int timeout_ms, char *err, size_t errcap);

/*
 * Sends req (a whole request with its body) and reads the response: head
 * into *r (pointing into c->buf), body (Content-Length bytes, or up to the
 * close when there is none; NUL-terminated) into *body and *body_len, except
 * after a CONNECT (is_connect) whose 200 has no body: what follows is the
 * tunnel. Returns 0, -ECONNRESET (closed before a whole response),
 * -ETIMEDOUT, -EBADMSG (not HTTP), -EMSGSIZE (too big), -EPROTO (TLS error).
 */
int tr_ac_conn_request(struct tr_ac_conn *c, const char *req, size_t len, bool is_connect,
		       struct tr_ac_http_resp *r, char **body, size_t *body_len, int timeout_ms);

/* The bytes read past the last response: c->buf + c->used, c->len - c->used
 * of them, plus anything GnuTLS has decrypted and not yet handed out (moved
 * into c->buf here). For the data plane taking over after CONNECT. */
int tr_ac_conn_drain(struct tr_ac_conn *c);

/* Sets the per-read and per-write timeout for what follows. */
void tr_ac_conn_set_timeout(struct tr_ac_conn *c, int ms);

/* Clears the socket's timeouts (the data plane polls instead). */
void tr_ac_conn_untime(struct tr_ac_conn *c);

/* Sends close_notify when bye (and the TLS session is still ours), closes
 * the socket unless keep_fd, frees the session. Safe on a closed conn. */
void tr_ac_conn_close(struct tr_ac_conn *c, bool bye, bool keep_fd);

/* "host:port" of c->peer. */
const char *tr_ac_conn_peer_str(const struct tr_ac_conn *c, char *buf, size_t cap);

#endif
