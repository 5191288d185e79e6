/* SPDX-License-Identifier: MIT */
/*
 * Wintun's session API over tr_session. Wintun hands out bare data pointers,
 * so releases and sends find their slot by pointer (session.c). The only
 * place in the library that sets errno, with the mapping wintun.h documents.
 * Wintun's functions may be called from several threads: sessions opened
 * here are THREADSAFE (a mutex per ring, as Wintun's own locks). On a
 * device that offers it (the TUN device), a session runs to completion
 * (TR_SESSION_F_INLINE): WintunSendPacket writes to the device in the
 * caller's thread and WintunReceivePacket reads from it, as Wintun's own
 * driver does its work in the caller's I/O; the read-wait event then polls
 * the device itself. No engine thread, no hand-off between threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/api.h"
#include "lib/session.h"
#include "tunroom/device.h"
#include "tunroom/tun.h"
#include "tunroom/tunroom.h"
#include "tunroom/wintun.h"

struct tr_wintun_adapter {
	struct tr_device *dev;
	int owns_dev;
};

struct tr_wintun_session {
	struct tr_session *s;
};

/* Maps tunroom's negative errno to Wintun's error (as an errno value). */
static int wintun_errno(int err)
{
	switch (err) {
	case -EAGAIN: return ERROR_NO_MORE_ITEMS;
	case -EPIPE:  return ERROR_HANDLE_EOF;
	case -EPROTO: return ERROR_INVALID_DATA;
	case -EINVAL: case -ERANGE: case -EMSGSIZE: return ERROR_INVALID_PARAMETER;
	default:      return -err;
	}
}

TR_API WINTUN_ADAPTER_HANDLE tr_wintun_adapter_from_device(struct tr_device *dev)
{
	struct tr_wintun_adapter *a;

	if (!dev) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		errno = ENOMEM;
		return NULL;
	}
	a->dev = dev;
	return a;
}

/* Adapters are TUN devices (tunroom/tun.h) that the adapter owns: closing
 * it closes the device, which removes one this call created (not
 * persistent) and leaves one it opened. */
static WINTUN_ADAPTER_HANDLE adapter_open(const char *name, uint32_t flags)
{
	struct tr_tundev_config cfg = { .name = name, .flags = flags };
	WINTUN_ADAPTER_HANDLE a;
	struct tr_device *dev;
	int err;

	if (!name || !name[0]) {
		errno = ERROR_INVALID_PARAMETER;
		return NULL;
	}
	err = tr_tundev_open(&dev, &cfg);
	if (err) {
		errno = wintun_errno(err);
		return NULL;
	}
	a = tr_wintun_adapter_from_device(dev);
	if (!a) {
		tr_device_close(dev);
		return NULL;
	}
	a->owns_dev = 1;
	return a;
}

/* Wintun's tunnel type and GUID name Windows objects; a Linux TUN device
 * has neither. An existing device of that name is opened, as a second
 * WintunCreateAdapter with the same name would find it on Windows. */
TR_API WINTUN_ADAPTER_HANDLE WintunCreateAdapter(const char *name, const char *tunnel_type,
						 const void *requested_guid)
{
	(void)tunnel_type;
	(void)requested_guid;
	return adapter_open(name, 0);
}

TR_API WINTUN_ADAPTER_HANDLE WintunOpenAdapter(const char *name)
{
	return adapter_open(name, TR_TUNDEV_F_ATTACH);
}

TR_API void WintunCloseAdapter(WINTUN_ADAPTER_HANDLE adapter)
{
	if (!adapter)
		return;
	if (adapter->owns_dev)
		tr_device_close(adapter->dev);
	free(adapter);
}

TR_API WINTUN_SESSION_HANDLE WintunStartSessionWithPadding(WINTUN_ADAPTER_HANDLE adapter,
							   uint32_t capacity, uint32_t lead,
							   uint32_t trail)
{
	struct tr_session_config cfg = {
		.capacity = capacity, .head_room = lead, .tail_room = trail,
		.max_packet = WINTUN_MAX_IP_PACKET_SIZE, .flags = TR_SESSION_F_THREADSAFE,
	};
	struct tr_wintun_session *ws;
	int err;

	/* Wintun refuses capacity outside its limits; 0 is not "default" here. */
	if (!adapter || capacity < WINTUN_MIN_RING_CAPACITY ||
	    capacity > WINTUN_MAX_RING_CAPACITY || capacity & (capacity - 1)) {
		errno = ERROR_INVALID_PARAMETER;
		return NULL;
	}
	ws = calloc(1, sizeof(*ws));
	if (!ws) {
		errno = ENOMEM;
		return NULL;
	}
	cfg.flags |= TR_SESSION_F_INLINE;
	err = tr_session_open(&ws->s, adapter->dev, &cfg);
	if (err == -EOPNOTSUPP) {
		cfg.flags &= ~(uint32_t)TR_SESSION_F_INLINE; /* a device with its own thread */
		err = tr_session_open(&ws->s, adapter->dev, &cfg);
	}
	if (err) {
		free(ws);
		errno = wintun_errno(err);
		return NULL;
	}
	return ws;
}

TR_API WINTUN_SESSION_HANDLE WintunStartSession(WINTUN_ADAPTER_HANDLE adapter, uint32_t capacity)
{
	return WintunStartSessionWithPadding(adapter, capacity, 0, 0);
}

TR_API void WintunEndSession(WINTUN_SESSION_HANDLE session)
{
	if (!session)
		return;
	tr_session_close(session->s);
	free(session);
}

TR_API int WintunGetReadWaitEvent(WINTUN_SESSION_HANDLE session)
{
	return tr_session_fd(session->s);
}

TR_API uint8_t *WintunReceivePacket(WINTUN_SESSION_HANDLE session, uint32_t *packet_size)
{
	struct tr_pkt pkt;
	int err = tr_rx_receive(session->s, &pkt);

	if (err) {
		errno = wintun_errno(err);
		return NULL;
	}
	*packet_size = pkt.len;
	return tr_pkt_data(&pkt);
}

TR_API void WintunReleaseReceivePacket(WINTUN_SESSION_HANDLE session, const uint8_t *packet)
{
	int err = tr_session_rx_release_ptr(session->s, packet);

	if (err)
		errno = wintun_errno(err);
}

TR_API uint8_t *WintunAllocateSendPacket(WINTUN_SESSION_HANDLE session, uint32_t packet_size)
{
	struct tr_pkt pkt;
	int err;

	if (!packet_size || packet_size > WINTUN_MAX_IP_PACKET_SIZE) {
		errno = ERROR_INVALID_PARAMETER;
		return NULL;
	}
	err = tr_tx_allocate(session->s, packet_size, &pkt);
	if (err) {
		errno = err == -EAGAIN ? ERROR_BUFFER_OVERFLOW : wintun_errno(err);
		return NULL;
	}
	return tr_pkt_data(&pkt);
}

TR_API int WintunShrinkAndSendPacket(WINTUN_SESSION_HANDLE session, const uint8_t *packet,
				     uint32_t new_size)
{
	int err = tr_session_tx_commit_ptr(session->s, packet, new_size);

	if (err) {
		errno = wintun_errno(err);
		return -1;
	}
	return 0;
}

TR_API void WintunSendPacket(WINTUN_SESSION_HANDLE session, const uint8_t *packet)
{
	/* Wintun sends the size that was allocated: the slot still says so. */
	WintunShrinkAndSendPacket(session, packet, UINT32_MAX);
}
