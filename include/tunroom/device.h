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

/* A device as an application sees it. Backends fill in the ops. */
struct tr_device_ops {
	const char *name;
	/* Starts serving a new port; the device owns it until stop_port. */
	int (*start_port)(struct tr_device *dev, struct tr_port *port);
	/* Stops serving it (joins its thread); the caller then closes the port. */
	void (*stop_port)(struct tr_device *dev, struct tr_port *port);
	void (*destroy)(struct tr_device *dev);
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
