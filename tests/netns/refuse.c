/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD shim for the fallback test (tunnel-fallback.sh): makes the
 * kernel features named in $TR_REFUSE (comma-separated) fail the way a
 * kernel without them does, so the per-packet fallbacks can be run on a
 * kernel that has everything. Every other call passes through untouched.
 *
 *   vnet_hdr          TUNSETIFF with IFF_VNET_HDR -> EINVAL (TUNSETIFF's
 *                     answer to flags it will not take; the one error
 *                     tundev.c retries without the flag)
 *   tunsetoffload     TUNSETOFFLOAD asking for more than TUN_F_CSUM -> EINVAL
 *                     (the kernel's set_offload refuses feature bits it does
 *                     not know)
 *   udp_segment       setsockopt(SOL_UDP, UDP_SEGMENT) -> ENOPROTOOPT (the
 *                     answer of udp_lib_setsockopt to an unknown option)
 *   udp_segment_send  sendmsg/sendmmsg of a message with a UDP_SEGMENT cmsg
 *                     -> EIO (udp_send_skb: the route's device cannot
 *                     checksum a GSO skb); the probe at open still passes
 *   udp_gro           setsockopt(SOL_UDP, UDP_GRO) -> ENOPROTOOPT
 *   all               all of the above
 *
 * Each refusal is said on stderr ("refuse: ..."), so a test can see the shim
 * acted. An unknown name ends the process: a typo must not pass as "no
 * refusal". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

enum {
	R_VNET_HDR = 1 << 0,
	R_TUNSETOFFLOAD = 1 << 1,
	R_UDP_SEGMENT = 1 << 2,
	R_UDP_SEGMENT_SEND = 1 << 3,
	R_UDP_GRO = 1 << 4,
};

static const struct {
	const char *name;
	unsigned bit;
} names[] = {
	{ "vnet_hdr", R_VNET_HDR },
	{ "tunsetoffload", R_TUNSETOFFLOAD },
	{ "udp_segment", R_UDP_SEGMENT },
	{ "udp_segment_send", R_UDP_SEGMENT_SEND },
	{ "udp_gro", R_UDP_GRO },
	{ "all", ~0u },
};

static unsigned refused;

__attribute__((constructor)) static void parse(void)
{
	const char *env = getenv("TR_REFUSE");
	char buf[256], *save = NULL;

	if (!env || !*env)
		return;
	if (strlen(env) >= sizeof(buf)) {
		fprintf(stderr, "refuse: TR_REFUSE too long\n");
		_exit(2);
	}
	strcpy(buf, env);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(w, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			fprintf(stderr, "refuse: unknown feature '%s' in TR_REFUSE\n", w);
			_exit(2);
		}
		refused |= names[i].bit;
	}
}

static void *next(const char *sym)
{
	void *f = dlsym(RTLD_NEXT, sym);

	if (!f) {
		fprintf(stderr, "refuse: no next %s: %s\n", sym, dlerror());
		abort();
	}
	return f;
}

static int refuse(const char *what, int err)
{
	fprintf(stderr, "refuse: %s -> %s\n", what, strerror(err));
	errno = err;
	return -1;
}

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, ...))next("ioctl");
	if (req == TUNSETIFF && (refused & R_VNET_HDR) && arg &&
	    (((const struct ifreq *)arg)->ifr_flags & IFF_VNET_HDR))
		return refuse("TUNSETIFF with IFF_VNET_HDR", EINVAL);
	if (req == TUNSETOFFLOAD && (refused & R_TUNSETOFFLOAD) &&
	    ((unsigned long)arg & ~(unsigned long)TUN_F_CSUM))
		return refuse("TUNSETOFFLOAD", EINVAL);
	return real(fd, req, arg);
}

int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);

	if (!real)
		real = (int (*)(int, int, int, const void *, socklen_t))next("setsockopt");
	if (level == SOL_UDP && opt == UDP_SEGMENT && (refused & R_UDP_SEGMENT))
		return refuse("setsockopt UDP_SEGMENT", ENOPROTOOPT);
	if (level == SOL_UDP && opt == UDP_GRO && (refused & R_UDP_GRO))
		return refuse("setsockopt UDP_GRO", ENOPROTOOPT);
	return real(fd, level, opt, val, len);
}

static int has_segment(const struct msghdr *h)
{
	if (!(refused & R_UDP_SEGMENT_SEND) || !h->msg_control)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR((struct msghdr *)h, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_SEGMENT)
			return 1;
	return 0;
}

ssize_t sendmsg(int fd, const struct msghdr *h, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);

	if (!real)
		real = (ssize_t (*)(int, const struct msghdr *, int))next("sendmsg");
	if (has_segment(h))
		return refuse("sendmsg with UDP_SEGMENT", EIO);
	return real(fd, h, flags);
}

/* Like the kernel's sendmmsg: the messages before the refused one go, and
 * their count is the result; a refused first message is the call's error. */
int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	static int (*real)(int, struct mmsghdr *, unsigned int, int);
	unsigned i;

	if (!real)
		real = (int (*)(int, struct mmsghdr *, unsigned int, int))next("sendmmsg");
	for (i = 0; i < n && !has_segment(&v[i].msg_hdr); i++)
		;
	if (i == 0 && n > 0)
		return refuse("sendmmsg with UDP_SEGMENT", EIO);
	return real(fd, v, i, flags);
}
