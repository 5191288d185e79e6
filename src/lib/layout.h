/* SPDX-License-Identifier: MIT */
/* Where everything sits in the ring mapping, computed from a session config,
 * and the check of a mapping's header as untrusted input. */
#ifndef TR_LIB_LAYOUT_H
#define TR_LIB_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "tunroom/tunroom.h"

struct tr_layout {
	uint32_t capacity, head_room, tail_room, max_packet, max_slot, slack;
	uint64_t egress_data, ingress_data, map_size;
};

/* Returns 0, -EINVAL or -ERANGE (see tr_session_config_check). */
int tr_layout_compute(const struct tr_session_config *cfg, struct tr_layout *l);
/* Writes a fresh header (and zeroed control blocks) into mem. */
void tr_layout_write(const struct tr_layout *l, void *mem);
/* Reads the header at mem once and checks it against map_size and against
 * the layout its own parameters imply. Returns 0 with *l filled,
 * -EPROTONOSUPPORT (magic or version), -EPROTO (inconsistent layout). */
int tr_layout_check(const void *mem, uint64_t map_size, struct tr_layout *l);

#endif
