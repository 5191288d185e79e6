/* SPDX-License-Identifier: MIT */
/* UDP ends: lengths, ports, comparison, printing. */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "config/sockaddr.h"

socklen_t tr_sockaddr_len(const union tr_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

uint16_t tr_sockaddr_port(const union tr_sockaddr *a)
{
	/* An address whose family is not set yet keeps its port where IPv4
	 * does (the parser sets ListenPort before it knows the family). */
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
}

void tr_sockaddr_set_port(union tr_sockaddr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
	else
		a->in.sin_port = htons(port);
}

bool tr_sockaddr_same_host(const union tr_sockaddr *a, const union tr_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(struct in6_addr)) &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id;
	return false;
}

bool tr_sockaddr_equal(const union tr_sockaddr *a, const union tr_sockaddr *b)
{
	return tr_sockaddr_same_host(a, b) && tr_sockaddr_port(a) == tr_sockaddr_port(b);
}

const char *tr_sockaddr_str(const union tr_sockaddr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN], scope[IF_NAMESIZE + 1] = "";

	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, tr_sockaddr_port(a));
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof(ip));
		if (a->in6.sin6_scope_id && !if_indextoname(a->in6.sin6_scope_id, scope + 1))
			snprintf(scope + 1, sizeof(scope) - 1, "%u", a->in6.sin6_scope_id);
		if (scope[1])
			scope[0] = '%';
		snprintf(buf, len, "[%s%s]:%u", ip, scope, tr_sockaddr_port(a));
	} else {
		snprintf(buf, len, "(none)");
	}
	return buf;
}
