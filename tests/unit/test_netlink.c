/* SPDX-License-Identifier: MIT */
/* rtnetlink helpers: prefix parsing, lookups, argument checks, and the
 * kernel's own error coming back as a negative errno. Nothing here changes a
 * link: the changes are tested in a namespace (tests/netns). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "caps.h"
#include "engine/netlink.h"

static void prefix_parse(void **state)
{
	(void)state;
	struct tr_ip_prefix p;
	struct in_addr v4;
	struct in6_addr v6;

	assert_int_equal(tr_ip_prefix_parse(&p, "198.18.0.1/24"), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.len, 24);
	inet_pton(AF_INET, "198.18.0.1", &v4);
	assert_memory_equal(&p.addr.v4, &v4, sizeof(v4));

	assert_int_equal(tr_ip_prefix_parse(&p, "fd00::1/64"), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 64);
	inet_pton(AF_INET6, "fd00::1", &v6);
	assert_memory_equal(&p.addr.v6, &v6, sizeof(v6));

	assert_int_equal(tr_ip_prefix_parse(&p, "192.0.2.7"), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(tr_ip_prefix_parse(&p, "fd00::7"), 0);
	assert_int_equal(p.len, 128);
	assert_int_equal(tr_ip_prefix_parse(&p, "0.0.0.0/0"), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(tr_ip_prefix_parse(&p, "fd00::/128"), 0);

	const char *bad[] = {
		"", "/24", "198.18.0.1/", "198.18.0.1/33", "fd00::1/129", "198.18.0.1/+1",
		"198.18.0.1/ 1", "198.18.0.1/0x1", "198.18.0.1/1000", "198.18.0/24",
		"198.18.0.1/24/1", "host/24", "fd00::1%eth0/64", "::ffff:198.18.0.1.5",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tr_ip_prefix_parse(&p, bad[i]) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(tr_ip_prefix_parse(NULL, "198.18.0.1"), -EINVAL);
	assert_int_equal(tr_ip_prefix_parse(&p, NULL), -EINVAL);
}

static void link_index(void **state)
{
	(void)state;
	struct tr_nl *nl;
	int idx = -1;

	assert_int_equal(tr_nl_open(&nl), 0);
	assert_int_equal(tr_nl_link_index(nl, "lo", &idx), 0);
	assert_int_equal(idx, (int)if_nametoindex("lo"));
	/* The kernel's NLMSG_ERROR, passed through. */
	assert_int_equal(tr_nl_link_index(nl, "trnosuch9", &idx), -ENODEV);
	assert_int_equal(tr_nl_link_index(nl, "", &idx), -EINVAL);
	assert_int_equal(tr_nl_link_index(nl, "abcdefghijklmnop", &idx), -EINVAL);
	assert_int_equal(tr_nl_link_index(nl, NULL, &idx), -EINVAL);
	uint32_t mtu = 0;
	assert_int_equal(tr_nl_link_get_mtu(nl, idx, &mtu), 0);
	{
		/* The same answer as the old ioctl gives. */
		struct ifreq ifr = { .ifr_name = "lo" };
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		assert_true(fd >= 0);
		assert_int_equal(ioctl(fd, SIOCGIFMTU, &ifr), 0);
		assert_int_equal(mtu, (uint32_t)ifr.ifr_mtu);
		close(fd);
	}
	assert_int_equal(tr_nl_link_get_mtu(nl, 0, &mtu), -EINVAL);
	assert_int_equal(tr_nl_link_get_mtu(nl, 99999, &mtu), -ENODEV);
	/* The socket keeps working after errors (sequence numbers stay in step). */
	assert_int_equal(tr_nl_link_index(nl, "lo", &idx), 0);
	tr_nl_close(nl);
	tr_nl_close(NULL);
}

static void bad_arguments(void **state)
{
	(void)state;
	struct tr_nl *nl;
	struct tr_ip_prefix p = { .family = AF_INET, .len = 24 };

	assert_int_equal(tr_nl_open(NULL), -EINVAL);
	assert_int_equal(tr_nl_open(&nl), 0);
	assert_int_equal(tr_nl_link_set_mtu(nl, 0, 1400), -EINVAL);
	assert_int_equal(tr_nl_link_set_mtu(nl, 1, 0), -EINVAL);
	assert_int_equal(tr_nl_link_set_up(nl, -1, true), -EINVAL);
	assert_int_equal(tr_nl_link_del(nl, 0), -EINVAL);
	assert_int_equal(tr_nl_addr_add(nl, 0, &p), -EINVAL);
	assert_int_equal(tr_nl_addr_add(nl, 1, NULL), -EINVAL);
	p.len = 33;
	assert_int_equal(tr_nl_addr_add(nl, 1, &p), -EINVAL);
	p.family = AF_UNIX;
	p.len = 8;
	assert_int_equal(tr_nl_addr_del(nl, 1, &p), -EINVAL);
	tr_nl_close(nl);
}

/* Changes without CAP_NET_ADMIN come back as the kernel's -EPERM; the child
 * drops its capabilities first, so nothing changes even when run as root. */
static void kernel_refuses_without_capability(void **state)
{
	(void)state;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct tr_ip_prefix p;
		struct tr_nl *nl;
		int lo = (int)if_nametoindex("lo");

		if (drop_all_caps() != 0 || tr_nl_open(&nl) != 0 || lo <= 0)
			_exit(100);
		if (tr_nl_link_set_mtu(nl, lo, 1280) != -EPERM)
			_exit(1);
		if (tr_nl_link_set_up(nl, lo, false) != -EPERM)
			_exit(2);
		if (tr_ip_prefix_parse(&p, "198.18.0.1/24") || tr_nl_addr_add(nl, lo, &p) != -EPERM)
			_exit(3);
		if (tr_nl_link_del(nl, lo) != -EPERM)
			_exit(4);
		tr_nl_close(nl);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prefix_parse),
		cmocka_unit_test(link_index),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(kernel_refuses_without_capability),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
