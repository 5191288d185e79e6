/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink requests for a TUN link (RFC 3549 describes the message model;
 * the attribute names are the kernel's uapi). One request at a time, each
 * with NLM_F_ACK, so every call ends on the kernel's NLMSG_ERROR answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/netlink.h"

struct tr_nl {
	struct mnl_socket *sk;
	unsigned int portid;
	uint32_t seq;
	char buf[8192]; /* MNL_SOCKET_BUFFER_SIZE at most; that one is not constant */
};

int tr_ip_prefix_parse(struct tr_ip_prefix *out, const char *text)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	size_t n;
	unsigned long len, max;

	if (!out || !text)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	slash = strchr(text, '/');
	n = slash ? (size_t)(slash - text) : strlen(text);
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &out->addr.v4) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, &out->addr.v6) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	if (!slash) {
		out->len = (uint8_t)max;
		return 0;
	}
	/* Decimal digits only: strtoul would take "+1", " 1" and "0x10". */
	len = 0;
	if (!slash[1] || strlen(slash + 1) > 3)
		return -EINVAL;
	for (const char *c = slash + 1; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		len = len * 10 + (unsigned long)(*c - '0');
	}
	if (len > max)
		return -EINVAL;
	out->len = (uint8_t)len;
	return 0;
}

/* One rtnetlink socket, bound to the multicast groups given (0: requests only). */
static int nl_open_groups(struct tr_nl **out, unsigned groups)
{
	struct tr_nl *nl;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sk) {
		err = -errno;
		goto err_free;
	}
	if (mnl_socket_bind(nl->sk, groups, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err_close;
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)getpid() << 8;
	*out = nl;
	return 0;

err_close:
	mnl_socket_close(nl->sk);
err_free:
	free(nl);
	return err;
}

int tr_nl_open(struct tr_nl **out)
{
	return nl_open_groups(out, 0);
}

void tr_nl_close(struct tr_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sk);
	free(nl);
}

static struct nlmsghdr *msg_start(struct tr_nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

/* Sends nlh and reads until the acknowledgement for its sequence number.
 * Data replies go to cb (may be NULL). libmnl turns an NLMSG_ERROR with a
 * non-zero code into MNL_CB_ERROR and that code into errno; an error code of
 * 0 is the acknowledgement and ends the exchange (MNL_CB_STOP). */
static int talk(struct tr_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sk, nl->buf, sizeof(nl->buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret == MNL_CB_ERROR)
			return errno ? -errno : -EPROTO;
	}
}

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	ifi = mnl_nlmsg_get_payload(nlh);
	*(int *)data = ifi->ifi_index;
	return MNL_CB_OK;
}

int tr_nl_link_index(struct tr_nl *nl, const char *name, int *ifindex)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	size_t n;
	int idx = 0, err;

	if (!nl || !name || !ifindex)
		return -EINVAL;
	n = strnlen(name, IFNAMSIZ);
	if (n == 0 || n >= IFNAMSIZ)
		return -EINVAL;
	nlh = msg_start(nl, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	err = talk(nl, nlh, link_index_cb, &idx);
	if (err)
		return err;
	if (idx <= 0)
		return -ENODEV;
	*ifindex = idx;
	return 0;
}

struct link_info {
	int ifindex;
	uint32_t mtu;
	unsigned flags;
	bool qdisc_noop;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(attr) == IFLA_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
		li->mtu = mnl_attr_get_u32(attr);
	if (mnl_attr_get_type(attr) == IFLA_QDISC && mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0)
		li->qdisc_noop = !strcmp(mnl_attr_get_str(attr), "noop");
	return MNL_CB_OK;
}

static int link_info_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_info *li = data;
	const struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	ifi = mnl_nlmsg_get_payload(nlh);
	li->ifindex = ifi->ifi_index;
	li->flags = ifi->ifi_flags;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, li);
	return MNL_CB_OK;
}

static int link_get(struct tr_nl *nl, int ifindex, struct link_info *li)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int err;

	memset(li, 0, sizeof(*li));
	nlh = msg_start(nl, RTM_GETLINK, 0);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	err = talk(nl, nlh, link_info_cb, li);
	if (err)
		return err;
	return li->ifindex == ifindex ? 0 : -ENODEV;
}

