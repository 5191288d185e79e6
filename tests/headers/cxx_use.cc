// SPDX-License-Identifier: MIT
// Every public header in one C++ translation unit, linked against the shared
// libtunroom: the declarations carry C linkage (extern "C") and the export
// map lets through what they name. A packet makes one round trip through
// the memory device, with the inline packet-view helpers used from C++.
#include "tunroom/daemon.h"
#include "tunroom/device.h"
#include "tunroom/esp.h"
#include "tunroom/framing.h"
#include "tunroom/ip.h"
#include "tunroom/memdev.h"
#include "tunroom/pkt.h"
#include "tunroom/port.h"
#include "tunroom/ring_abi.h"
#include "tunroom/tun.h"
#include "tunroom/tunroom.h"
#include "tunroom/wintun.h"

#include <cstdio>
#include <cstring>

static int fail(const char *what, int err)
{
	std::fprintf(stderr, "cxx_use: %s: %s\n", what, tr_strerror(err));
	return 1;
}

int main()
{
	tr_memdev_config mc{};
	mc.mode = TR_MEMDEV_LOOPBACK;
	tr_device *dev = nullptr;
	int err = tr_memdev_open(&dev, &mc);
	if (err)
		return fail("memdev", err);

	tr_session_config cfg{};
	cfg.head_room = 24;
	cfg.tail_room = 40;
	tr_session *s = nullptr;
	if ((err = tr_session_open(&s, dev, &cfg)))
		return fail("session", err);

	tr_pkt p{};
	if ((err = tr_tx_allocate(s, 100, &p)))
		return fail("allocate", err);
	std::memset(tr_pkt_data(&p), 0, 100);
	tr_pkt_data(&p)[0] = 0x45;
	tr_pkt_data(&p)[3] = 100;
	if ((err = tr_tx_commit(s, &p, 0)))
		return fail("commit", err);

	int got = 0;
	for (int i = 0; i < 100 && !got; i++) {
		tr_rx_wait(s, 100);
		if (tr_rx_receive(s, &p) == 0)
			got = 1;
	}
	if (!got)
		return fail("receive", -EAGAIN);
	uint32_t len = 0;
	if (p.len != 100 || tr_ip_packet_length(tr_pkt_data(&p), p.len, &len) || len != 100 ||
	    tr_pkt_push(&p, 24) || tr_pkt_put(&p, 40) || tr_pkt_headroom(&p) != 0)
		return fail("packet view", -EINVAL);
	if ((err = tr_rx_release(s, &p)))
		return fail("release", err);
	tr_session_close(s);
	tr_device_close(dev);
	std::printf("C++: one round trip through the shared library\n");
	return 0;
}
