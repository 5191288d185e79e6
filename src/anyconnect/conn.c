/* SPDX-License-Identifier: MIT */
/*
 * TCP, TLS and HTTP to the server. The socket stays blocking with receive
 * and send timeouts while the login runs; GnuTLS reads it through plain
 * recv(), asking for exactly one record header and then exactly the rest of
 * that record (gnutls_buffers.c, _gnutls_io_read_buffered), so it never holds
 * undecrypted bytes of the tunnel when CONNECT's reply is done:
 * tr_ac_conn_drain() then collects the decrypted ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <openssl/evp.h>

#include "anyconnect/conn.h"

/* TLS 1.2 and 1.3 with AEAD suites only: the data plane seals and opens the
 * CSTP records itself after the login, and AES-GCM and ChaCha20-Poly1305 are
 * what it knows. */
#define TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:" \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD"

const char *tr_ac_conn_peer_str(const struct tr_ac_conn *c, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (c->peer.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&c->peer;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		port = ntohs(s->sin_port);
		snprintf(buf, cap, "%s:%u", ip, port);
	} else if (c->peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&c->peer;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		snprintf(buf, cap, "[%s]:%u", ip, ntohs(s->sin6_port));
	} else {
		snprintf(buf, cap, "?");
	}
	return buf;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void tr_ac_conn_set_timeout(struct tr_ac_conn *c, int ms)
{
	set_timeouts(c->fd, ms);
	c->timeout_ms = ms;
}

void tr_ac_conn_untime(struct tr_ac_conn *c)
{
	set_timeouts(c->fd, 0);
}

/* One address: non-blocking connect, poll up to ms, back to blocking. */
static int connect_one(const struct addrinfo *ai, int ms, int *out)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
	int err = 0, one = 1;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			close(fd);
			return err;
		}
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int n = poll(&p, 1, ms);
		if (n <= 0) {
			close(fd);
			return n == 0 ? -ETIMEDOUT : -errno;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			close(fd);
			return -err;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = fd;
	return 0;
}

static int tcp_connect(struct tr_ac_conn *c, const struct tr_ac_url *u, int ms, char *err,
		       size_t errcap)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res, *ai;
	char port[8];
	int r;

	snprintf(port, sizeof(port), "%u", u->port);
	r = getaddrinfo(u->host, port, &hints, &res);
	if (r) {
		snprintf(err, errcap, "%s: %s", u->host, gai_strerror(r));
		return -ENOENT;
	}
	r = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		r = connect_one(ai, ms, &c->fd);
		if (!r) {
			memcpy(&c->peer, ai->ai_addr, ai->ai_addrlen);
			c->peer_len = ai->ai_addrlen;
			break;
		}
	}
	if (r) {
		memcpy(&c->peer, res->ai_addr, res->ai_addrlen);
		char hp[80];
		snprintf(err, errcap, "%s: %s", tr_ac_conn_peer_str(c, hp, sizeof(hp)),
			 r == -ECONNREFUSED ? "connection refused (is the server running, is that "
			 "its port?)" : r == -ETIMEDOUT ? "no answer (connection timed out)" :
			 strerror(-r));
	}
	freeaddrinfo(res);
	return r;
}

/* The pin of the server's certificate: base64(SHA-256(SubjectPublicKeyInfo)),
 * what openconnect's --servercert pin-sha256: takes. */
static int peer_pin(gnutls_session_t s, char *out, size_t cap)
{
	const gnutls_datum_t *certs;
	unsigned n = 0;
	gnutls_x509_crt_t crt;
	gnutls_pubkey_t pub;
	gnutls_datum_t der = { 0 };
	unsigned char hash[32];
	int r;

	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || !n || cap < 45)
		return -EKEYREJECTED;
	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	if (gnutls_pubkey_init(&pub) < 0) {
		gnutls_x509_crt_deinit(crt);
		return -ENOMEM;
	}
	r = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (r >= 0)
		r = gnutls_pubkey_import_x509(pub, crt, 0);
	if (r >= 0)
		r = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der);
	if (r >= 0)
		r = gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, hash);
	if (r >= 0)
		EVP_EncodeBlock((unsigned char *)out, hash, sizeof(hash));
	gnutls_free(der.data);
	gnutls_pubkey_deinit(pub);
	gnutls_x509_crt_deinit(crt);
	return r < 0 ? -EKEYREJECTED : 0;
}

