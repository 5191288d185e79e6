/* SPDX-License-Identifier: MIT */
/* The pid file of a detached tunnel (pidfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/pidfile.h"

/* The pid written in fd's file, or 0 if it holds none (empty, garbage). */
static pid_t read_pid(int fd)
{
	char buf[32], *end;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long v;

	if (n <= 0)
		return 0;
	buf[n] = 0;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v <= 0 || v > INT32_MAX)
		return 0;
	return (pid_t)v;
}

/* A process with that pid exists (EPERM: it does, another user's). */
static bool running(pid_t pid)
{
	return pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM);
}

/* dir_fd and name from path: "a/b/f" is f in a/b, "f" is f in ".". */
static int open_dir(struct tr_pidfile *pf, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	char dir[PATH_MAX];

	if (!*path)
		return -ENOENT; /* as open("") says */
	if (!*name)
		return -EISDIR;
	if (strlen(name) >= sizeof(pf->name))
		return -ENAMETOOLONG;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	pf->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pf->dir_fd < 0)
		return -errno;
	memcpy(pf->name, name, strlen(name) + 1);
	return 0;
}

/* Opens the existing file: ours to reuse only if no running process is in
 * it (a tunnel that died without removing it). */
static int open_existing(struct tr_pidfile *pf)
{
	struct stat st;

	/* Looked at before it is opened: opening a device node can act by
	 * itself (a watchdog starts counting, a tape rewinds). */
	if (fstatat(pf->dir_fd, pf->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EINVAL; /* a FIFO or device: not a file we may truncate */
	pf->fd = openat(pf->dir_fd, pf->name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (pf->fd < 0)
		return -errno; /* EISDIR */
	if (fstat(pf->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -EINVAL; /* swapped since the look */
	/* A second name for the file: in a shared directory, someone else's
	 * link to a file of root's, which we would truncate. */
	if (st.st_nlink != 1)
		return -EMLINK;
	pf->holder = read_pid(pf->fd);
	if (pf->holder && running(pf->holder))
		return -EBUSY;
	pf->holder = 0;
	return 0;
}

int tr_pidfile_open(struct tr_pidfile *pf, const char *path)
{
	int err;

	*pf = (struct tr_pidfile)TR_PIDFILE_INIT;
	err = open_dir(pf, path);
	if (err)
		return err;
	/* Never through a symlink: the caller is root, and one in a shared
	 * directory could point anywhere. */
	pf->fd = openat(pf->dir_fd, pf->name,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	pf->created = pf->fd >= 0;
	err = pf->fd >= 0 ? 0 : errno == EEXIST ? open_existing(pf) : -errno;
	if (err) {
		tr_pidfile_close(pf);
		close(pf->dir_fd);
		pf->dir_fd = -1;
	}
	return err;
}

const char *tr_pidfile_strerror(int err)
{
	switch (err) {
	case -ELOOP:
		return "a symbolic link; not writing through it";
	case -EINVAL:
		return "not a regular file";
	case -EMLINK:
		return "the file has other hard links; not writing to it";
	default:
		return strerror(-err);
	}
}

int tr_pidfile_write(struct tr_pidfile *pf, pid_t pid)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "%ld\n", (long)pid);
	int err = 0;

	errno = EIO; /* a short write sets none */
	if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, line, (size_t)len, 0) != len)
		err = -errno;
	if (close(pf->fd) < 0 && !err)
		err = -errno;
	pf->fd = -1;
	return err;
}

void tr_pidfile_abandon(struct tr_pidfile *pf)
{
	tr_pidfile_close(pf);
	if (pf->created && pf->dir_fd >= 0)
		unlinkat(pf->dir_fd, pf->name, 0); /* made here, still empty */
	pf->created = false;
}

void tr_pidfile_close(struct tr_pidfile *pf)
{
	if (pf->fd >= 0)
		close(pf->fd);
	pf->fd = -1;
}

int tr_pidfile_remove(struct tr_pidfile *pf)
{
	int fd, err = 0;

	if (pf->dir_fd < 0)
		return 0;
	/* Only our own: after a `rm` by hand, the name may be another's. */
	fd = openat(pf->dir_fd, pf->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && read_pid(fd) == getpid() && unlinkat(pf->dir_fd, pf->name, 0) < 0)
		err = -errno;
	else if (fd < 0 && errno != ENOENT)
		err = -errno;
	if (fd >= 0)
		close(fd);
	close(pf->dir_fd);
	pf->dir_fd = -1;
	return err;
}
