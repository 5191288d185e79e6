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
#include <sys/wait.h>
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

int tr_pidfile_wait_ready(struct tr_pidfile *pf, int rd, pid_t child)
{
	char c;
	ssize_t n;
	int status;

	do
		n = read(rd, &c, 1);
	while (n < 0 && errno == EINTR);
	close(rd);
	if (n == 1)
		return 0;
	tr_pidfile_abandon(pf, child); /* the tunnel never ran */
	if (waitpid(child, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* The record: "PID DEV INO PATH\n", PATH absolute. */
#define REC_MAX (PATH_MAX + NAME_MAX + 80)

struct record {
	pid_t pid;
	unsigned long long dev, ino;
	char path[REC_MAX];
};

/* Reads dir_fd/name. Returns 0, -ENOENT (none), -EBADMSG or -errno. */
static int read_record(int dir_fd, const char *name, struct record *r)
{
	char line[REC_MAX];
	int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t n;
	long pid;
	int off = 0;

	if (fd < 0)
		return -errno;
	n = pread(fd, line, sizeof(line) - 1, 0);
	close(fd);
	if (n <= 0)
		return -EBADMSG;
	line[n] = 0;
	if (sscanf(line, "%ld %llu %llu %n", &pid, &r->dev, &r->ino, &off) != 3 || !off ||
	    pid <= 0 || pid > INT32_MAX || line[off] != '/' || line[n - 1] != '\n')
		return -EBADMSG;
	line[n - 1] = 0;
	r->pid = (pid_t)pid;
	memcpy(r->path, line + off, (size_t)(n - off));
	return 0;
}

/* The record's line for this process: the file's device and inode (down
 * removes that file or none) and its absolute path (the child has left the
 * directory a relative one started from). Returns its length or -errno. */
static int record_line(const struct tr_pidfile *pf, char *line, size_t cap)
{
	char self[40], dir[PATH_MAX];
	struct stat st;
	ssize_t n;
	int len;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", pf->dir_fd);
	n = readlink(self, dir, sizeof(dir) - 1);
	if (n < 0)
		return -errno;
	dir[n] = 0;
	/* The inode this process holds, not whatever the name is by now. */
	if ((pf->lock_fd >= 0 ? fstat(pf->lock_fd, &st)
			      : fstatat(pf->dir_fd, pf->name, &st, AT_SYMLINK_NOFOLLOW)) < 0)
		return -errno;
	len = snprintf(line, cap, "%ld %llu %llu %s%s%s\n", (long)getpid(),
		       (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, dir,
		       strcmp(dir, "/") ? "/" : "", pf->name);
	if (len < 0 || (size_t)len >= cap)
		return -ENAMETOOLONG;
	if (strchr(line, '\n') != line + len - 1)
		return -EINVAL; /* a newline in the path: no line to read back */
	return len;
}

/* Writes line as dir_fd/name whole or not at all (down never reads half). */
static int write_whole(int dir_fd, const char *name, const char *line, int len)
{
	char tmp[NAME_MAX + 1];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), ".%.200s.%ld", name, (long)getpid());
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	errno = EIO; /* a short write sets none */
	if (write(fd, line, (size_t)len) != len)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && renameat(dir_fd, tmp, dir_fd, name) < 0)
		err = -errno;
	if (err)
		unlinkat(dir_fd, tmp, 0);
	return err;
}

int tr_pidfile_record(struct tr_pidfile *pf, const char *run_dir, const char *tunnel)
{
	char line[REC_MAX];
	int len, err;

	if (pf->dir_fd < 0)
		return 0;
	/* A file the last tunnel of this name left (it crashed): the name is
	 * ours now, so that tunnel has ended. */
	tr_pidfile_clean(run_dir, tunnel, NULL, 0);
	len = record_line(pf, line, sizeof(line));
	if (len < 0)
		return len;
	if (snprintf(pf->rec_name, sizeof(pf->rec_name), "%s.pidfile", tunnel) >=
	    (int)sizeof(pf->rec_name))
		return -ENAMETOOLONG;
	pf->rec_dir_fd = open(run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pf->rec_dir_fd < 0)
		return -errno;
	err = write_whole(pf->rec_dir_fd, pf->rec_name, line, len);
	if (err) {
		close(pf->rec_dir_fd);
		pf->rec_dir_fd = -1;
	}
	return err;
}

/* The record goes with the file, if it is ours; as User it may not (the
 * run directory is root's): `tunroom down` or the next up removes it. */
static void remove_record(struct tr_pidfile *pf)
{
	struct record r;

	if (pf->rec_dir_fd < 0)
		return;
	if (!read_record(pf->rec_dir_fd, pf->rec_name, &r) && r.pid == getpid())
		unlinkat(pf->rec_dir_fd, pf->rec_name, 0);
	close(pf->rec_dir_fd);
	pf->rec_dir_fd = -1;
}

/* Exited: no such process, or a zombie (its descriptors and lock gone,
 * only the reaping pending). */
static bool ended(pid_t pid)
{
	char path[40], stat[256];
	bool zombie;
	FILE *f;

	if (!running(pid))
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return false; /* cannot tell: take it as running */
	zombie = fgets(stat, sizeof(stat), f) && strstr(stat, ") Z ");
	fclose(f);
	return zombie;
}

/* fd (at dir_fd/name) is still the recorded file and only that: same
 * inode under the name, one link, r's pid in it, no tunroom holding it
 * (the lock taken here stays until fd is closed, after the unlink). */
static bool still_recorded(int fd, int dir_fd, const char *name, const struct record *r)
{
	struct stat st, now;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (unsigned long long)st.st_dev != r->dev || (unsigned long long)st.st_ino != r->ino)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno != ENOLCK && errno != EOPNOTSUPP)
		return false;
	if (read_pid(fd) != r->pid)
		return false;
	return !fstatat(dir_fd, name, &now, AT_SYMLINK_NOFOLLOW) && now.st_dev == st.st_dev &&
	       now.st_ino == st.st_ino;
}

