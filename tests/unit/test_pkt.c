/* SPDX-License-Identifier: MIT */
/* Packet view: every operation bounds-checked, a failed one leaves the view as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "tunroom/pkt.h"

static void push_pull_put_trim(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct tr_pkt p;

	assert_int_equal(tr_pkt_init(&p, buf, sizeof(buf), 16, 32), 0);
	assert_int_equal(tr_pkt_headroom(&p), 16);
	assert_int_equal(tr_pkt_tailroom(&p), 16);
	assert_int_equal(tr_pkt_push(&p, 8), 0);
	assert_ptr_equal(tr_pkt_data(&p), buf + 8);
	assert_int_equal(p.len, 40);
	assert_int_equal(tr_pkt_put(&p, 16), 0);
	assert_int_equal(tr_pkt_tailroom(&p), 0);
	assert_ptr_equal(tr_pkt_tail(&p), buf + 64);
	assert_int_equal(tr_pkt_pull(&p, 10), 0);
	assert_int_equal(tr_pkt_trim(&p, 6), 0);
	assert_int_equal(p.off, 18);
	assert_int_equal(p.len, 40);
}

static void failures_leave_view_unchanged(void **state)
{
	(void)state;
	uint8_t buf[32];
	struct tr_pkt p, before;

	assert_int_equal(tr_pkt_init(&p, buf, sizeof(buf), 4, 20), 0);
	before = p;
	assert_int_equal(tr_pkt_push(&p, 5), -EMSGSIZE);
	assert_int_equal(tr_pkt_put(&p, 9), -EMSGSIZE);
	assert_int_equal(tr_pkt_pull(&p, 21), -EBADMSG);
	assert_int_equal(tr_pkt_trim(&p, 21), -EBADMSG);
	assert_int_equal(tr_pkt_push(&p, UINT32_MAX), -EMSGSIZE);
	assert_int_equal(tr_pkt_put(&p, UINT32_MAX), -EMSGSIZE);
	assert_memory_equal(&p, &before, sizeof(p));
	/* exact fits succeed */
	assert_int_equal(tr_pkt_push(&p, 4), 0);
	assert_int_equal(tr_pkt_put(&p, 8), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(tr_pkt_pull(&p, 32), 0);
	assert_int_equal(p.len, 0);
}

static void init_rejects_bad_bounds(void **state)
{
	(void)state;
	uint8_t buf[8];
	struct tr_pkt p;

	assert_int_equal(tr_pkt_init(&p, buf, 8, 9, 0), -EINVAL);
	assert_int_equal(tr_pkt_init(&p, buf, 8, 4, 5), -EINVAL);
	assert_int_equal(tr_pkt_init(&p, buf, 8, 4, UINT32_MAX), -EINVAL);
	assert_int_equal(tr_pkt_init(&p, NULL, 8, 0, 0), -EINVAL);
	assert_int_equal(tr_pkt_init(&p, buf, 8, 8, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(push_pull_put_trim),
		cmocka_unit_test(failures_leave_view_unchanged),
		cmocka_unit_test(init_rejects_bad_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
