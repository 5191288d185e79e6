/* SPDX-License-Identifier: MIT */
/*
 * A UDP end as the config names it and the sockets use it: an IPv4 or IPv6
 * address with a port, and the few operations both sides need.
 */
#ifndef TR_CONFIG_SOCKADDR_H
#define TR_CONFIG_SOCKADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

union tr_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* The length bind/connect/sendmsg take for a's family. */
socklen_t tr_sockaddr_len(const union tr_sockaddr *a);
/* Port in host order (an address without a family keeps it as IPv4 does). */
uint16_t tr_sockaddr_port(const union tr_sockaddr *a);
void tr_sockaddr_set_port(union tr_sockaddr *a, uint16_t port);
/* Same family, address and port (an IPv6 scope id too). */
bool tr_sockaddr_equal(const union tr_sockaddr *a, const union tr_sockaddr *b);
/* Same family and address, ports aside. */
bool tr_sockaddr_same_host(const union tr_sockaddr *a, const union tr_sockaddr *b);
/* Formats a as "a.b.c.d:port" or "[v6]:port" ("[fe80::1%eth0]:port" with a
 * scope); "(none)" for an unset one. Returns buf. */
const char *tr_sockaddr_str(const union tr_sockaddr *a, char *buf, size_t len);

#endif
