/* SPDX-License-Identifier: MIT */
/* The Wintun-compatible API on the memory device: names, semantics, errno mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "caps.h"

#include "tunroom/device.h"
#include "tunroom/memdev.h"
#include "tunroom/wintun.h"

static uint8_t *receive_wait(WINTUN_SESSION_HANDLE s, uint32_t *size)
{
	for (int i = 0; i < 100; i++) {
		uint8_t *p = WintunReceivePacket(s, size);
		if (p)
			return p;
		assert_int_equal(errno, ERROR_NO_MORE_ITEMS);
		struct pollfd pfd = { .fd = WintunGetReadWaitEvent(s), .events = POLLIN };
		poll(&pfd, 1, 100);
	}
	fail_msg("no packet");
	return NULL;
}

static void ipv4(uint8_t *p, uint32_t len, uint8_t tag)
{
	memset(p, tag, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

static void padded_session_round_trip(void **state)
{
	(void)state;
	struct tr_memdev_config mc = { .mode = TR_MEMDEV_LOOPBACK };
	struct tr_device *dev;

	assert_int_equal(tr_memdev_open(&dev, &mc), 0);
	WINTUN_ADAPTER_HANDLE a = tr_wintun_adapter_from_device(dev);
	assert_non_null(a);

	errno = 0;
	assert_null(WintunStartSession(a, 0x20000 + 1));
	assert_int_equal(errno, ERROR_INVALID_PARAMETER);
	assert_null(WintunStartSessionWithPadding(a, 0x20000, 5000, 0));
	assert_int_equal(errno, ERROR_INVALID_PARAMETER);

	WINTUN_SESSION_HANDLE s = WintunStartSessionWithPadding(a, 0x40000, 24, 40);
	assert_non_null(s);
	uint32_t size;
	assert_null(WintunReceivePacket(s, &size));
	assert_int_equal(errno, ERROR_NO_MORE_ITEMS);

	/* plain send of the allocated size */
	uint8_t *p = WintunAllocateSendPacket(s, 100);
	assert_non_null(p);
	ipv4(p, 100, 1);
	memset(p - 24, 0xAA, 24);  /* lead and trail are ours to write */
	memset(p + 100, 0xBB, 40);
	WintunSendPacket(s, p);
	uint8_t *r = receive_wait(s, &size);
	assert_int_equal(size, 100);
	assert_int_equal(r[5], 1);
	memset(r - 24, 0xCC, 24);
	memset(r + size, 0xDD, 40);
	WintunReleaseReceivePacket(s, r);

	/* over-allocate, then shrink: only new_size bytes reach the device */
	p = WintunAllocateSendPacket(s, 16000);
	assert_non_null(p);
	ipv4(p, 60, 2);
	assert_int_equal(WintunShrinkAndSendPacket(s, p, 60), 0);
	errno = 0;
	assert_int_equal(WintunShrinkAndSendPacket(s, p, 60), -1); /* already sent */
	assert_int_equal(errno, ERROR_INVALID_PARAMETER);
	r = receive_wait(s, &size);
	assert_int_equal(size, 60);
	assert_int_equal(r[5], 2);

	/* two outstanding receives released out of order */
	p = WintunAllocateSendPacket(s, 80);
	ipv4(p, 80, 3);
	WintunSendPacket(s, p);
	uint32_t size2;
	uint8_t *r2 = receive_wait(s, &size2);
	assert_int_equal(size2, 80);
	WintunReleaseReceivePacket(s, r2);
	WintunReleaseReceivePacket(s, r);
	errno = 0;
	WintunReleaseReceivePacket(s, r); /* twice */
	assert_int_equal(errno, ERROR_INVALID_PARAMETER);

	assert_null(WintunAllocateSendPacket(s, 0x10000));
	assert_int_equal(errno, ERROR_INVALID_PARAMETER);
	/* fill the ingress ring: the loopback's egress ring fills and it stops consuming */
	int sent = 0;
	while ((p = WintunAllocateSendPacket(s, 60000)) != NULL) {
		ipv4(p, 60000, 4);
		WintunSendPacket(s, p);
		sent++;
		assert_true(sent < 100);
	}
	assert_int_equal(errno, ERROR_BUFFER_OVERFLOW);

	WintunEndSession(s);
	WintunCloseAdapter(a);
	tr_device_close(dev);
}

/* Releases by pointer, in order, give the space back: many times a small
 * ring's worth of packets go round. Before the fix an in-order release
 * advanced the consumer by 0 bytes, the loopback's egress ring filled and
 * nothing came back (issue 14, item 1). */
static void in_order_releases_free_space(void **state)
{
	(void)state;
	struct tr_memdev_config mc = { .mode = TR_MEMDEV_LOOPBACK };
	struct tr_device *dev;

	assert_int_equal(tr_memdev_open(&dev, &mc), 0);
	WINTUN_ADAPTER_HANDLE a = tr_wintun_adapter_from_device(dev);
	WINTUN_SESSION_HANDLE s = WintunStartSessionWithPadding(a, WINTUN_MIN_RING_CAPACITY, 64, 64);
	assert_non_null(s);
	/* 128 KiB rings, 64 KiB reservations: 2000 packets are ~1000 rings. */
	for (int i = 0; i < 2000; i++) {
		uint32_t size;
		uint8_t *p = WintunAllocateSendPacket(s, 1000);

		assert_non_null(p);
		ipv4(p, 1000, (uint8_t)i);
		WintunSendPacket(s, p);
		uint8_t *r = receive_wait(s, &size);
		assert_int_equal(size, 1000);
		assert_int_equal(r[5], (uint8_t)i);
		errno = 0;
		WintunReleaseReceivePacket(s, r);
		assert_int_equal(errno, 0);
	}
	WintunEndSession(s);
	WintunCloseAdapter(a);
	tr_device_close(dev);
}

/* Unit tests must not create devices on the host, so this runs in a child
 * without capabilities: the error is the kernel's "not permitted" (or no
 * /dev/net/tun at all), never a silent success without a device. Devices
 * are created for real in tests/netns/tundevtest.c, inside a namespace. */
static void create_adapter_needs_tun(void **state)
{
	(void)state;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (drop_all_caps() != 0)
			_exit(100);
		WINTUN_ADAPTER_HANDLE a = WintunCreateAdapter("tr-test0", "tunroom", NULL);
		if (a)
			_exit(101);
		_exit(errno == EPERM || errno == ENOENT ? 0 : errno);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(padded_session_round_trip),
		cmocka_unit_test(in_order_releases_free_space),
		cmocka_unit_test(create_adapter_needs_tun),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
