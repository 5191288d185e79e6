/* SPDX-License-Identifier: MIT */
/* tr_strerror: tunroom's own wording for the negative errno values it returns. */
#include <string.h>

#include "lib/api.h"
#include "tunroom/tunroom.h"

TR_API const char *tr_strerror(int err)
{
	switch (err) {
	case 0:           return "success";
	case -EINVAL:     return "invalid argument";
	case -ERANGE:     return "value outside the documented limits";
	case -EAGAIN:     return "ring empty or full, try again";
	case -EMSGSIZE:   return "packet does not fit the slot or its room";
	case -EBADMSG:    return "malformed packet";
	case -EPROTO:     return "corrupt ring: session stopped";
	case -EPIPE:      return "session is over";
	case -EPROTONOSUPPORT: return "ring ABI version or magic mismatch";
	case -ENOMEM:     return "out of memory";
	case -EBADF:      return "bad file descriptor";
	case -EPERM:      return "operation not permitted (needs CAP_NET_ADMIN)";
	case -ENOTSUP:    return "not supported";
	default:
		return err < 0 ? strerror(-err) : "unknown error";
	}
}
