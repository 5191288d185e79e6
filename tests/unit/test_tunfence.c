/* SPDX-License-Identifier: MIT */
/*
 * tr_tunfence (src/common/tunfence.c): once installed, the TUN ioctls that
 * would change the device beyond the process fail with EPERM, also with junk
 * in the request's upper 32 bits (the kernel ignores those), and the data
 * path's own ioctls still reach the driver. Run on /dev/null, which answers
 * every TUN ioctl with ENOTTY: EPERM can then only come from the filter.
 * Each case runs in a child: a filter cannot be taken off again.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/tunfence.h"

/* errno of ioctl(/dev/null, req) in a child, with or without the fence; 0
 * if the call succeeded, 255 if the child could not set up. */
static int errno_of(unsigned long req, int fenced)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		int arg = 0;

		if (fd < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    (fenced && tr_tunfence() < 0))
			_exit(255);
		_exit(ioctl(fd, req, &arg) < 0 ? errno : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void fenced_ioctls_fail(void **state)
{
	static const unsigned long fenced[] = {
		TUNSETIFF, TUNSETPERSIST, TUNSETOWNER, TUNSETGROUP, TUNSETLINK,
	};
	(void)state;
	for (size_t i = 0; i < sizeof(fenced) / sizeof(fenced[0]); i++) {
		assert_int_equal(errno_of(fenced[i], 0), ENOTTY); /* the control */
		assert_int_equal(errno_of(fenced[i], 1), EPERM);
	}
}

static void upper_bits_do_not_pass(void **state)
{
	(void)state;
	if (sizeof(unsigned long) < 8)
		skip();
	unsigned long junk = (unsigned long)UINT32_MAX << 16 << 16;
	assert_int_equal(errno_of(junk | TUNSETPERSIST, 0), ENOTTY); /* the kernel drops them */
	assert_int_equal(errno_of(junk | TUNSETPERSIST, 1), EPERM);
}

static void data_path_ioctls_pass(void **state)
{
	(void)state;
	assert_int_equal(errno_of(TUNSETOFFLOAD, 1), ENOTTY);
	assert_int_equal(errno_of(TUNSETQUEUE, 1), ENOTTY);
	assert_int_equal(errno_of(TUNGETIFF, 1), ENOTTY);
	assert_int_equal(errno_of(FIONREAD, 1), ENOTTY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fenced_ioctls_fail),
		cmocka_unit_test(upper_bits_do_not_pass),
		cmocka_unit_test(data_path_ioctls_pass),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
