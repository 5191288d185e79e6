/* SPDX-License-Identifier: MIT */
/*
 * --pid-file of `tunroom up -d` and `tunroom connect -b`. Opened before the
 * fork, as whoever started us (a bad path fails on the terminal, before any
 * setup). The tunnel (the child) writes its own pid in it first thing after
 * the fork, before any setup and so before it gives up root, and closes the
 * writable descriptor: a parent killed while it waits leaves a file naming
 * the running tunnel, not an empty one, and the tunnel, once it runs as its
 * User, cannot rewrite what root's scripts will kill. The child removes the
 * file when the tunnel ends, if it still may (a tunnel running as another
 * user may not, in a directory that is not its own: the file then names a
 * dead process, which the next open replaces); the parent, if the tunnel
 * never came up. The tunnel holds a flock() on it while it runs, so a second
 * tunroom with the same file is refused even before the pid is in it.
 */
#ifndef TR_CLI_PIDFILE_H
#define TR_CLI_PIDFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tr_pidfile {
	int fd;                 /* the file, writable: the child's until its pid is in,
				 * the parent's until it is done; -1: none */
	int lock_fd;            /* the file read-only, flock()ed: kept by the tunnel
				 * while it runs; -1: none */
	int dir_fd;             /* its directory (O_PATH): the child removes it from there
				 * after chdir("/"); -1: none */
	bool created;           /* made by tr_pidfile_open, so empty until written */
	pid_t holder;           /* after -EBUSY: the running process the file names,
				 * 0 if a tunroom holds its lock and wrote no pid yet */
	char name[NAME_MAX + 1]; /* the file's name in dir_fd */
	int rec_dir_fd;         /* the run directory holding the record; -1: none */
	char rec_name[NAME_MAX + 1]; /* the record's name there: TUNNEL.pidfile */
};

#define TR_PIDFILE_INIT { .fd = -1, .lock_fd = -1, .dir_fd = -1, .rec_dir_fd = -1 }

/* Opens and locks path for writing, never through a symbolic link (-ELOOP),
 * never over the pid of a running process or a file another tunroom holds
 * locked (-EBUSY: pf->holder runs, or 0), never a file with other hard links
 * (-EMLINK). Returns 0, one of those, -EISDIR or
 * -EINVAL (not a regular file), -ENAMETOOLONG, or open(2)'s error. */
int tr_pidfile_open(struct tr_pidfile *pf, const char *path);
/* What tr_pidfile_open's error err means, for a user (-EBUSY: the one with
 * no holder; a holder is better named by the caller). */
const char *tr_pidfile_strerror(int err);
/* Child, first thing after the fork: replaces the contents with "PID\n"
 * (pid: its own) and closes the writable descriptor, keeping the lock and
 * the directory for tr_pidfile_remove. Without a file: 0. Returns 0 or
 * -errno. */
int tr_pidfile_write(struct tr_pidfile *pf, pid_t pid);
/* Parent (which keeps its descriptor but never writes), when the child
 * failed before the tunnel ran, or before any child (child 0): closes and
 * unlocks, and removes the file if tr_pidfile_open made it or it names
 * child, and the name still leads to that file. */
void tr_pidfile_abandon(struct tr_pidfile *pf, pid_t child);
/* Parent of a detached tunnel (up -d, connect -b): waits for the one byte
 * the child writes to rd once the tunnel runs, and closes rd. Returns 0
 * then; else (the child failed first) abandons the file and returns the
 * child's exit status, 1 if it did not exit. */
int tr_pidfile_wait_ready(struct tr_pidfile *pf, int rd, pid_t child);
/* Child when the tunnel has ended: removes the file if it still names this
 * process, and its record, then lets go of the lock. Returns 0 (removed, or
 * not ours any more) or -errno (EACCES: the tunnel's user may not write the
 * directory). */
int tr_pidfile_remove(struct tr_pidfile *pf);

/*
 * The record: which pid file names the tunnel `tunnel`, in
 * RUN_DIR/TUNNEL.pidfile ("PID DEV INO PATH\n"), so that `tunroom down`
 * can remove a file the tunnel left behind (it crashed, or its User may
 * not write the file's directory). Written by the child once the tunnel's
 * control socket is up (the name is its own: a second tunnel of the name,
 * refused there, must not overwrite it) and before it gives up root (the
 * run directory is root's). Returns 0 (also without a pid file) or -errno.
 */
int tr_pidfile_record(struct tr_pidfile *pf, const char *run_dir, const char *tunnel);
/* `tunroom down`: removes the recorded pid file of tunnel if the process
 * it names has ended, the file is still the one recorded (same inode, one
 * link, not a symbolic link, the same pid in it) and no tunroom holds its
 * lock; then the record. Returns 1 (removed), 0 (none to remove) or
 * -errno; path (may be NULL) gets the recorded path, if there is one. */
int tr_pidfile_clean(const char *run_dir, const char *tunnel, char *path, size_t cap);

#endif
