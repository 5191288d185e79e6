/* SPDX-License-Identifier: MIT */
/*
 * tunroom/device.h - a device (struct tr_device): what starts and stops the
 * device side of sessions. tr_session_open() asks a device for a port
 * (tunroom/port.h) and the device serves it: the TUN engine (tunroom/tun.h),
 * the memory device (tunroom/memdev.h), or a backend of your own that fills
 * in the ops.
 */
#ifndef TUNROOM_DEVICE_H
#define TUNROOM_DEVICE_H

struct tr_device;
struct tr_port;

#ifdef __cplusplus
extern "C" {
#endif

/* A port served run to completion (TR_SESSION_F_INLINE, tunroom/tunroom.h):
 * the device starts no thread for it. The session calls egress() from the
 * thread that receives, when its egress ring is empty, and ingress() from
 * the thread that commits, right after each commit; the two may run at the
 * same time on two threads, each never on two at once. */
struct tr_device_inline {
	void *ctx;
	/* Moves packets waiting on the OS side into the egress ring (one
	 * batch, of at most max reads: the receiver asked for max packets,
	 * and reading ahead of that costs a read that may find nothing).
	 * Returns how many (0: none waiting, or *ring_full set: no room until
	 * the application releases), or a negative errno when the port
	 * stopped (tr_port_error says why). */
	int (*egress)(void *ctx, unsigned max, int *ring_full);
	/* Hands every committed ingress slot to the OS. Returns slots taken,
	 * or a negative errno when the port stopped. */
	int (*ingress)(void *ctx);
	/* Polls readable (POLLIN) when egress() may find packets; POLLERR or
	 * POLLHUP when the device went away. Owned by the device. */
	int fd;
};

/* A device as an application sees it. Backends fill in the ops. */
struct tr_device_ops {
	const char *name;
	/* Starts serving a new port; the device owns it until stop_port. */
	int (*start_port)(struct tr_device *dev, struct tr_port *port);
	/* Stops serving it (joins its thread); the caller then closes the port. */
	void (*stop_port)(struct tr_device *dev, struct tr_port *port);
	void (*destroy)(struct tr_device *dev);
	/* Optional (NULL: no TR_SESSION_F_INLINE sessions on this device).
	 * Starts serving a port with no thread of its own and fills *out;
	 * stop_port ends it as any other port. */
	int (*start_port_inline)(struct tr_device *dev, struct tr_port *port,
				 struct tr_device_inline *out);
};

struct tr_device {
	const struct tr_device_ops *ops;
};

/* Destroys a device; its sessions must be closed first. NULL does nothing. */
void tr_device_close(struct tr_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* TUNROOM_DEVICE_H */
