/* SPDX-License-Identifier: MIT */
/* tunroom down NAME: ask the tunnel to stop and wait until it has; remove
 * what a tunnel that ended without doing so left behind. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "cli/pidfile.h"
#include "cli/subcommands.h"
#include "ctl/client.h"

#define DOWN_WAIT_MS 10000

/* Whether pid has exited; a zombie (its parent has not reaped it yet) has. */
static int gone(long pid)
{
	char path[64], stat[256];
	FILE *f;

	if (pid <= 0)
		return 1;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	int zombie = fgets(stat, sizeof(stat), f) && strstr(stat, ") Z ");
	fclose(f);
	return zombie;
}

/* The tunnel's pid from a get on fd (closed here), or 0. */
static long tunnel_pid(int fd)
{
	static char buf[TR_CTL_REPLY_MAX];
	char *cur = buf, *key, *val;
	long pid = 0;

	if (tr_ctl_call(fd, TR_CTL_GET, buf, sizeof(buf)) >= 0)
		while (tr_ctl_next(&cur, &key, &val) > 0)
			if (!strcmp(key, "pid"))
				pid = strtol(val, NULL, 10);
	close(fd);
	return pid;
}

/* A tunnel that ran as its User could not unlink its socket from the
 * root-only run directory: once nobody listens there, remove it for it
 * (tr_ctl_connect does on ECONNREFUSED). True when the file is gone now,
 * or when it answers but our tunnel's pid is known to be gone: then it is a
 * tunnel of the same name started since. */
static int stale_removed(const char *name, long pid)
{
	int fd = tr_ctl_connect(run_dir(), name);

	if (fd >= 0)
		close(fd);
	return fd == -ECONNREFUSED || fd == -ENOENT || (fd >= 0 && pid > 0);
}

/* A pid file the tunnel left behind (it crashed, or its User could not
 * remove it), found by the record in the run directory
 * (src/cli/pidfile.h). True if one was removed: its path in path. */
static bool pid_file_cleaned(const char *name, char *path, size_t cap)
{
	int r;

	*path = 0;
	r = tr_pidfile_clean(run_dir(), name, path, cap);
	if (r < 0)
		fprintf(stderr, "%s down: %s: could not remove the --pid-file%s%s it left behind: "
			"%s\n", prog, name, *path ? " " : "", path, strerror(-r));
	return r > 0;
}

/* No tunnel answers at NAME.sock (err from tr_ctl_connect): says so, with
 * what was cleaned up after one that ended without doing so itself. */
static int not_running(const char *name, int err)
{
	char pf[PATH_MAX + NAME_MAX + 2];
	bool cleaned = (err == -ENOENT || err == -ECONNREFUSED) &&
		       pid_file_cleaned(name, pf, sizeof(pf));

	if (err == -ENOENT && cleaned)
		fprintf(stderr, "%s down: %s: not running (removed the --pid-file %s it left "
			"behind)\n", prog, name, pf);
	else if (err == -ENOENT)
		fprintf(stderr, "%s down: %s: no such tunnel (nothing at %s/%s.sock)\n", prog,
			name, run_dir(), name);
	else if (err == -ECONNREFUSED)
		fprintf(stderr, "%s down: %s: not running (removed its stale control socket%s%s%s)\n",
			prog, name, cleaned ? " and the --pid-file " : "", cleaned ? pf : "",
			cleaned ? " it left behind" : "");
	else if (err == -EACCES || err == -EPERM)
		fprintf(stderr, "%s down: %s: permission denied (run as root)\n", prog, name);
	else
		fprintf(stderr, "%s down: %s: %s\n", prog, name, strerror(-err));
	return EXIT_FAIL;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s down NAME\n\n"
		   "Stops the tunnel NAME started by '%s up' and waits (up to %d s) until\n"
		   "it has torn down, removed its control socket and exited. A --pid-file\n"
		   "it left behind (it crashed, or its User could not remove it) is\n"
		   "removed too.\n", prog, prog, DOWN_WAIT_MS / 1000);
}

int down_main(int argc, char **argv)
{
	char path[512], buf[64], pf[PATH_MAX + NAME_MAX + 2];
	const char *name;
	struct stat st;
	int fd, r;

	if (argc == 2 && is_help(argv[1])) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		usage(stderr);
		return EXIT_USAGE;
	}
	name = argv[1];
	if (!tr_config_name_ok(name)) {
		fprintf(stderr, "%s down: '%s' is not a tunnel name\n", prog, name);
		return EXIT_USAGE;
	}
	fd = tr_ctl_connect(run_dir(), name);
	if (fd < 0)
		return not_running(name, fd);
	/* One request per connection: first the pid, to wait for the exit. */
	long pid = tunnel_pid(fd);
	fd = tr_ctl_connect(run_dir(), name);
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		goto wait; /* it stopped in between */
	if (fd < 0) {
		fprintf(stderr, "%s down: %s: %s\n", prog, name, strerror(-fd));
		return EXIT_FAIL;
	}
	r = tr_ctl_call(fd, TR_CTL_STOP, buf, sizeof(buf));
	close(fd);
	if (r < 0) {
		fprintf(stderr, "%s down: %s: %s\n", prog, name, strerror(-r));
		return EXIT_FAIL;
	}
wait:
	/* The tunnel closes its socket last, after the device is gone; then its
	 * process ends (pids are global across network namespaces). */
	snprintf(path, sizeof(path), "%s/%s.sock", run_dir(), name);
	for (int waited = 0; waited < DOWN_WAIT_MS; waited += 20) {
		if (gone(pid) && (stat(path, &st) < 0 ? errno == ENOENT : stale_removed(name, pid))) {
			/* The tunnel removes its own; as User, perhaps not. */
			pid_file_cleaned(name, pf, sizeof(pf));
			return EXIT_OK;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
	}
	fprintf(stderr, "%s down: %s: asked to stop, but still running after %d s\n", prog,
		name, DOWN_WAIT_MS / 1000);
	return EXIT_FAIL;
}