/* Returns 1 (removed), 0 (gone already, or not the recorded file) or
 * -errno. */
static int remove_recorded(const struct record *r)
{
	struct tr_pidfile f = TR_PIDFILE_INIT;
	int fd, err = open_dir(&f, r->path);

	if (err)
		return err == -ENOENT ? 0 : err;
	fd = openat(f.dir_fd, f.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		err = errno == ENOENT || errno == ELOOP ? 0 : -errno;
	else if (still_recorded(fd, f.dir_fd, f.name, r))
		err = unlinkat(f.dir_fd, f.name, 0) < 0 ? -errno : 1;
	if (fd >= 0)
		close(fd);
	close(f.dir_fd);
	return err;
}

int tr_pidfile_clean(const char *run_dir, const char *tunnel, char *path, size_t cap)
{
	char name[NAME_MAX + 1];
	struct record r;
	int dir_fd, err;

	if (snprintf(name, sizeof(name), "%s.pidfile", tunnel) >= (int)sizeof(name))
		return -ENAMETOOLONG;
	dir_fd = open(run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = read_record(dir_fd, name, &r);
	if ((err && err != -EBADMSG) || (!err && !ended(r.pid))) {
		close(dir_fd);
		return err == -ENOENT ? 0 : err; /* none, or its tunnel runs */
	}
	if (!err && path)
		snprintf(path, cap, "%s", r.path);
	if (!err)
		err = remove_recorded(&r);
	/* Its tunnel has ended (or it is garbled): stale either way. */
	unlinkat(dir_fd, name, 0);
	close(dir_fd);
	return err == -EBADMSG ? 0 : err;
}

int tr_pidfile_remove(struct tr_pidfile *pf)
{
	int fd, err = 0;

	remove_record(pf);
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
