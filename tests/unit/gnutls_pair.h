/* SPDX-License-Identifier: MIT */
/*
 * A connected GnuTLS client/server pair over a socketpair, PSK-keyed, for
 * tests that check our record layer against GnuTLS's own: DTLS 1.2 over
 * SOCK_DGRAM, TLS 1.2/1.3 over SOCK_STREAM. Both ends run in the calling
 * thread (non-blocking handshakes stepped in turn).
 */
#ifndef TR_TEST_GNUTLS_PAIR_H
#define TR_TEST_GNUTLS_PAIR_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct gt_pair {
	gnutls_session_t c, s;
	gnutls_certificate_credentials_t ccert, scert; /* cert mode only */
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	gnutls_psk_client_credentials_t ccred;
	gnutls_psk_server_credentials_t scred;
	int cfd, sfd;
};

static inline int gt_psk_cb(gnutls_session_t s, const char *user, gnutls_datum_t *key)
{
	(void)s;
	(void)user;
	key->data = gnutls_malloc(32);
	key->size = 32;
	memset(key->data, 0x5a, 32);
	return 0;
}

/* A throwaway ECDSA P-256 certificate for the server; the client does not
 * verify it (these tests are about the record layer). */
static inline int gt_cert(struct gt_pair *p)
{
	unsigned char serial[1] = { 1 };
	int rc;

	if ((rc = gnutls_x509_privkey_init(&p->key)) ||
	    (rc = gnutls_x509_privkey_generate(p->key, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) ||
	    (rc = gnutls_x509_crt_init(&p->crt)) ||
	    (rc = gnutls_x509_crt_set_version(p->crt, 3)) ||
	    (rc = gnutls_x509_crt_set_serial(p->crt, serial, 1)) ||
	    (rc = gnutls_x509_crt_set_activation_time(p->crt, time(NULL) - 60)) ||
	    (rc = gnutls_x509_crt_set_expiration_time(p->crt, time(NULL) + 3600)) ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(p->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
						"vpn.test", 8)) ||
	    (rc = gnutls_x509_crt_set_key(p->crt, p->key)) ||
	    (rc = gnutls_x509_crt_sign2(p->crt, p->crt, p->key, GNUTLS_DIG_SHA256, 0)))
		return rc;
	gnutls_certificate_allocate_credentials(&p->scert);
	gnutls_certificate_allocate_credentials(&p->ccert);
	return gnutls_certificate_set_x509_key(p->scert, &p->crt, 1, p->key);
}

/* prio: a GnuTLS priority string; dgram: DTLS (2: over UDP on 127.0.0.1); cert: certificate auth (ECDHE)
 * instead of PSK. Returns 0 or a GnuTLS error. */
