/* SPDX-License-Identifier: MIT */
/* What every device backend shares: destruction through its ops. */
#include "lib/api.h"
#include "tunroom/device.h"

TR_API void tr_device_close(struct tr_device *dev)
{
	if (dev && dev->ops && dev->ops->destroy)
		dev->ops->destroy(dev);
}
