/* SPDX-License-Identifier: MIT */
/* The pid file of a detached tunnel (pidfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

static void close_file(struct tr_pidfile *pf)
{
	if (pf->fd >= 0)
		close(pf->fd);
	pf->fd = -1;
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

/* Takes the file's lock, which the tunnel keeps while it runs (the open
 * file description is shared across the fork and outlives the parent):
 * another tunroom starting with the same file is refused even before any
 * pid is in it. The lock goes with the last descriptor, even on SIGKILL. */
static int lock(struct tr_pidfile *pf)
{
	char self[40];

	/* On a read-only description of its own: the tunnel keeps only
	 * that, so once it runs as another user it cannot rewrite the pid
	 * that root's scripts will kill. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pf->fd);
	pf->lock_fd = open(self, O_RDONLY | O_CLOEXEC);
	if (pf->lock_fd < 0)
		return 0; /* no /proc: the pid check alone */
	if (!flock(pf->lock_fd, LOCK_EX | LOCK_NB))
		return 0;
	if (errno == ENOLCK || errno == EOPNOTSUPP)
		return 0; /* a file system without locks: likewise */
	if (errno != EWOULDBLOCK)
		return -errno;
	pf->holder = read_pid(pf->lock_fd); /* 0: still starting */
	return -EBUSY;
}

static void unlock(struct tr_pidfile *pf)
{
	if (pf->lock_fd >= 0)
		close(pf->lock_fd);
	pf->lock_fd = -1;
}

/* Opens the existing file: ours to reuse only if no tunroom holds its lock
 * and no running process is in it (a tunnel that died without removing
 * it; a pid written by something that does not lock). */
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
	int err = lock(pf);

	if (err)
		return err;
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
	/* Made here: another may have opened and locked it since (it is
	 * theirs then, and stays). */
	err = pf->fd >= 0 ? lock(pf) : errno == EEXIST ? open_existing(pf) : -errno;
	if (err) {
		close_file(pf);
		unlock(pf);
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
	case -EBUSY: /* and no pid in it yet */
		return "another tunroom holds it and is still starting; wait, or name another "
		       "file";
	default:
		return strerror(-err);
	}
}

int tr_pidfile_write(struct tr_pidfile *pf, pid_t pid)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "%ld\n", (long)pid);
	int err = 0;

	if (pf->fd < 0)
		return 0; /* no --pid-file */
	errno = EIO; /* a short write sets none */
	if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, line, (size_t)len, 0) != len)
		err = -errno;
	if (close(pf->fd) < 0 && !err)
		err = -errno;
	pf->fd = -1;
	return err;
}

/* The file at pf's name holds pid (and is not a link to another). */
static bool names(const struct tr_pidfile *pf, pid_t pid)
{
	int fd = openat(pf->dir_fd, pf->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	bool ours = fd >= 0 && read_pid(fd) == pid;

	if (fd >= 0)
		close(fd);
	return ours;
}

/* The name still leads to the file pf opened: once the child has removed
 * it, another tunroom may have made a new one there. */
static bool still_ours(const struct tr_pidfile *pf)
{
	struct stat mine, now;

	return pf->fd >= 0 && !fstat(pf->fd, &mine) &&
	       !fstatat(pf->dir_fd, pf->name, &now, AT_SYMLINK_NOFOLLOW) &&
	       mine.st_dev == now.st_dev && mine.st_ino == now.st_ino;
}

void tr_pidfile_abandon(struct tr_pidfile *pf, pid_t child)
{
	/* Made here (empty, or the child's pid), or an old file the child
	 * had already taken over: either way it names no running tunnel. */
	if (pf->dir_fd >= 0 && still_ours(pf) &&
	    (pf->created || (child > 0 && names(pf, child))))
		unlinkat(pf->dir_fd, pf->name, 0);
	close_file(pf);
	unlock(pf); /* after the unlink, as in tr_pidfile_remove */
	pf->created = false;
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
	unlock(pf); /* after the unlink: a tunroom starting now makes a new file */
	close(pf->dir_fd);
	pf->dir_fd = -1;
	return err;
}
