/* SPDX-License-Identifier: MIT */
/* TUN device open: names, flags and the errors a user sees, all without
 * creating a device (the netns test creates real ones). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "caps.h"
#include "engine/tun.h"

static void name_check(void **state)
{
	(void)state;
	assert_int_equal(tr_tun_name_check("tr0"), 0);
	assert_int_equal(tr_tun_name_check("tr%d"), 0);
	assert_int_equal(tr_tun_name_check("%d"), 0);
	assert_int_equal(tr_tun_name_check("vpn-corp.x_1"), 0);
	assert_int_equal(tr_tun_name_check("abcdefghijklmno"), 0);   /* 15 bytes */
	assert_int_equal(tr_tun_name_check("abcdefghijklmnop"), -EINVAL); /* 16 */
	assert_int_equal(tr_tun_name_check(""), -EINVAL);
	assert_int_equal(tr_tun_name_check(NULL), -EINVAL);
	assert_int_equal(tr_tun_name_check("."), -EINVAL);
	assert_int_equal(tr_tun_name_check(".."), -EINVAL);
	assert_int_equal(tr_tun_name_check("a/b"), -EINVAL);
	assert_int_equal(tr_tun_name_check("a:1"), -EINVAL);
	assert_int_equal(tr_tun_name_check("a b"), -EINVAL);
	assert_int_equal(tr_tun_name_check("a\tb"), -EINVAL);
	assert_int_equal(tr_tun_name_check("tr%s"), -EINVAL);
	assert_int_equal(tr_tun_name_check("tr%d%d"), -EINVAL);
	assert_int_equal(tr_tun_name_check("tr%"), -EINVAL);
	assert_int_equal(tr_tun_name_check("%%d"), -EINVAL);
}

static void expect_open(const struct tr_tun_config *cfg, int want)
{
	struct tr_tun t;

	assert_int_equal(tr_tun_open(&t, cfg), want);
	/* A failed open leaves nothing to close. */
	for (unsigned i = 0; i < TR_TUN_QUEUES_MAX; i++)
		assert_int_equal(t.fds[i], -1);
	assert_int_equal(t.queues, 0);
	tr_tun_close(&t);
}

static void bad_arguments(void **state)
{
	(void)state;
	struct tr_tun t;

	assert_int_equal(tr_tun_open(NULL, &(struct tr_tun_config){ 0 }), -EINVAL);
	assert_int_equal(tr_tun_open(&t, NULL), -EINVAL);
	expect_open(&(struct tr_tun_config){ .flags = 0x100 }, -EINVAL);
	expect_open(&(struct tr_tun_config){ .flags = TR_TUN_F_ATTACH | TR_TUN_F_CREATE }, -EINVAL);
	expect_open(&(struct tr_tun_config){ .queues = TR_TUN_QUEUES_MAX + 1 }, -EINVAL);
	expect_open(&(struct tr_tun_config){ .name = "abcdefghijklmnop" }, -EINVAL);
	expect_open(&(struct tr_tun_config){ .name = "tr%x" }, -EINVAL);
	/* A template can only be created, never attached to. */
	expect_open(&(struct tr_tun_config){ .flags = TR_TUN_F_ATTACH }, -EINVAL);
	tr_tun_close(NULL);
}

/* Existence is decided before any privilege is needed. */
static void attach_and_create_semantics(void **state)
{
	(void)state;
	expect_open(&(struct tr_tun_config){ .name = "trnosuch9", .flags = TR_TUN_F_ATTACH },
		    -ENODEV);
	expect_open(&(struct tr_tun_config){ .name = "lo", .flags = TR_TUN_F_CREATE }, -EEXIST);
}

static void missing_device_node(void **state)
{
	(void)state;
	expect_open(&(struct tr_tun_config){ .dev_path = "/nonexistent/net/tun" }, -ENOENT);
	assert_non_null(strstr(tr_tun_strerror(-ENOENT), "modprobe tun"));
}

/* Without capabilities: -EACCES where the node's mode refuses (a 0600 node),
 * else -EPERM from the TUNSETIFF check. The child drops its
 * capabilities so that this holds when the tests run as root too, and the
 * template name means a mistake could only ever create, never hijack. */
static void no_capability(void **state)
{
	(void)state;
	int status;
	pid_t pid;

	if (access(TR_TUN_DEV_PATH, F_OK) != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tr_tun t;
		int err;

		if (drop_all_caps() != 0)
			_exit(100);
		err = tr_tun_open(&t, &(struct tr_tun_config){ .name = "trcap%d" });
		tr_tun_close(&t);
		_exit(-err & 0xff);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), tun_errno_without_caps(TR_TUN_DEV_PATH));
	assert_non_null(strstr(tr_tun_strerror(-EPERM), "CAP_NET_ADMIN"));
	assert_non_null(strstr(tr_tun_strerror(-EACCES), "CAP_DAC_OVERRIDE"));
}

static void strerror_never_null(void **state)
{
	(void)state;
	const int errs[] = { 0, -ENOENT, -EPERM, -EINVAL, -ENODEV, -EEXIST, -EBUSY, -ENXIO, -EIO };

	for (unsigned i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		assert_non_null(tr_tun_strerror(errs[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(name_check),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(attach_and_create_semantics),
		cmocka_unit_test(missing_device_node),
		cmocka_unit_test(no_capability),
		cmocka_unit_test(strerror_never_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
