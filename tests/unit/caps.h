/* SPDX-License-Identifier: MIT */
/* Test helper: give up every capability in this (forked) process, so that a
 * test run as root can still check the "no CAP_NET_ADMIN" error paths. */
#ifndef TR_TEST_CAPS_H
#define TR_TEST_CAPS_H

#include <errno.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int drop_all_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

/* What opening a TUN device without any capability must fail with: the
 * node's mode refuses first where it is not open to all (-EACCES: some
 * systems ship it 0600), else TUNSETIFF's CAP_NET_ADMIN check (-EPERM). */
static inline int tun_errno_without_caps(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)) != (S_IROTH | S_IWOTH))
		return EACCES;
	return EPERM;
}

#endif
