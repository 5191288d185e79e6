/* SPDX-License-Identifier: MIT */
/*
 * Internal: link settings over rtnetlink (libmnl): MTU, addresses, up/down,
 * delete, ifindex. Every call waits for the kernel's acknowledgement and
 * returns its error as a negative errno.
 */
#ifndef TR_ENGINE_NETLINK_H
#define TR_ENGINE_NETLINK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct tr_nl;

/* An address with its prefix length: "198.18.0.1/24", "fd00::1/64". */
struct tr_ip_prefix {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	uint8_t len; /* prefix length: 0..32 or 0..128 */
};

/* Parses "ADDR/LEN" or a bare "ADDR" (a host prefix, /32 or /128).
 * Returns 0 or -EINVAL. */
int tr_ip_prefix_parse(struct tr_ip_prefix *out, const char *text);

/* Opens a NETLINK_ROUTE socket in the caller's network namespace.
 * Returns 0, -ENOMEM, or the socket's negative errno. */
int tr_nl_open(struct tr_nl **out);
void tr_nl_close(struct tr_nl *nl);

/* ifindex of the link called name: 0 and *ifindex set, -EINVAL (bad name),
 * -ENODEV (no such link), or another negative errno from the kernel. */
int tr_nl_link_index(struct tr_nl *nl, const char *name, int *ifindex);

/* The link's current MTU: 0, -EINVAL, -ENODEV, or the kernel's negative errno. */
int tr_nl_link_get_mtu(struct tr_nl *nl, int ifindex, uint32_t *mtu);

/* The link's IFF_* flags (IFF_UP, IFF_RUNNING, ...). */
int tr_nl_link_flags(struct tr_nl *nl, int ifindex, unsigned *flags);

/* A TUN link that is up but has no queue attached has no carrier. When a
 * queue attaches, the kernel turns the carrier on at once but only later,
 * from its link-watch work, replaces the qdisc that drops everything sent;
 * replies to the first packets would be lost. That work ends with an
 * RTM_NEWLINK notification, so: open a monitor (subscribed to link
 * notifications) before attaching, and wait on it afterwards.
 * Return 0, -ETIMEDOUT, -EINVAL, -ENOMEM, or a socket error. */
int tr_nl_monitor_open(struct tr_nl **out);
int tr_nl_monitor_wait_running(struct tr_nl *mon, int ifindex, int timeout_ms);

/* Waits (polling every millisecond, at most timeout_ms) until no IPv6
 * address of the link is tentative: even a NODAD address passes through the
 * kernel's DAD work queue after the link comes up, and packets to a
 * tentative address are not delivered. Returns 0, -ETIMEDOUT, -EINVAL, or
 * the kernel's negative errno. */
int tr_nl_addr_wait_ready(struct tr_nl *nl, int ifindex, int timeout_ms);

/* RTM_NEWLINK on an existing link. Return 0 or the kernel's negative errno
 * (-EINVAL for an MTU outside the device's range, -EPERM without CAP_NET_ADMIN). */
int tr_nl_link_set_mtu(struct tr_nl *nl, int ifindex, uint32_t mtu);
int tr_nl_link_set_up(struct tr_nl *nl, int ifindex, bool up);
/* The most segments the stack puts in one TSO super-packet for this link
 * (IFLA_GSO_MAX_SEGS; TCP connections opened later follow it). */
int tr_nl_link_set_gso_max_segs(struct tr_nl *nl, int ifindex, uint32_t segs);

/* RTM_DELLINK. Returns 0, -ENODEV, or the kernel's negative errno. */
int tr_nl_link_del(struct tr_nl *nl, int ifindex);

/* RTM_NEWADDR / RTM_DELADDR. IPv6 addresses are added with IFA_F_NODAD: a
 * TUN link is point to point, there is no neighbour to collide with, and DAD
 * would keep the address tentative (unusable) for a second or more.
 * Returns 0, -EINVAL, -EEXIST (add: already there), -EADDRNOTAVAIL (del:
 * not there), or the kernel's negative errno. */
int tr_nl_addr_add(struct tr_nl *nl, int ifindex, const struct tr_ip_prefix *p);
int tr_nl_addr_del(struct tr_nl *nl, int ifindex, const struct tr_ip_prefix *p);

/* RTM_NEWROUTE / RTM_DELROUTE: dst through the link ifindex (scope link,
 * no gateway: a TUN link is point to point), in routing table `table`
 * (RT_TABLE_MAIN = 254 for the main table). Returns 0, -EINVAL, -EEXIST
 * (add: already there), -ESRCH (del: not there), or the kernel's negative
 * errno. */
int tr_nl_route_add(struct tr_nl *nl, int ifindex, const struct tr_ip_prefix *dst, uint32_t table);
int tr_nl_route_del(struct tr_nl *nl, int ifindex, const struct tr_ip_prefix *dst, uint32_t table);

/* A policy routing rule (RTM_NEWRULE / RTM_DELRULE) of family: "lookup
 * table", only for packets whose mark is (invert: is not) fwmark when fwmark
 * is non-zero, ignoring a result of prefix length <= suppress_prefixlen when
 * that is >= 0 (ip rule ... suppress_prefixlength N). Add with NLM_F_EXCL:
 * -EEXIST when the same rule is there. Delete removes the first rule that
 * matches. Returns 0 or the kernel's negative errno. */
struct tr_nl_rule {
	int family;
	uint32_t table;
	uint32_t fwmark;
	bool invert;
	int suppress_prefixlen;
};
int tr_nl_rule_add(struct tr_nl *nl, const struct tr_nl_rule *r);
int tr_nl_rule_del(struct tr_nl *nl, const struct tr_nl_rule *r);

#endif /* TR_ENGINE_NETLINK_H */