static int check_cert(struct tr_ac_conn *c, const struct tr_ac_url *u, const char *pin, char *err,
		      size_t errcap)
{
	unsigned status = 0;
	gnutls_datum_t why = { 0 };

	if (peer_pin(c->tls, c->pin, sizeof(c->pin))) {
		snprintf(err, errcap, "%s: the server sent no usable certificate", u->host);
		return -EKEYREJECTED;
	}
	if (pin) {
		if (!strcmp(pin, c->pin))
			return 0;
		snprintf(err, errcap, "%s: server certificate does not match --servercert "
			 "pin-sha256:%s (the server's is pin-sha256:%s)", u->host, pin, c->pin);
		return -EKEYREJECTED;
	}
	if (gnutls_certificate_verify_peers3(c->tls, u->host, &status) >= 0 && !status)
		return 0;
	gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
	while (why.data && why.size && (why.data[why.size - 1] == ' ' || !why.data[why.size - 1]))
		why.data[--why.size] = 0;
	snprintf(err, errcap, "%s: server certificate is not trusted (%s); if you have checked "
		 "it, pass --servercert pin-sha256:%s", u->host,
		 why.data ? (const char *)why.data : "verification failed", c->pin);
	gnutls_free(why.data);
	return -EKEYREJECTED;
}

int tr_ac_conn_open(struct tr_ac_conn *c, const struct tr_ac_url *u, const char *pin,
		    int timeout_ms, char *err, size_t errcap)
{
	unsigned char ipbuf[16];
	char hp[80];
	int r;

	c->fd = -1;
	c->tls = NULL;
	c->cred = NULL;
	c->used = c->len = 0;
	c->pin[0] = c->suite[0] = 0;
	r = tcp_connect(c, u, timeout_ms, err, errcap);
	if (r)
		return r;
	set_timeouts(c->fd, timeout_ms);
	c->timeout_ms = timeout_ms;
	if (gnutls_certificate_allocate_credentials(&c->cred) < 0 ||
	    gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL) < 0) {
		tr_ac_conn_close(c, false, false);
		snprintf(err, errcap, "TLS: out of memory");
		return -ENOMEM;
	}
	if (!pin)
		gnutls_certificate_set_x509_system_trust(c->cred);
	gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
	gnutls_priority_set_direct(c->tls, TLS_PRIORITY, NULL);
	if (!u->ipv6_literal && inet_pton(AF_INET, u->host, ipbuf) != 1)
		gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, u->host, strlen(u->host));
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_handshake_set_timeout(c->tls, (unsigned)timeout_ms);
	do
		r = gnutls_handshake(c->tls);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		snprintf(err, errcap, "%s: TLS handshake failed: %s (is it an AnyConnect server, "
			 "is that its TLS port?)", tr_ac_conn_peer_str(c, hp, sizeof(hp)),
			 gnutls_strerror(r));
		tr_ac_conn_close(c, false, false);
		return -EPROTO;
	}
	r = check_cert(c, u, pin, err, errcap);
	if (r) {
		tr_ac_conn_close(c, false, false);
		return r;
	}
	char *d = gnutls_session_get_desc(c->tls);
	if (d) {
		snprintf(c->suite, sizeof(c->suite), "%s", d);
		gnutls_free(d);
	}
	return 0;
}

