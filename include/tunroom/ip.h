/* SPDX-License-Identifier: MIT */
/*
 * tunroom/ip.h - the length of an IP packet from its own header, as a device
 * side needs it to split an aggregated (TR_SLOT_F_MULTI) slot.
 */
#ifndef TUNROOM_IP_H
#define TUNROOM_IP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Splits a MULTI slot: sets *pkt_len to the length of the whole IPv4/IPv6
 * packet at data (from its header). Returns 0 or -EBADMSG (not IP, length
 * field below the header or past avail). */
int tr_ip_packet_length(const uint8_t *data, uint32_t avail, uint32_t *pkt_len);

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_IP_H */
