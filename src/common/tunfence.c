/* SPDX-License-Identifier: MIT */
/* The seccomp filter behind tunfence.h, built with libseccomp. */
#include <errno.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>

#include "common/tunfence.h"

int tr_tunfence(void)
{
	static const unsigned long fenced[] = {
		TUNSETIFF, TUNSETPERSIST, TUNSETOWNER, TUNSETGROUP, TUNSETLINK,
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int err = ctx ? 0 : -ENOMEM;

	/* The kernel takes the request as an unsigned int: compare the low 32
	 * bits only, or a request with junk above them would pass the filter
	 * and still reach the driver as the fenced one. */
	for (size_t i = 0; !err && i < sizeof(fenced) / sizeof(fenced[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, fenced[i]));
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}
