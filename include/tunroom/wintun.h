/* SPDX-License-Identifier: MIT */
/*
 * tunroom/wintun.h - Wintun's session API over tunroom sessions, so code
 * written for Wintun ports by changing types only. Handles are opaque
 * pointers; wait handles are pollable file descriptors.
 *
 * Errors: functions returning a pointer return NULL and set errno; void
 * functions set errno only when they fail (check it only if you cleared it).
 * Wintun's Win32 error names map to these errno values:
 */
#ifndef TUNROOM_WINTUN_H
#define TUNROOM_WINTUN_H

#include <errno.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ERROR_NO_MORE_ITEMS   EAGAIN    /* ReceivePacket: ring empty, wait on the read event */
#define ERROR_BUFFER_OVERFLOW ENOBUFS   /* AllocateSendPacket: ring full, drop or retry */
#define ERROR_HANDLE_EOF      ESHUTDOWN /* the session is over (device gone) */
#define ERROR_INVALID_DATA    EBADMSG   /* corrupt ring: the session stopped */
#define ERROR_INVALID_PARAMETER EINVAL  /* bad size, capacity, padding or packet pointer */

#define WINTUN_MIN_RING_CAPACITY 0x20000u   /* 128 KiB */
#define WINTUN_MAX_RING_CAPACITY 0x4000000u /* 64 MiB */
#define WINTUN_MAX_IP_PACKET_SIZE 0xFFFFu

typedef struct tr_wintun_adapter *WINTUN_ADAPTER_HANDLE;
typedef struct tr_wintun_session *WINTUN_SESSION_HANDLE;

/* Creates (or takes over) a TUN device named name (tunroom/tun.h), link up,
 * no addresses; WintunCloseAdapter removes a device it created. tunnel_type
 * and requested_guid are accepted for source compatibility and ignored.
 * errno: EPERM (needs CAP_NET_ADMIN), ENOENT (no /dev/net/tun), EINVAL (bad
 * name: 1-15 bytes, no '/', ':' or space), EBUSY (in use by another process). */
WINTUN_ADAPTER_HANDLE WintunCreateAdapter(const char *name, const char *tunnel_type,
					  const void *requested_guid);
/* Attaches to an existing TUN device named name; closing leaves it.
 * errno as for WintunCreateAdapter, and ENODEV if there is no such device. */
WINTUN_ADAPTER_HANDLE WintunOpenAdapter(const char *name);
void WintunCloseAdapter(WINTUN_ADAPTER_HANDLE adapter);

/* capacity: a power of two in [WINTUN_MIN_RING_CAPACITY, WINTUN_MAX_RING_CAPACITY]. */
WINTUN_SESSION_HANDLE WintunStartSession(WINTUN_ADAPTER_HANDLE adapter, uint32_t capacity);
/* The never-merged extension: lead bytes before and trail bytes after every
 * packet pointer this session hands out are the caller's to write. */
WINTUN_SESSION_HANDLE WintunStartSessionWithPadding(WINTUN_ADAPTER_HANDLE adapter,
						    uint32_t capacity, uint32_t lead,
						    uint32_t trail);
void WintunEndSession(WINTUN_SESSION_HANDLE session);

/* A descriptor that polls readable when ReceivePacket may have a packet. */
int WintunGetReadWaitEvent(WINTUN_SESSION_HANDLE session);

uint8_t *WintunReceivePacket(WINTUN_SESSION_HANDLE session, uint32_t *packet_size);
void WintunReleaseReceivePacket(WINTUN_SESSION_HANDLE session, const uint8_t *packet);
uint8_t *WintunAllocateSendPacket(WINTUN_SESSION_HANDLE session, uint32_t packet_size);
void WintunSendPacket(WINTUN_SESSION_HANDLE session, const uint8_t *packet);
/* Sends the first new_size bytes of an allocated packet (new_size no more
 * than allocated); unused space returns to the ring. Returns 0, or -1 with errno. */
int WintunShrinkAndSendPacket(WINTUN_SESSION_HANDLE session, const uint8_t *packet,
			      uint32_t new_size);

/* tunroom extension: an adapter over any tunroom device (for example the
 * memory device from tr_memdev_open()), so the session functions can run
 * without a TUN device. The adapter does not own dev. */
struct tr_device;
WINTUN_ADAPTER_HANDLE tr_wintun_adapter_from_device(struct tr_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_WINTUN_H */
