/* SPDX-License-Identifier: MIT */
/*
 * TEMPORARY stand-in for the data plane so that `tunroom up` builds and checks
 * configs end to end. The lead replaces this file with the real tunnel
 * (egress/ingress threads over the rings); keep the contract of tunnel.h.
 */
#include <errno.h>

#include "tunnel/tunnel.h"

int tr_tunnel_run(const struct tr_config *cfg, const struct tr_tunnel_opts *opts)
{
	(void)cfg;
	(void)opts;
	return -ENOSYS;
}
