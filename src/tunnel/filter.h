/* SPDX-License-Identifier: MIT */
/* The inner source filter's table (PeerAddresses): filter.c. */
#ifndef TR_TUNNEL_FILTER_H
#define TR_TUNNEL_FILTER_H

#include "tunnel/dataplane.h"

/* Fills t->src_ok and t->src_own from cfg and, if tell, says the result on
 * stderr. */
void tr_filter_setup(struct tr_tunnel *t, const struct tr_config *cfg, bool tell);

#endif