static inline int gt_pair_open2(struct gt_pair *p, const char *prio, int dgram, int cert)
{
	static const unsigned char k[32] = { [0 ... 31] = 0x5a };
	const gnutls_datum_t key = { (unsigned char *)k, 32 };
	unsigned fl = GNUTLS_NONBLOCK | (dgram ? GNUTLS_DATAGRAM : 0);
	int sv[2], rc = 0, cdone = 0, sdone = 0;

	memset(p, 0, sizeof(*p));
	if (dgram == 2) {
		/* Two UDP sockets on 127.0.0.1 connected to each other: what
		 * UDP_SEGMENT needs (a socketpair has no UDP options). */
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof(a);
		struct sockaddr_in b;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		b = a;
		sv[0] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		sv[1] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (sv[0] < 0 || sv[1] < 0 || bind(sv[0], (struct sockaddr *)&a, sizeof(a)) ||
		    bind(sv[1], (struct sockaddr *)&b, sizeof(b)) ||
		    getsockname(sv[0], (struct sockaddr *)&a, &al) ||
		    getsockname(sv[1], (struct sockaddr *)&b, &al) ||
		    connect(sv[0], (struct sockaddr *)&b, sizeof(b)) ||
		    connect(sv[1], (struct sockaddr *)&a, sizeof(a)))
			return GNUTLS_E_PUSH_ERROR;
	} else if (socketpair(AF_UNIX, (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0, sv)) {
		return GNUTLS_E_PUSH_ERROR;
	}
	p->cfd = sv[0];
	p->sfd = sv[1];
	gnutls_psk_allocate_client_credentials(&p->ccred);
	gnutls_psk_set_client_credentials(p->ccred, "psk", &key, GNUTLS_PSK_KEY_RAW);
	gnutls_psk_allocate_server_credentials(&p->scred);
	gnutls_psk_set_server_credentials_function(p->scred, gt_psk_cb);
	gnutls_init(&p->c, GNUTLS_CLIENT | fl);
	gnutls_init(&p->s, GNUTLS_SERVER | fl);
	if ((rc = gnutls_priority_set_direct(p->c, prio, NULL)) ||
	    (rc = gnutls_priority_set_direct(p->s, prio, NULL)))
		return rc;
	if (cert) {
		if ((rc = gt_cert(p)))
			return rc;
		gnutls_credentials_set(p->c, GNUTLS_CRD_CERTIFICATE, p->ccert);
		gnutls_credentials_set(p->s, GNUTLS_CRD_CERTIFICATE, p->scert);
	} else {
		gnutls_credentials_set(p->c, GNUTLS_CRD_PSK, p->ccred);
		gnutls_credentials_set(p->s, GNUTLS_CRD_PSK, p->scred);
	}
	gnutls_transport_set_int(p->c, p->cfd);
	gnutls_transport_set_int(p->s, p->sfd);
	if (dgram) {
		gnutls_dtls_set_mtu(p->c, 1500);
		gnutls_dtls_set_mtu(p->s, 1500);
	}
	for (int i = 0; i < 10000 && !(cdone && sdone); i++) {
		if (!cdone) {
			rc = gnutls_handshake(p->c);
			if (rc == 0)
				cdone = 1;
			else if (gnutls_error_is_fatal(rc))
				return rc;
		}
		if (!sdone) {
			rc = gnutls_handshake(p->s);
			if (rc == 0)
				sdone = 1;
			else if (gnutls_error_is_fatal(rc))
				return rc;
		}
		if (!(cdone && sdone))
			usleep(100);
	}
	return cdone && sdone ? 0 : GNUTLS_E_TIMEDOUT;
}

static inline int gt_pair_open(struct gt_pair *p, const char *prio, int dgram)
{
	return gt_pair_open2(p, prio, dgram, 0);
}

static inline void gt_pair_close(struct gt_pair *p)
{
	if (p->c)
		gnutls_deinit(p->c);
	if (p->s)
		gnutls_deinit(p->s);
	if (p->ccred)
		gnutls_psk_free_client_credentials(p->ccred);
	if (p->scred)
		gnutls_psk_free_server_credentials(p->scred);
	if (p->ccert)
		gnutls_certificate_free_credentials(p->ccert);
	if (p->scert)
		gnutls_certificate_free_credentials(p->scert);
	if (p->crt)
		gnutls_x509_crt_deinit(p->crt);
	if (p->key)
		gnutls_x509_privkey_deinit(p->key);
	if (p->cfd >= 0)
		close(p->cfd);
	if (p->sfd >= 0)
		close(p->sfd);
}

/* gnutls_record_recv on a non-blocking session, waiting up to ~1 s. */
static inline ssize_t gt_recv(gnutls_session_t s, void *buf, size_t n)
{
	ssize_t r = GNUTLS_E_AGAIN;

	for (int i = 0; i < 1000; i++) {
		r = gnutls_record_recv(s, buf, n);
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
			return r;
		struct pollfd pfd = { .fd = gnutls_transport_get_int(s), .events = POLLIN };
		poll(&pfd, 1, 1);
	}
	return r;
}

#define GT_DTLS_PRIO(c) "NONE:+VERS-DTLS1.2:+" c ":+AEAD:+PSK:+COMP-NULL:+SIGN-ALL:+CURVE-ALL"
#define GT_TLS12_PRIO(c) "NONE:+VERS-TLS1.2:+" c ":+AEAD:+PSK:+COMP-NULL:+SIGN-ALL:+CURVE-ALL"
#define GT_TLS13_PRIO(c) "NONE:+VERS-TLS1.3:+" c ":+AEAD:+SHA256:+SHA384:+PSK:+DHE-PSK:+COMP-NULL:+SIGN-ALL:+GROUP-ALL"

/* What ocserv 1.1.6 ran live: TLS 1.3, ECDHE, certificate. */
#define GT_TLS13_CERT_PRIO(c) "NONE:+VERS-TLS1.3:+" c ":+AEAD:+SHA256:+SHA384:+ECDHE-ECDSA:+COMP-NULL:+SIGN-ALL:+GROUP-ALL"

#endif
