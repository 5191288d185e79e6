/* SPDX-License-Identifier: MIT */
/*
 * The pid file's record and its removal by `tunroom down` (src/cli/pidfile.c):
 * down runs as root and unlinks by a recorded path, so it must remove the
 * file a crashed tunnel left and nothing else: not a file put in its place,
 * a file with another link, one that is locked, names another pid or is a
 * symbolic link now, nor the file of a tunnel that still runs. A garbled
 * record goes. The parent's abandon leaves a file made at the name since.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/pidfile.h"

static char dir[] = "/tmp/tr-pidfile-XXXXXX";
static char run[64];

static const char *at(const char *name)
{
	static char path[4][128];
	static unsigned i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	return path[i];
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* What a tunnel does with --pid-file name, in a child: open, its pid in,
 * the record. hold: then wait until killed, else end at once, leaving
 * both (a crash). Returns the child's pid, reaped unless hold. */
static pid_t tunnel(const char *name, bool hold)
{
	int p[2];
	char c;

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tr_pidfile pf;
		int ok = !tr_pidfile_open(&pf, at(name)) && !tr_pidfile_write(&pf, getpid()) &&
			 !tr_pidfile_record(&pf, run, "tr0");
		if (write(p[1], ok ? "R" : "F", 1) != 1 || !ok || !hold)
			_exit(!ok);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(c, 'R');
	if (!hold) {
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	return pid;
}

static int clean(char *path)
{
	return tr_pidfile_clean(run, "tr0", path, 256);
}

static void test_crashed_tunnels_file_removed(void **state)
{
	char path[256];
	(void)state;

	tunnel("a.pid", false);
	assert_true(exists(at("run/tr0.pidfile")));
	assert_int_equal(clean(path), 1);
	assert_string_equal(path, at("a.pid"));
	assert_false(exists(at("a.pid")));
	assert_false(exists(at("run/tr0.pidfile")));
	assert_int_equal(clean(path), 0); /* nothing left to do */
}

static void test_file_put_in_its_place_kept(void **state)
{
	char path[256], pid[32];
	(void)state;

	snprintf(pid, sizeof(pid), "%ld\n", (long)tunnel("b.pid", false));
	/* Moved away, not removed: a freed inode's number may come back. */
	assert_int_equal(rename(at("b.pid"), at("b.old")), 0);
	put(at("b.pid"), pid); /* the same pid, another inode */
	assert_int_equal(clean(path), 0);
	assert_true(exists(at("b.pid")));
	assert_false(exists(at("run/tr0.pidfile"))); /* stale all the same */
}

static void test_hard_linked_file_kept(void **state)
{
	char path[256];
	(void)state;

	tunnel("c.pid", false);
	assert_int_equal(link(at("c.pid"), at("c.link")), 0);
	assert_int_equal(clean(path), 0);
	assert_true(exists(at("c.pid")));
}

static void test_locked_file_kept(void **state)
{
	char path[256];
	(void)state;

	tunnel("d.pid", false);
	int fd = open(at("d.pid"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(clean(path), 0);
	assert_true(exists(at("d.pid")));
	close(fd);
}

static void test_file_naming_another_pid_kept(void **state)
{
	char path[256];
	(void)state;

	tunnel("e.pid", false);
	int fd = open(at("e.pid"), O_WRONLY | O_TRUNC | O_CLOEXEC); /* same inode */
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "1\n", 2), 2);
	close(fd);
	assert_int_equal(clean(path), 0);
	assert_true(exists(at("e.pid")));
}

static void test_symlink_in_its_place_kept(void **state)
{
	char path[256];
	(void)state;

	tunnel("f.pid", false);
	assert_int_equal(rename(at("f.pid"), at("f.real")), 0);
	assert_int_equal(symlink("f.real", at("f.pid")), 0);
	assert_int_equal(clean(path), 0);
	assert_true(exists(at("f.real")));
	assert_true(exists(at("f.pid")));
}

static void test_garbled_record_removed(void **state)
{
	char path[256];
	(void)state;

	put(at("run/tr0.pidfile"), "12 not a record\n");
	assert_int_equal(clean(path), 0);
	assert_false(exists(at("run/tr0.pidfile")));
}

static void test_running_tunnels_file_kept_until_it_ends(void **state)
{
	char path[256];
	int st;
	(void)state;

	pid_t pid = tunnel("g.pid", true);
	assert_int_equal(clean(path), 0);
	assert_true(exists(at("g.pid")));
	assert_true(exists(at("run/tr0.pidfile")));
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(clean(path), 1);
	assert_false(exists(at("g.pid")));
}

/* A clean stop removes both; the record only if it is this process's. */
static void test_remove_takes_file_and_record(void **state)
{
	struct tr_pidfile pf;
	(void)state;

	assert_int_equal(tr_pidfile_open(&pf, at("h.pid")), 0);
	assert_int_equal(tr_pidfile_write(&pf, getpid()), 0);
	assert_int_equal(tr_pidfile_record(&pf, run, "tr0"), 0);
	assert_int_equal(tr_pidfile_remove(&pf), 0);
	assert_false(exists(at("h.pid")));
	assert_false(exists(at("run/tr0.pidfile")));
}

/* The parent's abandon removes the file it made, not one made at the name
 * since (after the child removed its own, another tunroom may have). */
static void test_abandon_leaves_a_newer_file(void **state)
{
	struct tr_pidfile pf;
	(void)state;

	assert_int_equal(tr_pidfile_open(&pf, at("i.pid")), 0);
	assert_int_equal(rename(at("i.pid"), at("i.old")), 0);
	put(at("i.pid"), "");
	tr_pidfile_abandon(&pf, 0);
	assert_true(exists(at("i.pid")));
	assert_int_equal(tr_pidfile_open(&pf, at("j.pid")), 0);
	tr_pidfile_abandon(&pf, 0);
	assert_false(exists(at("j.pid")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crashed_tunnels_file_removed),
		cmocka_unit_test(test_file_put_in_its_place_kept),
		cmocka_unit_test(test_hard_linked_file_kept),
		cmocka_unit_test(test_locked_file_kept),
		cmocka_unit_test(test_file_naming_another_pid_kept),
		cmocka_unit_test(test_symlink_in_its_place_kept),
		cmocka_unit_test(test_garbled_record_removed),
		cmocka_unit_test(test_running_tunnels_file_kept_until_it_ends),
		cmocka_unit_test(test_remove_takes_file_and_record),
		cmocka_unit_test(test_abandon_leaves_a_newer_file),
	};
	char cmd[128];
	int r;

	if (!mkdtemp(dir))
		return 1;
	snprintf(run, sizeof(run), "%s/run", dir);
	if (mkdir(run, 0700) < 0)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		r = r ? r : 1;
	return r;
}
