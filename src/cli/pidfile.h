/* SPDX-License-Identifier: MIT */
/*
 * --pid-file of `tunroom up -d` and `tunroom connect -b`. Opened before the
 * fork, as whoever started us (a bad path fails on the terminal, before any
 * setup), filled by the parent once the child says the tunnel runs, and
 * removed by the child when the tunnel ends, if it still may (a tunnel
 * running as another user may not, in a directory that is not its own: the
 * file then names a dead process, which the next open replaces). The
 * tunnel holds a flock() on it while it runs, so a second tunroom with the
 * same file is refused even before the pid is in it.
 */
#ifndef TR_CLI_PIDFILE_H
#define TR_CLI_PIDFILE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct tr_pidfile {
	int fd;                 /* the file, until written; -1: none */
	int lock_fd;            /* the file read-only, flock()ed: kept by the tunnel
				 * while it runs; -1: none */
	int dir_fd;             /* its directory (O_PATH): the child removes it from there
				 * after chdir("/"); -1: none */
	bool created;           /* made by tr_pidfile_open, so empty until written */
	pid_t holder;           /* after -EBUSY: the running process the file names,
				 * 0 if a tunroom holds its lock and wrote no pid yet */
	char name[NAME_MAX + 1]; /* the file's name in dir_fd */
};

#define TR_PIDFILE_INIT { .fd = -1, .lock_fd = -1, .dir_fd = -1 }

/* Opens and locks path for writing, never through a symbolic link (-ELOOP),
 * never over the pid of a running process or a file another tunroom holds
 * locked (-EBUSY: pf->holder runs, or 0), never a file with other hard links
 * (-EMLINK). Returns 0, one of those, -EISDIR or
 * -EINVAL (not a regular file), -ENAMETOOLONG, or open(2)'s error. */
int tr_pidfile_open(struct tr_pidfile *pf, const char *path);
/* What tr_pidfile_open's error err means, for a user (-EBUSY: the one with
 * no holder; a holder is better named by the caller). */
const char *tr_pidfile_strerror(int err);
/* Parent: replaces the contents with "PID\n" and closes the file. Returns 0
 * or -errno. */
int tr_pidfile_write(struct tr_pidfile *pf, pid_t pid);
/* Parent, when the child failed before it ran: closes and unlocks, and
 * removes the file if tr_pidfile_open made it. */
void tr_pidfile_abandon(struct tr_pidfile *pf);
/* Child after the fork: closes the file (the parent writes it), keeps its
 * lock and the directory for tr_pidfile_remove. */
void tr_pidfile_close(struct tr_pidfile *pf);
/* Child when the tunnel has ended: removes the file if it still names this
 * process, then lets go of the lock. Returns 0 (removed, or not ours any more) or -errno (EACCES: the
 * tunnel's user may not write the directory). */
int tr_pidfile_remove(struct tr_pidfile *pf);

#endif
