/* SPDX-License-Identifier: MIT */
/* TUN device backend without root: every argument is checked before a
 * device is touched, and the privilege error reads as one. Sessions on real
 * TUN devices are tested in a namespace (tests/netns/tundevtest.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "caps.h"
#include "tunroom/memdev.h"
#include "tunroom/tun.h"

static void bad_arguments(void **state)
{
	(void)state;
	const char *good[] = { "198.18.0.1/24" };
	const char *bad[] = { "198.18.0.1/24", "fd00::1/129" };
	struct tr_device *dev = (struct tr_device *)&dev;

	assert_int_equal(tr_tundev_open(NULL, &(struct tr_tundev_config){ 0 }), -EINVAL);
	assert_int_equal(tr_tundev_open(&dev, NULL), -EINVAL);
	assert_null(dev);
	assert_int_equal(tr_tundev_open(&dev, &(struct tr_tundev_config){ .flags = 0x100 }), -EINVAL);
	assert_int_equal(tr_tundev_open(&dev, &(struct tr_tundev_config){
		.burst = TR_TUNDEV_BURST_MAX + 1 }), -EINVAL);
	assert_int_equal(tr_tundev_open(&dev, &(struct tr_tundev_config){
		.queues = TR_TUNDEV_QUEUES_MAX + 1 }), -EINVAL);
	assert_int_equal(tr_tundev_open(&dev, &(struct tr_tundev_config){ .mtu = 67 }), -EINVAL);
	assert_int_equal(tr_tundev_open(&dev, &(struct tr_tundev_config){ .n_addresses = 1 }),
			 -EINVAL);
	/* A bad address anywhere in the list: nothing is created. */
	assert_int_equal(tr_tundev_open(&dev, &(struct tr_tundev_config){
		.addresses = bad, .n_addresses = 2 }), -EINVAL);
	assert_int_equal(tr_tundev_open(&dev, &(struct tr_tundev_config){
		.name = "a-name-far-too-long", .addresses = good, .n_addresses = 1 }), -EINVAL);
	assert_int_equal(tr_tundev_open(&dev, &(struct tr_tundev_config){
		.flags = TR_TUNDEV_F_ATTACH | TR_TUNDEV_F_CREATE, .name = "tr0" }), -EINVAL);
	assert_int_equal(tr_tundev_open(&dev, &(struct tr_tundev_config){
		.flags = TR_TUNDEV_F_ATTACH, .name = "trnosuch9" }), -ENODEV);
}

static void not_a_tun_device(void **state)
{
	(void)state;
	struct tr_memdev_config mc = { .mode = TR_MEMDEV_SINK };
	struct tr_tundev_stats st;
	struct tr_device *dev;

	assert_int_equal(tr_memdev_open(&dev, &mc), 0);
	assert_null(tr_tundev_name(dev));
	assert_null(tr_tundev_io_backend(dev));
	assert_int_equal(tr_tundev_ifindex(dev), -EINVAL);
	assert_int_equal(tr_tundev_stats(dev, &st), -EINVAL);
	assert_null(tr_tundev_name(NULL));
	tr_device_close(dev);
}

static void needs_capability(void **state)
{
	(void)state;
	int status;
	pid_t pid;

	if (access("/dev/net/tun", F_OK) != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *addrs[] = { "198.18.0.1/24" };
		struct tr_device *dev;
		int err;

		if (drop_all_caps() != 0)
			_exit(100);
		err = tr_tundev_open(&dev, &(struct tr_tundev_config){
			.name = "trcap%d", .mtu = 1400, .addresses = addrs, .n_addresses = 1 });
		_exit(-err & 0xff);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), tun_errno_without_caps("/dev/net/tun"));
	assert_non_null(strstr(tr_tundev_strerror(-EPERM), "CAP_NET_ADMIN"));
	assert_non_null(strstr(tr_tundev_strerror(-EACCES), "CAP_DAC_OVERRIDE"));
	assert_non_null(strstr(tr_tundev_strerror(-ENOENT), "/dev/net/tun"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(not_a_tun_device),
		cmocka_unit_test(needs_capability),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
