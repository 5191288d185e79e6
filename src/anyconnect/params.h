/* SPDX-License-Identifier: MIT */
/*
 * The tunnel's parameters from the server's reply to CONNECT /CSCOSSLC/tunnel:
 * the X-CSTP-* and X-DTLS-* headers (addresses, MTU, DNS, split routes, DPD,
 * keepalive, the DTLS port and App-ID). Hostile input, fuzzed with the HTTP
 * parser (tests/fuzz/fuzz_ac_http.c).
 */
#ifndef TR_ANYCONNECT_PARAMS_H
#define TR_ANYCONNECT_PARAMS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "anyconnect/http.h"

#define TR_AC_LIST_MAX   16  /* DNS servers, split routes of each kind */
#define TR_AC_APPID_MAX  32
#define TR_AC_STR_MAX    256

struct tr_ac_params {
	/* IPv4: dotted quads, checked with inet_pton. */
	char addr4[INET_ADDRSTRLEN], mask4[INET_ADDRSTRLEN];
	/* IPv6: "addr/prefix" (X-CSTP-Address-IP6), checked. */
	char addr6[INET6_ADDRSTRLEN + 4];
	unsigned mtu;                   /* X-CSTP-MTU (required) */
	unsigned base_mtu;              /* X-CSTP-Base-MTU, 0 if absent */
	int dpd, keepalive;             /* seconds, 0 = off */
	int idle_timeout;               /* seconds, -1 = none */
	int session_timeout;            /* seconds, 0 = none */
	int rekey_time;                 /* seconds, 0 = none */
	char rekey_method[16];          /* "ssl", "new-tunnel", "" */
	char dns[TR_AC_LIST_MAX][INET6_ADDRSTRLEN]; unsigned n_dns;
	char split_inc[TR_AC_LIST_MAX][INET6_ADDRSTRLEN + 20]; unsigned n_split_inc; /* "a/m" */
	char split_exc[TR_AC_LIST_MAX][INET6_ADDRSTRLEN + 20]; unsigned n_split_exc;
	char split_inc6[TR_AC_LIST_MAX][INET6_ADDRSTRLEN + 4]; unsigned n_split_inc6;
	char default_domain[TR_AC_STR_MAX];
	char server_name[64];           /* X-CSTP-Server-Name, for show */
	char banner[TR_AC_STR_MAX];
	/* DTLS, PSK-NEGOTIATE mode only: present when the server offers UDP. */
	bool dtls;                      /* App-ID, port and PSK-NEGOTIATE all given */
	uint16_t dtls_port;
	uint8_t app_id[TR_AC_APPID_MAX]; unsigned app_id_len;
	int dtls_dpd, dtls_keepalive, dtls_rekey_time;
	unsigned counted_unknown;       /* X- headers not understood (ignored) */
	unsigned counted_bad;           /* known headers with bad values (ignored) */
};

/*
 * Fills p from a 200 reply to CONNECT. Returns 0; -EPROTO when no usable
 * X-CSTP-MTU or no IPv4 or IPv6 address came (nothing to run a tunnel with).
 * A known header with a bad value or a list over TR_AC_LIST_MAX is counted
 * in counted_bad and ignored; DTLS stays off unless port, App-ID and
 * PSK-NEGOTIATE are all good.
 */
int tr_ac_params_parse(const struct tr_ac_http_resp *r, struct tr_ac_params *p);

#endif