int tr_nl_link_get_mtu(struct tr_nl *nl, int ifindex, uint32_t *mtu)
{
	struct link_info li;
	int err;

	if (!nl || ifindex <= 0 || !mtu)
		return -EINVAL;
	err = link_get(nl, ifindex, &li);
	if (err)
		return err;
	*mtu = li.mtu;
	return 0;
}

int tr_nl_link_flags(struct tr_nl *nl, int ifindex, unsigned *flags)
{
	struct link_info li;
	int err;

	if (!nl || ifindex <= 0 || !flags)
		return -EINVAL;
	err = link_get(nl, ifindex, &li);
	if (!err)
		*flags = li.flags;
	return err;
}

int tr_nl_monitor_open(struct tr_nl **out)
{
	return nl_open_groups(out, RTMGRP_LINK);
}

struct running_wait {
	int ifindex;
	bool running;
};

static int running_cb(const struct nlmsghdr *nlh, void *data)
{
	struct running_wait *w = data;
	const struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (ifi->ifi_index == w->ifindex && (ifi->ifi_flags & IFF_RUNNING))
		w->running = true;
	return MNL_CB_OK;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tr_nl_monitor_wait_running(struct tr_nl *mon, int ifindex, int timeout_ms)
{
	struct running_wait w = { .ifindex = ifindex };
	long deadline = now_ms() + timeout_ms;

	if (!mon || ifindex <= 0 || timeout_ms < 0)
		return -EINVAL;
	while (!w.running) {
		struct pollfd pfd = { .fd = mnl_socket_get_fd(mon->sk), .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = mnl_socket_recvfrom(mon->sk, mon->buf, sizeof(mon->buf));
		if (n < 0)
			return errno == ENOBUFS ? -ENOBUFS : -errno;
		/* Notifications carry sequence number and port 0. */
		mnl_cb_run(mon->buf, (size_t)n, 0, 0, running_cb, &w);
	}
	return 0;
}

struct tentative_count {
	int ifindex;
	unsigned n;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	uint32_t *flags = data;

	if (mnl_attr_get_type(attr) == IFA_FLAGS && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
		*flags = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int tentative_cb(const struct nlmsghdr *nlh, void *data)
{
	struct tentative_count *t = data;
	const struct ifaddrmsg *ifa;
	uint32_t flags;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if ((int)ifa->ifa_index != t->ifindex)
		return MNL_CB_OK;
	/* IFA_FLAGS, when there, holds all 32 bits; ifa_flags only 8. */
	flags = ifa->ifa_flags;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, &flags);
	if ((flags & IFA_F_TENTATIVE) && !(flags & IFA_F_DADFAILED))
		t->n++;
	return MNL_CB_OK;
}

int tr_nl_addr_wait_ready(struct tr_nl *nl, int ifindex, int timeout_ms)
{
	struct timespec ms = { 0, 1000000 };

	if (!nl || ifindex <= 0 || timeout_ms < 0)
		return -EINVAL;
	for (int waited = 0;; waited++) {
		struct tentative_count t = { .ifindex = ifindex };
		struct nlmsghdr *nlh = msg_start(nl, RTM_GETADDR, NLM_F_DUMP);
		struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		int err;

		ifa->ifa_family = AF_INET6;
		err = talk(nl, nlh, tentative_cb, &t);
		if (err)
			return err;
		if (!t.n)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&ms, NULL);
	}
}

static struct nlmsghdr *link_msg(struct tr_nl *nl, uint16_t type, int ifindex,
				 struct ifinfomsg **ifi)
{
	struct nlmsghdr *nlh = msg_start(nl, type, 0);

	*ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(**ifi));
	(*ifi)->ifi_family = AF_UNSPEC;
	(*ifi)->ifi_index = ifindex;
	return nlh;
}

/* One u32 attribute of a link set; 0 is no value for any of them. */
static int link_set_u32(struct tr_nl *nl, int ifindex, uint16_t attr, uint32_t v)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!nl || ifindex <= 0 || v == 0)
		return -EINVAL;
	nlh = link_msg(nl, RTM_NEWLINK, ifindex, &ifi);
	mnl_attr_put_u32(nlh, attr, v);
	return talk(nl, nlh, NULL, NULL);
}

int tr_nl_link_set_mtu(struct tr_nl *nl, int ifindex, uint32_t mtu)
{
	return link_set_u32(nl, ifindex, IFLA_MTU, mtu);
}

int tr_nl_link_set_gso_max_segs(struct tr_nl *nl, int ifindex, uint32_t segs)
{
	return link_set_u32(nl, ifindex, IFLA_GSO_MAX_SEGS, segs);
}

