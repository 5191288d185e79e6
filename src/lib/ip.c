/* SPDX-License-Identifier: MIT */
/* IP length fields, read to split an aggregated (MULTI) slot into packets. */
#include <errno.h>

#include "lib/api.h"
#include "lib/barrier.h"
#include "tunroom/ip.h"

TR_API int tr_ip_packet_length(const uint8_t *data, uint32_t avail, uint32_t *pkt_len)
{
	uint32_t len;

	if (avail < 1)
		return -EBADMSG;
	/* The bytes may sit in ring memory the application still writes: each
	 * one is read once into a local before it is checked. */
	uint8_t shm_v = tr_load_once(&data[0]);

	switch (shm_v >> 4) {
	case 4: { /* RFC 791: IHL in 32-bit words, total length includes the header */
		if (avail < 20)
			return -EBADMSG;
		uint32_t ihl = (shm_v & 0xfu) * 4u;
		len = (uint32_t)tr_load_once(&data[2]) << 8 |
		      tr_load_once(&data[3]);
		if (ihl < 20 || len < ihl)
			return -EBADMSG;
		break;
	}
	case 6: /* RFC 8200: payload length excludes the 40-byte fixed header */
		if (avail < 40)
			return -EBADMSG;
		len = 40u + ((uint32_t)tr_load_once(&data[4]) << 8 |
			     tr_load_once(&data[5]));
		break;
	default:
		return -EBADMSG;
	}
	if (len > avail)
		return -EBADMSG;
	*pkt_len = len;
	return 0;
}
