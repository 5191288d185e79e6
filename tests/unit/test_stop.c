/* SPDX-License-Identifier: MIT */
/* Stop sources: a blocked SIGTERM/SIGINT and a request from another thread each end the wait once. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tunnel/stop.h"

static void *requester(void *p)
{
	tr_stop_request(p);
	return NULL;
}

static void stop_sources(void **state)
{
	(void)state;
	struct tr_stop s;
	sigset_t now;
	pthread_t th;

	assert_int_equal(tr_stop_init(&s), 0);
	assert_int_equal(tr_stop_wait(&s, 0), 0);
	/* Blocked, so pending until the signalfd reads it: no handler runs. */
	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(tr_stop_wait(&s, 1000), SIGTERM);
	assert_int_equal(raise(SIGINT), 0);
	assert_int_equal(tr_stop_wait(&s, 1000), SIGINT);
	assert_int_equal(tr_stop_wait(&s, 0), 0);

	assert_int_equal(pthread_create(&th, NULL, requester, &s), 0);
	assert_int_equal(tr_stop_wait(&s, 1000), TR_STOP_REQUESTED);
	pthread_join(th, NULL);
	/* Two requests before a wait read as one. */
	tr_stop_request(&s);
	tr_stop_request(&s);
	assert_int_equal(tr_stop_wait(&s, 1000), TR_STOP_REQUESTED);
	assert_int_equal(tr_stop_wait(&s, 10), 0);

	tr_stop_fini(&s);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
	assert_false(sigismember(&now, SIGTERM));
	assert_false(sigismember(&now, SIGINT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stop_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