int tr_nl_link_set_up(struct tr_nl *nl, int ifindex, bool up)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!nl || ifindex <= 0)
		return -EINVAL;
	nlh = link_msg(nl, RTM_NEWLINK, ifindex, &ifi);
	/* ifi_change selects the flag bits this request sets. */
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return talk(nl, nlh, NULL, NULL);
}

int tr_nl_link_del(struct tr_nl *nl, int ifindex)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (!nl || ifindex <= 0)
		return -EINVAL;
	nlh = link_msg(nl, RTM_DELLINK, ifindex, &ifi);
	return talk(nl, nlh, NULL, NULL);
}

static int addr_msg(struct tr_nl *nl, uint16_t type, uint16_t flags, int ifindex,
		    const struct tr_ip_prefix *p)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	size_t alen;

	if (!nl || ifindex <= 0 || !p)
		return -EINVAL;
	if (p->family == AF_INET && p->len <= 32)
		alen = sizeof(p->addr.v4);
	else if (p->family == AF_INET6 && p->len <= 128)
		alen = sizeof(p->addr.v6);
	else
		return -EINVAL;
	nlh = msg_start(nl, type, flags);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	if (p->family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	/* IFA_LOCAL is the address of this end; IFA_ADDRESS the same address
	 * means "no separate peer address" on a point-to-point link. */
	mnl_attr_put(nlh, IFA_LOCAL, alen, &p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, &p->addr);
	return talk(nl, nlh, NULL, NULL);
}

int tr_nl_addr_add(struct tr_nl *nl, int ifindex, const struct tr_ip_prefix *p)
{
	return addr_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, p);
}

int tr_nl_addr_del(struct tr_nl *nl, int ifindex, const struct tr_ip_prefix *p)
{
	return addr_msg(nl, RTM_DELADDR, 0, ifindex, p);
}

static int route_msg(struct tr_nl *nl, uint16_t type, uint16_t flags, int ifindex,
		     const struct tr_ip_prefix *dst, uint32_t table)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rt;
	size_t alen;

	if (!nl || ifindex <= 0 || !dst || !table)
		return -EINVAL;
	if (dst->family == AF_INET && dst->len <= 32)
		alen = sizeof(dst->addr.v4);
	else if (dst->family == AF_INET6 && dst->len <= 128)
		alen = sizeof(dst->addr.v6);
	else
		return -EINVAL;
	nlh = msg_start(nl, type, flags);
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (uint8_t)dst->family;
	rt->rtm_dst_len = dst->len;
	/* Tables past 255 exist only as RTA_TABLE. */
	rt->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_LINK;
	rt->rtm_type = RTN_UNICAST;
	if (dst->len)
		mnl_attr_put(nlh, RTA_DST, alen, &dst->addr);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	return talk(nl, nlh, NULL, NULL);
}

int tr_nl_route_add(struct tr_nl *nl, int ifindex, const struct tr_ip_prefix *dst, uint32_t table)
{
	return route_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, dst, table);
}

int tr_nl_route_del(struct tr_nl *nl, int ifindex, const struct tr_ip_prefix *dst, uint32_t table)
{
	return route_msg(nl, RTM_DELROUTE, 0, ifindex, dst, table);
}

static int rule_msg(struct tr_nl *nl, uint16_t type, uint16_t flags, const struct tr_nl_rule *r)
{
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *h;

	if (!nl || !r || !r->table || (r->family != AF_INET && r->family != AF_INET6))
		return -EINVAL;
	nlh = msg_start(nl, type, flags);
	h = mnl_nlmsg_put_extra_header(nlh, sizeof(*h));
	h->family = (uint8_t)r->family;
	h->action = FR_ACT_TO_TBL;
	h->table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	h->flags = r->invert ? FIB_RULE_INVERT : 0;
	mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	if (r->fwmark) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffffu);
	}
	if (r->suppress_prefixlen >= 0)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, (uint32_t)r->suppress_prefixlen);
	return talk(nl, nlh, NULL, NULL);
}

int tr_nl_rule_add(struct tr_nl *nl, const struct tr_nl_rule *r)
{
	return rule_msg(nl, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r);
}

int tr_nl_rule_del(struct tr_nl *nl, const struct tr_nl_rule *r)
{
	return rule_msg(nl, RTM_DELRULE, 0, r);
}
