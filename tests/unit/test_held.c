/* SPDX-License-Identifier: MIT */
/*
 * The lines `tunroom up -d -l LOG` shows again when a start fails
 * (src/cli/held.c): the last ones, and never the rest of a line whose
 * front was dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cli/held.h"

/* As up's stream writes a line: the stamp, then the text. */
static void add_line(struct tr_held *h, unsigned i)
{
	char text[80];

	tr_held_add(h, "2026-12-03T17:00:00.000Z ", 25);
	snprintf(text, sizeof(text), "tunroom: line %u of a chatty start\n", i);
	tr_held_add(h, text, strlen(text));
}

static void test_few_lines_kept_whole(void **state)
{
	static struct tr_held h;
	size_t len;
	(void)state;

	add_line(&h, 1);
	add_line(&h, 2);
	const char *s = tr_held_lines(&h, &len);
	assert_int_equal(len, h.n);
	assert_memory_equal(s, "2026-12-03T17:00:00.000Z tunroom: line 1 ", 41);
}

/* Many lines: what is shown starts with a stamp, ends with the last line,
 * and holds whole lines only. */
static void test_chatty_start_shown_from_a_line_start(void **state)
{
	static struct tr_held h;
	size_t len;
	(void)state;

	for (unsigned i = 0; i < 500; i++)
		add_line(&h, i);
	const char *s = tr_held_lines(&h, &len);
	assert_true(len > TR_HELD_MAX - 100 && len <= TR_HELD_MAX);
	assert_memory_equal(s, "2026-12-03T17:00:00.000Z tunroom: line ", 39);
	assert_memory_equal(s + len - 27, "line 499 of a chatty start\n", 27);
	for (const char *p = s; p < s + len; p = strchr(p, '\n') + 1)
		assert_memory_equal(p, "2026-12-03T17:00:00.000Z tunroom: line ", 39);
}

/* Dropped exactly up to a line's end: the next line is whole, and shown. */
static void test_cut_at_a_line_end_loses_no_line(void **state)
{
	static struct tr_held h;
	static char second[TR_HELD_MAX - 4];
	size_t len;
	(void)state;

	tr_held_add(&h, "one\n", 4);
	memset(second, 'b', sizeof(second) - 1);
	second[sizeof(second) - 1] = '\n';
	tr_held_add(&h, second, sizeof(second)); /* full, nothing dropped yet */
	tr_held_add(&h, "ccc\n", 4);              /* drops "one\n" exactly */
	const char *s = tr_held_lines(&h, &len);
	assert_int_equal(len, TR_HELD_MAX);
	assert_int_equal(s[0], 'b');
	assert_memory_equal(s + len - 4, "ccc\n", 4);
}

/* One write longer than the buffer: from its first line start on. */
static void test_long_write_shown_from_a_line_start(void **state)
{
	static struct tr_held h;
	char big[TR_HELD_MAX + 100];
	size_t len;
	(void)state;

	memset(big, 'x', sizeof(big));
	memcpy(big + sizeof(big) - 6, "\nlast\n", 6);
	tr_held_add(&h, big, sizeof(big));
	const char *s = tr_held_lines(&h, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(s, "last\n", 5);
}

/* A write of exactly the buffer's size after a whole line: nothing cut. */
static void test_full_write_after_a_line_is_whole(void **state)
{
	static struct tr_held h;
	static char full[TR_HELD_MAX];
	size_t len;
	(void)state;

	tr_held_add(&h, "before\n", 7);
	memset(full, 'y', sizeof(full));
	tr_held_add(&h, full, sizeof(full));
	tr_held_lines(&h, &len);
	assert_int_equal(len, TR_HELD_MAX);
	assert_false(h.cut);
}

/* One line longer than the buffer: its tail is all there is, so shown. */
static void test_one_huge_line_shown_anyway(void **state)
{
	static struct tr_held h;
	char part[1000];
	size_t len;
	(void)state;

	memset(part, 'z', sizeof(part));
	for (int i = 0; i < 10; i++)
		tr_held_add(&h, part, sizeof(part));
	tr_held_add(&h, "\n", 1);
	const char *s = tr_held_lines(&h, &len);
	assert_int_equal(len, TR_HELD_MAX);
	assert_ptr_equal(s, h.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_few_lines_kept_whole),
		cmocka_unit_test(test_chatty_start_shown_from_a_line_start),
		cmocka_unit_test(test_cut_at_a_line_end_loses_no_line),
		cmocka_unit_test(test_long_write_shown_from_a_line_start),
		cmocka_unit_test(test_full_write_after_a_line_is_whole),
		cmocka_unit_test(test_one_huge_line_shown_anyway),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
