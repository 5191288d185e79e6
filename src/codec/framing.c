/* SPDX-License-Identifier: MIT */
/* The room table: what each framing codec needs around a payload, so a client
 * can open its session with enough head and tail room for zero copies. */
#include "lib/api.h"
#include "tunroom/framing.h"

static const struct tr_framing_room rooms[TR_FRAMING_COUNT] = {
	[TR_FRAMING_DTLS]     = { "anyconnect-dtls", TR_DTLS_HDR_LEN, 0, 0 },
	[TR_FRAMING_CSTP]     = { "anyconnect-cstp", TR_CSTP_HDR_LEN, 0, 0 },
	[TR_FRAMING_F5]       = { "f5", TR_F5_HDR_LEN + TR_PPP_HDR_MAX, 0, 0 },
	[TR_FRAMING_FORTINET] = { "fortinet", TR_FORTINET_HDR_LEN + TR_PPP_HDR_MAX, 0, 0 },
	[TR_FRAMING_GP]       = { "globalprotect-tls", TR_GP_HDR_LEN, 0, 0 },
	[TR_FRAMING_PPP]      = { "ppp", TR_PPP_HDR_MAX, 0, 0 },
	/* Worst case every octet and both FCS octets escaped, plus two flags:
	 * 2 * len + 6 in all, growth len + 6 (RFC 1662 §4.2). */
	[TR_FRAMING_HDLC]     = { "ppp-hdlc", 0, 6, 1 },
};

TR_API const struct tr_framing_room *tr_framing_room(enum tr_framing f)
{
	if ((unsigned)f >= TR_FRAMING_COUNT)
		return 0;
	return &rooms[f];
}