static int send_all(struct tr_ac_conn *c, const char *p, size_t len)
{
	while (len) {
		ssize_t n = gnutls_record_send(c->tls, p, len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0)
			return -EPROTO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads more into c->buf. Returns bytes read, 0 at the close, negative errno. */
static ssize_t fill(struct tr_ac_conn *c)
{
	size_t room = sizeof(c->buf) - 1 - c->len;
	ssize_t n;

	if (!room)
		return -EMSGSIZE;
	for (;;) {
		n = gnutls_record_recv(c->tls, c->buf + c->len, room);
		if (n >= 0)
			break;
		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		/* GNUTLS_E_AGAIN: SO_RCVTIMEO ran out, or GnuTLS took a TLS 1.3
		 * post-handshake message (a NewSessionTicket) and has no data
		 * yet. Only a silent socket is a timeout. */
		if (n == GNUTLS_E_AGAIN) {
			struct pollfd p = { .fd = c->fd, .events = POLLIN };
			if (gnutls_record_check_pending(c->tls) || poll(&p, 1, c->timeout_ms) > 0)
				continue;
			return -ETIMEDOUT;
		}
		if (n == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		return -ECONNRESET; /* a fatal alert: ocserv's answer to a bad password */
	}
	c->len += (size_t)n;
	return n;
}

int tr_ac_conn_request(struct tr_ac_conn *c, const char *req, size_t len, bool is_connect,
		       struct tr_ac_http_resp *r, char **body, size_t *body_len, int timeout_ms)
{
	int head = -EAGAIN, err;
	ssize_t n;

	(void)timeout_ms; /* the socket's own timeouts bound each read */
	/* What the last response left over starts this one. */
	memmove(c->buf, c->buf + c->used, c->len - c->used);
	c->len -= c->used;
	c->used = 0;
	err = send_all(c, req, len);
	if (err)
		return err;
	char copy[TR_AC_HTTP_HEAD_MAX];
	for (;;) {
		/* The parser writes NULs; keep the buffer intact until the
		 * whole head is there. */
		size_t m = c->len < sizeof(copy) ? c->len : sizeof(copy);
		memcpy(copy, c->buf, m);
		head = tr_ac_http_parse(copy, m, r);
		if (head != -EAGAIN)
			break;
		n = fill(c);
		if (n <= 0)
			return n == 0 ? -ECONNRESET : (int)n;
	}
	if (head < 0)
		return head;
	/* Parse again in place, so that r points into c->buf. */
	head = tr_ac_http_parse(c->buf, c->len, r);
	if (head < 0)
		return head;
	size_t want = r->content_length >= 0 ? (size_t)r->content_length : 0;
	bool to_close = r->content_length < 0 && !(is_connect && r->status == 200);
	if (want > TR_AC_HTTP_BODY_MAX)
		return -EMSGSIZE;
	if (is_connect && r->status == 200)
		want = 0;
	/* Reading the rest moves nothing: fill() appends behind the head. */
	while (c->len - (size_t)head < want || to_close) {
		n = fill(c);
		if (n < 0 && !(to_close && n == -ECONNRESET))
			return (int)n;
		if (n <= 0) {
			if (!to_close)
				return -ECONNRESET;
			break;
		}
		if (c->len - (size_t)head > TR_AC_HTTP_BODY_MAX)
			return -EMSGSIZE;
	}
	if (to_close)
		want = c->len - (size_t)head;
	*body = c->buf + head;
	*body_len = want;
	c->used = (size_t)head + want;
	/* NUL-terminate the body for the XML parser; the byte it replaces
	 * (read past the response) is saved in the spare byte of buf. */
	if (c->used < c->len) {
		memmove(c->buf + c->used + 1, c->buf + c->used, c->len - c->used);
		c->used++;
		c->len++;
	}
	c->buf[(size_t)head + want] = 0;
	return 0;
}

int tr_ac_conn_drain(struct tr_ac_conn *c)
{
	while (gnutls_record_check_pending(c->tls) > 0) {
		ssize_t n = fill(c);
		if (n <= 0)
			return n < 0 ? (int)n : -ECONNRESET;
	}
	return 0;
}

void tr_ac_conn_close(struct tr_ac_conn *c, bool bye, bool keep_fd)
{
	if (c->tls) {
		if (bye && c->fd >= 0)
			gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(c->tls);
		c->tls = NULL;
	}
	if (c->cred) {
		gnutls_certificate_free_credentials(c->cred);
		c->cred = NULL;
	}
	if (c->fd >= 0 && !keep_fd)
		close(c->fd);
	c->fd = -1;
}
